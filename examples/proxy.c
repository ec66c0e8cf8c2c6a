/*
 * proxy.c - reach a mail server through a SOCKS or HTTP proxy.
 *
 * usage: proxy PROXY_URL HOST[:PORT] [CA_FILE]
 *   PROXY_URL: socks5://[user:pass@]host:port, socks5h:// (the proxy
 *   resolves the server's name), socks4://, socks4a:// or
 *   http://[user:pass@]host:port (HTTP CONNECT).
 *
 * Connects through the proxy (TLS end to end with the server: the proxy
 * sees only ciphertext), prints the greeting and the TLS version, and
 * says QUIT.  Exit status: 0 connected, 1 not, 2 usage.
 * Build: cc proxy.c $(pkg-config --cflags --libs mailwire)
 */
#include <mailwire.h>

#include <stdio.h>

int main(int argc, char **argv)
{
  if(argc < 3 || argc > 4) {
    fprintf(stderr, "usage: proxy PROXY_URL HOST[:PORT] [CA_FILE]\n");
    return 2;
  }
  if(mw_global_init() != MW_OK)
    return 1;
  int rc = 1;
  mw_smtp *s = NULL;
  mw_options *o = mw_options_new();
  if(!o || mw_options_set_proxy(o, argv[1]) ||
     mw_options_set_server_string(o, argv[2]) ||
     (argc == 4 && mw_options_set_tls_ca_file(o, argv[3]))) {
    fprintf(stderr, "invalid proxy URL, server or CA file\n");
    goto out;
  }
  s = mw_smtp_new(o);
  if(!s)
    goto out;
  if(mw_smtp_connect(s) != MW_OK) {
    const mw_error *e = mw_smtp_error(s);
    fprintf(stderr, "connect (%s): %s\n", mw_status_name(mw_error_status(e)),
            mw_error_message(e));
    goto out;
  }
  printf("greeting: %s\n", mw_smtp_greeting(s));
  printf("encrypted: %s\n", mw_smtp_is_encrypted(s) ? mw_smtp_tls_version(s)
                                                    : "no");
  mw_smtp_quit(s);
  rc = 0;

out:
  mw_smtp_free(s);
  mw_options_free(o);
  mw_global_cleanup();
  return rc;
}

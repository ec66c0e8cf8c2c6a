/*
 * probe.c - find the port and TLS mode that work on a mail server.
 *
 * usage: probe HOST|DOMAIN|ADDRESS [PORTS] [CA_FILE]
 *   PORTS: a list such as "465,587,25" (default: 465,587,25,2525).
 *
 * Every port is tried in every TLS mode at once (mw_probe_run()); prints
 * one line per attempt and the best secure combination, if any.
 * Exit status: 0 a secure combination works, 1 none, 2 usage.
 * Build: cc probe.c $(pkg-config --cflags --libs mailwire)
 */
#include <mailwire.h>

#include <stdio.h>

int main(int argc, char **argv)
{
  if(argc < 2 || argc > 4) {
    fprintf(stderr, "usage: probe HOST|DOMAIN|ADDRESS [PORTS] [CA_FILE]\n");
    return 2;
  }
  if(mw_global_init() != MW_OK)
    return 1;
  int rc = 1;
  mw_probe *p = NULL;
  mw_options *o = mw_options_new();
  mw_status st = o ? MW_OK : MW_E_NOMEM;
  if(st == MW_OK && argc == 4)
    st = mw_options_set_tls_ca_file(o, argv[3]);
  if(st == MW_OK)
    st = mw_probe_run(o, argv[1], argc >= 3 ? argv[2] : NULL, &p);
  if(st != MW_OK) {
    fprintf(stderr, "probe: %s\n", mw_status_message(st));
    goto out;
  }
  for(size_t i = 0; i < mw_probe_row_count(p); i++) {
    const char *version = mw_probe_row_tls_version(p, i);
    printf("%s port %u %-9s %-12s %s%s%s\n", mw_probe_row_host(p, i),
           mw_probe_row_port(p, i), mw_probe_row_mode(p, i),
           mw_probe_row_outcome(p, i), mw_probe_row_detail(p, i),
           version ? " " : "", version ? version : "");
  }
  size_t best;
  if(mw_probe_best(p, &best)) {
    printf("best: %s port %u, TLS mode %s\n", mw_probe_row_host(p, best),
           mw_probe_row_port(p, best), mw_probe_row_mode(p, best));
    rc = 0;
  }
  else
    printf("no secure combination works\n");

out:
  mw_probe_free(p);
  mw_options_free(o);
  mw_global_cleanup();
  return rc;
}

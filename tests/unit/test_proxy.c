/* Unit tests: net/proxy.c - proxy URLs, and the SOCKS4/4a/5 and HTTP
 * CONNECT handshakes against scripted replies on a socket pair (what the
 * client wrote is checked byte for byte, and it must not read past the
 * proxy's reply). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mailwire.h"
#include "core/util.h"
#include "net/proxy.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int setup(void **state)
{
  (void)state;
  return mw_global_init() == MW_OK ? 0 : -1;
}

static void parse_urls(void **state)
{
  (void)state;
  struct mw__proxy p;
  char why[200];
  assert_int_equal(mw__proxy_parse_url("socks5://127.0.0.1:1080", &p, why,
                                       sizeof(why)),
                   MW_OK);
  assert_int_equal(p.kind, MW__PROXY_SOCKS5);
  assert_string_equal(p.host, "127.0.0.1");
  assert_int_equal(p.port, 1080);
  assert_null(p.user);
  mw__proxy_release(&p);
  assert_int_equal(mw__proxy_parse_url("SOCKS5H://us%40er:p%3Ass@[::1]:9050/",
                                       &p, why, sizeof(why)),
                   MW_OK);
  assert_int_equal(p.kind, MW__PROXY_SOCKS5H);
  assert_string_equal(p.host, "::1");
  assert_int_equal(p.port, 9050);
  assert_string_equal(p.user, "us@er");
  assert_string_equal(p.password, "p:ss");
  mw__proxy_release(&p);
  assert_int_equal(mw__proxy_parse_url("http://proxy.example", &p, why,
                                       sizeof(why)),
                   MW_OK);
  assert_int_equal(p.port, 8080);
  mw__proxy_release(&p);
  assert_int_equal(mw__proxy_parse_url("socks4a://me@h:1", &p, why,
                                       sizeof(why)),
                   MW_OK);
  assert_string_equal(p.user, "me");
  mw__proxy_release(&p);
  /* A raw '@' in the password: the last '@' ends the credentials. */
  assert_int_equal(mw__proxy_parse_url("socks5://u:p@ss@h:1", &p, why,
                                       sizeof(why)),
                   MW_OK);
  assert_string_equal(p.user, "u");
  assert_string_equal(p.password, "p@ss");
  assert_string_equal(p.host, "h");
  mw__proxy_release(&p);
  static const char *const bad[] = {
      "ftp://h:1",       "socks5://",        "socks5://h:0",
      "socks5://h:70000", "socks5://h:x",    "socks5://h/path",
      "socks5://:pw@h",  "socks5://u:%zz@h", "socks4://u:p@h",
      "socks5://[::1",   "socks5://u%00:p@h", "h:1080",
      "socks5://h h:1"};
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(mw__proxy_parse_url(bad[i], &p, why, sizeof(why)),
                     MW_E_INVALID);
    assert_true(why[0]);
  }
}

/* Runs a handshake with the proxy's replies already waiting; returns the
 * status and leaves what the client wrote in *sent.  extra bytes after
 * the reply (the server's greeting) must still be readable afterwards. */
static mw_status scripted(const char *url, const void *reply, size_t rlen,
                          const char *host, unsigned port,
                          unsigned char *sent, size_t *sent_len,
                          struct mw_error *err)
{
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  fcntl(sv[0], F_SETFL, O_NONBLOCK);
  const char greeting[] = "220 after the tunnel\r\n";
  assert_int_equal(write(sv[1], reply, rlen), (ssize_t)rlen);
  assert_int_equal(write(sv[1], greeting, sizeof(greeting) - 1),
                   (ssize_t)sizeof(greeting) - 1);
  struct mw__proxy p;
  char why[200];
  assert_int_equal(mw__proxy_parse_url(url, &p, why, sizeof(why)), MW_OK);
  struct mw__trace trace = {0};
  mw_status st = mw__proxy_handshake(sv[0], &p, host, port, NULL,
                                     mw__now_ms() + 2000, &trace, err);
  mw__proxy_release(&p);
  shutdown(sv[0], SHUT_WR);
  fcntl(sv[1], F_SETFL, O_NONBLOCK);
  ssize_t n = read(sv[1], sent, 1024);
  *sent_len = n > 0 ? (size_t)n : 0;
  if(st == MW_OK) {
    char rest[64] = {0};
    ssize_t g = read(sv[0], rest, sizeof(rest) - 1);
    assert_true(g > 0);
    assert_string_equal(rest, greeting);
  }
  close(sv[0]);
  close(sv[1]);
  return st;
}

static void socks5_no_auth_domain(void **state)
{
  (void)state;
  const unsigned char reply[] = {5, 0, 5, 0, 0, 1, 127, 0, 0, 1, 0x04, 0x38};
  unsigned char sent[1024];
  size_t n;
  struct mw_error err = {0};
  assert_int_equal(scripted("socks5h://127.0.0.1:1080", reply, sizeof(reply),
                            "mail.example.test", 587, sent, &n, &err),
                   MW_OK);
  const unsigned char want[] = {5, 1, 0, 5, 1, 0, 3, 17, 'm', 'a', 'i', 'l',
                                '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.',
                                't', 'e', 's', 't', 0x02, 0x4b};
  assert_int_equal(n, sizeof(want));
  assert_memory_equal(sent, want, sizeof(want));
}

static void socks5_user_password_and_local_resolution(void **state)
{
  (void)state;
  const unsigned char reply[] = {5, 2, 1, 0, 5, 0, 0, 3, 4, 'h', 'o', 's',
                                 't', 0, 25};
  unsigned char sent[1024];
  size_t n;
  struct mw_error err = {0};
  assert_int_equal(scripted("socks5://alice:s3cret@127.0.0.1:1080", reply,
                            sizeof(reply), "127.0.0.1", 25, sent, &n, &err),
                   MW_OK);
  const unsigned char want[] = {5, 2, 0, 2, 1, 5, 'a', 'l', 'i', 'c', 'e',
                                6, 's', '3', 'c', 'r', 'e', 't', 5, 1, 0,
                                1, 127, 0, 0, 1, 0, 25};
  assert_int_equal(n, sizeof(want));
  assert_memory_equal(sent, want, sizeof(want));
}

static void socks5_failures_are_named(void **state)
{
  (void)state;
  unsigned char sent[1024];
  size_t n;
  struct mw_error err = {0};
  const unsigned char no_method[] = {5, 0xff};
  assert_int_equal(scripted("socks5://127.0.0.1:1", no_method, 2, "h", 25,
                            sent, &n, &err),
                   MW_E_PROXY);
  assert_non_null(strstr(err.message, "authentication failed"));
  assert_int_equal(err.proxy_failure, MW__PROXY_FAIL_AUTH);
  const unsigned char bad_pw[] = {5, 2, 1, 1};
  assert_int_equal(scripted("socks5://u:p@127.0.0.1:1", bad_pw, 4, "h", 25,
                            sent, &n, &err),
                   MW_E_PROXY);
  assert_non_null(strstr(err.message, "user 'u' refused"));
  assert_int_equal(err.proxy_failure, MW__PROXY_FAIL_AUTH);
  const unsigned char refused[] = {5, 0, 5, 5, 0, 1, 0, 0, 0, 0, 0, 0};
  assert_int_equal(scripted("socks5h://127.0.0.1:1", refused,
                            sizeof(refused), "mx.example", 25, sent, &n,
                            &err),
                   MW_E_PROXY);
  assert_non_null(strstr(err.message, "reply 5, connection refused"));
  assert_int_equal(err.proxy_failure, MW__PROXY_FAIL_TARGET);
  const unsigned char not_socks[] = {'H', 'T'};
  assert_int_equal(scripted("socks5h://127.0.0.1:1", not_socks, 2, "h", 25,
                            sent, &n, &err),
                   MW_E_PROXY);
  assert_int_equal(err.proxy_failure, MW__PROXY_FAIL_UNREACHABLE);
  mw__error_clear(&err);
}

static void socks4_and_4a(void **state)
{
  (void)state;
  unsigned char sent[1024];
  size_t n;
  struct mw_error err = {0};
  const unsigned char ok[] = {0, 0x5a, 0, 0, 0, 0, 0, 0};
  assert_int_equal(scripted("socks4://bob@127.0.0.1:1080", ok, 8,
                            "127.0.0.1", 587, sent, &n, &err),
                   MW_OK);
  const unsigned char want4[] = {4, 1, 2, 0x4b, 127, 0, 0, 1, 'b', 'o', 'b',
                                 0};
  assert_int_equal(n, sizeof(want4));
  assert_memory_equal(sent, want4, sizeof(want4));
  assert_int_equal(scripted("socks4a://127.0.0.1:1080", ok, 8, "mx.test", 25,
                            sent, &n, &err),
                   MW_OK);
  const unsigned char want4a[] = {4, 1, 0, 25, 0, 0, 0, 1, 0, 'm', 'x', '.',
                                  't', 'e', 's', 't', 0};
  assert_int_equal(n, sizeof(want4a));
  assert_memory_equal(sent, want4a, sizeof(want4a));
  const unsigned char rejected[] = {0, 0x5b, 0, 0, 0, 0, 0, 0};
  assert_int_equal(scripted("socks4a://127.0.0.1:1080", rejected, 8, "mx",
                            25, sent, &n, &err),
                   MW_E_PROXY);
  assert_non_null(strstr(err.message, "0x5b"));
  mw__error_clear(&err);
}

/* A proxy that closes the connection instead of replying to the request
 * (OpenSSH's ssh -D when its server cannot open the channel, e.g. for a
 * name it cannot resolve): the message names the target; a close before
 * the request (during SOCKS5 method selection) does not. */
static mw_status closes_after(const char *url, const void *reply,
                              size_t rlen, const char *host, unsigned port,
                              unsigned char *sent, size_t *sent_len,
                              struct mw_error *err)
{
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  fcntl(sv[0], F_SETFL, O_NONBLOCK);
  if(rlen)
    assert_int_equal(write(sv[1], reply, rlen), (ssize_t)rlen);
  shutdown(sv[1], SHUT_WR);
  struct mw__proxy p;
  char why[200];
  assert_int_equal(mw__proxy_parse_url(url, &p, why, sizeof(why)), MW_OK);
  struct mw__trace trace = {0};
  mw_status st = mw__proxy_handshake(sv[0], &p, host, port, NULL,
                                     mw__now_ms() + 2000, &trace, err);
  mw__proxy_release(&p);
  shutdown(sv[0], SHUT_WR);
  fcntl(sv[1], F_SETFL, O_NONBLOCK);
  ssize_t n = read(sv[1], sent, 1024);
  *sent_len = n > 0 ? (size_t)n : 0;
  close(sv[0]);
  close(sv[1]);
  return st;
}

static void closed_instead_of_a_reply(void **state)
{
  (void)state;
  unsigned char sent[1024];
  size_t n;
  struct mw_error err = {0};
  /* SOCKS4a with a user id, as OpenSSH's channel_decode_socks4 reads it:
   * DSTIP 0.0.0.x (x != 0), the user id, then the host name. */
  assert_int_equal(closes_after("socks4a://mw@127.0.0.1:1080", NULL, 0,
                                "nosuch.invalid", 587, sent, &n, &err),
                   MW_E_PROXY);
  const unsigned char want[] = {4, 1, 2, 0x4b, 0, 0, 0, 1, 'm', 'w', 0,
                                'n', 'o', 's', 'u', 'c', 'h', '.', 'i',
                                'n', 'v', 'a', 'l', 'i', 'd', 0};
  assert_int_equal(n, sizeof(want));
  assert_memory_equal(sent, want, sizeof(want));
  assert_non_null(strstr(err.message,
                         "the SOCKS4 proxy closed the connection without "
                         "replying to the request to connect to "
                         "nosuch.invalid:587"));
  /* Not read as a refusal: a close may be transient (still retried). */
  assert_true(err.temporary);
  /* SOCKS5: the method is chosen, then the proxy closes. */
  const unsigned char method[] = {5, 0};
  assert_int_equal(closes_after("socks5h://127.0.0.1:1080", method, 2,
                                "nosuch.invalid", 25, sent, &n, &err),
                   MW_E_PROXY);
  assert_non_null(strstr(err.message,
                         "the SOCKS5 proxy closed the connection without "
                         "replying to the request to connect to "
                         "nosuch.invalid:25"));
  /* A close part-way through the reply, or before the request, is just
   * a close. */
  const unsigned char partial[] = {0, 0x5a, 0};
  assert_int_equal(closes_after("socks4a://127.0.0.1:1080", partial,
                                sizeof(partial), "mx.test", 25, sent, &n,
                                &err),
                   MW_E_PROXY);
  assert_string_equal(err.message,
                      "the proxy closed the connection during the "
                      "handshake");
  assert_int_equal(closes_after("socks5h://127.0.0.1:1080", NULL, 0,
                                "nosuch.invalid", 25, sent, &n, &err),
                   MW_E_PROXY);
  assert_string_equal(err.message,
                      "the proxy closed the connection during the "
                      "handshake");
  mw__error_clear(&err);
}

static void http_connect(void **state)
{
  (void)state;
  unsigned char sent[1024];
  size_t n;
  struct mw_error err = {0};
  const char ok[] = "HTTP/1.1 200 Connection established\r\n"
                    "Proxy-Agent: test\r\n\r\n";
  assert_int_equal(scripted("http://u:p@127.0.0.1:8080", ok, sizeof(ok) - 1,
                            "mail.example.test", 587, sent, &n, &err),
                   MW_OK);
  sent[n] = '\0';
  assert_string_equal((char *)sent,
                      "CONNECT mail.example.test:587 HTTP/1.1\r\n"
                      "Host: mail.example.test:587\r\n"
                      "Proxy-Authorization: Basic dTpw\r\n\r\n");
  const char denied[] = "HTTP/1.1 407 Proxy Authentication Required\r\n\r\n";
  assert_int_equal(scripted("http://127.0.0.1:8080", denied,
                            sizeof(denied) - 1, "h", 25, sent, &n, &err),
                   MW_E_PROXY);
  assert_non_null(strstr(err.message, "407"));
  assert_non_null(strstr(err.message, "authentication"));
  const char garbage[] = "220 I am an SMTP server\r\n\r\n";
  assert_int_equal(scripted("http://127.0.0.1:8080", garbage,
                            sizeof(garbage) - 1, "h", 25, sent, &n, &err),
                   MW_E_PROXY);
  assert_non_null(strstr(err.message, "not answer as an HTTP proxy"));
  mw__error_clear(&err);
}

static void silent_proxy_times_out(void **state)
{
  (void)state;
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  fcntl(sv[0], F_SETFL, O_NONBLOCK);
  struct mw__proxy p;
  char why[100];
  assert_int_equal(mw__proxy_parse_url("socks5h://127.0.0.1:1", &p, why,
                                       sizeof(why)),
                   MW_OK);
  struct mw_error err = {0};
  struct mw__trace trace = {0};
  int64_t t0 = mw__now_ms();
  assert_int_equal(mw__proxy_handshake(sv[0], &p, "h", 25, NULL, t0 + 300,
                                       &trace, &err),
                   MW_E_PROXY);
  assert_non_null(strstr(err.message, "did not answer"));
  mw__proxy_release(&p);
  mw__error_clear(&err);
  close(sv[0]);
  close(sv[1]);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(parse_urls),
      cmocka_unit_test(socks5_no_auth_domain),
      cmocka_unit_test(socks5_user_password_and_local_resolution),
      cmocka_unit_test(socks5_failures_are_named),
      cmocka_unit_test(socks4_and_4a),
      cmocka_unit_test(closed_instead_of_a_reply),
      cmocka_unit_test(http_connect),
      cmocka_unit_test(silent_proxy_times_out),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}

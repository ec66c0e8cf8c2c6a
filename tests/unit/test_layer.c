/* Unit tests: io/layer.c and the layers (net/tcp_layer.c, net/haproxy.c,
 * the TLS layer of tls/tls_ossl.c): the memory layer's script (turns,
 * scripted closes, writes failing after a close, short reads), the TCP
 * layer's non-blocking connect step on 127.0.0.1, the PROXY header and
 * TLS pushed over a real TCP layer (a socket pair / loopback), and the
 * stack's description and error redirection. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mailwire.h"
#include "core/util.h"
#include "io/layer.h"
#include "io/stream.h"
#include "net/haproxy.h"
#include "net/tcp_layer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int setup(void **state)
{
  (void)state;
  return mw_global_init() == MW_OK ? 0 : -1;
}

static mw_status rd(struct mw__layer *l, char *buf, size_t len, size_t *got)
{
  short want = 0;
  mw_status st = l->ops->read(l, buf, len, got, &want);
  assert_int_equal(want, 0); /* memory never asks to wait */
  return st;
}

static void wr(struct mw__layer *l, const char *s)
{
  size_t put = 0;
  short want = 0;
  assert_int_equal(l->ops->write(l, s, strlen(s), &put, &want), MW_OK);
  assert_int_equal(put, strlen(s));
}

static void memory_turns(void **state)
{
  (void)state;
  struct mw_error err = {0};
  struct mw__mem_layer *m = mw__mem_layer_new(&err);
  assert_non_null(m);
  assert_true(mw__mem_layer_add_str(m, "one"));
  assert_true(mw__mem_layer_add_str(m, "two"));
  struct mw__layer *l = mw__mem_layer_get(m);
  char buf[16];
  size_t got = 0;
  assert_int_equal(rd(l, buf, sizeof(buf), &got), MW_OK);
  assert_int_equal(got, 3);
  assert_memory_equal(buf, "one", 3);
  /* The next turn waits for the client: the read asks to wait (and a
   * wait on a stack without a socket times out at once). */
  short want = 0;
  got = 99;
  assert_int_equal(l->ops->read(l, buf, sizeof(buf), &got, &want), MW_OK);
  assert_int_equal(got, 0);
  assert_int_equal(want, POLLIN);
  assert_int_equal(mw__layer_read_wait(l, buf, sizeof(buf), &got,
                                       mw__now_ms() + 1000, "reading"),
                   MW_E_TIMEOUT);
  wr(l, "hello");
  mw__mem_layer_set_read_max(m, 2);
  assert_int_equal(rd(l, buf, sizeof(buf), &got), MW_OK);
  assert_int_equal(got, 2);
  assert_int_equal(rd(l, buf, sizeof(buf), &got), MW_OK);
  assert_int_equal(got, 1);
  assert_true(mw__mem_layer_drained(m));
  /* After the last turn the server closes. */
  assert_int_equal(rd(l, buf, sizeof(buf), &got), MW_E_CLOSED);
  assert_true(l->eof);
  size_t n = 0;
  assert_string_equal(mw__mem_layer_written(m, &n), "hello");
  assert_int_equal(n, 5);
  mw__layer_close(l);
  assert_true(mw__mem_layer_closed(m));
  assert_int_equal(rd(l, buf, sizeof(buf), &got), MW_E_STATE);
  mw__mem_layer_free(m);
  mw__error_clear(&err);
}

static void memory_scripted_close(void **state)
{
  (void)state;
  struct mw_error err = {0};
  struct mw__mem_layer *m = mw__mem_layer_new(&err);
  assert_non_null(m);
  assert_true(mw__mem_layer_add_str(m, "220 hi\r\n"));
  mw__mem_layer_close_here(m, true);
  assert_true(mw__mem_layer_add_str(m, "never read"));
  struct mw__layer *l = mw__mem_layer_get(m);
  char buf[32];
  size_t got = 0;
  assert_int_equal(rd(l, buf, sizeof(buf), &got), MW_OK);
  wr(l, "EHLO x\r\n"); /* in flight before the close was seen */
  assert_int_equal(rd(l, buf, sizeof(buf), &got), MW_E_CLOSED);
  /* Then writes fail as on a reset connection, with EPIPE. */
  size_t put = 0;
  short want = 0;
  assert_int_equal(l->ops->write(l, "QUIT\r\n", 6, &put, &want),
                   MW_E_CLOSED);
  assert_int_equal(l->sys_errno, EPIPE);
  assert_int_equal(put, 0);
  mw__layer_close(l);
  mw__mem_layer_free(m);
  mw__error_clear(&err);
}

/* The stream over the memory layer: lines framed across short reads. */
static void stream_over_memory(void **state)
{
  (void)state;
  struct mw_error err = {0};
  struct mw__mem_layer *m = mw__mem_layer_new(&err);
  assert_non_null(m);
  assert_true(mw__mem_layer_add_str(m, "250-a\r\n250 b\nrest"));
  mw__mem_layer_set_read_max(m, 3);
  struct mw__stream s;
  mw__stream_init(&s, mw__mem_layer_get(m), &err);
  assert_int_equal(s.fd, -1);
  struct mw__sbuf line;
  mw__sbuf_init(&line);
  int64_t dl = mw__now_ms() + 1000;
  assert_int_equal(mw__stream_read_line(&s, &line, 100, dl), MW_OK);
  assert_string_equal(line.data, "250-a");
  assert_int_equal(mw__stream_read_line(&s, &line, 100, dl), MW_OK);
  assert_string_equal(line.data, "250 b");
  /* A stream that ends mid-line. */
  assert_int_equal(mw__stream_read_line(&s, &line, 100, dl), MW_E_CLOSED);
  assert_true(mw__stream_queue(&s, "QUIT\r\n", 6));
  assert_int_equal(mw__stream_flush(&s, dl), MW_OK);
  assert_string_equal(mw__mem_layer_written(m, NULL), "QUIT\r\n");
  mw__stream_close(&s);
  assert_false(mw__stream_is_open(&s));
  assert_true(mw__mem_layer_closed(m));
  mw__sbuf_free(&line);
  mw__mem_layer_free(m);
  mw__error_clear(&err);
}

/* A listening socket on 127.0.0.1; returns its port. */
static unsigned listen_loopback(int *fd)
{
  *fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(*fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  assert_int_equal(listen(*fd, 4), 0);
  socklen_t len = sizeof(sa);
  getsockname(*fd, (struct sockaddr *)&sa, &len);
  return ntohs(sa.sin_port);
}

static struct mw__addr loopback(unsigned port)
{
  struct mw__addr a;
  memset(&a, 0, sizeof(a));
  struct sockaddr_in *sa = (struct sockaddr_in *)&a.sa;
  sa->sin_family = AF_INET;
  sa->sin_port = htons((uint16_t)port);
  sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.len = sizeof(*sa);
  return a;
}

/* The TCP layer's connect step: it never blocks; driven to the end it
 * connects to the first address that answers, naming the others. */
static void tcp_connect_step(void **state)
{
  (void)state;
  int lfd, dead_fd;
  unsigned port = listen_loopback(&lfd);
  unsigned dead = listen_loopback(&dead_fd);
  close(dead_fd);
  struct mw__addr items[2] = {loopback(dead), loopback(port)};
  struct mw__addrlist l = {.items = items, .count = 2};
  struct mw_error err = {0};
  struct mw__layer *tcp = NULL;
  assert_int_equal(mw__tcp_layer_connecting(&l, NULL, 2000, NULL, &err,
                                            &tcp),
                   MW_OK);
  int64_t dl = mw__now_ms() + 5000;
  short want = 0;
  mw_status st;
  /* Step by step, as an event loop would. */
  while(!(st = tcp->ops->connect(tcp, &want)) && want) {
    assert_true(want == POLLOUT);
    assert_true(tcp->wake_at > 0);
    assert_int_equal(mw__layer_wait(tcp, want, dl, &err, "connecting"),
                     MW_OK);
  }
  assert_int_equal(st, MW_OK);
  char expect[80], desc[120];
  snprintf(expect, sizeof(expect), "127.0.0.1:%u", port);
  assert_string_equal(mw__tcp_layer_peer(tcp), expect);
  snprintf(expect, sizeof(expect), "tcp 127.0.0.1:%u", port);
  mw__layer_describe_stack(tcp, desc, sizeof(desc));
  assert_string_equal(desc, expect);
  assert_true(tcp->fd >= 0);
  /* Bytes go through to the server's side. */
  int sfd = accept(lfd, NULL, NULL);
  assert_true(sfd >= 0);
  assert_int_equal(mw__layer_write_all(tcp, "ping", 4, dl, "sending"),
                   MW_OK);
  char buf[8];
  assert_int_equal(recv(sfd, buf, sizeof(buf), 0), 4);
  assert_int_equal(send(sfd, "pong", 4, 0), 4);
  size_t got = 0;
  assert_int_equal(mw__layer_read_wait(tcp, buf, sizeof(buf), &got, dl,
                                       "waiting"),
                   MW_OK);
  assert_int_equal(got, 4);
  /* The peer closes: end of stream, then EPIPE (no SIGPIPE) on write. */
  close(sfd);
  assert_int_equal(mw__layer_read_wait(tcp, buf, sizeof(buf), &got, dl,
                                       "waiting"),
                   MW_E_CLOSED);
  assert_true(tcp->eof);
  mw_status w = MW_OK;
  for(int i = 0; i < 50 && !w; i++)
    w = mw__layer_write_all(tcp, "x", 1, dl, "sending");
  assert_int_equal(w, MW_E_CLOSED);
  assert_true(tcp->sys_errno == EPIPE || tcp->sys_errno == ECONNRESET);
  mw__layer_close(tcp);
  close(lfd);

  /* Every address refused: MW_E_CONNECT naming each. */
  items[1] = loopback(dead);
  assert_int_equal(mw__tcp_layer_connecting(&l, NULL, 2000, NULL, &err,
                                            &tcp),
                   MW_OK);
  assert_int_equal(mw__layer_connect(tcp, dl, "connecting"), MW_E_CONNECT);
  assert_non_null(strstr(err.message, "could not connect"));
  mw__layer_close(tcp);
  mw__error_clear(&err);
}

/* The PROXY header layer sends its header first, from the socket's own
 * addresses, then passes bytes through. */
static void haproxy_header_layer(void **state)
{
  (void)state;
  int lfd;
  unsigned port = listen_loopback(&lfd);
  struct mw__addr a = loopback(port);
  struct mw__addrlist l = {.items = &a, .count = 1};
  struct mw_error err = {0};
  struct mw__layer *tcp = NULL, *hp = NULL;
  int64_t dl = mw__now_ms() + 5000;
  assert_int_equal(mw__tcp_layer_connecting(&l, NULL, 2000, NULL, &err,
                                            &tcp),
                   MW_OK);
  assert_int_equal(mw__layer_connect(tcp, dl, "connecting"), MW_OK);
  assert_int_equal(mw__haproxy_layer_new(tcp, 1, NULL, &hp), MW_OK);
  assert_int_equal(hp->fd, tcp->fd);
  assert_int_equal(mw__layer_connect(hp, dl, "sending"), MW_OK);
  assert_int_equal(mw__layer_write_all(hp, "EHLO x\r\n", 8, dl, "sending"),
                   MW_OK);
  int sfd = accept(lfd, NULL, NULL);
  assert_true(sfd >= 0);
  char buf[256] = "";
  size_t have = 0;
  while(have < sizeof(buf) - 1 && !strstr(buf, "EHLO x\r\n")) {
    ssize_t n = recv(sfd, buf + have, sizeof(buf) - 1 - have, 0);
    assert_true(n > 0);
    have += (size_t)n;
    buf[have] = '\0';
  }
  assert_memory_equal(buf, "PROXY TCP4 127.0.0.1 127.0.0.1 ", 31);
  assert_non_null(strstr(buf, "\r\nEHLO x\r\n"));
  char desc[200];
  mw__layer_describe_stack(hp, desc, sizeof(desc));
  assert_non_null(strstr(desc, "PROXY protocol v1 header > tcp 127.0.0.1:"));
  mw__layer_close(hp); /* closes the TCP layer too */
  close(sfd);
  close(lfd);
  mw__error_clear(&err);
}

/* Errors of best-effort I/O can be sent elsewhere than the session's. */
static void error_redirection(void **state)
{
  (void)state;
  struct mw_error err = {0}, scratch = {0};
  struct mw__mem_layer *m = mw__mem_layer_new(&err);
  assert_non_null(m);
  struct mw__layer *l = mw__mem_layer_get(m);
  assert_ptr_equal(mw__layer_set_err(l, &scratch), &err);
  char buf[4];
  size_t got;
  assert_int_equal(rd(l, buf, sizeof(buf), &got), MW_E_CLOSED);
  assert_int_equal(err.status, MW_OK);
  assert_int_equal(scratch.status, MW_E_CLOSED);
  mw__layer_set_err(l, &err);
  mw__layer_close(l);
  mw__mem_layer_free(m);
  mw__error_clear(&scratch);
  mw__error_clear(&err);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(memory_turns),
      cmocka_unit_test(memory_scripted_close),
      cmocka_unit_test(stream_over_memory),
      cmocka_unit_test(tcp_connect_step),
      cmocka_unit_test(haproxy_header_layer),
      cmocka_unit_test(error_redirection),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}

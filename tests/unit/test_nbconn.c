/* Unit tests: net/nbconn.c on loopback and socket pairs: one-shot send and
 * recv (EAGAIN when nothing can move, end of stream, no SIGPIPE on a
 * closed peer), the peer's address, close, and the poll() set. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mailwire.h"
#include "net/nbconn.h"
#include "net/resolve.h"
#include "net/tcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int setup(void **state)
{
  (void)state;
  return mw_global_init() == MW_OK ? 0 : -1;
}

/* A connected pair of non-blocking stream sockets. */
static void nb_pair(int sv[2])
{
  assert_int_equal(
      socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv),
      0);
}

static void send_and_recv_once(void **state)
{
  (void)state;
  int sv[2];
  nb_pair(sv);
  char buf[16];
  size_t n = 99;
  assert_int_equal(mw__nb_recv(sv[1], buf, sizeof(buf), &n), EAGAIN);
  assert_int_equal(n, 0);
  assert_int_equal(mw__nb_send(sv[0], "EHLO x\r\n", 8, &n), 0);
  assert_int_equal(n, 8);
  assert_int_equal(mw__nb_recv(sv[1], buf, sizeof(buf), &n), 0);
  assert_int_equal(n, 8);
  assert_memory_equal(buf, "EHLO x\r\n", 8);
  /* The peer closes: end of stream is 0 bytes, not an error. */
  mw__nb_close(&sv[0]);
  assert_int_equal(sv[0], -1);
  assert_int_equal(mw__nb_recv(sv[1], buf, sizeof(buf), &n), 0);
  assert_int_equal(n, 0);
  mw__nb_close(&sv[1]);
  mw__nb_close(&sv[1]); /* closing twice is a no-op */
  assert_int_equal(sv[1], -1);
}

static void send_to_a_closed_peer_is_epipe_not_sigpipe(void **state)
{
  (void)state;
  /* With SIGPIPE at its default, a send without MSG_NOSIGNAL would kill
   * this test. */
  void (*old)(int) = signal(SIGPIPE, SIG_DFL);
  int sv[2];
  nb_pair(sv);
  mw__nb_close(&sv[1]);
  size_t n = 0;
  assert_int_equal(mw__nb_send(sv[0], "QUIT\r\n", 6, &n), EPIPE);
  assert_int_equal(n, 0);
  mw__nb_close(&sv[0]);
  signal(SIGPIPE, old);
}

static void send_full_buffer_is_eagain(void **state)
{
  (void)state;
  int sv[2];
  nb_pair(sv);
  char chunk[4096];
  memset(chunk, 'x', sizeof(chunk));
  size_t n = 0;
  int e = 0;
  for(int i = 0; i < 100000 && !e; i++)
    e = mw__nb_send(sv[0], chunk, sizeof(chunk), &n);
  assert_int_equal(e, EAGAIN);
  assert_int_equal(n, 0);
  mw__nb_close(&sv[0]);
  mw__nb_close(&sv[1]);
}

static void peer_of_a_tcp_connection(void **state)
{
  (void)state;
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  assert_int_equal(listen(lfd, 4), 0);
  socklen_t len = sizeof(sa);
  getsockname(lfd, (struct sockaddr *)&sa, &len);
  struct mw__addr a = {.len = sizeof(sa)};
  memcpy(&a.sa, &sa, sizeof(sa));

  int fd = -1;
  int rc = mw__tcp_start(&a, NULL, &fd);
  assert_true(rc == 0 || rc == EINPROGRESS);
  /* Wait for the connect through the poll() set. */
  struct mw__pollset ps;
  assert_int_equal(mw__pollset_init(&ps, 1), MW_OK);
  assert_true(mw__pollset_add(&ps, fd, POLLOUT, 7));
  assert_false(mw__pollset_add(&ps, fd, POLLIN, 8)); /* full */
  assert_int_equal(mw__pollset_wait(&ps, 2000), 1);
  size_t tag = 0;
  assert_true(mw__pollset_ready(&ps, 0, &tag));
  assert_int_equal(tag, 7);
  assert_int_equal(mw__tcp_finish(fd), 0);
  mw__pollset_free(&ps);

  char peer[80] = "unset", want[80];
  assert_true(mw__nb_peer(fd, peer, sizeof(peer)));
  snprintf(want, sizeof(want), "127.0.0.1:%u", ntohs(sa.sin_port));
  assert_string_equal(peer, want);
  mw__nb_close(&fd);
  /* No socket, or not an IP socket: no peer, and buf is untouched. */
  snprintf(peer, sizeof(peer), "unset");
  assert_false(mw__nb_peer(-1, peer, sizeof(peer)));
  int sv[2];
  nb_pair(sv);
  assert_false(mw__nb_peer(sv[0], peer, sizeof(peer)));
  assert_string_equal(peer, "unset");
  mw__nb_close(&sv[0]);
  mw__nb_close(&sv[1]);
  close(lfd);
}

static void pollset_reports_only_ready_sockets(void **state)
{
  (void)state;
  int a[2], b[2];
  nb_pair(a);
  nb_pair(b);
  struct mw__pollset ps;
  assert_int_equal(mw__pollset_init(&ps, 2), MW_OK);
  assert_true(mw__pollset_add(&ps, a[1], POLLIN, 0));
  assert_true(mw__pollset_add(&ps, b[1], POLLIN, 1));
  /* Nothing to read: the wait times out. */
  assert_int_equal(mw__pollset_wait(&ps, 10), 0);
  size_t n = 0, tag = 99;
  assert_int_equal(mw__nb_send(b[0], "220\r\n", 5, &n), 0);
  assert_int_equal(mw__pollset_wait(&ps, 2000), 1);
  assert_false(mw__pollset_ready(&ps, 0, &tag));
  assert_true(mw__pollset_ready(&ps, 1, &tag));
  assert_int_equal(tag, 1);
  assert_false(mw__pollset_ready(&ps, 2, &tag)); /* past the end */
  /* Cleared, the set is empty and can be filled again. */
  mw__pollset_clear(&ps);
  assert_int_equal(ps.used, 0);
  assert_true(mw__pollset_add(&ps, b[1], POLLIN, 5));
  assert_int_equal(mw__pollset_wait(&ps, 2000), 1);
  assert_true(mw__pollset_ready(&ps, 0, &tag));
  assert_int_equal(tag, 5);
  mw__pollset_free(&ps);
  mw__pollset_free(&ps); /* freeing twice is harmless */
  for(int i = 0; i < 2; i++) {
    mw__nb_close(&a[i]);
    mw__nb_close(&b[i]);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(send_and_recv_once),
      cmocka_unit_test(send_to_a_closed_peer_is_epipe_not_sigpipe),
      cmocka_unit_test(send_full_buffer_is_eagain),
      cmocka_unit_test(peer_of_a_tcp_connection),
      cmocka_unit_test(pollset_reports_only_ready_sockets),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}

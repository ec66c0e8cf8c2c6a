/* Unit tests: net/nbconn.c's poll() set on loopback and socket pairs, and
 * net/tcp.h's non-blocking connect waited for through it. */
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

static void connect_waited_for_in_the_set(void **state)
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

  close(fd);
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
  size_t tag = 99;
  assert_int_equal(send(b[0], "220\r\n", 5, 0), 5);
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
    close(a[i]);
    close(b[i]);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(connect_waited_for_in_the_set),
      cmocka_unit_test(pollset_reports_only_ready_sockets),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}

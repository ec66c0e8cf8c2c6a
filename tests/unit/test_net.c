/* Unit tests: net/resolve.c and net/tcp.c on loopback: numeric and name
 * resolution, falling back to the next address, every failed attempt named
 * in the error, the local bind. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mailwire.h"
#include "core/util.h"
#include "net/resolve.h"
#include "net/sock.h"
#include "net/stack.h"
#include "net/tcp.h"

#include <arpa/inet.h>
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

/* A port on 127.0.0.1 where nothing listens. */
static unsigned closed_port(void)
{
  int fd;
  unsigned port = listen_loopback(&fd);
  close(fd);
  return port;
}

static void numeric_addresses_resolve_without_dns(void **state)
{
  (void)state;
  struct mw__addrlist l;
  struct mw_error err = {0};
  assert_int_equal(mw__resolve("127.0.0.1", 25, MW_FAMILY_ANY, NULL,
                               mw__now_ms() + 5000, &l, &err),
                   MW_OK);
  assert_int_equal(l.count, 1);
  char buf[64];
  mw__addr_format(&l.items[0], buf, sizeof(buf));
  assert_string_equal(buf, "127.0.0.1:25");
  mw__addrlist_free(&l);
  assert_int_equal(mw__resolve("::1", 587, MW_FAMILY_ANY, NULL,
                               mw__now_ms() + 5000, &l, &err),
                   MW_OK);
  mw__addr_format(&l.items[0], buf, sizeof(buf));
  assert_string_equal(buf, "[::1]:587");
  mw__addrlist_free(&l);
  /* An IPv4 literal has no IPv6 address. */
  assert_int_equal(mw__resolve("127.0.0.1", 25, MW_FAMILY_IPV6, NULL,
                               mw__now_ms() + 5000, &l, &err),
                   MW_E_DNS);
  mw__error_clear(&err);
}

static void localhost_from_hosts_file(void **state)
{
  (void)state;
  struct mw__addrlist l;
  struct mw_error err = {0};
  assert_int_equal(mw__resolve("localhost", 25, MW_FAMILY_IPV4, NULL,
                               mw__now_ms() + 5000, &l, &err),
                   MW_OK);
  assert_true(l.count >= 1);
  assert_int_equal(l.items[0].sa.ss_family, AF_INET);
  mw__addrlist_free(&l);
}

static struct mw__addrlist two_addresses(unsigned first, unsigned second)
{
  struct mw__addrlist l;
  l.count = 2;
  l.items = mw__calloc(2, sizeof(*l.items));
  unsigned ports[2] = {first, second};
  for(int i = 0; i < 2; i++) {
    struct sockaddr_in *sa = (struct sockaddr_in *)&l.items[i].sa;
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)ports[i]);
    sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    l.items[i].len = sizeof(*sa);
  }
  return l;
}

static void falls_back_to_the_next_address(void **state)
{
  (void)state;
  int lfd;
  unsigned open_port = listen_loopback(&lfd);
  unsigned dead = closed_port();
  struct mw__addrlist l = two_addresses(dead, open_port);
  struct mw_error err = {0};
  struct mw__trace trace = {0};
  int fd = -1;
  char peer[80];
  assert_int_equal(mw__tcp_connect(&l, NULL, 2000, &trace, &fd, peer,
                                   sizeof(peer), &err),
                   MW_OK);
  char want[80];
  snprintf(want, sizeof(want), "127.0.0.1:%u", open_port);
  assert_string_equal(peer, want);
  close(fd);
  close(lfd);
  mw__addrlist_free(&l);
}

static void every_failed_attempt_is_named(void **state)
{
  (void)state;
  unsigned a = closed_port(), b = closed_port();
  struct mw__addrlist l = two_addresses(a, b);
  struct mw_error err = {0};
  struct mw__trace trace = {0};
  int fd = -1;
  char peer[80];
  assert_int_equal(mw__tcp_connect(&l, NULL, 2000, &trace, &fd, peer,
                                   sizeof(peer), &err),
                   MW_E_CONNECT);
  char pa[40], pb[40];
  snprintf(pa, sizeof(pa), "127.0.0.1:%u: Connection refused", a);
  snprintf(pb, sizeof(pb), "127.0.0.1:%u: Connection refused", b);
  assert_non_null(strstr(err.message, pa));
  assert_non_null(strstr(err.message, pb));
  assert_true(err.temporary);
  /* Refused is not an unreachable network (doctor's tcp_unreachable). */
  assert_int_equal(err.connect_failure, MW__CONNECT_FAIL_OTHER);
  mw__error_clear(&err);
  mw__addrlist_free(&l);
}

/* net/sock.c: the local address of a connected socket (for the HELO
 * address literal), nothing for a descriptor that is not one. */
static void local_address_of_a_connected_socket(void **state)
{
  (void)state;
  int lfd;
  unsigned port = listen_loopback(&lfd);
  struct mw__addrlist l = two_addresses(port, port);
  l.count = 1;
  struct mw_error err = {0};
  int fd = -1;
  char peer[80];
  assert_int_equal(mw__tcp_connect(&l, NULL, 2000, NULL, &fd, peer,
                                   sizeof(peer), &err),
                   MW_OK);
  char ip[MW__SOCK_ADDR_TEXT] = "unset";
  assert_int_equal(mw__sock_local_address(fd, ip, sizeof(ip)), 4);
  assert_string_equal(ip, "127.0.0.1");
  mw__sock_close(fd);
  snprintf(ip, sizeof(ip), "unset");
  assert_int_equal(mw__sock_local_address(-1, ip, sizeof(ip)), 0);
  assert_string_equal(ip, "unset");
  mw__sock_close(-1); /* ignored */
  char host[256];
  assert_true(mw__sock_hostname(host, sizeof(host)));
  assert_true(strlen(host) < sizeof(host));
  close(lfd);
  mw__addrlist_free(&l);
}

static void bind_address(void **state)
{
  (void)state;
  int lfd;
  unsigned port = listen_loopback(&lfd);
  struct mw__addrlist l = two_addresses(port, port);
  struct mw_error err = {0};
  struct mw__trace trace = {0};
  int fd = -1;
  char peer[80];
  assert_int_equal(mw__tcp_connect(&l, "127.0.0.2", 2000, &trace, &fd, peer,
                                   sizeof(peer), &err),
                   MW_OK);
  struct sockaddr_in local;
  socklen_t len = sizeof(local);
  getsockname(fd, (struct sockaddr *)&local, &len);
  assert_int_equal(ntohl(local.sin_addr.s_addr), 0x7f000002);
  close(fd);
  /* An IPv6 bind address cannot reach an IPv4 server. */
  assert_int_equal(mw__tcp_connect(&l, "::1", 2000, &trace, &fd, peer,
                                   sizeof(peer), &err),
                   MW_E_INVALID);
  assert_int_equal(mw__tcp_connect(&l, "not-an-address", 2000, &trace, &fd,
                                   peer, sizeof(peer), &err),
                   MW_E_INVALID);
  mw__error_clear(&err);
  close(lfd);
  mw__addrlist_free(&l);
}

/* The stack built without blocking, as the probe's loop drives it: each
 * step does what it can, the caller waits on the build's socket. */
static mw_status build_stepped(const struct mw__addrlist *l, unsigned port,
                               struct mw_error *err, char *peer,
                               size_t peer_len, struct mw__layer **top,
                               int *steps)
{
  struct mw__stack_opts o = {.host = "127.0.0.1",
                             .port = port,
                             .connect_timeout_ms = 2000};
  struct mw__trace trace = {0};
  struct mw__stack_build *b = NULL;
  mw_status st = mw__stack_begin(&o, l, &trace, NULL, NULL, err, &b);
  *top = NULL;
  *steps = 0;
  while(!st) {
    short want = 0;
    bool done = false;
    st = mw__stack_step(b, &want, &done);
    (*steps)++;
    if(st || done)
      break;
    assert_true(want == POLLIN || want == POLLOUT);
    assert_true(mw__stack_fd(b) >= 0);
    assert_true(mw__stack_wake_at(b) > 0);
    struct pollfd p = {.fd = mw__stack_fd(b), .events = want};
    poll(&p, 1, 2000);
  }
  if(!st)
    *top = mw__stack_take(b, peer, peer_len);
  mw__stack_free(b);
  return st;
}

static void stack_built_without_blocking(void **state)
{
  (void)state;
  int lfd = -1;
  unsigned open_port = listen_loopback(&lfd);
  unsigned dead = closed_port();
  /* The port given to the build replaces the list's (the probe resolves
   * each host once for all its ports). */
  struct mw__addrlist l = two_addresses(dead, dead);
  struct mw_error err = {0};
  char peer[80];
  struct mw__layer *top = NULL;
  int steps = 0;
  assert_int_equal(build_stepped(&l, open_port, &err, peer, sizeof(peer),
                                 &top, &steps),
                   MW_OK);
  assert_non_null(top);
  char want[80];
  snprintf(want, sizeof(want), "127.0.0.1:%u", open_port);
  assert_string_equal(peer, want);
  mw__layer_close(top);

  /* Every address refused: MW_E_CONNECT, said to be a refusal by a kind,
   * not by its words. */
  assert_int_equal(build_stepped(&l, dead, &err, peer, sizeof(peer), &top,
                                 &steps),
                   MW_E_CONNECT);
  assert_null(top);
  assert_true(err.connect_refused);
  assert_int_equal(err.connect_failure, MW__CONNECT_FAIL_OTHER);
  mw__error_clear(&err);
  mw__addrlist_free(&l);
  close(lfd);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(numeric_addresses_resolve_without_dns),
      cmocka_unit_test(localhost_from_hosts_file),
      cmocka_unit_test(falls_back_to_the_next_address),
      cmocka_unit_test(every_failed_attempt_is_named),
      cmocka_unit_test(bind_address),
      cmocka_unit_test(local_address_of_a_connected_socket),
      cmocka_unit_test(stack_built_without_blocking),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}

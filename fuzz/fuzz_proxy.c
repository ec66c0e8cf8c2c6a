/*
 * fuzz/fuzz_proxy.c - the proxy handshakes (net/proxy.h's state machine:
 * SOCKS4, SOCKS4a, SOCKS5 with and without RFC 1929 credentials, HTTP
 * CONNECT with Basic credentials) against any bytes a proxy may send.
 *
 * Input: byte 0 chooses the proxy kind (bits 0-2, modulo 5), whether
 * credentials are configured (bit 3) and whether SOCKS5's target is
 * given up front (bit 4); byte 1 bounds the size of each read; the rest
 * is what the proxy sends, in order, until the handshake ends or the
 * input does (then the proxy "closes").
 *
 * Invariants (abort() when violated):
 *   - the machine never asks for more than one reply's bytes (HTTP: one
 *     byte at a time; SOCKS: at most 257), so the SMTP greeting after the
 *     reply is never consumed; fed exactly what it asked for, it never
 *     errs for being fed too much;
 *   - every request it sends starts as its protocol says (4, 5, 1 for the
 *     RFC 1929 sub-negotiation, or "CONNECT mail.example.org:587 ");
 *   - it succeeds only after the proxy said yes: SOCKS4 0x5a, SOCKS5
 *     method 0 or 2 (then status 0) and reply 0, HTTP 2xx;
 *   - every failure, and the end of input, is MW_E_PROXY (or MW_E_INVALID
 *     for a local limit) with a message that never holds the password
 *     (unless the proxy sent it back: its status line is quoted);
 *   - released, the state holds no credential bytes.
 */
#include "core/err.h"
#include "net/proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                          \
  do {                                                                       \
    if(!(cond)) {                                                            \
      fprintf(stderr, "fuzz_proxy: invariant violated: %s (%s:%d)\n", #cond, \
              __FILE__, __LINE__);                                           \
      abort();                                                               \
    }                                                                        \
  } while(0)

#define HOST "mail.example.org"
#define PORT 587u
#define USER "proxyuser"
#define PASSWORD "Pr0xy-s3cret-pw"

static bool contains(const void *hay, size_t n, const char *needle)
{
  size_t k = strlen(needle);
  const unsigned char *h = hay;
  for(size_t i = 0; i + k <= n; i++)
    if(memcmp(h + i, needle, k) == 0)
      return true;
  return false;
}

/* Whether the n bytes the proxy sent (all consumed) are a whole yes. */
static bool proxy_said_yes(enum mw__proxy_kind kind, bool creds,
                           const uint8_t *r, size_t n)
{
  if(kind == MW__PROXY_SOCKS4 || kind == MW__PROXY_SOCKS4A)
    return n == 8 && r[0] == 0 && r[1] == 0x5a;
  if(kind == MW__PROXY_HTTP) {
    if(n < 14 || memcmp(r, "HTTP/1.", 7) != 0 || r[8] != ' ' || r[9] != '2')
      return false;
    return r[n - 1] == '\n' &&
           (r[n - 2] == '\n' || (r[n - 2] == '\r' && r[n - 3] == '\n'));
  }
  size_t i = 0;
  if(n < 2 || r[0] != 5 || (r[1] != 0 && !(r[1] == 2 && creds)))
    return false;
  i = 2;
  if(r[1] == 2) {
    if(n < i + 2 || r[i] != 1 || r[i + 1] != 0)
      return false;
    i += 2;
  }
  if(n < i + 4 || r[i] != 5 || r[i + 1] != 0)
    return false;
  size_t addr = r[i + 3] == 1 ? 4 : r[i + 3] == 4 ? 16 : 0;
  i += 4;
  if(!addr) {
    if(r[i - 1] != 3 || n < i + 1)
      return false;
    addr = (size_t)r[i] + 1;
  }
  return n == i + addr + 2;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(size < 2)
    return 0;
  static const enum mw__proxy_kind kinds[] = {
      MW__PROXY_SOCKS4, MW__PROXY_SOCKS4A, MW__PROXY_SOCKS5,
      MW__PROXY_SOCKS5H, MW__PROXY_HTTP};
  struct mw__proxy p;
  memset(&p, 0, sizeof(p));
  p.kind = kinds[(data[0] & 7) % 5];
  snprintf(p.host, sizeof(p.host), "127.0.0.1");
  p.port = 1080;
  bool creds = data[0] & 8;
  char user[] = USER, password[] = PASSWORD;
  if(creds) {
    p.user = user;
    if(p.kind != MW__PROXY_SOCKS4 && p.kind != MW__PROXY_SOCKS4A)
      p.password = password;
  }
  size_t chunk = (size_t)data[1] % 16 + 1;
  const uint8_t *in = data + 2;
  size_t left = size - 2;

  struct sockaddr_storage target;
  memset(&target, 0, sizeof(target));
  struct sockaddr_in *sin = (struct sockaddr_in *)&target;
  sin->sin_family = AF_INET;
  inet_pton(AF_INET, "192.0.2.25", &sin->sin_addr);
  bool client_resolves =
      p.kind == MW__PROXY_SOCKS4 || p.kind == MW__PROXY_SOCKS5;
  bool target_now = client_resolves &&
                    (p.kind == MW__PROXY_SOCKS4 || (data[0] & 16));

  struct mw_error err;
  memset(&err, 0, sizeof(err));
  struct mw__proxy_hs hs;
  mw_status st = mw__proxy_hs_init(&hs, &p, HOST, PORT,
                                   target_now ? &target : NULL, &err);
  CHECK(st == MW_OK);
  size_t requests = 0;
  while(!st && !mw__proxy_hs_done(&hs)) {
    if(mw__proxy_hs_needs_target(&hs)) {
      CHECK(p.kind == MW__PROXY_SOCKS5 && !target_now);
      st = mw__proxy_hs_set_target(&hs, &target, &err);
      continue;
    }
    size_t outlen = 0;
    const unsigned char *out = mw__proxy_hs_output(&hs, &outlen);
    if(outlen) {
      CHECK(outlen <= sizeof(hs.out));
      if(p.kind == MW__PROXY_HTTP)
        CHECK(outlen > 30 &&
              memcmp(out, "CONNECT " HOST ":587 HTTP/1.1\r\n", 34) == 0 &&
              memcmp(out + outlen - 4, "\r\n\r\n", 4) == 0);
      else if(p.kind == MW__PROXY_SOCKS4 || p.kind == MW__PROXY_SOCKS4A)
        CHECK(out[0] == 4 && out[1] == 1 && out[2] == 2 && out[3] == 0x4b);
      else
        CHECK(out[0] == 5 || (out[0] == 1 && creds));
      requests++;
      mw__proxy_hs_sent(&hs);
      continue;
    }
    size_t want = mw__proxy_hs_want(&hs);
    CHECK(want > 0);
    CHECK(p.kind == MW__PROXY_HTTP ? want == 1 : want <= 257);
    if(!left) {
      st = mw__proxy_hs_closed(&hs, &err);
      CHECK(st == MW_E_PROXY);
      break;
    }
    size_t n = want < chunk ? want : chunk;
    if(n > left)
      n = left;
    st = mw__proxy_hs_feed(&hs, in, n, &err);
    in += n;
    left -= n;
  }
  if(mw__proxy_hs_done(&hs)) {
    CHECK(st == MW_OK);
    CHECK(requests >= 1);
    CHECK(mw__proxy_hs_want(&hs) == 0);
    size_t outlen = 1;
    mw__proxy_hs_output(&hs, &outlen);
    CHECK(outlen == 0);
    CHECK(proxy_said_yes(p.kind, creds, data + 2, (size_t)(in - data - 2)));
  }
  else {
    CHECK(st == MW_E_PROXY || st == MW_E_INVALID);
    CHECK(err.message[0]);
  }
  /* (unless the proxy itself sent it: its status line is quoted) */
  CHECK(!creds || !contains(err.message, strlen(err.message), PASSWORD) ||
        contains(data, size, PASSWORD));
  mw__proxy_hs_release(&hs);
  CHECK(!contains(&hs, sizeof(hs), PASSWORD));
  mw__error_clear(&err);
  return 0;
}

/*
 * fuzz/fuzz_session.c - a whole SMTP client session (lib/proto/smtp.c:
 * greeting, EHLO/HELO, STARTTLS, AUTH, one message, QUIT) against any
 * server, played through the in-memory layer (io/layer.h): no socket, no
 * wait.
 *
 * Input: byte 0 sets the client's options: bits 0-1 the TLS mode (none,
 * starttls-optional, starttls, none), bit 2 credentials (user and
 * password, AUTH allowed in clear), bit 3 LOGIN instead of any mechanism,
 * bit 4 PIPELINING disabled, bit 5 one byte per read, bit 6 the server's
 * writes fail after it closes.  The rest is what the server sends, cut
 * into segments at each NUL byte: the first is there at once, each next
 * one comes once the client has written something (see io/layer.h); after
 * the last the server closes.
 *
 * Invariants (abort() when violated):
 *   - the session ends: every status is one the API documents for the
 *     call, and the memory layer was closed when the session was freed;
 *   - the first thing written is EHLO (never a credential, never mail
 *     before the greeting was read);
 *   - with credentials configured, the password never appears in an
 *     error message (even when the server sends it back);
 *   - nothing is written after a reply that stopped the session as an
 *     injection (MW_E_INJECTION: the bytes after the 220 to STARTTLS);
 *   - a message reported delivered had its final dot written.
 * Leaks and memory errors are the sanitizers' to find.
 */
#include "core/util.h"
#include "io/layer.h"
#include "mailwire.h"
#include "proto/smtp.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                          \
  do {                                                                       \
    if(!(cond)) {                                                            \
      fprintf(stderr, "fuzz_session: invariant violated: %s (%s:%d)\n",      \
              #cond, __FILE__, __LINE__);                                    \
      abort();                                                               \
    }                                                                        \
  } while(0)

#define PASSWORD "Fz-s3cret-pw9"
#define MESSAGE "Subject: fuzz\r\n\r\nbody\r\n.line\r\n"

static bool contains(const char *hay, size_t n, const char *needle)
{
  size_t k = strlen(needle);
  for(size_t i = 0; i + k <= n; i++)
    if(memcmp(hay + i, needle, k) == 0)
      return true;
  return false;
}

static bool status_is(mw_status st, const mw_status *ok, size_t n)
{
  for(size_t i = 0; i < n; i++)
    if(st == ok[i])
      return true;
  return false;
}

/* With credentials configured, the password never shows (the server may
 * echo it: core/scrub.h cuts it out of every line it sends). */
static void check_error(const mw_smtp *s, bool creds)
{
  const char *m = mw_error_message(mw_smtp_error(s));
  CHECK(m != NULL);
  CHECK(!creds || !strstr(m, PASSWORD));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static bool init;
  if(!init) {
    if(mw_global_init() != MW_OK)
      abort();
    init = true;
  }
  if(size < 1)
    return 0;
  unsigned flags = data[0];
  data++;
  size--;

  mw_options *o = mw_options_new();
  if(!o)
    return 0;
  static const mw_tls_mode modes[] = {MW_TLS_NONE, MW_TLS_STARTTLS_OPTIONAL,
                                      MW_TLS_STARTTLS, MW_TLS_NONE};
  mw_tls_mode mode = modes[flags & 3];
  bool creds = flags & 4;
  if(mw_options_set_server(o, "mx.example.org", 587) ||
     mw_options_set_tls_mode(o, mode) ||
     mw_options_set_helo_name(o, "client.example.org") ||
     mw_options_set_greeting_timeout(o, 1000) ||
     mw_options_set_command_timeout(o, 1000) ||
     (creds && (mw_options_set_credentials(o, "fuzzuser", PASSWORD) ||
                mw_options_set_allow_insecure_auth(o, true))) ||
     (creds && (flags & 8) && mw_options_set_auth_mechanisms(o, "LOGIN")) ||
     ((flags & 16) && mw_options_set_pipelining(o, false))) {
    mw_options_free(o);
    return 0;
  }
  mw_smtp *s = mw_smtp_new(o);
  struct mw__mem_layer *m = s ? mw__mem_layer_new(&s->err) : NULL;
  if(!m) {
    mw_smtp_free(s);
    mw_options_free(o);
    return 0;
  }
  bool attached = false;
  /* The server's side, cut at every NUL. */
  const uint8_t *p = data, *end = data + size;
  for(;;) {
    const uint8_t *nul = memchr(p, 0, (size_t)(end - p));
    const uint8_t *stop = nul ? nul : end;
    if(!mw__mem_layer_add(m, p, (size_t)(stop - p)))
      goto out;
    if(!nul)
      break;
    p = nul + 1;
  }
  if(flags & 32)
    mw__mem_layer_set_read_max(m, 1);
  mw__mem_layer_close_here(m, (flags & 64) != 0);

  attached = true;
  mw_status st = mw__smtp_connect_over(s, mw__mem_layer_get(m));
  static const mw_status connect_ok[] = {
      MW_OK,         MW_E_CLOSED,    MW_E_TIMEOUT,          MW_E_PROTOCOL,
      MW_E_REJECTED, MW_E_NO_STARTTLS, MW_E_INJECTION,      MW_E_TLS,
      MW_E_CERT,     MW_E_AUTH,      MW_E_AUTH_UNAVAILABLE, MW_E_INSECURE,
      MW_E_AUTH_SERVER_UNVERIFIED,   MW_E_NOMEM,            MW_E_INVALID};
  CHECK(status_is(st, connect_ok, sizeof(connect_ok) / sizeof(*connect_ok)));
  size_t wlen = 0;
  const char *w = mw__mem_layer_written(m, &wlen);
  CHECK(wlen == 0 || (wlen >= 5 && memcmp(w, "EHLO ", 5) == 0));
  if(st) {
    check_error(s, creds);
    if(st == MW_E_INJECTION) /* nothing after STARTTLS, no ClientHello */
      CHECK(wlen >= 10 && memcmp(w + wlen - 10, "STARTTLS\r\n", 10) == 0);
    goto out;
  }
  mw_envelope *e = mw_envelope_new();
  if(!e || mw_envelope_set_from(e, "a@example.org") ||
     mw_envelope_add_recipient(e, "b@example.org") ||
     mw_envelope_add_recipient(e, "c@example.org")) {
    mw_envelope_free(e);
    goto out;
  }
  mw_result *res = NULL;
  st = mw_smtp_send_buffer(s, e, MESSAGE, strlen(MESSAGE), &res);
  static const mw_status send_ok[] = {
      MW_OK,        MW_E_RECIPIENTS, MW_E_REJECTED, MW_E_DELIVERY_UNKNOWN,
      MW_E_MESSAGE, MW_E_TIMEOUT,    MW_E_CLOSED,   MW_E_PROTOCOL,
      MW_E_TLS,     MW_E_IO,         MW_E_STATE,    MW_E_NOMEM};
  CHECK(status_is(st, send_ok, sizeof(send_ok) / sizeof(*send_ok)));
  if(st)
    check_error(s, creds);
  if(!st) {
    CHECK(res != NULL);
    CHECK(mw_result_delivery(res) == MW_DELIVERY_ACCEPTED);
    w = mw__mem_layer_written(m, &wlen);
    CHECK(contains(w, wlen, "\r\n.\r\n"));
  }
  mw_result_free(res);
  mw_envelope_free(e);
  st = mw_smtp_quit(s);
  CHECK(st == MW_OK || st == MW_E_STATE || st == MW_E_NOMEM);
out:
  mw_smtp_free(s);
  CHECK(!attached || mw__mem_layer_closed(m));
  mw__mem_layer_free(m);
  mw_options_free(o);
  return 0;
}

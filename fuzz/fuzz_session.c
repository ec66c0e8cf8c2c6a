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
 * writes fail after it closes, bit 7 three messages through
 * mw_smtp_send_many() (each envelope behind the previous dot) instead of
 * one through mw_smtp_send_buffer(); bit 3 without bit 2 (no credentials,
 * so no mechanism to choose): mw_smtp_quit_after_send() before the one
 * message (QUIT behind its dot).  The rest is what the server sends, cut
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
 *   - a message reported delivered had its final dot written;
 *   - mw_smtp_send_many() reports each message once, in order, never more
 *     than it took, and a message reported delivered has its result say
 *     so; at least as many dots were written as messages delivered.
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

/* mw_smtp_send_many(): three copies of MESSAGE. */
struct many {
  const mw_envelope *env;
  size_t taken, reported, delivered;
  size_t pos;
  bool creds;
};

static mw_status many_read(void *user, char *buf, size_t len, size_t *got)
{
  struct many *m = user;
  static const char text[] = MESSAGE;
  size_t left = strlen(text) - m->pos;
  size_t n = left < len ? left : len;
  memcpy(buf, &text[m->pos], n);
  m->pos += n;
  *got = n;
  return MW_OK;
}

static bool many_next(void *user, mw_outgoing *o)
{
  struct many *m = user;
  if(m->taken == 3)
    return false;
  m->taken++;
  m->pos = 0;
  o->envelope = m->env;
  o->info = NULL;
  o->read = many_read;
  o->read_user = m;
  return true;
}

static void many_done(void *user, size_t index, mw_status st,
                      const mw_error *err, mw_result *res)
{
  struct many *m = user;
  static const mw_status ok[] = {
      MW_OK,        MW_E_RECIPIENTS, MW_E_REJECTED, MW_E_DELIVERY_UNKNOWN,
      MW_E_MESSAGE, MW_E_TIMEOUT,    MW_E_CLOSED,   MW_E_PROTOCOL,
      MW_E_TLS,     MW_E_IO,         MW_E_NOMEM,    MW_E_EXTENSION};
  CHECK(index == m->reported && index < m->taken);
  CHECK(status_is(st, ok, sizeof(ok) / sizeof(*ok)));
  CHECK(err != NULL);
  if(st) {
    CHECK(mw_error_message(err) != NULL);
    CHECK(!m->creds || !strstr(mw_error_message(err), PASSWORD));
  }
  else {
    CHECK(res && mw_result_delivery(res) == MW_DELIVERY_ACCEPTED);
    m->delivered++;
  }
  mw_result_free(res);
  m->reported++;
}

static size_t count_dots(const char *w, size_t n)
{
  size_t c = 0;
  for(size_t i = 0; i + 5 <= n; i++)
    if(memcmp(w + i, "\r\n.\r\n", 5) == 0)
      c++;
  return c;
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
  if(flags & 128) {
    struct many mm = {.env = e, .creds = creds};
    size_t count = 99;
    st = mw_smtp_send_many(s, many_next, many_done, &mm, &count);
    static const mw_status many_ok[] = {
        MW_OK,     MW_E_DELIVERY_UNKNOWN, MW_E_TIMEOUT, MW_E_CLOSED,
        MW_E_PROTOCOL, MW_E_TLS,          MW_E_IO,      MW_E_NOMEM};
    CHECK(status_is(st, many_ok, sizeof(many_ok) / sizeof(*many_ok)));
    CHECK(count == mm.reported && mm.reported == mm.taken);
    CHECK(st != MW_OK || mm.taken == 3);
    if(st)
      check_error(s, creds);
    w = mw__mem_layer_written(m, &wlen);
    CHECK(count_dots(w, wlen) >= mm.delivered);
    mw_envelope_free(e);
    st = mw_smtp_quit(s);
    CHECK(st == MW_OK || st == MW_E_STATE || st == MW_E_NOMEM);
    goto out;
  }
  if(!creds && (flags & 8))
    CHECK(mw_smtp_quit_after_send(s) == MW_OK);
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

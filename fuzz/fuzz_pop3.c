/*
 * fuzz/fuzz_pop3.c - a whole POP3 client session (lib/proto/pop3*.c:
 * greeting, CAPA, STLS, login, STAT, LIST+UIDL, a batch of RETRs, TOP,
 * DELE, QUIT) against any server, played through the in-memory layer
 * (io/layer.h): no socket, no wait.
 *
 * Input: byte 0 sets the client's options: bits 0-1 the TLS mode (none,
 * starttls-optional, starttls, none), bit 2 credentials (user and
 * password, allowed in clear), bit 3 only PLAIN allowed (else any
 * mechanism), bit 4 PIPELINING disabled, bit 5 one byte per read, bit 6
 * the server's writes fail after it closes.  The rest is what the server
 * sends, cut into segments at each NUL byte: the first is there at once,
 * each next one comes once the client has written something; after the
 * last the server closes.
 *
 * Invariants (abort() when violated):
 *   - every call ends with a status the API documents for it, and the
 *     memory layer was closed when the session was freed;
 *   - the first thing written is CAPA (after a +OK greeting), never a
 *     credential;
 *   - with credentials configured, the password never appears in an
 *     error message or the trace, and never goes out but after "PASS ";
 *   - nothing is written after the STLS that an injection stopped;
 *   - no DELE before the login succeeded; QUIT is MW_OK only when QUIT
 *     was the last thing written;
 *   - each message of the batch gets at most one final call, in order,
 *     and its bytes contain no NUL-free line that ends without CRLF.
 */
#include "core/util.h"
#include "io/layer.h"
#include "mailwire.h"
#include "proto/pop3.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                          \
  do {                                                                       \
    if(!(cond)) {                                                            \
      fprintf(stderr, "fuzz_pop3: invariant violated: %s (%s:%d)\n",         \
              #cond, __FILE__, __LINE__);                                    \
      abort();                                                               \
    }                                                                        \
  } while(0)

#define PASSWORD "Fz-p0p3-s3cret"

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

static bool trace_leaked;

static void trace_fn(void *user, mw_trace_kind kind, double ms,
                     const char *text)
{
  (void)user;
  (void)kind;
  (void)ms;
  if(strstr(text, PASSWORD))
    trace_leaked = true;
}

struct batch {
  int last[8];
  size_t prev;
  bool started;
  char tail[2]; /* the last two bytes of the current message */
  size_t bytes;
};

static mw_status batch_fn(void *user, size_t index, const char *data,
                          size_t len, bool last)
{
  struct batch *b = user;
  CHECK(index < 8);
  CHECK(!b->last[index]);           /* nothing after the final call */
  CHECK(!b->started || index >= b->prev); /* in order */
  if(!b->started || index != b->prev)
    b->bytes = 0;
  b->started = true;
  b->prev = index;
  for(size_t i = 0; i < len; i++) {
    b->tail[0] = b->tail[1];
    b->tail[1] = data[i];
  }
  b->bytes += len;
  if(last) {
    b->last[index] = 1;
    /* Every line ends with CRLF: so does a non-empty message. */
    CHECK(!b->bytes || (b->tail[0] == '\r' && b->tail[1] == '\n'));
  }
  return MW_OK;
}

static mw_status sink(void *user, const char *data, size_t len)
{
  (void)data;
  *(size_t *)user += len;
  return MW_OK;
}

/* mw_pop3_uidl()'s lines: a number and 1-70 printable bytes. */
static mw_status uidl_fn(void *user, unsigned number, const char *uid)
{
  size_t len = strlen(uid);
  CHECK(number > 0 && len >= 1 && len <= 70);
  for(size_t i = 0; i < len; i++)
    CHECK((unsigned char)uid[i] > 0x20 && (unsigned char)uid[i] < 0x7f);
  *(size_t *)user += 1;
  return MW_OK;
}

/* With credentials configured, the password never shows (the server may
 * echo it: core/scrub.h cuts it out of every line it sends). */
static bool creds;

static void check_error(const mw_pop3 *p)
{
  const mw_error *e = mw_pop3_error(p);
  if(!creds)
    return;
  CHECK(!strstr(mw_error_message(e), PASSWORD));
  CHECK(!strstr(mw_error_server_text(e), PASSWORD));
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
  trace_leaked = false;

  mw_options *o = mw_options_new();
  if(!o)
    return 0;
  static const mw_tls_mode modes[] = {MW_TLS_NONE, MW_TLS_STARTTLS_OPTIONAL,
                                      MW_TLS_STARTTLS, MW_TLS_NONE};
  creds = flags & 4;
  if(mw_options_set_server(o, "pop.example.org", 110) ||
     mw_options_set_tls_mode(o, modes[flags & 3]) ||
     mw_options_set_greeting_timeout(o, 1000) ||
     mw_options_set_command_timeout(o, 1000) ||
     mw_options_set_trace(o, trace_fn, NULL) ||
     (creds && (mw_options_set_credentials(o, "fuzzuser", PASSWORD) ||
                mw_options_set_allow_insecure_auth(o, true))) ||
     (creds && (flags & 8) && mw_options_set_auth_mechanisms(o, "PLAIN")) ||
     ((flags & 16) && mw_options_set_pipelining(o, false))) {
    mw_options_free(o);
    return 0;
  }
  mw_pop3 *p = mw_pop3_new(o);
  struct mw__mem_layer *m = p ? mw__mem_layer_new(&p->err) : NULL;
  bool attached = false;
  if(!m)
    goto out;
  const uint8_t *s = data, *end = data + size;
  for(;;) {
    const uint8_t *nul = memchr(s, 0, (size_t)(end - s));
    const uint8_t *stop = nul ? nul : end;
    if(!mw__mem_layer_add(m, s, (size_t)(stop - s)))
      goto out;
    if(!nul)
      break;
    s = nul + 1;
  }
  if(flags & 32)
    mw__mem_layer_set_read_max(m, 1);
  mw__mem_layer_close_here(m, (flags & 64) != 0);

  attached = true;
  mw_status st = mw__pop3_connect_over(p, mw__mem_layer_get(m));
  static const mw_status connect_ok[] = {
      MW_OK,          MW_E_CLOSED,    MW_E_TIMEOUT,          MW_E_PROTOCOL,
      MW_E_REJECTED,  MW_E_NO_STARTTLS, MW_E_INJECTION,      MW_E_TLS,
      MW_E_CERT,      MW_E_AUTH,      MW_E_AUTH_UNAVAILABLE, MW_E_INSECURE,
      MW_E_AUTH_SERVER_UNVERIFIED,    MW_E_NOMEM,            MW_E_INVALID};
  CHECK(status_is(st, connect_ok, sizeof(connect_ok) / sizeof(*connect_ok)));
  size_t wlen = 0;
  const char *w = mw__mem_layer_written(m, &wlen);
  CHECK(wlen == 0 || (wlen >= 6 && memcmp(w, "CAPA\r\n", 6) == 0));
  if(contains(w, wlen, PASSWORD))
    CHECK(contains(w, wlen, "PASS " PASSWORD "\r\n"));
  if(st) {
    check_error(p);
    if(st == MW_E_INJECTION)
      CHECK(wlen >= 6 && memcmp(w + wlen - 6, "STLS\r\n", 6) == 0);
    goto out;
  }
  bool logged_in = mw_pop3_auth_mechanism(p) != NULL;
  static const mw_status op_ok[] = {
      MW_OK,       MW_E_REJECTED, MW_E_PROTOCOL, MW_E_CLOSED,
      MW_E_TIMEOUT, MW_E_TLS,     MW_E_STATE,    MW_E_NOMEM};
#define OP(call)                                                             \
  do {                                                                       \
    mw_status s_ = (call);                                                   \
    CHECK(status_is(s_, op_ok, sizeof(op_ok) / sizeof(*op_ok)));             \
    if(s_)                                                                   \
      check_error(p);                                                        \
  } while(0)
  size_t count = 0;
  OP(mw_pop3_stat(p, &count, NULL));
  size_t nuidl = 0;
  OP(mw_pop3_uidl(p, uidl_fn, &nuidl));
  const mw_pop3_message *list = NULL;
  size_t n = 0;
  mw_status lst = mw_pop3_list(p, &list, &n);
  CHECK(status_is(lst, op_ok, sizeof(op_ok) / sizeof(*op_ok)));
  unsigned numbers[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  size_t take = 3;
  if(!lst && n) {
    take = n < 8 ? n : 8;
    for(size_t i = 0; i < take; i++) {
      CHECK(list[i].number > 0);
      CHECK(strlen(list[i].uid) <= 70);
      numbers[i] = list[i].number;
    }
  }
  struct batch b;
  memset(&b, 0, sizeof(b));
  OP(mw_pop3_retrieve_many(p, numbers, take, batch_fn, &b));
  size_t got = 0;
  OP(mw_pop3_top(p, 1, 2, sink, &got));
  OP(mw_pop3_delete(p, 1));
  w = mw__mem_layer_written(m, &wlen);
  if(!logged_in && creds)
    CHECK(!contains(w, wlen, "DELE"));
  OP(mw_pop3_noop(p));
  st = mw_pop3_quit(p);
  CHECK(status_is(st, op_ok, sizeof(op_ok) / sizeof(*op_ok)));
  w = mw__mem_layer_written(m, &wlen);
  if(!st)
    CHECK(wlen >= 6 && memcmp(w + wlen - 6, "QUIT\r\n", 6) == 0);
out:
  CHECK(!creds || !trace_leaked);
  mw_pop3_free(p);
  CHECK(!attached || mw__mem_layer_closed(m));
  mw__mem_layer_free(m);
  mw_options_free(o);
  return 0;
}

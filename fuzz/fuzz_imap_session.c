/*
 * fuzz/fuzz_imap_session.c - a whole IMAP client session (lib/proto/
 * imap*.c: greeting, CAPABILITY, STARTTLS, LOGIN or AUTHENTICATE, SELECT,
 * UID SEARCH, UID FETCH of bodies and summaries, UID STORE, EXPUNGE,
 * APPEND, IDLE, LOGOUT) against any server, played through the in-memory
 * layer (io/layer.h): no socket, no wait.
 *
 * Input: byte 0 sets the client's options: bits 0-1 the TLS mode (none,
 * starttls-optional, starttls, none), bit 2 credentials (user and
 * password, allowed in clear), bit 3 a password that needs a literal,
 * bit 5 one byte per read, bit 6 the server's writes fail after it
 * closes.  The rest is what the server sends, cut into segments at each
 * NUL byte: the first is there at once, each next one comes once the
 * client has written something (see io/layer.h); after the last the
 * server closes.
 *
 * Invariants (abort() when violated):
 *   - every call ends with a status the API documents for it, and the
 *     memory layer was closed when the session was freed;
 *   - the first thing written is a tagged command "A0001 " (never a
 *     literal, never a credential before the greeting was read);
 *   - with credentials configured, the password never appears in an
 *     error message (even when the server sends it back); without, it is
 *     never written;
 *   - nothing is written after STARTTLS when the session stopped on an
 *     injection;
 *   - a fetched message is given with a non-zero UID, the same UID for
 *     all its chunks, ending with one last call.
 * Leaks and memory errors are the sanitizers' to find.
 */
#include "core/util.h"
#include "io/layer.h"
#include "mailwire.h"
#include "proto/imap.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                          \
  do {                                                                       \
    if(!(cond)) {                                                            \
      fprintf(stderr, "fuzz_imap_session: invariant violated: %s (%s:%d)\n", \
              #cond, __FILE__, __LINE__);                                    \
      abort();                                                               \
    }                                                                        \
  } while(0)

#define PASSWORD "Fz-s3cret-pw9"
#define PASSWORD8 "Fz-s3cr\xc3\xa9t-pw9"
#define MESSAGE "Subject: fuzz\r\n\r\nbody\r\n"

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

/* Statuses any command may end with. */
static const mw_status cmd_ok[] = {
    MW_OK,        MW_E_CLOSED,  MW_E_TIMEOUT, MW_E_PROTOCOL, MW_E_REJECTED,
    MW_E_TLS,     MW_E_STATE,   MW_E_NOMEM,   MW_E_INVALID,  MW_E_IO,
    MW_E_MESSAGE};

static bool creds; /* configured: the password must never show */
static const char *password;

static void check_cmd(const mw_imap *s, mw_status st)
{
  CHECK(status_is(st, cmd_ok, sizeof(cmd_ok) / sizeof(*cmd_ok)));
  const char *m = mw_error_message(mw_imap_error(s));
  CHECK(m != NULL);
  CHECK(!creds || !strstr(m, password));
}

struct msg {
  uint32_t uid;
  bool open;
};

static mw_status on_message(void *user, uint32_t uid, const char *data,
                            size_t len, bool last)
{
  struct msg *g = user;
  (void)data;
  (void)len;
  CHECK(uid != 0);
  if(g->open)
    CHECK(uid == g->uid);
  g->uid = uid;
  g->open = !last;
  return MW_OK;
}

static mw_status on_summary(void *user, const mw_imap_summary *s)
{
  (void)user;
  CHECK(s->flags && s->from && s->subject && s->date);
  return MW_OK;
}

static mw_status on_list(void *user, const char *name, char delim,
                         const char *flags)
{
  (void)user;
  (void)delim;
  CHECK(name && flags);
  return MW_OK;
}

struct src {
  size_t pos;
};

static mw_status read_msg(void *user, char *buf, size_t len, size_t *got)
{
  struct src *s = user;
  size_t n = strlen(MESSAGE) - s->pos;
  if(n > len)
    n = len;
  memcpy(buf, &MESSAGE[s->pos], n);
  s->pos += n;
  *got = n;
  return MW_OK;
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
  creds = flags & 4;
  password = (flags & 8) ? PASSWORD8 : PASSWORD;
  if(mw_options_set_server(o, "imap.example.org", 143) ||
     mw_options_set_tls_mode(o, mode) ||
     mw_options_set_greeting_timeout(o, 1000) ||
     mw_options_set_command_timeout(o, 1000) ||
     (creds && (mw_options_set_credentials(o, "fuzzuser", password) ||
                mw_options_set_allow_insecure_auth(o, true)))) {
    mw_options_free(o);
    return 0;
  }
  mw_imap *s = mw_imap_new(o);
  struct mw__mem_layer *m = s ? mw__mem_layer_new(&s->err) : NULL;
  if(!m) {
    mw_imap_free(s);
    mw_options_free(o);
    return 0;
  }
  bool attached = false;
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
  mw_status st = mw__imap_connect_over(s, mw__mem_layer_get(m));
  static const mw_status connect_ok[] = {
      MW_OK,         MW_E_CLOSED,      MW_E_TIMEOUT,   MW_E_PROTOCOL,
      MW_E_REJECTED, MW_E_NO_STARTTLS, MW_E_INJECTION, MW_E_TLS,
      MW_E_CERT,     MW_E_AUTH,        MW_E_AUTH_UNAVAILABLE,
      MW_E_INSECURE, MW_E_AUTH_SERVER_UNVERIFIED,      MW_E_NOMEM,
      MW_E_INVALID};
  CHECK(status_is(st, connect_ok, sizeof(connect_ok) / sizeof(*connect_ok)));
  size_t wlen = 0;
  const char *w = mw__mem_layer_written(m, &wlen);
  CHECK(wlen == 0 || (wlen >= 6 && memcmp(w, "A0001 ", 6) == 0));
  CHECK(creds || !contains(w, wlen, PASSWORD));
  const char *em = mw_error_message(mw_imap_error(s));
  CHECK(!creds || !strstr(em, password));
  if(st) {
    if(st == MW_E_INJECTION)
      CHECK(wlen >= 10 && memcmp(w + wlen - 10, "STARTTLS\r\n", 10) == 0);
    goto out;
  }
  mw_imap_status ms;
  check_cmd(s, mw_imap_list(s, "", "*", on_list, NULL));
  check_cmd(s, mw_imap_status_of(s, "INBOX", &ms));
  check_cmd(s, mw_imap_select(s, "INBOX", false, &ms));
  const uint32_t *found = NULL;
  size_t n = 0;
  st = mw_imap_search(s, "ALL", &found, &n);
  check_cmd(s, st);
  uint32_t uids[8] = {1, 2, 3};
  size_t nu = 3;
  if(!st && n) {
    nu = n < 8 ? n : 8;
    memcpy(uids, found, nu * sizeof(*uids));
  }
  struct msg g = {0};
  check_cmd(s, mw_imap_fetch(s, uids, nu, on_message, &g));
  check_cmd(s, mw_imap_fetch_summary(s, uids, nu, on_summary, NULL));
  check_cmd(s, mw_imap_store_flags(s, uids, 1, "\\Seen", 1));
  check_cmd(s, mw_imap_expunge(s, uids, 1));
  struct src src = {0};
  uint32_t auid = 0;
  check_cmd(s, mw_imap_append(s, "Sent", "\\Seen", strlen(MESSAGE), read_msg,
                              &src, &auid));
  bool changed = false;
  check_cmd(s, mw_imap_idle(s, 10, &changed));
  check_cmd(s, mw_imap_noop(s, &changed));
  st = mw_imap_logout(s);
  CHECK(st == MW_OK || st == MW_E_NOMEM);
out:
  mw_imap_free(s);
  CHECK(!attached || mw__mem_layer_closed(m));
  mw__mem_layer_free(m);
  mw_options_free(o);
  return 0;
}

/*
 * store/store.c - mw_store_*: the public face of the local message store.
 *
 * Owns: the handle's life cycle and state checks (begin / write / commit /
 * abort), the streaming CRLF->LF conversion (a CR at the end of one chunk
 * waits for the next; a lone CR is kept), the key hash and its set, and
 * the helpers the kinds share.  The kinds (maildir.c, mbox.c, mda.c)
 * receive LF text in bounded pieces, so memory stays constant whatever
 * the message size.
 */
#include "store/store.h"

#include "core/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* ---- key hash: 128-bit FNV-1a over the key bytes ---- */

void mw__store_key_hash(const char *key, mw__key_hash out)
{
  uint64_t hi = 0x6c62272e07bb0142u, lo = 0x62b821756295c58du;
  const uint64_t k = 0x13b; /* prime = 2^88 + 0x13b */
  for(const unsigned char *p = (const unsigned char *)key; *p; p++) {
    lo ^= *p;
    uint64_t a = lo & 0xffffffffu, b = lo >> 32;
    uint64_t ak = a * k, bk = b * k;
    uint64_t nlo = ak + (bk << 32);
    uint64_t carry = (bk >> 32) + (nlo < ak ? 1 : 0);
    uint64_t nhi = hi * k + carry + (lo << 24);
    hi = nhi;
    lo = nlo;
  }
  static const char hex[] = "0123456789abcdef";
  for(int i = 0; i < 16; i++) {
    out[i] = hex[(hi >> (60 - 4 * i)) & 0xf];
    out[16 + i] = hex[(lo >> (60 - 4 * i)) & 0xf];
  }
  out[MW__STORE_HASH_HEX] = '\0';
}

bool mw__store_is_hash(const char *s)
{
  for(int i = 0; i < MW__STORE_HASH_HEX; i++) {
    char c = s[i];
    if(!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  }
  return true;
}

static void hex_bytes(const char *hex, unsigned char b[16])
{
  for(int i = 0; i < 16; i++) {
    unsigned v = 0;
    for(int j = 0; j < 2; j++) {
      char c = hex[2 * i + j];
      v = v * 16 + (unsigned)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    b[i] = (unsigned char)v;
  }
}

static size_t slot_of(const unsigned char b[16], size_t cap)
{
  uint64_t h;
  memcpy(&h, b, sizeof(h));
  return (size_t)(h & (cap - 1));
}

static bool slot_empty(const unsigned char b[16])
{
  static const unsigned char zero[16];
  return memcmp(b, zero, 16) == 0;
}

static bool set_insert(unsigned char (*slots)[16], size_t cap,
                       const unsigned char b[16])
{
  size_t i = slot_of(b, cap);
  while(!slot_empty(slots[i])) {
    if(memcmp(slots[i], b, 16) == 0)
      return false;
    i = (i + 1) & (cap - 1);
  }
  memcpy(slots[i], b, 16);
  return true;
}

bool mw__hash_set_add(struct mw__hash_set *hs, const char *hex)
{
  unsigned char b[16];
  hex_bytes(hex, b);
  if(slot_empty(b))
    b[15] = 1; /* the all-zero hash marks an empty slot */
  /* Grown at three quarters full (linear probing stays short there, the
   * hash is uniform): 16 bytes a key, 21 to 43 with the slack, and the
   * largest of the Maildir's tables (one key a message) is most of a long
   * fetch's heap. */
  if((hs->count + 1) * 4 > hs->cap * 3) {
    size_t ncap = hs->cap ? hs->cap * 2 : 64;
    if(ncap > SIZE_MAX / 16)
      return false;
    unsigned char (*n)[16] = mw__big_calloc(ncap * 16);
    if(!n)
      return false;
    for(size_t i = 0; i < hs->cap; i++)
      if(!slot_empty(hs->slots[i]))
        set_insert(n, ncap, hs->slots[i]);
    mw__big_free(hs->slots, hs->cap * 16);
    hs->slots = n;
    hs->cap = ncap;
  }
  if(set_insert(hs->slots, hs->cap, b))
    hs->count++;
  return true;
}

bool mw__hash_set_has(const struct mw__hash_set *hs, const char *hex)
{
  if(!hs->cap)
    return false;
  unsigned char b[16];
  hex_bytes(hex, b);
  if(slot_empty(b))
    b[15] = 1;
  for(size_t i = slot_of(b, hs->cap); !slot_empty(hs->slots[i]);
      i = (i + 1) & (hs->cap - 1))
    if(memcmp(hs->slots[i], b, 16) == 0)
      return true;
  return false;
}

void mw__hash_set_free(struct mw__hash_set *hs)
{
  mw__big_free(hs->slots, hs->cap * 16);
  memset(hs, 0, sizeof(*hs));
}

/* ---- helpers shared by the kinds ---- */

mw_status mw__store_syserr(struct mw_store *s, const char *verb,
                           const char *path)
{
  int e = errno;
  return mw__error_set(&s->err, e == ENOMEM ? MW_E_NOMEM : MW_E_IO,
                       "%s %s: %s", verb, path, strerror(e));
}

bool mw__fsync_dir(const char *path)
{
  DIR *d = opendir(path);
  if(!d)
    return false;
  int rc = fsync(dirfd(d));
  int e = errno;
  closedir(d);
  errno = e;
  return rc == 0;
}

bool mw__write_all(FILE *f, const void *data, size_t len)
{
  if(len && fwrite(data, 1, len, f) != len) {
    if(!errno)
      errno = EIO;
    return false;
  }
  return true;
}

/* ---- the public API ---- */

mw_status mw_store_open(mw_store_kind kind, const char *target,
                        mw_store **out)
{
  if(!out)
    return MW_E_INVALID;
  *out = NULL;
  struct mw_store *s = mw__calloc(1, sizeof(*s));
  if(!s)
    return MW_E_NOMEM;
  s->mda_timeout_ms = 300000;
  s->mda_exit_status = -1;
  *out = s;
  switch(kind) {
  case MW_STORE_MAILDIR: s->kind = &mw__store_maildir; break;
  case MW_STORE_MBOX: s->kind = &mw__store_mbox; break;
  case MW_STORE_MDA: s->kind = &mw__store_mda; break;
  default:
    return mw__error_set(&s->err, MW_E_INVALID, "unknown store kind %d",
                         (int)kind);
  }
  if(!target || !*target) {
    mw_status st = mw__error_set(&s->err, MW_E_INVALID,
                                 "the %s store needs a %s", s->kind->name,
                                 kind == MW_STORE_MDA ? "command" : "path");
    s->kind = NULL; /* nothing opened: nothing to use */
    return st;
  }
  s->target = mw__strdup(target);
  if(!s->target) {
    s->kind = NULL;
    return mw__error_set(&s->err, MW_E_NOMEM, NULL);
  }
  mw_status st = s->kind->open(s);
  if(st != MW_OK) {
    s->kind->close(s);
    s->kind = NULL; /* a failed open leaves nothing to use */
    return st;
  }
  mw__error_clear(&s->err);
  return MW_OK;
}

void mw_store_free(mw_store *s)
{
  if(!s)
    return;
  if(s->kind) {
    if(s->in_message && !s->duplicate)
      s->kind->abort(s);
    s->kind->close(s);
  }
  mw__error_clear(&s->err);
  mw__free(s->target);
  mw__free(s);
}

const mw_error *mw_store_error(const mw_store *s)
{
  static const struct mw_error none = {.status = MW_OK};
  return s ? &s->err : &none;
}

static bool key_ok(const char *key)
{
  size_t n = key ? strlen(key) : 0;
  if(n == 0 || n > MW__STORE_KEY_MAX)
    return false;
  for(size_t i = 0; i < n; i++)
    if((unsigned char)key[i] < 0x20 || key[i] == 0x7f)
      return false;
  return true;
}

bool mw_store_contains(const mw_store *s, const char *key)
{
  if(!s || !s->kind || !key_ok(key))
    return false;
  mw__key_hash h;
  mw__store_key_hash(key, h);
  return s->kind->contains(s, h);
}

static void set_sender(struct mw_store *s, const char *sender)
{
  size_t n = sender ? strlen(sender) : 0;
  bool ok = n > 0 && n < sizeof(s->sender);
  for(size_t i = 0; ok && i < n; i++)
    if((unsigned char)sender[i] <= 0x20 || sender[i] == 0x7f)
      ok = false;
  snprintf(s->sender, sizeof(s->sender), "%s", ok ? sender : "MAILER-DAEMON");
}

mw_status mw_store_begin(mw_store *s, const char *key, const char *sender)
{
  if(!s)
    return MW_E_INVALID;
  if(!s->kind)
    return mw__error_set(&s->err, MW_E_STATE, "the store did not open");
  if(s->in_message)
    return mw__error_set(&s->err, MW_E_STATE,
                         "a message is already being stored");
  if(!key_ok(key))
    return mw__error_set(&s->err, MW_E_INVALID,
                         "a store key is 1 to %d bytes without control "
                         "characters", MW__STORE_KEY_MAX);
  mw__error_clear(&s->err);
  snprintf(s->key, sizeof(s->key), "%s", key);
  mw__store_key_hash(key, s->hash);
  set_sender(s, sender);
  s->size = 0;
  s->out_len = 0;
  s->pending_cr = false;
  s->failed = false;
  s->duplicate = s->kind->contains(s, s->hash);
  if(!s->duplicate) {
    mw_status st = s->kind->begin(s);
    if(st != MW_OK)
      return st;
  }
  s->in_message = true;
  return MW_OK;
}

static mw_status flush_out(struct mw_store *s)
{
  if(!s->out_len)
    return MW_OK;
  size_t n = s->out_len;
  s->out_len = 0;
  s->size += n;
  mw_status st = s->kind->put(s, s->out, n);
  if(st != MW_OK)
    s->failed = true;
  return st;
}

static mw_status emit(struct mw_store *s, char c)
{
  if(s->out_len == sizeof(s->out)) {
    mw_status st = flush_out(s);
    if(st != MW_OK)
      return st;
  }
  s->out[s->out_len++] = c;
  return MW_OK;
}

/* Appends n bytes that need no conversion to s->out, flushing as it
 * fills. */
static mw_status emit_run(struct mw_store *s, const char *p, size_t n)
{
  while(n) {
    if(s->out_len == sizeof(s->out)) {
      mw_status st = flush_out(s);
      if(st != MW_OK)
        return st;
    }
    size_t k = sizeof(s->out) - s->out_len;
    if(k > n)
      k = n;
    memcpy(s->out + s->out_len, p, k);
    s->out_len += k;
    p += k;
    n -= k;
  }
  return MW_OK;
}

mw_status mw_store_write(mw_store *s, const void *data, size_t len)
{
  if(!s)
    return MW_E_INVALID;
  if(!s->in_message)
    return mw__error_set(&s->err, MW_E_STATE, "no message is being stored");
  if(s->failed)
    return s->err.status;
  if(s->duplicate || !len)
    return MW_OK;
  const char *p = data, *end = p + len;
  mw_status st = MW_OK;
  if(s->pending_cr) {
    s->pending_cr = false;
    if(*p != '\n')
      st = emit(s, '\r'); /* a lone CR stays */
  }
  /* Runs without CR are copied whole; a CR before LF is dropped, a CR at
   * the end of the chunk waits for the next byte. */
  while(st == MW_OK && p < end) {
    const char *cr = memchr(p, '\r', (size_t)(end - p));
    if(!cr) {
      st = emit_run(s, p, (size_t)(end - p));
      break;
    }
    st = emit_run(s, p, (size_t)(cr - p));
    p = cr + 1;
    if(st != MW_OK)
      break;
    if(p == end)
      s->pending_cr = true;
    else if(*p != '\n')
      st = emit(s, '\r');
  }
  return st;
}

static void end_message(struct mw_store *s)
{
  s->in_message = false;
  s->duplicate = false;
  s->failed = false;
  s->out_len = 0;
  s->pending_cr = false;
}

mw_status mw_store_commit(mw_store *s, bool *already_present)
{
  if(already_present)
    *already_present = false;
  if(!s)
    return MW_E_INVALID;
  if(!s->in_message)
    return mw__error_set(&s->err, MW_E_STATE, "no message is being stored");
  if(s->duplicate) {
    end_message(s);
    mw__error_clear(&s->err);
    if(already_present)
      *already_present = true;
    return MW_OK;
  }
  mw_status st = s->failed ? s->err.status : MW_OK;
  if(st == MW_OK && s->pending_cr) {
    s->pending_cr = false;
    st = emit(s, '\r');
  }
  if(st == MW_OK)
    st = flush_out(s);
  if(st == MW_OK)
    st = s->kind->commit(s);
  if(st != MW_OK) {
    struct mw_error keep = s->err; /* abort must not hide the cause */
    s->err.server_text = NULL;
    s->err.recipient = NULL;
    s->kind->abort(s);
    mw__error_clear(&s->err);
    s->err = keep;
  }
  else {
    mw__error_clear(&s->err);
  }
  end_message(s);
  return st;
}

mw_status mw_store_abort(mw_store *s)
{
  if(!s)
    return MW_E_INVALID;
  if(!s->in_message)
    return mw__error_set(&s->err, MW_E_STATE, "no message is being stored");
  if(!s->duplicate)
    s->kind->abort(s);
  end_message(s);
  mw__error_clear(&s->err);
  return MW_OK;
}

mw_status mw_store_sync(mw_store *s)
{
  if(!s)
    return MW_E_INVALID;
  if(!s->kind)
    return mw__error_set(&s->err, MW_E_STATE, "the store did not open");
  if(s->in_message)
    return mw__error_set(&s->err, MW_E_STATE,
                         "a message is being stored: commit or abort it "
                         "first");
  mw__error_clear(&s->err);
  return s->kind->sync ? s->kind->sync(s) : MW_OK;
}

mw_status mw_store_set_remember_new(mw_store *s, bool on)
{
  if(!s)
    return MW_E_INVALID;
  s->forget_new = !on;
  return MW_OK;
}

mw_status mw_store_set_batch(mw_store *s, bool on)
{
  if(!s)
    return MW_E_INVALID;
  if(!s->kind)
    return mw__error_set(&s->err, MW_E_STATE, "the store did not open");
  if(s->in_message)
    return mw__error_set(&s->err, MW_E_STATE,
                         "a message is being stored: commit or abort it "
                         "first");
  if(on && !s->kind->sync)
    return mw__error_set(&s->err, MW_E_INVALID,
                         "an %s store has no batch mode: each message is "
                         "durable when committed", s->kind->name);
  mw_status st = MW_OK;
  if(!on && s->batch)
    st = mw_store_sync(s); /* nothing pending is left behind */
  if(st == MW_OK)
    s->batch = on;
  return st;
}

mw_status mw_store_set_mda_timeout(mw_store *s, unsigned ms)
{
  if(!s)
    return MW_E_INVALID;
  if(s->kind != &mw__store_mda)
    return mw__error_set(&s->err, MW_E_INVALID,
                         "a timeout applies to an MDA store only");
  s->mda_timeout_ms = ms;
  return MW_OK;
}

int mw_store_mda_exit_status(const mw_store *s)
{
  return s ? s->mda_exit_status : -1;
}

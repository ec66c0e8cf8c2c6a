/*
 * fuzz/fuzz_sasl.c - the client side of every SASL mechanism (proto/sasl.h)
 * against a hostile server's challenges.
 *
 * Input:
 *   byte 0   the mechanism: PLAIN, LOGIN, CRAM-MD5, DIGEST-MD5,
 *            SCRAM-SHA-1, SCRAM-SHA-256, XOAUTH2, OAUTHBEARER (mod 8)
 *   byte 1   flags:
 *              0x01 challenges are raw bytes that the harness base64-encodes
 *                   (else: passed as they are, so invalid base64 too)
 *              0x02 the user name is the first segment (else a fixed one)
 *              0x04 no user name at all (NULL)
 *              0x08 the password is the next segment (else a fixed one)
 *              0x10 the host name is the next segment
 *              0x20 the token is the next segment
 *            (values that mw_options_set_credentials, _set_server or
 *            _set_oauth2_token refuse are replaced by the fixed ones)
 *   then     segments separated by NUL bytes: the optional user, password,
 *            host and token, then up to 16 server challenges.
 * In encoded challenges "%r" stands for the client's SCRAM nonce (taken
 * from its first message) and "%v" for the correct SCRAM server signature,
 * so that the fuzzer gets past the nonce check and to a verified end.
 *
 * Like the client (proto/smtp.c) the harness sends the initial response
 * of client-first mechanisms, answers each challenge until a step fails,
 * and keeps stepping after the mechanism says it has finished (a server
 * may send 334 again).
 *
 * Invariants (abort() when violated):
 *   - mw__sasl_start succeeds for every supported mechanism;
 *   - a step returns MW_OK, MW_E_AUTH or MW_E_AUTH_SERVER_UNVERIFIED
 *     (never NOMEM here); on MW_OK the
 *     response is base64 text (alphabet, padding, length a multiple of 4)
 *     with nothing that could break the AUTH command line (no CR, LF,
 *     space or NUL), on failure it is NULL and the error is recorded;
 *   - PLAIN sends NUL user NUL password; XOAUTH2 and OAUTHBEARER send
 *     exactly the documented initial response, and their values are
 *     well formed (no ^A inside a value, the OAUTHBEARER authzid escaped
 *     as RFC 7628 / RFC 5801 require);
 *   - CRAM-MD5, DIGEST-MD5 and SCRAM never send the (fixed) password
 *     itself unless the server's challenges contained it, nor do the
 *     OAuth mechanisms;
 *   - a SCRAM exchange reports finished only after the server proved it
 *     knows the password (the correct v= signature), and refuses an
 *     iteration count over 10^7 instead of computing it;
 *   - a success announced after the last challenge (mw__sasl_success) is
 *     granted only when the mechanism proves nothing about the server or
 *     the server's proof verified (SCRAM: the correct v= was seen);
 *     otherwise it is MW_E_AUTH_SERVER_UNVERIFIED;
 *   - mw__sasl_normalise_list and mw__sasl_choose on the first segments
 *     give only known names, and normalising twice changes nothing;
 *   - the SASL driver (proto/sasl_driver.h) with SMTP's descriptor, played
 *     the same challenges as the server's lines (encoded: each a 334 with
 *     the base64 of the segment; else the segments as lines, so any reply)
 *     and then a 235: every line it sends is one line (no CR, LF or NUL),
 *     the trace never shows the password, at most 16 challenges are
 *     answered, a cancel ("*") is the last line sent, the status is one
 *     of those documented and the error agrees, and SCRAM and DIGEST-MD5
 *     never succeed (no segment can carry the server's correct proof).
 *
 * MW_FUZZ_KNOWN (comma-separated names) turns off the checks of reported,
 * still open bugs so that fuzzing can look past them:
 *   digest-empty  an empty DIGEST-MD5 challenge after the first step (GNU
 *                 SASL 2.2.0 reads past a heap buffer): not sent
 *   scram-saslprep a SCRAM password that SASLprep refuses (GNU SASL 2.2.0
 *                 leaks the decoded salt): replaced by the fixed one
 */
#include "core/err.h"
#include "core/util.h"
#include "mailwire.h"
#include "proto/sasl.h"
#include "proto/sasl_driver.h"
#include "proto/smtp.h"

#include <gsasl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                         \
  do {                                                                      \
    if(!(cond)) {                                                           \
      fprintf(stderr, "fuzz_sasl: invariant violated: %s (%s:%d)\n", #cond, \
              __FILE__, __LINE__);                                          \
      abort();                                                              \
    }                                                                       \
  } while(0)

static const char *const mech_names[] = {
    "PLAIN",       "LOGIN",         "CRAM-MD5", "DIGEST-MD5",
    "SCRAM-SHA-1", "SCRAM-SHA-256", "XOAUTH2",  "OAUTHBEARER",
    "EXTERNAL",
};
#define NMECHS (sizeof(mech_names) / sizeof(mech_names[0]))

#define DEFAULT_USER "alice@example.org"
#define DEFAULT_PASSWORD "Pw-9f3Kq-zX7b"
#define DEFAULT_HOST "mail.example.org"
#define DEFAULT_TOKEN "ya29.a0AfH6SMBx-token"
#define MAX_CHALLENGES 16

static const char *known_bugs = "";

static bool known(const char *name)
{
  size_t n = strlen(name);
  for(const char *p = known_bugs; (p = strstr(p, name)) != NULL; p += n)
    if((p == known_bugs || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
      return true;
  return false;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  if(mw_global_init() != MW_OK) {
    fprintf(stderr, "fuzz_sasl: mw_global_init failed\n");
    abort();
  }
  const char *k = getenv("MW_FUZZ_KNOWN");
  if(k)
    known_bugs = k;
  return 0;
}

/* ---- base64, written here so the harness does not trust the library --- */

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *b64_encode(const unsigned char *in, size_t n)
{
  char *out = malloc(4 * ((n + 2) / 3) + 1);
  CHECK(out);
  size_t o = 0;
  for(size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16;
    if(i + 1 < n)
      v |= (uint32_t)in[i + 1] << 8;
    if(i + 2 < n)
      v |= in[i + 2];
    out[o++] = b64chars[(v >> 18) & 63];
    out[o++] = b64chars[(v >> 12) & 63];
    out[o++] = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
    out[o++] = i + 2 < n ? b64chars[v & 63] : '=';
  }
  out[o] = '\0';
  return out;
}

static int b64_value(char c)
{
  const char *p = c ? strchr(b64chars, c) : NULL;
  return p ? (int)(p - b64chars) : -1;
}

/* Strict: alphabet, length a multiple of 4, '=' only as padding.  Returns
 * the decoded bytes (NUL-terminated for convenience) or NULL. */
static unsigned char *b64_decode(const char *in, size_t *outlen)
{
  size_t n = strlen(in);
  if(n % 4)
    return NULL;
  unsigned char *out = malloc(n / 4 * 3 + 1);
  CHECK(out);
  size_t o = 0;
  for(size_t i = 0; i < n; i += 4) {
    int v[4];
    for(int k = 0; k < 4; k++) {
      v[k] = b64_value(in[i + k]);
      if(v[k] < 0) {
        bool pad_ok = in[i + k] == '=' && i + 4 == n && k >= 2 &&
                      (k == 3 || in[i + 3] == '=');
        if(!pad_ok) {
          free(out);
          return NULL;
        }
        v[k] = 0;
      }
    }
    uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
                 (uint32_t)v[2] << 6 | (uint32_t)v[3];
    out[o++] = (unsigned char)(w >> 16);
    if(in[i + 2] != '=')
      out[o++] = (unsigned char)(w >> 8);
    if(in[i + 3] != '=')
      out[o++] = (unsigned char)w;
  }
  out[o] = '\0';
  *outlen = o;
  return out;
}

static bool mem_has(const unsigned char *hay, size_t hl, const char *needle)
{
  size_t nl = strlen(needle);
  if(!nl || nl > hl)
    return false;
  for(size_t i = 0; i + nl <= hl; i++)
    if(memcmp(hay + i, needle, nl) == 0)
      return true;
  return false;
}

/* ---- SCRAM: what an honest server would send --------------------------- */

struct scram {
  char *client_first_bare; /* decoded, after the gs2 header */
  char nonce[256];         /* the client's nonce */
  char *server_first;      /* as sent (decoded) */
  char server_sig[128];    /* base64 of the correct ServerSignature, or "" */
  bool server_proved;      /* a challenge carried the correct v= */
};

static void scram_free(struct scram *sc)
{
  free(sc->client_first_bare);
  free(sc->server_first);
  memset(sc, 0, sizeof(*sc));
}

/* The attribute value "x=..." of a SCRAM message (up to ',' or the end);
 * NULL when absent.  Allocated. */
static char *scram_attr(const char *msg, char attr)
{
  const char *p = msg;
  while(p && *p) {
    if(p[0] == attr && p[1] == '=') {
      const char *e = strchr(p + 2, ',');
      size_t n = e ? (size_t)(e - (p + 2)) : strlen(p + 2);
      char *v = malloc(n + 1);
      CHECK(v);
      memcpy(v, p + 2, n);
      v[n] = '\0';
      return v;
    }
    p = strchr(p, ',');
    if(p)
      p++;
  }
  return NULL;
}

static void scram_note_client_first(struct scram *sc, const char *resp)
{
  size_t n = 0;
  unsigned char *dec = b64_decode(resp, &n);
  if(!dec)
    return;
  /* gs2 header "n,," or "n,a=...,": the bare message follows the second
   * comma. */
  const char *c1 = strchr((char *)dec, ',');
  const char *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
  if(c2) {
    free(sc->client_first_bare);
    sc->client_first_bare = strdup(c2 + 1);
    CHECK(sc->client_first_bare);
    char *r = scram_attr(sc->client_first_bare, 'r');
    if(r && strlen(r) < sizeof(sc->nonce))
      snprintf(sc->nonce, sizeof(sc->nonce), "%s", r);
    free(r);
  }
  free(dec);
}

/* After the client's final message: compute the server signature an
 * honest server holding the password would send. */
static void scram_note_client_final(struct scram *sc, const char *resp,
                                    const char *password, bool sha256)
{
  sc->server_sig[0] = '\0';
  if(!sc->client_first_bare || !sc->server_first || !password)
    return;
  size_t n = 0;
  unsigned char *dec = b64_decode(resp, &n);
  if(!dec)
    return;
  char *p = strstr((char *)dec, ",p=");
  char *salt64 = scram_attr(sc->server_first, 's');
  char *iter = scram_attr(sc->server_first, 'i');
  if(p && salt64 && iter) {
    *p = '\0';
    char *end = NULL;
    unsigned long it = strtoul(iter, &end, 10);
    size_t slen = 0;
    unsigned char *salt = b64_decode(salt64, &slen);
    /* An honest server uses a modest count; do not spend the fuzzer's
     * time on more. */
    if(salt && end && !*end && it >= 1 && it <= 20000) {
      const EVP_MD *md = sha256 ? EVP_sha256() : EVP_sha1();
      int hl = EVP_MD_get_size(md);
      unsigned char salted[64], skey[64], sig[64];
      unsigned int len = 0;
      CHECK(PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt,
                              (int)slen, (int)it, md, hl, salted) == 1);
      CHECK(HMAC(md, salted, hl, (const unsigned char *)"Server Key", 10,
                 skey, &len));
      size_t al = strlen(sc->client_first_bare) + strlen(sc->server_first) +
                  strlen((char *)dec) + 3;
      char *auth = malloc(al);
      CHECK(auth);
      snprintf(auth, al, "%s,%s,%s", sc->client_first_bare, sc->server_first,
               (char *)dec);
      CHECK(HMAC(md, skey, hl, (unsigned char *)auth, strlen(auth), sig,
                 &len));
      char *b = b64_encode(sig, len);
      snprintf(sc->server_sig, sizeof(sc->server_sig), "%s", b);
      free(b);
      free(auth);
    }
    free(salt);
  }
  free(salt64);
  free(iter);
  free(dec);
}

/* Replaces "%r" and "%v" in the raw challenge.  Allocated. */
static char *substitute(const char *raw, size_t n, const struct scram *sc,
                        size_t *outlen)
{
  size_t cap = n + 1;
  for(size_t i = 0; i + 1 < n; i++)
    if(raw[i] == '%' && (raw[i + 1] == 'r' || raw[i + 1] == 'v'))
      cap += sizeof(sc->nonce) + sizeof(sc->server_sig);
  char *out = malloc(cap);
  CHECK(out);
  size_t o = 0;
  for(size_t i = 0; i < n; i++) {
    if(raw[i] == '%' && i + 1 < n && (raw[i + 1] == 'r' || raw[i + 1] == 'v')) {
      const char *s = raw[i + 1] == 'r' ? sc->nonce : sc->server_sig;
      size_t sl = strlen(s);
      memcpy(out + o, s, sl);
      o += sl;
      i++;
      continue;
    }
    out[o++] = raw[i];
  }
  out[o] = '\0';
  *outlen = o;
  return out;
}

/* ---- checks ------------------------------------------------------------ */

static void check_response_text(const char *r)
{
  size_t n = strlen(r);
  CHECK(n % 4 == 0);
  size_t dl = 0;
  unsigned char *dec = b64_decode(r, &dl);
  CHECK(dec != NULL); /* strict base64: no CR, LF, space, nothing else */
  free(dec);
}

static void check_oauth_initial(bool bearer, const unsigned char *dec,
                                size_t dl, const char *user,
                                const char *host, const char *token)
{
  char *want = NULL;
  size_t wl;
  if(!bearer) {
    wl = (size_t)snprintf(NULL, 0, "user=%s\001auth=Bearer %s\001\001",
                          user ? user : "", token);
    want = malloc(wl + 1);
    CHECK(want);
    snprintf(want, wl + 1, "user=%s\001auth=Bearer %s\001\001",
             user ? user : "", token);
  }
  else {
    /* gs2 header "n,a=" saslname "," (RFC 7628 3.1, RFC 5801: ',' and
     * '=' escaped as =2C and =3D), then ^A-separated pairs, ^A^A. */
    struct mw__sbuf az;
    mw__sbuf_init(&az);
    for(const char *p = user ? user : ""; *p; p++)
      CHECK(mw__sbuf_append(&az, *p == ',' ? "=2C" : *p == '=' ? "=3D" : p,
                            (*p == ',' || *p == '=') ? 3 : 1));
    const char *esc = az.data ? az.data : "";
    wl = (size_t)snprintf(NULL, 0,
                          "n,%s%s,\001host=%s\001auth=Bearer %s\001\001",
                          user ? "a=" : "", esc, host, token);
    want = malloc(wl + 1);
    CHECK(want);
    snprintf(want, wl + 1, "n,%s%s,\001host=%s\001auth=Bearer %s\001\001",
             user ? "a=" : "", esc, host, token);
    mw__sbuf_free(&az);
  }
  CHECK(dl == wl && memcmp(dec, want, wl) == 0);
  free(want);
  /* Values hold no ^A: the pairs are exactly user/host/auth. */
  CHECK(!user || !strchr(user, '\001'));
  CHECK(!strchr(host, '\001') && !strchr(token, '\001'));
}

static void check_lists(const char *seg)
{
  char *norm = NULL;
  mw_status st = mw__sasl_normalise_list(seg, &norm);
  CHECK(st == MW_OK || st == MW_E_INVALID);
  if(st == MW_OK) {
    CHECK(norm && norm[0]);
    /* Only known names, one space between them. */
    const char *p = norm;
    while(*p) {
      const char *e = strchr(p, ' ');
      size_t n = e ? (size_t)(e - p) : strlen(p);
      bool known = false;
      for(size_t i = 0; i < NMECHS; i++)
        if(strlen(mech_names[i]) == n && memcmp(mech_names[i], p, n) == 0)
          known = true;
      CHECK(known);
      p += n;
      if(*p) {
        p++;
        CHECK(*p && *p != ' ');
      }
    }
    char *again = NULL;
    CHECK(mw__sasl_normalise_list(norm, &again) == MW_OK);
    CHECK(strcmp(norm, again) == 0);
    mw__free(again);
  }
  const char *choice = mw__sasl_choose(seg, st == MW_OK ? norm : NULL, true,
                                       true);
  if(choice) {
    bool known = false;
    for(size_t i = 0; i < NMECHS; i++)
      known |= strcmp(choice, mech_names[i]) == 0;
    CHECK(known);
  }
  mw__free(norm);
}

/* ---- the exchange ------------------------------------------------------ */

/* The SCRAM iteration count ("i=") in a challenge, saturating at 10^12;
 * 0 when there is none. */
static unsigned long long scram_iterations(const char *challenge)
{
  char *dec = NULL;
  size_t n = 0;
  unsigned long long v = 0;
  if(gsasl_base64_from(challenge, strlen(challenge), &dec, &n) == GSASL_OK &&
     dec) {
    char *z = malloc(n + 1);
    CHECK(z);
    memcpy(z, dec, n);
    z[n] = '\0';
    char *it = scram_attr(z, 'i');
    for(const char *p = it; p && *p >= '0' && *p <= '9'; p++)
      v = v > 1000000000000ULL ? v : v * 10 + (unsigned)(*p - '0');
    free(it);
    free(z);
  }
  gsasl_free(dec);
  return v;
}

/* Whether GNU SASL decodes the challenge to nothing. */
static bool decodes_empty(const char *challenge)
{
  char *out = NULL;
  size_t n = 0;
  int rc = gsasl_base64_from(challenge, strlen(challenge), &out, &n);
  gsasl_free(out);
  return rc == GSASL_OK && n == 0;
}

struct segs {
  const char *p[4 + MAX_CHALLENGES];
  size_t n[4 + MAX_CHALLENGES];
  size_t count, next;
};

static const char *take(struct segs *s, size_t *len)
{
  if(s->next >= s->count)
    return NULL;
  *len = s->n[s->next];
  return s->p[s->next++];
}

static char *take_string(struct segs *s, const char *fallback)
{
  size_t n = 0;
  const char *p = take(s, &n);
  if(!p)
    p = fallback, n = strlen(fallback);
  char *out = malloc(n + 1);
  CHECK(out);
  memcpy(out, p, n);
  out[n] = '\0';
  return out;
}

/* ---- the driver, over SMTP's descriptor ---------------------------------- */

struct drive_io {
  const char *lines[MAX_CHALLENGES + 2];
  size_t nlines, next;
  size_t sent, answers;
  bool cancelled, sent_after_cancel;
  const char *password;
  struct mw_error *err;
};

static mw_status drive_send(void *user, bool command, const char *line,
                            size_t len, const char *shown)
{
  struct drive_io *d = user;
  CHECK(!memchr(line, '\r', len) && !memchr(line, '\n', len) &&
        !memchr(line, '\0', len));
  CHECK(!d->password[0] || !strstr(shown, d->password));
  if(d->cancelled)
    d->sent_after_cancel = true;
  if(!command && len == 1 && line[0] == '*')
    d->cancelled = true;
  else if(!command)
    d->answers++;
  d->sent++;
  return MW_OK;
}

static mw_status drive_flush(void *user)
{
  (void)user;
  return MW_OK;
}

static mw_status drive_read(void *user, const char **line, size_t *len)
{
  struct drive_io *d = user;
  if(d->next >= d->nlines)
    return mw__error_set(d->err, MW_E_CONNECT, "the server hung up");
  *line = d->lines[d->next++];
  *len = strlen(*line);
  return MW_OK;
}

static void drive(const char *mech, const char *user, const char *password,
                  const char *token, const char *host, const struct segs *sg,
                  size_t first, bool encode)
{
  /* Only the fixed password is watched for (see watch_password). */
  struct drive_io d = {
      .password = strcmp(password, DEFAULT_PASSWORD) == 0 ? password : ""};
  char *owned[MAX_CHALLENGES + 2];
  size_t nowned = 0;
  for(size_t i = first; i < sg->count && d.nlines < MAX_CHALLENGES; i++) {
    /* A line reader never returns CR or LF: cut there. */
    size_t n = sg->n[i];
    for(size_t k = 0; k < n; k++)
      if(sg->p[i][k] == '\r' || sg->p[i][k] == '\n')
        n = k;
    char *l;
    if(encode) {
      char *b = b64_encode((const unsigned char *)sg->p[i], n);
      l = malloc(strlen(b) + 5);
      CHECK(l);
      snprintf(l, strlen(b) + 5, "334 %s", b);
      free(b);
    }
    else {
      l = malloc(n + 1);
      CHECK(l);
      memcpy(l, sg->p[i], n);
      l[n] = '\0';
    }
    owned[nowned++] = l;
    d.lines[d.nlines++] = l;
  }
  d.lines[d.nlines++] = "235 2.7.0 Authentication successful";
  struct mw_error err;
  memset(&err, 0, sizeof(err));
  d.err = &err;
  struct mw__scrub scrub;
  mw__scrub_init(&scrub);
  struct mw__trace trace = {0};
  const struct mw__sasl_io io = {.user = &d,
                                 .send = drive_send,
                                 .flush = drive_flush,
                                 .read = drive_read};
  const struct mw__sasl_ctx ctx = {.proto = &mw__smtp_sasl,
                                   .io = &io,
                                   .trace = &trace,
                                   .scrub = &scrub,
                                   .err = &err};
  bool external = strcmp(mech, "EXTERNAL") == 0;
  struct mw__sasl_request req = {.user = user,
                                 .password = external ? NULL : password,
                                 .token = token,
                                 .cert_file = external ? "c.pem" : NULL,
                                 .allowed = mech,
                                 .host = host};
  struct mw__sasl_server srv = {.tls = true, .mechanisms = mech};
  const char *used = NULL;
  mw_status st = mw__sasl_authenticate(&ctx, &req, &srv, &used);
  CHECK(st == MW_OK || st == MW_E_AUTH || st == MW_E_AUTH_SERVER_UNVERIFIED ||
        st == MW_E_PROTOCOL || st == MW_E_CONNECT ||
        st == MW_E_AUTH_UNAVAILABLE);
  CHECK(err.status == st);
  CHECK(st == MW_OK ? used && strcmp(used, mech) == 0 : used == NULL);
  CHECK(d.answers <= MW__SASL_MAX_ROUNDS);
  CHECK(!d.sent_after_cancel);
  if(strncmp(mech, "SCRAM-", 6) == 0 || strcmp(mech, "DIGEST-MD5") == 0)
    CHECK(st != MW_OK);
  mw__scrub_free(&scrub);
  mw__error_clear(&err);
  for(size_t i = 0; i < nowned; i++)
    free(owned[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(size < 2)
    return 0;
  const char *mech = mech_names[data[0] % NMECHS];
  unsigned flags = data[1];
  bool encode = flags & 0x01;

  struct segs sg = {.count = 0};
  const char *in = (const char *)data + 2;
  size_t n = size - 2, pos = 0;
  while(pos <= n && sg.count < sizeof(sg.p) / sizeof(sg.p[0])) {
    const char *z = memchr(in + pos, '\0', n - pos);
    size_t l = z ? (size_t)(z - (in + pos)) : n - pos;
    sg.p[sg.count] = in + pos;
    sg.n[sg.count++] = l;
    pos += l + 1;
    if(!z)
      break;
  }

  char *user = (flags & 0x02) ? take_string(&sg, DEFAULT_USER)
                              : strdup(DEFAULT_USER);
  char *password = (flags & 0x08) ? take_string(&sg, DEFAULT_PASSWORD)
                                  : strdup(DEFAULT_PASSWORD);
  char *host = (flags & 0x10) ? take_string(&sg, DEFAULT_HOST)
                              : strdup(DEFAULT_HOST);
  char *token = (flags & 0x20) ? take_string(&sg, DEFAULT_TOKEN)
                               : strdup(DEFAULT_TOKEN);
  CHECK(user && password && host && token);
  if(flags & 0x04) {
    free(user);
    user = NULL;
  }
  /* Only what the public setters accept reaches the SASL code: the
   * client passes its options' values.  Refused values fall back. */
  mw_options *o = mw_options_new();
  CHECK(o);
  if(mw_options_set_credentials(o, user, password) != MW_OK) {
    if(user) {
      free(user);
      user = strdup(DEFAULT_USER);
    }
    free(password);
    password = strdup(DEFAULT_PASSWORD);
    CHECK(mw_options_set_credentials(o, user, password) == MW_OK);
  }
  if(mw_options_set_server(o, host, 587) != MW_OK) {
    free(host);
    host = strdup(DEFAULT_HOST);
  }
  if(mw_options_set_oauth2_token(o, token) != MW_OK) {
    free(token);
    token = strdup(DEFAULT_TOKEN);
  }
  mw_options_free(o);
  CHECK(password && host && token);

  if(strncmp(mech, "SCRAM-", 6) == 0 && known("scram-saslprep")) {
    /* Either mode: GNU SASL 2.2.0's SCRAM client refuses strings that one
     * of them accepts. */
    bool prep_ok = true;
    for(int mode = 0; mode < 2; mode++) {
      char *prepped = NULL;
      int sprc = 0;
      if(gsasl_saslprep(password, mode ? GSASL_ALLOW_UNASSIGNED : 0,
                        &prepped, &sprc) != GSASL_OK)
        prep_ok = false;
      gsasl_free(prepped);
    }
    if(!prep_ok) {
      free(password);
      password = strdup(DEFAULT_PASSWORD);
      CHECK(password);
    }
  }

  bool oauth = strcmp(mech, "XOAUTH2") == 0 ||
               strcmp(mech, "OAUTHBEARER") == 0;
  bool scram = strncmp(mech, "SCRAM-", 6) == 0;
  size_t first_challenge = sg.next;
  bool sends_password = strcmp(mech, "PLAIN") == 0 ||
                        strcmp(mech, "LOGIN") == 0;
  /* Only the fixed password is watched for: one taken from the input
   * could equal the user name, the host or a protocol keyword. */
  bool watch_password = !sends_password && !(flags & 0x08) &&
                        !(user && strstr(user, password)) &&
                        !strstr(host, password) && !strstr(token, password);

  struct mw_error err;
  memset(&err, 0, sizeof(err));
  struct mw__sasl *s = NULL;
  mw_status st = mw__sasl_start(mech, user, password, token, host, &s, &err);
  CHECK(st == MW_OK && s != NULL);

  struct scram sc;
  memset(&sc, 0, sizeof(sc));
  bool challenged_with_password = false;
  bool client_first = mw__sasl_client_first(mech);
  int step = 0;
  for(;;) {
    const char *raw = NULL;
    size_t rl = 0;
    char *challenge = NULL;
    bool initial = client_first && step == 0;
    if(!initial) {
      raw = take(&sg, &rl);
      if(!raw)
        break;
      if(encode) {
        size_t sl = 0;
        char *sub = substitute(raw, rl, &sc, &sl);
        if(scram && step == (client_first ? 1 : 0)) {
          free(sc.server_first);
          sc.server_first = strdup(sub);
          CHECK(sc.server_first);
        }
        if(scram && sc.server_sig[0] &&
           mem_has((unsigned char *)sub, sl, sc.server_sig))
          sc.server_proved = true;
        if(mem_has((unsigned char *)sub, sl, password))
          challenged_with_password = true;
        challenge = b64_encode((unsigned char *)sub, sl);
        free(sub);
      }
      else {
        challenge = malloc(rl + 1);
        CHECK(challenge);
        memcpy(challenge, raw, rl);
        challenge[rl] = '\0';
        size_t dl = 0;
        unsigned char *dec = b64_decode(challenge, &dl);
        if(dec && mem_has(dec, dl, password))
          challenged_with_password = true;
        free(dec);
      }
    }
    if(challenge && step > 0 && strcmp(mech, "DIGEST-MD5") == 0 &&
       known("digest-empty") && decodes_empty(challenge)) {
      free(challenge);
      break;
    }
    unsigned long long challenge_iter =
        scram && challenge ? scram_iterations(challenge) : 0;
    bool was_finished = mw__sasl_finished(s);
    char *resp = (char *)"untouched";
    st = mw__sasl_step(s, challenge, &resp, &err);
    free(challenge);
    CHECK(st == MW_OK || st == MW_E_AUTH ||
          st == MW_E_AUTH_SERVER_UNVERIFIED);
    if(st == MW_E_AUTH_SERVER_UNVERIFIED)
      CHECK(mw__sasl_mutual(s) && !mw__sasl_server_verified(s));
    if(st != MW_OK) {
      CHECK(resp == NULL);
      CHECK(err.status == st && err.message[0]);
      break;
    }
    CHECK(resp != NULL);
    check_response_text(resp);
    /* A hostile iteration count is refused, not computed (10^7 PBKDF2
     * rounds already take seconds). */
    if(scram && challenge_iter > 10000000ULL)
      CHECK(!"a SCRAM iteration count over 10^7 was accepted");
    size_t dl = 0;
    unsigned char *dec = b64_decode(resp, &dl);
    CHECK(dec);

    if(watch_password && !challenged_with_password)
      CHECK(!mem_has(dec, dl, password));
    if(strcmp(mech, "PLAIN") == 0 && initial && user && strlen(user) &&
       strlen(password)) {
      /* authzid (empty) NUL authcid NUL password */
      CHECK(dl == strlen(user) + strlen(password) + 2);
      CHECK(dec[0] == '\0' && memcmp(dec + 1, user, strlen(user)) == 0);
      CHECK(dec[strlen(user) + 1] == '\0');
      CHECK(memcmp(dec + strlen(user) + 2, password, strlen(password)) == 0);
    }
    if(oauth && step == 0)
      check_oauth_initial(strcmp(mech, "OAUTHBEARER") == 0, dec, dl, user,
                          host, token);
    if(oauth && step > 0) {
      /* After the token: an empty answer (XOAUTH2) or ^A (OAUTHBEARER). */
      if(strcmp(mech, "OAUTHBEARER") == 0)
        CHECK(dl == 1 && dec[0] == '\001');
      else
        CHECK(dl == 0);
    }
    if(oauth)
      CHECK(mw__sasl_finished(s));
    if(scram && step == 0)
      scram_note_client_first(&sc, resp);
    if(scram && step == 1)
      scram_note_client_final(&sc, resp, password,
                              strcmp(mech, "SCRAM-SHA-256") == 0);
    if(scram && !was_finished && mw__sasl_finished(s))
      CHECK(sc.server_proved); /* mutual authentication */
    if(scram && step == 0)
      CHECK(!mw__sasl_finished(s));
    free(dec);
    mw__free_secret(resp);
    step++;
  }
  /* The server announces success now (SMTP 235): granted only when the
   * mechanism proves nothing about the server or the server's proof
   * verified, and for SCRAM only after the correct v= was seen. */
  mw_status fin = mw__sasl_success(s, NULL, &err);
  CHECK(fin == MW_OK || fin == MW_E_AUTH_SERVER_UNVERIFIED);
  CHECK((fin == MW_OK) ==
        (!mw__sasl_mutual(s) || mw__sasl_server_verified(s)));
  if(scram && fin == MW_OK)
    CHECK(sc.server_proved);
  if(scram || strcmp(mech, "DIGEST-MD5") == 0)
    CHECK(mw__sasl_mutual(s));
  mw__sasl_free(s);
  scram_free(&sc);
  mw__error_clear(&err);

  drive(mech, user, password, token, host, &sg, first_challenge, encode);

  /* The first segments as mechanism lists (user or server ones). */
  for(size_t i = 0; i < sg.count && i < 2; i++) {
    char *seg = malloc(sg.n[i] + 1);
    CHECK(seg);
    memcpy(seg, sg.p[i], sg.n[i]);
    seg[sg.n[i]] = '\0';
    check_lists(seg);
    free(seg);
  }
  CHECK(mw__sasl_client_first("PLAIN") && !mw__sasl_client_first("LOGIN"));

  free(user);
  free(password);
  free(host);
  free(token);
  return 0;
}

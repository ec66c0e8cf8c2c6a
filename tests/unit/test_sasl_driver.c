/* Unit tests: proto/sasl_driver.c, one SASL exchange for every protocol.
 *
 * The same driver runs with SMTP's real descriptor (proto/smtp.c) and
 * with an IMAP-like and a POP3-like one, against a scripted server behind
 * the I/O callbacks: no socket.  The server computes what it must (a real
 * SCRAM server-first and server signature, from what the client sent), so
 * the proofs checked are the ones GNU SASL verifies.
 *
 * Script entries, expanded per protocol:
 *   "{+}"  the continuation prefix ("334 ", "+ ")
 *   "{OK}" the success reply, "{NO}" a refusal
 *   "{SF}" base64 SCRAM server-first (from the client's first message)
 *   "{SV}" base64 SCRAM server-final "v=..." (from the client's final one)
 * The IMAP-like descriptor takes final data with success in this test's
 * own form, "A1 OK [FINAL <base64>] done".
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mailwire.h"
#include "core/util.h"
#include "proto/sasl.h"
#include "proto/sasl_driver.h"
#include "proto/smtp.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#define USER "user"
#define PASSWORD "pencil-Secret-77"
#define TOKEN "ya29.token-Secret-88"

static int setup(void **state)
{
  (void)state;
  return mw_global_init() == MW_OK ? 0 : -1;
}

/* ---- base64 ------------------------------------------------------------ */

static void b64_raw(const void *in, size_t len, char *out)
{
  EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

static void b64(const char *in, char *out) { b64_raw(in, strlen(in), out); }

static size_t unb64(const char *in, char *out)
{
  size_t inlen = strlen(in);
  int n = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)in,
                          (int)inlen);
  size_t len = n > 0 ? (size_t)n : 0;
  if(inlen >= 1 && in[inlen - 1] == '=')
    len--;
  if(inlen >= 2 && in[inlen - 2] == '=')
    len--;
  out[len] = '\0';
  return len;
}

/* ---- three protocols ---------------------------------------------------- */

static bool imap_success(const char *line, size_t len, const char **data,
                         size_t *dlen)
{
  *data = NULL;
  *dlen = 0;
  if(len < 5 || memcmp(line, "A1 OK", 5) != 0)
    return false;
  const char *p = line + 5;
  size_t left = len - 5;
  if(left > 8 && memcmp(p, " [FINAL ", 8) == 0) {
    const char *end = memchr(p + 8, ']', left - 8);
    if(end) {
      *data = p + 8;
      *dlen = (size_t)(end - (p + 8));
    }
  }
  return true;
}

static bool pop3_success(const char *line, size_t len, const char **data,
                         size_t *dlen)
{
  *data = NULL;
  *dlen = 0;
  return len >= 3 && memcmp(line, "+OK", 3) == 0;
}

static const struct mw__sasl_proto imap_sasl = {
    .name = "IMAP",
    .service = "imap",
    .command = "AUTHENTICATE",
    .continuation = "+ ",
    .initial_response = true, /* SASL-IR */
    .ir_max = 0,
    .empty_ir = "=",
    .cancel = "*",
    .success = imap_success,
    .success_data = true,
};

static const struct mw__sasl_proto pop3_sasl = {
    .name = "POP3",
    .service = "pop",
    .command = "AUTH",
    .continuation = "+ ",
    .initial_response = true,
    .ir_max = 255,
    .empty_ir = "=",
    .cancel = "*",
    .success = pop3_success,
    .success_data = false,
};

struct kind {
  const struct mw__sasl_proto *proto;
  const char *tag;  /* prefixed to a command line */
  const char *cont; /* continuation prefix */
  const char *ok, *no;
};

static const struct kind SMTP = {&mw__smtp_sasl, "", "334 ",
                                 "235 2.7.0 Authentication successful",
                                 "535 5.7.8 Authentication failed"};
static const struct kind IMAP = {&imap_sasl, "A1 ", "+ ", "A1 OK done",
                                 "A1 NO [AUTHENTICATIONFAILED] failed"};
static const struct kind POP3 = {&pop3_sasl, "", "+ ", "+OK welcome",
                                 "-ERR [AUTH] failed"};
static const struct kind *const KINDS[] = {&SMTP, &IMAP, &POP3};
#define NKINDS 3

/* ---- the scripted server ------------------------------------------------ */

#define MAXLINES 40

struct fake {
  const struct kind *k;
  const char *script[24];
  size_t next;
  char *sent[MAXLINES];   /* wire lines, with the IMAP tag */
  char *shown[MAXLINES];  /* what the trace showed */
  char *payload[MAXLINES]; /* client messages: initial response or lines */
  size_t nsent, npayload;
  char reply[2048];
  int flushes;
  int fail_flush;          /* flushes from this one on fail (0: none) */
  char trace[8192];        /* every trace event, one a line */
  struct mw_error err;
  struct mw__scrub scrub;
  struct mw__trace tr;
};

static void trace_fn(void *user, mw_trace_kind kind, double ms,
                     const char *text)
{
  (void)kind;
  (void)ms;
  struct fake *f = user;
  size_t used = strlen(f->trace);
  snprintf(f->trace + used, sizeof(f->trace) - used, "%s\n", text);
}

static mw_status fake_send(void *user, bool command, const char *line,
                           size_t len, const char *shown)
{
  struct fake *f = user;
  assert_true(f->nsent < MAXLINES);
  assert_null(memchr(line, '\n', len));
  char buf[4096];
  snprintf(buf, sizeof(buf), "%s%.*s", command ? f->k->tag : "", (int)len,
           line);
  f->sent[f->nsent] = strdup(buf);
  snprintf(buf, sizeof(buf), "%s%s", command ? f->k->tag : "", shown);
  f->shown[f->nsent++] = strdup(buf);
  mw__trace_emit(&f->tr, MW_TRACE_OUT, "%s", buf);
  /* A client message: the initial response on the command line, or any
   * line after it except the cancel line. */
  const char *payload = NULL;
  if(command) {
    const char *sp = memchr(line, ' ', len);
    sp = sp ? memchr(sp + 1, ' ', len - (size_t)(sp + 1 - line)) : NULL;
    if(sp)
      payload = sp + 1;
  }
  else if(!(len == 1 && line[0] == '*')) {
    payload = line;
  }
  if(payload) {
    size_t pl = len - (size_t)(payload - line);
    f->payload[f->npayload] = strndup(payload, pl);
    f->npayload++;
  }
  return MW_OK;
}

static mw_status fake_flush(void *user)
{
  struct fake *f = user;
  f->flushes++;
  if(f->fail_flush && f->flushes >= f->fail_flush)
    return mw__error_set(&f->err, MW_E_CONNECT, "connection lost");
  return MW_OK;
}

/* SCRAM-SHA-256 as a server holding PASSWORD. */
#define SALT_B64 "QSXCR+Q6sek8bf92"

static void server_first(const struct fake *f, char *out_b64)
{
  char raw[1024];
  assert_true(f->npayload >= 1);
  unb64(f->payload[0], raw);
  const char *r = strstr(raw, "r=");
  assert_non_null(r);
  char first[1024];
  snprintf(first, sizeof(first), "r=%sSERVERNONCE,s=%s,i=4096", r + 2,
           SALT_B64);
  b64(first, out_b64);
}

static void server_final(const struct fake *f, char *out_b64)
{
  char cfirst[1024], cfinal[1024], first[1024], sf[1024];
  assert_true(f->npayload >= 2);
  unb64(f->payload[0], cfirst);
  unb64(f->payload[1], cfinal);
  server_first(f, sf);
  unb64(sf, first);
  char *p = strstr(cfinal, ",p=");
  assert_non_null(p);
  *p = '\0';
  char auth[4096];
  snprintf(auth, sizeof(auth), "%s,%s,%s", cfirst + 3 /* "n,," */, first,
           cfinal);
  char salt[64];
  size_t salt_len = unb64(SALT_B64, salt);
  unsigned char salted[EVP_MAX_MD_SIZE], key[EVP_MAX_MD_SIZE],
      sig[EVP_MAX_MD_SIZE];
  const EVP_MD *md = EVP_sha256();
  int hl = EVP_MD_get_size(md);
  assert_int_equal(PKCS5_PBKDF2_HMAC(PASSWORD, (int)strlen(PASSWORD),
                                     (unsigned char *)salt, (int)salt_len,
                                     4096, md, hl, salted),
                   1);
  unsigned kl = 0, sl = 0;
  assert_non_null(HMAC(md, salted, hl, (const unsigned char *)"Server Key",
                       10, key, &kl));
  assert_non_null(HMAC(md, key, (int)kl, (unsigned char *)auth,
                       strlen(auth), sig, &sl));
  char sig_b64[128], v[160];
  b64_raw(sig, sl, sig_b64);
  snprintf(v, sizeof(v), "v=%s", sig_b64);
  b64(v, out_b64);
}

static void expand(const struct fake *f, const char *in, char *out,
                   size_t cap)
{
  out[0] = '\0';
  while(*in) {
    char piece[1024];
    size_t used = strlen(out);
    if(strncmp(in, "{+}", 3) == 0) {
      snprintf(out + used, cap - used, "%s", f->k->cont);
      in += 3;
    }
    else if(strncmp(in, "{OK}", 4) == 0) {
      snprintf(out + used, cap - used, "%s", f->k->ok);
      in += 4;
    }
    else if(strncmp(in, "{NO}", 4) == 0) {
      snprintf(out + used, cap - used, "%s", f->k->no);
      in += 4;
    }
    else if(strncmp(in, "{SF}", 4) == 0) {
      server_first(f, piece);
      snprintf(out + used, cap - used, "%s", piece);
      in += 4;
    }
    else if(strncmp(in, "{SV}", 4) == 0) {
      server_final(f, piece);
      snprintf(out + used, cap - used, "%s", piece);
      in += 4;
    }
    else {
      snprintf(out + used, cap - used, "%c", *in);
      in++;
    }
  }
}

static mw_status fake_read(void *user, const char **line, size_t *len)
{
  struct fake *f = user;
  mw_status st = fake_flush(user);
  if(st)
    return st;
  const char *next = f->script[f->next];
  if(!next)
    return mw__error_set(&f->err, MW_E_CONNECT,
                         "the scripted server has nothing more to say");
  f->next++;
  expand(f, next, f->reply, sizeof(f->reply));
  *line = f->reply;
  *len = strlen(f->reply);
  return MW_OK;
}

static void fake_init(struct fake *f, const struct kind *k)
{
  memset(f, 0, sizeof(*f));
  f->k = k;
  mw__scrub_init(&f->scrub);
  f->tr.fn = trace_fn;
  f->tr.user = f;
  mw__trace_start(&f->tr);
}

static void fake_free(struct fake *f)
{
  for(size_t i = 0; i < f->nsent; i++) {
    free(f->sent[i]);
    free(f->shown[i]);
  }
  for(size_t i = 0; i < f->npayload; i++)
    free(f->payload[i]);
  mw__scrub_free(&f->scrub);
  mw__error_clear(&f->err);
}

/* What the session knows: TLS, and the server's mechanisms. */
static mw_status run_ex(struct fake *f, const struct mw__sasl_proto *proto,
                        const struct mw__sasl_request *req, bool tls,
                        const char *offered, const char **mech)
{
  const struct mw__sasl_io io = {
      .user = f, .send = fake_send, .flush = fake_flush, .read = fake_read};
  const struct mw__sasl_ctx ctx = {.proto = proto,
                                   .io = &io,
                                   .trace = &f->tr,
                                   .scrub = &f->scrub,
                                   .err = &f->err};
  struct mw__sasl_server srv = {.tls = tls,
                                .mechanisms = offered,
                                .starttls_offered = true,
                                .offers = "PIPELINING STARTTLS"};
  mw_status st = mw__sasl_authenticate(&ctx, req, &srv, mech);
  /* The status and the error agree; no secret is shown anywhere. */
  assert_int_equal(f->err.status, st);
  for(size_t i = 0; i < f->nsent; i++) {
    assert_null(strstr(f->shown[i], PASSWORD));
    for(size_t j = 0; j < f->npayload; j++)
      if(strlen(f->payload[j]) >= 8)
        assert_null(strstr(f->shown[i], f->payload[j]));
  }
  assert_null(strstr(f->trace, PASSWORD));
  assert_null(strstr(f->err.message, PASSWORD));
  return st;
}

static mw_status run(struct fake *f, const char *allowed,
                     const char *offered, const char **mech)
{
  struct mw__sasl_request req = {.user = USER,
                                 .password = PASSWORD,
                                 .allowed = allowed,
                                 .host = "mail.example.org"};
  return run_ex(f, f->k->proto, &req, true, offered, mech);
}

static void script(struct fake *f, const char *const *lines)
{
  for(size_t i = 0; lines[i]; i++)
    f->script[i] = lines[i];
}

/* ---- the exchanges ------------------------------------------------------ */

static void plain_with_initial_response(void **state)
{
  (void)state;
  for(size_t i = 0; i < NKINDS; i++) {
    struct fake f;
    fake_init(&f, KINDS[i]);
    script(&f, (const char *[]){"{OK}", NULL});
    const char *mech = NULL;
    assert_int_equal(run(&f, "PLAIN", "LOGIN PLAIN", &mech), MW_OK);
    assert_string_equal(mech, "PLAIN");
    char want[256], ir[128];
    b64_raw("\0" USER "\0" PASSWORD, sizeof(USER) + sizeof(PASSWORD), ir);
    snprintf(want, sizeof(want), "%s%s PLAIN %s", KINDS[i]->tag,
             KINDS[i]->proto->command, ir);
    assert_int_equal(f.nsent, 1);
    assert_string_equal(f.sent[0], want);
    snprintf(want, sizeof(want), "%s%s PLAIN <redacted>", KINDS[i]->tag,
             KINDS[i]->proto->command);
    assert_string_equal(f.shown[0], want);
    /* The payload is on the scrubbing list: an echo of it is cut. */
    struct mw__sbuf echo;
    mw__sbuf_init(&echo);
    mw__sbuf_printf(&echo, "535 no: %s", ir);
    assert_int_equal(mw__scrub_line(&f.scrub, &echo, 4), 1);
    assert_null(strstr(echo.data, ir));
    mw__sbuf_free(&echo);
    assert_non_null(strstr(f.trace, "authenticated as " USER " with PLAIN"));
    fake_free(&f);
  }
}

/* Without an initial response on the command line (IMAP without SASL-IR,
 * POP3 past its 255 octets): the response answers an empty challenge,
 * "+ " or a bare "+". */
static void plain_without_initial_response(void **state)
{
  (void)state;
  struct mw__sasl_proto no_ir = imap_sasl;
  no_ir.initial_response = false;
  const char *empties[] = {"+ ", "+"};
  for(size_t e = 0; e < 2; e++) {
    struct fake f;
    fake_init(&f, &IMAP);
    script(&f, (const char *[]){empties[e], "{OK}", NULL});
    struct mw__sasl_request req = {.user = USER, .password = PASSWORD,
                                   .allowed = "PLAIN", .host = "h"};
    const char *mech = NULL;
    assert_int_equal(run_ex(&f, &no_ir, &req, true, "PLAIN", &mech), MW_OK);
    assert_int_equal(f.nsent, 2);
    assert_string_equal(f.sent[0], "A1 AUTHENTICATE PLAIN");
    char ir[128];
    b64_raw("\0" USER "\0" PASSWORD, sizeof(USER) + sizeof(PASSWORD), ir);
    assert_string_equal(f.sent[1], ir);
    assert_string_equal(f.shown[1], "<redacted>");
    fake_free(&f);
  }
  /* POP3: a command line over 255 octets goes without the response. */
  char longuser[300];
  memset(longuser, 'u', sizeof(longuser) - 1);
  longuser[sizeof(longuser) - 1] = '\0';
  struct fake f;
  fake_init(&f, &POP3);
  script(&f, (const char *[]){"+ ", "+OK", NULL});
  struct mw__sasl_request req = {.user = longuser, .password = PASSWORD,
                                 .allowed = "PLAIN", .host = "h"};
  const char *mech = NULL;
  assert_int_equal(run_ex(&f, &pop3_sasl, &req, true, "PLAIN", &mech),
                   MW_OK);
  assert_string_equal(f.sent[0], "AUTH PLAIN");
  assert_true(strlen(f.sent[1]) > 255);
  fake_free(&f);
  /* SMTP takes it on the command line up to 512 octets with CRLF. */
  fake_init(&f, &SMTP);
  script(&f, (const char *[]){"{OK}", NULL});
  assert_int_equal(run_ex(&f, &mw__smtp_sasl, &req, true, "PLAIN", &mech),
                   MW_OK);
  assert_int_equal(f.nsent, 1);
  assert_true(strlen(f.sent[0]) > 255 && strlen(f.sent[0]) + 2 <= 512);
  fake_free(&f);
  /* Past that, after an empty 334. */
  char longer[400];
  memset(longer, 'v', sizeof(longer) - 1);
  longer[sizeof(longer) - 1] = '\0';
  req.user = longer;
  fake_init(&f, &SMTP);
  script(&f, (const char *[]){"334 ", "{OK}", NULL});
  assert_int_equal(run_ex(&f, &mw__smtp_sasl, &req, true, "PLAIN", &mech),
                   MW_OK);
  assert_int_equal(f.nsent, 2);
  assert_string_equal(f.sent[0], "AUTH PLAIN");
  assert_true(strlen(f.sent[1]) + 2 > 512);
  fake_free(&f);
  /* A challenge with data where the initial response belongs: cancelled. */
  fake_init(&f, &IMAP);
  script(&f, (const char *[]){"+ aGVsbG8=", NULL});
  req.user = USER;
  assert_int_equal(run_ex(&f, &no_ir, &req, true, "PLAIN", &mech),
                   MW_E_PROTOCOL);
  assert_null(mech);
  assert_string_equal(f.sent[f.nsent - 1], "*");
  assert_non_null(strstr(f.err.message, "initial response belongs"));
  fake_free(&f);
}

static void login_answers_two_prompts(void **state)
{
  (void)state;
  for(size_t i = 0; i < NKINDS; i++) {
    struct fake f;
    fake_init(&f, KINDS[i]);
    script(&f, (const char *[]){"{+}VXNlcm5hbWU6", "{+}UGFzc3dvcmQ6", "{OK}",
                                NULL});
    const char *mech = NULL;
    assert_int_equal(run(&f, "LOGIN", "LOGIN", &mech), MW_OK);
    assert_string_equal(mech, "LOGIN");
    char want[128], u[64], p[64];
    snprintf(want, sizeof(want), "%s%s LOGIN", KINDS[i]->tag,
             KINDS[i]->proto->command);
    b64(USER, u);
    b64(PASSWORD, p);
    assert_int_equal(f.nsent, 3);
    assert_string_equal(f.sent[0], want);
    assert_string_equal(f.shown[0], want);
    assert_string_equal(f.sent[1], u);
    assert_string_equal(f.sent[2], p);
    assert_string_equal(f.shown[2], "<redacted>");
    fake_free(&f);
  }
}

/* SCRAM-SHA-256, the proof as a last challenge answered with an empty
 * line (RFC 4954 and every protocol). */
static void scram_proof_as_last_challenge(void **state)
{
  (void)state;
  for(size_t i = 0; i < NKINDS; i++) {
    struct fake f;
    fake_init(&f, KINDS[i]);
    script(&f, (const char *[]){"{+}{SF}", "{+}{SV}", "{OK}", NULL});
    const char *mech = NULL;
    assert_int_equal(run(&f, NULL, "PLAIN SCRAM-SHA-256 LOGIN", &mech),
                     MW_OK);
    assert_string_equal(mech, "SCRAM-SHA-256");
    assert_int_equal(f.nsent, 3);
    assert_string_equal(f.sent[2], "");
    assert_non_null(strstr(f.trace, "server signature verified"));
    assert_non_null(strstr(f.trace, "authenticated as"));
    fake_free(&f);
  }
}

/* The IMAP-like descriptor takes the proof with the success reply. */
static void scram_proof_with_the_success_reply(void **state)
{
  (void)state;
  struct fake f;
  fake_init(&f, &IMAP);
  script(&f, (const char *[]){"+ {SF}", "A1 OK [FINAL {SV}] done", NULL});
  const char *mech = NULL;
  assert_int_equal(run(&f, "SCRAM-SHA-256", "SCRAM-SHA-256", &mech), MW_OK);
  assert_string_equal(mech, "SCRAM-SHA-256");
  assert_int_equal(f.nsent, 2); /* nothing after the success reply */
  assert_non_null(strstr(f.trace, "server signature verified"));
  fake_free(&f);
  /* A wrong proof there is refused. */
  fake_init(&f, &IMAP);
  script(&f, (const char *[]){"+ {SF}", "A1 OK [FINAL dj1BQUFB] done",
                              NULL});
  assert_int_equal(run(&f, "SCRAM-SHA-256", "SCRAM-SHA-256", &mech),
                   MW_E_AUTH_SERVER_UNVERIFIED);
  assert_null(mech);
  fake_free(&f);
  /* SMTP and the POP3-like descriptor never read data in the success
   * reply: without the last challenge the proof is missing. */
  fake_init(&f, &POP3);
  script(&f, (const char *[]){"+ {SF}", "+OK [FINAL {SV}]", NULL});
  assert_int_equal(run(&f, "SCRAM-SHA-256", "SCRAM-SHA-256", &mech),
                   MW_E_AUTH_SERVER_UNVERIFIED);
  fake_free(&f);
}

static void scram_missing_proof_is_unverified(void **state)
{
  (void)state;
  for(size_t i = 0; i < NKINDS; i++) {
    /* Success right after the client's final message; or an empty final
     * challenge; or a final challenge in bad base64. */
    const char *const scripts[][4] = {
        {"{+}{SF}", "{OK}", NULL, NULL},
        {"{+}{SF}", "{+}", "{OK}", NULL},
        {"{+}{SF}", "{+}not base64!", "{OK}", NULL},
    };
    for(size_t s = 0; s < 3; s++) {
      struct fake f;
      fake_init(&f, KINDS[i]);
      for(size_t j = 0; scripts[s][j]; j++)
        f.script[j] = scripts[s][j];
      const char *mech = NULL;
      assert_int_equal(run(&f, NULL, "SCRAM-SHA-256", &mech),
                       MW_E_AUTH_SERVER_UNVERIFIED);
      assert_null(mech);
      assert_non_null(strstr(f.err.message, "did not prove its identity"));
      assert_non_null(strstr(f.trace, "server signature NOT verified"));
      assert_null(strstr(f.trace, "authenticated as"));
      if(s > 0)
        assert_string_equal(f.sent[f.nsent - 1], "*");
      fake_free(&f);
    }
  }
}

/* A server that keeps challenging: 16 answers, then refused and
 * cancelled. */
static void round_limit(void **state)
{
  (void)state;
  for(size_t i = 0; i < NKINDS; i++) {
    struct fake f;
    fake_init(&f, KINDS[i]);
    for(size_t j = 0; j < 20; j++)
      f.script[j] = "{+}";
    struct mw__sasl_request req = {.user = USER, .token = TOKEN,
                                   .host = "h"};
    const char *mech = NULL;
    assert_int_equal(run_ex(&f, KINDS[i]->proto, &req, true, "XOAUTH2",
                            &mech),
                     MW_E_PROTOCOL);
    assert_null(mech);
    assert_int_equal(f.next, MW__SASL_MAX_ROUNDS + 1);
    assert_int_equal(f.nsent, 1 + MW__SASL_MAX_ROUNDS + 1);
    assert_string_equal(f.sent[f.nsent - 1], "*");
    assert_non_null(strstr(f.err.message, "past 16 rounds"));
    fake_free(&f);
  }
}

/* A challenge that is not base64 cancels the exchange (RFC 4954 4). */
static void bad_base64_cancels(void **state)
{
  (void)state;
  const char *bad[] = {"{+}Username:", "{+}VXNlcm5hbWU", "{+}VX=lcm5h",
                       "{+}VXNl cm5h"};
  for(size_t i = 0; i < NKINDS; i++) {
    for(size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
      struct fake f;
      fake_init(&f, KINDS[i]);
      script(&f, (const char *[]){bad[b], "{NO}", NULL});
      const char *mech = NULL;
      assert_int_equal(run(&f, "LOGIN", "LOGIN", &mech), MW_E_AUTH);
      assert_int_equal(f.nsent, 2);
      assert_string_equal(f.sent[1], "*");
      assert_non_null(strstr(f.err.message, "not valid base64"));
      fake_free(&f);
    }
  }
  /* The error stays the one that caused the cancel when the server is
   * gone by then (the read flushed once, the cancel's flush fails). */
  struct fake f;
  fake_init(&f, &SMTP);
  script(&f, (const char *[]){"334 ???", NULL});
  f.fail_flush = 2;
  const char *mech = NULL;
  assert_int_equal(run(&f, "LOGIN", "LOGIN", &mech), MW_E_AUTH);
  assert_string_equal(f.sent[f.nsent - 1], "*");
  assert_int_equal(f.flushes, 2);
  assert_non_null(strstr(f.err.message, "not valid base64"));
  fake_free(&f);
  assert_true(mw__sasl_is_base64("", 0));
  assert_true(mw__sasl_is_base64("QQ==", 4));
  assert_true(mw__sasl_is_base64("QUI=", 4));
  assert_false(mw__sasl_is_base64("Q===", 4));
  assert_false(mw__sasl_is_base64("QQ=A", 4));
  assert_false(mw__sasl_is_base64("QQ", 2));
}

static void external_rules(void **state)
{
  (void)state;
  for(size_t i = 0; i < NKINDS; i++) {
    const struct kind *k = KINDS[i];
    const char *mech = NULL;
    struct fake f;
    /* Asked for without a certificate: a usage error, nothing sent. */
    fake_init(&f, k);
    struct mw__sasl_request req = {.allowed = "EXTERNAL", .host = "h"};
    assert_int_equal(run_ex(&f, k->proto, &req, true, "EXTERNAL", &mech),
                     MW_E_INVALID);
    assert_int_equal(f.nsent, 0);
    fake_free(&f);
    /* A certificate, EXTERNAL offered over TLS: used, with "=". */
    fake_init(&f, k);
    script(&f, (const char *[]){"{OK}", NULL});
    req = (struct mw__sasl_request){.cert_file = "c.pem", .host = "h"};
    assert_int_equal(run_ex(&f, k->proto, &req, true, "PLAIN EXTERNAL",
                            &mech),
                     MW_OK);
    assert_string_equal(mech, "EXTERNAL");
    char want[128];
    snprintf(want, sizeof(want), "%s%s EXTERNAL =", k->tag,
             k->proto->command);
    assert_string_equal(f.sent[0], want);
    assert_non_null(strstr(f.trace, "the certificate's identity"));
    fake_free(&f);
    /* With an authorization identity. */
    fake_init(&f, k);
    script(&f, (const char *[]){"{OK}", NULL});
    req.user = "boss";
    assert_int_equal(run_ex(&f, k->proto, &req, true, "EXTERNAL", &mech),
                     MW_OK);
    snprintf(want, sizeof(want), "%s%s EXTERNAL Ym9zcw==", k->tag,
             k->proto->command);
    assert_string_equal(f.sent[0], want);
    fake_free(&f);
    /* Offered but in plaintext, not asked for: the certificate was not
     * presented, no authentication. */
    fake_init(&f, k);
    req.user = NULL;
    assert_int_equal(run_ex(&f, k->proto, &req, false, "EXTERNAL", &mech),
                     MW_OK);
    assert_null(mech);
    assert_int_equal(f.nsent, 0);
    fake_free(&f);
    /* Asked for in plaintext: refused. */
    fake_init(&f, k);
    req.allowed = "EXTERNAL";
    assert_int_equal(run_ex(&f, k->proto, &req, false, "EXTERNAL", &mech),
                     MW_E_INSECURE);
    assert_non_null(strstr(f.err.message, "SASL EXTERNAL needs TLS"));
    assert_int_equal(f.nsent, 0);
    fake_free(&f);
    /* A list without EXTERNAL: the certificate is for TLS only. */
    fake_init(&f, k);
    req.allowed = "PLAIN";
    assert_int_equal(run_ex(&f, k->proto, &req, true, "EXTERNAL PLAIN",
                            &mech),
                     MW_OK);
    assert_null(mech);
    assert_int_equal(f.nsent, 0);
    fake_free(&f);
    /* Refused by the server: an auth error. */
    fake_init(&f, k);
    script(&f, (const char *[]){"{NO}", NULL});
    req.allowed = NULL;
    assert_int_equal(run_ex(&f, k->proto, &req, true, "EXTERNAL", &mech),
                     MW_E_AUTH);
    fake_free(&f);
  }
  /* Without an initial response: an empty line answers the empty
   * challenge (not "="). */
  struct mw__sasl_proto no_ir = imap_sasl;
  no_ir.initial_response = false;
  struct fake f;
  fake_init(&f, &IMAP);
  script(&f, (const char *[]){"+ ", "A1 OK", NULL});
  struct mw__sasl_request req = {.cert_file = "c.pem", .host = "h"};
  const char *mech = NULL;
  assert_int_equal(run_ex(&f, &no_ir, &req, true, "EXTERNAL", &mech), MW_OK);
  assert_string_equal(f.sent[0], "A1 AUTHENTICATE EXTERNAL");
  assert_string_equal(f.sent[1], "");
  fake_free(&f);
}

static void insecure_refusal(void **state)
{
  (void)state;
  for(size_t i = 0; i < NKINDS; i++) {
    const struct kind *k = KINDS[i];
    struct fake f;
    fake_init(&f, k);
    struct mw__sasl_request req = {.user = USER, .password = PASSWORD,
                                   .host = "h"};
    const char *mech = NULL;
    assert_int_equal(run_ex(&f, k->proto, &req, false, "PLAIN", &mech),
                     MW_E_INSECURE);
    assert_non_null(strstr(f.err.message, "unencrypted"));
    assert_non_null(strstr(f.err.message, "the server offers STARTTLS"));
    assert_int_equal(f.nsent, 0);
    fake_free(&f);
    /* Knowingly allowed. */
    fake_init(&f, k);
    script(&f, (const char *[]){"{OK}", NULL});
    req.allow_insecure = true;
    assert_int_equal(run_ex(&f, k->proto, &req, false, "PLAIN", &mech),
                     MW_OK);
    assert_string_equal(mech, "PLAIN");
    fake_free(&f);
    /* No credentials: nothing to do, even in plaintext. */
    fake_init(&f, k);
    req = (struct mw__sasl_request){.user = USER, .host = "h"};
    assert_int_equal(run_ex(&f, k->proto, &req, false, "PLAIN", &mech),
                     MW_OK);
    assert_null(mech);
    assert_int_equal(f.nsent, 0);
    fake_free(&f);
  }
}

static void nothing_in_common(void **state)
{
  (void)state;
  struct fake f;
  fake_init(&f, &POP3);
  const char *mech = NULL;
  assert_int_equal(run(&f, NULL, NULL, &mech), MW_E_AUTH_UNAVAILABLE);
  assert_non_null(strstr(f.err.message, "does not offer AUTH"));
  assert_non_null(strstr(f.err.message, "PIPELINING STARTTLS"));
  fake_free(&f);
  fake_init(&f, &POP3);
  assert_int_equal(run(&f, NULL, "GSSAPI NTLM", &mech),
                   MW_E_AUTH_UNAVAILABLE);
  assert_non_null(strstr(f.err.message, "[GSSAPI NTLM]"));
  assert_int_equal(f.nsent, 0);
  fake_free(&f);
}

/* A refusal without a protocol callback: a neutral message with the
 * reply; an OAuth server's report is kept. */
static void refusal_and_oauth_report(void **state)
{
  (void)state;
  char report[128];
  b64("{\"status\":\"invalid_token\",\"scope\":\"x\"}", report);
  char chal[160];
  for(size_t i = 0; i < NKINDS; i++) {
    struct fake f;
    fake_init(&f, KINDS[i]);
    snprintf(chal, sizeof(chal), "{+}%s", report);
    script(&f, (const char *[]){chal, "{NO}", NULL});
    struct mw__sasl_request req = {.user = USER, .token = TOKEN,
                                   .host = "h"};
    const char *mech = NULL;
    assert_int_equal(run_ex(&f, KINDS[i]->proto, &req, true,
                            "XOAUTH2 OAUTHBEARER", &mech),
                     MW_E_AUTH);
    assert_string_equal(f.err.oauth_status, "invalid_token");
    assert_non_null(strstr(f.err.message, KINDS[i]->no));
    assert_null(strstr(f.err.message, TOKEN));
    assert_int_equal(f.nsent, 2);
    assert_string_equal(f.sent[1], "AQ=="); /* OAUTHBEARER's ^A */
    fake_free(&f);
  }
}

/* The descriptor's service name reaches the mechanism: DIGEST-MD5's
 * digest-uri is "<service>/<host>". */
static void service_name(void **state)
{
  (void)state;
  char chal[256];
  b64("realm=\"example.org\",nonce=\"OA6MG9tEQGm2hh\",qop=\"auth\","
      "algorithm=md5-sess,charset=utf-8",
      chal);
  const char *want[] = {"digest-uri=\"smtp/mail.example.org\"",
                        "digest-uri=\"imap/mail.example.org\"",
                        "digest-uri=\"pop/mail.example.org\""};
  for(size_t i = 0; i < NKINDS; i++) {
    struct fake f;
    fake_init(&f, KINDS[i]);
    char line[300];
    snprintf(line, sizeof(line), "{+}%s", chal);
    script(&f, (const char *[]){line, "{NO}", NULL});
    const char *mech = NULL;
    assert_int_equal(run(&f, "DIGEST-MD5", "DIGEST-MD5", &mech), MW_E_AUTH);
    assert_true(f.npayload >= 1);
    char raw[1024];
    unb64(f.payload[0], raw);
    assert_non_null(strstr(raw, want[i]));
    fake_free(&f);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(plain_with_initial_response),
      cmocka_unit_test(plain_without_initial_response),
      cmocka_unit_test(login_answers_two_prompts),
      cmocka_unit_test(scram_proof_as_last_challenge),
      cmocka_unit_test(scram_proof_with_the_success_reply),
      cmocka_unit_test(scram_missing_proof_is_unverified),
      cmocka_unit_test(round_limit),
      cmocka_unit_test(bad_base64_cancels),
      cmocka_unit_test(external_rules),
      cmocka_unit_test(insecure_refusal),
      cmocka_unit_test(nothing_in_common),
      cmocka_unit_test(refusal_and_oauth_report),
      cmocka_unit_test(service_name),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}

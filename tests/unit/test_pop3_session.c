/* Unit tests: the real POP3 session (proto/pop3*.c) over the in-memory
 * layer (io/layer.h), with no socket: every server response is scripted,
 * and what the client wrote is checked byte for byte.  Covers the
 * greeting (refusals, response codes, other protocols' banners), CAPA
 * answered and refused, STLS required, optional, refused and with bytes
 * injected after its +OK, USER/PASS with the password redacted, every
 * response code of a refused login, AUTH PLAIN and SCRAM-SHA-256 (the
 * server's proof verified) through the SASL driver, LIST and UIDL merged
 * (pipelined and not), RETR dot-unstuffing at every read size, a
 * pipelined batch of RETRs, line caps, a message cut short, QUIT, and a
 * close at every point of a whole session. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mailwire.h"
#include "core/util.h"
#include "io/layer.h"
#include "proto/pop3.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GREETING "+OK POP3 ready <1896.697170952@dbc.mtview.ca.us>\r\n"
#define CAPA_PIPE "+OK\r\nUSER\r\nUIDL\r\nTOP\r\nPIPELINING\r\n.\r\n"
#define CAPA_PLAIN "+OK\r\nUSER\r\nUIDL\r\nTOP\r\n.\r\n"
#define PASSWORD "s3cret-Pw-42"

static int setup(void **state)
{
  (void)state;
  return mw_global_init() == MW_OK ? 0 : -1;
}

struct run {
  mw_options *o;
  mw_pop3 *p;
  struct mw__mem_layer *m;
  char trace[16384];
};

static void trace_fn(void *user, mw_trace_kind kind, double ms,
                     const char *text)
{
  (void)ms;
  struct run *r = user;
  size_t used = strlen(r->trace);
  snprintf(r->trace + used, sizeof(r->trace) - used, "%c %s\n",
           kind == MW_TRACE_IN ? '<' : kind == MW_TRACE_OUT ? '>' : '-',
           text);
}

static void run_init(struct run *r, mw_tls_mode mode)
{
  memset(r, 0, sizeof(*r));
  r->o = mw_options_new();
  assert_non_null(r->o);
  assert_int_equal(mw_options_set_server(r->o, "pop.example.org", 110),
                   MW_OK);
  assert_int_equal(mw_options_set_tls_mode(r->o, mode), MW_OK);
  assert_int_equal(mw_options_set_trace(r->o, trace_fn, r), MW_OK);
}

static void run_creds(struct run *r, bool insecure_ok)
{
  assert_int_equal(mw_options_set_credentials(r->o, "alice", PASSWORD),
                   MW_OK);
  assert_int_equal(mw_options_set_allow_insecure_auth(r->o, insecure_ok),
                   MW_OK);
}

static void run_script(struct run *r, const char *const *segs)
{
  r->p = mw_pop3_new(r->o);
  assert_non_null(r->p);
  r->m = mw__mem_layer_new(&r->p->err);
  assert_non_null(r->m);
  for(size_t i = 0; segs[i]; i++)
    assert_true(mw__mem_layer_add_str(r->m, segs[i]));
}

static mw_status run_connect(struct run *r)
{
  return mw__pop3_connect_over(r->p, mw__mem_layer_get(r->m));
}

static const char *written(const struct run *r)
{
  return mw__mem_layer_written(r->m, NULL);
}

static void run_free(struct run *r)
{
  mw_pop3_free(r->p);
  if(r->m)
    assert_true(mw__mem_layer_closed(r->m)); /* the session closed it */
  mw__mem_layer_free(r->m);
  mw_options_free(r->o);
}

/* A session logged in with USER/PASS in clear, then segs. */
static void run_ready(struct run *r, const char *capa,
                      const char *const *segs)
{
  run_init(r, MW_TLS_NONE);
  run_creds(r, true);
  const char *head[] = {GREETING, capa, "+OK alice\r\n", "+OK maildrop\r\n"};
  r->p = mw_pop3_new(r->o);
  assert_non_null(r->p);
  r->m = mw__mem_layer_new(&r->p->err);
  assert_non_null(r->m);
  for(size_t i = 0; i < 4; i++)
    assert_true(mw__mem_layer_add_str(r->m, head[i]));
  for(size_t i = 0; segs[i]; i++)
    assert_true(mw__mem_layer_add_str(r->m, segs[i]));
  assert_int_equal(run_connect(r), MW_OK);
}

/* ---- greeting --------------------------------------------------------- */

static void greeting_and_capa(void **state)
{
  (void)state;
  struct run r;
  run_init(&r, MW_TLS_NONE);
  const char *segs[] = {GREETING,
                        "+OK Capability list follows\r\nTOP\r\nUSER\r\n"
                        "SASL PLAIN SCRAM-SHA-256\r\nRESP-CODES\r\n"
                        "LOGIN-DELAY 900\r\nPIPELINING\r\nUIDL\r\n.\r\n",
                        NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_OK);
  assert_string_equal(written(&r), "CAPA\r\n");
  assert_true(mw_pop3_has_capability(r.p, "PIPELINING"));
  assert_true(mw_pop3_has_capability(r.p, "login-delay"));
  assert_true(mw_pop3_has_capability(r.p, "SASL"));
  assert_false(mw_pop3_has_capability(r.p, "STLS"));
  assert_false(mw_pop3_is_encrypted(r.p));
  assert_null(mw_pop3_auth_mechanism(r.p)); /* no credentials given */
  assert_string_equal(mw_pop3_greeting(r.p),
                      "POP3 ready <1896.697170952@dbc.mtview.ca.us>");
  run_free(&r);

  /* A server from before RFC 2449: CAPA refused, the session goes on. */
  run_init(&r, MW_TLS_NONE);
  const char *segs2[] = {"+OK\r\n", "-ERR unknown command\r\n", NULL};
  run_script(&r, segs2);
  assert_int_equal(run_connect(&r), MW_OK);
  assert_false(mw_pop3_has_capability(r.p, "USER"));
  assert_string_equal(mw_pop3_greeting(r.p), "");
  run_free(&r);
}

static void greeting_refusals(void **state)
{
  (void)state;
  static const struct {
    const char *reply;
    mw_status st;
    const char *code;
    bool temporary;
    const char *foreign;
  } cases[] = {
      {"-ERR [SYS/TEMP] too many connections\r\n", MW_E_REJECTED,
       "SYS/TEMP", true, NULL},
      {"-ERR [SYS/PERM] closed for good\r\n", MW_E_REJECTED, "SYS/PERM",
       false, NULL},
      {"-ERR go away\r\n", MW_E_REJECTED, "", false, NULL},
      {"220 mx.example.org ESMTP Postfix\r\n", MW_E_PROTOCOL, "", false,
       "SMTP"},
      {"220-mx.example.org ESMTP\r\n220 more\r\n", MW_E_PROTOCOL, "", false,
       "SMTP"},
      {"* OK [CAPABILITY IMAP4rev1] Dovecot ready.\r\n", MW_E_PROTOCOL, "",
       false, "IMAP"},
      {"SSH-2.0-OpenSSH_9.2\r\n", MW_E_PROTOCOL, "", false, "SSH"},
      {"HTTP/1.1 400 Bad Request\r\n", MW_E_PROTOCOL, "", false, "HTTP"},
      {"+OKAY not quite\r\n", MW_E_PROTOCOL, "", false, NULL},
      {"+OK ready\r\n+OK unsolicited\r\n", MW_E_PROTOCOL, "", false, NULL},
      {"+OK a line cut short", MW_E_CLOSED, "", true, NULL},
      {"", MW_E_CLOSED, "", true, NULL},
  };
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct run r;
    run_init(&r, MW_TLS_NONE);
    const char *segs[] = {cases[i].reply, NULL};
    run_script(&r, segs);
    mw_status st = run_connect(&r);
    const mw_error *e = mw_pop3_error(r.p);
    if(st != cases[i].st)
      fail_msg("greeting %zu: %s, want %s (%s)", i, mw_status_name(st),
               mw_status_name(cases[i].st), mw_error_message(e));
    assert_string_equal(mw_error_response_code(e), cases[i].code);
    assert_int_equal(mw_error_is_temporary(e), cases[i].temporary);
    if(cases[i].foreign) {
      if(!e->foreign_protocol)
        fail_msg("greeting %zu: no foreign protocol (%s)", i,
                 mw_error_message(e));
      if(strcmp(e->foreign_protocol, cases[i].foreign))
        fail_msg("greeting %zu: %s", i, e->foreign_protocol);
      assert_non_null(strstr(mw_error_message(e), "not POP3"));
    }
    else {
      assert_null(e->foreign_protocol);
    }
    assert_string_equal(written(&r), ""); /* not even CAPA */
    /* Only free remains. */
    size_t n = 0;
    assert_int_equal(mw_pop3_stat(r.p, &n, NULL), MW_E_STATE);
    run_free(&r);
  }
  /* A silent server: the greeting times out (no real wait), with the
   * implicit-TLS hint. */
  struct run r;
  run_init(&r, MW_TLS_NONE);
  const char *segs[] = {"", GREETING, NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_E_TIMEOUT);
  assert_non_null(strstr(mw_error_message(mw_pop3_error(r.p)),
                         "no greeting"));
  assert_non_null(strstr(mw_error_message(mw_pop3_error(r.p)), "995"));
  run_free(&r);
}

/* ---- STLS ------------------------------------------------------------- */

static void stls_rules(void **state)
{
  (void)state;
  struct run r;
  /* Required, not offered: nothing more is sent. */
  run_init(&r, MW_TLS_STARTTLS);
  run_creds(&r, false);
  const char *s1[] = {GREETING, CAPA_PLAIN, NULL};
  run_script(&r, s1);
  assert_int_equal(run_connect(&r), MW_E_NO_STARTTLS);
  assert_string_equal(written(&r), "CAPA\r\n");
  run_free(&r);

  /* Required, refused. */
  run_init(&r, MW_TLS_STARTTLS);
  run_creds(&r, false);
  const char *s2[] = {GREETING, "+OK\r\nSTLS\r\nUSER\r\n.\r\n",
                      "-ERR [SYS/TEMP] TLS unavailable\r\n", NULL};
  run_script(&r, s2);
  assert_int_equal(run_connect(&r), MW_E_NO_STARTTLS);
  assert_string_equal(written(&r), "CAPA\r\nSTLS\r\n");
  assert_string_equal(mw_error_response_code(mw_pop3_error(r.p)),
                      "SYS/TEMP");
  run_free(&r);

  /* Optional, refused: on in clear (credentials allowed in clear). */
  run_init(&r, MW_TLS_STARTTLS_OPTIONAL);
  run_creds(&r, true);
  const char *s3[] = {GREETING, "+OK\r\nSTLS\r\nUSER\r\n.\r\n",
                      "-ERR not now\r\n", "+OK\r\n", "+OK logged in\r\n",
                      NULL};
  run_script(&r, s3);
  assert_int_equal(run_connect(&r), MW_OK);
  assert_string_equal(written(&r), "CAPA\r\nSTLS\r\nUSER alice\r\nPASS "
                                   PASSWORD "\r\n");
  assert_non_null(strstr(r.trace, "WITHOUT encryption"));
  run_free(&r);

  /* Bytes pipelined after the +OK to STLS: the session stops there. */
  run_init(&r, MW_TLS_STARTTLS);
  run_creds(&r, false);
  const char *s4[] = {GREETING, "+OK\r\nSTLS\r\n.\r\n",
                      "+OK Begin TLS\r\n+OK injected\r\n", NULL};
  run_script(&r, s4);
  assert_int_equal(run_connect(&r), MW_E_INJECTION);
  assert_string_equal(written(&r), "CAPA\r\nSTLS\r\n"); /* no ClientHello */
  run_free(&r);

  /* Bytes before STLS that nothing asked for. */
  run_init(&r, MW_TLS_STARTTLS);
  const char *s5[] = {GREETING, "+OK\r\nSTLS\r\n.\r\n+OK early\r\n", NULL};
  run_script(&r, s5);
  assert_int_equal(run_connect(&r), MW_E_PROTOCOL);
  assert_string_equal(written(&r), "CAPA\r\n");
  run_free(&r);

  /* No CAPA: STLS is asked anyway; a plaintext answer to the handshake
   * fails it. */
  run_init(&r, MW_TLS_STARTTLS);
  const char *s6[] = {GREETING, "-ERR what\r\n", "+OK go ahead\r\n",
                      "-ERR this is not TLS\r\n", NULL};
  run_script(&r, s6);
  assert_int_equal(run_connect(&r), MW_E_TLS);
  const char *w = written(&r);
  assert_int_equal(memcmp(w, "CAPA\r\nSTLS\r\n", 12), 0);
  assert_int_equal((unsigned char)w[12], 0x16); /* a TLS ClientHello */
  run_free(&r);

  /* Implicit TLS met by a plaintext greeting: the STLS port. */
  run_init(&r, MW_TLS_IMPLICIT);
  const char *s8[] = {GREETING, NULL};
  run_script(&r, s8);
  assert_int_equal(run_connect(&r), MW_E_TLS);
  assert_non_null(strstr(mw_error_message(mw_pop3_error(r.p)),
                         "{tls=starttls}"));
  run_free(&r);

  /* The default mode on port 110 is STLS required. */
  run_init(&r, MW_TLS_AUTO);
  const char *s7[] = {GREETING, CAPA_PLAIN, NULL};
  run_script(&r, s7);
  assert_int_equal(run_connect(&r), MW_E_NO_STARTTLS);
  run_free(&r);
}

/* ---- login ------------------------------------------------------------ */

static void user_pass(void **state)
{
  (void)state;
  struct run r;
  run_init(&r, MW_TLS_NONE);
  run_creds(&r, true);
  const char *s1[] = {GREETING, CAPA_PLAIN, "+OK\r\n",
                      "+OK maildrop has 2 messages\r\n", NULL};
  run_script(&r, s1);
  assert_int_equal(run_connect(&r), MW_OK);
  assert_string_equal(written(&r),
                      "CAPA\r\nUSER alice\r\nPASS " PASSWORD "\r\n");
  assert_string_equal(mw_pop3_auth_mechanism(r.p), "USER");
  assert_non_null(strstr(r.trace, "> PASS <redacted>\n"));
  assert_null(strstr(r.trace, PASSWORD));
  run_free(&r);

  /* In clear without permission: nothing secret leaves. */
  run_init(&r, MW_TLS_NONE);
  run_creds(&r, false);
  const char *s2[] = {GREETING, CAPA_PLAIN, NULL};
  run_script(&r, s2);
  assert_int_equal(run_connect(&r), MW_E_INSECURE);
  assert_string_equal(written(&r), "CAPA\r\n");
  run_free(&r);

  /* No CAPA at all: USER/PASS is still tried. */
  run_init(&r, MW_TLS_NONE);
  run_creds(&r, true);
  const char *s3[] = {GREETING, "-ERR\r\n", "+OK\r\n", "+OK\r\n", NULL};
  run_script(&r, s3);
  assert_int_equal(run_connect(&r), MW_OK);
  run_free(&r);

  /* Only SCRAM allowed, server without SASL: USER/PASS would reveal the
   * password, so it is not used. */
  run_init(&r, MW_TLS_NONE);
  run_creds(&r, true);
  assert_int_equal(mw_options_set_auth_mechanisms(r.o, "SCRAM-SHA-256"),
                   MW_OK);
  const char *s4[] = {GREETING, CAPA_PLAIN, NULL};
  run_script(&r, s4);
  assert_int_equal(run_connect(&r), MW_E_AUTH_UNAVAILABLE);
  assert_string_equal(written(&r), "CAPA\r\n");
  run_free(&r);
}

static void login_response_codes(void **state)
{
  (void)state;
  static const struct {
    const char *reply;
    mw_status st;
    const char *code;
    bool temporary;
  } cases[] = {
      {"-ERR [AUTH] Authentication failed.\r\n", MW_E_AUTH, "AUTH", false},
      {"-ERR bad password\r\n", MW_E_AUTH, "", false},
      {"-ERR [IN-USE] mailbox locked\r\n", MW_E_REJECTED, "IN-USE", true},
      {"-ERR [LOGIN-DELAY] wait 15 minutes\r\n", MW_E_REJECTED,
       "LOGIN-DELAY", true},
      {"-ERR [SYS/TEMP] disk trouble\r\n", MW_E_REJECTED, "SYS/TEMP", true},
      {"-ERR [SYS/PERM] account disabled\r\n", MW_E_REJECTED, "SYS/PERM",
       false},
      /* A server echoing the password: scrubbed before anyone sees it. */
      {"-ERR [AUTH] " PASSWORD " is wrong\r\n", MW_E_AUTH, "AUTH", false},
      {"-ERR [BAD CODE] odd\r\n", MW_E_AUTH, "", false},
  };
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct run r;
    run_init(&r, MW_TLS_NONE);
    run_creds(&r, true);
    const char *segs[] = {GREETING, CAPA_PLAIN, "+OK\r\n", cases[i].reply,
                          NULL};
    run_script(&r, segs);
    mw_status st = run_connect(&r);
    const mw_error *e = mw_pop3_error(r.p);
    if(st != cases[i].st)
      fail_msg("case %zu: %s, want %s (%s)", i, mw_status_name(st),
               mw_status_name(cases[i].st), mw_error_message(e));
    assert_string_equal(mw_error_response_code(e), cases[i].code);
    assert_int_equal(mw_error_is_temporary(e), cases[i].temporary);
    assert_null(strstr(mw_error_message(e), PASSWORD));
    assert_null(strstr(mw_error_server_text(e), PASSWORD));
    assert_null(strstr(r.trace, PASSWORD));
    assert_true(mw_error_server_text(e)[0]);
    run_free(&r);
  }
}

static void auth_plain(void **state)
{
  (void)state;
  struct run r;
  run_init(&r, MW_TLS_NONE);
  run_creds(&r, true);
  const char *segs[] = {GREETING, "+OK\r\nSASL PLAIN LOGIN\r\nUSER\r\n.\r\n",
                        "+OK Logged in.\r\n", NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_OK);
  /* base64("\0alice\0s3cret-Pw-42") */
  assert_string_equal(written(&r), "CAPA\r\nAUTH PLAIN "
                                   "AGFsaWNlAHMzY3JldC1Qdy00Mg==\r\n");
  assert_string_equal(mw_pop3_auth_mechanism(r.p), "PLAIN");
  assert_non_null(strstr(r.trace, "> AUTH PLAIN <redacted>"));
  run_free(&r);

  /* SASL in clear without permission: nothing secret leaves. */
  run_init(&r, MW_TLS_NONE);
  run_creds(&r, false);
  const char *segs3[] = {GREETING, "+OK\r\nSASL PLAIN\r\n.\r\n", NULL};
  run_script(&r, segs3);
  assert_int_equal(run_connect(&r), MW_E_INSECURE);
  assert_string_equal(written(&r), "CAPA\r\n");
  run_free(&r);

  /* An initial response that would make AUTH longer than 255 octets
   * answers the empty challenge instead (RFC 5034 section 4). */
  run_init(&r, MW_TLS_NONE);
  char token[400];
  memset(token, 't', sizeof(token) - 1);
  token[sizeof(token) - 1] = '\0';
  assert_int_equal(mw_options_set_credentials(r.o, "alice", NULL), MW_OK);
  assert_int_equal(mw_options_set_oauth2_token(r.o, token), MW_OK);
  assert_int_equal(mw_options_set_allow_insecure_auth(r.o, true), MW_OK);
  const char *segs4[] = {GREETING, "+OK\r\nSASL XOAUTH2\r\n.\r\n", "+ \r\n",
                         "+OK\r\n", NULL};
  run_script(&r, segs4);
  assert_int_equal(run_connect(&r), MW_OK);
  assert_string_equal(mw_pop3_auth_mechanism(r.p), "XOAUTH2");
  const char *w = written(&r);
  assert_int_equal(strncmp(w, "CAPA\r\nAUTH XOAUTH2\r\n", 20), 0);
  assert_true(strlen(w) > 20 + 400);
  assert_null(strstr(r.trace, token));
  run_free(&r);

  /* Refused with a response code. */
  run_init(&r, MW_TLS_NONE);
  run_creds(&r, true);
  const char *segs2[] = {GREETING, "+OK\r\nSASL PLAIN\r\n.\r\n",
                         "-ERR [AUTH] Authentication failed.\r\n", NULL};
  run_script(&r, segs2);
  assert_int_equal(run_connect(&r), MW_E_AUTH);
  assert_string_equal(mw_error_response_code(mw_pop3_error(r.p)), "AUTH");
  run_free(&r);
}

/* ---- SCRAM-SHA-256 against a server that computes its answers ------------
 * The memory layer plays a fixed script; SCRAM's answers depend on the
 * client's nonce, so this test puts a small responding server of its own
 * under the session (the same layer interface). */

#define SALT_B64 "QSXCR+Q6sek8bf92"

struct responder {
  struct mw__layer layer;
  struct mw__sbuf in, out; /* client bytes not yet handled; to send */
  size_t out_pos;
  int step;
  char cfirst[512], sfirst[512];
  bool bad_proof;
  bool closed;
};

static void b64_raw(const void *in, size_t len, char *out)
{
  EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

static size_t unb64(const char *in, char *out)
{
  size_t inlen = strlen(in);
  int n = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)in,
                          (int)inlen);
  assert_true(n >= 0);
  size_t len = (size_t)n;
  if(inlen >= 1 && in[inlen - 1] == '=')
    len--;
  if(inlen >= 2 && in[inlen - 2] == '=')
    len--;
  out[len] = '\0';
  return len;
}

static void say(struct responder *s, const char *text)
{
  assert_true(mw__sbuf_puts(&s->out, text));
}

static void respond_line(struct responder *s, const char *line)
{
  char buf[1100], b64[1024];
  switch(s->step++) {
  case 0:
    assert_string_equal(line, "CAPA");
    say(s, "+OK\r\nSASL SCRAM-SHA-256 PLAIN\r\nUSER\r\n.\r\n");
    break;
  case 1: { /* AUTH SCRAM-SHA-256 <client-first> */
    assert_int_equal(strncmp(line, "AUTH SCRAM-SHA-256 ", 19), 0);
    unb64(line + 19, s->cfirst);
    const char *r = strstr(s->cfirst, "r=");
    assert_non_null(r);
    snprintf(s->sfirst, sizeof(s->sfirst), "r=%sSERVERNONCE,s=%s,i=4096",
             r + 2, SALT_B64);
    b64_raw(s->sfirst, strlen(s->sfirst), b64);
    snprintf(buf, sizeof(buf), "+ %s\r\n", b64);
    say(s, buf);
    break;
  }
  case 2: { /* client-final: answer with the server's signature */
    char cfinal[1024];
    unb64(line, cfinal);
    char *p = strstr(cfinal, ",p=");
    assert_non_null(p);
    *p = '\0';
    char auth[4096];
    snprintf(auth, sizeof(auth), "%s,%s,%s", s->cfirst + 3, s->sfirst,
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
    if(s->bad_proof)
      sig[0] ^= 1;
    char sig_b64[128], v[160];
    b64_raw(sig, sl, sig_b64);
    snprintf(v, sizeof(v), "v=%s", sig_b64);
    b64_raw(v, strlen(v), b64);
    snprintf(buf, sizeof(buf), "+ %s\r\n", b64);
    say(s, buf);
    break;
  }
  case 3:
    if(line[0] == '*') { /* cancelled */
      say(s, "-ERR cancelled\r\n");
      break;
    }
    assert_string_equal(line, "");
    say(s, "+OK Logged in.\r\n");
    break;
  default:
    if(strcmp(line, "QUIT") == 0)
      say(s, "+OK bye\r\n");
    else
      say(s, "-ERR unexpected\r\n");
  }
}

static mw_status resp_read(struct mw__layer *l, void *buf, size_t len,
                           size_t *got, short *want)
{
  struct responder *s = l->impl;
  *want = 0;
  size_t n = s->out.len - s->out_pos;
  if(!n) {
    *got = 0;
    *want = POLLIN;
    return MW_OK;
  }
  if(n > len)
    n = len;
  memcpy(buf, s->out.data + s->out_pos, n);
  s->out_pos += n;
  *got = n;
  return MW_OK;
}

static mw_status resp_write(struct mw__layer *l, const void *buf, size_t len,
                            size_t *put, short *want)
{
  struct responder *s = l->impl;
  *want = 0;
  assert_true(mw__sbuf_append(&s->in, buf, len));
  *put = len;
  char *nl;
  while(s->in.len && (nl = memchr(s->in.data, '\n', s->in.len))) {
    size_t n = (size_t)(nl - s->in.data);
    char line[2048];
    assert_true(n >= 1 && n < sizeof(line) && nl[-1] == '\r');
    memcpy(line, s->in.data, n - 1);
    line[n - 1] = '\0';
    respond_line(s, line);
    memmove(s->in.data, nl + 1, s->in.len - n - 1);
    s->in.len -= n + 1;
  }
  return MW_OK;
}

static void resp_close(struct mw__layer *l)
{
  struct responder *s = l->impl;
  s->closed = true;
}

static size_t resp_pending(const struct mw__layer *l)
{
  (void)l;
  return 0;
}

static void resp_describe(const struct mw__layer *l, char *buf, size_t len)
{
  (void)l;
  snprintf(buf, len, "responder");
}

static const struct mw__layer_ops resp_ops = {
    .name = "responder", .read = resp_read, .write = resp_write,
    .pending = resp_pending, .close = resp_close,
    .describe = resp_describe};

static void auth_scram(void **state)
{
  (void)state;
  for(int bad = 0; bad < 2; bad++) {
    struct run r;
    run_init(&r, MW_TLS_NONE);
    run_creds(&r, true);
    r.p = mw_pop3_new(r.o);
    assert_non_null(r.p);
    struct responder s;
    memset(&s, 0, sizeof(s));
    mw__sbuf_init(&s.in);
    mw__sbuf_init(&s.out);
    s.bad_proof = bad;
    say(&s, GREETING);
    mw__layer_init(&s.layer, &resp_ops, NULL, &s, &r.p->err);
    mw_status st = mw__pop3_connect_over(r.p, &s.layer);
    if(!bad) {
      if(st)
        fail_msg("SCRAM: %s", mw_error_message(mw_pop3_error(r.p)));
      assert_string_equal(mw_pop3_auth_mechanism(r.p), "SCRAM-SHA-256");
      assert_non_null(strstr(r.trace, "server signature verified"));
      assert_int_equal(mw_pop3_quit(r.p), MW_OK);
    }
    else {
      assert_int_equal(st, MW_E_AUTH_SERVER_UNVERIFIED);
      assert_null(mw_pop3_auth_mechanism(r.p));
    }
    assert_null(strstr(r.trace, PASSWORD));
    mw_pop3_free(r.p);
    assert_true(s.closed);
    mw__sbuf_free(&s.in);
    mw__sbuf_free(&s.out);
    mw_options_free(r.o);
  }
}

/* ---- STAT, LIST and UIDL ---------------------------------------------- */

/* mw_pop3_uidl()'s callback: what came; MW_E_IO after stop_after. */
struct uidl_got {
  unsigned numbers[4];
  char uids[4][72];
  size_t n, stop_after;
};

static mw_status got_uidl(void *user, unsigned number, const char *uid)
{
  struct uidl_got *g = user;
  if(g->stop_after && g->n == g->stop_after)
    return MW_E_IO;
  assert_true(g->n < 4);
  g->numbers[g->n] = number;
  snprintf(g->uids[g->n], sizeof(g->uids[0]), "%s", uid);
  g->n++;
  return MW_OK;
}

static void uidl_streamed(void **state)
{
  (void)state;
  struct run r;
  /* Each line handed on as it comes; a stop reads the rest (the session
   * stays in step); -ERR is MW_E_REJECTED; a malformed line fails. */
  const char *s1[] = {"+OK\r\n1 aaa\r\n2 b~b\r\n.\r\n",
                      "+OK\r\n1 aaa\r\n2 bbb\r\n3 ccc\r\n.\r\n",
                      "-ERR no UIDL here\r\n",
                      "+OK\r\n1 has space\r\n.\r\n", "+OK 3 30\r\n",
                      NULL};
  run_ready(&r, CAPA_PLAIN, s1);
  struct uidl_got g = {0};
  assert_int_equal(mw_pop3_uidl(r.p, got_uidl, &g), MW_OK);
  assert_int_equal(g.n, 2);
  assert_int_equal(g.numbers[0], 1);
  assert_string_equal(g.uids[0], "aaa");
  assert_int_equal(g.numbers[1], 2);
  assert_string_equal(g.uids[1], "b~b");
  memset(&g, 0, sizeof(g));
  g.stop_after = 1;
  assert_int_equal(mw_pop3_uidl(r.p, got_uidl, &g), MW_E_IO);
  assert_int_equal(g.n, 1);
  assert_int_equal(mw_pop3_uidl(r.p, got_uidl, &g), MW_E_REJECTED);
  assert_int_equal(mw_error_status(mw_pop3_error(r.p)), MW_E_REJECTED);
  assert_int_equal(mw_pop3_uidl(r.p, got_uidl, &g), MW_E_PROTOCOL);
  size_t count = 0;
  assert_int_equal(mw_pop3_stat(r.p, &count, NULL), MW_OK);
  assert_int_equal(count, 3);
  assert_int_equal(mw_pop3_uidl(NULL, got_uidl, &g), MW_E_INVALID);
  assert_int_equal(mw_pop3_uidl(r.p, NULL, &g), MW_E_INVALID);
  assert_non_null(strstr(written(&r), "UIDL\r\nUIDL\r\nUIDL\r\nUIDL\r\n"
                                      "STAT\r\n"));
  run_free(&r);

  /* UIDL not in CAPA: refused here, nothing sent (as mw_pop3_list()). */
  const char *s2[] = {"+OK 1 10\r\n", NULL};
  run_ready(&r, "+OK\r\nUSER\r\nTOP\r\n.\r\n", s2);
  memset(&g, 0, sizeof(g));
  assert_int_equal(mw_pop3_uidl(r.p, got_uidl, &g), MW_E_REJECTED);
  assert_int_equal(g.n, 0);
  assert_int_equal(mw_pop3_stat(r.p, &count, NULL), MW_OK);
  assert_int_equal(count, 1);
  assert_null(strstr(written(&r), "UIDL"));
  run_free(&r);
}

static void stat_and_list(void **state)
{
  (void)state;
  struct run r;
  /* PIPELINING: LIST and UIDL leave together, answered at once. */
  const char *s1[] = {"+OK 3 1200\r\n",
                      "+OK 3 messages\r\n1 120\r\n2 200 extra\r\n5 880\r\n"
                      ".\r\n+OK\r\n5 zzz\r\n1 aaa\r\n2 b~b\r\n.\r\n",
                      NULL};
  run_ready(&r, CAPA_PIPE, s1);
  size_t count = 0;
  uint64_t octets = 0;
  assert_int_equal(mw_pop3_stat(r.p, &count, &octets), MW_OK);
  assert_int_equal(count, 3);
  assert_int_equal(octets, 1200);
  const mw_pop3_message *list = NULL;
  size_t n = 0;
  assert_int_equal(mw_pop3_list(r.p, &list, &n), MW_OK);
  assert_int_equal(n, 3);
  assert_int_equal(list[0].number, 1);
  assert_int_equal(list[0].size, 120);
  assert_string_equal(list[0].uid, "aaa");
  assert_int_equal(list[1].number, 2);
  assert_string_equal(list[1].uid, "b~b");
  assert_int_equal(list[2].number, 5);
  assert_int_equal(list[2].size, 880);
  assert_string_equal(list[2].uid, "zzz");
  assert_non_null(strstr(written(&r), "STAT\r\nLIST\r\nUIDL\r\n"));
  run_free(&r);

  /* No PIPELINING: UIDL after LIST's end; an empty mailbox. */
  const char *s2[] = {"+OK\r\n1 10\r\n.\r\n", "+OK\r\n1 uid-1\r\n.\r\n",
                      "+OK\r\n.\r\n", "-ERR no UIDL here\r\n", NULL};
  run_ready(&r, CAPA_PLAIN, s2);
  assert_int_equal(mw_pop3_list(r.p, &list, &n), MW_OK);
  assert_int_equal(n, 1);
  assert_string_equal(list[0].uid, "uid-1");
  /* Given back early (twice is harmless); the next LIST starts anew. */
  mw_pop3_list_free(r.p);
  mw_pop3_list_free(r.p);
  mw_pop3_list_free(NULL);
  assert_int_equal(mw_pop3_list(r.p, &list, &n), MW_OK);
  assert_int_equal(n, 0);
  assert_non_null(strstr(written(&r), "LIST\r\nUIDL\r\nLIST\r\nUIDL\r\n"));
  run_free(&r);

  /* Malformed lines: the operation fails, the session stays in step. */
  const char *s3[] = {"+OK\r\n1 10\r\nx 20\r\n.\r\n+OK\r\n.\r\n",
                      "+OK\r\n1 10\r\n.\r\n+OK\r\n1 has space\r\n.\r\n",
                      "+OK 1 10\r\n", "+OK lots\r\n", NULL};
  run_ready(&r, CAPA_PIPE, s3);
  assert_int_equal(mw_pop3_list(r.p, &list, &n), MW_E_PROTOCOL);
  assert_int_equal(mw_pop3_list(r.p, &list, &n), MW_E_PROTOCOL);
  assert_int_equal(mw_pop3_stat(r.p, &count, NULL), MW_OK);
  assert_int_equal(count, 1);
  assert_int_equal(mw_pop3_stat(r.p, &count, NULL), MW_E_PROTOCOL);
  run_free(&r);

  /* A response followed by bytes nothing asked for: the session is out
   * of step and stops (they would answer the next command). */
  const char *s5[] = {"+OK\r\n+OK forged DELE\r\n", NULL};
  run_ready(&r, CAPA_PIPE, s5);
  assert_int_equal(mw_pop3_noop(r.p), MW_E_PROTOCOL);
  assert_non_null(strstr(mw_error_message(mw_pop3_error(r.p)),
                         "unsolicited"));
  assert_int_equal(mw_pop3_delete(r.p, 1), MW_E_STATE);
  run_free(&r);

  /* STAT refused: the session goes on. */
  const char *s4[] = {"-ERR [SYS/TEMP] later\r\n", "+OK\r\n", NULL};
  run_ready(&r, CAPA_PIPE, s4);
  assert_int_equal(mw_pop3_stat(r.p, &count, NULL), MW_E_REJECTED);
  assert_true(mw_error_is_temporary(mw_pop3_error(r.p)));
  assert_int_equal(mw_pop3_noop(r.p), MW_OK);
  run_free(&r);
}

/* ---- RETR and TOP ------------------------------------------------------ */

struct sink {
  char data[200000];
  size_t len;
  int calls;
  int stop_after; /* stop with MW_E_IO at this call (0: never) */
};

static mw_status sink_write(void *user, const char *data, size_t len)
{
  struct sink *k = user;
  k->calls++;
  if(k->stop_after && k->calls >= k->stop_after)
    return MW_E_IO;
  assert_true(k->len + len <= sizeof(k->data));
  memcpy(k->data + k->len, data, len);
  k->len += len;
  return MW_OK;
}

#define WIRE_MSG                                                             \
  "Subject: dots\r\n\r\n..leading dot\r\n...two\r\n..\r\nplain\r\n"        \
  "line with . inside\r\n.\r\n"
#define UNSTUFFED                                                            \
  "Subject: dots\r\n\r\n.leading dot\r\n..two\r\n.\r\nplain\r\n"           \
  "line with . inside\r\n"

static void retr_unstuffing(void **state)
{
  (void)state;
  for(size_t max = 0; max <= 7; max++) {
    struct run r;
    const char *segs[] = {"+OK 80 octets\r\n" WIRE_MSG, "+OK\r\n", NULL};
    run_ready(&r, CAPA_PIPE, segs);
    mw__mem_layer_set_read_max(r.m, max);
    struct sink k = {.len = 0};
    assert_int_equal(mw_pop3_retrieve(r.p, 1, sink_write, &k), MW_OK);
    assert_int_equal(k.len, strlen(UNSTUFFED));
    assert_memory_equal(k.data, UNSTUFFED, k.len);
    /* The trace names the message, never its lines. */
    if(!strstr(r.trace, "< <message 1: 68 octets>"))
      fail_msg("trace: %s", r.trace);
    assert_null(strstr(r.trace, "leading dot"));
    assert_int_equal(mw_pop3_noop(r.p), MW_OK); /* still in step */
    run_free(&r);
  }
  /* Bare LF endings become CRLF; TOP the same way. */
  struct run r;
  const char *s2[] = {"+OK\nSubject: x\n\n.\n", "+OK\r\nA: b\r\n\r\n.\r\n",
                      NULL};
  run_ready(&r, CAPA_PIPE, s2);
  struct sink k = {.len = 0};
  assert_int_equal(mw_pop3_retrieve(r.p, 2, sink_write, &k), MW_OK);
  assert_int_equal(k.len, strlen("Subject: x\r\n\r\n"));
  assert_memory_equal(k.data, "Subject: x\r\n\r\n", k.len);
  k.len = 0;
  assert_int_equal(mw_pop3_top(r.p, 2, 0, sink_write, &k), MW_OK);
  assert_memory_equal(k.data, "A: b\r\n\r\n", k.len);
  assert_non_null(strstr(written(&r), "RETR 2\r\nTOP 2 0\r\n"));
  run_free(&r);
}

static void retr_refusals_and_caps(void **state)
{
  (void)state;
  struct run r;
  struct sink k = {.len = 0};
  /* -ERR: the session goes on. */
  const char *s1[] = {"-ERR no such message\r\n", "+OK\r\n", NULL};
  run_ready(&r, CAPA_PIPE, s1);
  assert_int_equal(mw_pop3_retrieve(r.p, 9, sink_write, &k), MW_E_REJECTED);
  assert_int_equal(k.len, 0);
  assert_int_equal(mw_pop3_delete(r.p, 1), MW_OK);
  run_free(&r);

  /* A drop in the middle of a message. */
  const char *s2[] = {"+OK\r\nline one\r\nline t", NULL};
  run_ready(&r, CAPA_PIPE, s2);
  k.len = 0;
  assert_int_equal(mw_pop3_retrieve(r.p, 1, sink_write, &k), MW_E_CLOSED);
  assert_non_null(strstr(mw_error_message(mw_pop3_error(r.p)),
                         "middle of message 1, after 10 octets"));
  assert_int_equal(mw_pop3_noop(r.p), MW_E_STATE);
  run_free(&r);

  /* A message that never ends: bounded by the deadline. */
  const char *s3[] = {"+OK\r\nline one\r\n", "never\r\n", NULL};
  run_ready(&r, CAPA_PIPE, s3);
  assert_int_equal(mw_pop3_retrieve(r.p, 1, sink_write, &k), MW_E_TIMEOUT);
  assert_non_null(strstr(mw_error_message(mw_pop3_error(r.p)),
                         "did not end in time"));
  run_free(&r);

  /* A data line over 64 KiB; a status line over 4 KiB. */
  char *big = malloc(70000);
  assert_non_null(big);
  memcpy(big, "+OK\r\n", 5);
  memset(big + 5, 'x', 66000);
  strcpy(big + 66005, "\r\n.\r\n");
  const char *s4[] = {big, NULL};
  run_ready(&r, CAPA_PIPE, s4);
  k.len = 0;
  assert_int_equal(mw_pop3_retrieve(r.p, 1, sink_write, &k), MW_E_PROTOCOL);
  assert_non_null(strstr(mw_error_message(mw_pop3_error(r.p)), "65536"));
  run_free(&r);
  memset(big, 'y', 5000);
  memcpy(big, "+OK ", 4);
  strcpy(big + 5000, "\r\n");
  const char *s5[] = {big, NULL};
  run_ready(&r, CAPA_PIPE, s5);
  assert_int_equal(mw_pop3_noop(r.p), MW_E_PROTOCOL);
  run_free(&r);
  /* A 20000-byte line is accepted and delivered whole. */
  memcpy(big, "+OK\r\n", 5);
  memset(big + 5, 'z', 20000);
  strcpy(big + 20005, "\r\n.\r\n");
  const char *s6[] = {big, NULL};
  run_ready(&r, CAPA_PIPE, s6);
  k.len = 0;
  assert_int_equal(mw_pop3_retrieve(r.p, 1, sink_write, &k), MW_OK);
  assert_int_equal(k.len, 20002);
  run_free(&r);
  free(big);

  /* The caller stops: the rest is read, the session stays usable. */
  const char *s7[] = {"+OK\r\na\r\nb\r\n.\r\n", "+OK\r\n", NULL};
  run_ready(&r, CAPA_PIPE, s7);
  struct sink stop = {.stop_after = 1};
  assert_int_equal(mw_pop3_retrieve(r.p, 1, sink_write, &stop), MW_E_IO);
  assert_int_equal(mw_pop3_noop(r.p), MW_OK);
  run_free(&r);
}

/* ---- retrieve_many ------------------------------------------------------ */

struct many {
  struct sink msg[4];
  int last[4];
  size_t order[16];
  size_t calls;
};

static mw_status many_fn(void *user, size_t index, const char *data,
                         size_t len, bool last)
{
  struct many *m = user;
  assert_true(index < 4);
  m->order[m->calls++ % 16] = index;
  assert_int_equal(m->last[index], 0); /* nothing after the last call */
  memcpy(m->msg[index].data + m->msg[index].len, data, len);
  m->msg[index].len += len;
  if(last)
    m->last[index]++;
  return MW_OK;
}

static void retrieve_many(void **state)
{
  (void)state;
  static const unsigned numbers[] = {3, 1, 2};
  struct run r;
  /* PIPELINING: the three RETRs leave together. */
  const char *s1[] = {"+OK\r\nthree\r\n.\r\n+OK\r\n..one\r\n.\r\n"
                      "+OK\r\ntwo\r\n.\r\n",
                      NULL};
  run_ready(&r, CAPA_PIPE, s1);
  struct many m;
  memset(&m, 0, sizeof(m));
  assert_int_equal(mw_pop3_retrieve_many(r.p, numbers, 3, many_fn, &m),
                   MW_OK);
  assert_non_null(strstr(written(&r), "RETR 3\r\nRETR 1\r\nRETR 2\r\n"));
  assert_memory_equal(m.msg[0].data, "three\r\n", m.msg[0].len);
  assert_memory_equal(m.msg[1].data, ".one\r\n", m.msg[1].len);
  assert_memory_equal(m.msg[2].data, "two\r\n", m.msg[2].len);
  assert_int_equal(m.last[0] + m.last[1] + m.last[2], 3);
  run_free(&r);

  /* Without PIPELINING: one at a time. */
  const char *s2[] = {"+OK\r\nthree\r\n.\r\n", "+OK\r\none\r\n.\r\n",
                      "+OK\r\ntwo\r\n.\r\n", NULL};
  run_ready(&r, CAPA_PLAIN, s2);
  memset(&m, 0, sizeof(m));
  assert_int_equal(mw_pop3_retrieve_many(r.p, numbers, 3, many_fn, &m),
                   MW_OK);
  assert_int_equal(m.last[0] + m.last[1] + m.last[2], 3);
  run_free(&r);

  /* A refusal in the middle: what was in flight is still delivered, no
   * more is asked. */
  static const unsigned ten[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  /* (RETR 9 leaves when the answer to RETR 1 is complete: a window.) */
  const char *s3[] = {"+OK\r\na\r\n.\r\n-ERR gone\r\n+OK\r\nc\r\n.\r\n"
                      "-ERR gone\r\n-ERR gone\r\n-ERR gone\r\n-ERR gone\r\n"
                      "-ERR gone\r\n",
                      "-ERR gone\r\n", "+OK\r\n", NULL};
  run_ready(&r, CAPA_PIPE, s3);
  struct many big;
  memset(&big, 0, sizeof(big));
  mw_status st = mw_pop3_retrieve_many(r.p, ten, 10, many_fn, &big);
  if(st != MW_E_REJECTED)
    fail_msg("%s: %s\n%s", mw_status_name(st),
             mw_error_message(mw_pop3_error(r.p)), r.trace);
  assert_int_equal(big.last[0], 1);
  assert_int_equal(big.last[1], 0);
  assert_int_equal(big.last[2], 1);
  assert_non_null(strstr(written(&r), "RETR 9\r\n"));
  assert_null(strstr(written(&r), "RETR 10"));
  assert_int_equal(mw_pop3_noop(r.p), MW_OK); /* still in step */
  run_free(&r);
}

/* ---- DELE, RSET, QUIT -------------------------------------------------- */

static void dele_rset_quit(void **state)
{
  (void)state;
  struct run r;
  const char *s1[] = {"+OK deleted\r\n", "-ERR already deleted\r\n",
                      "+OK\r\n", "+OK bye\r\n", NULL};
  run_ready(&r, CAPA_PIPE, s1);
  assert_int_equal(mw_pop3_delete(r.p, 1), MW_OK);
  assert_int_equal(mw_pop3_delete(r.p, 1), MW_E_REJECTED);
  assert_int_equal(mw_pop3_reset(r.p), MW_OK);
  assert_int_equal(mw_pop3_quit(r.p), MW_OK);
  assert_true(mw__mem_layer_closed(r.m));
  assert_non_null(strstr(written(&r), "DELE 1\r\nDELE 1\r\nRSET\r\nQUIT\r\n"));
  assert_int_equal(mw_pop3_noop(r.p), MW_E_STATE);
  run_free(&r);

  /* -ERR to QUIT: the deletions may not have taken effect. */
  const char *s2[] = {"+OK\r\n", "-ERR some deleted messages not removed\r\n",
                      NULL};
  run_ready(&r, CAPA_PIPE, s2);
  assert_int_equal(mw_pop3_delete(r.p, 2), MW_OK);
  assert_int_equal(mw_pop3_quit(r.p), MW_E_REJECTED);
  run_free(&r);

  /* No answer to QUIT: unknown, said so. */
  const char *s3[] = {"+OK\r\n", NULL};
  run_ready(&r, CAPA_PIPE, s3);
  assert_int_equal(mw_pop3_delete(r.p, 2), MW_OK);
  assert_int_equal(mw_pop3_quit(r.p), MW_E_CLOSED);
  assert_non_null(strstr(mw_error_message(mw_pop3_error(r.p)), "unknown"));
  run_free(&r);

  /* QUIT on a session that never connected. */
  run_init(&r, MW_TLS_NONE);
  r.p = mw_pop3_new(r.o);
  assert_int_equal(mw_pop3_quit(r.p), MW_E_STATE);
  mw_pop3_free(r.p);
  mw_options_free(r.o);
}

/* ---- a close at every point -------------------------------------------- */

static void close_everywhere(void **state)
{
  (void)state;
  static const char *const full[] = {
      GREETING, CAPA_PIPE, "+OK\r\n", "+OK\r\n", "+OK 1 20\r\n",
      "+OK\r\n1 20\r\n.\r\n+OK\r\n1 u1\r\n.\r\n",
      "+OK\r\nSubject: a\r\n\r\nbody\r\n.\r\n", "+OK\r\n", "+OK bye\r\n"};
  size_t nseg = sizeof(full) / sizeof(full[0]);
  for(size_t cut = 0; cut <= nseg; cut++) {
    for(int half = 0; half < 2; half++) {
      struct run r;
      run_init(&r, MW_TLS_NONE);
      run_creds(&r, true);
      r.p = mw_pop3_new(r.o);
      r.m = mw__mem_layer_new(&r.p->err);
      for(size_t i = 0; i < cut && i < nseg; i++)
        assert_true(mw__mem_layer_add_str(r.m, full[i]));
      if(half && cut < nseg) /* half of the next segment, then the end */
        assert_true(mw__mem_layer_add(r.m, full[cut], strlen(full[cut]) / 2));
      mw__mem_layer_close_here(r.m, half);
      mw_status st = run_connect(&r);
      size_t n = 0;
      const mw_pop3_message *list = NULL;
      struct sink k = {.len = 0};
      if(!st)
        st = mw_pop3_stat(r.p, &n, NULL);
      if(!st)
        st = mw_pop3_list(r.p, &list, &n);
      if(!st)
        st = mw_pop3_retrieve(r.p, 1, sink_write, &k);
      if(!st)
        st = mw_pop3_delete(r.p, 1);
      mw_status q = mw_pop3_quit(r.p);
      if(cut == nseg) {
        assert_int_equal(st, MW_OK);
        assert_int_equal(q, MW_OK);
        assert_int_equal(k.len, strlen("Subject: a\r\n\r\nbody\r\n"));
      }
      else {
        assert_true(st == MW_E_CLOSED || st == MW_E_TIMEOUT || q != MW_OK);
        assert_int_not_equal(q, MW_OK); /* nothing committed */
      }
      run_free(&r);
    }
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(greeting_and_capa),
      cmocka_unit_test(greeting_refusals),
      cmocka_unit_test(stls_rules),
      cmocka_unit_test(user_pass),
      cmocka_unit_test(login_response_codes),
      cmocka_unit_test(auth_plain),
      cmocka_unit_test(auth_scram),
      cmocka_unit_test(stat_and_list),
      cmocka_unit_test(uidl_streamed),
      cmocka_unit_test(retr_unstuffing),
      cmocka_unit_test(retr_refusals_and_caps),
      cmocka_unit_test(retrieve_many),
      cmocka_unit_test(dele_rset_quit),
      cmocka_unit_test(close_everywhere),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}

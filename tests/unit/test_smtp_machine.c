/* Unit tests: the SMTP client's state machine (proto/smtp_machine.c and
 * the smtp_*.c states) over the in-memory layer, with no socket.  Each
 * test checks the path of states the machine took (its transitions, as an
 * observer sees them) as well as the status and the bytes it wrote:
 * every reply path of the greeting, EHLO and the HELO fallback, STARTTLS
 * (refused, not offered, bytes injected after the 220, the handshake
 * state), each AUTH mechanism's rounds (PLAIN, LOGIN, CRAM-MD5, XOAUTH2,
 * and SCRAM-SHA-256 with the server's proof computed from what the client
 * sent, the machine stepped by hand between the server's turns), a
 * pipelined and an unpipelined transaction with mixed recipient results,
 * the BDAT framing and a BDAT transaction, QUIT, the capabilities stop of
 * the probe, and the server closing in every state.  A server with
 * OpenSSL behind a layer (memory BIOs, no socket) takes whole STARTTLS
 * and implicit-TLS sessions: the capability reset, a pinned certificate
 * right and wrong, a message over TLS, closes after the handshake. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mailwire.h"
#include "core/util.h"
#include "io/layer.h"
#include "proto/data.h"
#include "proto/smtp.h"

#include <poll.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GREETING "220 mx.example.org ESMTP ready\r\n"
#define EHLO_LINE "EHLO client.example.org\r\n"
#define MESSAGE "Subject: t\r\n\r\nhello\r\n.dot line\r\n"
#define PASSWORD "pencil-Secret-77"

static int setup(void **state)
{
  (void)state;
  return mw_global_init() == MW_OK ? 0 : -1;
}

/* ---- a session over a scripted server, its path recorded -------------- */

/* A layer over another whose writes fail (a reset) once told to. */
struct cutter {
  struct mw__layer layer;
  bool fail;
};

static mw_status cutter_read(struct mw__layer *l, void *buf, size_t len,
                             size_t *got, short *want)
{
  return l->below->ops->read(l->below, buf, len, got, want);
}

static mw_status cutter_write(struct mw__layer *l, const void *buf,
                              size_t len, size_t *put, short *want)
{
  struct cutter *c = l->impl;
  *put = 0;
  *want = 0;
  if(c->fail) {
    l->sys_errno = 32; /* EPIPE */
    return mw__error_set(l->err, MW_E_CLOSED,
                         "the connection to the server failed: reset");
  }
  return l->below->ops->write(l->below, buf, len, put, want);
}

static void cutter_close(struct mw__layer *l)
{
  mw__layer_close(l->below);
}

static const struct mw__layer_ops cutter_ops = {.name = "cutter",
                                                .read = cutter_read,
                                                .write = cutter_write,
                                                .close = cutter_close};

struct run {
  mw_options *o;
  mw_smtp *s;
  struct mw__mem_layer *m;
  struct cutter *cut_on_body; /* fails writes once in BODY */
  char path[1024]; /* "GREETING EHLO AUTH READY" */
};

static void observe(void *user, enum mw__smtp_state from,
                    enum mw__smtp_state to)
{
  (void)from;
  struct run *r = user;
  if(to == MW__SMTP_BODY && r->cut_on_body)
    r->cut_on_body->fail = true;
  size_t used = strlen(r->path);
  snprintf(r->path + used, sizeof(r->path) - used, "%s%s", used ? " " : "",
           mw__smtp_state_name(to));
}

static void run_init(struct run *r, mw_tls_mode mode)
{
  memset(r, 0, sizeof(*r));
  r->o = mw_options_new();
  assert_non_null(r->o);
  assert_int_equal(mw_options_set_server(r->o, "mx.example.org", 587), MW_OK);
  assert_int_equal(mw_options_set_tls_mode(r->o, mode), MW_OK);
  assert_int_equal(mw_options_set_helo_name(r->o, "client.example.org"),
                   MW_OK);
}

static void run_auth_init(struct run *r, const char *mechs)
{
  run_init(r, MW_TLS_NONE);
  assert_int_equal(mw_options_set_credentials(r->o, "user", PASSWORD), MW_OK);
  assert_int_equal(mw_options_set_allow_insecure_auth(r->o, true), MW_OK);
  if(mechs)
    assert_int_equal(mw_options_set_auth_mechanisms(r->o, mechs), MW_OK);
}

/* The session and its server from NULL-terminated segments. */
static void run_script(struct run *r, const char *const *segs)
{
  r->s = mw_smtp_new(r->o);
  assert_non_null(r->s);
  r->s->observer = observe;
  r->s->observer_user = r;
  r->m = mw__mem_layer_new(&r->s->err);
  assert_non_null(r->m);
  for(size_t i = 0; segs && segs[i]; i++)
    assert_true(mw__mem_layer_add_str(r->m, segs[i]));
}

static mw_status run_connect(struct run *r)
{
  return mw__smtp_connect_over(r->s, mw__mem_layer_get(r->m));
}

static const char *written(const struct run *r)
{
  return mw__mem_layer_written(r->m, NULL);
}

static void run_free(struct run *r)
{
  mw_smtp_free(r->s);
  if(r->m)
    assert_true(mw__mem_layer_closed(r->m));
  mw__mem_layer_free(r->m);
  mw_options_free(r->o);
}

static void path_is(const struct run *r, const char *want)
{
  if(strcmp(r->path, want) != 0)
    fail_msg("path \"%s\", want \"%s\" (%s)", r->path, want,
             mw_error_message(mw_smtp_error(r->s)));
}

static mw_envelope *envelope(const char *from, const char *const *to)
{
  mw_envelope *e = mw_envelope_new();
  assert_non_null(e);
  assert_int_equal(mw_envelope_set_from(e, from), MW_OK);
  for(size_t i = 0; to[i]; i++)
    assert_int_equal(mw_envelope_add_recipient(e, to[i]), MW_OK);
  return e;
}

/* ---- the states themselves -------------------------------------------- */

static void state_names(void **state)
{
  (void)state;
  assert_string_equal(mw__smtp_state_name(MW__SMTP_IDLE), "IDLE");
  assert_string_equal(mw__smtp_state_name(MW__SMTP_DATA_END), "DATA_END");
  assert_string_equal(mw__smtp_state_name(MW__SMTP_BROKEN), "BROKEN");
  assert_string_equal(mw__smtp_state_name(MW__SMTP_NSTATES), "?");
  for(int i = 0; i < MW__SMTP_NSTATES; i++) {
    assert_true(strlen(mw__smtp_state_name((enum mw__smtp_state)i)) > 0);
    assert_true(strlen(mw__smtp_state_what((enum mw__smtp_state)i)) > 0);
  }
}

/* ---- greeting ------------------------------------------------------------ */

static void greeting_paths(void **state)
{
  (void)state;
  static const struct {
    const char *segs[3];
    mw_status st;
    const char *path;
  } cases[] = {
      {{GREETING, "250 mx\r\n", NULL}, MW_OK, "GREETING EHLO AUTH READY"},
      {{"220-a\r\n220 b\r\n", "250 mx\r\n", NULL},
       MW_OK,
       "GREETING EHLO AUTH READY"},
      {{"554 5.7.1 go away\r\n", NULL}, MW_E_REJECTED, "GREETING BROKEN"},
      {{"421 4.3.2 busy\r\n", NULL}, MW_E_REJECTED, "GREETING BROKEN"},
      {{"250 not a greeting\r\n", NULL}, MW_E_PROTOCOL, "GREETING BROKEN"},
      {{"* OK IMAP4rev1 ready\r\n", NULL}, MW_E_PROTOCOL, "GREETING BROKEN"},
      {{"220 ok\r\n250 early\r\n", NULL}, MW_E_PROTOCOL, "GREETING BROKEN"},
      {{"220 cut", NULL}, MW_E_CLOSED, "GREETING BROKEN"},
      {{NULL}, MW_E_CLOSED, "GREETING BROKEN"},
      {{"", GREETING, NULL}, MW_E_TIMEOUT, "GREETING BROKEN"},
  };
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct run r;
    run_init(&r, MW_TLS_NONE);
    run_script(&r, cases[i].segs);
    mw_status st = run_connect(&r);
    if(st != cases[i].st)
      fail_msg("case %zu: %s, want %s (%s)", i, mw_status_name(st),
               mw_status_name(cases[i].st),
               mw_error_message(mw_smtp_error(r.s)));
    path_is(&r, cases[i].path);
    if(st == MW_E_TIMEOUT)
      assert_non_null(strstr(mw_error_message(mw_smtp_error(r.s)),
                             "no greeting from the server"));
    if(i == 5)
      assert_non_null(strstr(mw_error_message(mw_smtp_error(r.s)),
                             "speaks IMAP"));
    if(st == MW_OK)
      assert_int_equal(r.s->phase, MW__PHASE_READY);
    else
      assert_int_equal(r.s->phase, MW__PHASE_GREETING);
    run_free(&r);
  }
}

/* ---- EHLO and HELO ------------------------------------------------------- */

static void ehlo_paths(void **state)
{
  (void)state;
  static const struct {
    const char *segs[4];
    mw_status st;
    const char *path;
    const char *wrote;
  } cases[] = {
      {{GREETING, "250-mx\r\n250 SIZE 10\r\n", NULL},
       MW_OK,
       "GREETING EHLO AUTH READY",
       EHLO_LINE},
      {{GREETING, "502 5.5.1 no EHLO\r\n", "250 mx\r\n", NULL},
       MW_OK,
       "GREETING EHLO HELO AUTH READY",
       EHLO_LINE "HELO client.example.org\r\n"},
      {{GREETING, "500 no\r\n", "550 no either\r\n", NULL},
       MW_E_REJECTED,
       "GREETING EHLO HELO BROKEN",
       EHLO_LINE "HELO client.example.org\r\n"},
      {{GREETING, "421 4.7.0 go away\r\n", NULL},
       MW_E_REJECTED,
       "GREETING EHLO BROKEN",
       EHLO_LINE},
      {{GREETING, "250 mx\r\n250 extra\r\n", NULL},
       MW_E_PROTOCOL,
       "GREETING EHLO BROKEN",
       EHLO_LINE},
      {{GREETING, "250 mx\r\n\x01\r\n", NULL},
       MW_E_PROTOCOL,
       "GREETING EHLO BROKEN",
       EHLO_LINE},
  };
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct run r;
    run_init(&r, MW_TLS_NONE);
    run_script(&r, cases[i].segs);
    mw_status st = run_connect(&r);
    if(st != cases[i].st)
      fail_msg("case %zu: %s, want %s (%s)", i, mw_status_name(st),
               mw_status_name(cases[i].st),
               mw_error_message(mw_smtp_error(r.s)));
    path_is(&r, cases[i].path);
    assert_string_equal(written(&r), cases[i].wrote);
    if(i == 0)
      assert_int_equal(mw_smtp_size_limit(r.s), 10);
    if(i == 1) {
      assert_false(mw_smtp_has_capability(r.s, "PIPELINING"));
      assert_true(r.s->capa.valid);
      assert_false(r.s->esmtp);
    }
    if(i == 2)
      assert_int_equal(mw_error_reply_code(mw_smtp_error(r.s)), 550);
    run_free(&r);
  }
}

/* ---- STARTTLS ------------------------------------------------------------ */

static void starttls_paths(void **state)
{
  (void)state;
  static const struct {
    mw_tls_mode mode;
    const char *segs[4];
    mw_status st;
    const char *path;
  } cases[] = {
      /* Not offered: required stops, optional goes on in clear. */
      {MW_TLS_STARTTLS,
       {GREETING, "250 mx\r\n", NULL},
       MW_E_NO_STARTTLS,
       "GREETING EHLO STARTTLS BROKEN"},
      {MW_TLS_STARTTLS_OPTIONAL,
       {GREETING, "250 mx\r\n", NULL},
       MW_OK,
       "GREETING EHLO STARTTLS AUTH READY"},
      /* Refused. */
      {MW_TLS_STARTTLS,
       {GREETING, "250-mx\r\n250 STARTTLS\r\n", "454 4.7.0 no TLS\r\n",
        NULL},
       MW_E_NO_STARTTLS,
       "GREETING EHLO STARTTLS BROKEN"},
      {MW_TLS_STARTTLS_OPTIONAL,
       {GREETING, "250-mx\r\n250 STARTTLS\r\n", "454 4.7.0 no TLS\r\n",
        NULL},
       MW_OK,
       "GREETING EHLO STARTTLS AUTH READY"},
      /* Accepted: the handshake state begins, and meets plaintext. */
      {MW_TLS_STARTTLS,
       {GREETING, "250-mx\r\n250 STARTTLS\r\n", "220 go ahead\r\n", NULL},
       MW_E_CLOSED,
       "GREETING EHLO STARTTLS TLS_STARTTLS BROKEN"},
      /* Bytes pipelined after the 220: an injection, no handshake. */
      {MW_TLS_STARTTLS,
       {GREETING, "250-mx\r\n250 STARTTLS\r\n",
        "220 go ahead\r\n250-injected\r\n", NULL},
       MW_E_INJECTION,
       "GREETING EHLO STARTTLS BROKEN"},
  };
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct run r;
    run_init(&r, cases[i].mode);
    run_script(&r, cases[i].segs);
    mw_status st = run_connect(&r);
    if(st != cases[i].st)
      fail_msg("case %zu: %s, want %s (%s)", i, mw_status_name(st),
               mw_status_name(cases[i].st),
               mw_error_message(mw_smtp_error(r.s)));
    path_is(&r, cases[i].path);
    assert_false(mw_smtp_is_encrypted(r.s));
    if(st == MW_E_INJECTION) {
      /* The count of injected bytes, and nothing sent after STARTTLS. */
      assert_non_null(strstr(mw_error_message(mw_smtp_error(r.s)),
                             "sent 14 bytes after its 220"));
      assert_string_equal(written(&r), EHLO_LINE "STARTTLS\r\n");
    }
    if(i == 4) {
      /* A ClientHello went out right after STARTTLS. */
      size_t n = 0;
      const char *w = mw__mem_layer_written(r.m, &n);
      size_t head = strlen(EHLO_LINE "STARTTLS\r\n");
      assert_true(n > head + 5);
      assert_int_equal((unsigned char)w[head], 0x16);
      assert_int_equal(r.s->phase, MW__PHASE_STARTTLS);
    }
    run_free(&r);
  }
  /* One injected byte is enough. */
  struct run r;
  run_init(&r, MW_TLS_STARTTLS);
  const char *segs[] = {GREETING, "250-mx\r\n250 STARTTLS\r\n",
                        "220 go ahead\r\nX", NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_E_INJECTION);
  assert_non_null(strstr(mw_error_message(mw_smtp_error(r.s)),
                         "sent 1 byte after"));
  run_free(&r);
}

/* The probe's stop: once the capabilities are known, no AUTH. */
static void stop_after_capabilities(void **state)
{
  (void)state;
  struct run r;
  run_auth_init(&r, "PLAIN");
  const char *segs[] = {GREETING, "250-mx\r\n250 AUTH PLAIN\r\n", NULL};
  run_script(&r, segs);
  r.s->stop_after_capa = true;
  assert_int_equal(run_connect(&r), MW_OK);
  path_is(&r, "GREETING EHLO CAPABILITIES");
  assert_string_equal(written(&r), EHLO_LINE);
  assert_true(mw_smtp_has_capability(r.s, "AUTH"));
  assert_int_equal(mw_smtp_quit(r.s), MW_OK); /* not READY: just closes */
  run_free(&r);
}

/* ---- what the probe reads from a machine that stopped or failed -------- */

static char traced[4096];

static void collect_trace(void *user, mw_trace_kind kind, double ms,
                          const char *line)
{
  (void)user;
  (void)kind;
  (void)ms;
  size_t used = strlen(traced);
  snprintf(traced + used, sizeof(traced) - used, "%s\n", line);
}

static void probe_facts(void **state)
{
  (void)state;
  struct run r;
  /* The refused EHLO is kept for the "HELO only" detail; a per-connection
   * prefix marks every traced line. */
  run_init(&r, MW_TLS_STARTTLS_OPTIONAL);
  traced[0] = '\0';
  assert_int_equal(mw_options_set_trace(r.o, collect_trace, NULL), MW_OK);
  const char *helo[] = {GREETING, "502 5.5.1 no EHLO\r\n", "250 mx\r\n",
                        NULL};
  run_script(&r, helo);
  r.s->stop_after_capa = true;
  snprintf(r.s->trace.prefix, sizeof(r.s->trace.prefix), "mx:25 plain");
  assert_int_equal(run_connect(&r), MW_OK);
  path_is(&r, "GREETING EHLO HELO STARTTLS CAPABILITIES");
  assert_string_equal(r.s->ehlo_refused, "502 5.5.1 no EHLO");
  assert_string_equal(r.s->starttls_refused, "");
  assert_false(r.s->esmtp);
  assert_non_null(strstr(traced, "[mx:25 plain] EHLO client.example.org\n"));
  assert_non_null(strstr(traced, "[mx:25 plain] 502 5.5.1 no EHLO\n"));
  /* Stopping at the capabilities is no reason to warn about going on in
   * clear: nothing more is sent. */
  assert_null(strstr(traced, "WITHOUT encryption"));
  run_free(&r);

  /* A refused STARTTLS is kept, reply and all. */
  run_init(&r, MW_TLS_STARTTLS_OPTIONAL);
  const char *refused[] = {GREETING, "250-mx\r\n250 STARTTLS\r\n",
                           "454 4.7.0 no TLS\r\n", NULL};
  run_script(&r, refused);
  r.s->stop_after_capa = true;
  assert_int_equal(run_connect(&r), MW_OK);
  path_is(&r, "GREETING EHLO STARTTLS CAPABILITIES");
  assert_string_equal(r.s->starttls_refused, "454 4.7.0 no TLS");
  assert_string_equal(r.s->ehlo_refused, "");
  run_free(&r);

  /* The injected byte count is a field, not only words. */
  run_init(&r, MW_TLS_STARTTLS_OPTIONAL);
  const char *inject[] = {GREETING, "250-mx\r\n250 STARTTLS\r\n",
                          "220 go ahead\r\n250 injected\r\n", NULL};
  run_script(&r, inject);
  r.s->stop_after_capa = true;
  assert_int_equal(run_connect(&r), MW_E_INJECTION);
  assert_int_equal(r.s->injected, 14);
  run_free(&r);

  /* TLS bytes where the greeting was expected: a kind of its own. */
  run_init(&r, MW_TLS_NONE);
  const char *tls_bytes[] = {"\x15\x03\x03\x00\x02\x02\x28", NULL};
  run_script(&r, tls_bytes);
  assert_int_equal(run_connect(&r), MW_E_PROTOCOL);
  path_is(&r, "GREETING BROKEN");
  assert_int_equal(r.s->err.protocol_failure, MW__PROTO_FAIL_TLS_BYTES);
  run_free(&r);

  /* An over-long line: a kind too. */
  static char longline[5000 + 8];
  memcpy(longline, "250-", 4);
  memset(longline + 4, 'x', 5000);
  memcpy(longline + 5004, "\r\n", 3);
  run_init(&r, MW_TLS_NONE);
  const char *toolong[] = {GREETING, longline, NULL};
  run_script(&r, toolong);
  assert_int_equal(run_connect(&r), MW_E_PROTOCOL);
  assert_int_equal(r.s->err.protocol_failure, MW__PROTO_FAIL_LINE_TOO_LONG);
  run_free(&r);
}

/* ---- AUTH ------------------------------------------------------------------ */

static void auth_rounds(void **state)
{
  (void)state;
  static const struct {
    const char *mechs;
    const char *segs[6];
    mw_status st;
    const char *path;
    const char *wrote; /* after EHLO */
  } cases[] = {
      {"PLAIN",
       {GREETING, "250-mx\r\n250 AUTH PLAIN\r\n", "235 2.7.0 ok\r\n", NULL},
       MW_OK,
       "GREETING EHLO AUTH READY",
       "AUTH PLAIN AHVzZXIAcGVuY2lsLVNlY3JldC03Nw==\r\n"},
      {"LOGIN",
       {GREETING, "250-mx\r\n250 AUTH LOGIN\r\n", "334 VXNlcm5hbWU6\r\n",
        "334 UGFzc3dvcmQ6\r\n", "235 2.7.0 ok\r\n", NULL},
       MW_OK,
       "GREETING EHLO AUTH READY",
       "AUTH LOGIN\r\ndXNlcg==\r\ncGVuY2lsLVNlY3JldC03Nw==\r\n"},
      {"CRAM-MD5",
       {GREETING, "250-mx\r\n250 AUTH CRAM-MD5\r\n",
        "334 PDEyMzQ1QGV4YW1wbGUub3JnPg==\r\n", "235 2.7.0 ok\r\n", NULL},
       MW_OK,
       "GREETING EHLO AUTH READY",
       NULL},
      /* Refused on the first round; the reply is attached. */
      {"PLAIN",
       {GREETING, "250-mx\r\n250 AUTH PLAIN\r\n", "535 5.7.8 no\r\n", NULL},
       MW_E_AUTH,
       "GREETING EHLO AUTH BROKEN",
       "AUTH PLAIN AHVzZXIAcGVuY2lsLVNlY3JldC03Nw==\r\n"},
      /* A challenge that is not base64: cancelled with "*". */
      {"LOGIN",
       {GREETING, "250-mx\r\n250 AUTH LOGIN\r\n", "334 not base64!\r\n",
        NULL},
       MW_E_AUTH,
       "GREETING EHLO AUTH BROKEN",
       "AUTH LOGIN\r\n*\r\n"},
      /* Lines after an AUTH reply that nothing asked for. */
      {"LOGIN",
       {GREETING, "250-mx\r\n250 AUTH LOGIN\r\n",
        "334 VXNlcm5hbWU6\r\n235 early\r\n", NULL},
       MW_E_PROTOCOL,
       "GREETING EHLO AUTH BROKEN",
       "AUTH LOGIN\r\n"},
      /* No common mechanism: nothing sent. */
      {"PLAIN",
       {GREETING, "250-mx\r\n250 AUTH GSSAPI\r\n", NULL},
       MW_E_AUTH_UNAVAILABLE,
       "GREETING EHLO AUTH BROKEN",
       ""},
  };
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct run r;
    run_auth_init(&r, cases[i].mechs);
    run_script(&r, cases[i].segs);
    mw_status st = run_connect(&r);
    if(st != cases[i].st)
      fail_msg("case %zu: %s, want %s (%s)", i, mw_status_name(st),
               mw_status_name(cases[i].st),
               mw_error_message(mw_smtp_error(r.s)));
    path_is(&r, cases[i].path);
    const char *w = written(&r);
    assert_memory_equal(w, EHLO_LINE, strlen(EHLO_LINE));
    if(cases[i].wrote)
      assert_string_equal(w + strlen(EHLO_LINE), cases[i].wrote);
    if(st == MW_OK)
      assert_string_equal(mw_smtp_auth_mechanism(r.s), cases[i].mechs);
    if(st == MW_E_AUTH && i == 3)
      assert_int_equal(mw_error_reply_code(mw_smtp_error(r.s)), 535);
    /* The password is in no error text. */
    assert_null(strstr(mw_error_message(mw_smtp_error(r.s)), PASSWORD));
    run_free(&r);
  }
}

/* ---- SCRAM-SHA-256 against a server that computes its proof --------- */

static void b64(const void *in, size_t len, char *out)
{
  EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

static size_t unb64(const char *in, size_t inlen, char *out)
{
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

/* A live fake server as a layer: it answers each line the client wrote
 * when the client reads, so it can compute what depends on the client's
 * random nonce.  answer() appends the reply to a line to l->in. */
struct live {
  struct mw__layer layer;
  struct mw__sbuf in, out; /* to the client, from the client */
  size_t inpos, handled;
  bool closed, good_proof;
  char cfirst[512], sfirst[512];
  int lines;
};

static void live_answer(struct live *l, const char *line, size_t len);

static mw_status live_read(struct mw__layer *ly, void *buf, size_t len,
                           size_t *got, short *want)
{
  struct live *l = ly->impl;
  *got = 0;
  *want = 0;
  while(l->inpos == l->in.len) {
    const char *nl = memchr(l->out.data + l->handled, '\n',
                            l->out.len - l->handled);
    if(!l->out.len || !nl) {
      *want = POLLIN;
      return MW_OK;
    }
    const char *line = l->out.data + l->handled;
    size_t n = (size_t)(nl - line);
    if(n && line[n - 1] == '\r')
      n--;
    l->handled = (size_t)(nl + 1 - l->out.data);
    live_answer(l, line, n);
  }
  size_t n = l->in.len - l->inpos < len ? l->in.len - l->inpos : len;
  memcpy(buf, l->in.data + l->inpos, n);
  l->inpos += n;
  *got = n;
  return MW_OK;
}

static mw_status live_write(struct mw__layer *ly, const void *buf, size_t len,
                            size_t *put, short *want)
{
  struct live *l = ly->impl;
  *want = 0;
  assert_true(mw__sbuf_append(&l->out, buf, len));
  *put = len;
  return MW_OK;
}

static void live_close(struct mw__layer *ly)
{
  struct live *l = ly->impl;
  l->closed = true;
}

static const struct mw__layer_ops live_ops = {.name = "live",
                                              .read = live_read,
                                              .write = live_write,
                                              .close = live_close};

#define SALT "salt-of-the-earth"

static void scram_proof(const char *cfirst_bare, const char *sfirst,
                        const char *cfinal_noproof, bool good, char *v_b64)
{
  char auth[2048];
  snprintf(auth, sizeof(auth), "%s,%s,%s", cfirst_bare, sfirst,
           cfinal_noproof);
  unsigned char salted[EVP_MAX_MD_SIZE], key[EVP_MAX_MD_SIZE],
      sig[EVP_MAX_MD_SIZE];
  const EVP_MD *md = EVP_sha256();
  int hl = EVP_MD_get_size(md);
  assert_int_equal(PKCS5_PBKDF2_HMAC(PASSWORD, (int)strlen(PASSWORD),
                                     (const unsigned char *)SALT,
                                     (int)strlen(SALT), 4096, md, hl, salted),
                   1);
  unsigned kl = 0, sl = 0;
  assert_non_null(HMAC(md, salted, hl, (const unsigned char *)"Server Key",
                       10, key, &kl));
  assert_non_null(HMAC(md, key, (int)kl, (unsigned char *)auth, strlen(auth),
                       sig, &sl));
  if(!good)
    sig[0] ^= 1;
  char sig_b64[128], v[160];
  b64(sig, sl, sig_b64);
  snprintf(v, sizeof(v), "v=%s", sig_b64);
  b64(v, strlen(v), v_b64);
}

/* The server's side: greeting, EHLO, then SCRAM-SHA-256 (RFC 7677). */
static void live_answer(struct live *l, const char *line, size_t len)
{
  char chal[1024], reply[2048];
  l->lines++;
  if(len > 5 && memcmp(line, "EHLO ", 5) == 0) {
    mw__sbuf_puts(&l->in, "250-mx\r\n250 AUTH SCRAM-SHA-256\r\n");
    return;
  }
  static const char cmd[] = "AUTH SCRAM-SHA-256 ";
  if(len > sizeof(cmd) - 1 && memcmp(line, cmd, sizeof(cmd) - 1) == 0) {
    unb64(line + sizeof(cmd) - 1, len - (sizeof(cmd) - 1), l->cfirst);
    const char *cnonce = strstr(l->cfirst, "r=");
    assert_non_null(cnonce);
    char salt_b64[64];
    b64(SALT, strlen(SALT), salt_b64);
    snprintf(l->sfirst, sizeof(l->sfirst), "r=%sSERVERNONCE,s=%s,i=4096",
             cnonce + 2, salt_b64);
    b64(l->sfirst, strlen(l->sfirst), chal);
    snprintf(reply, sizeof(reply), "334 %s\r\n", chal);
    mw__sbuf_puts(&l->in, reply);
    return;
  }
  if(len == 0) { /* the empty answer to the proof */
    mw__sbuf_puts(&l->in, "235 2.7.0 ok\r\n");
    return;
  }
  if(len == 1 && line[0] == '*') {
    mw__sbuf_puts(&l->in, "501 cancelled\r\n");
    return;
  }
  /* The client-final: check it carries a proof, answer with ours. */
  char cfinal[512];
  unb64(line, len, cfinal);
  char *p = strstr(cfinal, ",p=");
  assert_non_null(p);
  *p = '\0';
  char v[256];
  scram_proof(l->cfirst + 3, l->sfirst, cfinal, l->good_proof, v);
  snprintf(reply, sizeof(reply), "334 %s\r\n", v);
  mw__sbuf_puts(&l->in, reply);
}

static void scram_run(bool good_proof)
{
  struct run r;
  run_auth_init(&r, "SCRAM-SHA-256");
  run_script(&r, NULL);
  struct live l;
  memset(&l, 0, sizeof(l));
  mw__sbuf_init(&l.in);
  mw__sbuf_init(&l.out);
  l.good_proof = good_proof;
  mw__sbuf_puts(&l.in, GREETING);
  mw__layer_init(&l.layer, &live_ops, NULL, &l, &r.s->err);
  mw_status st = mw__smtp_connect_over(r.s, &l.layer);
  assert_true(l.closed || st == MW_OK);
  if(!good_proof) {
    assert_int_equal(st, MW_E_AUTH_SERVER_UNVERIFIED);
    path_is(&r, "GREETING EHLO AUTH BROKEN");
    /* No further command after the failed proof. */
    assert_null(strstr(l.out.data, "MAIL"));
  }
  else {
    if(st)
      fail_msg("%s: %s", mw_status_name(st),
               mw_error_message(mw_smtp_error(r.s)));
    path_is(&r, "GREETING EHLO AUTH READY");
    assert_string_equal(mw_smtp_auth_mechanism(r.s), "SCRAM-SHA-256");
    /* EHLO, AUTH with the client-first, the client-final, the empty
     * answer to the server's proof. */
    assert_int_equal(l.lines, 4);
    assert_true(l.out.len >= 4 &&
                memcmp(l.out.data + l.out.len - 4, "\r\n\r\n", 4) == 0);
  }
  mw_smtp_free(r.s);
  r.s = NULL;
  mw__sbuf_free(&l.in);
  mw__sbuf_free(&l.out);
  mw__mem_layer_free(r.m);
  r.m = NULL;
  mw_options_free(r.o);
}

static void auth_scram_mutual(void **state)
{
  (void)state;
  scram_run(true);
  scram_run(false);
}

/* ---- the transaction ------------------------------------------------------ */

static const char *const PIPE_EHLO =
    "250-mx.example.org\r\n250-PIPELINING\r\n250 8BITMIME\r\n";

static void transaction_paths(void **state)
{
  (void)state;
  const char *to[] = {"b@example.org", "c@example.org", "d@example.org",
                      NULL};
  /* Pipelined, mixed recipients. */
  struct run r;
  run_init(&r, MW_TLS_NONE);
  const char *segs[] = {GREETING, PIPE_EHLO,
                        "250 2.1.0 ok\r\n250 2.1.5 ok\r\n"
                        "550 5.1.1 no such user\r\n451 4.3.0 later\r\n"
                        "354 go on\r\n",
                        "250 2.0.0 Ok: queued as 4ABC12\r\n",
                        "221 2.0.0 bye\r\n", NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_OK);
  mw_envelope *e = envelope("a@example.org", to);
  mw_result *res = NULL;
  assert_int_equal(mw_smtp_send_buffer(r.s, e, MESSAGE, strlen(MESSAGE),
                                       &res),
                   MW_OK);
  assert_int_equal(mw_result_delivery(res), MW_DELIVERY_ACCEPTED);
  assert_true(mw_result_recipient_accepted(res, 0));
  assert_int_equal(mw_result_recipient_code(res, 1), 550);
  assert_int_equal(mw_result_recipient_code(res, 2), 451);
  assert_false(mw_result_recipient_accepted(res, 2));
  assert_int_equal(mw_smtp_quit(r.s), MW_OK);
  path_is(&r, "GREETING EHLO AUTH READY PIPELINE BODY DATA_END READY QUIT "
              "CLOSED");
  mw_result_free(res);
  run_free(&r);

  /* One command per round trip, a recipient refused. */
  run_init(&r, MW_TLS_NONE);
  const char *segs2[] = {GREETING, "250 mx\r\n", "250 ok\r\n", "250 ok\r\n",
                         "550 no\r\n", "250 ok\r\n", "354 go\r\n",
                         "250 queued\r\n", NULL};
  run_script(&r, segs2);
  assert_int_equal(run_connect(&r), MW_OK);
  assert_int_equal(mw_smtp_send_buffer(r.s, e, MESSAGE, strlen(MESSAGE),
                                       &res),
                   MW_OK);
  path_is(&r, "GREETING EHLO AUTH READY MAIL RCPT RCPT RCPT DATA BODY "
              "DATA_END READY");
  assert_false(mw_result_recipient_accepted(res, 1));
  mw_result_free(res);
  run_free(&r);

  /* Pipelined, every recipient refused, a lax server opens DATA: the
   * empty data is ended, then RSET. */
  run_init(&r, MW_TLS_NONE);
  const char *segs3[] = {GREETING, PIPE_EHLO,
                         "250 ok\r\n550 no\r\n550 no\r\n550 no\r\n354 go\r\n",
                         "554 no valid recipients\r\n", "250 reset\r\n",
                         NULL};
  run_script(&r, segs3);
  assert_int_equal(run_connect(&r), MW_OK);
  assert_int_equal(mw_smtp_send_buffer(r.s, e, MESSAGE, strlen(MESSAGE),
                                       &res),
                   MW_E_RECIPIENTS);
  assert_int_equal(mw_result_delivery(res), MW_DELIVERY_REFUSED);
  path_is(&r, "GREETING EHLO AUTH READY PIPELINE DATA_EMPTY RSET READY");
  assert_null(strstr(written(&r), "hello"));
  mw_result_free(res);
  run_free(&r);

  /* The final reply refuses: the session stays, no RSET. */
  run_init(&r, MW_TLS_NONE);
  const char *segs4[] = {GREETING, PIPE_EHLO,
                         "250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n",
                         "554 5.7.1 spam\r\n", NULL};
  run_script(&r, segs4);
  assert_int_equal(run_connect(&r), MW_OK);
  assert_int_equal(mw_smtp_send_buffer(r.s, e, MESSAGE, strlen(MESSAGE),
                                       &res),
                   MW_E_REJECTED);
  assert_int_equal(mw_result_final_code(res), 554);
  path_is(&r, "GREETING EHLO AUTH READY PIPELINE BODY DATA_END READY");
  mw_result_free(res);
  mw_envelope_free(e);
  run_free(&r);
}

/* ---- BDAT ------------------------------------------------------------------ */

static void bdat_framing(void **state)
{
  (void)state;
  struct mw__sbuf out;
  mw__sbuf_init(&out);
  /* The encoder for BDAT: CRLF everywhere, no dot-stuffing, no final
   * dot. */
  struct mw__data_encoder enc;
  mw__data_encoder_init_bdat(&enc);
  const char msg[] = "a\n.b\r\r\nlast";
  assert_true(mw__data_encode(&enc, msg, sizeof(msg) - 1, &out));
  assert_true(mw__data_finish(&enc, &out));
  assert_string_equal(out.data, "a\r\n.b\r\n\r\nlast\r\n");
  /* The same bytes for DATA are stuffed and end with a dot. */
  struct mw__sbuf data;
  mw__sbuf_init(&data);
  mw__data_encoder_init(&enc);
  assert_true(mw__data_encode(&enc, msg, sizeof(msg) - 1, &data));
  assert_true(mw__data_finish(&enc, &data));
  assert_string_equal(data.data, "a\r\n..b\r\n\r\nlast\r\n.\r\n");
  mw__sbuf_free(&data);
  /* Chunks: the size on the command line, the octets as they are. */
  struct mw__sbuf wire;
  mw__sbuf_init(&wire);
  assert_true(mw__bdat_frame(out.data, 4, false, &wire));
  assert_true(mw__bdat_frame(out.data + 4, out.len - 4, true, &wire));
  assert_true(mw__bdat_frame("", 0, true, &wire));
  assert_string_equal(wire.data, "BDAT 4\r\na\r\n.BDAT 11 LAST\r\n"
                                 "b\r\n\r\nlast\r\nBDAT 0 LAST\r\n");
  mw__sbuf_free(&wire);
  mw__sbuf_free(&out);
}

static void bdat_transaction(void **state)
{
  (void)state;
  const char *to[] = {"b@example.org", NULL};
  mw_envelope *e = envelope("a@example.org", to);
  /* Pipelined: MAIL, RCPT and the one BDAT LAST chunk in one write, the
   * three replies in one read: one round trip for the message. */
  struct run r;
  run_init(&r, MW_TLS_NONE);
  const char *segs[] = {GREETING,
                        "250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n",
                        "250 ok\r\n250 ok\r\n250 2.0.0 queued as B1\r\n",
                        NULL};
  run_script(&r, segs);
  r.s->bdat_allowed = true;
  assert_int_equal(run_connect(&r), MW_OK);
  mw_result *res = NULL;
  assert_int_equal(mw_smtp_send_buffer(r.s, e, MESSAGE, strlen(MESSAGE),
                                       &res),
                   MW_OK);
  assert_int_equal(mw_result_delivery(res), MW_DELIVERY_ACCEPTED);
  assert_string_equal(mw_result_queue_id(res), "B1");
  path_is(&r, "GREETING EHLO AUTH READY PIPELINE READY");
  assert_string_equal(written(&r),
                      EHLO_LINE "MAIL FROM:<a@example.org>\r\n"
                                "RCPT TO:<b@example.org>\r\n"
                                "BDAT 32 LAST\r\n" MESSAGE);
  /* One write for the whole transaction. */
  assert_int_equal(mw__mem_layer_writes(r.m), 2); /* EHLO, the batch */
  /* mw_smtp_reset() with PIPELINING costs no round trip: its RSET leads
   * the next batch. */
  assert_int_equal(mw_smtp_reset(r.s), MW_OK);
  mw_result_free(res);
  res = NULL;
  assert_true(mw__mem_layer_add_str(r.m, "250 reset\r\n250 ok\r\n250 ok\r\n"
                                         "250 2.0.0 queued as B2\r\n"));
  assert_int_equal(mw_smtp_send_buffer(r.s, e, MESSAGE, strlen(MESSAGE),
                                       &res),
                   MW_OK);
  assert_string_equal(mw_result_queue_id(res), "B2");
  assert_int_equal(mw__mem_layer_writes(r.m), 3);
  assert_non_null(strstr(written(&r), MESSAGE "RSET\r\nMAIL FROM:"));
  mw_result_free(res);
  run_free(&r);

  /* Pipelined, the recipient refused: the server refuses the chunk too;
   * the envelope's refusal is the answer, then RSET. */
  run_init(&r, MW_TLS_NONE);
  const char *segs_r[] = {GREETING,
                          "250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n",
                          "250 ok\r\n550 5.1.1 no such user\r\n"
                          "554 5.5.1 no valid recipients\r\n",
                          "250 reset\r\n", NULL};
  run_script(&r, segs_r);
  r.s->bdat_allowed = true;
  assert_int_equal(run_connect(&r), MW_OK);
  assert_int_equal(mw_smtp_send_buffer(r.s, e, MESSAGE, strlen(MESSAGE),
                                       &res),
                   MW_E_RECIPIENTS);
  assert_int_equal(mw_result_delivery(res), MW_DELIVERY_REFUSED);
  path_is(&r, "GREETING EHLO AUTH READY PIPELINE RSET READY");
  mw_result_free(res);
  res = NULL;
  run_free(&r);

  /* Pipelined, a 421 to the leading RSET: closed before the server took
   * anything of the message (not sent, may be sent again). */
  run_init(&r, MW_TLS_NONE);
  const char *segs_421[] = {GREETING,
                            "250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n",
                            "250 ok\r\n250 ok\r\n250 queued as B3\r\n",
                            "421 4.7.0 too many messages\r\n", NULL};
  run_script(&r, segs_421);
  r.s->bdat_allowed = true;
  assert_int_equal(run_connect(&r), MW_OK);
  assert_int_equal(mw_smtp_send_buffer(r.s, e, MESSAGE, strlen(MESSAGE),
                                       &res),
                   MW_OK);
  mw_result_free(res);
  res = NULL;
  assert_int_equal(mw_smtp_reset(r.s), MW_OK);
  assert_int_equal(mw_smtp_send_buffer(r.s, e, MESSAGE, strlen(MESSAGE),
                                       &res),
                   MW_E_CLOSED);
  assert_int_equal(mw_result_delivery(res), MW_DELIVERY_NOT_SENT);
  mw_result_free(res);
  res = NULL;
  run_free(&r);

  /* A message of more than one chunk, one command per round trip; the
   * server refuses the first chunk: a refusal, then RSET. */
  size_t big = 3 * MW__SMTP_DATA_CHUNK / 2;
  char *body = malloc(big);
  assert_non_null(body);
  for(size_t i = 0; i < big; i++)
    body[i] = (i % 80 == 79) ? '\n' : 'x';

  /* Pipelined and more than one chunk: the first goes with the envelope,
   * the rest once the envelope and that chunk are accepted. */
  run_init(&r, MW_TLS_NONE);
  const char *segs_big[] = {GREETING,
                            "250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n",
                            "250 ok\r\n250 ok\r\n250 chunk\r\n",
                            "250 queued as B4\r\n", NULL};
  run_script(&r, segs_big);
  r.s->bdat_allowed = true;
  assert_int_equal(run_connect(&r), MW_OK);
  assert_int_equal(mw_smtp_send_buffer(r.s, e, body, big, &res), MW_OK);
  assert_string_equal(mw_result_queue_id(res), "B4");
  path_is(&r, "GREETING EHLO AUTH READY PIPELINE BDAT DATA_END READY");
  const char *w = written(&r);
  const char *first = strstr(w, "RCPT TO:<b@example.org>\r\nBDAT ");
  assert_non_null(first);
  first = strstr(first, "BDAT ");
  char line[64];
  snprintf(line, sizeof(line), "%.*s",
           (int)(strstr(first, "\r\n") - first), first);
  assert_null(strstr(line, "LAST")); /* the first chunk is not the last */
  assert_non_null(strstr(first + 5, " LAST\r\n"));
  mw_result_free(res);
  res = NULL;
  run_free(&r);
  run_init(&r, MW_TLS_NONE);
  const char *segs2[] = {GREETING, "250-mx\r\n250 CHUNKING\r\n", "250 ok\r\n",
                         "250 ok\r\n", "250 chunk ok\r\n", "250 queued\r\n",
                         NULL};
  run_script(&r, segs2);
  r.s->bdat_allowed = true;
  assert_int_equal(run_connect(&r), MW_OK);
  mw_status big_st = mw_smtp_send_buffer(r.s, e, body, big, &res);
  if(big_st)
    fail_msg("%s: %s (path %s)", mw_status_name(big_st),
             mw_error_message(mw_smtp_error(r.s)), r.path);
  path_is(&r, "GREETING EHLO AUTH READY MAIL RCPT BDAT DATA_END READY");
  assert_non_null(strstr(written(&r), "\nBDAT "));
  assert_non_null(strstr(written(&r), " LAST\r\n"));
  mw_result_free(res);
  run_free(&r);

  run_init(&r, MW_TLS_NONE);
  const char *segs3[] = {GREETING, "250-mx\r\n250 CHUNKING\r\n", "250 ok\r\n",
                         "250 ok\r\n", "552 5.3.4 too big\r\n",
                         "250 reset\r\n", NULL};
  run_script(&r, segs3);
  r.s->bdat_allowed = true;
  assert_int_equal(run_connect(&r), MW_OK);
  assert_int_equal(mw_smtp_send_buffer(r.s, e, body, big, &res),
                   MW_E_REJECTED);
  assert_int_equal(mw_result_delivery(res), MW_DELIVERY_REFUSED);
  assert_int_equal(mw_error_reply_code(mw_smtp_error(r.s)), 552);
  path_is(&r, "GREETING EHLO AUTH READY MAIL RCPT BDAT RSET READY");
  assert_null(strstr(written(&r), "LAST"));
  mw_result_free(res);
  run_free(&r);
  free(body);
  mw_envelope_free(e);
}

/* ---- progress (mw_options_set_progress) -------------------------------- */

struct progress_log {
  size_t calls;
  uint64_t last_sent, last_total, first_total;
  bool backwards, over;
};

static void progress_record(void *user, uint64_t sent, uint64_t total)
{
  struct progress_log *p = user;
  if(!p->calls)
    p->first_total = total;
  if(p->calls && (sent < p->last_sent))
    p->backwards = true;
  if(sent > total)
    p->over = true;
  p->calls++;
  p->last_sent = sent;
  p->last_total = total;
}

static void progress_reports(void **state)
{
  (void)state;
  const char *to[] = {"b@example.org", NULL};
  mw_envelope *e = envelope("a@example.org", to);
  /* 3.5 chunks of 80-byte lines, one starting with a dot. */
  size_t big = 7 * MW__SMTP_DATA_CHUNK / 2;
  char *body = malloc(big);
  assert_non_null(body);
  for(size_t i = 0; i < big; i++)
    body[i] = (i % 80 == 79) ? '\n' : 'x';
  body[80] = '.';
  for(int bdat = 0; bdat < 2; bdat++) {
    struct progress_log log = {0};
    struct run r;
    run_init(&r, MW_TLS_NONE);
    assert_int_equal(mw_options_set_progress(r.o, progress_record, &log),
                     MW_OK);
    const char *data_segs[] = {GREETING, PIPE_EHLO,
                               "250 ok\r\n250 ok\r\n354 go\r\n",
                               "250 2.0.0 queued as P1\r\n", NULL};
    const char *bdat_segs[] = {GREETING,
                               "250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n",
                               "250 ok\r\n250 ok\r\n250 chunk\r\n",
                               "250 chunk\r\n", "250 chunk\r\n",
                               "250 2.0.0 queued as P1\r\n", NULL};
    run_script(&r, bdat ? bdat_segs : data_segs);
    r.s->bdat_allowed = bdat;
    assert_int_equal(run_connect(&r), MW_OK);
    mw_message_info info;
    mw_message_info_scan(&info, body, big);
    mw_result *res = NULL;
    mw_status st = mw_smtp_send_buffer(r.s, e, body, big, &res);
    if(st)
      fail_msg("%s: %s (path %s)", mw_status_name(st),
               mw_error_message(mw_smtp_error(r.s)), r.path);
    /* A call per block and one at the end, never going back, never past
     * the total; the first total is the scan's estimate. */
    assert_true(log.calls >= 4);
    assert_true(log.calls <= 2 + big / MW__SMTP_DATA_CHUNK + 2);
    assert_false(log.backwards);
    assert_false(log.over);
    assert_int_equal(log.first_total, info.size);
    /* The end: sent == total == the data's bytes on the wire. */
    const char *w = written(&r);
    const char *start = bdat ? strstr(w, "BDAT ") : strstr(w, "DATA\r\n");
    assert_non_null(start);
    if(!bdat)
      start += strlen("DATA\r\n");
    assert_int_equal(log.last_sent, log.last_total);
    assert_int_equal(log.last_sent, strlen(w) - (size_t)(start - w));
    mw_result_free(res);
    run_free(&r);
  }
  /* Cleared, and refused without options. */
  assert_int_equal(mw_options_set_progress(NULL, progress_record, NULL),
                   MW_E_INVALID);
  free(body);
  mw_envelope_free(e);
}

/* ---- QUIT -------------------------------------------------------------- */

/* mw_smtp_quit_after_send(): with PIPELINING the end of the data and QUIT
 * go in one write (RFC 2920), the 221 is read by mw_smtp_quit(), and the
 * session takes nothing else in between; without PIPELINING, or with the
 * first BDAT chunk sent before the envelope is answered, QUIT is sent by
 * mw_smtp_quit() as always. */
static void quit_with_last_message(void **state)
{
  (void)state;
  const char *to[] = {"b@example.org", NULL};
  mw_envelope *e = envelope("a@example.org", to);
  struct run r;
  run_init(&r, MW_TLS_NONE);
  const char *segs[] = {GREETING, PIPE_EHLO,
                        "250 2.1.0 ok\r\n250 2.1.5 ok\r\n354 go on\r\n",
                        "250 2.0.0 Ok: queued as Q1\r\n221 2.0.0 bye\r\n",
                        NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_OK);
  assert_int_equal(mw_smtp_quit_after_send(r.s), MW_OK);
  assert_int_equal(mw_smtp_quit_after_send(NULL), MW_E_INVALID);
  mw_result *res = NULL;
  assert_int_equal(mw_smtp_send_buffer(r.s, e, MESSAGE, strlen(MESSAGE),
                                       &res),
                   MW_OK);
  assert_string_equal(mw_result_queue_id(res), "Q1");
  /* EHLO, the envelope's batch, then the body, its dot and QUIT. */
  assert_int_equal(mw__mem_layer_writes(r.m), 3);
  const char *w = written(&r);
  size_t n = strlen(w);
  assert_true(n > 11 && strcmp(w + n - 11, "\r\n.\r\nQUIT\r\n") == 0);
  mw_result_free(res);
  res = NULL;
  /* Nothing more goes after QUIT. */
  assert_int_equal(mw_smtp_send_buffer(r.s, e, MESSAGE, strlen(MESSAGE),
                                       &res),
                   MW_E_STATE);
  assert_null(res);
  assert_int_equal(mw_smtp_reset(r.s), MW_E_STATE);
  assert_int_equal(mw_smtp_quit(r.s), MW_OK);
  assert_int_equal(mw_smtp_error(r.s)->status, MW_OK);
  path_is(&r, "GREETING EHLO AUTH READY PIPELINE BODY DATA_END READY QUIT "
              "CLOSED");
  assert_int_equal(mw__mem_layer_writes(r.m), 3); /* no second QUIT */
  run_free(&r);

  /* No PIPELINING: the dot alone, then QUIT of its own. */
  run_init(&r, MW_TLS_NONE);
  const char *segs_np[] = {GREETING, "250 mx\r\n", "250 ok\r\n",
                           "250 ok\r\n", "354 go on\r\n",
                           "250 2.0.0 Ok: queued as Q2\r\n",
                           "221 2.0.0 bye\r\n", NULL};
  run_script(&r, segs_np);
  assert_int_equal(run_connect(&r), MW_OK);
  assert_int_equal(mw_smtp_quit_after_send(r.s), MW_OK);
  assert_int_equal(mw_smtp_send_buffer(r.s, e, MESSAGE, strlen(MESSAGE),
                                       &res),
                   MW_OK);
  w = written(&r);
  n = strlen(w);
  assert_true(n > 5 && strcmp(w + n - 5, "\r\n.\r\n") == 0);
  assert_int_equal(mw_smtp_quit(r.s), MW_OK);
  w = written(&r);
  n = strlen(w);
  assert_true(strcmp(w + n - 6, "QUIT\r\n") == 0);
  path_is(&r, "GREETING EHLO AUTH READY MAIL RCPT DATA BODY DATA_END READY "
              "QUIT CLOSED");
  mw_result_free(res);
  res = NULL;
  run_free(&r);

  /* The first BDAT chunk rides with the envelope (not yet answered): QUIT
   * waits for mw_smtp_quit(). */
  run_init(&r, MW_TLS_NONE);
  const char *segs_b[] = {GREETING,
                          "250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n",
                          "250 ok\r\n250 ok\r\n250 2.0.0 queued as B1\r\n",
                          "221 bye\r\n", NULL};
  run_script(&r, segs_b);
  r.s->bdat_allowed = true;
  assert_int_equal(run_connect(&r), MW_OK);
  assert_int_equal(mw_smtp_quit_after_send(r.s), MW_OK);
  assert_int_equal(mw_smtp_send_buffer(r.s, e, MESSAGE, strlen(MESSAGE),
                                       &res),
                   MW_OK);
  assert_null(strstr(written(&r), "QUIT"));
  assert_int_equal(mw_smtp_quit(r.s), MW_OK);
  assert_non_null(strstr(written(&r), MESSAGE "QUIT\r\n"));
  mw_result_free(res);
  run_free(&r);
  mw_envelope_free(e);
}

/* ---- mw_smtp_send_many() ------------------------------------------------ */

struct many {
  const mw_envelope *env;
  const char *body[8];       /* the messages; NULL ends */
  mw_message_info info[8];   /* used when bad[i] */
  bool bad[8];
  size_t taken;              /* next() calls that gave a message */
  size_t reported;
  mw_status st[8];
  mw_delivery delivery[8];
  char queue_id[8][32];
  bool had_result[8];
  struct {
    const char *data;
    size_t len, pos;
  } rd[8];
};

static mw_status many_read(void *user, char *buf, size_t len, size_t *got)
{
  struct {
    const char *data;
    size_t len, pos;
  } *r = user;
  size_t n = r->len - r->pos < len ? r->len - r->pos : len;
  memcpy(buf, r->data + r->pos, n);
  r->pos += n;
  *got = n;
  return MW_OK;
}

static bool many_next(void *user, mw_outgoing *o)
{
  struct many *m = user;
  size_t i = m->taken;
  if(i >= 8 || !m->body[i])
    return false;
  m->taken++;
  m->rd[i].data = m->body[i];
  m->rd[i].len = strlen(m->body[i]);
  m->rd[i].pos = 0;
  o->envelope = m->env;
  o->info = m->bad[i] ? &m->info[i] : NULL;
  o->read = many_read;
  o->read_user = &m->rd[i];
  return true;
}

static void many_done(void *user, size_t index, mw_status st,
                      const mw_error *err, mw_result *res)
{
  struct many *m = user;
  assert_int_equal(index, m->reported); /* in order, once each */
  assert_true(index < m->taken);
  assert_non_null(err);
  m->st[index] = st;
  m->had_result[index] = res != NULL;
  m->delivery[index] = res ? mw_result_delivery(res) : MW_DELIVERY_NOT_SENT;
  snprintf(m->queue_id[index], sizeof(m->queue_id[index]), "%s",
           res ? mw_result_queue_id(res) : "");
  mw_result_free(res);
  m->reported++;
}

/* With PIPELINING each message's envelope goes behind the previous
 * message's dot: one write and one round trip a message. */
static void many_pipelined(void **state)
{
  (void)state;
  const char *to[] = {"b@example.org", NULL};
  mw_envelope *e = envelope("a@example.org", to);
  struct run r;
  run_init(&r, MW_TLS_NONE);
  const char *segs[] = {
      GREETING, PIPE_EHLO, "250 ok\r\n250 ok\r\n354 go\r\n",
      "250 2.0.0 queued as S1\r\n250 ok\r\n250 ok\r\n354 go\r\n",
      "250 2.0.0 queued as S2\r\n250 ok\r\n250 ok\r\n354 go\r\n",
      "250 2.0.0 queued as S3\r\n", "221 bye\r\n", NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_OK);
  struct many m = {.env = e, .body = {MESSAGE, MESSAGE, MESSAGE}};
  size_t count = 99;
  assert_int_equal(mw_smtp_send_many(r.s, many_next, many_done, &m, &count),
                   MW_OK);
  assert_int_equal(count, 3);
  assert_int_equal(m.reported, 3);
  for(int i = 0; i < 3; i++) {
    assert_int_equal(m.st[i], MW_OK);
    assert_int_equal(m.delivery[i], MW_DELIVERY_ACCEPTED);
  }
  assert_string_equal(m.queue_id[0], "S1");
  assert_string_equal(m.queue_id[2], "S3");
  /* EHLO, the first batch, then for each message its data, its dot and
   * the next envelope in one write. */
  assert_int_equal(mw__mem_layer_writes(r.m), 5);
  assert_non_null(strstr(written(&r), "hello\r\n..dot line\r\n.\r\n"
                                      "MAIL FROM:<a@example.org>\r\n"
                                      "RCPT TO:<b@example.org>\r\nDATA\r\n"));
  assert_int_equal(mw_smtp_quit(r.s), MW_OK);
  run_free(&r);
  mw_envelope_free(e);
}

/* A refusal keeps the session: message 2's data refused, message 3's
 * envelope (sent behind it) goes on; a message that does not fit the
 * server is reported in its turn with nothing sent. */
static void many_refusals(void **state)
{
  (void)state;
  const char *to[] = {"b@example.org", NULL};
  mw_envelope *e = envelope("a@example.org", to);
  struct run r;
  run_init(&r, MW_TLS_NONE);
  const char *segs[] = {
      GREETING, PIPE_EHLO, "250 ok\r\n250 ok\r\n354 go\r\n",
      "250 2.0.0 queued as S1\r\n250 ok\r\n250 ok\r\n354 go\r\n",
      "554 5.7.1 looks like spam\r\n250 ok\r\n250 ok\r\n354 go\r\n",
      "250 2.0.0 queued as S3\r\n",
      "250 ok\r\n250 ok\r\n354 go\r\n", "250 2.0.0 queued as S5\r\n",
      NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_OK);
  struct many m = {.env = e,
                   .body = {MESSAGE, MESSAGE, MESSAGE, MESSAGE, MESSAGE}};
  m.bad[3] = true; /* a line too long: refused before anything is sent */
  m.info[3].long_line = 1;
  size_t count = 0;
  assert_int_equal(mw_smtp_send_many(r.s, many_next, many_done, &m, &count),
                   MW_OK);
  assert_int_equal(count, 5);
  assert_int_equal(m.st[0], MW_OK);
  assert_int_equal(m.st[1], MW_E_REJECTED);
  assert_int_equal(m.delivery[1], MW_DELIVERY_REFUSED);
  assert_int_equal(m.st[2], MW_OK);
  assert_string_equal(m.queue_id[2], "S3");
  assert_int_equal(m.st[3], MW_E_MESSAGE);
  assert_false(m.had_result[3]);
  assert_int_equal(m.st[4], MW_OK);
  assert_string_equal(m.queue_id[4], "S5");
  assert_int_equal(mw_smtp_error(r.s)->status, MW_OK);
  run_free(&r);
  mw_envelope_free(e);
}

/* The session ends: at a 421 to message 1's dot, message 2 (its envelope
 * already sent) is reported not sent and nothing more is taken; with the
 * connection lost before the dot's reply, message 1 is unknown. */
static void many_session_ends(void **state)
{
  (void)state;
  const char *to[] = {"b@example.org", NULL};
  mw_envelope *e = envelope("a@example.org", to);
  struct run r;
  run_init(&r, MW_TLS_NONE);
  const char *segs[] = {GREETING, PIPE_EHLO, "250 ok\r\n250 ok\r\n354 go\r\n",
                        "421 4.3.2 shutting down\r\n", NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_OK);
  struct many m = {.env = e, .body = {MESSAGE, MESSAGE, MESSAGE}};
  size_t count = 0;
  assert_int_equal(mw_smtp_send_many(r.s, many_next, many_done, &m, &count),
                   MW_E_CLOSED);
  assert_int_equal(count, 2);
  assert_int_equal(m.taken, 2); /* the third never taken */
  assert_int_equal(m.st[0], MW_E_CLOSED);
  assert_int_equal(m.delivery[0], MW_DELIVERY_REFUSED);
  assert_int_equal(m.st[1], MW_E_CLOSED);
  assert_true(m.had_result[1]);
  assert_int_equal(m.delivery[1], MW_DELIVERY_NOT_SENT);
  run_free(&r);

  run_init(&r, MW_TLS_NONE);
  const char *segs2[] = {GREETING, PIPE_EHLO,
                         "250 ok\r\n250 ok\r\n354 go\r\n", NULL};
  run_script(&r, segs2);
  assert_int_equal(run_connect(&r), MW_OK);
  struct many m2 = {.env = e, .body = {MESSAGE, MESSAGE}};
  assert_int_equal(mw_smtp_send_many(r.s, many_next, many_done, &m2,
                                     &count),
                   MW_E_DELIVERY_UNKNOWN);
  assert_int_equal(count, 2);
  assert_int_equal(m2.st[0], MW_E_DELIVERY_UNKNOWN);
  assert_int_equal(m2.delivery[0], MW_DELIVERY_UNKNOWN);
  assert_int_equal(m2.st[1], MW_E_CLOSED);
  assert_int_equal(m2.delivery[1], MW_DELIVERY_NOT_SENT);
  /* Nothing more on a broken session. */
  assert_int_equal(mw_smtp_send_many(r.s, many_next, many_done, &m2,
                                     &count),
                   MW_E_STATE);
  run_free(&r);

  /* Every recipient refused, then the RSET unanswered (found by
   * fuzz_session): the message has its refusal, the call says the
   * session ended. */
  run_init(&r, MW_TLS_NONE);
  const char *segs3[] = {GREETING, PIPE_EHLO,
                         "250 ok\r\n550 5.1.1 no such user\r\n"
                         "554 5.5.1 no valid recipients\r\n",
                         NULL};
  run_script(&r, segs3);
  assert_int_equal(run_connect(&r), MW_OK);
  struct many m3 = {.env = e, .body = {MESSAGE, MESSAGE}};
  assert_int_equal(mw_smtp_send_many(r.s, many_next, many_done, &m3,
                                     &count),
                   MW_E_CLOSED);
  assert_int_equal(count, 1);
  assert_int_equal(m3.st[0], MW_E_RECIPIENTS);
  assert_int_equal(mw_smtp_error(r.s)->status, MW_E_CLOSED);
  assert_int_equal(mw_smtp_send_many(NULL, many_next, many_done, &m2,
                                     &count),
                   MW_E_INVALID);
  run_free(&r);
  mw_envelope_free(e);
}

/* Without PIPELINING: one message after another, as mw_smtp_send(). */
static void many_without_pipelining(void **state)
{
  (void)state;
  const char *to[] = {"b@example.org", NULL};
  mw_envelope *e = envelope("a@example.org", to);
  struct run r;
  run_init(&r, MW_TLS_NONE);
  const char *segs[] = {GREETING, "250 mx\r\n",
                        "250 ok\r\n", "250 ok\r\n", "354 go\r\n",
                        "250 2.0.0 queued as N1\r\n",
                        "250 ok\r\n", "250 ok\r\n", "354 go\r\n",
                        "250 2.0.0 queued as N2\r\n", NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_OK);
  struct many m = {.env = e, .body = {MESSAGE, MESSAGE}};
  size_t count = 0;
  assert_int_equal(mw_smtp_send_many(r.s, many_next, many_done, &m, &count),
                   MW_OK);
  assert_int_equal(count, 2);
  assert_string_equal(m.queue_id[0], "N1");
  assert_string_equal(m.queue_id[1], "N2");
  path_is(&r, "GREETING EHLO AUTH READY MAIL RCPT DATA BODY DATA_END READY "
              "MAIL RCPT DATA BODY DATA_END READY");
  run_free(&r);
  mw_envelope_free(e);
}

static void quit_paths(void **state)
{
  (void)state;
  struct run r;
  run_init(&r, MW_TLS_NONE);
  const char *segs[] = {GREETING, "250 mx\r\n", "221 bye\r\n", NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_OK);
  assert_int_equal(mw_smtp_quit(r.s), MW_OK);
  path_is(&r, "GREETING EHLO AUTH READY QUIT CLOSED");
  assert_string_equal(written(&r), EHLO_LINE "QUIT\r\n");
  /* A closed session may connect again; a second QUIT does nothing. */
  assert_int_equal(mw_smtp_quit(r.s), MW_OK);
  run_free(&r);

  /* No answer to QUIT: nothing is lost. */
  run_init(&r, MW_TLS_NONE);
  const char *segs2[] = {GREETING, "250 mx\r\n", NULL};
  run_script(&r, segs2);
  assert_int_equal(run_connect(&r), MW_OK);
  assert_int_equal(mw_smtp_quit(r.s), MW_OK);
  path_is(&r, "GREETING EHLO AUTH READY QUIT CLOSED");
  assert_int_equal(mw_smtp_error(r.s)->status, MW_OK);
  run_free(&r);
}

/* ---- TLS: a server with OpenSSL behind a layer, no socket ------------- */

static EVP_PKEY *tls_key;
static X509 *tls_cert;
static char tls_pin[65];

static void tls_material(void)
{
  if(tls_cert)
    return;
  tls_key = EVP_EC_gen("P-256");
  assert_non_null(tls_key);
  tls_cert = X509_new();
  assert_non_null(tls_cert);
  X509_set_version(tls_cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(tls_cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(tls_cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(tls_cert), 86400);
  X509_set_pubkey(tls_cert, tls_key);
  X509_NAME *n = X509_get_subject_name(tls_cert);
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                             (const unsigned char *)"mx.example.org", -1, -1,
                             0);
  X509_set_issuer_name(tls_cert, n);
  assert_true(X509_sign(tls_cert, tls_key, EVP_sha256()) > 0);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned mdlen = 0;
  assert_int_equal(X509_digest(tls_cert, EVP_sha256(), md, &mdlen), 1);
  for(unsigned i = 0; i < mdlen; i++)
    snprintf(tls_pin + 2 * i, 3, "%02x", md[i]);
}

/* The server: plaintext lines, then (after its 220 to STARTTLS, or from
 * the start for implicit TLS) TLS through memory BIOs.  close_on closes
 * the connection when a line starting so arrives over TLS. */
struct tlsrv {
  struct mw__layer layer;
  struct mw__sbuf in, out;  /* raw bytes to and from the client */
  size_t inpos, handled;
  struct mw__sbuf clear;    /* decrypted client bytes */
  size_t clear_handled;
  SSL_CTX *ctx;
  SSL *ssl;
  BIO *rbio, *wbio;
  bool tls, implicit, greeted, closed, eof;
  const char *close_on;     /* a line prefix, or NULL */
  const char *ehlo_tls;     /* the EHLO reply over TLS, NULL: the default */
  int lines;
};

static void tlsrv_send(struct tlsrv *t, const char *text)
{
  if(!t->tls) {
    mw__sbuf_puts(&t->in, text);
    return;
  }
  assert_true(SSL_write(t->ssl, text, (int)strlen(text)) > 0);
}

/* Moves what the server's TLS wrote to the client's side. */
static void tlsrv_drain(struct tlsrv *t)
{
  char buf[4096];
  int n;
  while(t->wbio && (n = BIO_read(t->wbio, buf, sizeof(buf))) > 0)
    assert_true(mw__sbuf_append(&t->in, buf, (size_t)n));
}

static void tlsrv_line(struct tlsrv *t, const char *line, size_t len)
{
  t->lines++;
  if(t->close_on && t->tls && len >= strlen(t->close_on) &&
     memcmp(line, t->close_on, strlen(t->close_on)) == 0) {
    t->eof = true;
    return;
  }
  if(len >= 5 && memcmp(line, "EHLO ", 5) == 0)
    tlsrv_send(t, t->tls && t->ehlo_tls ? t->ehlo_tls
                  : t->tls ? "250-mx\r\n250-PIPELINING\r\n250 AUTH PLAIN\r\n"
                           : "250-mx\r\n250-STARTTLS\r\n250 AUTH LOGIN\r\n");
  else if(len == 8 && memcmp(line, "STARTTLS", 8) == 0) {
    tlsrv_send(t, "220 2.0.0 go ahead\r\n");
    t->tls = true;
  }
  else if(len > 11 && memcmp(line, "AUTH PLAIN ", 11) == 0)
    tlsrv_send(t, "235 2.7.0 ok\r\n");
  else if(len >= 4 && memcmp(line, "MAIL", 4) == 0)
    tlsrv_send(t, "250 2.1.0 ok\r\n");
  else if(len >= 4 && memcmp(line, "RCPT", 4) == 0)
    tlsrv_send(t, "250 2.1.5 ok\r\n");
  else if(len == 4 && memcmp(line, "DATA", 4) == 0)
    tlsrv_send(t, "354 go on\r\n");
  else if(len == 1 && line[0] == '.')
    tlsrv_send(t, "250 2.0.0 Ok: queued as TLS1\r\n");
  else if(len > 5 && memcmp(line, "BDAT ", 5) == 0)
    tlsrv_send(t, "250 2.0.0 Ok: queued as TLS2\r\n");
  else if(len == 4 && memcmp(line, "QUIT", 4) == 0)
    tlsrv_send(t, "221 2.0.0 bye\r\n");
  /* message lines: nothing */
}

/* Takes whole lines out of buf from *handled on. */
static void tlsrv_lines(struct tlsrv *t, struct mw__sbuf *buf,
                        size_t *handled)
{
  while(!t->eof && *handled < buf->len) {
    bool was_tls = t->tls;
    const char *start = buf->data + *handled;
    const char *nl = memchr(start, '\n', buf->len - *handled);
    if(!nl)
      return;
    size_t n = (size_t)(nl - start);
    *handled += n + 1;
    if(n && start[n - 1] == '\r')
      n--;
    tlsrv_line(t, start, n);
    if(!was_tls && t->tls)
      return; /* what follows STARTTLS is TLS */
  }
}

static void tlsrv_work(struct tlsrv *t)
{
  if(!t->tls) {
    tlsrv_lines(t, &t->out, &t->handled);
    if(!t->tls)
      return;
  }
  /* Raw client bytes not yet given to TLS. */
  if(t->handled < t->out.len) {
    assert_true(BIO_write(t->rbio, t->out.data + t->handled,
                          (int)(t->out.len - t->handled)) > 0);
    t->handled = t->out.len;
  }
  if(!SSL_is_init_finished(t->ssl)) {
    int rc = SSL_accept(t->ssl);
    tlsrv_drain(t);
    if(rc != 1)
      return;
    if(t->implicit && !t->greeted) {
      t->greeted = true;
      tlsrv_send(t, GREETING);
    }
  }
  char buf[4096];
  int n;
  while((n = SSL_read(t->ssl, buf, sizeof(buf))) > 0)
    assert_true(mw__sbuf_append(&t->clear, buf, (size_t)n));
  tlsrv_lines(t, &t->clear, &t->clear_handled);
  tlsrv_drain(t);
}

static mw_status tlsrv_read(struct mw__layer *ly, void *buf, size_t len,
                            size_t *got, short *want)
{
  struct tlsrv *t = ly->impl;
  *got = 0;
  *want = 0;
  if(t->inpos == t->in.len)
    tlsrv_work(t);
  if(t->inpos == t->in.len) {
    if(t->eof) {
      ly->eof = true;
      return mw__error_set(ly->err, MW_E_CLOSED,
                           "the server closed the connection");
    }
    *want = POLLIN;
    return MW_OK;
  }
  size_t n = t->in.len - t->inpos < len ? t->in.len - t->inpos : len;
  memcpy(buf, t->in.data + t->inpos, n);
  t->inpos += n;
  *got = n;
  return MW_OK;
}

static mw_status tlsrv_write(struct mw__layer *ly, const void *buf,
                             size_t len, size_t *put, short *want)
{
  struct tlsrv *t = ly->impl;
  *want = 0;
  *put = 0;
  if(t->eof) {
    ly->sys_errno = 32;
    return mw__error_set(ly->err, MW_E_CLOSED,
                         "the connection to the server failed: reset");
  }
  assert_true(mw__sbuf_append(&t->out, buf, len));
  *put = len;
  return MW_OK;
}

static void tlsrv_close(struct mw__layer *ly)
{
  struct tlsrv *t = ly->impl;
  t->closed = true;
}

static const struct mw__layer_ops tlsrv_ops = {.name = "tls-server",
                                               .read = tlsrv_read,
                                               .write = tlsrv_write,
                                               .close = tlsrv_close};

static void tlsrv_init(struct tlsrv *t, bool implicit, struct mw_error *err)
{
  tls_material();
  memset(t, 0, sizeof(*t));
  mw__sbuf_init(&t->in);
  mw__sbuf_init(&t->out);
  mw__sbuf_init(&t->clear);
  t->ctx = SSL_CTX_new(TLS_server_method());
  assert_non_null(t->ctx);
  assert_int_equal(SSL_CTX_use_certificate(t->ctx, tls_cert), 1);
  assert_int_equal(SSL_CTX_use_PrivateKey(t->ctx, tls_key), 1);
  t->ssl = SSL_new(t->ctx);
  t->rbio = BIO_new(BIO_s_mem());
  t->wbio = BIO_new(BIO_s_mem());
  assert_true(t->ssl && t->rbio && t->wbio);
  SSL_set_bio(t->ssl, t->rbio, t->wbio);
  SSL_set_accept_state(t->ssl);
  t->implicit = implicit;
  t->tls = implicit;
  if(!implicit)
    mw__sbuf_puts(&t->in, GREETING);
  mw__layer_init(&t->layer, &tlsrv_ops, NULL, t, err);
}

static void tlsrv_free(struct tlsrv *t)
{
  SSL_free(t->ssl); /* frees the BIOs */
  SSL_CTX_free(t->ctx);
  mw__sbuf_free(&t->in);
  mw__sbuf_free(&t->out);
  mw__sbuf_free(&t->clear);
}

static void tls_run(struct run *r, mw_tls_mode mode, struct tlsrv *t,
                    const char *close_on)
{
  run_init(r, mode);
  tls_material();
  assert_int_equal(mw_options_set_tls_fingerprint(r->o, tls_pin), MW_OK);
  assert_int_equal(mw_options_set_credentials(r->o, "user", PASSWORD),
                   MW_OK);
  run_script(r, NULL);
  tlsrv_init(t, mode == MW_TLS_IMPLICIT, &r->s->err);
  t->close_on = close_on;
}

static void tls_run_free(struct run *r, struct tlsrv *t)
{
  mw_smtp_free(r->s);
  assert_true(t->closed);
  tlsrv_free(t);
  mw__mem_layer_free(r->m);
  mw_options_free(r->o);
}

static void starttls_whole_session(void **state)
{
  (void)state;
  struct run r;
  struct tlsrv t;
  tls_run(&r, MW_TLS_STARTTLS, &t, NULL);
  mw_status st = mw__smtp_connect_over(r.s, &t.layer);
  if(st)
    fail_msg("%s: %s", mw_status_name(st),
             mw_error_message(mw_smtp_error(r.s)));
  path_is(&r, "GREETING EHLO STARTTLS TLS_STARTTLS EHLO_TLS AUTH READY");
  assert_true(mw_smtp_is_encrypted(r.s));
  assert_string_equal(mw_smtp_peer_fingerprint(r.s), tls_pin);
  /* What was learnt in plaintext is forgotten: STARTTLS and AUTH LOGIN
   * came before TLS, PIPELINING and AUTH PLAIN after. */
  assert_false(mw_smtp_has_capability(r.s, "STARTTLS"));
  assert_true(mw_smtp_has_capability(r.s, "PIPELINING"));
  assert_string_equal(mw_smtp_auth_mechanism(r.s), "PLAIN");
  assert_true(r.s->capa_plain.valid);
  /* Plaintext on the wire: only EHLO and STARTTLS. */
  assert_non_null(strstr(t.out.data, EHLO_LINE "STARTTLS\r\n"));
  assert_null(strstr(t.out.data, "AUTH"));
  const char *to[] = {"b@example.org", NULL};
  mw_envelope *e = envelope("a@example.org", to);
  mw_result *res = NULL;
  assert_int_equal(mw_smtp_send_buffer(r.s, e, MESSAGE, strlen(MESSAGE),
                                       &res),
                   MW_OK);
  assert_string_equal(mw_result_queue_id(res), "TLS1");
  assert_int_equal(mw_smtp_quit(r.s), MW_OK);
  path_is(&r, "GREETING EHLO STARTTLS TLS_STARTTLS EHLO_TLS AUTH READY "
              "PIPELINE BODY DATA_END READY QUIT CLOSED");
  /* The message went encrypted. */
  assert_null(strstr(t.out.data, "hello"));
  assert_non_null(strstr(t.clear.data, "\r\nhello\r\n..dot line\r\n.\r\n"));
  mw_result_free(res);
  mw_envelope_free(e);
  tls_run_free(&r, &t);

  /* A wrong pin: the handshake completes, the certificate is refused. */
  tls_run(&r, MW_TLS_STARTTLS, &t, NULL);
  assert_int_equal(mw_options_set_tls_fingerprint(
                       r.o, "00112233445566778899aabbccddeeff00112233445566"
                            "778899aabbccddeeff"),
                   MW_OK);
  mw_smtp_free(r.s);
  r.s = mw_smtp_new(r.o);
  r.s->observer = observe;
  r.s->observer_user = &r;
  t.layer.err = &r.s->err;
  assert_int_equal(mw__smtp_connect_over(r.s, &t.layer), MW_E_CERT);
  path_is(&r, "GREETING EHLO STARTTLS TLS_STARTTLS BROKEN");
  assert_true(r.s->tls_info.handshake_done || r.s->tls_info.fingerprint[0]);
  tls_run_free(&r, &t);
}

static void implicit_tls_session(void **state)
{
  (void)state;
  struct run r;
  struct tlsrv t;
  tls_run(&r, MW_TLS_IMPLICIT, &t, NULL);
  mw_status st = mw__smtp_connect_over(r.s, &t.layer);
  if(st)
    fail_msg("%s: %s", mw_status_name(st),
             mw_error_message(mw_smtp_error(r.s)));
  path_is(&r, "TLS_IMPLICIT GREETING EHLO AUTH READY");
  assert_true(mw_smtp_is_encrypted(r.s));
  assert_int_equal(r.s->phase, MW__PHASE_READY);
  assert_true(r.s->phase_at[MW__PHASE_TLS_IMPLICIT] > 0);
  assert_int_equal(mw_smtp_quit(r.s), MW_OK);
  tls_run_free(&r, &t);
}

/* The probe's TLS: the verdict is reported, not enforced, so a wrong pin
 * still reaches the capabilities (the same pin refuses a session). */
static void tls_report_only(void **state)
{
  (void)state;
  struct run r;
  struct tlsrv t;
  tls_run(&r, MW_TLS_IMPLICIT, &t, NULL);
  assert_int_equal(mw_options_set_tls_fingerprint(
                       r.o, "00112233445566778899aabbccddeeff00112233445566"
                            "778899aabbccddeeff"),
                   MW_OK);
  mw_smtp_free(r.s);
  r.s = mw_smtp_new(r.o);
  r.s->observer = observe;
  r.s->observer_user = &r;
  r.s->stop_after_capa = true;
  r.s->tls_report_only = true;
  t.layer.err = &r.s->err;
  mw_status st = mw__smtp_connect_over(r.s, &t.layer);
  if(st)
    fail_msg("%s: %s", mw_status_name(st),
             mw_error_message(mw_smtp_error(r.s)));
  path_is(&r, "TLS_IMPLICIT GREETING EHLO CAPABILITIES");
  assert_true(mw_smtp_is_encrypted(r.s));
  struct mw__tls_policy pol = {.fingerprint = r.s->opt.fingerprint};
  assert_string_equal(mw__tls_verdict(&pol, &r.s->tls_info), "pin_mismatch");
  assert_int_equal(mw_smtp_quit(r.s), MW_OK);
  tls_run_free(&r, &t);
}

/* The server closes after TLS is up: in EHLO_TLS, and in AUTH. */
static void close_over_tls(void **state)
{
  (void)state;
  static const struct {
    const char *close_on;
    const char *path;
  } cases[] = {
      {"EHLO", "GREETING EHLO STARTTLS TLS_STARTTLS EHLO_TLS BROKEN"},
      {"AUTH", "GREETING EHLO STARTTLS TLS_STARTTLS EHLO_TLS AUTH BROKEN"},
  };
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct run r;
    struct tlsrv t;
    tls_run(&r, MW_TLS_STARTTLS, &t, cases[i].close_on);
    assert_int_equal(mw__smtp_connect_over(r.s, &t.layer), MW_E_CLOSED);
    path_is(&r, cases[i].path);
    assert_false(mw_smtp_is_encrypted(r.s));
    tls_run_free(&r, &t);
  }
}

/* ---- the server closes in every state ---------------------------------- */

struct cut {
  enum mw__smtp_state at; /* the state the close must meet */
  mw_tls_mode mode;
  bool auth, pipelining, bdat, quit;
  const char *segs[6];    /* then the server closes */
  mw_status st;           /* what the call that meets it returns */
};

static const struct cut CUTS[] = {
    {MW__SMTP_TLS_IMPLICIT, MW_TLS_IMPLICIT, false, false, false, false,
     {NULL}, MW_E_CLOSED},
    {MW__SMTP_GREETING, MW_TLS_NONE, false, false, false, false, {NULL},
     MW_E_CLOSED},
    {MW__SMTP_EHLO, MW_TLS_NONE, false, false, false, false, {GREETING, NULL},
     MW_E_CLOSED},
    {MW__SMTP_HELO, MW_TLS_NONE, false, false, false, false,
     {GREETING, "502 no\r\n", NULL}, MW_E_CLOSED},
    {MW__SMTP_STARTTLS, MW_TLS_STARTTLS, false, false, false, false,
     {GREETING, "250-mx\r\n250 STARTTLS\r\n", NULL}, MW_E_CLOSED},
    {MW__SMTP_TLS_STARTTLS, MW_TLS_STARTTLS, false, false, false, false,
     {GREETING, "250-mx\r\n250 STARTTLS\r\n", "220 go\r\n", NULL},
     MW_E_CLOSED},
    {MW__SMTP_AUTH, MW_TLS_NONE, true, false, false, false,
     {GREETING, "250-mx\r\n250 AUTH LOGIN\r\n", NULL}, MW_E_CLOSED},
    {MW__SMTP_MAIL, MW_TLS_NONE, false, false, false, false,
     {GREETING, "250 mx\r\n", NULL}, MW_E_CLOSED},
    {MW__SMTP_RCPT, MW_TLS_NONE, false, false, false, false,
     {GREETING, "250 mx\r\n", "250 ok\r\n", NULL}, MW_E_CLOSED},
    {MW__SMTP_DATA, MW_TLS_NONE, false, false, false, false,
     {GREETING, "250 mx\r\n", "250 ok\r\n", "250 ok\r\n", "250 ok\r\n",
      NULL},
     MW_E_CLOSED},
    {MW__SMTP_PIPELINE, MW_TLS_NONE, false, true, false, false,
     {GREETING, "250-mx\r\n250 PIPELINING\r\n", "250 ok\r\n", NULL},
     MW_E_CLOSED},
    {MW__SMTP_DATA_EMPTY, MW_TLS_NONE, false, true, false, false,
     {GREETING, "250-mx\r\n250 PIPELINING\r\n",
      "250 ok\r\n550 no\r\n550 no\r\n354 go\r\n", NULL},
     MW_E_CLOSED},
    {MW__SMTP_BODY, MW_TLS_NONE, false, true, false, false,
     {GREETING, "250-mx\r\n250 PIPELINING\r\n",
      "250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n", NULL},
     MW_E_CLOSED},
    {MW__SMTP_BDAT, MW_TLS_NONE, false, true, true, false,
     {GREETING, "250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n",
      "250 ok\r\n250 ok\r\n250 ok\r\n250 chunk\r\n", NULL},
     MW_E_CLOSED},
    /* The whole message went with the envelope (BDAT LAST): a close
     * before its reply leaves the delivery unknown. */
    {MW__SMTP_PIPELINE, MW_TLS_NONE, false, true, true, false,
     {GREETING, "250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n",
      "250 ok\r\n", NULL},
     MW_E_DELIVERY_UNKNOWN},
    {MW__SMTP_DATA_END, MW_TLS_NONE, false, true, false, false,
     {GREETING, "250-mx\r\n250 PIPELINING\r\n",
      "250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n", NULL},
     MW_E_DELIVERY_UNKNOWN},
    {MW__SMTP_RSET, MW_TLS_NONE, false, false, false, false,
     {GREETING, "250 mx\r\n", "550 sender refused\r\n", NULL},
     MW_E_REJECTED},
    {MW__SMTP_QUIT, MW_TLS_NONE, false, false, false, true,
     {GREETING, "250 mx\r\n", NULL}, MW_OK},
};

/* The state the machine was in when it broke (or closed). */
static const char *last_before_end(const struct run *r, char *buf,
                                   size_t len)
{
  snprintf(buf, len, "%s", r->path);
  char *end = strrchr(buf, ' ');
  if(end)
    *end = '\0';
  char *prev = strrchr(buf, ' ');
  return prev ? prev + 1 : buf;
}

static void close_in_every_state(void **state)
{
  (void)state;
  bool seen[MW__SMTP_NSTATES] = {false};
  for(int fails = 0; fails < 2; fails++) {
    for(size_t i = 0; i < sizeof(CUTS) / sizeof(CUTS[0]); i++) {
      const struct cut *c = &CUTS[i];
      /* BODY needs writes that fail to meet the close while streaming. */
      if(c->at == MW__SMTP_BODY && !fails)
        continue;
      if(c->at == MW__SMTP_DATA_END && fails)
        continue;
      struct run r;
      if(c->auth)
        run_auth_init(&r, "LOGIN");
      else
        run_init(&r, c->mode);
      run_script(&r, c->segs);
      r.s->bdat_allowed = c->bdat;
      assert_int_equal(mw_options_set_pipelining(r.o, c->pipelining), MW_OK);
      mw__mem_layer_close_here(r.m, fails != 0);
      /* In BODY the client only writes: the close meets it as a reset. */
      struct cutter cutter = {.fail = false};
      mw_status st;
      if(c->at == MW__SMTP_BODY) {
        mw__layer_init(&cutter.layer, &cutter_ops, mw__mem_layer_get(r.m),
                       &cutter, &r.s->err);
        r.cut_on_body = &cutter;
        st = mw__smtp_connect_over(r.s, &cutter.layer);
      }
      else {
        st = run_connect(&r);
      }
      const char *to[] = {"b@example.org", "c@example.org", NULL};
      mw_envelope *e = envelope("a@example.org", to);
      mw_result *res = NULL;
      /* BDAT: a message of two chunks, the close before the second's
       * reply; BODY: two blocks, the first written in BODY (the last
       * block goes with the dot, in DATA_END). */
      size_t big = c->at == MW__SMTP_BDAT || c->at == MW__SMTP_BODY
                       ? 2 * MW__SMTP_DATA_CHUNK
                       : 0;
      char *body = big ? malloc(big) : NULL;
      if(body)
        for(size_t k = 0; k < big; k++)
          body[k] = (k % 64 == 63) ? '\n' : 'y';
      if(!st && c->quit)
        st = mw_smtp_quit(r.s);
      else if(!st && body)
        st = mw_smtp_send_buffer(r.s, e, body, big, &res);
      else if(!st)
        st = mw_smtp_send_buffer(r.s, e, MESSAGE, strlen(MESSAGE), &res);
      free(body);
      char buf[1024];
      const char *at = last_before_end(&r, buf, sizeof(buf));
      if(strcmp(at, mw__smtp_state_name(c->at)) != 0 || st != c->st)
        fail_msg("cut %zu (fails %d): broke in %s with %s, want %s with %s "
                 "(path %s: %s)",
                 i, fails, at, mw_status_name(st),
                 mw__smtp_state_name(c->at), mw_status_name(c->st), r.path,
                 mw_error_message(mw_smtp_error(r.s)));
      seen[c->at] = true;
      /* Over: no connection, no further mail. */
      assert_true(r.s->sm == MW__SMTP_BROKEN || r.s->sm == MW__SMTP_CLOSED);
      assert_false(mw__engine_is_open(&r.s->eng));
      if(c->at == MW__SMTP_BODY)
        assert_int_equal(mw_result_delivery(res), MW_DELIVERY_NOT_SENT);
      if(c->st == MW_E_DELIVERY_UNKNOWN)
        assert_int_equal(mw_result_delivery(res), MW_DELIVERY_UNKNOWN);
      mw_result *again = NULL;
      assert_int_equal(mw_smtp_send_buffer(r.s, e, MESSAGE, strlen(MESSAGE),
                                           &again),
                       MW_E_STATE);
      mw_result_free(again);
      mw_result_free(res);
      mw_envelope_free(e);
      run_free(&r);
    }
  }
  /* Every state that waits for the server was met by a close. */
  for(int i = 0; i < MW__SMTP_NSTATES; i++) {
    switch((enum mw__smtp_state)i) {
    case MW__SMTP_IDLE:
    case MW__SMTP_CAPABILITIES:
    case MW__SMTP_READY:
    case MW__SMTP_CLOSED:
    case MW__SMTP_BROKEN:
    case MW__SMTP_EHLO_TLS: /* with a TLS server: close_over_tls */
      break;
    default:
      if(!seen[i])
        fail_msg("no close tested in state %s",
                 mw__smtp_state_name((enum mw__smtp_state)i));
    }
  }
}

/* ---- service extensions (issue 12): DSN, SMTPUTF8, BODY, SIZE, BDAT,
 * BINARYMIME, REQUIRETLS ------------------------------------------------ */

#define EXT_EHLO                                                             \
  "250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 100000\r\n"              \
  "250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n"

static void ext_parsers(void **state)
{
  (void)state;
  unsigned n = 0;
  assert_int_equal(mw_dsn_notify_parse("never", &n), MW_OK);
  assert_int_equal(n, MW_DSN_NOTIFY_NEVER);
  assert_int_equal(mw_dsn_notify_parse("Failure,DELAY,success", &n), MW_OK);
  assert_int_equal(n, MW_DSN_NOTIFY_FAILURE | MW_DSN_NOTIFY_DELAY |
                          MW_DSN_NOTIFY_SUCCESS);
  static const char *const bad[] = {"",          "never,success", "fail",
                                    "success,",  "delay,delay",   ",failure",
                                    "successes", NULL};
  for(size_t i = 0; bad[i]; i++) {
    n = 77;
    if(mw_dsn_notify_parse(bad[i], &n) != MW_E_INVALID || n != 77)
      fail_msg("notify '%s' accepted", bad[i]);
  }
  mw_dsn_ret ret = MW_DSN_RET_DEFAULT;
  assert_int_equal(mw_dsn_ret_parse("HDRS", &ret), MW_OK);
  assert_int_equal(ret, MW_DSN_RET_HDRS);
  assert_int_equal(mw_dsn_ret_parse("full", &ret), MW_OK);
  assert_int_equal(ret, MW_DSN_RET_FULL);
  assert_int_equal(mw_dsn_ret_parse("body", &ret), MW_E_INVALID);

  const char *to[] = {"b@example.org", NULL};
  mw_envelope *e = envelope("a@example.org", to);
  /* ENVID: printable ASCII, at most 100 characters once xtext-encoded
   * (each '+' is three). */
  char id[101];
  memset(id, 'x', 100);
  id[100] = '\0';
  assert_int_equal(mw_envelope_set_dsn(e, 0, MW_DSN_RET_DEFAULT, id), MW_OK);
  id[0] = '+';
  assert_int_equal(mw_envelope_set_dsn(e, 0, MW_DSN_RET_DEFAULT, id),
                   MW_E_INVALID);
  assert_int_equal(mw_envelope_set_dsn(e, 0, MW_DSN_RET_DEFAULT, "caf\xc3\xa9"),
                   MW_E_INVALID);
  assert_int_equal(mw_envelope_set_dsn(e, 0, MW_DSN_RET_DEFAULT, "a\r\nb"),
                   MW_E_INVALID);
  assert_int_equal(mw_envelope_set_dsn(e, MW_DSN_NOTIFY_NEVER |
                                              MW_DSN_NOTIFY_DELAY,
                                       MW_DSN_RET_DEFAULT, NULL),
                   MW_E_INVALID);
  assert_int_equal(mw_envelope_set_dsn(e, 0, (mw_dsn_ret)9, NULL),
                   MW_E_INVALID);
  /* ORCPT: an index the envelope has, an atom before ';'. */
  assert_int_equal(mw_envelope_set_recipient_dsn(e, 1, 0, NULL), MW_E_INVALID);
  assert_int_equal(mw_envelope_set_recipient_dsn(e, 0, 0, "rfc 822;b@x"),
                   MW_E_INVALID);
  assert_int_equal(mw_envelope_set_recipient_dsn(e, 0, 0, "rfc822;"),
                   MW_E_INVALID);
  assert_int_equal(mw_envelope_set_recipient_dsn(e, 0, 0, "b@x\ny"),
                   MW_E_INVALID);
  assert_int_equal(mw_envelope_set_recipient_dsn(e, 0, 0, "rfc822;b@x"),
                   MW_OK);
  mw_envelope_free(e);
}

/* Every parameter on the wire, with their xtext encoding (RFC 3461
 * section 4): MAIL FROM's SIZE, BODY, SMTPUTF8, RET and ENVID; each
 * RCPT's NOTIFY (its own or the envelope's) and ORCPT (its own, or its
 * address; none for a UTF-8 address); then BDAT, the default when
 * CHUNKING is offered. */
static void ext_parameters(void **state)
{
  (void)state;
  const char *to[] = {"b@example.org", "j\xc3\xb6rg@example.org",
                      "c+tag@example.org", NULL};
  mw_envelope *e = envelope("a@example.org", to);
  assert_int_equal(mw_envelope_set_dsn(e,
                                       MW_DSN_NOTIFY_FAILURE |
                                           MW_DSN_NOTIFY_DELAY,
                                       MW_DSN_RET_HDRS, "id+1=x y"),
                   MW_OK);
  assert_int_equal(mw_envelope_set_recipient_dsn(e, 0, MW_DSN_NOTIFY_SUCCESS,
                                                 "rfc822;B+x@Example.org"),
                   MW_OK);
  const char msg[] = "Subject: t\r\n\r\nh\xc3\xa9llo\r\n";
  mw_message_info info;
  mw_message_info_scan(&info, msg, strlen(msg));
  assert_true(info.has_8bit);
  assert_false(info.binary);
  struct run r;
  run_init(&r, MW_TLS_NONE);
  const char *segs[] = {GREETING, EXT_EHLO,
                        "250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n"
                        "250 2.0.0 Ok: queued as X1\r\n", NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_OK);
  mw_result *res = NULL;
  mw_status st = mw_smtp_send_buffer(r.s, e, msg, strlen(msg), &res);
  if(st)
    fail_msg("%s: %s", mw_status_name(st),
             mw_error_message(mw_smtp_error(r.s)));
  path_is(&r, "GREETING EHLO AUTH READY PIPELINE READY");
  char want[1024];
  snprintf(want, sizeof(want),
           EHLO_LINE
           "MAIL FROM:<a@example.org> SIZE=%llu BODY=8BITMIME SMTPUTF8 "
           "RET=HDRS ENVID=id+2B1+3Dx+20y\r\n"
           "RCPT TO:<b@example.org> NOTIFY=SUCCESS "
           "ORCPT=rfc822;B+2Bx@Example.org\r\n"
           "RCPT TO:<j\xc3\xb6rg@example.org> NOTIFY=FAILURE,DELAY\r\n"
           "RCPT TO:<c+tag@example.org> NOTIFY=FAILURE,DELAY "
           "ORCPT=rfc822;c+2Btag@example.org\r\n"
           "BDAT %zu LAST\r\n%s",
           (unsigned long long)info.size, strlen(msg), msg);
  assert_string_equal(written(&r), want);
  assert_string_equal(mw_result_queue_id(res), "X1");
  mw_result_free(res);
  run_free(&r);
  mw_envelope_free(e);

  /* No DSN asked: no RET, ENVID, NOTIFY nor ORCPT, even when offered;
   * chunking turned off: DATA although CHUNKING is offered. */
  const char *to1[] = {"b@example.org", NULL};
  e = envelope("a@example.org", to1);
  run_init(&r, MW_TLS_NONE);
  assert_int_equal(mw_options_set_chunking(r.o, false), MW_OK);
  const char *segs2[] = {GREETING, EXT_EHLO, "250 ok\r\n250 ok\r\n354 go\r\n",
                         "250 queued\r\n", NULL};
  run_script(&r, segs2);
  assert_int_equal(run_connect(&r), MW_OK);
  assert_int_equal(mw_smtp_send_buffer(r.s, e, MESSAGE, strlen(MESSAGE),
                                       &res),
                   MW_OK);
  path_is(&r, "GREETING EHLO AUTH READY PIPELINE BODY DATA_END READY");
  mw_message_info_scan(&info, MESSAGE, strlen(MESSAGE));
  snprintf(want, sizeof(want),
           EHLO_LINE "MAIL FROM:<a@example.org> SIZE=%llu\r\n"
                     "RCPT TO:<b@example.org>\r\nDATA\r\n",
           (unsigned long long)info.size);
  assert_int_equal(strncmp(written(&r), want, strlen(want)), 0);
  assert_null(strstr(written(&r), "BDAT"));
  mw_result_free(res);
  run_free(&r);
  mw_envelope_free(e);
}

/* BINARYMIME: a NUL byte makes the message binary; it goes in BDAT
 * chunks byte for byte (bare LF and CR kept), BODY=BINARYMIME. */
static void ext_binarymime(void **state)
{
  (void)state;
  static const char msg[] = "Subject: b\r\n\r\n\x00\x01\n\r\xff\r\n.\r\n";
  const size_t len = sizeof(msg) - 1;
  mw_message_info info;
  mw_message_info_scan(&info, msg, len);
  assert_true(info.binary);
  const char *to[] = {"b@example.org", NULL};
  mw_envelope *e = envelope("a@example.org", to);
  struct run r;
  run_init(&r, MW_TLS_NONE);
  const char *segs[] = {GREETING,
                        "250-mx\r\n250-BINARYMIME\r\n250 CHUNKING\r\n",
                        "250 ok\r\n", "250 ok\r\n", "250 queued as BIN\r\n",
                        NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_OK);
  mw_result *res = NULL;
  mw_status st = mw_smtp_send_buffer(r.s, e, msg, len, &res);
  if(st)
    fail_msg("%s: %s", mw_status_name(st),
             mw_error_message(mw_smtp_error(r.s)));
  path_is(&r, "GREETING EHLO AUTH READY MAIL RCPT BDAT DATA_END READY");
  size_t wlen = 0;
  const char *w = mw__mem_layer_written(r.m, &wlen);
  char head[256];
  int hl = snprintf(head, sizeof(head),
                    EHLO_LINE "MAIL FROM:<a@example.org> BODY=BINARYMIME\r\n"
                              "RCPT TO:<b@example.org>\r\nBDAT %zu LAST\r\n",
                    len);
  assert_int_equal(wlen, (size_t)hl + len);
  assert_memory_equal(w, head, (size_t)hl);
  assert_memory_equal(w + hl, msg, len);
  mw_result_free(res);
  run_free(&r);
  mw_envelope_free(e);
}

/* What the server lacks is refused before MAIL FROM, with MW_E_EXTENSION
 * (MW_E_MESSAGE for a SIZE over the limit): nothing is sent and the
 * session stays ready. */
static void ext_refusals(void **state)
{
  (void)state;
  static const char bin[] = "Subject: b\r\n\r\n\x00z\r\n";
  static const struct {
    const char *ehlo;
    int what; /* 0 DSN, 1 UTF-8 address, 2 binary, 3 REQUIRETLS, 4 size */
    mw_status st;
    const char *says;
  } cases[] = {
      {"250-mx\r\n250-PIPELINING\r\n250 8BITMIME\r\n", 0, MW_E_EXTENSION,
       "DSN"},
      {"250-mx\r\n250 DSN\r\n", 1, MW_E_EXTENSION, "SMTPUTF8"},
      {"250-mx\r\n250 CHUNKING\r\n", 2, MW_E_EXTENSION, "BINARYMIME"},
      {"250-mx\r\n250 BINARYMIME\r\n", 2, MW_E_EXTENSION, "CHUNKING"},
      {"250-mx\r\n250 REQUIRETLS\r\n", 3, MW_E_EXTENSION, "not encrypted"},
      {"250-mx\r\n250 SIZE 20\r\n", 4, MW_E_MESSAGE, "SIZE limit of 20"},
  };
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const char *to[] = {cases[i].what == 1 ? "j\xc3\xb6rg@example.org"
                                           : "b@example.org",
                        NULL};
    mw_envelope *e = envelope("a@example.org", to);
    if(cases[i].what == 0)
      assert_int_equal(mw_envelope_set_dsn(e, MW_DSN_NOTIFY_NEVER,
                                           MW_DSN_RET_DEFAULT, NULL),
                       MW_OK);
    if(cases[i].what == 3)
      assert_int_equal(mw_envelope_set_requiretls(e, true), MW_OK);
    struct run r;
    run_init(&r, MW_TLS_NONE);
    const char *segs[] = {GREETING, cases[i].ehlo, NULL};
    run_script(&r, segs);
    assert_int_equal(run_connect(&r), MW_OK);
    mw_result *res = NULL;
    mw_status st =
        cases[i].what == 2
            ? mw_smtp_send_buffer(r.s, e, bin, sizeof(bin) - 1, &res)
            : mw_smtp_send_buffer(r.s, e, MESSAGE, strlen(MESSAGE), &res);
    const char *msg = mw_error_message(mw_smtp_error(r.s));
    if(st != cases[i].st || !strstr(msg, cases[i].says))
      fail_msg("case %zu: %s (%s), want %s saying %s", i, mw_status_name(st),
               msg, mw_status_name(cases[i].st), cases[i].says);
    assert_null(res);
    assert_false(mw_error_is_temporary(mw_smtp_error(r.s)));
    assert_int_equal(mw_error_category(mw_smtp_error(r.s)), MW_CAT_MESSAGE);
    path_is(&r, "GREETING EHLO AUTH READY");
    assert_string_equal(written(&r), EHLO_LINE);
    assert_int_equal(r.s->sm, MW__SMTP_READY);
    run_free(&r);
    mw_envelope_free(e);
  }
}

/* REQUIRETLS (RFC 8689) over TLS: sent when the certificate was verified
 * (here pinned) and the server offers it; refused when it does not, and
 * when the certificate was not verified (insecure). */
static void ext_requiretls(void **state)
{
  (void)state;
  const char *to[] = {"b@example.org", NULL};
  mw_envelope *e = envelope("a@example.org", to);
  assert_int_equal(mw_envelope_set_requiretls(e, true), MW_OK);
  for(int c = 0; c < 3; c++) {
    struct run r;
    struct tlsrv t;
    tls_run(&r, MW_TLS_IMPLICIT, &t, NULL);
    if(c != 1)
      t.ehlo_tls = "250-mx\r\n250-PIPELINING\r\n250-REQUIRETLS\r\n"
                   "250 AUTH PLAIN\r\n";
    if(c == 2) {
      /* No pin, no CA: only insecure lets the handshake through. */
      assert_int_equal(mw_options_set_tls_fingerprint(r.o, NULL), MW_OK);
      assert_int_equal(mw_options_set_tls_insecure(r.o, true), MW_OK);
      mw_smtp_free(r.s);
      r.s = mw_smtp_new(r.o);
      r.s->observer = observe;
      r.s->observer_user = &r;
      t.layer.err = &r.s->err;
    }
    mw_status st = mw__smtp_connect_over(r.s, &t.layer);
    if(st)
      fail_msg("case %d: %s: %s", c, mw_status_name(st),
               mw_error_message(mw_smtp_error(r.s)));
    mw_result *res = NULL;
    st = mw_smtp_send_buffer(r.s, e, MESSAGE, strlen(MESSAGE), &res);
    const char *msg = mw_error_message(mw_smtp_error(r.s));
    if(c == 0) {
      if(st)
        fail_msg("%s: %s", mw_status_name(st), msg);
      assert_non_null(strstr(t.clear.data,
                             "MAIL FROM:<a@example.org> REQUIRETLS\r\n"));
    }
    else {
      assert_int_equal(st, MW_E_EXTENSION);
      assert_non_null(strstr(msg, c == 1 ? "does not offer" : "verified"));
      assert_null(strstr(t.clear.data ? t.clear.data : "", "MAIL FROM"));
    }
    mw_result_free(res);
    assert_int_equal(mw_smtp_quit(r.s), MW_OK);
    tls_run_free(&r, &t);
  }
  mw_envelope_free(e);
}

static int teardown(void **state)
{
  (void)state;
  X509_free(tls_cert);
  EVP_PKEY_free(tls_key);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(state_names),
      cmocka_unit_test(greeting_paths),
      cmocka_unit_test(ehlo_paths),
      cmocka_unit_test(starttls_paths),
      cmocka_unit_test(stop_after_capabilities),
      cmocka_unit_test(auth_rounds),
      cmocka_unit_test(auth_scram_mutual),
      cmocka_unit_test(transaction_paths),
      cmocka_unit_test(bdat_framing),
      cmocka_unit_test(bdat_transaction),
      cmocka_unit_test(progress_reports),
      cmocka_unit_test(quit_paths),
      cmocka_unit_test(quit_with_last_message),
      cmocka_unit_test(many_pipelined),
      cmocka_unit_test(many_refusals),
      cmocka_unit_test(many_session_ends),
      cmocka_unit_test(many_without_pipelining),
      cmocka_unit_test(close_in_every_state),
      cmocka_unit_test(starttls_whole_session),
      cmocka_unit_test(implicit_tls_session),
      cmocka_unit_test(close_over_tls),
      cmocka_unit_test(probe_facts),
      cmocka_unit_test(tls_report_only),
      cmocka_unit_test(ext_parsers),
      cmocka_unit_test(ext_parameters),
      cmocka_unit_test(ext_binarymime),
      cmocka_unit_test(ext_refusals),
      cmocka_unit_test(ext_requiretls),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

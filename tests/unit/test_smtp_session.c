/* Unit tests: the real SMTP session (proto/smtp.c) over the in-memory
 * layer (io/layer.h), with no socket: every server reply is scripted, and
 * what the client wrote is checked byte for byte.  Covers the greeting,
 * EHLO and the HELO fallback, STARTTLS refused and accepted (up to the
 * injection check and a handshake met by plaintext), AUTH PLAIN and LOGIN,
 * a pipelined transaction with mixed recipient results, a 421 inside the
 * pipelined batch, QUIT, and a close at every point of a whole session. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mailwire.h"
#include "core/util.h"
#include "io/layer.h"
#include "net/proxy.h"
#include "proto/smtp.h"

#include <stdio.h>
#include <string.h>

#define GREETING "220 mx.example.org ESMTP ready\r\n"
#define EHLO_LINE "EHLO client.example.org\r\n"
#define MESSAGE "Subject: t\r\n\r\nhello\r\n.dot line\r\n"

static int setup(void **state)
{
  (void)state;
  return mw_global_init() == MW_OK ? 0 : -1;
}

/* One session over a scripted server. */
struct run {
  mw_options *o;
  mw_smtp *s;
  struct mw__mem_layer *m;
};

static void run_init(struct run *r, mw_tls_mode mode)
{
  r->o = mw_options_new();
  assert_non_null(r->o);
  assert_int_equal(mw_options_set_server(r->o, "mx.example.org", 587), MW_OK);
  assert_int_equal(mw_options_set_tls_mode(r->o, mode), MW_OK);
  assert_int_equal(mw_options_set_helo_name(r->o, "client.example.org"),
                   MW_OK);
  r->s = NULL;
  r->m = NULL;
}

/* Builds the session and its server from NULL-terminated segments. */
static void run_script(struct run *r, const char *const *segs)
{
  r->s = mw_smtp_new(r->o);
  assert_non_null(r->s);
  r->m = mw__mem_layer_new(&r->s->err);
  assert_non_null(r->m);
  for(size_t i = 0; segs[i]; i++)
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
    assert_true(mw__mem_layer_closed(r->m)); /* the session closed it */
  mw__mem_layer_free(r->m);
  mw_options_free(r->o);
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

/* ---- greeting ------------------------------------------------------- */

static void greeting_and_ehlo(void **state)
{
  (void)state;
  struct run r;
  run_init(&r, MW_TLS_NONE);
  const char *segs[] = {"220-mx.example.org ESMTP\r\n220 second line\r\n",
                        "250-mx.example.org\r\n250-PIPELINING\r\n"
                        "250 SIZE 1000\r\n",
                        NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_OK);
  assert_string_equal(written(&r), EHLO_LINE);
  assert_true(mw_smtp_has_capability(r.s, "PIPELINING"));
  assert_int_equal(mw_smtp_size_limit(r.s), 1000);
  assert_non_null(strstr(mw_smtp_greeting(r.s), "mx.example.org ESMTP"));
  assert_false(mw_smtp_is_encrypted(r.s));
  run_free(&r);
}

static void greeting_refusals(void **state)
{
  (void)state;
  static const struct {
    const char *reply;
    mw_status st;
  } cases[] = {
      {"554 5.7.1 no mail from you\r\n", MW_E_REJECTED},
      {"421 4.3.2 busy, try later\r\n", MW_E_REJECTED},
      {"250 not a greeting\r\n", MW_E_PROTOCOL},
      {"HTTP/1.1 400 Bad Request\r\n", MW_E_PROTOCOL},
      {"+OK POP3 ready\r\n", MW_E_PROTOCOL},
      {"220 ok\r\n250 unsolicited\r\n", MW_E_PROTOCOL},
      {"220 a line cut short", MW_E_CLOSED},
      {"", MW_E_CLOSED},
  };
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct run r;
    run_init(&r, MW_TLS_NONE);
    const char *segs[] = {cases[i].reply, NULL};
    run_script(&r, segs);
    mw_status st = run_connect(&r);
    if(st != cases[i].st)
      fail_msg("greeting %zu: %s, want %s (%s)", i, mw_status_name(st),
               mw_status_name(cases[i].st),
               mw_error_message(mw_smtp_error(r.s)));
    assert_string_equal(written(&r), ""); /* not even EHLO */
    run_free(&r);
  }
  /* A server that says nothing: the greeting times out (no real wait). */
  struct run r;
  run_init(&r, MW_TLS_NONE);
  const char *segs[] = {"", GREETING, NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_E_TIMEOUT);
  assert_non_null(strstr(mw_error_message(mw_smtp_error(r.s)),
                         "no greeting"));
  run_free(&r);
}

/* ---- EHLO and HELO ---------------------------------------------------- */

static void helo_fallback(void **state)
{
  (void)state;
  struct run r;
  run_init(&r, MW_TLS_NONE);
  const char *segs[] = {GREETING, "502 5.5.1 what is EHLO\r\n",
                        "250 mx.example.org\r\n", NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_OK);
  assert_string_equal(written(&r),
                      EHLO_LINE "HELO client.example.org\r\n");
  assert_false(mw_smtp_has_capability(r.s, "PIPELINING"));
  run_free(&r);

  /* HELO refused too. */
  run_init(&r, MW_TLS_NONE);
  const char *segs2[] = {GREETING, "500 no\r\n", "550 no either\r\n", NULL};
  run_script(&r, segs2);
  assert_int_equal(run_connect(&r), MW_E_REJECTED);
  assert_int_equal(mw_error_reply_code(mw_smtp_error(r.s)), 550);
  run_free(&r);

  /* EHLO answered 4xx: no fallback, a refusal. */
  run_init(&r, MW_TLS_NONE);
  const char *segs3[] = {GREETING, "421 4.7.0 go away\r\n", NULL};
  run_script(&r, segs3);
  assert_int_equal(run_connect(&r), MW_E_REJECTED);
  assert_string_equal(written(&r), EHLO_LINE);
  run_free(&r);

  /* Bytes after the EHLO reply that nothing asked for. */
  run_init(&r, MW_TLS_NONE);
  const char *segs4[] = {GREETING, "250 mx\r\n250 extra\r\n", NULL};
  run_script(&r, segs4);
  assert_int_equal(run_connect(&r), MW_E_PROTOCOL);
  run_free(&r);
}

/* ---- STARTTLS --------------------------------------------------------- */

static void starttls_refused(void **state)
{
  (void)state;
  struct run r;
  /* Not offered, required: nothing more is sent. */
  run_init(&r, MW_TLS_STARTTLS);
  const char *segs[] = {GREETING, "250 mx.example.org\r\n", NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_E_NO_STARTTLS);
  assert_string_equal(written(&r), EHLO_LINE);
  run_free(&r);

  /* Offered, then refused with 454: stop. */
  run_init(&r, MW_TLS_STARTTLS);
  const char *segs2[] = {GREETING, "250-mx\r\n250 STARTTLS\r\n",
                         "454 4.7.0 TLS not available\r\n", NULL};
  run_script(&r, segs2);
  assert_int_equal(run_connect(&r), MW_E_NO_STARTTLS);
  assert_string_equal(written(&r), EHLO_LINE "STARTTLS\r\n");
  run_free(&r);

  /* Refused, optional: the session goes on in clear. */
  run_init(&r, MW_TLS_STARTTLS_OPTIONAL);
  run_script(&r, segs2);
  assert_int_equal(run_connect(&r), MW_OK);
  assert_false(mw_smtp_is_encrypted(r.s));
  run_free(&r);
}

static void starttls_injection(void **state)
{
  (void)state;
  struct run r;
  run_init(&r, MW_TLS_STARTTLS);
  /* The 220 arrives with a reply to a command never sent. */
  const char *segs[] = {GREETING, "250-mx\r\n250 STARTTLS\r\n",
                        "220 2.0.0 go ahead\r\n250-injected\r\n", NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_E_INJECTION);
  /* Nothing after STARTTLS: no handshake began. */
  assert_string_equal(written(&r), EHLO_LINE "STARTTLS\r\n");
  run_free(&r);
}

static void starttls_handshake_meets_plaintext(void **state)
{
  (void)state;
  struct run r;
  run_init(&r, MW_TLS_STARTTLS);
  const char *segs[] = {GREETING, "250-mx\r\n250 STARTTLS\r\n",
                        "220 2.0.0 go ahead\r\n",
                        "500 5.5.1 what is this binary\r\n", NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_E_TLS);
  /* The ClientHello went through the memory layer (a TLS handshake
   * record, 0x16 0x03) right after STARTTLS. */
  size_t n = 0;
  const char *w = mw__mem_layer_written(r.m, &n);
  size_t head = strlen(EHLO_LINE "STARTTLS\r\n");
  assert_true(n > head + 5);
  assert_memory_equal(w, EHLO_LINE "STARTTLS\r\n", head);
  assert_int_equal((unsigned char)w[head], 0x16);
  assert_int_equal((unsigned char)w[head + 1], 0x03);
  run_free(&r);
}

/* ---- AUTH ------------------------------------------------------------- */

static void auth_setup(struct run *r, const char *mechs)
{
  run_init(r, MW_TLS_NONE);
  assert_int_equal(mw_options_set_credentials(r->o, "user", "pass"), MW_OK);
  assert_int_equal(mw_options_set_allow_insecure_auth(r->o, true), MW_OK);
  if(mechs)
    assert_int_equal(mw_options_set_auth_mechanisms(r->o, mechs), MW_OK);
}

static void auth_plain(void **state)
{
  (void)state;
  struct run r;
  auth_setup(&r, "PLAIN");
  const char *segs[] = {GREETING, "250-mx\r\n250 AUTH PLAIN LOGIN\r\n",
                        "235 2.7.0 ok\r\n", NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_OK);
  /* base64("\0user\0pass") */
  assert_string_equal(written(&r), EHLO_LINE "AUTH PLAIN AHVzZXIAcGFzcw==\r\n");
  assert_string_equal(mw_smtp_auth_mechanism(r.s), "PLAIN");
  run_free(&r);

  /* Refused: MW_E_AUTH, with the reply. */
  auth_setup(&r, "PLAIN");
  const char *segs2[] = {GREETING, "250-mx\r\n250 AUTH PLAIN\r\n",
                         "535 5.7.8 AHVzZXIAcGFzcw== is wrong\r\n", NULL};
  run_script(&r, segs2);
  assert_int_equal(run_connect(&r), MW_E_AUTH);
  assert_int_equal(mw_error_reply_code(mw_smtp_error(r.s)), 535);
  /* The credentials the server echoed are in no error text. */
  assert_null(strstr(mw_error_message(mw_smtp_error(r.s)), "AHVzZXIAcGFzcw"));
  run_free(&r);

  /* No TLS and no permission: nothing is sent. */
  run_init(&r, MW_TLS_NONE);
  assert_int_equal(mw_options_set_credentials(r.o, "user", "pass"), MW_OK);
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_E_INSECURE);
  assert_string_equal(written(&r), EHLO_LINE);
  run_free(&r);

  /* No AUTH offered. */
  auth_setup(&r, NULL);
  const char *segs3[] = {GREETING, "250 mx\r\n", NULL};
  run_script(&r, segs3);
  assert_int_equal(run_connect(&r), MW_E_AUTH_UNAVAILABLE);
  run_free(&r);
}

static void auth_login(void **state)
{
  (void)state;
  struct run r;
  auth_setup(&r, "LOGIN");
  const char *segs[] = {GREETING, "250-mx\r\n250 AUTH LOGIN\r\n",
                        "334 VXNlcm5hbWU6\r\n", "334 UGFzc3dvcmQ6\r\n",
                        "235 2.7.0 ok\r\n", NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_OK);
  assert_string_equal(written(&r), EHLO_LINE "AUTH LOGIN\r\n"
                                             "dXNlcg==\r\ncGFzcw==\r\n");
  assert_string_equal(mw_smtp_auth_mechanism(r.s), "LOGIN");
  run_free(&r);

  /* The server echoes the password back: the error never shows it. */
  auth_setup(&r, "LOGIN");
  const char *segs2[] = {GREETING, "250-mx\r\n250 AUTH LOGIN\r\n",
                         "334 VXNlcm5hbWU6\r\n", "334 UGFzc3dvcmQ6\r\n",
                         "535 5.7.8 cGFzcw== rejected\r\n", NULL};
  run_script(&r, segs2);
  assert_int_equal(run_connect(&r), MW_E_AUTH);
  assert_null(strstr(mw_error_message(mw_smtp_error(r.s)), "cGFzcw=="));
  run_free(&r);

  /* A continuation with data after it in the same read. */
  auth_setup(&r, "LOGIN");
  const char *segs3[] = {GREETING, "250-mx\r\n250 AUTH LOGIN\r\n",
                         "334 VXNlcm5hbWU6\r\n235 early\r\n", NULL};
  run_script(&r, segs3);
  assert_int_equal(run_connect(&r), MW_E_PROTOCOL);
  run_free(&r);
}

static void auth_cram_md5_and_xoauth2(void **state)
{
  (void)state;
  struct run r;
  /* CRAM-MD5: one challenge, answered with the user and the HMAC. */
  auth_setup(&r, "CRAM-MD5");
  const char *segs[] = {GREETING, "250-mx\r\n250 AUTH CRAM-MD5 PLAIN\r\n",
                        "334 PDEyMzQ1QGV4YW1wbGUub3JnPg==\r\n",
                        "235 2.7.0 ok\r\n", NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_OK);
  assert_string_equal(written(&r),
                      EHLO_LINE "AUTH CRAM-MD5\r\n"
                                "dXNlciA1YTk3YjA2MjVhODlhYThmYjZmMWNhNTYy"
                                "NTQxMGFiOQ==\r\n");
  assert_string_equal(mw_smtp_auth_mechanism(r.s), "CRAM-MD5");
  run_free(&r);

  /* XOAUTH2: the token in the initial response; a refusal comes as a
   * 334 with the server's JSON report, answered empty, then 535. */
  run_init(&r, MW_TLS_NONE);
  assert_int_equal(mw_options_set_credentials(r.o, "user", NULL), MW_OK);
  assert_int_equal(mw_options_set_oauth2_token(r.o, "tok"), MW_OK);
  assert_int_equal(mw_options_set_allow_insecure_auth(r.o, true), MW_OK);
  const char *segs2[] = {GREETING, "250-mx\r\n250 AUTH XOAUTH2\r\n",
                         "235 2.7.0 ok\r\n", NULL};
  run_script(&r, segs2);
  assert_int_equal(run_connect(&r), MW_OK);
  assert_string_equal(written(&r),
                      EHLO_LINE "AUTH XOAUTH2 "
                                "dXNlcj11c2VyAWF1dGg9QmVhcmVyIHRvawEB\r\n");
  run_free(&r);

  run_init(&r, MW_TLS_NONE);
  assert_int_equal(mw_options_set_credentials(r.o, "user", NULL), MW_OK);
  assert_int_equal(mw_options_set_oauth2_token(r.o, "tok"), MW_OK);
  assert_int_equal(mw_options_set_allow_insecure_auth(r.o, true), MW_OK);
  const char *segs3[] = {
      GREETING, "250-mx\r\n250 AUTH XOAUTH2\r\n",
      "334 eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiQmVhcmVyIn0=\r\n",
      "535 5.7.8 Username and Password not accepted\r\n", NULL};
  run_script(&r, segs3);
  assert_int_equal(run_connect(&r), MW_E_AUTH);
  assert_non_null(strstr(mw_error_message(mw_smtp_error(r.s)), "401"));
  const char *w = written(&r);
  size_t n = strlen(w);
  assert_true(n >= 4 && strcmp(w + n - 4, "\r\n\r\n") == 0); /* empty */
  run_free(&r);
}

/* ---- the transaction -------------------------------------------------- */

static const char *const PIPE_EHLO =
    "250-mx.example.org\r\n250-PIPELINING\r\n250 8BITMIME\r\n";

static void pipelined_mixed_recipients(void **state)
{
  (void)state;
  struct run r;
  run_init(&r, MW_TLS_NONE);
  const char *segs[] = {GREETING, PIPE_EHLO,
                        "250 2.1.0 ok\r\n250 2.1.5 ok\r\n"
                        "550 5.1.1 <c@example.org> no such user\r\n"
                        "250 2.1.5 ok\r\n354 go on\r\n",
                        "250 2.0.0 Ok: queued as 4ABC12\r\n",
                        "221 2.0.0 bye\r\n", NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_OK);
  const char *to[] = {"b@example.org", "c@example.org", "d@example.org",
                      NULL};
  mw_envelope *e = envelope("a@example.org", to);
  mw_result *res = NULL;
  assert_int_equal(mw_smtp_send_buffer(r.s, e, MESSAGE, strlen(MESSAGE),
                                       &res),
                   MW_OK);
  assert_non_null(res);
  assert_int_equal(mw_result_delivery(res), MW_DELIVERY_ACCEPTED);
  assert_int_equal(mw_result_recipient_count(res), 3);
  assert_true(mw_result_recipient_accepted(res, 0));
  assert_false(mw_result_recipient_accepted(res, 1));
  assert_int_equal(mw_result_recipient_code(res, 1), 550);
  assert_string_equal(mw_result_recipient_enhanced_code(res, 1), "5.1.1");
  assert_true(mw_result_recipient_accepted(res, 2));
  assert_string_equal(mw_result_queue_id(res), "4ABC12");
  assert_int_equal(mw_result_final_code(res), 250);
  assert_int_equal(mw_smtp_quit(r.s), MW_OK);
  /* MAIL, the RCPTs and DATA in one write, the body dot-stuffed. */
  const char *w = written(&r);
  const char *batch = strstr(w, "MAIL FROM:<a@example.org>");
  assert_non_null(batch);
  assert_non_null(strstr(batch, "\r\nRCPT TO:<b@example.org>\r\n"
                                "RCPT TO:<c@example.org>\r\n"
                                "RCPT TO:<d@example.org>\r\nDATA\r\n"
                                "Subject: t\r\n\r\nhello\r\n..dot line\r\n"
                                ".\r\nQUIT\r\n"));
  mw_result_free(res);
  mw_envelope_free(e);
  run_free(&r);
}

static void pipelined_421(void **state)
{
  (void)state;
  struct run r;
  run_init(&r, MW_TLS_NONE);
  /* The server closes the channel in the middle of the batch. */
  const char *segs[] = {GREETING, PIPE_EHLO,
                        "250 2.1.0 ok\r\n421 4.3.2 shutting down\r\n",
                        NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_OK);
  const char *to[] = {"b@example.org", "c@example.org", NULL};
  mw_envelope *e = envelope("a@example.org", to);
  mw_result *res = NULL;
  size_t before = 0;
  mw_status st = mw_smtp_send_buffer(r.s, e, MESSAGE, strlen(MESSAGE), &res);
  assert_int_equal(st, MW_E_CLOSED);
  assert_int_equal(mw_error_reply_code(mw_smtp_error(r.s)), 421);
  assert_true(mw_error_is_temporary(mw_smtp_error(r.s)));
  assert_non_null(res);
  assert_int_not_equal(mw_result_delivery(res), MW_DELIVERY_ACCEPTED);
  /* Nothing after the batch: no body, no RSET to a closed channel. */
  const char *w = mw__mem_layer_written(r.m, &before);
  assert_null(strstr(w, "RSET"));
  assert_null(strstr(w, "hello"));
  /* The session is over. */
  mw_result *again = NULL;
  assert_int_equal(mw_smtp_send_buffer(r.s, e, MESSAGE, strlen(MESSAGE),
                                       &again),
                   MW_E_STATE);
  mw_result_free(again);
  mw_result_free(res);
  mw_envelope_free(e);
  run_free(&r);
}

static void unpipelined_refused_sender(void **state)
{
  (void)state;
  struct run r;
  run_init(&r, MW_TLS_NONE);
  const char *segs[] = {GREETING, "250 mx\r\n",
                        "553 5.7.1 sender refused\r\n", "250 2.0.0 reset\r\n",
                        "221 bye\r\n", NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_OK);
  const char *to[] = {"b@example.org", NULL};
  mw_envelope *e = envelope("a@example.org", to);
  mw_result *res = NULL;
  assert_int_equal(mw_smtp_send_buffer(r.s, e, MESSAGE, strlen(MESSAGE),
                                       &res),
                   MW_E_REJECTED);
  assert_int_equal(mw_result_delivery(res), MW_DELIVERY_REFUSED);
  /* One command per round trip, then RSET: the session stays usable. */
  assert_non_null(strstr(written(&r), "\r\nRSET\r\n"));
  assert_null(strstr(written(&r), "RCPT"));
  assert_int_equal(mw_smtp_quit(r.s), MW_OK);
  mw_result_free(res);
  mw_envelope_free(e);
  run_free(&r);
}

/* ---- QUIT and closes -------------------------------------------------- */

static void quit(void **state)
{
  (void)state;
  struct run r;
  run_init(&r, MW_TLS_NONE);
  const char *segs[] = {GREETING, "250 mx\r\n", "221 2.0.0 bye\r\n", NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_OK);
  assert_int_equal(mw_smtp_quit(r.s), MW_OK);
  assert_string_equal(written(&r), EHLO_LINE "QUIT\r\n");
  assert_true(mw__mem_layer_closed(r.m));
  run_free(&r);

  /* A server gone before QUIT's answer loses nothing. */
  run_init(&r, MW_TLS_NONE);
  const char *segs2[] = {GREETING, "250 mx\r\n", NULL};
  run_script(&r, segs2);
  assert_int_equal(run_connect(&r), MW_OK);
  assert_int_equal(mw_smtp_quit(r.s), MW_OK);
  run_free(&r);
}

/* A whole session (connect with AUTH, one pipelined message, QUIT), cut
 * after every segment of the server's side, closing cleanly or with
 * writes failing after the close: every cut is a failure of the step it
 * falls in, never a success, a crash or a leak. */
static void close_at_every_phase(void **state)
{
  (void)state;
  const char *full[] = {GREETING,
                        "250-mx\r\n250-PIPELINING\r\n250 AUTH PLAIN\r\n",
                        "235 2.7.0 ok\r\n",
                        "250 2.1.0 ok\r\n250 2.1.5 ok\r\n354 go\r\n",
                        "250 2.0.0 queued as Q1\r\n",
                        "221 bye\r\n"};
  size_t nfull = sizeof(full) / sizeof(full[0]);
  for(int fails = 0; fails < 2; fails++) {
    for(size_t cut = 0; cut <= nfull; cut++) {
      struct run r;
      auth_setup(&r, "PLAIN");
      const char *segs[8] = {NULL};
      for(size_t i = 0; i < cut; i++)
        segs[i] = full[i];
      run_script(&r, segs);
      mw__mem_layer_close_here(r.m, fails != 0);
      mw_status st = run_connect(&r);
      if(cut < 3) {
        assert_int_equal(st, MW_E_CLOSED);
        run_free(&r);
        continue;
      }
      assert_int_equal(st, MW_OK);
      const char *to[] = {"b@example.org", NULL};
      mw_envelope *e = envelope("a@example.org", to);
      mw_result *res = NULL;
      st = mw_smtp_send_buffer(r.s, e, MESSAGE, strlen(MESSAGE), &res);
      if(cut == 3)
        assert_int_equal(st, MW_E_CLOSED);
      else if(cut == 4) /* the message went out, its answer did not come */
        assert_true(st == MW_E_DELIVERY_UNKNOWN ||
                    (fails && st == MW_E_CLOSED));
      else
        assert_int_equal(st, MW_OK);
      if(cut == 4 && st == MW_E_DELIVERY_UNKNOWN)
        assert_int_equal(mw_result_delivery(res), MW_DELIVERY_UNKNOWN);
      /* QUIT never fails for a server that went away. */
      if(st == MW_OK)
        assert_int_equal(mw_smtp_quit(r.s), MW_OK);
      mw_result_free(res);
      mw_envelope_free(e);
      run_free(&r);
    }
  }
}

/* Replies split in every possible place still parse: one byte per read. */
static void one_byte_reads(void **state)
{
  (void)state;
  struct run r;
  run_init(&r, MW_TLS_NONE);
  const char *segs[] = {GREETING, PIPE_EHLO, "221 bye\r\n", NULL};
  run_script(&r, segs);
  mw__mem_layer_set_read_max(r.m, 1);
  assert_int_equal(run_connect(&r), MW_OK);
  assert_true(mw_smtp_has_capability(r.s, "8BITMIME"));
  assert_int_equal(mw_smtp_quit(r.s), MW_OK);
  run_free(&r);
}

/* A SOCKS5 tunnel as a layer over the memory layer, and the session over
 * it: the handshake reads no byte of the greeting that follows the
 * proxy's reply in the same read. */
static void session_through_proxy_layer(void **state)
{
  (void)state;
  struct run r;
  run_init(&r, MW_TLS_NONE);
  static const char reply[] = "\x05\x00\x00\x01\x7f\x00\x00\x01\x04\x38";
  struct mw__mem_layer *m;
  r.s = mw_smtp_new(r.o);
  assert_non_null(r.s);
  r.m = m = mw__mem_layer_new(&r.s->err);
  assert_non_null(m);
  assert_true(mw__mem_layer_add(m, "\x05\x00", 2)); /* no auth */
  char seg[64];
  memcpy(seg, reply, 10);
  memcpy(seg + 10, GREETING, strlen(GREETING));
  assert_true(mw__mem_layer_add(m, seg, 10 + strlen(GREETING)));
  assert_true(mw__mem_layer_add_str(m, "250 mx\r\n"));
  struct mw__proxy p;
  char why[160];
  assert_int_equal(mw__proxy_parse_url("socks5h://127.0.0.1:1080", &p, why,
                                       sizeof(why)),
                   MW_OK);
  struct mw__layer *px = NULL;
  assert_int_equal(mw__proxy_layer_new(mw__mem_layer_get(m), &p,
                                       "mx.example.org", 587, NULL,
                                       mw__now_ms() + 1000, NULL, &px),
                   MW_OK);
  assert_int_equal(mw__proxy_layer_connect(px, mw__now_ms() + 1000), MW_OK);
  mw__proxy_release(&p);
  char desc[200];
  mw__layer_describe_stack(px, desc, sizeof(desc));
  assert_string_equal(desc, "socks5h proxy 127.0.0.1:1080 to mx.example.org:587"
                            " > memory (3 scripted segments)");
  assert_int_equal(mw__smtp_connect_over(r.s, px), MW_OK);
  size_t n = 0;
  const char *w = mw__mem_layer_written(m, &n);
  static const char request[] = "\x05\x01\x00\x03\x0emx.example.org\x02\x4b";
  assert_true(n > 3 + sizeof(request) - 1);
  assert_memory_equal(w, "\x05\x01\x00", 3);
  assert_memory_equal(w + 3, request, sizeof(request) - 1);
  assert_string_equal(w + 3 + sizeof(request) - 1, EHLO_LINE);
  assert_non_null(strstr(mw_smtp_greeting(r.s), "mx.example.org"));
  run_free(&r);
}

/* The layer stack describes itself (for the trace and the report). */
static void describe(void **state)
{
  (void)state;
  struct mw_error err;
  memset(&err, 0, sizeof(err));
  struct mw__mem_layer *m = mw__mem_layer_new(&err);
  assert_non_null(m);
  assert_true(mw__mem_layer_add_str(m, "a"));
  char buf[200];
  mw__layer_describe_stack(mw__mem_layer_get(m), buf, sizeof(buf));
  assert_string_equal(buf, "memory (1 scripted segment)");
  assert_int_equal(mw__layer_fd(mw__mem_layer_get(m)), -1);
  /* Without a socket nothing can be waited for. */
  assert_int_equal(mw__layer_wait(mw__mem_layer_get(m), 1, mw__now_ms() + 10,
                                   &err, "waiting"),
                   MW_E_TIMEOUT);
  mw__layer_close(mw__mem_layer_get(m));
  assert_true(mw__mem_layer_closed(m));
  mw__mem_layer_free(m);
  mw__error_clear(&err);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(greeting_and_ehlo),
      cmocka_unit_test(greeting_refusals),
      cmocka_unit_test(helo_fallback),
      cmocka_unit_test(starttls_refused),
      cmocka_unit_test(starttls_injection),
      cmocka_unit_test(starttls_handshake_meets_plaintext),
      cmocka_unit_test(auth_plain),
      cmocka_unit_test(auth_login),
      cmocka_unit_test(auth_cram_md5_and_xoauth2),
      cmocka_unit_test(pipelined_mixed_recipients),
      cmocka_unit_test(pipelined_421),
      cmocka_unit_test(unpipelined_refused_sender),
      cmocka_unit_test(quit),
      cmocka_unit_test(close_at_every_phase),
      cmocka_unit_test(one_byte_reads),
      cmocka_unit_test(session_through_proxy_layer),
      cmocka_unit_test(describe),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}

/* Unit tests: the line session (mw_conn, proto/conn.c) over the in-memory
 * layer (io/layer.h), with no socket: lines out with CRLF and in without,
 * a secret part of a line redacted in the trace and cut out of the
 * server's echo, a line with a CR refused without ending the session, a
 * timeout that leaves it usable, an IMAP literal read as bytes, the
 * STARTTLS injection check, and SASL through the driver (plaintext
 * refused unless allowed, SMTP AUTH PLAIN, IMAP AUTHENTICATE with its
 * tag, a refusal quoting the server). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mailwire.h"
#include "io/layer.h"
#include "proto/conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PASSWORD "s3cret-Pw-42"

static int setup(void **state)
{
  (void)state;
  return mw_global_init() == MW_OK ? 0 : -1;
}

struct run {
  mw_options *o;
  mw_conn *c;
  struct mw__mem_layer *m;
  char trace[8192];
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

/* A session of protocol p over the scripted segments (NULL-ended). */
static void run_open(struct run *r, mw_protocol p, bool insecure_auth,
                     const char *const *segs)
{
  memset(r, 0, sizeof(*r));
  r->o = mw_options_new();
  assert_non_null(r->o);
  assert_int_equal(mw_options_set_protocol(r->o, p), MW_OK);
  assert_int_equal(mw_options_set_server(r->o, "mail.example.org", 0),
                   MW_OK);
  assert_int_equal(mw_options_set_tls_mode(r->o, MW_TLS_NONE), MW_OK);
  assert_int_equal(mw_options_set_allow_insecure_auth(r->o, insecure_auth),
                   MW_OK);
  assert_int_equal(mw_options_set_trace(r->o, trace_fn, r), MW_OK);
  r->c = mw_conn_new(r->o);
  assert_non_null(r->c);
  r->m = mw__mem_layer_new(mw__conn_err(r->c));
  assert_non_null(r->m);
  for(size_t i = 0; segs[i]; i++)
    assert_true(mw__mem_layer_add_str(r->m, segs[i]));
  assert_int_equal(mw__conn_open_over(r->c, mw__mem_layer_get(r->m)),
                   MW_OK);
}

static void run_free(struct run *r)
{
  mw_conn_free(r->c);
  mw__mem_layer_free(r->m);
  mw_options_free(r->o);
}

static const char *written(const struct run *r)
{
  return mw__mem_layer_written(r->m, NULL);
}

/* The next line must be want. */
static void line_is(struct run *r, const char *want)
{
  const char *l = NULL;
  size_t n = 0;
  assert_int_equal(mw_conn_read_line(r->c, 1000, &l, &n), MW_OK);
  assert_int_equal(n, strlen(want));
  assert_memory_equal(l, want, n);
}

static void lines_and_secrets(void **state)
{
  (void)state;
  struct run r;
  const char *segs[] = {"+OK ready\r\n",
                        "+OK\r\n-ERR bad password " PASSWORD "\r\n",
                        "+OK only after the client writes\r\n", NULL};
  run_open(&r, MW_PROTOCOL_POP3, true, segs);
  line_is(&r, "+OK ready");
  assert_int_equal(mw_conn_send_line(r.c, "USER alice", -1), MW_OK);
  assert_int_equal(mw_conn_send_line(r.c, "PASS " PASSWORD, 5), MW_OK);
  assert_string_equal(written(&r), "USER alice\r\nPASS " PASSWORD "\r\n");
  line_is(&r, "+OK");
  /* The server's echo of the secret part is cut out. */
  line_is(&r, "-ERR bad password <redacted>");
  assert_non_null(strstr(r.trace, "> PASS <redacted>"));
  assert_null(strstr(r.trace, PASSWORD));
  /* A CR inside a line is refused; the session goes on. */
  assert_int_equal(mw_conn_send_line(r.c, "NOOP\rRSET", -1), MW_E_INVALID);
  assert_true(mw_conn_is_open(r.c));
  /* Nothing more comes: a timeout, and the session is still usable. */
  const char *l = NULL;
  size_t n = 0;
  assert_int_equal(mw_conn_read_line(r.c, 0, &l, &n), MW_E_TIMEOUT);
  assert_true(mw_conn_is_open(r.c));
  assert_null(l);
  run_free(&r);
}

static mw_status collect(void *user, const char *data, size_t len)
{
  char *buf = user;
  size_t used = strlen(buf);
  assert_true(used + len < 256);
  memcpy(buf + used, data, len);
  buf[used + len] = '\0';
  return MW_OK;
}

static void imap_literal(void **state)
{
  (void)state;
  /* Whole reads, and reads of 1 and 3 bytes (a literal cut anywhere). */
  const size_t read_max[] = {0, 1, 3};
  for(size_t k = 0; k < 3; k++) {
    struct run r;
    const char *segs[] = {
        "* OK ready\r\n",
        "* 1 FETCH (BODY[] {13}\r\nline 1\r\n.\r\n\r\n UID 7)\r\n"
        "A1 OK done\r\n",
        NULL};
    run_open(&r, MW_PROTOCOL_IMAP, false, segs);
    mw__mem_layer_set_read_max(r.m, read_max[k]);
    line_is(&r, "* OK ready");
    assert_int_equal(mw_conn_send_line(r.c, "A1 FETCH 1 BODY[]", -1), MW_OK);
    line_is(&r, "* 1 FETCH (BODY[] {13}");
    char body[256] = "";
    assert_int_equal(mw_conn_read_literal(r.c, 13, 1000, collect, body),
                     MW_OK);
    /* Literal bytes are bytes: a lone "." and an empty line among them. */
    assert_string_equal(body, "line 1\r\n.\r\n\r\n");
    line_is(&r, " UID 7)");
    line_is(&r, "A1 OK done");
    run_free(&r);
  }
}

static void starttls_injection_refused(void **state)
{
  (void)state;
  struct run r;
  const char *segs[] = {"220 hi\r\n", "220 go ahead\r\n250 AUTH PLAIN\r\n",
                        NULL};
  run_open(&r, MW_PROTOCOL_SMTP, false, segs);
  line_is(&r, "220 hi");
  assert_int_equal(mw_conn_send_line(r.c, "STARTTLS", -1), MW_OK);
  line_is(&r, "220 go ahead");
  assert_true(mw_conn_pending(r.c) > 0);
  assert_int_equal(mw_conn_starttls(r.c), MW_E_INJECTION);
  assert_int_equal(mw_error_status(mw_conn_error(r.c)), MW_E_INJECTION);
  assert_non_null(strstr(mw_error_message(mw_conn_error(r.c)),
                         "after its 220 reply to STARTTLS"));
  assert_false(mw_conn_is_open(r.c));
  assert_false(mw_conn_is_encrypted(r.c));
  assert_true(mw__mem_layer_closed(r.m));
  assert_string_equal(written(&r), "STARTTLS\r\n");
  run_free(&r);
}

struct shown {
  char text[1024];
};

static void show(void *user, bool from_server, const char *line, size_t len)
{
  struct shown *s = user;
  size_t used = strlen(s->text);
  snprintf(s->text + used, sizeof(s->text) - used, "%s%.*s\n",
           from_server ? "S: " : "C: ", (int)len, line);
}

static void smtp_auth_plain(void **state)
{
  (void)state;
  /* Plaintext and not allowed: refused before anything is sent. */
  struct run r;
  const char *none[] = {"220 hi\r\n", NULL};
  run_open(&r, MW_PROTOCOL_SMTP, false, none);
  line_is(&r, "220 hi");
  assert_int_equal(mw_conn_authenticate(r.c, "plain", "alice", PASSWORD,
                                        NULL, NULL, NULL, NULL, NULL),
                   MW_E_INSECURE);
  assert_string_equal(written(&r), "");
  assert_true(mw_conn_is_open(r.c));
  run_free(&r);
  /* Allowed: the initial response on the AUTH line, redacted. */
  const char *segs[] = {"220 hi\r\n", "235 2.7.0 ok\r\n", NULL};
  run_open(&r, MW_PROTOCOL_SMTP, true, segs);
  line_is(&r, "220 hi");
  struct shown s = {""};
  const char *mech = NULL;
  assert_int_equal(mw_conn_authenticate(r.c, "plain", "alice", PASSWORD,
                                        NULL, NULL, show, &s, &mech),
                   MW_OK);
  assert_string_equal(mech, "PLAIN");
  /* base64("\0alice\0s3cret-Pw-42") */
  assert_string_equal(written(&r),
                      "AUTH PLAIN AGFsaWNlAHMzY3JldC1Qdy00Mg==\r\n");
  assert_string_equal(s.text, "C: AUTH PLAIN <redacted>\nS: 235 2.7.0 ok\n");
  assert_null(strstr(r.trace, "AGFsaWNl"));
  run_free(&r);
}

static void imap_authenticate_tagged(void **state)
{
  (void)state;
  struct run r;
  const char *segs[] = {"* OK ready\r\n", "+ \r\n",
                        "* CAPABILITY IMAP4rev1\r\nA7 OK welcome\r\n", NULL};
  run_open(&r, MW_PROTOCOL_IMAP, true, segs);
  line_is(&r, "* OK ready");
  struct shown s = {""};
  assert_int_equal(mw_conn_authenticate(r.c, "PLAIN", "alice", PASSWORD,
                                        NULL, "A7", show, &s, NULL),
                   MW_OK);
  assert_string_equal(written(&r), "A7 AUTHENTICATE PLAIN\r\n"
                                   "AGFsaWNlAHMzY3JldC1Qdy00Mg==\r\n");
  /* The untagged line was shown (and skipped by the driver). */
  assert_non_null(strstr(s.text, "S: * CAPABILITY IMAP4rev1\n"));
  assert_non_null(strstr(s.text, "S: A7 OK welcome\n"));
  run_free(&r);
}

static void pop3_auth_refused(void **state)
{
  (void)state;
  struct run r;
  const char *segs[] = {"+OK ready\r\n", "-ERR [AUTH] no way\r\n", NULL};
  run_open(&r, MW_PROTOCOL_POP3, true, segs);
  line_is(&r, "+OK ready");
  assert_int_equal(mw_conn_authenticate(r.c, "plain", "alice", PASSWORD,
                                        NULL, NULL, NULL, NULL, NULL),
                   MW_E_AUTH);
  const char *msg = mw_error_message(mw_conn_error(r.c));
  assert_non_null(strstr(msg, "-ERR [AUTH] no way"));
  assert_null(strstr(msg, PASSWORD));
  assert_true(mw_conn_is_open(r.c));
  /* A mechanism the library does not have. */
  assert_int_equal(mw_conn_authenticate(r.c, "KERBEROS_V9", "alice",
                                        PASSWORD, NULL, NULL, NULL, NULL,
                                        NULL),
                   MW_E_AUTH_UNAVAILABLE);
  run_free(&r);
}

static void misuse(void **state)
{
  (void)state;
  assert_null(mw_conn_new(NULL));
  mw_conn_free(NULL);
  assert_int_equal(mw_conn_open(NULL), MW_E_INVALID);
  mw_options *o = mw_options_new();
  assert_non_null(o);
  mw_conn *c = mw_conn_new(o);
  assert_non_null(c);
  /* No server. */
  assert_int_equal(mw_conn_open(c), MW_E_INVALID);
  assert_int_equal(mw_conn_send_line(c, "NOOP", -1), MW_E_STATE);
  const char *l;
  size_t n;
  assert_int_equal(mw_conn_read_line(c, 0, &l, &n), MW_E_STATE);
  assert_int_equal(mw_conn_starttls(c), MW_E_STATE);
  assert_int_equal(mw_conn_fd(c), -1);
  assert_string_equal(mw_conn_tls_version(c), "");
  mw_conn_free(c);
  mw_options_free(o);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(lines_and_secrets),
      cmocka_unit_test(imap_literal),
      cmocka_unit_test(starttls_injection_refused),
      cmocka_unit_test(smtp_auth_plain),
      cmocka_unit_test(imap_authenticate_tagged),
      cmocka_unit_test(pop3_auth_refused),
      cmocka_unit_test(misuse),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}

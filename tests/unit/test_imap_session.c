/* Unit tests: the real IMAP session (proto/imap*.c) over the in-memory
 * layer (io/layer.h), with no socket: every server response is scripted,
 * and what the client wrote is checked byte for byte.  Covers greeting
 * variants (OK, PREAUTH, BYE, another protocol's banner), CAPABILITY,
 * LOGINDISABLED, STARTTLS (refused, injection, untagged responses before
 * its completion), wrong tags, lying literal lengths, LOGIN with quoted
 * strings and literals (synchronising and LITERAL+), AUTHENTICATE PLAIN
 * with and without SASL-IR, SELECT, UID SEARCH, UID FETCH with literals
 * split at every read size (the UID before and after the body), APPEND
 * synchronising and LITERAL+, IDLE, STORE/EXPUNGE, and a close at each
 * point of a whole session. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mailwire.h"
#include "core/util.h"
#include "io/layer.h"
#include "proto/imap.h"

#include <stdio.h>
#include <string.h>

static int setup(void **state)
{
  (void)state;
  return mw_global_init() == MW_OK ? 0 : -1;
}

struct run {
  mw_options *o;
  mw_imap *s;
  struct mw__mem_layer *m;
  struct mw__sbuf trace;
};

static void on_trace(void *user, mw_trace_kind kind, double ms,
                     const char *text)
{
  (void)kind;
  (void)ms;
  struct mw__sbuf *b = user;
  mw__sbuf_puts(b, text);
  mw__sbuf_puts(b, "\n");
}

static void run_init(struct run *r, mw_tls_mode mode)
{
  memset(r, 0, sizeof(*r));
  r->o = mw_options_new();
  assert_non_null(r->o);
  assert_int_equal(mw_options_set_server(r->o, "imap.example.org", 143),
                   MW_OK);
  assert_int_equal(mw_options_set_tls_mode(r->o, mode), MW_OK);
  mw__sbuf_init(&r->trace);
  assert_int_equal(mw_options_set_trace(r->o, on_trace, &r->trace), MW_OK);
}

static void run_creds(struct run *r, const char *user, const char *pass)
{
  assert_int_equal(mw_options_set_credentials(r->o, user, pass), MW_OK);
  assert_int_equal(mw_options_set_allow_insecure_auth(r->o, true), MW_OK);
}

static void run_script(struct run *r, const char *const *segs)
{
  r->s = mw_imap_new(r->o);
  assert_non_null(r->s);
  r->m = mw__mem_layer_new(&r->s->err);
  assert_non_null(r->m);
  for(size_t i = 0; segs[i]; i++)
    assert_true(mw__mem_layer_add_str(r->m, segs[i]));
}

static mw_status run_connect(struct run *r)
{
  return mw__imap_connect_over(r->s, mw__mem_layer_get(r->m));
}

static const char *written(const struct run *r)
{
  return mw__mem_layer_written(r->m, NULL);
}

static const char *trace(const struct run *r)
{
  return r->trace.data ? r->trace.data : "";
}

static void run_free(struct run *r)
{
  mw_imap_free(r->s);
  if(r->m)
    assert_true(mw__mem_layer_closed(r->m));
  mw__mem_layer_free(r->m);
  mw_options_free(r->o);
  mw__sbuf_free(&r->trace);
}

#define PREAUTH(caps) "* PREAUTH [CAPABILITY IMAP4rev1 " caps "] ready\r\n"

/* ---- greeting ----------------------------------------------------------- */

static void greeting_variants(void **state)
{
  (void)state;
  static const struct {
    const char *greeting;
    mw_status st;
    const char *foreign;
    const char *code;
  } cases[] = {
      {"* OK [CAPABILITY IMAP4rev1 IDLE] hello\r\n", MW_OK, NULL, ""},
      {"* BYE [UNAVAILABLE] too busy\r\n", MW_E_REJECTED, NULL,
       "UNAVAILABLE"},
      {"220 mx.example.org ESMTP\r\n", MW_E_PROTOCOL, "SMTP", ""},
      {"+OK POP3 ready\r\n", MW_E_PROTOCOL, "POP3", ""},
      {"SSH-2.0-OpenSSH_9.2\r\n", MW_E_PROTOCOL, "SSH", ""},
      {"* NO go away\r\n", MW_E_PROTOCOL, NULL, ""},
      {"A0001 OK hello\r\n", MW_E_PROTOCOL, NULL, ""},
      {"* OK cut short", MW_E_CLOSED, NULL, ""},
      {"", MW_E_CLOSED, NULL, ""},
  };
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct run r;
    run_init(&r, MW_TLS_NONE);
    const char *segs[] = {cases[i].greeting, NULL};
    run_script(&r, segs);
    mw_status st = run_connect(&r);
    if(st != cases[i].st)
      fail_msg("greeting %zu: %s, want %s (%s)", i, mw_status_name(st),
               mw_status_name(cases[i].st),
               mw_error_message(mw_imap_error(r.s)));
    const mw_error *e = mw_imap_error(r.s);
    if(cases[i].foreign)
      assert_string_equal(e->foreign_protocol, cases[i].foreign);
    assert_string_equal(mw_error_response_code(e), cases[i].code);
    if(i == 1) {
      assert_true(mw_error_is_temporary(e));
      assert_string_equal(mw_error_server_text(e), "too busy");
    }
    assert_string_equal(written(&r), "");
    run_free(&r);
  }
}

static void capability_when_not_in_greeting(void **state)
{
  (void)state;
  struct run r;
  run_init(&r, MW_TLS_NONE);
  const char *segs[] = {"* OK hello\r\n",
                        "* CAPABILITY IMAP4rev1 IDLE UIDPLUS\r\n"
                        "A0001 OK done\r\n",
                        NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_OK);
  assert_string_equal(written(&r), "A0001 CAPABILITY\r\n");
  assert_true(mw_imap_has_capability(r.s, "idle"));
  assert_true(mw_imap_has_capability(r.s, "UIDPLUS"));
  assert_false(mw_imap_has_capability(r.s, "STARTTLS"));
  assert_string_equal(mw_imap_greeting(r.s), "hello");
  assert_null(mw_imap_auth_mechanism(r.s));
  run_free(&r);
}

static void preauth(void **state)
{
  (void)state;
  /* Where TLS is required, PREAUTH ends the session. */
  struct run r;
  run_init(&r, MW_TLS_STARTTLS);
  const char *segs[] = {PREAUTH("STARTTLS"), NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_E_INSECURE);
  assert_string_equal(written(&r), "");
  run_free(&r);
  /* In plaintext by choice it is a logged-in session. */
  run_init(&r, MW_TLS_NONE);
  const char *segs2[] = {PREAUTH("IDLE"), "* BYE bye\r\nA0001 OK done\r\n",
                         NULL};
  run_script(&r, segs2);
  assert_int_equal(run_connect(&r), MW_OK);
  assert_string_equal(mw_imap_auth_mechanism(r.s), "PREAUTH");
  assert_int_equal(mw_imap_logout(r.s), MW_OK);
  assert_string_equal(written(&r), "A0001 LOGOUT\r\n");
  run_free(&r);
}

static void logindisabled(void **state)
{
  (void)state;
  struct run r;
  run_init(&r, MW_TLS_NONE);
  run_creds(&r, "joe", "secret");
  const char *segs[] = {
      "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] hi\r\n", NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_E_AUTH_UNAVAILABLE);
  assert_string_equal(written(&r), "");
  run_free(&r);
  /* No password in clear without permission, even with LOGIN allowed. */
  run_init(&r, MW_TLS_NONE);
  assert_int_equal(mw_options_set_credentials(r.o, "joe", "secret"), MW_OK);
  const char *segs2[] = {"* OK [CAPABILITY IMAP4rev1] hi\r\n", NULL};
  run_script(&r, segs2);
  assert_int_equal(run_connect(&r), MW_E_INSECURE);
  assert_string_equal(written(&r), "");
  run_free(&r);
}

/* ---- STARTTLS ------------------------------------------------------------ */

static void starttls_cases(void **state)
{
  (void)state;
  static const struct {
    const char *caps;
    const char *reply;
    mw_status st;
  } cases[] = {
      /* not offered */
      {"* OK [CAPABILITY IMAP4rev1] hi\r\n", NULL, MW_E_NO_STARTTLS},
      /* refused */
      {"* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n",
       "A0001 NO [UNAVAILABLE] not now\r\n", MW_E_NO_STARTTLS},
      /* bytes after the OK: injection */
      {"* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n",
       "A0001 OK begin TLS\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n",
       MW_E_INJECTION},
      {"* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n",
       "A0001 OK begin TLS\r\nx", MW_E_INJECTION},
      /* untagged before the OK: not acted on; the handshake follows and
       * meets plaintext */
      {"* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n",
       "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n* OK [ALERT] hi\r\n"
       "A0001 OK begin TLS\r\n",
       MW_E_TLS},
  };
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct run r;
    run_init(&r, MW_TLS_STARTTLS);
    const char *segs[] = {cases[i].caps, cases[i].reply,
                          "* OK this is not TLS\r\n", NULL};
    if(!cases[i].reply)
      segs[1] = NULL;
    run_script(&r, segs);
    mw_status st = run_connect(&r);
    if(st != cases[i].st)
      fail_msg("case %zu: %s, want %s (%s)", i, mw_status_name(st),
               mw_status_name(cases[i].st),
               mw_error_message(mw_imap_error(r.s)));
    /* (after the last case's STARTTLS comes its TLS ClientHello) */
    if(i == 0)
      assert_string_equal(written(&r), "");
    else if(st == MW_E_TLS)
      assert_memory_equal(written(&r), "A0001 STARTTLS\r\n\x16", 17);
    else
      assert_string_equal(written(&r), "A0001 STARTTLS\r\n");
    assert_string_equal(mw_imap_alert(r.s), "");
    run_free(&r);
  }
}

/* ---- tags and literals ---------------------------------------------------- */

static void bad_responses(void **state)
{
  (void)state;
  static const struct {
    const char *reply;
    mw_status st;
  } cases[] = {
      {"* CAPABILITY IMAP4rev1\r\nB0001 OK done\r\n", MW_E_PROTOCOL},
      {"* CAPABILITY IMAP4rev1\r\nA0002 OK done\r\n", MW_E_PROTOCOL},
      {"* CAPABILITY IMAP4rev1\r\nA0001 MAYBE done\r\n", MW_E_PROTOCOL},
      {"+ nobody asked\r\nA0001 OK\r\n", MW_E_PROTOCOL},
      /* a literal longer than the cap for anything but a body */
      {"* LIST () \"/\" {99999999}\r\n", MW_E_PROTOCOL},
      /* one that overflows */
      {"* LIST () \"/\" {999999999999999999999999}\r\n", MW_E_PROTOCOL},
      /* one that lies: the rest of the stream is swallowed */
      {"* LIST () \"/\" {40}\r\nINBOX\r\nA0001 OK done\r\n", MW_E_CLOSED},
      /* a line that never ends */
      {"* CAPABILITY IMAP4rev1 IMAP4rev1 IMAP4rev1", MW_E_CLOSED},
  };
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct run r;
    run_init(&r, MW_TLS_NONE);
    const char *segs[] = {"* OK hi\r\n", cases[i].reply, NULL};
    run_script(&r, segs);
    mw_status st = run_connect(&r);
    if(st != cases[i].st)
      fail_msg("case %zu: %s, want %s (%s)", i, mw_status_name(st),
               mw_status_name(cases[i].st),
               mw_error_message(mw_imap_error(r.s)));
    /* The session is over: nothing more can be sent. */
    bool changed = true;
    assert_int_equal(mw_imap_noop(r.s, &changed), MW_E_STATE);
    run_free(&r);
  }
}

/* ---- LOGIN ------------------------------------------------------------------ */

static void login_quoted_and_literal(void **state)
{
  (void)state;
  /* Quoted: the trace shows the password redacted. */
  struct run r;
  run_init(&r, MW_TLS_NONE);
  run_creds(&r, "joe", "secret pw");
  const char *segs[] = {"* OK [CAPABILITY IMAP4rev1] hi\r\n",
                        "A0001 OK [CAPABILITY IMAP4rev1 IDLE] in\r\n", NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_OK);
  assert_string_equal(written(&r), "A0001 LOGIN joe \"secret pw\"\r\n");
  assert_non_null(strstr(trace(&r), "A0001 LOGIN joe <redacted>"));
  assert_null(strstr(trace(&r), "secret pw"));
  assert_string_equal(mw_imap_auth_mechanism(r.s), "LOGIN");
  assert_true(mw_imap_has_capability(r.s, "IDLE"));
  run_free(&r);

  /* 8-bit password: a synchronising literal waits for "+". */
  run_init(&r, MW_TLS_NONE);
  run_creds(&r, "joe", "p\xc3\xa4ss");
  const char *segs2[] = {"* OK [CAPABILITY IMAP4rev1] hi\r\n", "+ go\r\n",
                         "A0001 OK in\r\n",
                         "* CAPABILITY IMAP4rev1 IDLE\r\nA0002 OK\r\n",
                         NULL};
  run_script(&r, segs2);
  assert_int_equal(run_connect(&r), MW_OK);
  assert_string_equal(written(&r), "A0001 LOGIN joe {5}\r\np\xc3\xa4ss\r\n"
                                   "A0002 CAPABILITY\r\n");
  assert_null(strstr(trace(&r), "p\xc3\xa4ss"));
  run_free(&r);

  /* LITERAL+: no wait. */
  run_init(&r, MW_TLS_NONE);
  run_creds(&r, "joe", "p\xc3\xa4ss");
  const char *segs3[] = {"* OK [CAPABILITY IMAP4rev1 LITERAL+] hi\r\n",
                         "A0001 OK [CAPABILITY IMAP4rev1] in\r\n", NULL};
  run_script(&r, segs3);
  assert_int_equal(run_connect(&r), MW_OK);
  assert_string_equal(written(&r), "A0001 LOGIN joe {5+}\r\np\xc3\xa4ss\r\n");
  run_free(&r);

  /* Refused before the literal, and refused after. */
  run_init(&r, MW_TLS_NONE);
  run_creds(&r, "joe", "p\xc3\xa4ss");
  const char *segs4[] = {"* OK [CAPABILITY IMAP4rev1] hi\r\n",
                         "A0001 NO [LIMIT] too many\r\n", NULL};
  run_script(&r, segs4);
  assert_int_equal(run_connect(&r), MW_E_AUTH);
  assert_string_equal(mw_error_response_code(mw_imap_error(r.s)), "LIMIT");
  assert_true(mw_error_is_temporary(mw_imap_error(r.s)));
  run_free(&r);
  run_init(&r, MW_TLS_NONE);
  run_creds(&r, "joe", "wrong");
  const char *segs5[] = {"* OK [CAPABILITY IMAP4rev1] hi\r\n",
                         "A0001 NO [AUTHENTICATIONFAILED] Authentication "
                         "failed.\r\n",
                         NULL};
  run_script(&r, segs5);
  assert_int_equal(run_connect(&r), MW_E_AUTH);
  assert_string_equal(mw_error_response_code(mw_imap_error(r.s)),
                      "AUTHENTICATIONFAILED");
  assert_false(mw_error_is_temporary(mw_imap_error(r.s)));
  run_free(&r);

  /* Gmail's way of saying an app password is needed: the ALERT is kept. */
  run_init(&r, MW_TLS_NONE);
  run_creds(&r, "joe", "secret");
  const char *segs6[] = {"* OK [CAPABILITY IMAP4rev1] hi\r\n",
                         "A0001 NO [ALERT] Application-specific password "
                         "required\r\n",
                         NULL};
  run_script(&r, segs6);
  assert_int_equal(run_connect(&r), MW_E_AUTH);
  assert_string_equal(mw_imap_alert(r.s),
                      "Application-specific password required");
  assert_string_equal(mw_error_response_code(mw_imap_error(r.s)), "ALERT");
  run_free(&r);
}

/* ---- AUTHENTICATE ------------------------------------------------------------- */

static void authenticate_plain(void **state)
{
  (void)state;
  struct run r;
  run_init(&r, MW_TLS_NONE);
  run_creds(&r, "joe", "secret");
  const char *segs[] = {"* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] "
                        "hi\r\n",
                        "A0001 OK [CAPABILITY IMAP4rev1 IDLE] in\r\n", NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_OK);
  assert_string_equal(written(&r),
                      "A0001 AUTHENTICATE PLAIN AGpvZQBzZWNyZXQ=\r\n");
  assert_string_equal(mw_imap_auth_mechanism(r.s), "PLAIN");
  assert_null(strstr(trace(&r), "AGpvZQBzZWNyZXQ="));
  run_free(&r);

  run_init(&r, MW_TLS_NONE);
  run_creds(&r, "joe", "secret");
  const char *segs2[] = {"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n",
                         "+ \r\n", "A0001 OK in\r\n",
                         "* CAPABILITY IMAP4rev1 IDLE\r\nA0002 OK\r\n",
                         NULL};
  run_script(&r, segs2);
  assert_int_equal(run_connect(&r), MW_OK);
  assert_string_equal(written(&r), "A0001 AUTHENTICATE PLAIN\r\n"
                                   "AGpvZQBzZWNyZXQ=\r\n"
                                   "A0002 CAPABILITY\r\n");
  assert_true(mw_imap_has_capability(r.s, "IDLE"));
  run_free(&r);

  run_init(&r, MW_TLS_NONE);
  run_creds(&r, "joe", "secret");
  const char *segs3[] = {"* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] "
                         "hi\r\n",
                         "A0001 NO [AUTHENTICATIONFAILED] no\r\n", NULL};
  run_script(&r, segs3);
  assert_int_equal(run_connect(&r), MW_E_AUTH);
  assert_string_equal(mw_error_response_code(mw_imap_error(r.s)),
                      "AUTHENTICATIONFAILED");
  run_free(&r);
}

/* ---- mailbox commands --------------------------------------------------------- */

#define SELECT_REPLY                                                         \
  "* 3 EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY 42] v\r\n"                  \
  "* OK [UIDNEXT 7] n\r\n* FLAGS (\\Seen \\Deleted)\r\n"                     \
  "A0001 OK [READ-WRITE] done\r\n"

static void select_and_search(void **state)
{
  (void)state;
  struct run r;
  run_init(&r, MW_TLS_NONE);
  const char *segs[] = {PREAUTH("UIDPLUS"), SELECT_REPLY,
                        "* SEARCH 5 3 4\r\nA0002 OK\r\n",
                        "A0003 OK\r\n", "* 2 EXPUNGE\r\nA0004 OK\r\n", NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_OK);
  const uint32_t *uids = NULL;
  size_t n = 0;
  assert_int_equal(mw_imap_search(r.s, "ALL", &uids, &n), MW_E_STATE);
  mw_imap_status st;
  assert_int_equal(mw_imap_select(r.s, "INBOX", false, &st), MW_OK);
  assert_int_equal(st.messages, 3);
  assert_int_equal(st.uidvalidity, 42);
  assert_int_equal(st.uidnext, 7);
  assert_int_equal(mw_imap_search(r.s, "ALL", &uids, &n), MW_OK);
  assert_int_equal(n, 3);
  assert_int_equal(uids[0], 3);
  assert_int_equal(uids[2], 5);
  const uint32_t del[] = {4};
  assert_int_equal(mw_imap_store_flags(r.s, del, 1, "\\Deleted", 1), MW_OK);
  assert_int_equal(mw_imap_expunge(r.s, del, 1), MW_OK);
  assert_string_equal(written(&r), "A0001 SELECT INBOX\r\n"
                                   "A0002 UID SEARCH ALL\r\n"
                                   "A0003 UID STORE 4 +FLAGS.SILENT "
                                   "(\\Deleted)\r\n"
                                   "A0004 UID EXPUNGE 4\r\n");
  assert_int_equal(mw_imap_store_flags(r.s, del, 1, "\\Seen)", 1),
                   MW_E_INVALID);
  run_free(&r);
}

static mw_status on_list(void *user, const char *name, char delim,
                         const char *flags)
{
  struct mw__sbuf *b = user;
  mw__sbuf_printf(b, "%s|%c|%s;", name, delim ? delim : '0', flags);
  return MW_OK;
}

static void list_and_status(void **state)
{
  (void)state;
  struct run r;
  run_init(&r, MW_TLS_NONE);
  const char *segs[] = {
      PREAUTH("UIDPLUS"),
      "* LIST (\\HasNoChildren) \"/\" INBOX\r\n"
      "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent &AOQ-\"\r\n"
      "* LIST () \"/\" {5}\r\nab cd\r\nA0001 OK\r\n",
      "* STATUS \"Sent &AOQ-\" (MESSAGES 4 RECENT 1 UIDNEXT 9 UIDVALIDITY 3 "
      "UNSEEN 2)\r\nA0002 OK\r\n",
      "A0003 NO [NONEXISTENT] no such mailbox\r\n", NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_OK);
  struct mw__sbuf b;
  mw__sbuf_init(&b);
  assert_int_equal(mw_imap_list(r.s, "", "*", on_list, &b), MW_OK);
  assert_string_equal(b.data, "INBOX|/|\\HasNoChildren;"
                              "Sent \xc3\xa4|/|\\HasNoChildren \\Sent;"
                              "ab cd|/|;");
  mw__sbuf_free(&b);
  mw_imap_status st;
  assert_int_equal(mw_imap_status_of(r.s, "Sent \xc3\xa4", &st), MW_OK);
  assert_int_equal(st.messages, 4);
  assert_int_equal(st.unseen, 2);
  assert_int_equal(st.uidnext, 9);
  assert_int_equal(mw_imap_select(r.s, "Nope", true, NULL), MW_E_REJECTED);
  assert_string_equal(mw_error_response_code(mw_imap_error(r.s)),
                      "NONEXISTENT");
  assert_string_equal(written(&r),
                      "A0001 LIST \"\" \"*\"\r\n"
                      "A0002 STATUS \"Sent &AOQ-\" (MESSAGES RECENT UIDNEXT "
                      "UIDVALIDITY UNSEEN)\r\n"
                      "A0003 EXAMINE Nope\r\n");
  run_free(&r);
}

/* IMAP4rev2 alone: UTF-8 names, UID EXPUNGE without UIDPLUS; offered
 * beside IMAP4rev1 (no ENABLE sent): modified UTF-7, plain EXPUNGE. */
static void rev2_only_and_both(void **state)
{
  (void)state;
  struct run r;
  run_init(&r, MW_TLS_NONE);
  const char *segs[] = {"* PREAUTH [CAPABILITY IMAP4rev2] hi\r\n",
                        "* LIST () \"/\" \"S\xc3\xa4nt\"\r\nA0001 OK\r\n",
                        "A0002 OK [READ-WRITE] done\r\n", "A0003 OK\r\n",
                        NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_OK);
  struct mw__sbuf b;
  mw__sbuf_init(&b);
  assert_int_equal(mw_imap_list(r.s, "", "%", on_list, &b), MW_OK);
  assert_string_equal(b.data, "S\xc3\xa4nt|/|;");
  assert_int_equal(mw_imap_select(r.s, "S\xc3\xa4nt", false, NULL), MW_OK);
  const uint32_t one[] = {7};
  assert_int_equal(mw_imap_expunge(r.s, one, 1), MW_OK);
  assert_string_equal(written(&r), "A0001 LIST \"\" \"%\"\r\n"
                                   "A0002 SELECT \"S\xc3\xa4nt\"\r\n"
                                   "A0003 UID EXPUNGE 7\r\n");
  mw__sbuf_free(&b);
  run_free(&r);

  run_init(&r, MW_TLS_NONE);
  const char *segs2[] = {"* PREAUTH [CAPABILITY IMAP4rev1 IMAP4rev2] hi\r\n",
                         "A0001 OK [READ-WRITE] done\r\n", "A0002 OK\r\n",
                         NULL};
  run_script(&r, segs2);
  assert_int_equal(run_connect(&r), MW_OK);
  assert_int_equal(mw_imap_select(r.s, "S\xc3\xa4nt", false, NULL), MW_OK);
  assert_int_equal(mw_imap_expunge(r.s, one, 1), MW_OK);
  assert_string_equal(written(&r), "A0001 SELECT S&AOQ-nt\r\n"
                                   "A0002 EXPUNGE\r\n");
  run_free(&r);
}

/* ---- FETCH ------------------------------------------------------------------ */

struct got {
  struct mw__sbuf b;
  uint32_t uid;
  bool in_message;
};

static mw_status on_message(void *user, uint32_t uid, const char *data,
                            size_t len, bool last)
{
  struct got *g = user;
  assert_int_not_equal(uid, 0);
  if(!g->in_message) {
    mw__sbuf_printf(&g->b, "[%u:", (unsigned)uid);
    g->uid = uid;
    g->in_message = true;
  }
  assert_int_equal(uid, g->uid);
  mw__sbuf_append(&g->b, data, len);
  if(last) {
    mw__sbuf_puts(&g->b, "]");
    g->in_message = false;
  }
  return MW_OK;
}

#define FETCH_REPLY                                                          \
  "* 1 FETCH (UID 3 BODY[] {7}\r\nhel\r\nlo)\r\n"                            \
  "* 1 FETCH (FLAGS (\\Seen))\r\n"                                           \
  "* 2 FETCH (BODY[] {6}\r\nworld! UID 4)\r\n"                               \
  "* 3 FETCH (UID 5 BODY[] {0}\r\n)\r\n"                                     \
  "A0002 OK done\r\n"

static void fetch_every_read_size(void **state)
{
  (void)state;
  size_t total = strlen(FETCH_REPLY) + strlen(SELECT_REPLY) + 60;
  for(size_t max = 0; max <= total; max++) {
    struct run r;
    run_init(&r, MW_TLS_NONE);
    const char *segs[] = {PREAUTH("UIDPLUS"), SELECT_REPLY, FETCH_REPLY,
                          NULL};
    run_script(&r, segs);
    mw__mem_layer_set_read_max(r.m, max);
    assert_int_equal(run_connect(&r), MW_OK);
    assert_int_equal(mw_imap_select(r.s, "INBOX", false, NULL), MW_OK);
    struct got g = {0};
    mw__sbuf_init(&g.b);
    const uint32_t uids[] = {5, 3, 4};
    mw_status st = mw_imap_fetch(r.s, uids, 3, on_message, &g);
    if(st)
      fail_msg("read size %zu: %s", max,
               mw_error_message(mw_imap_error(r.s)));
    assert_string_equal(g.b.data, "[3:hel\r\nlo][4:world!][5:]");
    assert_string_equal(written(&r), "A0001 SELECT INBOX\r\n"
                                     "A0002 UID FETCH 3:5 (UID "
                                     "BODY.PEEK[])\r\n");
    mw__sbuf_free(&g.b);
    run_free(&r);
  }
}

static mw_status refuse_message(void *user, uint32_t uid, const char *data,
                                size_t len, bool last)
{
  (void)user;
  (void)uid;
  (void)data;
  (void)len;
  (void)last;
  return MW_E_IO;
}

static void fetch_pipelined_and_refused(void **state)
{
  (void)state;
  /* More UIDs than one command takes: several commands in flight. */
  struct run r;
  run_init(&r, MW_TLS_NONE);
  struct mw__sbuf reply;
  mw__sbuf_init(&reply);
  uint32_t uids[MW__IMAP_FETCH_BATCH + 2];
  for(uint32_t i = 0; i < MW__IMAP_FETCH_BATCH + 2; i++) {
    uids[i] = 2 * i + 1;
    mw__sbuf_printf(&reply, "* %u FETCH (UID %u BODY[] {1}\r\nx)\r\n", i + 1,
                    uids[i]);
  }
  /* completed out of order (RFC 9051 5.5) */
  mw__sbuf_puts(&reply, "A0003 OK\r\nA0002 OK\r\n");
  const char *segs[] = {PREAUTH("IDLE"), SELECT_REPLY, reply.data,
                        "* 1 FETCH (UID 1 BODY[] {4}\r\nabcd)\r\n"
                        "A0004 OK\r\n",
                        NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_OK);
  assert_int_equal(mw_imap_select(r.s, "INBOX", false, NULL), MW_OK);
  struct got g = {0};
  mw__sbuf_init(&g.b);
  assert_int_equal(mw_imap_fetch(r.s, uids, MW__IMAP_FETCH_BATCH + 2,
                                 on_message, &g),
                   MW_OK);
  assert_non_null(strstr(g.b.data, "[1:x][3:x]"));
  assert_non_null(strstr(written(&r), "A0003 UID FETCH 129,131 (UID "));
  /* A callback's refusal ends the session (the literal cannot be left
   * half-read) and is what is returned. */
  assert_int_equal(mw_imap_fetch(r.s, uids, 1, refuse_message, NULL),
                   MW_E_IO);
  assert_int_equal(mw_imap_noop(r.s, NULL), MW_E_STATE);
  mw__sbuf_free(&g.b);
  run_free(&r);

  /* A command completed twice, or a completion for a command of another
   * kind than the oldest: the session ends. */
  static const char *const twice[] = {"A0003 OK\r\nA0003 OK\r\n",
                                      "A0002 OK\r\nA0002 OK\r\n",
                                      "A0004 OK\r\n"};
  for(size_t i = 0; i < 3; i++) {
    run_init(&r, MW_TLS_NONE);
    const char *segs2[] = {PREAUTH("IDLE"), SELECT_REPLY, twice[i], NULL};
    run_script(&r, segs2);
    assert_int_equal(run_connect(&r), MW_OK);
    assert_int_equal(mw_imap_select(r.s, "INBOX", false, NULL), MW_OK);
    mw__sbuf_init(&g.b);
    assert_int_equal(mw_imap_fetch(r.s, uids, MW__IMAP_FETCH_BATCH + 2,
                                   on_message, &g),
                     MW_E_PROTOCOL);
    mw__sbuf_free(&g.b);
    run_free(&r);
  }
  mw__sbuf_free(&reply);
}

static mw_status on_summary(void *user, const mw_imap_summary *s)
{
  struct mw__sbuf *b = user;
  mw__sbuf_printf(b, "%u %llu [%s] [%s] [%s] [%s];", (unsigned)s->uid,
                  (unsigned long long)s->size, s->flags, s->date, s->from,
                  s->subject);
  return MW_OK;
}

static void fetch_summary(void **state)
{
  (void)state;
  struct run r;
  run_init(&r, MW_TLS_NONE);
  const char *segs[] = {
      PREAUTH("IDLE"), SELECT_REPLY,
      "* 1 FETCH (UID 3 FLAGS (\\Seen \\Flagged) RFC822.SIZE 1234 "
      "ENVELOPE (\"Mon, 2 Feb 2026 10:00:00 +0000\" {11}\r\nHello \"you\""
      " ((\"Ann Example\" NIL \"ann\" \"example.org\")) NIL NIL NIL NIL "
      "NIL NIL \"<id@x>\"))\r\n"
      "* 2 FETCH (FLAGS () UID 4 RFC822.SIZE 9 ENVELOPE (NIL NIL "
      "((NIL NIL \"bob\" \"example.org\")) NIL NIL NIL NIL NIL NIL NIL))\r\n"
      "A0002 OK done\r\n",
      NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_OK);
  assert_int_equal(mw_imap_select(r.s, "INBOX", false, NULL), MW_OK);
  struct mw__sbuf b;
  mw__sbuf_init(&b);
  const uint32_t uids[] = {4, 3};
  assert_int_equal(mw_imap_fetch_summary(r.s, uids, 2, on_summary, &b),
                   MW_OK);
  assert_string_equal(b.data,
                      "3 1234 [\\Seen \\Flagged] [Mon, 2 Feb 2026 10:00:00 "
                      "+0000] [Ann Example <ann@example.org>] "
                      "[Hello \"you\"];"
                      "4 9 [] [] [bob@example.org] [];");
  assert_string_equal(written(&r), "A0001 SELECT INBOX\r\n"
                                   "A0002 UID FETCH 3:4 (UID FLAGS "
                                   "RFC822.SIZE ENVELOPE)\r\n");
  mw__sbuf_free(&b);
  run_free(&r);
}

/* ---- APPEND ------------------------------------------------------------------- */

struct src {
  const char *data;
  size_t len, pos;
};

static mw_status read_src(void *user, char *buf, size_t len, size_t *got)
{
  struct src *s = user;
  size_t n = s->len - s->pos < len ? s->len - s->pos : len;
  memcpy(buf, s->data + s->pos, n);
  s->pos += n;
  *got = n;
  return MW_OK;
}

#define MSG "Subject: x\r\n\r\nhi\r\n"

static void append_sync_and_literal_plus(void **state)
{
  (void)state;
  struct run r;
  run_init(&r, MW_TLS_NONE);
  const char *segs[] = {PREAUTH("UIDPLUS"), "+ Ready\r\n",
                        "A0001 OK [APPENDUID 42 9] done\r\n", NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_OK);
  struct src s = {MSG, strlen(MSG), 0};
  uint32_t uid = 0;
  assert_int_equal(mw_imap_append(r.s, "Sent", "\\Seen", s.len, read_src, &s,
                                  &uid),
                   MW_OK);
  assert_int_equal(uid, 9);
  assert_string_equal(written(&r),
                      "A0001 APPEND Sent (\\Seen) {18}\r\n" MSG "\r\n");
  run_free(&r);

  run_init(&r, MW_TLS_NONE);
  const char *segs2[] = {PREAUTH("LITERAL+"), "A0001 OK done\r\n",
                         "A0002 NO [TRYCREATE] no such mailbox\r\n", NULL};
  run_script(&r, segs2);
  assert_int_equal(run_connect(&r), MW_OK);
  s.pos = 0;
  assert_int_equal(mw_imap_append(r.s, "Sent", NULL, s.len, read_src, &s,
                                  &uid),
                   MW_OK);
  assert_int_equal(uid, 0);
  assert_string_equal(written(&r), "A0001 APPEND Sent {18+}\r\n" MSG "\r\n");
  /* Refused before the "+": nothing of the message is sent. */
  s.pos = 0;
  run_free(&r);

  run_init(&r, MW_TLS_NONE);
  const char *segs3[] = {PREAUTH("IDLE"),
                         "A0001 NO [TRYCREATE] no such mailbox\r\n", NULL};
  run_script(&r, segs3);
  assert_int_equal(run_connect(&r), MW_OK);
  assert_int_equal(mw_imap_append(r.s, "Nope", NULL, s.len, read_src, &s,
                                  &uid),
                   MW_E_REJECTED);
  assert_string_equal(mw_error_response_code(mw_imap_error(r.s)),
                      "TRYCREATE");
  assert_string_equal(written(&r), "A0001 APPEND Nope {18}\r\n");
  /* The session goes on. */
  run_free(&r);
}

/* ---- IDLE ----------------------------------------------------------------------- */

static void idle(void **state)
{
  (void)state;
  struct run r;
  run_init(&r, MW_TLS_NONE);
  const char *segs[] = {PREAUTH("IDLE"), SELECT_REPLY,
                        "+ idling\r\n* 4 EXISTS\r\n", "A0002 OK done\r\n",
                        "+ idling\r\n", "A0003 OK done\r\n", NULL};
  run_script(&r, segs);
  assert_int_equal(run_connect(&r), MW_OK);
  bool changed = false;
  assert_int_equal(mw_imap_idle(r.s, 100, &changed), MW_E_STATE);
  assert_int_equal(mw_imap_select(r.s, "INBOX", false, NULL), MW_OK);
  assert_int_equal(mw_imap_idle(r.s, 100, &changed), MW_OK);
  assert_true(changed);
  /* Nothing happens: the timeout ends it. */
  assert_int_equal(mw_imap_idle(r.s, 20, &changed), MW_OK);
  assert_false(changed);
  assert_string_equal(written(&r), "A0001 SELECT INBOX\r\n"
                                   "A0002 IDLE\r\nDONE\r\n"
                                   "A0003 IDLE\r\nDONE\r\n");
  run_free(&r);
  /* Not offered. */
  run_init(&r, MW_TLS_NONE);
  const char *segs2[] = {PREAUTH("UIDPLUS"), SELECT_REPLY, NULL};
  run_script(&r, segs2);
  assert_int_equal(run_connect(&r), MW_OK);
  assert_int_equal(mw_imap_select(r.s, "INBOX", false, NULL), MW_OK);
  assert_int_equal(mw_imap_idle(r.s, 100, &changed), MW_E_STATE);
  run_free(&r);
}

/* ---- a close at each state -------------------------------------------------------- */

static void close_at_every_state(void **state)
{
  (void)state;
  const char *full[] = {
      "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR IDLE UIDPLUS] hi\r\n",
      "A0001 OK [CAPABILITY IMAP4rev1 IDLE UIDPLUS] in\r\n",
      "* 1 EXISTS\r\n* OK [UIDVALIDITY 1] v\r\nA0002 OK done\r\n",
      "* SEARCH 1\r\nA0003 OK\r\n",
      "* 1 FETCH (UID 1 BODY[] {2}\r\nhi)\r\nA0004 OK\r\n",
      "+ idling\r\n* 2 EXISTS\r\n",
      "A0005 OK\r\n",
      "* BYE bye\r\nA0006 OK\r\n"};
  size_t nfull = sizeof(full) / sizeof(full[0]);
  for(int fails = 0; fails < 2; fails++) {
    for(size_t cut = 0; cut <= nfull; cut++) {
      struct run r;
      run_init(&r, MW_TLS_NONE);
      run_creds(&r, "joe", "secret");
      const char *segs[10] = {NULL};
      for(size_t i = 0; i < cut; i++)
        segs[i] = full[i];
      run_script(&r, segs);
      mw__mem_layer_close_here(r.m, fails != 0);
      mw_status st = run_connect(&r);
      if(cut < 2) {
        assert_int_equal(st, MW_E_CLOSED);
        run_free(&r);
        continue;
      }
      assert_int_equal(st, MW_OK);
      st = mw_imap_select(r.s, "INBOX", false, NULL);
      assert_true(cut < 3 ? st != MW_OK : st == MW_OK);
      const uint32_t *uids = NULL;
      size_t n = 0;
      st = mw_imap_search(r.s, "ALL", &uids, &n);
      assert_true(cut < 4 ? st != MW_OK : st == MW_OK);
      if(cut < 3)
        assert_int_equal(st, MW_E_STATE); /* the session is over */
      struct got g = {0};
      mw__sbuf_init(&g.b);
      const uint32_t one[] = {1};
      st = mw_imap_fetch(r.s, one, 1, on_message, &g);
      assert_true(cut < 5 ? st != MW_OK : st == MW_OK);
      bool changed = false;
      st = mw_imap_idle(r.s, 10, &changed);
      assert_true(cut < 7 ? st != MW_OK : st == MW_OK);
      /* LOGOUT never fails for a server that went away. */
      assert_int_equal(mw_imap_logout(r.s), MW_OK);
      mw__sbuf_free(&g.b);
      run_free(&r);
    }
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(greeting_variants),
      cmocka_unit_test(capability_when_not_in_greeting),
      cmocka_unit_test(preauth),
      cmocka_unit_test(logindisabled),
      cmocka_unit_test(starttls_cases),
      cmocka_unit_test(bad_responses),
      cmocka_unit_test(login_quoted_and_literal),
      cmocka_unit_test(authenticate_plain),
      cmocka_unit_test(select_and_search),
      cmocka_unit_test(list_and_status),
      cmocka_unit_test(rev2_only_and_both),
      cmocka_unit_test(fetch_every_read_size),
      cmocka_unit_test(fetch_pipelined_and_refused),
      cmocka_unit_test(fetch_summary),
      cmocka_unit_test(append_sync_and_literal_plus),
      cmocka_unit_test(idle),
      cmocka_unit_test(close_at_every_state),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}

/* Unit tests: diag/doctor_incoming.c, doctor's verdict on a POP3 or IMAP
 * session, table-driven: what the session showed (the facts) => the cause
 * id, the exit code `mailwire doctor` gives for it, and what the fix must
 * name. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "diag/doctor_incoming.h"
#include "exitcode.h"
#include "tls/tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

enum other_kind { NO_OTHER = 0, OTHER_TLS, OTHER_PLAIN, OTHER_PLAIN_STLS,
                  OTHER_SILENT, OTHER_FOREIGN_POP3 };

struct row {
  const char *name;
  mw_protocol proto;
  mw_tls_mode mode;
  enum mw__in_step step;
  mw_status status;
  const char *code;        /* response code */
  const char *text;        /* server text */
  const char *foreign;     /* err.foreign_protocol */
  bool preauth, login_disabled, oauth_offered, token, encrypted, temporary;
  enum mw__tls_failure tls_failure;
  enum other_kind other;
  const char *alert;
  /* expected */
  const char *cause;
  int exit_code;
  const char *fix_has; /* NULL: anything */
};

#define IMAP MW_PROTOCOL_IMAP
#define POP3 MW_PROTOCOL_POP3
#define IMPL MW_TLS_IMPLICIT
#define STLS MW_TLS_STARTTLS

static const struct row rows[] = {
  {"healthy imaps", IMAP, IMPL, MW__IN_DONE, MW_OK, "", NULL, NULL, false,
   false, false, false, true, false, 0, NO_OTHER, NULL, "healthy", 0,
   "{server=imaps://"},
  {"healthy pop3 stls", POP3, STLS, MW__IN_DONE, MW_OK, "", NULL, NULL,
   false, false, false, false, true, false, 0, NO_OTHER, NULL, "healthy", 0,
   "{server=pop3://"},
  {"SMTP 220 on an IMAP port", IMAP, IMPL, MW__IN_GREETING, MW_E_PROTOCOL,
   "", NULL, "SMTP", false, false, false, false, true, false, 0, NO_OTHER,
   NULL, "wrong_protocol", 13, "993"},
  {"POP3 +OK where IMAP expected", IMAP, IMPL, MW__IN_GREETING,
   MW_E_PROTOCOL, "", NULL, "POP3", false, false, false, false, true, false,
   0, NO_OTHER, NULL, "wrong_protocol", 13, "993"},
  {"IMAP * OK where POP3 expected", POP3, STLS, MW__IN_GREETING,
   MW_E_PROTOCOL, "", NULL, "IMAP", false, false, false, false, false, false,
   0, NO_OTHER, NULL, "wrong_protocol", 13, "995"},
  {"BYE greeting", IMAP, STLS, MW__IN_GREETING, MW_E_REJECTED, "",
   "go away", NULL, false, false, false, false, false, false, 0, NO_OTHER,
   NULL, "greeting_rejected", 13, NULL},
  {"BYE [UNAVAILABLE] greeting", IMAP, STLS, MW__IN_GREETING,
   MW_E_REJECTED, "UNAVAILABLE", "shutting down", NULL, false, false, false,
   false, false, true, 0, NO_OTHER, NULL, "service_unavailable", 13, NULL},
  {"-ERR [SYS/TEMP] greeting", POP3, STLS, MW__IN_GREETING, MW_E_REJECTED,
   "SYS/TEMP", "[SYS/TEMP] unavailable", NULL, false, false, false, false,
   false, true, 0, NO_OTHER, NULL, "service_unavailable", 13, NULL},
  {"-ERR greeting", POP3, STLS, MW__IN_GREETING, MW_E_REJECTED, "",
   "no service for you", NULL, false, false, false, false, false, false, 0,
   NO_OTHER, NULL, "greeting_rejected", 13, NULL},
  {"PREAUTH in the clear", IMAP, STLS, MW__IN_GREETING, MW_E_INSECURE, "",
   NULL, NULL, true, false, false, false, false, false, 0, NO_OTHER, NULL,
   "incoming_preauth_insecure", 14, "993"},
  {"silent port speaks implicit TLS", IMAP, STLS, MW__IN_GREETING,
   MW_E_TIMEOUT, "", NULL, NULL, false, false, false, false, false, false, 0,
   OTHER_TLS, NULL, "tls_mode_mismatch_expected_implicit", 14,
   "{tls=implicit}"},
  {"silent in both modes", POP3, STLS, MW__IN_GREETING, MW_E_TIMEOUT, "",
   NULL, NULL, false, false, false, false, false, false, 0, OTHER_SILENT,
   NULL, "greeting_timeout", 13, NULL},
  {"implicit TLS on a plaintext port", IMAP, IMPL, MW__IN_TLS_IMPLICIT,
   MW_E_TLS, "", NULL, NULL, false, false, false, false, false, false,
   MW__TLS_FAIL_PLAINTEXT, OTHER_PLAIN_STLS, NULL,
   "tls_mode_mismatch_expected_plain", 14, "{tls=starttls}"},
  {"implicit TLS on a port without TLS", POP3, IMPL, MW__IN_TLS_IMPLICIT,
   MW_E_TLS, "", NULL, NULL, false, false, false, false, false, false,
   MW__TLS_FAIL_PLAINTEXT, OTHER_PLAIN, NULL,
   "tls_mode_mismatch_expected_plain", 14, "995"},
  {"995 given to an IMAP client", IMAP, IMPL, MW__IN_TLS_IMPLICIT,
   MW_E_PROTOCOL, "", NULL, NULL, false, false, false, false, false, false,
   0, OTHER_FOREIGN_POP3, NULL, "wrong_protocol", 13, "993"},
  {"TLS version", IMAP, IMPL, MW__IN_TLS_IMPLICIT, MW_E_TLS, "", NULL, NULL,
   false, false, false, false, false, false, MW__TLS_FAIL_VERSION, NO_OTHER,
   NULL, "tls_version_mismatch", 15, NULL},
  {"no STARTTLS", IMAP, STLS, MW__IN_STARTTLS, MW_E_NO_STARTTLS, "", NULL,
   NULL, false, false, false, false, false, false, 0, NO_OTHER, NULL,
   "starttls_not_offered", 14, "993"},
  {"no STLS", POP3, STLS, MW__IN_STARTTLS, MW_E_NO_STARTTLS, "", NULL, NULL,
   false, false, false, false, false, false, 0, NO_OTHER, NULL,
   "starttls_not_offered", 14, "995"},
  {"STARTTLS injection", IMAP, STLS, MW__IN_STARTTLS, MW_E_INJECTION, "",
   NULL, NULL, false, false, false, false, false, false, 0, NO_OTHER, NULL,
   "protocol_error", 20, NULL},
  {"LOGINDISABLED", IMAP, MW_TLS_NONE, MW__IN_LOGIN, MW_E_AUTH_UNAVAILABLE,
   "", NULL, NULL, false, true, false, false, false, false, 0, NO_OTHER, NULL,
   "incoming_login_disabled", 17, "{tls=implicit}"},
  {"LOGINDISABLED, no credentials", IMAP, MW_TLS_NONE, MW__IN_DONE, MW_OK,
   "", NULL, NULL, false, true, false, false, false, false, 0, NO_OTHER, NULL,
   "incoming_login_disabled", 17, "{tls=starttls}"},
  {"PRIVACYREQUIRED", IMAP, MW_TLS_NONE, MW__IN_LOGIN, MW_E_AUTH,
   "PRIVACYREQUIRED", "Connection is not private", NULL, false, false, false,
   false, false, false, 0, NO_OTHER, NULL, "auth_requires_tls", 17, NULL},
  {"password refused in the clear", POP3, MW_TLS_NONE, MW__IN_LOGIN,
   MW_E_INSECURE, "", NULL, NULL, false, false, false, false, false, false,
   0, NO_OTHER, NULL, "auth_requires_tls", 17, NULL},
  {"Gmail ALERT app password", IMAP, IMPL, MW__IN_LOGIN, MW_E_AUTH, "ALERT",
   "Application-specific password required: "
   "https://support.google.com/accounts/answer/185833 (Failure)",
   NULL, false, false, false, false, true, false, 0, NO_OTHER, NULL,
   "auth_app_password_required", 17, "apppasswords"},
  {"Gmail POP3 app password", POP3, IMPL, MW__IN_LOGIN, MW_E_AUTH, "AUTH",
   "[AUTH] Application-specific password required", NULL, false, false,
   false, false, true, false, 0, NO_OTHER, NULL, "auth_app_password_required",
   17, "apppasswords"},
  {"M365 AUTHENTICATE failed with XOAUTH2", IMAP, IMPL, MW__IN_LOGIN,
   MW_E_AUTH, "", "AUTHENTICATE failed.", NULL, false, false, true, false,
   true, false, 0, NO_OTHER, NULL, "auth_oauth_required", 17,
   "{oauth2-token}"},
  {"M365 LOGIN failed with XOAUTH2", IMAP, IMPL, MW__IN_LOGIN, MW_E_AUTH,
   "", "LOGIN failed.", NULL, false, false, true, false, true, false, 0,
   NO_OTHER, NULL, "auth_oauth_required", 17, "{oauth2-token}"},
  {"LOGIN failed without OAuth offered", IMAP, IMPL, MW__IN_LOGIN,
   MW_E_AUTH, "", "LOGIN failed.", NULL, false, false, false, false, true,
   false, 0, NO_OTHER, NULL, "auth_failed", 17, NULL},
  {"AUTHENTICATE failed with a token", IMAP, IMPL, MW__IN_LOGIN, MW_E_AUTH,
   "", "AUTHENTICATE failed.", NULL, false, false, true, true, true, false,
   0, NO_OTHER, NULL, "auth_token_rejected", 17, NULL},
  {"M365 POP3 with XOAUTH2", POP3, IMPL, MW__IN_LOGIN, MW_E_AUTH, "",
   "Authentication failure: unknown user name or bad password.", NULL,
   false, false, true, false, true, false, 0, NO_OTHER, NULL,
   "auth_oauth_required", 17, "{oauth2-token}"},
  {"Gmail IMAP disabled", IMAP, IMPL, MW__IN_LOGIN, MW_E_AUTH, "ALERT",
   "Your account is not enabled for IMAP use. Please visit your Gmail "
   "settings page and enable your account for IMAP access. (Failure)",
   NULL, false, false, false, false, true, false, 0, NO_OTHER, NULL,
   "protocol_disabled", 17, "Enable IMAP"},
  {"POP disabled", POP3, IMPL, MW__IN_LOGIN, MW_E_REJECTED, "SYS/PERM",
   "[SYS/PERM] POP disabled for this account", NULL, false, false, false,
   false, true, false, 0, NO_OTHER, NULL, "protocol_disabled", 17, NULL},
  {"M365 IMAP off: not connected at SELECT", IMAP, IMPL, MW__IN_MAILBOX,
   MW_E_REJECTED, "", "User is authenticated but not connected.", NULL,
   false, false, false, false, true, false, 0, NO_OTHER, NULL,
   "protocol_disabled", 17, "ImapEnabled"},
  {"wrong password", IMAP, IMPL, MW__IN_LOGIN, MW_E_AUTH,
   "AUTHENTICATIONFAILED", "Authentication failed.", NULL, false, false,
   false, false, true, false, 0, NO_OTHER, NULL, "auth_failed", 17, NULL},
  {"POP3 [AUTH]", POP3, IMPL, MW__IN_LOGIN, MW_E_AUTH, "AUTH",
   "[AUTH] Authentication failed.", NULL, false, false, false, false, true,
   false, 0, NO_OTHER, NULL, "auth_failed", 17, NULL},
  {"refusal without words", IMAP, IMPL, MW__IN_LOGIN, MW_E_AUTH, "",
   "nope", NULL, false, false, false, false, true, false, 0, NO_OTHER, NULL,
   "auth_failed", 17, NULL},
  {"an earlier ALERT explains", IMAP, IMPL, MW__IN_LOGIN, MW_E_AUTH, "",
   "nope", NULL, false, false, false, false, true, false, 0, NO_OTHER,
   "Your account is locked; see the help desk", "account_disabled", 17,
   NULL},
  {"EXPIRED", IMAP, IMPL, MW__IN_LOGIN, MW_E_AUTH, "EXPIRED",
   "That password has expired.", NULL, false, false, false, false, true,
   false, 0, NO_OTHER, NULL, "auth_expired", 17, NULL},
  {"CONTACTADMIN", IMAP, IMPL, MW__IN_LOGIN, MW_E_AUTH, "CONTACTADMIN",
   "Contact your administrator", NULL, false, false, false, false, true,
   false, 0, NO_OTHER, NULL, "account_disabled", 17, NULL},
  {"UNAVAILABLE at login", IMAP, IMPL, MW__IN_LOGIN, MW_E_AUTH,
   "UNAVAILABLE", "Temporary authentication failure", NULL, false, false,
   false, false, true, true, 0, NO_OTHER, NULL, "auth_temporary", 17, NULL},
  {"LOGIN-DELAY", POP3, IMPL, MW__IN_LOGIN, MW_E_REJECTED, "LOGIN-DELAY",
   "[LOGIN-DELAY] Minimum time between logins not reached", NULL, false,
   false, false, false, true, true, 0, NO_OTHER, NULL, "login_delay", 19,
   NULL},
  {"IN-USE", POP3, IMPL, MW__IN_LOGIN, MW_E_REJECTED, "IN-USE",
   "[IN-USE] Mailbox locked by another session", NULL, false, false, false,
   false, true, true, 0, NO_OTHER, NULL, "mailbox_in_use", 19, NULL},
  {"INUSE", IMAP, IMPL, MW__IN_LOGIN, MW_E_AUTH, "INUSE",
   "Mailbox in use by another session", NULL, false, false, false, false,
   true, true, 0, NO_OTHER, NULL, "mailbox_in_use", 19, NULL},
  {"SYS/PERM account disabled", POP3, IMPL, MW__IN_LOGIN, MW_E_REJECTED,
   "SYS/PERM", "[SYS/PERM] Your account has been disabled", NULL, false,
   false, false, false, true, false, 0, NO_OTHER, NULL, "account_disabled",
   17, NULL},
  {"LIMIT", IMAP, IMPL, MW__IN_LOGIN, MW_E_AUTH, "LIMIT",
   "Too many concurrent sessions", NULL, false, false, false, false, true,
   true, 0, NO_OTHER, NULL, "rate_limited_connection", 19, NULL},
  {"OVERQUOTA", IMAP, IMPL, MW__IN_MAILBOX, MW_E_REJECTED, "OVERQUOTA",
   "Quota exceeded", NULL, false, false, false, false, true, false, 0,
   NO_OTHER, NULL, "over_quota", 18, NULL},
  {"NONEXISTENT", IMAP, IMPL, MW__IN_MAILBOX, MW_E_REJECTED, "NONEXISTENT",
   "Unknown Mailbox: Archive (Failure)", NULL, false, false, false, false,
   true, false, 0, NO_OTHER, NULL, "mailbox_not_found", 18, "\"Archive\""},
  {"mailbox doesn't exist", IMAP, IMPL, MW__IN_MAILBOX, MW_E_REJECTED, "",
   "Mailbox doesn't exist: Archive", NULL, false, false, false, false, true,
   false, 0, NO_OTHER, NULL, "mailbox_not_found", 18, NULL},
  {"NOPERM", IMAP, IMPL, MW__IN_MAILBOX, MW_E_REJECTED, "NOPERM",
   "Access denied", NULL, false, false, false, false, true, false, 0,
   NO_OTHER, NULL, "mailbox_no_permission", 18, NULL},
  {"hang-up at login", IMAP, IMPL, MW__IN_LOGIN, MW_E_CLOSED, "", NULL,
   NULL, false, false, false, false, true, false, 0, NO_OTHER, NULL,
   "temporary_failure", 19, NULL},
  {"proxy unreachable", IMAP, IMPL, MW__IN_TLS_IMPLICIT, MW_E_PROXY, "",
   NULL, NULL, false, false, false, false, false, false, 0, NO_OTHER, NULL,
   "proxy_unreachable", 21, NULL},
  {"OAuth-only mechanisms", POP3, IMPL, MW__IN_LOGIN, MW_E_AUTH_UNAVAILABLE,
   "", NULL, NULL, false, false, true, false, true, false, 0, NO_OTHER, NULL,
   "auth_oauth_required", 17, NULL},
};

static void fill_other(struct mw__in_other *o, enum other_kind k)
{
  memset(o, 0, sizeof(*o));
  if(k == NO_OTHER)
    return;
  o->tried = true;
  o->ms = 3;
  switch(k) {
  case OTHER_TLS:
    o->tls_answered = true;
    o->greeted = true;
    snprintf(o->tls_version, sizeof(o->tls_version), "TLSv1.3");
    break;
  case OTHER_PLAIN:
    o->greeted = true;
    break;
  case OTHER_PLAIN_STLS:
    o->greeted = true;
    o->starttls_offered = true;
    break;
  case OTHER_SILENT:
    snprintf(o->message, sizeof(o->message), "no greeting within 5.0 s");
    break;
  case OTHER_FOREIGN_POP3:
    o->foreign = "POP3";
    snprintf(o->message, sizeof(o->message),
             "the server speaks POP3, not IMAP");
    break;
  default:
    break;
  }
}

static void run_row(const struct row *w)
{
  struct mw_options *o = mw_options_new();
  assert_non_null(o);
  mw_options_set_protocol(o, w->proto);
  struct mw_report *r = mw__calloc(1, sizeof(*r));
  assert_non_null(r);
  r->host = mw__strdup("mail.example.test");
  r->port = w->proto == POP3 ? 995 : 993;
  r->protocol = w->proto;
  struct mw_error err = {0};
  err.status = w->status;
  snprintf(err.message, sizeof(err.message), "%s: what failed", w->name);
  snprintf(err.response_code, sizeof(err.response_code), "%s", w->code);
  err.server_text = w->text ? mw__strdup(w->text) : NULL;
  err.foreign_protocol = w->foreign;
  err.temporary = w->temporary;
  err.tls_failure = w->tls_failure;
  struct mw__tls_info tls = {0};
  tls.handshake_done = w->encrypted;
  snprintf(tls.version, sizeof(tls.version), "TLSv1.3");
  struct mw__incoming_facts f = {0};
  f.protocol = w->proto;
  f.mode = w->mode;
  f.status = w->status;
  f.err = &err;
  f.step = w->step;
  f.greeting = w->step > MW__IN_GREETING || w->preauth ? "ready" : NULL;
  f.preauth = w->preauth;
  f.encrypted = w->encrypted;
  f.tls = &tls;
  f.caps = "IMAP4REV1 AUTH=PLAIN";
  f.login_disabled = w->login_disabled;
  f.oauth_offered = w->oauth_offered;
  f.mechanisms = w->oauth_offered ? "XOAUTH2" : "PLAIN";
  f.starttls_offered = true;
  f.auth_mech = w->step == MW__IN_DONE ? (w->login_disabled ? NULL : "PLAIN")
                : w->step == MW__IN_MAILBOX ? "PLAIN"
                                            : NULL;
  f.alert = w->alert ? w->alert : "";
  f.has_credentials = true;
  f.has_token = w->token;
  f.mailbox = w->proto == IMAP && w->step >= MW__IN_MAILBOX ? "Archive"
                                                              : NULL;
  fill_other(&f.other, w->other);
  mw__doctor_incoming_verdict(r, &f, o);
  const mw_cause *c = mw_report_cause(r);
  if(!c)
    fail_msg("%s: no diagnosis", w->name);
  if(strcmp(c->id, w->cause) != 0)
    fail_msg("%s: cause '%s', expected '%s' (summary: %s; fix: %s)", w->name,
             c->id, w->cause, mw_report_summary(r), mw_report_fix(r));
  if(exitcode_for_cause(c) != w->exit_code)
    fail_msg("%s: exit %d, expected %d", w->name, exitcode_for_cause(c),
             w->exit_code);
  if(!mw_report_fix(r)[0] || !mw_report_summary(r)[0])
    fail_msg("%s: empty summary or fix", w->name);
  if(w->fix_has && !strstr(mw_report_fix(r), w->fix_has))
    fail_msg("%s: fix '%s' lacks '%s'", w->name, mw_report_fix(r),
             w->fix_has);
  /* every row a layer name; a failure has a failing row (a warning for a
   * temporary one) */
  bool failed = false;
  for(size_t i = 0; i < mw_report_check_count(r); i++) {
    assert_true(mw_report_check_layer(r, i)[0] != '\0');
    failed = failed || mw_report_check_status(r, i) == MW_CHECK_FAIL ||
             (w->temporary &&
              mw_report_check_status(r, i) == MW_CHECK_WARN);
  }
  if(w->status != MW_OK && !failed)
    fail_msg("%s: no failing row", w->name);
  mw__free(err.server_text);
  mw_report_free(r);
  mw_options_free(o);
}

static void verdicts_by_scenario(void **state)
{
  (void)state;
  for(size_t i = 0; i < COUNT(rows); i++)
    run_row(&rows[i]);
}

/* The healthy report's rows: each layer once, in the order of the
 * session, with the mailbox's count. */
static void healthy_rows(void **state)
{
  (void)state;
  struct mw_options *o = mw_options_new();
  mw_options_set_protocol(o, MW_PROTOCOL_IMAP);
  mw_options_set_credentials(o, "alice", "pw");
  struct mw_report *r = mw__calloc(1, sizeof(*r));
  r->host = mw__strdup("127.0.0.1");
  r->port = 993;
  struct mw_error err = {0};
  struct mw__tls_info tls = {.handshake_done = true, .days_left = 300};
  snprintf(tls.version, sizeof(tls.version), "TLSv1.3");
  struct mw__incoming_facts f = {
      .protocol = MW_PROTOCOL_IMAP, .mode = MW_TLS_IMPLICIT, .err = &err,
      .step = MW__IN_DONE, .greeting = "Dovecot ready.", .encrypted = true,
      .tls = &tls, .caps = "IMAP4REV1 IDLE", .mechanisms = "PLAIN",
      .auth_mech = "PLAIN", .alert = "", .has_credentials = true,
      .mailbox = "INBOX", .messages = 3, .uidvalidity = 77};
  mw__doctor_incoming_verdict(r, &f, o);
  static const char *const layers[] = {"tls", "certificate", "greeting",
                                       "capabilities", "login", "mailbox"};
  assert_int_equal(mw_report_check_count(r), COUNT(layers));
  for(size_t i = 0; i < COUNT(layers); i++) {
    assert_string_equal(mw_report_check_layer(r, i), layers[i]);
    assert_int_equal(mw_report_check_status(r, i), MW_CHECK_OK);
  }
  assert_non_null(strstr(mw_report_check_evidence(r, 5), "3 messages"));
  assert_non_null(strstr(mw_report_check_evidence(r, 4), "alice"));
  assert_null(strstr(mw_report_fix(r), "pw"));
  assert_string_equal(mw_report_cause(r)->id, "healthy");
  assert_string_equal(mw_report_detected_mode(r), "implicit");
  mw_report_free(r);
  mw_options_free(o);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(verdicts_by_scenario),
      cmocka_unit_test(healthy_rows),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

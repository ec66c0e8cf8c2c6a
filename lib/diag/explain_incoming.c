/*
 * diag/explain_incoming.c - what a POP3 or IMAP response means (the part
 * of mw_explain() for incoming servers).
 *
 * Owns: reading a POP3 status line ("-ERR [IN-USE] ...", "+OK ...") or an
 * IMAP response ("a1 NO [AUTHENTICATIONFAILED] ...", "* BYE ...", "NO
 * [NONEXISTENT] ...") into protocol, status, response code (RFC 5530 for
 * IMAP, RFC 2449 / 3206 for POP3) and text, and the rules that map them
 * to a cause of the catalogue (diag/causes.c):
 *   1. the big providers' own texts (Gmail, Microsoft 365);
 *   2. signs in the words that name a cause whatever the code says
 *      (plaintext login refused, temporary authentication failure,
 *      connection limits, the protocol disabled for the account);
 *   3. the response code;
 *   4. hints from the words (a locked account, a missing mailbox);
 *   5. the status alone (NO, BAD, BYE, -ERR; OK, +OK and PREAUTH are
 *      positive).
 * The matching of words is diag/explain.c's (mw__explain_has_any_word):
 * rules read a server's reply text, as for SMTP; no decision elsewhere is
 * taken on message words.
 *
 * Pure: no I/O, no allocation; every string returned is static or in the
 * caller's mw_explanation.
 */
#include "diag/explain.h"
#include "diag/explain_int.h"

#include <string.h>

/* One rule.  Every condition given must hold:
 *   proto   "IMAP" or "POP3"; NULL: either
 *   status  space-separated statuses ("NO BAD BYE", "-ERR"); NULL: any
 *           refusal (not OK, +OK or PREAUTH)
 *   codes   space-separated response codes; "-" admits none; NULL: any
 *   words   '|'-separated, case-insensitive; one must start a word of the
 *           text; NULL: the text does not matter
 *   unless  '|'-separated words that veto the rule */
struct in_rule {
  const char *proto;
  const char *status;
  const char *codes;
  const char *words;
  const char *unless;
  struct expl e;
};

#define GMAIL "Gmail"
#define M365_IMAP_ON                                                        \
  "Set-CASMailbox -Identity USER -ImapEnabled $true (or -PopEnabled $true)"

static const struct in_rule rules[] = {
  /* 1. Gmail */
  {NULL, NULL, NULL, "application-specific password|app password", NULL,
   {"auth_app_password_required",
    "Gmail requires an app password: the account uses 2-Step "
    "Verification, so its normal password is not accepted over IMAP or "
    "POP3",
    "create an app password (Gmail: myaccount.google.com/apppasswords) and "
    "use it with {password-env}, {password-file} or {password-cmd}, or use "
    "OAuth with {oauth2-token}",
    GMAIL}},
  {NULL, NULL, NULL, "log in via your web browser|web login required", NULL,
   {"auth_app_password_required",
    "Google blocked the sign-in and asks for an interactive login in a web "
    "browser (new location or device, or a password sign-in Google no "
    "longer allows)",
    "sign in once at mail.google.com from this network, then use an app "
    "password (myaccount.google.com/apppasswords) with {password}, or "
    "OAuth with {oauth2-token}",
    GMAIL}},
  {NULL, NULL, NULL, "not enabled for imap|not enabled for pop", NULL,
   {"protocol_disabled",
    "Gmail has IMAP or POP access turned off for this account",
    "turn it on in Gmail: Settings > See all settings > Forwarding and "
    "POP/IMAP > Enable IMAP (or Enable POP)",
    GMAIL}},
  {"IMAP", "NO", "AUTHENTICATIONFAILED", "invalid credentials", NULL,
   {"auth_failed",
    "Gmail did not accept the user name or password",
    "use the full Gmail address as {user}; with 2-Step Verification the "
    "account password never works over IMAP: create an app password "
    "(myaccount.google.com/apppasswords) and give it with {password}, or "
    "use {oauth2-token}",
    GMAIL}},

  /* 1. Microsoft 365 / Exchange Online */
  {NULL, NULL, NULL, "authenticated but not connected", NULL,
   {"protocol_disabled",
    "Microsoft 365 accepted the login but will not open the mailbox: IMAP "
    "or POP is disabled for it (or the user has no Exchange Online "
    "mailbox)",
    "Microsoft 365: enable the protocol for the mailbox (" M365_IMAP_ON
    "); check that {user} names a licensed mailbox",
    MS365}},
  {"IMAP", "NO", "-", "authenticate failed|login failed", NULL,
   {"auth_oauth_required",
    "Microsoft 365 / Exchange refused the login: since basic "
    "authentication was turned off for IMAP and POP in Exchange Online, "
    "this is what every password login gets (a wrong password reads the "
    "same)",
    "use OAuth with {oauth2-token} (XOAUTH2, scope "
    "https://outlook.office.com/IMAP.AccessAsUser.All); on Exchange "
    "Server, check {user} (often DOMAIN\\user or the full address) and the "
    "password",
    MS365}},
  {"POP3", "-ERR", NULL,
   "unknown user name or bad password", NULL,
   {"auth_failed",
    "Microsoft 365 / Exchange refused the login: a wrong user name or "
    "password, or (Exchange Online) basic authentication turned off for "
    "POP",
    "check {user} (the full address) and the password; Exchange Online "
    "accepts only OAuth for POP: use {oauth2-token} (scope "
    "https://outlook.office.com/POP.AccessAsUser.All)",
    MS365}},

  /* 2. Signs that name a cause whatever the code says */
  {NULL, NULL, NULL,
   "plaintext authentication disallowed|plaintext authentication not "
   "allowed|cleartext logins|privacy required|ssl/tls required"
   "|encryption required",
   NULL,
   {"auth_requires_tls",
    "the server refuses a password over an unencrypted connection",
    "use TLS: IMAP 993 with {tls=implicit} or 143 with {tls=starttls}; POP3 "
    "995 with {tls=implicit} or 110 with {tls=starttls}",
    NULL}},
  {NULL, NULL, NULL, "logindisabled", NULL,
   {"incoming_login_disabled",
    "the server disables LOGIN until the connection is encrypted", NULL,
    NULL}},
  {NULL, NULL, NULL, "temporary authentication failure", NULL,
   {"auth_temporary",
    "the server's authentication back end failed for now (not a wrong "
    "password)",
    NULL, NULL}},
  {NULL, NULL, NULL,
   "maximum number of connections|too many connections|too many concurrent"
   "|too many simultaneous|connection limit|too many sessions",
   NULL,
   {"rate_limited_connection",
    "the server limits the sessions of this user or address: too many at "
    "once",
    "close the other sessions (other mail programs, phones polling the "
    "same account), wait a few minutes and retry",
    NULL}},
  {NULL, NULL, NULL,
   "imap access|pop access|pop3 access|imap is disabled|pop is disabled"
   "|pop3 is disabled|imap disabled|pop disabled|pop3 disabled"
   "|imap not enabled|pop not enabled|pop3 not enabled",
   "granted|enabled for this",
   {"protocol_disabled",
    "the server says IMAP or POP access is disabled for this account", NULL,
    NULL}},

  /* 3. IMAP response codes (RFC 5530, RFC 3501, RFC 9051) */
  {"IMAP", NULL, "AUTHENTICATIONFAILED AUTHORIZATIONFAILED", NULL, NULL,
   {"auth_failed",
    "authentication failed: the user name or password was not accepted "
    "(AUTHENTICATIONFAILED), or the user may not act as the identity "
    "asked for (AUTHORIZATIONFAILED)",
    NULL, NULL}},
  {"IMAP", NULL, "EXPIRED", NULL, NULL,
   {"auth_expired",
    "the credentials were right but have expired (EXPIRED)", NULL, NULL}},
  {"IMAP", NULL, "PRIVACYREQUIRED", NULL, NULL,
   {"auth_requires_tls",
    "the server refuses this over an unencrypted connection "
    "(PRIVACYREQUIRED)",
    "use TLS: IMAP 993 with {tls=implicit} or 143 with {tls=starttls}",
    NULL}},
  {"IMAP", NULL, "CONTACTADMIN", NULL, NULL,
   {"account_disabled",
    "the account cannot log in until its administrator acts "
    "(CONTACTADMIN)",
    NULL, NULL}},
  {"IMAP", "BYE", "UNAVAILABLE", NULL, NULL,
   {"service_unavailable",
    "the server is unavailable for now and closes the connection "
    "(UNAVAILABLE)",
    NULL, NULL}},
  {"IMAP", NULL, "UNAVAILABLE", NULL, NULL,
   {"auth_temporary",
    "a temporary failure of the server (its authentication or mail store "
    "back end is unavailable): not a wrong password (UNAVAILABLE)",
    NULL, NULL}},
  {"IMAP", NULL, "NOPERM", NULL, NULL,
   {"mailbox_no_permission",
    "the account has no right to do this on the mailbox (NOPERM)", NULL,
    NULL}},
  {"IMAP", NULL, "INUSE", NULL, NULL,
   {"mailbox_in_use",
    "the mailbox or the account is in use by another session (INUSE)",
    NULL, NULL}},
  {"IMAP", NULL, "OVERQUOTA", NULL, NULL,
   {"over_quota", "the account is over its storage quota (OVERQUOTA)",
    NULL, NULL}},
  {"IMAP", NULL, "LIMIT", NULL, NULL,
   {"rate_limited_connection",
    "a limit of the server was reached: too many sessions or commands "
    "(LIMIT)",
    "close the other sessions of this account, wait a few minutes and "
    "retry",
    NULL}},
  {"IMAP", NULL, "NONEXISTENT TRYCREATE", NULL, NULL,
   {"mailbox_not_found",
    "the mailbox does not exist (NONEXISTENT, or TRYCREATE: it would have "
    "to be created first)",
    NULL, NULL}},
  {"IMAP", NULL, "SERVERBUG", NULL, NULL,
   {"temporary_failure",
    "the server failed on its side (SERVERBUG)", NULL, NULL}},

  /* 3. POP3 response codes (RFC 2449, RFC 3206) */
  {"POP3", NULL, "IN-USE", NULL, NULL,
   {"mailbox_in_use",
    "the maildrop is locked by another session (IN-USE): POP3 allows one "
    "session at a time",
    NULL, NULL}},
  {"POP3", NULL, "LOGIN-DELAY", NULL, NULL,
   {"login_delay",
    "the server allows a new login only after a minimum delay "
    "(LOGIN-DELAY)",
    NULL, NULL}},
  {"POP3", NULL, "SYS/TEMP", NULL, NULL,
   {"temporary_failure",
    "a temporary failure of the server's system (SYS/TEMP): not a wrong "
    "password",
    NULL, NULL}},
  {"POP3", NULL, "SYS/PERM", NULL, NULL,
   {"account_disabled",
    "a permanent failure on the server's side (SYS/PERM): typically the "
    "account is disabled or closed; retrying does not help",
    NULL, NULL}},
  {"POP3", NULL, "AUTH", NULL, NULL,
   {"auth_failed",
    "the credentials were not accepted (AUTH)", NULL, NULL}},

  /* 4. Hints from the words */
  {NULL, NULL, NULL,
   "account is locked|account locked|account is disabled|account disabled"
   "|account has been disabled|account is suspended|account suspended"
   "|account is blocked|contact your administrator",
   NULL,
   {"account_disabled",
    "the account is locked, disabled or suspended", NULL, NULL}},
  {"IMAP", NULL, NULL,
   "mailbox doesn't exist|mailbox does not exist|unknown mailbox"
   "|no such mailbox|mailbox not found",
   NULL,
   {"mailbox_not_found", "the mailbox does not exist", NULL, NULL}},
  {NULL, NULL, NULL,
   "quota exceeded|over quota|overquota|exceeded storage", NULL,
   {"over_quota", "the account is over its storage quota", NULL, NULL}},
  {NULL, NULL, NULL,
   "authentication failed|invalid credentials|bad password"
   "|invalid password|incorrect password|login incorrect",
   NULL,
   {"auth_failed",
    "authentication failed: the user name or password was not accepted",
    NULL, NULL}},
};

/* 5. The status alone. */
static const struct expl positive = {
  "healthy", "a positive response: the request succeeded", NULL, NULL};
static const struct expl preauth = {
  "healthy",
  "PREAUTH: the server greets a session that is already logged in (safe "
  "only over an encrypted or local connection)",
  NULL, NULL};
static const struct expl bye = {
  "greeting_rejected",
  "BYE: the server ends the session (in a greeting: it will not serve "
  "this client)",
  NULL, NULL};
static const struct expl bad = {
  "protocol_error",
  "BAD: the server did not understand the command (a syntax error, or a "
  "command not allowed in this state)",
  NULL, NULL};
static const struct expl unknown = {
  "unknown_reply",
  "an unrecognised refusal",
  "read the server's text: it says what must change (the credentials, "
  "the mailbox, the client)",
  NULL};

static char upper(char c)
{
  return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

static bool is_space(char c) { return c == ' ' || c == '\t'; }

/* Whether list (space-separated) holds word[0..len). */
static bool listed(const char *list, const char *word, size_t len)
{
  const char *p = list;
  while(*p) {
    while(*p == ' ')
      p++;
    size_t n = strcspn(p, " ");
    if(n && n == len && memcmp(p, word, len) == 0)
      return true;
    p += n;
  }
  return false;
}

/* Copies the next token (up to a space, or up to ']' inside brackets) in
 * upper case; returns its length, 0 when none fits. */
static size_t token(const char *s, char *out, size_t size, bool bracket)
{
  size_t n = 0;
  while(s[n] && !is_space(s[n]) && !(bracket && s[n] == ']') &&
        s[n] != '\r' && s[n] != '\n') {
    if(n + 1 >= size)
      return 0;
    out[n] = upper(s[n]);
    n++;
  }
  out[n] = '\0';
  return n;
}

static bool imap_status(const char *w)
{
  return !strcmp(w, "OK") || !strcmp(w, "NO") || !strcmp(w, "BAD") ||
         !strcmp(w, "BYE") || !strcmp(w, "PREAUTH");
}

/* A tag: printable ASCII without space, '(', ')', '{', '%', '*', '"',
 * '\\', ']' and '+' (RFC 3501 9). */
static bool imap_tag(const char *t)
{
  if(!*t)
    return false;
  for(; *t; t++)
    if((unsigned char)*t <= 0x20 || (unsigned char)*t >= 0x7f ||
       strchr("(){%*\"\\]+", *t))
      return false;
  return true;
}

bool mw__explain_incoming_parse(const char *s, struct mw__incoming_reply *p)
{
  memset(p, 0, sizeof(*p));
  while(is_space(*s) || *s == '\r' || *s == '\n')
    s++;
  char w[48];
  size_t n = token(s, w, sizeof(w), false);
  if(!n)
    return false;
  if(!strcmp(w, "+OK") || !strcmp(w, "-ERR")) {
    p->protocol = "POP3";
    memcpy(p->status, w, n + 1);
  }
  else {
    p->protocol = "IMAP";
    if(!imap_status(w)) {
      /* "* STATUS" or "TAG STATUS" */
      if(strcmp(w, "*") && !imap_tag(w))
        return false;
      const char *t = s + n;
      while(is_space(*t))
        t++;
      size_t m = token(t, w, sizeof(w), false);
      if(!m || !imap_status(w))
        return false;
      n = (size_t)(t - s) + m;
    }
    memcpy(p->status, w, strlen(w) + 1);
  }
  s += n;
  while(is_space(*s))
    s++;
  if(*s == '[') {
    char code[sizeof(p->code)];
    size_t m = token(s + 1, code, sizeof(code), true);
    if(m) {
      memcpy(p->code, code, m + 1);
      const char *end = strchr(s, ']');
      s = end ? end + 1 : s + 1 + m;
      while(is_space(*s))
        s++;
    }
  }
  p->text = s;
  return true;
}

static bool in_rule_matches(const struct in_rule *r,
                            const struct mw__incoming_reply *p)
{
  if(r->proto && strcmp(r->proto, p->protocol))
    return false;
  if(r->status) {
    if(!listed(r->status, p->status, strlen(p->status)))
      return false;
  }
  else if(p->positive)
    return false;
  if(r->codes) {
    if(!p->code[0]) {
      if(!listed(r->codes, "-", 1))
        return false;
    }
    else if(!listed(r->codes, p->code, strlen(p->code)))
      return false;
  }
  if(r->words && !mw__explain_has_any_word(p->text, r->words))
    return false;
  if(r->unless && mw__explain_has_any_word(p->text, r->unless))
    return false;
  return true;
}

const struct expl *mw__explain_incoming_match(struct mw__incoming_reply *p,
                                              bool *specific)
{
  p->positive = !strcmp(p->status, "OK") || !strcmp(p->status, "+OK") ||
                !strcmp(p->status, "PREAUTH");
  *specific = true;
  if(!p->positive) {
    for(size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
      if(in_rule_matches(&rules[i], p))
        return &rules[i].e;
  }
  *specific = false;
  if(!strcmp(p->status, "PREAUTH"))
    return &preauth;
  if(p->positive)
    return &positive;
  if(!strcmp(p->status, "BYE"))
    return &bye;
  if(!strcmp(p->status, "BAD"))
    return &bad;
  return &unknown;
}

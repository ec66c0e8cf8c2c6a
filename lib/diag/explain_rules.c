/*
 * diag/explain_rules.c - the reply catalogue, part 1: rules on the words
 * of a reply (mw__explain_rules, mw__explain_hints).
 *
 * Owns: the big providers' own replies (Gmail, Microsoft 365), then the
 * signs that name a cause whatever the code says (SPF/DMARC, blocklists,
 * greylisting, rate limits, relaying, TLS, AUTH), and the hints read from
 * the words of a reply whose codes say nothing specific.  Data only: the
 * matching is diag/explain.c's; the rule format is in diag/explain_int.h.
 */
#include "diag/explain_int.h"

#define MS_ENABLE_SMTP_AUTH                                                  \
  "Set-CASMailbox -Identity USER -SmtpClientAuthenticationDisabled $false"

/* 1. Provider replies first, then the signs that name a cause whatever
 * the code says. */
const struct rule mw__explain_rules[] = {
  /* Gmail */
  {"534 0", "5.7.9 -", "application-specific password|app password", NULL,
   5,
   {"auth_app_password_required",
    "Gmail requires an app password: the account uses 2-Step Verification, "
    "so its normal password is not accepted over SMTP",
    "create an app password (Gmail: myaccount.google.com/apppasswords) and "
    "use it with {password-env}, {password-file} or {password-cmd}, or use "
    "OAuth with {oauth2-token}",
    "Gmail"}},
  {"534 0", "5.7.14 -",
   "web browser|log in via|please log in|accounts.google.com|signin", NULL,
   5,
   {"auth_app_password_required",
    "Google blocked the sign-in and asks for an interactive login in a web "
    "browser (new location or device, or a password sign-in Google no "
    "longer allows)",
    "sign in once at mail.google.com from this network, then use an app "
    "password (myaccount.google.com/apppasswords) with {password}, or "
    "OAuth with {oauth2-token}",
    "Gmail"}},
  {"535 0", "5.7.8 -",
   "username and password not accepted|badcredentials", NULL, 5,
   {"auth_failed",
    "Gmail did not accept the user name or password",
    "use the full Gmail address as {user}; with 2-Step Verification the "
    "account password never works over SMTP: create an app password "
    "(myaccount.google.com/apppasswords) and give it with {password}, or "
    "use {oauth2-token}",
    "Gmail"}},

  /* Microsoft 365 / Exchange Online: 5.7.139 and 5.7.3 are auth failures */
  {NULL, "5.7.139",
   "smtpclientauthentication|smtp client authentication|smtp auth", NULL, 0,
   {"auth_disabled",
    "Microsoft 365 has SMTP AUTH (authenticated client submission) "
    "disabled for the tenant or the mailbox",
    "Microsoft 365: enable SMTP AUTH for the mailbox (" MS_ENABLE_SMTP_AUTH
    ") or for the tenant (Set-TransportConfig "
    "-SmtpClientAuthenticationDisabled $false), or use OAuth with "
    "{oauth2-token}",
    MS365}},
  {NULL, "5.7.139", "basic authentication|basic auth", NULL, 0,
   {"auth_oauth_required",
    "Microsoft has turned off basic (password) authentication for this "
    "account: only OAuth 2.0 is accepted",
    "use OAuth with {oauth2-token} (XOAUTH2); a Microsoft 365 tenant "
    "can still enable SMTP AUTH per mailbox (" MS_ENABLE_SMTP_AUTH ")",
    MS365}},
  {NULL, "5.7.139",
   "security defaults|conditional access|did not meet the criteria", NULL,
   0,
   {"auth_disabled",
    "Microsoft 365 security defaults or a Conditional Access policy block "
    "password authentication for this account",
    "ask the tenant's administrator to exempt the account from the policy "
    "(or turn security defaults off), or use OAuth with "
    "{oauth2-token}",
    MS365}},
  {NULL, "5.7.139", "credentials were incorrect|locked", NULL, 0,
   {"auth_failed",
    "Microsoft 365 did not accept the user name or password, or the "
    "account is locked after failed attempts",
    "check {user} (the full address) and the password; an account with "
    "MFA needs OAuth ({oauth2-token}); a locked account unlocks after "
    "a while or by its administrator",
    MS365}},
  {NULL, "5.7.139", NULL, NULL, 0,
   {"auth_disabled",
    "Microsoft 365 refused the authentication; most often SMTP AUTH is "
    "disabled for the tenant or the mailbox, sometimes the credentials "
    "are wrong",
    "Microsoft 365: enable SMTP AUTH for the mailbox (" MS_ENABLE_SMTP_AUTH
    ") or use OAuth with {oauth2-token}; also check {user} and the "
    "password",
    MS365}},
  {"535 0", "5.7.3", NULL, NULL, 0,
   {"auth_failed",
    "Microsoft 365 / Exchange: authentication unsuccessful (the user name "
    "or password was not accepted, or the account may not use SMTP AUTH)",
    "check {user} (the full address) and the password; an account with "
    "MFA needs OAuth ({oauth2-token}); the administrator may have to "
    "enable SMTP AUTH (" MS_ENABLE_SMTP_AUTH ")",
    MS365}},
  {NULL, "5.7.3", "authentication unsuccessful", NULL, 0,
   {"auth_failed",
    "Microsoft 365 / Exchange: authentication unsuccessful",
    "check {user} (the full address) and the password; an account with "
    "MFA needs OAuth ({oauth2-token}); the administrator may have to "
    "enable SMTP AUTH (" MS_ENABLE_SMTP_AUTH ")",
    MS365}},
  {NULL, "5.7.57", NULL, NULL, 0,
   {"auth_required",
    "Microsoft 365 does not accept anonymous mail: the client must "
    "authenticate before MAIL FROM",
    "authenticate with {user} and {password} (or {oauth2-token}) on "
    "smtp.office365.com port 587 with {tls=starttls}",
    MS365}},
  {NULL, "5.7.60", NULL, NULL, 0,
   {"sender_rejected",
    "the account has no permission to send as this sender address",
    "use the mailbox's own address as {from}, or have the administrator "
    "grant Send As permission",
    MS365}},
  {NULL, "5.7.54 5.7.64", NULL, NULL, 0,
   {"relay_denied",
    "Microsoft 365 refuses to relay: the recipient is outside the "
    "organisation and the sender is not authenticated or recognised",
    NULL, MS365}},
  {NULL, "5.7.511 5.7.708", NULL, NULL, 0,
   {"blocklisted",
    "Microsoft 365 refuses mail from this IP address or sender (banned or "
    "poor reputation)",
    "send through your provider's submission server; to ask for delisting, "
    "use sender.office.com",
    MS365}},

  /* 5.7.9 outside AUTH (Yahoo: "Message not accepted for policy
   * reasons") is a policy refusal, not a weak mechanism */
  {"550 551 552 553 554", "5.7.9", NULL, NULL, 0,
   {"policy_rejected",
    "the message was refused for policy reasons (content, sender "
    "reputation or authentication of the sender's domain)",
    NULL, NULL}},

  /* Sender authentication (SPF, DKIM, DMARC) */
  {NULL, "5.7.26 5.7.27", NULL, NULL, 0,
   {"spf_dmarc_rejected",
    "the message failed the sender domain's authentication checks (SPF, "
    "DKIM or DMARC)",
    NULL, NULL}},
  {NULL, NULL,
   "spf|dkim|dmarc|sender policy framework|domainkeys|unauthenticated email",
   NULL, 0,
   {"spf_dmarc_rejected",
    "the server cites SPF, DKIM or DMARC: the sender's domain does not "
    "authorise this server, or the message's signature or alignment "
    "failed",
    NULL, NULL}},

  /* Blocklists */
  {NULL, NULL,
   "blocked using|blacklist|blocklist|block list|black list|spamhaus|dnsbl"
   "|rbl|listed|banned sending ip|banned sender",
   "not listed|isn't listed", 0,
   {"blocklisted",
    "the server refuses this IP address or domain because a blocklist "
    "lists it",
    NULL, NULL}},

  /* A DNS lookup that failed on the server's side (the sender's or the
   * recipient's domain, for now): not the client's fault, not a
   * refusal.  A missing reverse DNS of the client is policy, below. */
  {NULL, NULL,
   "temporary lookup failure|dns lookup|dns failure|dns error|dns problem"
   "|dns temporar|name server|nameserver|name service|domain not found"
   "|host not found|servfail|could not resolve|unable to resolve"
   "|cannot resolve|resolver",
   "reverse|ptr", 4,
   {"server_dns_failure",
    "the server could not look up a domain in DNS for now (the sender's "
    "or the recipient's domain): a failure on its side or at that "
    "domain's name servers",
    NULL, NULL}},

  /* Throttles: on the connection (too many at once, or from this
   * address), or on the sender (the account's or address's quota). */
  {NULL, NULL,
   "too many connections|too many concurrent|concurrent connections"
   "|concurrent smtp|connection rate|connection limit|too many sessions"
   "|too many smtp sessions|connections from",
   NULL, 4,
   {"rate_limited_connection",
    "the server limits connections from this client: too many at once or "
    "in a short time",
    NULL, NULL}},

  /* Greylisting and rate limits: temporary */
  {NULL, NULL,
   "greylist|graylist|grey-list|gray-list|grey list|gray list", NULL, 4,
   {"greylisted",
    "the server greylists: it defers the first attempt from an unknown "
    "sender and accepts a retry after a few minutes",
    NULL, NULL}},
  {"450 451 0", "4.7.1 -",
   "try again later|come back later|retry later|please retry|try later",
   NULL, 4,
   {"greylisted",
    "deferred by policy with 'try again later': most often greylisting",
    NULL, NULL}},
  {NULL, NULL,
   "sending quota|sending limit|submission quota|submissionquota"
   "|daily user sending|message rate|sending rate|sender rate|user rate"
   "|sender quota|messages per hour|messages per day",
   NULL, 0,
   {"rate_limited_sender",
    "the account or sender address has used up its sending quota or "
    "exceeded its sending rate",
    NULL, NULL}},
  {"421 450 451 452 0", NULL,
   "rate|too many|ratelimit|throttl|slow down|volume", NULL, 4,
   {"rate_limited",
    "the server limits the rate: too many messages, connections or "
    "recipients from this client for now",
    NULL, NULL}},

  /* Deferred by policy (reverse DNS, reputation, a hold): not
   * greylisting, which the rules above recognise by its words. */
  {NULL, NULL,
   "reverse dns|reverse hostname|reverse lookup|reverse name|ptr record"
   "|no ptr|policy|reputation|temporarily deferred|client host rejected",
   "greylist|graylist", 4,
   {"policy_delay",
    "the server defers this client or message by policy for now "
    "(reverse DNS, reputation, or a policy hold), not greylisting",
    NULL, NULL}},

  /* Relaying */
  {NULL, NULL, "relay|rcpthosts", NULL, 0,
   {"relay_denied",
    "the server does not relay for this client: it accepts mail only for "
    "its own domains unless the client authenticates",
    NULL, NULL}},

  /* TLS and AUTH */
  {"454 0", NULL,
   "tls not available|tls is not available|starttls|tls temporarily", NULL,
   4,
   {"starttls_not_offered",
    "the server cannot start TLS now (TLS not available)",
    "retry later, or try port 465 with {tls=implicit}", NULL}},
  {NULL, NULL,
   "must issue a starttls|starttls command first|must issue starttls"
   "|tls required|requires tls|must use tls|encryption required",
   NULL, 0,
   {"auth_requires_tls",
    "the server requires an encrypted connection (STARTTLS) before this "
    "command",
    NULL, NULL}},
  {"454", "4.7.0 -", NULL, NULL, 0,
   {"auth_temporary",
    "temporary authentication failure (RFC 4954), e.g. the server's "
    "password back end is down or too many attempts were made",
    NULL, NULL}},
  {NULL, NULL,
   "authentication required|authentication is required|must authenticate"
   "|please authenticate|not authenticated|auth required"
   "|requires authentication|authenticate first|login required",
   NULL, 0,
   {"auth_required",
    "authentication required: the server accepts this command only from "
    "an authenticated client",
    NULL, NULL}},
  {"530", "5.7.0 5.7.1 5.5.1 -", NULL, NULL, 0,
   {"auth_required",
    "authentication required: the server accepts this command only from "
    "an authenticated client",
    "authenticate with {user} and {password-env}, {password-file} or "
    "{password-cmd} (or {oauth2-token}) on port 587 with {tls=starttls}"
    " or 465 with {tls=implicit}",
    NULL}},
  {"504", "5.5.4 5.7.4 -", NULL, NULL, 0,
   {"auth_mechanism_unsupported",
    "the server does not implement the command parameter asked for: "
    "usually an AUTH mechanism it does not know",
    NULL, NULL}},
  {NULL, NULL,
   "sender address rejected|sender rejected|not owned by user"
   "|sender verify failed|sender address invalid|sender domain"
   "|sendasdenied|not allowed to send as|permission to send as",
   NULL, 0,
   {"sender_rejected",
    "the server refused the sender address (MAIL FROM)",
    NULL, NULL}},
  {"500 502 503 504", NULL,
   "authentication not enabled|authentication not available"
   "|auth not enabled|auth not available|authentication is not",
   NULL, 0,
   {"auth_not_offered",
    "the server does not offer authentication (on this port, or before "
    "TLS)",
    NULL, NULL}},
  {NULL, NULL, "no valid recipients", NULL, 0,
   {"recipient_unknown",
    "every recipient was refused, so there is no one to send the message "
    "to",
    NULL, NULL}},
};

/* 3. Hints from the text, for replies whose enhanced code (if any) says
 * nothing specific. */
const struct rule mw__explain_hints[] = {
  {NULL, NULL,
   "user unknown|unknown user|no such user|no such recipient"
   "|recipient not found|user not found|mailbox not found|does not exist"
   "|recipnotfound|invalid recipient|unknown recipient|no mailbox",
   NULL, 0,
   {"recipient_unknown", "the recipient address does not exist", NULL,
    NULL}},
  {NULL, NULL,
   "mailbox full|mailbox is full|over quota|overquota|quota exceeded"
   "|exceeded storage|exceeds quota|mailbox size limit",
   NULL, 0,
   {"mailbox_full", "the recipient's mailbox is full (over quota)", NULL,
    NULL}},
  {NULL, NULL,
   "message size|too large|too big|size limit|exceeds the maximum"
   "|message length",
   NULL, 0,
   {"message_too_large",
    "the message is larger than the server accepts", NULL, NULL}},
  {"500 501 502 504 535", NULL,
   "unrecognized authentication|unrecognised authentication"
   "|unsupported authentication|invalid authentication mechanism"
   "|mechanism not|unknown authentication",
   NULL, 5,
   {"auth_mechanism_unsupported",
    "the server does not support the authentication mechanism used",
    NULL, NULL}},
  {"554", NULL,
   "no smtp service|smtp service not available|not accepting connections"
   "|connection refused|connection rejected",
   NULL, 5,
   {"greeting_rejected",
    "the server refuses the session outright (554 in place of a greeting)",
    NULL, NULL}},
  {NULL, NULL,
   "spam|unsolicited|content rejected|message rejected|policy", NULL, 5,
   {"policy_rejected",
    "the server's policy refused the message (content or reputation)",
    NULL, NULL}},
};
const size_t mw__explain_rules_count =
    sizeof(mw__explain_rules) / sizeof(mw__explain_rules[0]);
const size_t mw__explain_hints_count =
    sizeof(mw__explain_hints) / sizeof(mw__explain_hints[0]);

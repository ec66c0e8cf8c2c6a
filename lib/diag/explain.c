/*
 * diag/explain.c - what an SMTP reply means (mw_explain).
 *
 * Owns: reading "535", "5.7.8", "535 5.7.8" or a whole reply line and
 * mapping it to a cause of the catalogue (diag/causes.c) with its meaning
 * and advice.  The first of these that matches decides:
 *   1. rules on code, enhanced code and words of the text: the big
 *      providers' own replies (Gmail, Microsoft 365), then SPF/DMARC,
 *      blocklists, greylisting, rate limits, relaying, TLS and AUTH;
 *   2. the enhanced status code (RFC 3463 and its registry, RFC 5248);
 *   3. hints from the words of the text (user unknown, mailbox full, ...);
 *   4. the basic reply code (RFC 5321, RFC 4954, RFC 7504);
 *   5. the class: unknown_reply, to retry later (4xx) or not (5xx).
 * Whether to retry follows the reply code's class when there is one, the
 * enhanced code's class otherwise.
 *
 * Pure: no I/O, no allocation; every string it returns is static.
 */
#include "mailwire.h"

#include "diag/explain.h"

#include "proto/reply.h"

#include <stdio.h>
#include <string.h>

/* A meaning: the cause id, the explanation, and the advice (NULL: the
 * cause's fix from the catalogue). */
struct expl {
  const char *cause;
  const char *meaning;
  const char *advice;
  const char *provider; /* NULL: none (or guessed from the text) */
};

/* A rule.  Every condition given must hold:
 *   codes   reply codes, space separated; "0" admits a reply given
 *           without one; NULL: any
 *   enh     enhanced codes, space separated; "-" admits none; NULL: any
 *   words   '|'-separated, case-insensitive; one must start a word of the
 *           text; NULL: the text does not matter
 *   unless  '|'-separated words that veto the rule; NULL: none
 *   cls     4 or 5: only for replies of that class; 0: either */
struct rule {
  const char *codes;
  const char *enh;
  const char *words;
  const char *unless;
  int cls;
  struct expl e;
};

struct parsed {
  int code;     /* 0 when none */
  char enh[16]; /* "" when none */
  const char *text;
  int cls; /* 2-5: the reply code's class, else the enhanced code's */
};

#define MS365 "Microsoft 365"
#define MS_ENABLE_SMTP_AUTH                                                  \
  "Set-CASMailbox -Identity USER -SmtpClientAuthenticationDisabled $false"

/* 1. Provider replies first, then the signs that name a cause whatever
 * the code says. */
static const struct rule rules[] = {
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
static const struct rule hints[] = {
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

/* 2. Enhanced status codes.  "X.s.d" matches classes 4 and 5, "4.s.d" or
 * "5.s.d" only that class, "2.s.d" positive replies. */
struct enh_row {
  const char *code;
  struct expl e;
};

static const struct enh_row enh_rows[] = {
  {"2.0.0", {"healthy", "success", NULL, NULL}},
  {"2.1.0", {"healthy", "the sender address is accepted", NULL, NULL}},
  {"2.1.5", {"healthy", "the recipient address is accepted", NULL, NULL}},
  {"2.6.0", {"healthy", "the message is accepted for delivery", NULL,
             NULL}},
  {"2.7.0", {"healthy", "authentication succeeded", NULL, NULL}},

  /* x.1.x addressing */
  {"X.1.0", {"recipient_unknown",
             "an address was refused (other address status): the sender "
             "or a recipient",
             "check the {from} and recipient addresses", NULL}},
  {"X.1.1", {"recipient_unknown",
             "bad destination mailbox: the recipient's mailbox does not "
             "exist",
             NULL, NULL}},
  {"X.1.2", {"recipient_unknown",
             "bad destination system: the recipient's domain does not "
             "exist or does not accept mail",
             NULL, NULL}},
  {"X.1.3", {"recipient_unknown",
             "bad destination address syntax: the recipient address is "
             "malformed",
             NULL, NULL}},
  {"X.1.4", {"recipient_unknown",
             "the recipient address is ambiguous (several mailboxes match)",
             NULL, NULL}},
  {"X.1.6", {"recipient_unknown",
             "the mailbox has moved and mail is no longer forwarded",
             NULL, NULL}},
  {"X.1.7", {"sender_rejected",
             "bad sender address syntax: the MAIL FROM address is "
             "malformed",
             NULL, NULL}},
  {"X.1.8", {"sender_rejected",
             "bad sender's system address: the sender's domain does not "
             "exist or cannot receive replies",
             "use a {from} address in a domain that exists and has MX or "
             "address records",
             NULL}},
  {"X.1.10", {"recipient_unknown",
              "the recipient's domain accepts no mail (null MX, RFC 7505); "
              "Microsoft 365 uses 5.1.10 for 'recipient not found'",
              NULL, NULL}},

  /* x.2.x mailbox */
  {"4.2.0", {"temporary_failure",
             "the mailbox is temporarily unavailable (Postfix also uses "
             "4.2.0 for greylisting)",
             NULL, NULL}},
  {"5.2.0", {"recipient_unknown",
             "the mailbox is unavailable (other mailbox status)", NULL,
             NULL}},
  {"X.2.1", {"recipient_unknown",
             "the mailbox is disabled and accepts no mail", NULL, NULL}},
  {"X.2.2", {"mailbox_full",
             "the recipient's mailbox is full (over quota)", NULL, NULL}},
  {"X.2.3", {"message_too_large",
             "the message exceeds the recipient's administrative size "
             "limit",
             NULL, NULL}},
  {"X.2.4", {"recipient_unknown",
             "a mailing list could not be expanded", NULL, NULL}},

  /* x.3.x mail system */
  {"4.3.0", {"temporary_failure",
             "the receiving mail system had a problem of its own", NULL,
             NULL}},
  {"5.3.0", {"service_unavailable",
             "the receiving mail system reported a problem of its own",
             NULL, NULL}},
  {"X.3.1", {"temporary_failure",
             "the mail system is full (out of storage)",
             "retry later; the server's administrator must free space",
             NULL}},
  {"X.3.2", {"service_unavailable",
             "the system is not accepting messages (shutting down or in "
             "maintenance)",
             NULL, NULL}},
  {"X.3.3", {"protocol_error",
             "the system cannot handle a feature the message needs (e.g. "
             "8-bit or UTF-8 addresses)",
             "send the message as 7-bit (quoted-printable) with ASCII "
             "addresses, or use a server that supports the feature",
             NULL}},
  {"X.3.4", {"message_too_large",
             "the message is too big for the system", NULL, NULL}},
  {"X.3.5", {"service_unavailable",
             "the receiving system is misconfigured", NULL, NULL}},

  /* x.4.x network and routing */
  {"X.4.0", {"temporary_failure", "a network or routing problem", NULL,
             NULL}},
  {"X.4.1", {"temporary_failure",
             "no answer from the next host (network timeout)", NULL,
             NULL}},
  {"X.4.2", {"temporary_failure",
             "the connection to the next host broke", NULL, NULL}},
  {"X.4.3", {"server_dns_failure",
             "directory (DNS) server failure during routing", NULL, NULL}},
  {"4.4.4", {"temporary_failure", "unable to route the message for now",
             NULL, NULL}},
  {"5.4.4", {"recipient_unknown",
             "unable to route: the recipient's domain has no mail server",
             NULL, NULL}},
  {"X.4.5", {"rate_limited",
             "mail system congestion, or (Gmail 5.4.5) the daily sending "
             "quota is exceeded",
             NULL, NULL}},
  {"X.4.6", {"service_unavailable",
             "a routing loop was detected between mail servers", NULL,
             NULL}},
  {"X.4.7", {"temporary_failure",
             "the delivery time expired before the message could be "
             "delivered",
             NULL, NULL}},

  /* x.5.x protocol */
  {"X.5.0", {"protocol_error", "a protocol error (other protocol status)",
             NULL, NULL}},
  {"X.5.1", {"protocol_error", "invalid command", NULL, NULL}},
  {"X.5.2", {"protocol_error", "syntax error in a command", NULL, NULL}},
  {"X.5.3", {"rate_limited", "too many recipients for one message",
             "send to fewer recipients per message (split the list)",
             NULL}},
  {"X.5.4", {"protocol_error", "invalid command arguments", NULL, NULL}},
  {"X.5.5", {"protocol_error", "wrong protocol version", NULL, NULL}},
  {"X.5.6", {"auth_mechanism_unsupported",
             "an authentication exchange line is too long (RFC 4954)",
             "choose a mechanism with shorter exchanges, e.g. {auth=SCRAM-SHA-256,PLAIN}"
             "",
             NULL}},

  /* x.6.x content */
  {"X.6.0", {"policy_rejected",
             "the content was refused (other media error)", NULL, NULL}},
  {"X.6.1", {"policy_rejected",
             "a media type in the message is not supported", NULL, NULL}},
  {"X.6.3", {"policy_rejected",
             "the message needs a conversion the server may not do",
             NULL, NULL}},

  /* x.7.x security and policy */
  {"4.7.0", {"temporary_failure",
             "a temporary security or policy problem (e.g. too many "
             "attempts, TLS not available now)",
             NULL, NULL}},
  {"5.7.0", {"policy_rejected",
             "refused for a security or policy reason (other security "
             "status)",
             NULL, NULL}},
  {"4.7.1", {"policy_delay",
             "deferred by policy for now (a missing reverse DNS for the "
             "client, its reputation, or a policy hold; greylisting says "
             "so in its text)",
             NULL, NULL}},
  {"5.7.1", {"policy_rejected",
             "delivery not authorised, message refused by policy", NULL,
             NULL}},
  {"X.7.2", {"policy_rejected",
             "expanding this mailing list is not allowed", NULL, NULL}},
  {"X.7.3", {"policy_rejected",
             "a security conversion is required but not possible",
             NULL, NULL}},
  {"X.7.4", {"auth_mechanism_unsupported",
             "the security feature asked for is not supported (e.g. an "
             "unknown authentication type)",
             NULL, NULL}},
  {"X.7.5", {"tls_handshake_failed", "a cryptographic failure", NULL,
             NULL}},
  {"X.7.6", {"tls_handshake_failed",
             "the cryptographic algorithm is not supported", NULL, NULL}},
  {"X.7.7", {"policy_rejected", "the message's integrity check failed",
             NULL, NULL}},
  {"X.7.8", {"auth_failed",
             "authentication credentials invalid: the user name or "
             "password was not accepted",
             NULL, NULL}},
  {"X.7.9", {"auth_app_password_required",
             "the authentication mechanism is too weak for this account "
             "(RFC 4954); Gmail and others send it when the account needs "
             "an app password",
             "use an app password (Gmail: myaccount.google.com/"
             "apppasswords) with {password}, OAuth with "
             "{oauth2-token}, or a stronger mechanism with {auth=SCRAM-SHA-256}"
             "",
             NULL}},
  {"X.7.10", {"auth_requires_tls",
              "encryption is needed for the authentication mechanism",
              NULL, NULL}},
  {"X.7.11", {"auth_requires_tls",
              "encryption required for the requested authentication "
              "mechanism (RFC 4954)",
              NULL, NULL}},
  {"X.7.12", {"auth_failed",
              "a password transition is needed: the password must be "
              "changed before it can be used",
              "change the password (usually in the provider's web "
              "interface), then use the new one with {password}",
              NULL}},
  {"X.7.13", {"auth_disabled", "the user account is disabled", NULL,
              NULL}},
  {"X.7.14", {"auth_app_password_required",
              "a trust relationship is required (Gmail: sign in through "
              "a web browser first)",
              NULL, NULL}},
  {"X.7.15", {"policy_rejected", "the priority level is too low", NULL,
              NULL}},
  {"X.7.16", {"message_too_large",
              "the message is too big for the priority given", NULL,
              NULL}},
  {"X.7.17", {"recipient_unknown",
              "the mailbox owner has changed", NULL, NULL}},
  {"X.7.18", {"recipient_unknown",
              "the domain owner has changed", NULL, NULL}},
  {"X.7.19", {"recipient_unknown",
              "the require-recipient-valid-since check cannot be done",
              NULL, NULL}},
  {"X.7.20", {"spf_dmarc_rejected", "no passing DKIM signature found",
              NULL, NULL}},
  {"X.7.21", {"spf_dmarc_rejected", "no acceptable DKIM signature found",
              NULL, NULL}},
  {"X.7.22", {"spf_dmarc_rejected",
              "no valid DKIM signature matching the author's domain",
              NULL, NULL}},
  {"X.7.23", {"spf_dmarc_rejected",
              "SPF validation failed: the sender's domain does not "
              "authorise this server",
              NULL, NULL}},
  {"X.7.24", {"spf_dmarc_rejected", "SPF validation error", NULL, NULL}},
  {"X.7.25", {"policy_rejected",
              "reverse DNS validation failed: the client's IP address has "
              "no matching PTR record",
              "send from an IP address whose reverse DNS (PTR) names a "
              "host that resolves back to it, or through your provider's "
              "submission server",
              NULL}},
  {"X.7.26", {"spf_dmarc_rejected",
              "multiple authentication checks failed (SPF, DKIM, DMARC)",
              NULL, NULL}},
  {"X.7.27", {"spf_dmarc_rejected",
              "the sender's domain cannot be authenticated (SPF/DKIM) or "
              "accepts no mail (null MX)",
              NULL, NULL}},
  {"X.7.28", {"rate_limited",
              "mail flood detected: too much mail from this client", NULL,
              NULL}},
  {"X.7.29", {"spf_dmarc_rejected", "ARC validation failed", NULL,
              NULL}},
};

/* 4. Basic reply codes. */
struct code_row {
  int code;
  struct expl e;
};

static const struct code_row code_rows[] = {
  {211, {"healthy", "system status or help reply", NULL, NULL}},
  {214, {"healthy", "help message", NULL, NULL}},
  {220, {"healthy", "service ready: the server greets the client", NULL,
         NULL}},
  {221, {"healthy", "the server closes the connection (reply to QUIT)",
         NULL, NULL}},
  {235, {"healthy", "authentication succeeded", NULL, NULL}},
  {250, {"healthy", "requested mail action okay, completed", NULL,
         NULL}},
  {251, {"healthy", "user not local: the server will forward the message",
         NULL, NULL}},
  {252, {"healthy",
         "the server cannot verify the user but will accept the message",
         NULL, NULL}},
  {334, {"healthy",
         "authentication continues: the server waits for the next SASL "
         "step",
         NULL, NULL}},
  {354, {"healthy",
         "start mail input: the server waits for the message, ended by a "
         "line with a single dot",
         NULL, NULL}},
  {421, {"service_unavailable",
         "service not available, closing the transmission channel "
         "(overloaded, in maintenance, or refusing this client for now)",
         NULL, NULL}},
  {432, {"auth_failed",
         "a password transition is needed (RFC 4954)",
         "change the password (usually in the provider's web interface), "
         "then use the new one with {password}",
         NULL}},
  {450, {"temporary_failure",
         "requested mail action not taken: mailbox unavailable for now "
         "(busy, locked, or deferred by policy such as greylisting)",
         NULL, NULL}},
  {451, {"temporary_failure",
         "requested action aborted: local error in processing", NULL,
         NULL}},
  {452, {"temporary_failure",
         "requested action not taken: insufficient system storage (or too "
         "many recipients)",
         NULL, NULL}},
  {454, {"auth_temporary",
         "temporary authentication failure, or TLS not available for now",
         NULL, NULL}},
  {455, {"temporary_failure",
         "the server cannot accommodate the parameters for now", NULL,
         NULL}},
  {471, {"sender_rejected",
         "a non-standard temporary refusal, usually the receiving side's "
         "spam filter refusing the sender or its IP address",
         "retry later; if it persists, check the sending IP's reputation "
         "on blocklists (doctor {from=ADDR} checks them) and that the "
         "{from} address may be used",
         NULL}},
  {500, {"protocol_error",
         "syntax error, command unrecognised (or a line too long)", NULL,
         NULL}},
  {501, {"protocol_error", "syntax error in parameters or arguments",
         NULL, NULL}},
  {502, {"protocol_error", "command not implemented", NULL, NULL}},
  {503, {"protocol_error", "bad sequence of commands", NULL, NULL}},
  {504, {"auth_mechanism_unsupported",
         "command parameter not implemented: usually an AUTH mechanism "
         "the server does not know",
         NULL, NULL}},
  {521, {"service_unavailable",
         "this host does not accept mail (RFC 7504)", NULL, NULL}},
  {530, {"auth_required",
         "authentication required: the server accepts this command only "
         "from an authenticated client",
         "authenticate with {user} and {password-env}, {password-file} or "
         "{password-cmd} (or {oauth2-token}) on port 587 with {tls=starttls}"
         " or 465 with {tls=implicit}",
         NULL}},
  {534, {"auth_app_password_required",
         "the authentication mechanism is too weak (RFC 4954); Gmail sends "
         "it when the account needs an app password or a web sign-in",
         NULL, NULL}},
  {535, {"auth_failed",
         "authentication credentials invalid: the server rejected the user "
         "name or password",
         NULL, NULL}},
  {538, {"auth_requires_tls",
         "encryption required for the requested authentication mechanism "
         "(RFC 4954)",
         NULL, NULL}},
  {550, {"recipient_unknown",
         "requested action not taken: mailbox unavailable (not found, no "
         "access, or refused by policy; the text says which)",
         "check the recipient address; if it is right, the server's text "
         "gives the reason (policy, reputation, ...)",
         NULL}},
  {551, {"recipient_unknown",
         "user not local: the server names another address to try",
         "send to the address the server names, if you trust it", NULL}},
  {552, {"mailbox_full",
         "requested mail action aborted: exceeded storage allocation "
         "(mailbox full; some servers use it for a message too large)",
         NULL, NULL}},
  {553, {"sender_rejected",
         "requested action not taken: mailbox name not allowed (usually "
         "a sender address the account may not use, or bad syntax)",
         NULL, NULL}},
  {554, {"policy_rejected",
         "transaction failed (as a greeting: no SMTP service for this "
         "client, often a blocklisted IP address)",
         NULL, NULL}},
  {555, {"protocol_error",
         "MAIL FROM or RCPT TO parameters not recognised or not "
         "implemented",
         NULL, NULL}},
  {556, {"recipient_unknown",
         "the recipient's domain does not accept mail (RFC 7504)", NULL,
         NULL}},
};

/* 5. The class alone. */
static const struct expl positive_reply = {
  "healthy", "a positive reply: the request succeeded", NULL, NULL};
static const struct expl intermediate_reply = {
  "healthy", "a positive intermediate reply: the server waits for more",
  NULL, NULL};
static const struct expl unknown_temporary = {
  "unknown_reply", "an unrecognised temporary failure (class 4)",
  "retry later; if it keeps failing, the server's text or its "
  "administrator says why",
  NULL};
static const struct expl unknown_permanent = {
  "unknown_reply", "an unrecognised permanent failure (class 5)",
  "do not retry unchanged: the server's text says what must change (the "
  "address, the message, the credentials or the client)",
  NULL};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static bool is_digit(char c)
{
  return c >= '0' && c <= '9';
}

static bool is_space(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_alnum(char c)
{
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char ascii_lower(char c)
{
  return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Whether the next item of a separated list equals word[0..len). */
static bool list_has(const char *list, char sep, const char *word,
                     size_t len)
{
  const char *p = list;
  while(*p) {
    const char *end = strchr(p, sep);
    size_t n = end ? (size_t)(end - p) : strlen(p);
    if(n == len && memcmp(p, word, len) == 0)
      return true;
    if(!end)
      break;
    p = end + 1;
  }
  return false;
}

static bool code_listed(const char *list, int code)
{
  char num[12];
  int n = snprintf(num, sizeof(num), "%d", code);
  return n > 0 && list_has(list, ' ', num, (size_t)n);
}

static bool enh_listed(const char *list, const char *enh)
{
  if(!enh[0])
    return list_has(list, ' ', "-", 1);
  return list_has(list, ' ', enh, strlen(enh));
}

/* Whether word[0..len) occurs in text, case-insensitively, at the start
 * of a word. */
static bool has_word(const char *text, const char *word, size_t len)
{
  for(const char *p = text; *p; p++) {
    if(p > text && is_alnum(p[-1]))
      continue;
    size_t i = 0;
    while(i < len && p[i] && ascii_lower(p[i]) == word[i])
      i++;
    if(i == len)
      return true;
  }
  return false;
}

/* Whether one of the '|'-separated (lowercase) words occurs in text. */
static bool has_any_word(const char *text, const char *words)
{
  const char *p = words;
  for(;;) {
    const char *end = strchr(p, '|');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    if(n && has_word(text, p, n))
      return true;
    if(!end)
      return false;
    p = end + 1;
  }
}

static bool rule_matches(const struct rule *r, const struct parsed *p)
{
  if(r->cls && r->cls != p->cls)
    return false;
  if(r->codes && !code_listed(r->codes, p->code))
    return false;
  if(r->enh && !enh_listed(r->enh, p->enh))
    return false;
  if(r->words && !has_any_word(p->text, r->words))
    return false;
  if(r->unless && has_any_word(p->text, r->unless))
    return false;
  return true;
}

static const struct expl *match_rules(const struct rule *r, size_t n,
                                      const struct parsed *p)
{
  for(size_t i = 0; i < n; i++) {
    if(rule_matches(&r[i], p))
      return &r[i].e;
  }
  return NULL;
}

static const struct expl *match_enhanced(const struct parsed *p)
{
  if(!p->enh[0])
    return NULL;
  /* A positive reply reads only positive codes, a failure only 4.x/5.x */
  bool positive = p->cls == 2 || p->cls == 3;
  if(positive != (p->enh[0] == '2'))
    return NULL;
  const struct expl *any = NULL;
  for(size_t i = 0; i < COUNT(enh_rows); i++) {
    const char *c = enh_rows[i].code;
    if(strcmp(c + 1, p->enh + 1) != 0)
      continue;
    if(c[0] == p->enh[0])
      return &enh_rows[i].e; /* the class-specific row wins */
    if(c[0] == 'X' && !positive && !any)
      any = &enh_rows[i].e;
  }
  return any;
}

static const struct expl *match_code(int code)
{
  for(size_t i = 0; i < COUNT(code_rows); i++) {
    if(code_rows[i].code == code)
      return &code_rows[i].e;
  }
  return NULL;
}

/* The sender of a reply, from its text ("... - gsmtp"). */
static const char *guess_provider(const char *text)
{
  if(has_any_word(text, "gsmtp|support.google.com"))
    return "Gmail";
  if(has_any_word(text, "prod.outlook.com|protection.outlook.com"
                        "|office365"))
    return MS365;
  return NULL;
}

/* "535", "5.7.8", "535 5.7.8 text", "550-5.1.1 text": false when the text
 * starts with neither a reply code (2xx-5xx) nor an enhanced code. */
static bool parse_reply(const char *s, struct parsed *p)
{
  memset(p, 0, sizeof(*p));
  while(is_space(*s))
    s++;
  if(is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]) &&
     (!s[3] || s[3] == '-' || is_space(s[3]))) {
    /* The second digit is 0-5 in RFC 5321, but servers use others (471
     * is common): only the class is checked. */
    if(s[0] < '2' || s[0] > '5')
      return false; /* "999", "170": not an SMTP reply code */
    p->code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
    s += 3;
    if(*s == '-')
      s++;
    while(is_space(*s))
      s++;
  }
  /* The enhanced code ends at the first white space, line breaks
   * included, which mw__parse_enhanced does not accept. */
  char token[24], enh[16];
  size_t n = 0;
  while(s[n] && !is_space(s[n]) && n < sizeof(token) - 1) {
    token[n] = s[n];
    n++;
  }
  token[n] = '\0';
  if(n && mw__parse_enhanced(token, enh)) {
    memcpy(p->enh, enh, sizeof(p->enh));
    s += n;
    while(is_space(*s))
      s++;
  }
  if(!p->code && !p->enh[0])
    return false;
  p->text = s;
  p->cls = p->code ? p->code / 100 : p->enh[0] - '0';
  return true;
}

/* Basic codes that, alone, may mean several causes (450 "mailbox
 * unavailable" is busy, greylisted or refused by policy; 550 is unknown,
 * refused or blocked): without an enhanced code or words that decide,
 * the reply fits no cause of its own. */
static bool code_is_vague(int code)
{
  switch(code) {
  case 450: case 451: case 452: case 455:
  case 500: case 501: case 502: case 503:
  case 550: case 551: case 552: case 553: case 554: case 555:
    return true;
  default:
    return false;
  }
}

static const char *fix_of(const char *cause_id)
{
  const mw_cause *c = mw_cause_find(cause_id);
  return c ? c->fix : "";
}

mw_status mw__explain(const char *reply_text, mw_explanation *out,
                      bool *specific)
{
  bool weak = false;
  struct parsed p;
  if(!out)
    return MW_E_INVALID;
  memset(out, 0, sizeof(*out));
  if(!reply_text || !parse_reply(reply_text, &p))
    return MW_E_INVALID;

  const struct expl *e = NULL;
  if(p.cls == 2 || p.cls == 3) {
    e = match_enhanced(&p);
    if(!e && p.code)
      e = match_code(p.code);
    if(!e)
      e = p.cls == 3 ? &intermediate_reply : &positive_reply;
  }
  else {
    e = match_rules(rules, COUNT(rules), &p);
    if(!e) {
      e = match_enhanced(&p);
      /* x.0.0 says nothing, and a protocol status (x.5.x) at a refusal
       * names no cause of its own */
      weak = e && strcmp(e->cause, "protocol_error") == 0;
    }
    if(!e)
      e = match_rules(hints, COUNT(hints), &p);
    if(!e && p.code) {
      e = match_code(p.code);
      weak = e && code_is_vague(p.code);
    }
    if(!e) {
      e = p.cls == 4 ? &unknown_temporary : &unknown_permanent;
      weak = true;
    }
  }

  out->code = p.code;
  memcpy(out->enhanced, p.enh, sizeof(out->enhanced));
  out->cause_id = e->cause;
  out->meaning = e->meaning;
  out->advice = e->advice ? e->advice : fix_of(e->cause);
  out->provider = e->provider ? e->provider : guess_provider(p.text);
  out->temporary = p.cls == 4;
  if(specific)
    *specific = !weak;
  return MW_OK;
}

mw_status mw_explain(const char *reply_text, mw_explanation *out)
{
  return mw__explain(reply_text, out, NULL);
}

/*
 * diag/explain_codes.c - the reply catalogue, part 2: what the codes
 * themselves mean (mw__explain_enh_rows, mw__explain_code_rows and the
 * class alone).
 *
 * Owns: the enhanced status codes (RFC 3463 and its registry, RFC 5248),
 * the basic reply codes (RFC 5321, RFC 4954, RFC 7504), and the meanings
 * of a class with nothing more specific.  Data only: the matching is
 * diag/explain.c's.
 */
#include "diag/explain_int.h"

/* 2. Enhanced status codes.  "X.s.d" matches classes 4 and 5, "4.s.d" or
 * "5.s.d" only that class, "2.s.d" positive replies. */

const struct enh_row mw__explain_enh_rows[] = {
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
             "choose a mechanism with shorter exchanges, e.g. "
             "{auth=SCRAM-SHA-256,PLAIN}",
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
             "{oauth2-token}, or a stronger mechanism with "
             "{auth=SCRAM-SHA-256}",
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

const struct code_row mw__explain_code_rows[] = {
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
const struct expl mw__explain_positive_reply = {
  "healthy", "a positive reply: the request succeeded", NULL, NULL};
const struct expl mw__explain_intermediate_reply = {
  "healthy", "a positive intermediate reply: the server waits for more",
  NULL, NULL};
const struct expl mw__explain_unknown_temporary = {
  "unknown_reply", "an unrecognised temporary failure (class 4)",
  "retry later; if it keeps failing, the server's text or its "
  "administrator says why",
  NULL};
const struct expl mw__explain_unknown_permanent = {
  "unknown_reply", "an unrecognised permanent failure (class 5)",
  "do not retry unchanged: the server's text says what must change (the "
  "address, the message, the credentials or the client)",
  NULL};

const size_t mw__explain_enh_count =
    sizeof(mw__explain_enh_rows) / sizeof(mw__explain_enh_rows[0]);
const size_t mw__explain_code_count =
    sizeof(mw__explain_code_rows) / sizeof(mw__explain_code_rows[0]);

/*
 * diag/causes.c - the catalogue of diagnoses (mw_cause_find, mw_cause_list).
 *
 * Owns: the one table of causes that `mailwire doctor` can name and that
 * mw_explain() maps SMTP replies to.  Each row is a stable id (a contract:
 * users' scripts match on it; never rename or reuse one, only append), a
 * one-line summary, the fix with its settings as tokens ("{tls=implicit}",
 * rendered by the caller: see mw_render_settings()), and the class of
 * failure.  The classes are the library's; the exit status a program
 * gives for each is the program's (the CLI's table is src/exitcode.c).
 */
#include "mailwire.h"

#include <string.h>

static const mw_cause causes[] = {
  {"healthy",
   "no problem found: every check passed and every reply was positive",
   "nothing to fix", MW_CAUSE_HEALTHY},

  /* DNS */
  {"dns_not_found",
   "the host name does not exist (NXDOMAIN)",
   "check the spelling of the host; for a mail domain give the address "
   "(doctor user@example.org) so that its MX hosts are checked, or use the "
   "provider's documented submission host (e.g. smtp.gmail.com)", MW_CAUSE_DNS},
  {"dns_no_address",
   "the host name exists but has no address (no A or AAAA record)",
   "use the provider's submission host or the domain's MX host instead; "
   "with {ipv4} or {ipv6}, try the other address family", MW_CAUSE_DNS},
  {"dns_timeout",
   "the DNS server did not answer in time",
   "check the resolver (/etc/resolv.conf) and the network, try another "
   "resolver with {dns-server=ADDR}, or retry later", MW_CAUSE_DNS},

  /* TCP */
  {"tcp_refused",
   "the host refused the connection: nothing listens on this port",
   "check the port: 587 with {tls=starttls} or 465 with {tls=implicit} for "
   "submission; port 25 is for server-to-server relay", MW_CAUSE_UNREACHABLE},
  {"tcp_filtered",
   "the connection timed out: a firewall drops the packets to this port",
   "check the local and network firewalls for outgoing TCP to this port; "
   "try port 587 with {tls=starttls} or port 465 with {tls=implicit}",
   MW_CAUSE_FILTERED},
  {"tcp_unreachable",
   "the host or its network is unreachable (no route)",
   "check this machine's network connection and routes; if only IPv6 "
   "fails, use {ipv4}", MW_CAUSE_UNREACHABLE},
  {"port25_blocked",
   "outgoing connections to port 25 are blocked (typical of ISPs and "
   "cloud providers)",
   "submit on port 587 with {tls=starttls} (or 465 with {tls=implicit}) "
   "and authenticate with {user} and {password}, or relay through your "
   "provider's smarthost", MW_CAUSE_FILTERED},

  /* Greeting and TLS mode */
  {"greeting_timeout",
   "the server accepted the connection but sent no greeting",
   "if the port speaks implicit TLS (usually 465) use {tls=implicit}; "
   "otherwise the server is overloaded or a proxy holds the connection: "
   "raise {greeting-timeout} or retry later", MW_CAUSE_SERVICE},
  {"tls_mode_mismatch_expected_implicit",
   "the port speaks implicit TLS but plain SMTP was tried (the server "
   "waits silently for a TLS handshake)",
   "use {tls=implicit} (port 465)", MW_CAUSE_TLS_MODE},
  {"tls_mode_mismatch_expected_plain",
   "the port speaks plain SMTP (STARTTLS) but implicit TLS was tried",
   "try port 587 with {tls=starttls} (or keep the port and use "
   "{tls=starttls}); {tls=implicit} is for port 465", MW_CAUSE_TLS_MODE},
  {"starttls_not_offered",
   "the server does not offer STARTTLS, or refused it",
   "try port 465 with {tls=implicit}; sending without encryption "
   "({tls=starttls-optional} or {tls=none}) exposes the password and the "
   "message: only on a trusted network", MW_CAUSE_TLS_MODE},
  {"tls_handshake_failed",
   "the TLS handshake failed",
   "check that the TLS mode fits the port (465: {tls=implicit}, 587: "
   "{tls=starttls}) and run with {trace} to see the TLS alert",
   MW_CAUSE_TLS_HANDSHAKE},
  {"tls_unavailable",
   "TLS is not available here: the TLS module (libmailwire-tls) could not "
   "be loaded, so no handshake was tried",
   "install mailwire whole: libmailwire-tls.so.VERSION belongs next to "
   "libmailwire (the error names the file looked for and why it failed), "
   "or set MAILWIRE_TLS_MODULE to its path; nothing is wrong with the "
   "server", MW_CAUSE_LOCAL_CONFIG},
  {"tls_version_mismatch",
   "no TLS version or cipher in common with the server",
   "allow both versions with {tls-min=1.2} {tls-max=1.3}; a server that "
   "only speaks TLS 1.0 or 1.1 must be upgraded", MW_CAUSE_TLS_HANDSHAKE},

  /* Certificate */
  {"cert_untrusted",
   "the server certificate does not chain to a trusted authority",
   "give the server's CA with {tls-ca-file}, or pin it with "
   "{tls-fingerprint}; the server should also send its intermediate "
   "certificates", MW_CAUSE_CERTIFICATE},
  {"cert_self_signed",
   "the server presents a self-signed certificate",
   "pin it with {tls-fingerprint=SHA256} (doctor shows the fingerprint) or "
   "trust it with {tls-ca-file=FILE}; better, install a certificate from a "
   "public CA on the server", MW_CAUSE_CERTIFICATE},
  {"cert_hostname_mismatch",
   "the certificate is not valid for the host name used",
   "connect with a name the certificate lists (doctor shows them) or give "
   "it with {tls-server-name=NAME}", MW_CAUSE_CERTIFICATE},
  {"cert_expired",
   "the server certificate has expired",
   "the server's administrator must renew the certificate; also check "
   "this machine's clock (timedatectl)", MW_CAUSE_CERTIFICATE},
  {"cert_not_yet_valid",
   "the server certificate is not valid yet",
   "check this machine's clock (timedatectl); otherwise the certificate "
   "was issued with a start date in the future", MW_CAUSE_CERTIFICATE},
  {"cert_revoked",
   "the server certificate has been revoked by its CA (it is listed in "
   "the CRL given)",
   "the server's administrator must install a new certificate; until then "
   "do not send credentials to it", MW_CAUSE_CERTIFICATE},
  {"cert_crl_unusable",
   "revocation cannot be checked: the CRL file has no current CRL from "
   "the certificate's issuer",
   "give a current CRL from the server's CA with {tls-crl-file=FILE} (its "
   "CA publishes it), or leave {tls-crl-file} out to skip revocation "
   "checking", MW_CAUSE_CERTIFICATE},
  {"cert_refused_by_callback",
   "the application's certificate validation callback refused the server "
   "certificate",
   "see why the application refuses it (its verdict is in the evidence); "
   "the library's own verdict is given beside it", MW_CAUSE_CERTIFICATE},

  /* Service */
  {"greeting_rejected",
   "the server refused the session in its greeting (SMTP 554, IMAP "
   "\"* BYE\", POP3 \"-ERR\")",
   "the server refuses this client, often by IP address: check the address "
   "on blocklists, use your provider's submission server on port 587, or "
   "ask the server's administrator", MW_CAUSE_SERVICE},
  {"service_unavailable",
   "the service is not available (421): the server closes the connection",
   "retry later; if it persists, the server is down, overloaded or "
   "refusing this client", MW_CAUSE_SERVICE},
  {"protocol_error",
   "a command or reply broke the SMTP protocol (syntax error, unknown "
   "command, bad sequence)",
   "run with {trace} to see the dialogue; if a firewall or antivirus "
   "intercepts SMTP, exclude this connection; try {no-pipelining}",
   MW_CAUSE_PROTOCOL},

  /* Authentication */
  {"auth_not_offered",
   "the server does not offer authentication (no AUTH in its EHLO reply)",
   "use the submission port: 587 with {tls=starttls} or 465 with {tls=implicit}"
   "; port 25 usually offers no AUTH", MW_CAUSE_AUTH},
  {"auth_requires_tls",
   "the server allows authentication only over an encrypted connection",
   "use {tls=starttls} (port 587) or {tls=implicit} (port 465) instead of "
   "{tls=none} or {tls=starttls-optional}", MW_CAUSE_AUTH},
  {"auth_mechanism_unsupported",
   "no authentication mechanism is usable by both sides",
   "widen {auth} (e.g. {auth=SCRAM-SHA-256,PLAIN,LOGIN}) to include one "
   "the server offers (doctor lists them); PLAIN and LOGIN need TLS",
   MW_CAUSE_AUTH},
  {"auth_oauth_required",
   "the account accepts only OAuth 2.0 (XOAUTH2, OAUTHBEARER), not a "
   "password",
   "get an access token from the provider and give it with "
   "{oauth2-token=CMD}", MW_CAUSE_AUTH},
  {"auth_failed",
   "authentication failed: the user name or password was not accepted",
   "check {user} (often the full e-mail address) and the password given "
   "with {password-env}, {password-file} or {password-cmd}; with 2-step "
   "verification, use an app password or {oauth2-token}", MW_CAUSE_AUTH},
  {"auth_app_password_required",
   "the account needs an app password (or OAuth), not its normal password",
   "create an app password (Gmail: myaccount.google.com/apppasswords) and "
   "use it with {password}, or use OAuth with {oauth2-token}", MW_CAUSE_AUTH},
  {"auth_disabled",
   "SMTP authentication is disabled for this account or organisation",
   "Microsoft 365: enable SMTP AUTH for the mailbox (Set-CASMailbox "
   "-SmtpClientAuthenticationDisabled $false) or use OAuth with "
   "{oauth2-token}; elsewhere, enable SMTP access in the account's "
   "settings", MW_CAUSE_AUTH},
  {"auth_temporary",
   "authentication failed temporarily (454)",
   "retry later; if it persists, the server's authentication back end is "
   "failing or too many attempts locked the account for a while",
   MW_CAUSE_AUTH},

  /* Envelope and message */
  {"sender_rejected",
   "the server refused the sender address (MAIL FROM)",
   "use a {from} address the account may send as (usually its own "
   "address), in a domain that exists", MW_CAUSE_REFUSED},
  {"relay_denied",
   "the server refused to relay to this recipient",
   "authenticate ({user} with {password}) on the submission port, 587 "
   "with {tls=starttls} or 465 with {tls=implicit}; without "
   "authentication a server accepts mail only for its own domains",
   MW_CAUSE_REFUSED},
  {"recipient_unknown",
   "the recipient address does not exist",
   "check the spelling of the {to}, {cc} and {bcc} addresses and that the "
   "domain receives mail", MW_CAUSE_REFUSED},
  {"mailbox_full",
   "the recipient's mailbox is full",
   "the recipient must make room; retry later or reach them another "
   "way", MW_CAUSE_REFUSED},
  {"message_too_large",
   "the message is larger than the server accepts",
   "send a smaller message (the server's SIZE limit is in its EHLO reply; "
   "doctor shows it); link large files instead of attaching them",
   MW_CAUSE_REFUSED},
  {"greylisted",
   "the server greylists: a first attempt from a new sender is deferred",
   "retry in 5 to 30 minutes from the same address; the retry is accepted",
   MW_CAUSE_RETRY},
  {"rate_limited",
   "too many messages, connections or recipients: the server limits the "
   "rate",
   "send more slowly, with fewer recipients per message, and retry later; "
   "a daily sending quota resets after 24 hours", MW_CAUSE_RETRY},
  {"policy_rejected",
   "the server's policy refused the message or this client",
   "read the server's text (content, reputation, missing reverse DNS); "
   "send through your provider's submission server with {user}, on port "
   "587 with {tls=starttls}", MW_CAUSE_REFUSED},
  {"spf_dmarc_rejected",
   "refused because the sender's domain failed SPF, DKIM or DMARC checks",
   "publish an SPF record that allows the sending server, sign with DKIM "
   "and align with the domain's DMARC policy, or send through the server "
   "the domain authorises (doctor {from=ADDR} checks the records)",
   MW_CAUSE_REFUSED},
  {"blocklisted",
   "the sending IP address or domain is on a blocklist",
   "look the address up on the list the reply names (e.g. Spamhaus), fix "
   "the cause and ask for delisting; meanwhile send through your "
   "provider's submission server (port 587 with {user})", MW_CAUSE_REFUSED},
  {"temporary_failure",
   "the server failed temporarily (4xx)",
   "retry later; if it keeps failing, read the server's text or ask its "
   "administrator", MW_CAUSE_RETRY},
  {"unknown_reply",
   "a reply that mailwire does not recognise",
   "read the server's text: a 4xx reply means retry later, a 5xx reply "
   "means the request must change before it can succeed", MW_CAUSE_PROTOCOL},
  {"proxy_unreachable",
   "the proxy does not accept connections",
   "check the host and port of {proxy}, and that the proxy runs and lets "
   "this machine in", MW_CAUSE_PROXY},
  {"proxy_auth_failed",
   "the proxy refused the credentials (or wants some)",
   "give the proxy's user and password in the URL: "
   "socks5://user:pass@host:port or http://user:pass@host:port "
   "(percent-encode special characters)", MW_CAUSE_PROXY},
  {"proxy_refused_target",
   "the proxy refused to connect to the mail server",
   "the proxy's rules do not allow this server or port: ask its "
   "administrator, or use socks5h:// so the proxy resolves the name",
   MW_CAUSE_PROXY},

  /* Mutual authentication (SCRAM, DIGEST-MD5): an authentication cause,
   * exit 17, but a security finding rather than a wrong password. */
  {"auth_server_unverified",
   "the server did not prove its identity: it announced authentication "
   "success without a valid SCRAM server signature (v=) or DIGEST-MD5 "
   "rspauth, so it may be an impostor that does not know the password",
   "do not trust this server; check the certificate and the network path: "
   "connect without {insecure} or plaintext, pin a certificate only after "
   "checking that it is the real server's, and look for a proxy or TLS "
   "interception on the way; tell the server's administrator, and change "
   "the password if it was ever sent to this server with PLAIN or LOGIN",
   MW_CAUSE_AUTH},
  /* Added in issue 9: diagnoses that follow the evidence */
  {"rate_limited_sender",
   "the sender (the account or the address) has used up its sending quota "
   "or exceeded its sending rate",
   "wait until the quota resets (often an hour or a day; the server's text "
   "may say), send fewer messages and fewer recipients per message, or ask "
   "the provider for a higher limit; another connection does not help",
   MW_CAUSE_RETRY},
  {"rate_limited_connection",
   "the server limits connections from this client: too many at once or "
   "in a short time",
   "open fewer connections at once (send several messages over one "
   "session), wait a few minutes and retry; if other programs on this "
   "address send mail too, they count against the same limit", MW_CAUSE_RETRY},
  {"server_dns_failure",
   "the server could not look up a domain in DNS for now (the sender's or "
   "the recipient's domain): a failure on its side",
   "retry later; if the domain in question is yours, check that its name "
   "servers answer for its MX and address records; if it persists, the "
   "server's administrator must fix its resolver", MW_CAUSE_RETRY},
  {"policy_delay",
   "the server defers this client or message by policy for now (reverse "
   "DNS, reputation or a policy hold), not greylisting",
   "retry later; if it repeats, read the server's text: often the sending "
   "address needs a reverse DNS (PTR) name that resolves back to it, or "
   "send through your provider's submission server with {user} on port "
   "587 with {tls=starttls}", MW_CAUSE_RETRY},
  {"auth_required",
   "the server accepts mail only from an authenticated client, and this "
   "session did not authenticate",
   "authenticate: give {user} and {password-env}, {password-file} or "
   "{password-cmd} (or {oauth2-token}), on the submission port 587 with "
   "{tls=starttls} or 465 with {tls=implicit}", MW_CAUSE_AUTH},
  {"auth_token_rejected",
   "the server refused the OAuth access token as expired or invalid (not a "
   "wrong password)",
   "get a fresh access token: {oauth2-token} must print a current one "
   "(access tokens expire, often after an hour; use the refresh token); "
   "check that the token was issued for this account and for mail (Gmail "
   "scope https://mail.google.com/, Microsoft "
   "https://outlook.office.com/SMTP.Send)", MW_CAUSE_AUTH},
  {"wrong_protocol",
   "the port speaks another protocol than the one asked for (SMTP, IMAP, "
   "POP3, SSH or HTTP)",
   "use a port of the protocol wanted: SMTP submission 587 with "
   "{tls=starttls} or 465 with {tls=implicit} (25 for server-to-server "
   "relay); IMAP 993 with {tls=implicit} or 143 with {tls=starttls}; POP3 "
   "995 with {tls=implicit} or 110 with {tls=starttls}", MW_CAUSE_SERVICE},
  {"ehlo_rejected",
   "the server refused the client's EHLO and HELO (the name it gave, or "
   "the client itself)",
   "give a fully qualified host name that resolves in DNS with {helo=NAME} "
   "(many servers refuse a bare name or an address literal that does not "
   "match the connection); otherwise read the server's text", MW_CAUSE_SERVICE},
  {"bind_address_unavailable",
   "{bind} names an address this machine does not have: a local "
   "configuration error",
   "give one of this machine's own addresses to {bind} (ip -brief address "
   "lists them), or leave {bind} out", MW_CAUSE_LOCAL_CONFIG},
  /* Added in issue 11: incoming servers (POP3, IMAP) */
  {"incoming_login_disabled",
   "the server allows no login on an unencrypted connection (IMAP "
   "LOGINDISABLED, or POP3 without USER/SASL before STLS), and this "
   "session did not encrypt",
   "use TLS: IMAP 993 with {tls=implicit} or 143 with {tls=starttls}; POP3 "
   "995 with {tls=implicit} or 110 with {tls=starttls}", MW_CAUSE_AUTH},
  {"incoming_preauth_insecure",
   "the IMAP server greeted with PREAUTH (already logged in) on a "
   "connection that is not encrypted: STARTTLS is impossible after "
   "PREAUTH, so the session would run in the clear",
   "use implicit TLS, port 993 with {tls=implicit}; a PREAUTH greeting on "
   "a network port means the server trusts every client of this address: "
   "its administrator should check that", MW_CAUSE_TLS_MODE},
  {"protocol_disabled",
   "IMAP or POP3 access is disabled for this account (the password may "
   "well be right)",
   "enable the protocol for the account: Gmail, Settings > Forwarding and "
   "POP/IMAP; Microsoft 365, Set-CASMailbox -Identity USER -ImapEnabled "
   "$true (or -PopEnabled $true); elsewhere, ask the administrator",
   MW_CAUSE_AUTH},
  {"mailbox_not_found",
   "the mailbox (folder) does not exist on the server",
   "check the mailbox's name (case and hierarchy separator matter; INBOX "
   "always exists) and give it in the server URL, "
   "{server=imaps://HOST/NAME}", MW_CAUSE_REFUSED},
  {"mailbox_no_permission",
   "the account may not open this mailbox (IMAP NOPERM)",
   "open a mailbox the account owns, or ask the mailbox's owner or the "
   "administrator for access", MW_CAUSE_REFUSED},
  {"mailbox_in_use",
   "the mailbox is locked by another session (POP3 IN-USE, IMAP INUSE)",
   "retry when the other session has ended: another mail program (a "
   "phone, a desktop client) may be polling the same POP3 account; POP3 "
   "allows one session at a time", MW_CAUSE_RETRY},
  {"login_delay",
   "the server allows a new login only after a minimum delay (POP3 "
   "LOGIN-DELAY)",
   "poll less often: wait the delay the server announces (CAPA LOGIN-DELAY "
   "gives it in seconds) between sessions", MW_CAUSE_RETRY},
  {"over_quota",
   "the account is over its storage quota (IMAP OVERQUOTA)",
   "delete or archive messages (and empty the Trash) to make room, or ask "
   "the provider for more space", MW_CAUSE_REFUSED},
  {"auth_expired",
   "the password (or the account) has expired (IMAP EXPIRED)",
   "change the password with the provider (usually in its web interface), "
   "then give the new one with {password-env}, {password-file} or "
   "{password-cmd}", MW_CAUSE_AUTH},
  {"account_disabled",
   "the account is disabled, locked or blocked: the server says to contact "
   "its administrator (IMAP CONTACTADMIN, POP3 SYS/PERM)",
   "ask the provider or the administrator to unlock the account; a new "
   "password does not help", MW_CAUSE_AUTH},
};

#define CAUSE_COUNT (sizeof(causes) / sizeof(causes[0]))

const mw_cause *mw_cause_find(const char *id)
{
  if(!id)
    return NULL;
  for(size_t i = 0; i < CAUSE_COUNT; i++) {
    if(strcmp(causes[i].id, id) == 0)
      return &causes[i];
  }
  return NULL;
}

const mw_cause *mw_cause_list(size_t *count)
{
  if(count)
    *count = CAUSE_COUNT;
  return causes;
}

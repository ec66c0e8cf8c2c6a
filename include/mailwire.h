/** @file
 * mailwire.h - the public API of libmailwire.
 *
 * This header is the specification: every function says what it returns,
 * who owns what, and since which version it exists.  Everything else under
 * lib/ is private.
 *
 * The model, in four handles:
 *   mw_options   how to connect: server, TLS mode and policy, timeouts,
 *                credentials, tracing.  Copied into a session when created.
 *   mw_smtp      one SMTP connection.  Connect once, send many messages.
 *   mw_envelope  MAIL FROM and the RCPT TO list for one message.
 *   mw_result    what happened to one message: per recipient, queue id.
 * and one error type, mw_error, describing the last failure of a session.
 *
 * Threads: a handle may be used by one thread at a time.  Different
 * handles are independent.  OpenSSL, GNU SASL and c-ares are set up on
 * first use, thread-safely (mw_global_init()); mw_global_cleanup() runs
 * once no thread uses a handle.  Since 0.2 OpenSSL is not linked by the
 * library: the TLS module (libmailwire-tls.so.VERSION, next to
 * libmailwire; see README) is loaded by the first TLS use, and when it
 * cannot be, TLS connections fail with MW_E_TLS saying why.
 *
 * Secrets: passwords and tokens given to the library are copied, wiped
 * (explicit_bzero) when freed, never written to the trace, and never sent
 * over an unencrypted connection unless mw_options_set_allow_insecure_auth()
 * says so.
 *
 * Conventions (the API reference, `cmake --build build --target apidoc`,
 * is generated from these comments; each function says where it departs
 * from them):
 *   Since       every function carries the version that added it: 0.1,
 *               or 0.2 for what CHANGES.md lists as new.
 *   Absent      a value that is not there reads "" (strings: an empty
 *               string, never NULL) or 0 (numbers), written "when
 *               absent"; a function that returns NULL instead says
 *               "NULL when ...".
 *   Ownership   a handle from *_new(), *_open() or *_run() is the
 *               caller's, freed with the matching *_free(); every
 *               *_free() accepts NULL (a no-op).  Strings and arrays a
 *               function returns are borrowed from the handle until the
 *               next call on it or its free, unless it says "static"
 *               (valid for ever) or "free with mw_free()".  Arguments
 *               are copied unless a function says it keeps them.
 *   Errors      a function returning mw_status lists the statuses it
 *               returns; the detail is in the handle's mw_error
 *               (mw_smtp_error() and the like).  Setters leave the
 *               object unchanged on MW_E_INVALID.  An accessor's index
 *               out of range reads as the absent value.
 */
#ifndef MAILWIRE_H
#define MAILWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Marks a function kept under an old name (see "Deprecated names" at the
 * end of this header): the compiler warns where it is used.  @since 0.2 */
#if defined(__GNUC__) || defined(__clang__)
#define MW_DEPRECATED(msg) __attribute__((deprecated(msg)))
#else
#define MW_DEPRECATED(msg) /**< without the attribute: nothing */
#endif

/** @{ */
/** The version this header belongs to: major, minor, patch and the
 * string of the three ("0.1.0"); mw_version() gives the library's.
 * @since 0.1 */
#define MW_VERSION_MAJOR 0
#define MW_VERSION_MINOR 1
#define MW_VERSION_PATCH 0
#define MW_VERSION_STRING "0.1.0"
/** @} */
/** @{ */
/** The version as one number, 0xMMmmpp (0.1.0 is 0x000100), for
 * compile-time checks: #if MW_VERSION_NUM >= MW_VERSION_AT(0, 2, 0).
 * @since 0.1 */
#define MW_VERSION_AT(major, minor, patch)                                  \
  (((major) << 16) | ((minor) << 8) | (patch))
#define MW_VERSION_NUM                                                      \
  MW_VERSION_AT(MW_VERSION_MAJOR, MW_VERSION_MINOR, MW_VERSION_PATCH)
/** @} */

/** Returns the library's version string (static storage).
 * @since 0.1
 */
const char *mw_version(void);

/* ------------------------------------------------------------------------
 * Status codes.  Append only: a value is never renumbered or reused.
 * mw_status_name() gives the stable identifier ("MW_E_AUTH"),
 * mw_status_message() a one-line human text.
 * ---------------------------------------------------------------------- */
/** What a call returned: MW_OK or the kind of failure.  @since 0.1 */
typedef enum mw_status {
  MW_OK = 0,
  MW_E_NOMEM = 1,          /**< out of memory */
  MW_E_INVALID = 2,        /**< bad argument or option value */
  MW_E_DNS = 3,            /**< host name could not be resolved */
  MW_E_CONNECT = 4,        /**< TCP connection failed on every address */
  MW_E_TIMEOUT = 5,        /**< an operation's deadline passed */
  MW_E_CLOSED = 6,         /**< the server closed or reset the connection */
  MW_E_PROXY = 7,          /**< a proxy refused or failed (reserved) */
  MW_E_TLS = 8,            /**< TLS handshake or record-layer failure */
  MW_E_CERT = 9,           /**< the server certificate was not accepted */
  MW_E_NO_STARTTLS = 10,   /**< STARTTLS required but not offered/refused */
  MW_E_INJECTION = 11,     /**< bytes arrived pipelined after STARTTLS 220 */
  MW_E_INSECURE = 12,      /**< refused: credentials would go in clear */
  MW_E_AUTH_UNAVAILABLE = 13, /**< no mechanism usable by both sides */
  MW_E_AUTH = 14,          /**< the server rejected the credentials */
  MW_E_PROTOCOL = 15,      /**< the server broke the protocol */
  MW_E_REJECTED = 16,      /**< the server refused a command (4xx/5xx) */
  MW_E_RECIPIENTS = 17,    /**< every recipient was refused */
  MW_E_DELIVERY_UNKNOWN = 18, /**< connection lost after the final dot */
  MW_E_MESSAGE = 19,       /**< the message cannot be sent as given */
  MW_E_IO = 20,            /**< local I/O error (reading a file, a pipe) */
  MW_E_STATE = 21,         /**< call not valid in the session's state */
  MW_E_INTERNAL = 22,      /**< a bug or an unexpected library failure */
  MW_E_AUTH_SERVER_UNVERIFIED = 23, /**< SASL mutual authentication (SCRAM,
                              DIGEST-MD5): the server announced success
                              without proving that it knows the password
                              (no final message, none of its signature
                              v= or rspauth, or one that does not verify).
                              The session is ended before any mail
                              command; do not trust this server.
                              Since 0.1 */
  MW_E_EXTENSION = 24      /**< the server does not offer an SMTP extension
                              the message or the request needs: REQUIRETLS
                              (or TLS it can require), DSN, SMTPUTF8,
                              BINARYMIME.  Nothing was sent; the session
                              stays usable.  Since 0.2 (issue 12) */
} mw_status;

/** Error categories: what layer failed.  Since 0.1 */
typedef enum mw_category {
  MW_CAT_NONE = 0,
  MW_CAT_USAGE,       /**< the caller's arguments */
  MW_CAT_DNS,
  MW_CAT_CONNECT,
  MW_CAT_TIMEOUT,
  MW_CAT_PROXY,
  MW_CAT_TLS,
  MW_CAT_CERTIFICATE,
  MW_CAT_AUTH,
  MW_CAT_PROTOCOL,
  MW_CAT_COMMAND,     /**< the server refused a command with a reply code */
  MW_CAT_MESSAGE,     /**< the message or envelope content */
  MW_CAT_LOCAL        /**< local resources: memory, files, internal */
} mw_category;

const char *mw_status_name(mw_status st);    /**< static storage @since 0.1 */
const char *mw_status_message(mw_status st); /**< static storage @since 0.1 */
const char *mw_category_name(mw_category c); /**< "dns", "tls", ... static
                                                  @since 0.1 */

/* ------------------------------------------------------------------------
 * mw_error: the one error type.  Borrowed from its session; valid until
 * the next call on that session.
 * ---------------------------------------------------------------------- */
/** The last failure of a handle (opaque; read with mw_error_*()).
 * @since 0.1 */
typedef struct mw_error mw_error;


/** The status of the failure, MW_OK when the last call succeeded.  A NULL e
 * reads as MW_OK.
 * @since 0.1
 */
mw_status mw_error_status(const mw_error *e);

/** The layer that failed (MW_CAT_NONE after a success).
 * @since 0.1
 */
mw_category mw_error_category(const mw_error *e);
/** A human sentence saying what failed and why.  Never contains secrets.
 * Settings it names are tokens ("use {tls=implicit}"): show it through
 * mw_render_settings() (since 0.2).
 * Ownership: borrowed with the mw_error, until the next call on its handle.
 * @since 0.1
 */
const char *mw_error_message(const mw_error *e);
/** The SMTP reply code concerned, or 0 when no reply was involved.
 * @since 0.1
 */
int mw_error_reply_code(const mw_error *e);
/** The enhanced status code ("5.7.8") or "" when absent.
 * Ownership: borrowed with the mw_error, until the next call on its handle.
 * @since 0.1
 */
const char *mw_error_enhanced_code(const mw_error *e);
/** The server's reply text (lines joined by '\n', code stripped),
 * "" when absent.
 * Anything the session's password, token or SASL payloads would have put
 * in it (a server echoing them, raw or decoded) reads "<redacted>".
 * Ownership: borrowed with the mw_error, until the next call on its handle.
 * @since 0.1
 */
const char *mw_error_server_text(const mw_error *e);
/** The recipient the error is about, or "" when absent.
 * Ownership: borrowed with the mw_error, until the next call on its handle.
 * @since 0.1
 */
const char *mw_error_recipient(const mw_error *e);
/** True when retrying later may succeed: 4xx replies, timeouts, dropped
 * connections, temporary DNS failures, and delivery-unknown.
 * @since 0.1
 */
bool mw_error_is_temporary(const mw_error *e);

/* ------------------------------------------------------------------------
 * Tracing: a callback receives each protocol event.  AUTH payloads and
 * passwords are already replaced by "<redacted>" when it is called, in
 * the client's lines and in the server's (an echo of them, raw, base64
 * or decoded, is cut out).
 * ---------------------------------------------------------------------- */
/** What a trace event is about.  @since 0.1 */
typedef enum mw_trace_kind {
  MW_TRACE_NET = 0,   /**< resolving, connecting, closing */
  MW_TRACE_TLS,       /**< handshake, version, cipher, certificate */
  MW_TRACE_IN,        /**< a line from the server */
  MW_TRACE_OUT,       /**< a line to the server */
  MW_TRACE_INFO       /**< anything else worth knowing */
} mw_trace_kind;

/** elapsed_ms: milliseconds since the session's connect started.
 * text: one line without CRLF, borrowed for the call's duration.  The
 * library's own lines (MW_TRACE_INFO, MW_TRACE_TLS) may name settings as
 * tokens; see mw_render_settings().  Server lines are as received. */
typedef void (*mw_trace_fn)(void *user, mw_trace_kind kind,
                            double elapsed_ms, const char *text);

/* ------------------------------------------------------------------------
 * Options.
 * ---------------------------------------------------------------------- */
/** When TLS starts (mw_options_set_tls_mode()).  @since 0.1 */
typedef enum mw_tls_mode {
  MW_TLS_AUTO = 0,          /**< the protocol's implicit port (465, 995,
                               993) -> implicit, else STARTTLS required */
  MW_TLS_IMPLICIT,          /**< TLS from the first byte */
  MW_TLS_STARTTLS,          /**< STARTTLS required: stop if not offered */
  MW_TLS_STARTTLS_OPTIONAL, /**< STARTTLS if offered, else plaintext */
  MW_TLS_NONE,              /**< never TLS */
  MW_TLS_DETECT             /**< probe first (mw_probe_run): the best secure
                               port and mode found; the port, when set, is
                               the only one probed.  Since 0.1 */
} mw_tls_mode;

/** A TLS protocol version (mw_options_set_tls_versions()).
 * @since 0.1 */
typedef enum mw_tls_version {
  MW_TLS_VERSION_DEFAULT = 0,
  MW_TLS_VERSION_1_2,
  MW_TLS_VERSION_1_3
} mw_tls_version;

/** The address family to connect over (mw_options_set_family()).
 * @since 0.1 */
typedef enum mw_family {
  MW_FAMILY_ANY = 0,
  MW_FAMILY_IPV4,
  MW_FAMILY_IPV6
} mw_family;

/** How to connect (opaque): mw_options_new(), mw_options_set_*(),
 * mw_options_free().  @since 0.1 */
typedef struct mw_options mw_options;

/** The protocol a server is spoken to in: it sets the default ports (SMTP
 * 465 implicit / 587 STARTTLS, POP3 995 / 110, IMAP 993 / 143) and what
 * MW_TLS_AUTO means.  Since 0.2 */
typedef enum mw_protocol {
  MW_PROTOCOL_SMTP = 0,
  MW_PROTOCOL_POP3,
  MW_PROTOCOL_IMAP
} mw_protocol;
/** The name of p: "smtp", "pop3", "imap" (static storage).
 * @since 0.2
 */
const char *mw_protocol_name(mw_protocol p);

/** Library set-up.  Returns MW_OK (MW_E_INTERNAL is kept for a set-up
 * that fails).  Since 0.2 (issue 13) it sets nothing up ahead and calling
 * it is optional: each dependency is set up on first use, once and
 * thread-safely: OpenSSL (which reads its configuration file,
 * openssl.cnf) with the first TLS context or cipher list, GNU SASL with
 * the first authentication by one of its mechanisms, c-ares with the
 * first DNS query (a numeric address needs none).  A plaintext session to
 * a numeric address without authentication thus sets up none of them.  A
 * set-up that fails is reported by the call that needed it (MW_E_TLS,
 * MW_E_INTERNAL, MW_E_DNS).
 * @since 0.1
 */
mw_status mw_global_init(void);

/** Releases what the library set up on first use (GNU SASL's context,
 * c-ares); call it after every handle is freed, when no other thread uses
 * the library.  A later use sets them up again.  A no-op when nothing was
 * set up.  OpenSSL releases its own state at exit.
 * @since 0.1
 */
void mw_global_cleanup(void);

/** Returns a new options object with secure defaults, or NULL on OOM.
 * Free with mw_options_free().
 * @since 0.1
 */
mw_options *mw_options_new(void);

/** Frees o; the password and token it holds are wiped.  NULL is a no-op.
 * @since 0.1
 */
void mw_options_free(mw_options *o);

/* Every setter copies its arguments and returns MW_OK, MW_E_INVALID (value
 * out of range, with no change made) or MW_E_NOMEM. */

/** port 0 means the protocol's default: for SMTP 465 with MW_TLS_IMPLICIT,
 * 587 otherwise; POP3 995 / 110; IMAP 993 / 143.
 * Errors: MW_OK; MW_E_INVALID (o NULL or a value out of range: nothing
 * changed); MW_E_NOMEM.  Ownership: strings are copied.
 * @since 0.1
 */
mw_status mw_options_set_server(mw_options *o, const char *host,
                                unsigned port);
/** Parses "host", "host:port", "[v6addr]" or "[v6addr]:port".
 * Errors: MW_OK; MW_E_INVALID (o NULL or a value out of range: nothing
 * changed); MW_E_NOMEM.  Ownership: strings are copied.
 * @since 0.1
 */
mw_status mw_options_set_server_string(mw_options *o, const char *hostport);

/** The TLS mode (default MW_TLS_AUTO).  MW_E_INVALID for a value outside the
 * enum.
 * @since 0.1
 */
mw_status mw_options_set_tls_mode(mw_options *o, mw_tls_mode mode);
/** @{ */
/** The protocol (MW_PROTOCOL_SMTP by default), and the protocol set.
 * Errors: MW_OK; MW_E_INVALID (o NULL or a value out of range: nothing
 * changed); MW_E_NOMEM.  Ownership: strings are copied.
 * @since 0.2
 */
mw_status mw_options_set_protocol(mw_options *o, mw_protocol p);
mw_protocol mw_options_protocol(const mw_options *o);
/** @} */
/** The IMAP mailbox to open (UTF-8; "INBOX" by default).
 * Errors: MW_OK; MW_E_INVALID (o NULL or a value out of range: nothing
 * changed); MW_E_NOMEM.  Ownership: strings are copied.
 * @since 0.2
 */
mw_status mw_options_set_mailbox(mw_options *o, const char *mailbox);
/** A server as a URL, "SCHEME://[user@]host[:port][/mailbox]"
 * with SCHEME one of smtp, submission, smtps, pop3, pop3s, imap, imaps
 * (RFC 5092, 2384).  Sets the protocol, the host, the port when given, the
 * user when given and the mailbox (IMAP) when given, all percent-decoded.
 * A scheme ending in "s" is implicit TLS; the others leave the TLS mode
 * as it is (MW_TLS_AUTO: by port, STARTTLS required off the implicit
 * port).  A password in the URL is refused (MW_E_INVALID): it would show
 * in process lists and shell histories.
 * @since 0.2
 */
mw_status mw_options_set_server_url(mw_options *o, const char *url);
/** Parses "auto", "implicit", "starttls", "starttls-optional", "none",
 * "detect".
 * Errors: MW_OK; MW_E_INVALID for any other text.
 * @since 0.1
 */
mw_status mw_tls_mode_parse(const char *text, mw_tls_mode *out);

/** The name of mode as mw_tls_mode_parse() reads it (static storage).
 * @since 0.1
 */
const char *mw_tls_mode_name(mw_tls_mode mode);

/** The address family to connect over (default MW_FAMILY_ANY: both).
 * Errors: MW_OK; MW_E_INVALID (o NULL or a value out of range: nothing
 * changed); MW_E_NOMEM.  Ownership: strings are copied.
 * @since 0.1
 */
mw_status mw_options_set_family(mw_options *o, mw_family family);
/** A numeric local address to bind before connecting, or NULL.
 * Errors: MW_OK; MW_E_INVALID (o NULL or a value out of range: nothing
 * changed); MW_E_NOMEM.  Ownership: strings are copied.
 * @since 0.1
 */
mw_status mw_options_set_bind(mw_options *o, const char *address);
/** Reach the server through a proxy: "socks4://host:port",
 * "socks4a://", "socks5://[user:pass@]host:port" (mailwire resolves the
 * server's name), "socks5h://" (the proxy resolves it), or
 * "http://[user:pass@]host:port" (HTTP CONNECT).  User and password are
 * percent-decoded.  NULL for a direct connection.  MW_E_INVALID for a
 * malformed URL.
 * @since 0.1
 */
mw_status mw_options_set_proxy(mw_options *o, const char *url);
/** Send a HAProxy PROXY protocol header (version 1 or 2; 0: none) first on
 * the connection, for servers behind a load balancer.
 * Errors: MW_OK; MW_E_INVALID (o NULL or a value out of range: nothing
 * changed); MW_E_NOMEM.  Ownership: strings are copied.
 * @since 0.1
 */
mw_status mw_options_set_proxy_protocol(mw_options *o, int version);
/** Send DNS queries to this server only ("127.0.0.1:5353", "[::1]:53"),
 * for split-horizon set-ups and tests; NULL for the system resolver.
 * Errors: MW_OK; MW_E_INVALID (o NULL or a value out of range: nothing
 * changed); MW_E_NOMEM.  Ownership: strings are copied.
 * @since 0.1
 */
mw_status mw_options_set_dns_server(mw_options *o, const char *server);
/** @{ */
/** Doctor's deliverability checks (Since 0.1; NULL clears each).
 * sender_domain: the domain whose SPF, DMARC, DKIM, MTA-STS and TLS-RPT
 *   records are checked (default: the domain of doctor's from address).
 * dkim_selector: check the DKIM key at SELECTOR._domainkey.DOMAIN.
 * dnsbl_zones: "zen.example,bl.example": look the server's IPv4 address
 *   up in these DNS blocklists (default none: no query leaves for them).
 * MW_E_INVALID for a value that is not a DNS name (or list of them).
 * @since 0.1
 */
mw_status mw_options_set_sender_domain(mw_options *o, const char *domain);
mw_status mw_options_set_dkim_selector(mw_options *o, const char *selector);
mw_status mw_options_set_dnsbl_zones(mw_options *o, const char *zones);
/** @} */
/** @{ */
/** Timeouts in milliseconds; 0 restores the default.
 * connect: per address attempt (default 15 s).
 * greeting: the 220 after connect (default 10 s; a silent server is the
 *   classic sign of a TLS-mode mismatch).
 * command: every other reply; 0 = the RFC 5321 4.5.3.2 default per
 *   command (5 min; DATA 2 min; final dot 10 min; blocks 3 min).
 * Errors: MW_OK; MW_E_INVALID (o NULL or a value out of range: nothing
 * changed); MW_E_NOMEM.  Ownership: strings are copied.
 * @since 0.1
 */
mw_status mw_options_set_connect_timeout(mw_options *o, unsigned ms);
mw_status mw_options_set_greeting_timeout(mw_options *o, unsigned ms);
mw_status mw_options_set_command_timeout(mw_options *o, unsigned ms);
/** @} */

/** TLS policy.  Verification is on by default against the system trust
 * store, with host-name check and SNI.
 * Errors: MW_OK; MW_E_INVALID (o NULL or a value out of range: nothing
 * changed); MW_E_NOMEM.  Ownership: strings are copied.
 * @since 0.1
 */
mw_status mw_options_set_tls_ca_file(mw_options *o, const char *path);
/** Pin the server certificate: hex SHA-256 of its DER encoding, colons
 * allowed.  A matching certificate is accepted even if not trusted by a
 * CA; any other certificate is refused.
 * Errors: MW_OK; MW_E_INVALID (o NULL or a value out of range: nothing
 * changed); MW_E_NOMEM.  Ownership: strings are copied.
 * @since 0.1
 */
mw_status mw_options_set_tls_fingerprint(mw_options *o, const char *hex);
/** Accept any certificate.  Dangerous: the trace says so loudly.
 * Errors: MW_OK; MW_E_INVALID (o NULL or a value out of range: nothing
 * changed); MW_E_NOMEM.  Ownership: strings are copied.
 * @since 0.1
 */
mw_status mw_options_set_tls_insecure(mw_options *o, bool insecure);

/** The lowest and highest TLS versions to negotiate; MW_TLS_VERSION_DEFAULT
 * leaves that end to the library's default.
 * Errors: MW_OK; MW_E_INVALID (o NULL or a value out of range: nothing
 * changed); MW_E_NOMEM.  Ownership: strings are copied.
 * @since 0.1
 */
mw_status mw_options_set_tls_versions(mw_options *o, mw_tls_version min,
                                      mw_tls_version max);
/** With a minimum version set: when the server cannot do it, fail
 * (strict) instead of retrying once with the default minimum, TLS 1.2,
 * which the trace reports as a downgrade.  Default false.
 * Errors: MW_OK; MW_E_INVALID (o NULL or a value out of range: nothing
 * changed); MW_E_NOMEM.  Ownership: strings are copied.
 * @since 0.1
 */
mw_status mw_options_set_tls_strict(mw_options *o, bool strict);
/** OpenSSL cipher list for TLS 1.2 ("ECDHE-RSA-AES128-GCM-SHA256:...")
 * and/or TLS 1.3 suite names ("TLS_AES_256_GCM_SHA384"); NULL for the
 * defaults.  MW_E_INVALID when OpenSSL knows none of them.  (This loads
 * the TLS module; when it cannot be loaded the list is kept unchecked and
 * the connection's TLS fails with MW_E_TLS.)
 * @since 0.1
 */
mw_status mw_options_set_tls_ciphers(mw_options *o, const char *list);
/** A client certificate (PEM chain) and its private key (PEM; NULL: the
 * key is in cert_file), presented when the server asks, and the identity
 * behind SASL EXTERNAL.  Files are read when the session connects; a
 * missing or mismatched file is MW_E_INVALID then.  NULL clears.
 * @since 0.1
 */
mw_status mw_options_set_tls_client_cert(mw_options *o, const char *cert_file,
                                         const char *key_file);
/** Parses "1.2" or "1.3".
 * Errors: MW_OK; MW_E_INVALID for any other text.
 * @since 0.1
 */
mw_status mw_tls_version_parse(const char *text, mw_tls_version *out);
/** The name sent as SNI and checked against the certificate; defaults to
 * the server host (SNI is not sent for an IP address).
 * Errors: MW_OK; MW_E_INVALID (o NULL or a value out of range: nothing
 * changed); MW_E_NOMEM.  Ownership: strings are copied.
 * @since 0.1
 */
mw_status mw_options_set_tls_server_name(mw_options *o, const char *name);

/** Revocation (MailKit's CheckCertificateRevocation; off by default): the
 * server certificate is checked against the CRLs in path (PEM, one or
 * more, each signed by the CA that issued the certificates it lists).
 * With a CRL file set, a certificate it lists is refused (MW_E_CERT;
 * doctor's cause "cert_revoked"), and so is one whose issuer has no
 * current CRL in the file (cause "cert_crl_unusable").  Only the server's
 * own certificate is checked (not the
 * intermediates).  NULL turns checking off.  The file is read when the
 * session connects; an unreadable one is MW_E_INVALID then.
 * @since 0.2
 */
mw_status mw_options_set_tls_crl_file(mw_options *o, const char *path);
/** Revocation by OCSP stapling (off by default): the handshake asks for
 * the server's stapled OCSP response (RFC 6066 status_request), which
 * must then be signed by the certificate's issuer or its delegated
 * responder (checked against the trust store), about this certificate
 * and current; "revoked" refuses the certificate (MW_E_CERT, cause
 * "cert_revoked"), an invalid response too (cause "cert_crl_unusable").
 * A server that staples nothing is accepted: the trace says so.
 * @since 0.2
 */
mw_status mw_options_set_tls_ocsp(mw_options *o, bool on);

/** What a certificate validation callback sees (MailKit's
 * ServerCertificateValidationCallback).  Everything is borrowed for the
 * duration of the call. */
typedef struct mw_tls_peer {
  const char *host;         /**< the name verified: the server name or host */
  bool verified;            /**< the library's own verdict: true when it
                               would accept (trusted chain, dates, name,
                               revocation with a CRL file, the pin) */
  const char *verdict;      /**< "verified", "pinned", "pin_mismatch",
                               "expired", "not_yet_valid", "hostname",
                               "self_signed", "revoked", "crl" (no
                               usable CRL for it), "untrusted" */
  const char *error;        /**< OpenSSL's verify error ("ok" when none) */
  const char *subject;      /**< of the server's certificate */
  const char *issuer;      /**< of the server's certificate */
  const char *fingerprint;  /**< SHA-256 of its DER, lowercase hex */
  size_t chain_len;         /**< certificates the server sent, its own first */
  const unsigned char *const *chain_der; /**< each one's DER encoding */
  const size_t *chain_der_len; /**< each one's length in bytes */
} mw_tls_peer;

/** Returns true to accept the certificate, false to refuse it. */
typedef bool (*mw_tls_verify_fn)(void *user, const mw_tls_peer *peer);

/** Let the caller decide on the server certificate: after each handshake
 * fn is called with the chain and the library's verdict, and its answer
 * replaces the verdict: true accepts even a certificate the library
 * would refuse, false refuses even one it would accept (MW_E_CERT, doctor
 * cause "cert_refused_by_callback").  The trace records the decision.
 * Not called with mw_options_set_tls_insecure(o, true) (everything is
 * accepted then), nor by mw_probe_run(), which reports the library's own
 * verdict.  fn NULL removes it.
 * @since 0.2
 */
mw_status mw_options_set_tls_verify_callback(mw_options *o,
                                             mw_tls_verify_fn fn,
                                             void *user);

/** SMTP.
 * Errors: MW_OK; MW_E_INVALID (o NULL or a value out of range: nothing
 * changed); MW_E_NOMEM.  Ownership: strings are copied.
 * @since 0.1
 */
mw_status mw_options_set_helo_name(mw_options *o, const char *name);
/** user and password: copied; the password is wiped on free.
 * Errors: MW_OK; MW_E_INVALID (o NULL or a value out of range: nothing
 * changed); MW_E_NOMEM.  Ownership: strings are copied.
 * @since 0.1
 */
mw_status mw_options_set_credentials(mw_options *o, const char *user,
                                     const char *password);
/** An OAuth 2.0 bearer token for XOAUTH2 / OAUTHBEARER.
 * Errors: MW_OK; MW_E_INVALID (o NULL or a value out of range: nothing
 * changed); MW_E_NOMEM.  Ownership: strings are copied.
 * @since 0.1
 */
mw_status mw_options_set_oauth2_token(mw_options *o, const char *token);
/** Comma- or space-separated list of allowed SASL mechanisms, or NULL for
 * all supported.  Unknown names are an error (MW_E_INVALID).
 * @since 0.1
 */
mw_status mw_options_set_auth_mechanisms(mw_options *o, const char *list);
/** Allow credentials over an unencrypted connection.  Default false.
 * Errors: MW_OK; MW_E_INVALID (o NULL or a value out of range: nothing
 * changed); MW_E_NOMEM.  Ownership: strings are copied.
 * @since 0.1
 */
mw_status mw_options_set_allow_insecure_auth(mw_options *o, bool allow);
/** Use PIPELINING when the server offers it (default true).
 * Errors: MW_OK; MW_E_INVALID (o NULL or a value out of range: nothing
 * changed); MW_E_NOMEM.  Ownership: strings are copied.
 * @since 0.1
 */
mw_status mw_options_set_pipelining(mw_options *o, bool enable);
/** Send the message in BDAT chunks (RFC 3030) when the server offers
 * CHUNKING (default true); false: always DATA.
 * Errors: MW_OK; MW_E_INVALID (o NULL or a value out of range: nothing
 * changed); MW_E_NOMEM.  Ownership: strings are copied.
 * @since 0.2
 */
mw_status mw_options_set_chunking(mw_options *o, bool enable);

/** The trace callback: fn(user, kind, elapsed_ms, text) for each protocol
 * event (see mw_trace_fn); fn NULL turns tracing off.  It replaces
 * mw_options_set_trace_fd() (and that replaces it).
 * Errors: MW_OK; MW_E_INVALID (o NULL or a value out of range: nothing
 * changed); MW_E_NOMEM.  Ownership: strings are copied.
 * @since 0.1
 */
mw_status mw_options_set_trace(mw_options *o, mw_trace_fn fn, void *user);
/** The trace written to a file descriptor (MailKit's ProtocolLogger): one
 * line per event, "[   12.3 ms] -> EHLO host" (marks "==" network, "**"
 * TLS, "<-" from the server, "->" to it, "::" other), with the same
 * redaction as the callback's events and setting tokens rendered in API
 * terms (mw_render_settings() with fn NULL).  The library never closes
 * fd; write errors are ignored.  It replaces mw_options_set_trace() (and
 * that replaces it); -1 turns tracing off.  MW_E_INVALID for fd < -1.
 * @since 0.2
 */
mw_status mw_options_set_trace_fd(mw_options *o, int fd);

/** The progress callback of mw_options_set_progress() (see there).
 * @since 0.2 */
typedef void (*mw_progress_fn)(void *user, uint64_t sent, uint64_t total);

/**
 * mw_options_set_progress - follow a message's data as it is written
 * (as MailKit's ITransferProgress).  During mw_smtp_send() (and the
 * sends built on it) fn(user, sent, total) is called after each block of
 * the message's data (about 64 KiB) is written to the connection, and
 * once more when the whole data is handed over, with sent == total.
 * sent counts the bytes of the data as they go on the wire (CRLF line
 * endings, dot-stuffing or BDAT framing); total is the expected number
 * (mw_message_info.size) and never less than sent, 0 while unknown.
 * fn must not call back into the session; NULL turns it off (default).
 * Returns:   MW_OK, MW_E_INVALID (o NULL).
 * Threads:   called on the thread running the send.
 * @since 0.2
 */
mw_status mw_options_set_progress(mw_options *o, mw_progress_fn fn,
                                  void *user);

/** The SASL mechanisms this library can use, strongest first, as one
 * space-separated static string.
 * @since 0.1
 */
const char *mw_auth_supported_mechanisms(void);

/* ------------------------------------------------------------------------
 * SMTP session.
 * ---------------------------------------------------------------------- */
/** One SMTP session (opaque): mw_smtp_new() ... mw_smtp_free().
 * @since 0.1 */
typedef struct mw_smtp mw_smtp;

/** Creates a session; the options are copied (later changes to o do not
 * affect it).  Returns NULL on OOM.  Free with mw_smtp_free().
 * @since 0.1
 */
mw_smtp *mw_smtp_new(const mw_options *o);
/** Closes the connection without QUIT if still open.  NULL is a no-op.
 * @since 0.1
 */
void mw_smtp_free(mw_smtp *s);

/** The last failure of this session (never NULL; status MW_OK when the last
 * call succeeded).  Borrowed until the next call on s.
 * @since 0.1
 */
const mw_error *mw_smtp_error(const mw_smtp *s);

/** Resolves, connects (each address in turn), reads the greeting, says
 * EHLO (HELO if EHLO is refused), applies the TLS mode (implicit, or
 * STARTTLS and EHLO again, forgetting pre-TLS capabilities), and
 * authenticates when credentials or a token were given.
 * Returns MW_OK, MW_E_DNS, MW_E_CONNECT, MW_E_TIMEOUT, MW_E_CLOSED,
 * MW_E_TLS, MW_E_CERT, MW_E_NO_STARTTLS, MW_E_INJECTION, MW_E_INSECURE,
 * MW_E_AUTH_UNAVAILABLE, MW_E_AUTH, MW_E_AUTH_SERVER_UNVERIFIED (a SCRAM
 * or DIGEST-MD5 server that did not prove its identity: the session is
 * over, no mail command was sent), MW_E_PROTOCOL, MW_E_REJECTED,
 * MW_E_STATE, MW_E_NOMEM.
 * @since 0.1
 */
mw_status mw_smtp_connect(mw_smtp *s);

/** Capabilities from the last EHLO (after TLS when TLS is on).
 * @since 0.1
 */
bool mw_smtp_has_capability(const mw_smtp *s, const char *keyword);
/** The parameter text of a capability ("PLAIN LOGIN" for AUTH), NULL
 * when absent (not offered).
 * Borrowed until the next EHLO.
 * @since 0.1
 */
const char *mw_smtp_capability_param(const mw_smtp *s, const char *keyword);
/** SIZE limit advertised by the server; 0 when absent.
 * @since 0.1
 */
uint64_t mw_smtp_size_limit(const mw_smtp *s);
/** @{ */
/** TLS facts, or NULL/0 when the connection is not encrypted.  Strings are
 * borrowed until mw_smtp_free().
 * mw_smtp_peer_not_after(): "2027-01-31T12:00:00Z"
 * mw_smtp_peer_fingerprint(): SHA-256 hex
 * @since 0.1
 */
bool mw_smtp_is_encrypted(const mw_smtp *s);
const char *mw_smtp_tls_version(const mw_smtp *s);
const char *mw_smtp_tls_cipher(const mw_smtp *s);
const char *mw_smtp_peer_subject(const mw_smtp *s);
const char *mw_smtp_peer_issuer(const mw_smtp *s);
const char *mw_smtp_peer_not_after(const mw_smtp *s);
const char *mw_smtp_peer_fingerprint(const mw_smtp *s);
/** @} */
/** The SASL mechanism used, NULL when absent (not authenticated).
 * @since 0.1
 */
const char *mw_smtp_auth_mechanism(const mw_smtp *s);
/** @{ */
/** The greeting text and the address actually connected to ("ip:port").
 * Ownership: borrowed until mw_smtp_free(); "" when absent.
 * @since 0.1
 */
const char *mw_smtp_greeting(const mw_smtp *s);
const char *mw_smtp_peer_address(const mw_smtp *s);
/** @} */
/** @{ */
/** The port and TLS mode in use (after auto, or what --tls detect found;
 * MW_TLS_DETECT until then).
 * @since 0.1
 */
unsigned mw_smtp_port(const mw_smtp *s);
mw_tls_mode mw_smtp_tls_mode(const mw_smtp *s);
/** @} */

/** Envelope. */
typedef struct mw_envelope mw_envelope;
mw_envelope *mw_envelope_new(void); /**< NULL on OOM @since 0.1 */

/** Frees e.  NULL is a no-op.
 * @since 0.1
 */
void mw_envelope_free(mw_envelope *e);
/** @{ */
/** "" is the null reverse-path.  Each call takes exactly one bare address
 * (an RFC 5321 addr-spec: local-part@domain); anything else is refused
 * with MW_E_INVALID: CR, LF, NUL or other control bytes, spaces, '<' or
 * '>', and more than one address ("b@x,evil@y", "team: a@x, b@y;",
 * "a@x@y").  mw_mailbox_check() gives the reason.
 * @since 0.1
 */
mw_status mw_envelope_set_from(mw_envelope *e, const char *address);
mw_status mw_envelope_add_recipient(mw_envelope *e, const char *address);
/** @} */

/** What mw_mailbox_check() found.  Since 0.2 */
typedef enum mw_mailbox_verdict {
  MW_MAILBOX_OK = 0,
  MW_MAILBOX_SEVERAL, /**< more than one mailbox: a list, a group, two
                         addresses */
  MW_MAILBOX_INVALID  /**< not one mailbox for another reason */
} mw_mailbox_verdict;

/**
 * mw_mailbox_check - whether text is exactly one mailbox
 * Accepts a bare address ("alice@example.org") or a display name and an
 * address in angle brackets ("Alice <alice@example.org>", "\"Doe, Jane\"
 * <jane@example.org>"), and copies the address alone into addr (addr_len
 * bytes with its NUL; addr may be NULL).  That address is the one the
 * envelope must carry for the header to show what was sent.
 * Returns:   MW_MAILBOX_OK; MW_MAILBOX_SEVERAL for a list ("b@x,evil@y",
 *            a stray ',' or ';'), group syntax ("team: a@x, b@y;") or two
 *            addresses ("x <a@x> <c@x>", "a@x <c@x>"); MW_MAILBOX_INVALID
 *            for anything else (control bytes, no '@', unbalanced quotes
 *            or brackets, ...).  *why (why may be NULL) is set to a static
 *            reason, NULL when OK.
 * Ownership: nothing transferred.  Threads: any.
 * @since 0.2
 */
mw_mailbox_verdict mw_mailbox_check(const char *text, char *addr,
                                    size_t addr_len, const char **why);

/** The number of recipients added so far.
 * @since 0.1
 */
size_t mw_envelope_recipient_count(const mw_envelope *e);

enum {
  MW_DSN_NOTIFY_NEVER = 1,
  MW_DSN_NOTIFY_SUCCESS = 2,
  MW_DSN_NOTIFY_FAILURE = 4,
  MW_DSN_NOTIFY_DELAY = 8
};
/** RET= of a DSN request (mw_envelope_set_dsn()).  @since 0.2 */
typedef enum mw_dsn_ret {
  MW_DSN_RET_DEFAULT = 0, /**< no RET: the server chooses */
  MW_DSN_RET_FULL,        /**< the whole message in a failure report */
  MW_DSN_RET_HDRS         /**< only its headers */
} mw_dsn_ret;

/** @{ */
/**
 * Delivery status notifications (DSN, RFC 3461) and REQUIRETLS (RFC 8689).
 * Since 0.2 (issue 12)
 *
 * mw_envelope_set_dsn - ask for DSNs for the whole message.
 *   notify: 0 (the server's default), MW_DSN_NOTIFY_NEVER alone, or an OR
 *   of SUCCESS, FAILURE and DELAY: sent as NOTIFY= on every RCPT that has
 *   none of its own.  ret: RET=FULL or RET=HDRS on MAIL FROM (DEFAULT: no
 *   RET).  envid: ENVID= (xtext-encoded; printable ASCII, at most 100
 *   characters encoded; NULL: none).  Any of them makes the message need
 *   the server's DSN extension (else MW_E_EXTENSION, nothing sent).  With
 *   DSN in use every recipient also gets ORCPT=rfc822;ADDRESS (its own
 *   ASCII address, xtext-encoded) unless it has one of its own, so the
 *   report names the address as it was given.
 * mw_envelope_set_recipient_dsn - NOTIFY (0: the envelope's) and ORCPT
 *   ("rfc822;bob@example.org" or a bare address, taken as rfc822; NULL:
 *   the default above) of recipient i (in the order added).
 * mw_envelope_set_requiretls - RFC 8689: MAIL FROM carries REQUIRETLS, so
 *   that every hop must relay the message over verified TLS or return it.
 *   mw_smtp_send() refuses (MW_E_EXTENSION, nothing sent) unless the
 *   session is over TLS with a verified (or pinned) certificate and the
 *   server offers REQUIRETLS.
 * mw_dsn_notify_parse - "never", or a comma-separated list of "success",
 *   "failure" and "delay" (any case).  mw_dsn_ret_parse - "full", "hdrs"
 *   (or "headers").
 * Returns:   MW_OK, MW_E_INVALID (bad value, index out of range, NEVER
 *            with another flag, ENVID or ORCPT not printable ASCII or too
 *            long; nothing changed), MW_E_NOMEM.
 * @since 0.2
 */
mw_status mw_envelope_set_dsn(mw_envelope *e, unsigned notify, mw_dsn_ret ret,
                              const char *envid);
mw_status mw_envelope_set_recipient_dsn(mw_envelope *e, size_t i,
                                        unsigned notify, const char *orcpt);
mw_status mw_envelope_set_requiretls(mw_envelope *e, bool on);
mw_status mw_dsn_notify_parse(const char *text, unsigned *out);
mw_status mw_dsn_ret_parse(const char *text, mw_dsn_ret *out);
/** @} */

/** A reader for the message: copy up to len bytes into buf, set *got (0 at
 * end) and return MW_OK, or return MW_E_IO. */
typedef mw_status (*mw_read_fn)(void *user, char *buf, size_t len,
                                size_t *got);

/** What the message is, so MAIL FROM carries the right parameters. */
typedef struct mw_message_info {
  uint64_t size;      /**< approximate size in bytes, 0 when unknown (SIZE=) */
  bool has_8bit;      /**< a byte >= 0x80 appears: BODY=8BITMIME */
  bool needs_smtputf8;/**< UTF-8 in headers or addresses: SMTPUTF8 */
  size_t longest_line; /**< bytes, without the line ending; 0 when unknown.
                          Over 998 is refused (RFC 5321 4.5.3.1.6). */
  uint64_t long_line;  /**< the 1-based number of the first line over 998
                          bytes, where the scan stopped; 0 when absent */
  bool binary;         /**< the message must go byte for byte: BODY=
                          BINARYMIME in BDAT chunks (RFC 3030), its line
                          endings left as they are.  The scan sets it when
                          a NUL byte appears; a caller whose parts are
                          Content-Transfer-Encoding: binary sets it.
                          Since 0.2 (issue 12) */
} mw_message_info;

/** Scans a buffer to fill a mw_message_info (size as sent on the wire).
 * The scan stops at the first line over 998 bytes: long_line names it,
 * longest_line is then 999 and size counts only the bytes before the
 * stop (mw_smtp_send refuses such a message whatever its size).
 * @since 0.1
 */
void mw_message_info_scan(mw_message_info *info, const void *data,
                          size_t len);
/** The same, reading the message through read (the caller rewinds its
 * source afterwards).  Reading stops at the first line over 998 bytes, so
 * an endless source without line breaks (/dev/zero) ends at once.
 * Returns MW_OK, MW_E_MESSAGE (a line over 998 bytes: info->long_line
 * says which) or the reader's MW_E_IO.  MW_E_MESSAGE since 0.1 (issue 9)
 * @since 0.1
 */
mw_status mw_message_info_scan_reader(mw_message_info *info, mw_read_fn read,
                                      void *user);

/** Per-message outcome. */
typedef struct mw_result mw_result;
/** What became of one message (mw_result_delivery()).  @since 0.1 */
typedef enum mw_delivery {
  MW_DELIVERY_ACCEPTED = 0,  /**< the server took responsibility (250) */
  MW_DELIVERY_REFUSED,       /**< the server refused it: nothing sent */
  MW_DELIVERY_UNKNOWN,       /**< connection lost after the final dot */
  MW_DELIVERY_NOT_SENT       /**< failed before the data was complete */
} mw_delivery;


/** What became of the message as a whole.
 * @since 0.1
 */
mw_delivery mw_result_delivery(const mw_result *r);

/** The number of recipients, in envelope order.
 * @since 0.1
 */
size_t mw_result_recipient_count(const mw_result *r);
/** @{ */
/** For recipient i (in envelope order): address, accepted or not, the RCPT
 * reply code, enhanced code and text.  Strings borrowed until
 * mw_result_free().
 * @since 0.1 (mw_result_recipient_enhanced_code(): 0.2)
 */
const char *mw_result_recipient(const mw_result *r, size_t i);
bool mw_result_recipient_accepted(const mw_result *r, size_t i);
int mw_result_recipient_code(const mw_result *r, size_t i);
const char *mw_result_recipient_enhanced_code(const mw_result *r, size_t i);
const char *mw_result_recipient_text(const mw_result *r, size_t i);
/** @} */
/** @{ */
/** The final reply to the data (code and text), and the queue id parsed
 * from it ("queued as ABC123" and common variants) or "" when absent.
 * Ownership: strings borrowed until mw_result_free().
 * @since 0.1
 */
int mw_result_final_code(const mw_result *r);
const char *mw_result_final_text(const mw_result *r);
const char *mw_result_queue_id(const mw_result *r);
/** @} */
/** Milliseconds from MAIL FROM to the final reply.
 * @since 0.1
 */
double mw_result_elapsed_ms(const mw_result *r);

/** Bytes of the message written to the connection (as on the wire).
 * @since 0.1
 */
uint64_t mw_result_bytes_sent(const mw_result *r);

/** Frees r.  NULL is a no-op.
 * @since 0.1
 */
void mw_result_free(mw_result *r);

/** Sends one message on a connected session: MAIL FROM (with SIZE=,
 * BODY=8BITMIME and SMTPUTF8 when needed and offered), RCPT TO for each
 * recipient, DATA with dot-stuffing and every line ending made CRLF.
 * Uses PIPELINING when offered.  Since 0.2 (issue 12): BDAT chunks
 * instead of DATA when the server offers CHUNKING (unless
 * mw_options_set_chunking(o, false)), BODY=BINARYMIME for info->binary,
 * the envelope's DSN and REQUIRETLS requests, and MW_E_EXTENSION, before
 * MAIL FROM with nothing sent, when the server lacks what they or the
 * message need (SMTPUTF8 included).  Recipients refused while others were
 * accepted are reported in *out and the message goes to the accepted ones;
 * when all are refused no data is sent (MW_E_RECIPIENTS).
 * *out is set whenever the message got as far as MAIL FROM (also on
 * failure) and must be freed with mw_result_free(); otherwise NULL.
 * Returns MW_OK (delivered to at least one recipient), MW_E_RECIPIENTS,
 * MW_E_REJECTED, MW_E_DELIVERY_UNKNOWN, MW_E_MESSAGE, MW_E_EXTENSION,
 * MW_E_TIMEOUT, MW_E_CLOSED, MW_E_PROTOCOL, MW_E_TLS, MW_E_IO, MW_E_STATE,
 * MW_E_NOMEM.  After MW_E_RECIPIENTS or MW_E_REJECTED the session stays
 * usable (RSET is
 * sent).
 * @since 0.1
 */
mw_status mw_smtp_send(mw_smtp *s, const mw_envelope *e,
                       const mw_message_info *info, mw_read_fn read,
                       void *read_user, mw_result **out);
/** The same for a message held in memory (info is computed).
 * Errors and the ownership of *out: as mw_smtp_send() (MW_OK,
 * MW_E_RECIPIENTS, MW_E_REJECTED, ...; *out freed with mw_result_free()).
 * @since 0.1
 */
mw_status mw_smtp_send_buffer(mw_smtp *s, const mw_envelope *e,
                              const void *data, size_t len, mw_result **out);

/** One message for mw_smtp_send_many(): what mw_smtp_send() takes.
 * @since 0.2
 */
typedef struct mw_outgoing {
  const mw_envelope *envelope; /**< sender and recipients */
  const mw_message_info *info; /**< NULL: nothing known (as for send) */
  mw_read_fn read;             /**< gives the message's bytes */
  void *read_user;             /**< read's first argument */
} mw_outgoing;

/** Gives mw_smtp_send_many() its next message: fills *m (which must stay
 * valid until that message's mw_message_done_fn call) and returns true, or
 * returns false when there are no more.
 * @since 0.2
 */
typedef bool (*mw_next_message_fn)(void *user, mw_outgoing *m);

/** Told each message's outcome, in the order given, once: index counts
 * from 0; status is what mw_smtp_send() would have returned for it; err
 * (valid during the call only) says why when status is not MW_OK; result
 * is the message's result, now the callee's (free it with
 * mw_result_free()), or NULL when the message got no MAIL FROM.
 * @since 0.2
 */
typedef void (*mw_message_done_fn)(void *user, size_t index,
                                   mw_status status, const mw_error *err,
                                   mw_result *result);

/** Sends messages one after another on a connected session, as many
 * mw_smtp_send() calls would, but with one round trip a message where
 * the server pipelines (RFC 2920): the next message's MAIL FROM, RCPT TO
 * and DATA go in the same write as the previous message's final dot, so
 * each 354 and each final reply arrive together.  next() is asked for
 * each message (for the next one while the previous is still being
 * answered); done() is told each outcome, in order.  A refusal that keeps
 * the session (MW_E_REJECTED, MW_E_RECIPIENTS, MW_E_MESSAGE,
 * MW_E_EXTENSION) is reported and the next message follows.  When the
 * session ends (MW_E_CLOSED, MW_E_TIMEOUT, MW_E_PROTOCOL, MW_E_TLS,
 * MW_E_IO, MW_E_DELIVERY_UNKNOWN, MW_E_NOMEM), the message it ended in is
 * reported with that status, and so is a message already taken from
 * next() whose envelope went with it: its result is then
 * MW_DELIVERY_NOT_SENT (nothing of its data went; safe to send again).
 * No more messages are taken.  *count (may be NULL) is set to the number
 * of messages reported.  Returns MW_OK when next() ran out with the
 * session usable, the status that ended the session otherwise,
 * MW_E_STATE when the session is not ready, MW_E_INVALID for bad
 * arguments.
 * @since 0.2
 */
mw_status mw_smtp_send_many(mw_smtp *s, mw_next_message_fn next,
                            mw_message_done_fn done, void *user,
                            size_t *count);

/** RSET: the next transaction starts from a clean state.  When the
 * server offers PIPELINING (and it is not turned off), the RSET is not sent
 * on its own: it goes first in the next transaction's batch (RFC 2920),
 * so it costs no round trip; a 421 to it then fails that mw_smtp_send()
 * with MW_E_CLOSED before the server takes anything of the message, and
 * the result is then MW_OK here.  Otherwise it is sent and answered now.
 * Returns MW_OK, MW_E_REJECTED, MW_E_TIMEOUT, MW_E_CLOSED,
 * MW_E_PROTOCOL, MW_E_STATE.
 * @since 0.1
 */
mw_status mw_smtp_reset(mw_smtp *s);
/** Declares the next mw_smtp_send() (or _send_buffer()) the session's
 * last: when the server offers PIPELINING, QUIT goes in the same write as
 * the end of that message's data (RFC 2920 lets QUIT end the group the
 * content begins), once its envelope is answered, which saves the round
 * trip of a separate QUIT; the message's result is unchanged.
 * mw_smtp_quit() must still be called: it reads the 221 already on its
 * way and closes.  Until then the session takes no other command
 * (MW_E_STATE).  Without PIPELINING, or when the message ends before its
 * data (refused), nothing changes and mw_smtp_quit() sends QUIT.  Lasts
 * for one mw_smtp_send(), or until the session closes.
 * Returns MW_OK; MW_E_INVALID for NULL.
 * @since 0.2
 */
mw_status mw_smtp_quit_after_send(mw_smtp *s);
/** QUIT and close.  The session is closed whatever the result.
 * Errors: MW_OK (also when the session was not connected); otherwise the
 * statuses of mw_smtp_reset().
 * @since 0.1
 */
mw_status mw_smtp_quit(mw_smtp *s);

/* ------------------------------------------------------------------------
 * Message composition (GMime): builds an RFC 5322 message with
 * RFC 2047-encoded headers and a text/plain UTF-8 body; since 0.2 also an
 * HTML alternative, attachments and inline parts, or starts from a
 * ready-made message (see mw_compose_set_message_fd).
 * ---------------------------------------------------------------------- */
/** A message being composed (opaque): mw_compose_new() ...
 * mw_compose_free().  @since 0.1 */
typedef struct mw_compose mw_compose;
/** NULL on OOM.  Since 0.2 the composer is a module loaded by the first
 * call (libmailwire-mime.so.VERSION, next to libmailwire; see README):
 * when it cannot be loaded, the handle returned makes every call fail
 * with MW_E_INTERNAL and mw_compose_error_message() says why.
 * @since 0.1
 */
mw_compose *mw_compose_new(void);

/** Frees c and what it holds (its temporary file, files opened for
 * attachments).  NULL is a no-op.
 * @since 0.1
 */
void mw_compose_free(mw_compose *c);
/** @{ */
/** Header values with CR, LF or NUL are refused with MW_E_MESSAGE.  From,
 * To and Cc take exactly one mailbox per call ("Name <addr>" or a bare
 * address, see mw_mailbox_check()): a list, a group or two addresses in
 * one call is refused with MW_E_INVALID (detail:
 * mw_compose_error_message()), so that the header names exactly the
 * mailboxes the envelope carries.
 * @since 0.1
 */
mw_status mw_compose_set_from(mw_compose *c, const char *mailbox);
mw_status mw_compose_add_to(mw_compose *c, const char *mailbox);
mw_status mw_compose_add_cc(mw_compose *c, const char *mailbox);
mw_status mw_compose_set_subject(mw_compose *c, const char *utf8);
/** @} */

/** @{ */
/** The text/plain body: len bytes of UTF-8 (copied).
 * Errors: MW_OK; MW_E_MESSAGE (a header name or value with CR, LF or NUL);
 * MW_E_INVALID; MW_E_NOMEM; MW_E_INTERNAL (the composer module could not be
 * loaded); the detail in mw_compose_error_message().  Ownership: copied.
 * @since 0.1
 */
mw_status mw_compose_set_body(mw_compose *c, const char *utf8, size_t len);
mw_status mw_compose_add_header(mw_compose *c, const char *name,
                                const char *value);
/** @} */
/** Renders the message.  *out is allocated; free with mw_free().
 * Errors: MW_OK; MW_E_MESSAGE, MW_E_INVALID (the message cannot be written
 * as set: mw_compose_error_message() says why); MW_E_IO; MW_E_NOMEM;
 * MW_E_INTERNAL (the composer module could not be loaded).
 * @since 0.1
 */
mw_status mw_compose_render(mw_compose *c, char **out, size_t *len);
/** A detail for the last MW_E_MESSAGE or MW_E_INVALID from this object
 * (static or owned by c; valid until the next call on c).
 * @since 0.1
 */
const char *mw_compose_error_message(const mw_compose *c);

/** @{ */
/** Richer messages.  Since 0.2
 *
 * The MIME tree is GMime's: text/plain alone; with HTML,
 * multipart/alternative (text, html), or the HTML alone when the text
 * body is empty; inline parts put the HTML in multipart/related; and
 * attachments wrap everything in multipart/mixed.  Text parts use the
 * narrowest safe encoding (7bit, quoted-printable for mostly-ASCII text,
 * else base64), files base64, non-ASCII file names RFC 2231, non-ASCII
 * header text RFC 2047.
 *
 * mw_compose_set_html - the HTML alternative (UTF-8, copied).
 * mw_compose_add_attachment - attaches the file at path.  name is the
 *   file name shown (NULL: the path's last component; CR, LF and control
 *   characters refused, MW_E_MESSAGE); type is "type/subtype" (NULL:
 *   guessed from the name and the first bytes by shared-mime-info,
 *   "application/octet-stream" when unknown).  The file is opened and
 *   its first 4 KiB read now (MW_E_IO when it cannot be read), and its
 *   content read in chunks only while the message is written: memory
 *   does not grow with its size.  Repeatable.
 * mw_compose_add_inline - the same for an image (or any part) the HTML
 *   references as "cid:ID": content_id is ID (NULL: the file name, so
 *   --inline logo.png is <img src="cid:logo.png">).  Needs the HTML part
 *   when the message is written (else MW_E_MESSAGE).
 * Returns:   MW_OK, MW_E_INVALID, MW_E_MESSAGE, MW_E_IO, MW_E_NOMEM
 *            (detail: mw_compose_error_message()).
 * Ownership: strings copied.  Threads: one thread per mw_compose.
 * @since 0.2
 */
mw_status mw_compose_set_html(mw_compose *c, const char *utf8, size_t len);
mw_status mw_compose_add_attachment(mw_compose *c, const char *path,
                                    const char *name, const char *type);
mw_status mw_compose_add_inline(mw_compose *c, const char *path,
                                const char *content_id, const char *type);
/** @} */

/**
 * mw_compose_set_message_fd - start from a ready-made message instead
 * Parses the RFC 5322 message readable at fd (a seekable descriptor, such
 * as a regular or temporary file, from its current offset; fd stays the
 * caller's and must stay open and unchanged until c is freed: the content
 * is read from it when the message is written).  Writing it then removes
 * every Bcc header and adds Date and Message-ID when absent; the other
 * headers and the body go out as they came.  mw_compose_set_from() then
 * only adds a From header when the message has none.  Parts, subject,
 * To/Cc and extra headers do not apply (MW_E_MESSAGE if already set).
 * Returns:   MW_OK, MW_E_INVALID (not seekable), MW_E_MESSAGE (no header
 *            block, a NUL byte in it, a recipient that is not an
 *            address), MW_E_NOMEM.
 * @since 0.2
 */
mw_status mw_compose_set_message_fd(mw_compose *c, int fd);
/** @{ */
/** The recipients the ready-made message names in To, Cc and Bcc (group
 * members included, each address once, in that order), as bare
 * addresses for the envelope (sendmail -t); its first From address or
 * NULL.  Borrowed until c is freed.
 * @since 0.2
 */
size_t mw_compose_recipient_count(const mw_compose *c);
const char *mw_compose_recipient(const mw_compose *c, size_t i);
const char *mw_compose_sender(const mw_compose *c);
/** @} */

/**
 * mw_compose_write_fd - write the message to a file descriptor
 * The whole message with CRLF line endings; the header block is checked
 * before anything is written (as mw_compose_render() does).  Attachments
 * are read and encoded a buffer at a time.
 * mw_compose_open - write it once to an unlinked temporary file (in
 * $TMPDIR) and rewind: mw_compose_read() (a mw_read_fn, user = c) then
 * reads it, for mw_message_info_scan_reader() and mw_smtp_send().  Calling
 * it again rewinds.  *size (may be NULL) gets its length in bytes.
 * Returns:   MW_OK, MW_E_MESSAGE, MW_E_IO, MW_E_INVALID, MW_E_NOMEM.
 * @since 0.2
 */
mw_status mw_compose_write_fd(mw_compose *c, int fd);
/**
 * mw_compose_set_7bit - write the message 7-bit clean, for a server that
 * does not offer 8BITMIME: every part whose content is 8-bit or binary
 * (a ready-made message's included) gets the transfer encoding GMime
 * finds best, quoted-printable for mostly-ASCII text, else base64, and is
 * re-encoded as the message is written.  Header text is left as it is
 * (8-bit bytes there need SMTPUTF8).  A message written already is
 * written again by the next mw_compose_open().
 * Returns:   MW_OK, MW_E_INVALID.
 * @since 0.2
 */
mw_status mw_compose_set_7bit(mw_compose *c, bool on);

/** Writes the message once to an unlinked temporary file and rewinds it (see
 * mw_compose_write_fd() above); *size (may be NULL) gets its length.  Returns
 * MW_OK, MW_E_MESSAGE, MW_E_IO, MW_E_INVALID, MW_E_NOMEM.
 * @since 0.2
 */
mw_status mw_compose_open(mw_compose *c, uint64_t *size);

/** A mw_read_fn (user = the mw_compose) reading the file mw_compose_open()
 * wrote.  MW_OK or MW_E_IO.
 * @since 0.2
 */
mw_status mw_compose_read(void *user, char *buf, size_t len, size_t *got);

/* ------------------------------------------------------------------------
 * Settings named in library text.  Since 0.2
 *
 * Texts the library writes for people (error messages, cause fixes,
 * mw_explain() advice, doctor evidence and fixes, probe details, trace
 * warnings) never spell a program's command-line flag.  Where a text tells
 * the reader to change a setting it carries a setting token:
 *
 *   {ID}         the setting itself               "raise {greeting-timeout}"
 *   {ID=VALUE}   the setting with a value         "use {tls=implicit}"
 *
 * ID is one of the ids of mw_setting_id() (lower case letters, digits and
 * '-'); VALUE is literal text up to the closing '}', in which '\' and '}'
 * are written as "\\" and "\}" (a value taken from a setting, such as a
 * file name, is escaped).  A '{' that does not open a known setting is
 * ordinary text.  mw_render_settings() replaces every token: by default in
 * API terms ("use mw_options_set_tls_mode(implicit)"), or as the caller's
 * renderer spells it (the mailwire CLI writes "use --tls implicit").
 * The enum is append only: a value is never renumbered; MW_SETTING_COUNT
 * grows when a setting is added (a renderer must accept ids it does not
 * know, e.g. by returning -1 for the default).
 * ---------------------------------------------------------------------- */
/** A setting named by a token in library texts (see above).
 * @since 0.2 */
typedef enum mw_setting {
  MW_SETTING_SERVER = 0,      /**< server           mw_options_set_server */
  MW_SETTING_TLS,             /**< tls              mw_options_set_tls_mode */
  MW_SETTING_TLS_CA_FILE,     /**< tls-ca-file      ..._set_tls_ca_file */
  MW_SETTING_TLS_FINGERPRINT, /**< tls-fingerprint  ..._set_tls_fingerprint */
  MW_SETTING_TLS_SERVER_NAME, /**< tls-server-name  ..._set_tls_server_name */
  MW_SETTING_TLS_CERT,        /**< tls-cert         ..._set_tls_client_cert */
  MW_SETTING_TLS_KEY,         /**< tls-key          ..._set_tls_client_cert */
  MW_SETTING_TLS_MIN,         /**< tls-min          ..._set_tls_versions */
  MW_SETTING_TLS_MAX,         /**< tls-max          ..._set_tls_versions */
  MW_SETTING_TLS_STRICT,      /**< tls-strict       ..._set_tls_strict */
  MW_SETTING_INSECURE,        /**< insecure         ..._set_tls_insecure */
  MW_SETTING_BIND,            /**< bind             ..._set_bind */
  MW_SETTING_PROXY,           /**< proxy            ..._set_proxy */
  MW_SETTING_PROXY_PROTOCOL,  /**< proxy-protocol   ..._set_proxy_protocol */
  MW_SETTING_DNS_SERVER,      /**< dns-server       ..._set_dns_server */
  MW_SETTING_IPV4,            /**< ipv4             ..._set_family */
  MW_SETTING_IPV6,            /**< ipv6             ..._set_family */
  MW_SETTING_GREETING_TIMEOUT,/**< greeting-timeout ..._set_greeting_timeout */
  MW_SETTING_HELO,            /**< helo             ..._set_helo_name */
  MW_SETTING_USER,            /**< user             ..._set_credentials */
  MW_SETTING_PASSWORD,        /**< password (any source) ..._set_credentials */
  MW_SETTING_PASSWORD_ENV,    /**< password-env     (from the environment) */
  MW_SETTING_PASSWORD_FILE,   /**< password-file    (from a file) */
  MW_SETTING_PASSWORD_CMD,    /**< password-cmd     (from a command) */
  MW_SETTING_OAUTH2_TOKEN,    /**< oauth2-token     ..._set_oauth2_token */
  MW_SETTING_AUTH,            /**< auth             ..._set_auth_mechanisms */
  MW_SETTING_ALLOW_INSECURE_AUTH, /**< allow-insecure-auth */
  MW_SETTING_NO_PIPELINING,   /**< no-pipelining    ..._set_pipelining(false) */
  MW_SETTING_TRACE,           /**< trace            ..._set_trace */
  MW_SETTING_DKIM_SELECTOR,   /**< dkim-selector    ..._set_dkim_selector */
  MW_SETTING_DNSBL,           /**< dnsbl            ..._set_dnsbl_zones */
  MW_SETTING_FROM,            /**< from             mw_envelope_set_from */
  MW_SETTING_TO,              /**< to               mw_envelope_add_recipient */
  MW_SETTING_CC,              /**< cc               mw_compose_add_cc */
  MW_SETTING_BCC,             /**< bcc              mw_envelope_add_recipient */
  MW_SETTING_SUBJECT,         /**< subject          mw_compose_set_subject */
  MW_SETTING_MESSAGE,         /**< message          (a complete message) */
  MW_SETTING_TLS_CRL_FILE,    /**< tls-crl-file     ..._set_tls_crl_file
                                 (since 0.2, issue 14) */
  MW_SETTING_TLS_OCSP,        /**< tls-ocsp         ..._set_tls_ocsp */
  MW_SETTING_COUNT            /**< not a setting: the number of them */
} mw_setting;

/** @{ */
/** The token id ("tls-ca-file") and the API that sets it
 * ("mw_options_set_tls_ca_file"), static; NULL for an unknown value.
 * @since 0.2
 */
const char *mw_setting_id(mw_setting s);
const char *mw_setting_api(mw_setting s);
/** @} */

/** A caller's spelling of one token: writes it for setting s with value
 * (NULL for a bare {ID}) into out, len bytes with room for the NUL, and
 * returns its length like snprintf; a negative return asks for the
 * library's default rendering of this token. */
typedef int (*mw_setting_render_fn)(void *user, mw_setting s,
                                    const char *value, char *out, size_t len);

/** Copies text to out (len bytes, always NUL-terminated when len > 0) with
 * every setting token rendered by fn (NULL: the default, in API terms:
 * "{tls=implicit}" gives "mw_options_set_tls_mode(implicit)",
 * "{greeting-timeout}" gives "mw_options_set_greeting_timeout()", a
 * switch such as "{insecure}" gives "mw_options_set_tls_insecure(true)").
 * Returns the length of the whole rendering, as snprintf does: when it is
 * len or more, out holds a truncated copy and a buffer of the returned
 * length + 1 holds all of it.  text NULL renders as "".
 * @since 0.2
 */
size_t mw_render_settings(const char *text, mw_setting_render_fn fn,
                          void *user, char *out, size_t len);

/* ------------------------------------------------------------------------
 * Diagnosis vocabulary: stable cause ids (doctor's diagnoses) and the
 * meaning of SMTP replies.  Since 0.1
 * ---------------------------------------------------------------------- */

/** The kind of failure a cause belongs to: a program maps it to its own
 * status (the mailwire CLI to doctor's exit codes).  Append only.
 * Since 0.2 */
typedef enum mw_cause_class {
  MW_CAUSE_HEALTHY = 0,     /**< nothing wrong */
  MW_CAUSE_DNS,             /**< the name does not resolve */
  MW_CAUSE_UNREACHABLE,     /**< refused or no route */
  MW_CAUSE_FILTERED,        /**< packets dropped, port 25 blocked */
  MW_CAUSE_SERVICE,         /**< greeting, service, wrong protocol, EHLO */
  MW_CAUSE_TLS_MODE,        /**< implicit TLS vs STARTTLS vs plain */
  MW_CAUSE_TLS_HANDSHAKE,   /**< handshake or version */
  MW_CAUSE_CERTIFICATE,     /**< the server certificate */
  MW_CAUSE_AUTH,            /**< authentication */
  MW_CAUSE_REFUSED,         /**< envelope or message refused */
  MW_CAUSE_RETRY,           /**< temporary: retry later */
  MW_CAUSE_PROTOCOL,        /**< protocol error or an unknown reply */
  MW_CAUSE_PROXY,           /**< the proxy */
  MW_CAUSE_LOCAL_CONFIG     /**< this machine's configuration */
} mw_cause_class;

/** One cause of the catalogue.  All strings are static. */
typedef struct mw_cause {
  const char *id;      /**< stable: "auth_failed", "tls_mode_mismatch_..." */
  const char *summary; /**< one line: what is wrong */
  const char *fix;     /**< what to do, with setting tokens (see
                          mw_render_settings()) */
  mw_cause_class cause_class; /**< the kind of failure (since 0.2; it
                          replaces 0.1's exit_code: see CHANGES.md) */
} mw_cause;

/** The cause with this id, NULL when absent (no such id).
 * @since 0.1
 */
const mw_cause *mw_cause_find(const char *id);
/** The whole catalogue (static); *count gets its length.
 * @since 0.1
 */
const mw_cause *mw_cause_list(size_t *count);

/** What an SMTP reply means.  Strings are static or point into a buffer
 * owned by the caller's mw_explanation (valid while it lives). */
typedef struct mw_explanation {
  int code;              /**< 0 when only an enhanced code was given */
  char enhanced[16];     /**< "" when absent */
  const char *cause_id;  /**< the catalogue id it maps to */
  const char *meaning;   /**< what the server says, in plain words */
  const char *advice;    /**< what to do (with setting tokens: see
                            mw_render_settings()) */
  const char *provider;  /**< "Gmail", "Microsoft 365", ... or NULL */
  bool temporary;        /**< 4xx / x.x.x with class 4: retry later */
  /** Since 0.2: "SMTP", "IMAP" or "POP3", and the response code of a POP3
   * or IMAP response ("AUTHENTICATIONFAILED", "IN-USE"), "" when absent. */
  const char *protocol;
  char response_code[32]; /**< the POP3 or IMAP response code, "" when absent */
} mw_explanation;

/** Explains "535", "5.7.8", "535 5.7.8", or a whole reply line such as
 * "550 5.7.26 Unauthenticated email ... DMARC".  Since 0.2 also a POP3
 * or IMAP response: "-ERR [IN-USE] ...", "a1 NO [AUTHENTICATIONFAILED]
 * ...", "* BYE ...", "NO [NONEXISTENT] ..." (code is 0 then).  Returns
 * MW_OK, or MW_E_INVALID when the text holds no reply code or status.
 * @since 0.1
 */
mw_status mw_explain(const char *reply_text, mw_explanation *out);

/* ------------------------------------------------------------------------
 * Doctor: walk the troubleshooting checklist (DNS, TCP per address,
 * greeting, TLS mode, certificate, EHLO, AUTH, envelope) and name one
 * cause from the catalogue with its evidence and fix.  Since 0.1
 * ---------------------------------------------------------------------- */
/** The outcome of one doctor check.  @since 0.1 */
typedef enum mw_check_status {
  MW_CHECK_OK = 0,
  MW_CHECK_WARN,
  MW_CHECK_FAIL,
  MW_CHECK_SKIPPED
} mw_check_status;

/** Doctor's report (opaque): mw_doctor_run() ... mw_report_free().
 * @since 0.1 */
typedef struct mw_report mw_report;

/** Runs the checks against the server of o, with its TLS mode, timeouts,
 * TLS policy and (optional) credentials.  from and to (both or neither,
 * may be NULL) test the envelope: MAIL FROM and RCPT TO, then RSET; no
 * message is sent.  Then, when o names a sender domain
 * (mw_options_set_sender_domain) or from has one, its SPF, DMARC, DKIM,
 * MTA-STS and TLS-RPT records, and with mw_options_set_dnsbl_zones the
 * server's IPv4 address on those blocklists: warnings, cited in the
 * diagnosis when a server reply blamed sender authentication or a
 * blocklist.  *out is set on MW_OK (free with mw_report_free());
 * MW_E_INVALID when o has no server, MW_E_NOMEM.  Since 0.2, when the
 * options' protocol is POP3 or IMAP, the checks are those of that
 * protocol (greeting, TLS, certificate, capabilities, login, then IMAP
 * EXAMINE of the options' mailbox or POP3 STAT; nothing is changed on the
 * server), from and to must be NULL, and the deliverability checks are
 * not run.
 * @since 0.1
 */
mw_status mw_doctor_run(const mw_options *o, const char *from,
                        const char *to, mw_report **out);

/** Frees r.  NULL is a no-op.
 * @since 0.1
 */
void mw_report_free(mw_report *r);


/** The number of checks in the report.
 * @since 0.1
 */
size_t mw_report_check_count(const mw_report *r);
/** The layer of check i: "dns", "tcp", "greeting", "tls", "certificate",
 * "ehlo", "auth", "envelope", then the deliverability checks "spf",
 * "dmarc", "dkim", "mta-sts", "tls-rpt", "dnsbl"; for POP3 and IMAP
 * (since 0.2) "capabilities", "login" and "mailbox" in place of "ehlo",
 * "auth" and "envelope".  Strings borrowed until mw_report_free().
 * @since 0.1
 */
const char *mw_report_check_layer(const mw_report *r, size_t i);

/** @{ */
/** Check i: its outcome, its duration in milliseconds, and its evidence (a
 * sentence with setting tokens, borrowed until mw_report_free()).  An index
 * out of range reads as MW_CHECK_SKIPPED, 0 and "".
 * @since 0.1
 */
mw_check_status mw_report_check_status(const mw_report *r, size_t i);
double mw_report_check_ms(const mw_report *r, size_t i);
const char *mw_report_check_evidence(const mw_report *r, size_t i);
/** @} */

/** The name of a check status: "ok", "warn", "fail", "skipped" (static
 * storage).
 * @since 0.1
 */
const char *mw_check_status_name(mw_check_status st);

/** @{ */
/** The diagnosis: a catalogue cause, a summary and a fix specific to this
 * run (they may name the host, port or mode found).  Evidence, summary and
 * fix name settings as tokens: see mw_render_settings().
 * Ownership: the cause is static, the strings borrowed until
 * mw_report_free(); "" when absent.
 * @since 0.1
 */
const mw_cause *mw_report_cause(const mw_report *r);
const char *mw_report_summary(const mw_report *r);
const char *mw_report_fix(const mw_report *r);
/** @} */
/** The TLS mode the port was found to speak ("implicit", "starttls",
 * "plain"), NULL when absent (nothing answered).
 * @since 0.1
 */
const char *mw_report_detected_mode(const mw_report *r);
/** @{ */
/** Host and port checked, the TLS mode used.
 * Ownership: strings borrowed until mw_report_free(); "" when absent.
 * @since 0.1
 */
const char *mw_report_host(const mw_report *r);
unsigned mw_report_port(const mw_report *r);
const char *mw_report_tls_mode(const mw_report *r);
/** @} */
/** The protocol checked (since 0.2): the options' protocol; POP3 and IMAP
 * servers get the checks greeting, tls, certificate, capabilities, login
 * and mailbox (IMAP SELECT, POP3 STAT) after dns and tcp.
 * @since 0.2
 */
mw_protocol mw_report_protocol(const mw_report *r);

/* ------------------------------------------------------------------------
 * Probe: find the port and TLS mode that work, in parallel.  Since 0.1
 *
 * Every port of the list is tried at once in each mode (implicit TLS on
 * one connection; plaintext, then STARTTLS when offered, on another), with
 * non-blocking sockets in one poll() loop, each attempt bounded by the
 * greeting timeout: the whole probe costs about one greeting timeout, not
 * the sum of them.  No credentials are sent; EHLO and QUIT only.
 * ---------------------------------------------------------------------- */
/** A probe's findings (opaque): mw_probe_run() ... mw_probe_free().
 * @since 0.1 */
typedef struct mw_probe mw_probe;

/** Probes target with o's timeouts, TLS policy (CA file, pin, insecure,
 * versions, ciphers), bind address, family, DNS server and proxy; o's
 * server is not used.  target is a host name or address literal, a domain
 * or an e-mail address: for a name that is not an address literal, the
 * SRV records of RFC 6186 (_submissions._tcp, _submission._tcp) and the
 * MX records are looked up first, and their hosts probed too (at most 6
 * hosts).  ports: "465,587,25,2525" (the default when NULL or "").
 * *out is set on MW_OK (free with mw_probe_free()), even when nothing
 * works; MW_E_INVALID for a bad target or port list, MW_E_NOMEM.
 * @since 0.1
 */
mw_status mw_probe_run(const mw_options *o, const char *target,
                       const char *ports, mw_probe **out);

/** Frees p.  NULL is a no-op.
 * @since 0.1
 */
void mw_probe_free(mw_probe *p);
/** Parses a port list as mw_probe_run() takes it ("465,587": ports 1-65535,
 * comma-separated, duplicates dropped) into out (at most max, 16 for the
 * probe).  MW_OK or MW_E_INVALID.
 * @since 0.1
 */
mw_status mw_probe_ports_parse(const char *list, unsigned *out, size_t max,
                               size_t *count);

/** @{ */
/** Where the hosts came from: "given", "srv _submissions._tcp",
 * "srv _submission._tcp", "mx 10", ... one line per host probed.
 * Ownership: strings borrowed until mw_probe_free().
 * @since 0.1
 */
size_t mw_probe_host_count(const mw_probe *p);
const char *mw_probe_host_name(const mw_probe *p, size_t i);
const char *mw_probe_host_source(const mw_probe *p, size_t i);
/** @} */
/** DNS problems while discovering (NXDOMAIN, no address), "" when absent.
 * Ownership: borrowed until mw_probe_free().
 * @since 0.1
 */
const char *mw_probe_dns_note(const mw_probe *p);
/** True when a host's addresses could not be looked up for a reason that
 * may pass (resolver unreachable, timeout), not because the name does not
 * exist.
 * @since 0.1
 */
bool mw_probe_dns_temporary(const mw_probe *p);

/** @{ */
/** One row per host, port and mode ("implicit", "starttls", "plain").
 * Ownership: strings borrowed until mw_probe_free(); "" for an index out of
 * range.
 * @since 0.1 (mw_probe_row_count(): 0.2)
 */
size_t mw_probe_row_count(const mw_probe *p);
const char *mw_probe_row_host(const mw_probe *p, size_t i);
unsigned mw_probe_row_port(const mw_probe *p, size_t i);
const char *mw_probe_row_mode(const mw_probe *p, size_t i);
/** @} */
/** @{ */
/** "works", "silent" (connected, nothing said), "mismatch" (the port
 * speaks the other TLS mode), "no_starttls", "refused", "unreachable",
 * "timeout" (no answer to the connection: filtered), "tls_failed",
 * "rejected" (the greeting or EHLO refused us), "closed", "protocol",
 * "dns", "proxy", "wrong_protocol" (the port speaks IMAP, POP3, SSH or
 * HTTP: the detail names it; since 0.2).
 * mw_probe_row_detail(): a sentence, with setting tokens
 * mw_probe_row_address(): "ip:port"
 * Ownership: strings borrowed until mw_probe_free().
 * @since 0.1
 */
const char *mw_probe_row_outcome(const mw_probe *p, size_t i);
const char *mw_probe_row_detail(const mw_probe *p, size_t i);
const char *mw_probe_row_address(const mw_probe *p, size_t i);
/** @} */
/** TLS facts when the handshake completed, "" when absent.
 * Ownership: borrowed until mw_probe_free().
 * @since 0.1
 */
const char *mw_probe_row_tls_version(const mw_probe *p, size_t i);
/** "verified", "pinned", "insecure", "expired", "hostname", "self_signed",
 * "untrusted", "not_yet_valid", "pin_mismatch"; "" when absent (no TLS).
 * Ownership: borrowed until mw_probe_free().
 * @since 0.1
 */
const char *mw_probe_row_cert(const mw_probe *p, size_t i);
/** AUTH mechanisms offered on the last EHLO of the row (after TLS when the
 * row has TLS), space-separated, "" when absent.
 * Ownership: borrowed until mw_probe_free().
 * @since 0.1
 */
const char *mw_probe_row_auth(const mw_probe *p, size_t i);

/** Milliseconds the attempt of row i took.
 * @since 0.1
 */
double mw_probe_row_ms(const mw_probe *p, size_t i);
/** 1 for the best, 2, ... for the other secure working rows; 0 for rows
 * not recommended (plaintext is never recommended).
 * @since 0.1
 */
unsigned mw_probe_row_rank(const mw_probe *p, size_t i);
/** The best row's index, or false when no row works with TLS.
 * @since 0.1
 */
bool mw_probe_best(const mw_probe *p, size_t *index);
/** Wall-clock time of the whole probe, DNS included.
 * @since 0.1
 */
double mw_probe_total_ms(const mw_probe *p);

#define MW_PROBE_IMAP 1u /**< mw_probe_run_incoming(): IMAP */
#define MW_PROBE_POP3 2u /**< mw_probe_run_incoming(): POP3 */

/** Incoming servers (since 0.2): which IMAP and POP3 ports and TLS modes
 * work.  protocols: MW_PROBE_IMAP, MW_PROBE_POP3 or both.  For a name,
 * the SRV records of RFC 6186 (_imaps._tcp, _imap._tcp, _pop3s._tcp,
 * _pop3._tcp; a target "." says the service is not offered) give hosts
 * probed on their SRV port; then the given host (or the mailbox's domain)
 * and the usual names (imap.DOMAIN, pop.DOMAIN, mail.DOMAIN; those
 * without an address get no rows) on the protocol's ports: imap_ports
 * ("993,143" when NULL or "") and pop3_ports ("995,110").  Every port is
 * reached at once; then each reachable one is spoken to in each mode:
 * implicit TLS, plaintext (greeting, CAPABILITY or CAPA), and STARTTLS or
 * STLS when offered (the capabilities again after TLS), each bounded by
 * the greeting timeout.  No credentials are ever sent.  The rows are the
 * same as mw_probe_run()'s, with mw_probe_row_protocol() "imap" or
 * "pop3", mw_probe_row_auth() the SASL mechanisms offered (IMAP AUTH=,
 * POP3 SASL), the outcome "preauth" (an IMAP PREAUTH greeting where TLS was
 * to start: STARTTLS is impossible), and ranks per protocol.
 * Errors and ownership as mw_probe_run(): *out is set on MW_OK, even when
 * nothing works (free with mw_probe_free()); MW_E_INVALID for a bad target,
 * port list or protocols; MW_E_NOMEM.
 * @since 0.2
 */
mw_status mw_probe_run_incoming(const mw_options *o, const char *target,
                                unsigned protocols, const char *imap_ports,
                                const char *pop3_ports, mw_probe **out);
/** "smtp", "imap" or "pop3".
 * Ownership: static.
 * @since 0.2
 */
const char *mw_probe_row_protocol(const mw_probe *p, size_t i);
/** Incoming rows: the capabilities heard last (after TLS when the row has
 * TLS), space-separated ("IMAP4REV1 IDLE AUTH=PLAIN", "TOP UIDL USER
 * SASL STLS"), "" when absent.
 * Ownership: borrowed until mw_probe_free().
 * @since 0.2
 */
const char *mw_probe_row_capabilities(const mw_probe *p, size_t i);
/** The best row of one protocol ("smtp", "imap", "pop3"), or false.  An
 * incoming probe ranks each protocol on its own, so it may have two rows
 * of rank 1; mw_probe_best() gives the first of them.
 * @since 0.2
 */
bool mw_probe_best_of(const mw_probe *p, const char *protocol,
                      size_t *index);

/* ------------------------------------------------------------------------
 * Incoming mail: POP3 and IMAP clients.  Since 0.2
 *
 * Both run on the same layer stack and line engine as SMTP, with the same
 * TLS rules: the options' TLS mode (MW_TLS_AUTO: 995/993 implicit, any
 * other port STARTTLS/STLS required), certificates verified, bytes
 * injected after the server's answer to STARTTLS/STLS end the session,
 * capabilities read again after TLS, and no password over an unencrypted
 * connection unless allowed.  The options' protocol need not be set: each
 * client speaks its own protocol and uses its ports.
 *
 * Errors: the server's refusal text is mw_error_server_text(), and its
 * response code (IMAP RFC 5530 "AUTHENTICATIONFAILED", POP3 RFC 3206
 * "SYS/PERM", "IN-USE", ...) mw_error_response_code().
 * ---------------------------------------------------------------------- */

/** The response code in brackets of the server's refusal, "" when absent.
 * Ownership: borrowed with the mw_error, until the next call on its handle.
 * @since 0.2
 */
const char *mw_error_response_code(const mw_error *e);

/** Receives a message's bytes in order (CRLF line endings, as on the wire,
 * POP3 dot-unstuffed): any return but MW_OK stops the transfer. */
typedef mw_status (*mw_write_fn)(void *user, const char *data, size_t len);

/** ---- POP3 (RFC 1939, 2449 CAPA, 2595 STLS, 5034 SASL, 3206 codes) ----- */
typedef struct mw_pop3 mw_pop3;

mw_pop3 *mw_pop3_new(const mw_options *o); /**< NULL on OOM @since 0.2 */
void mw_pop3_free(mw_pop3 *p);             /**< closes without QUIT @since
                                                0.2 */

/** The last failure (never NULL; MW_OK after a success).  Borrowed until the
 * next call on p.
 * @since 0.2
 */
const mw_error *mw_pop3_error(const mw_pop3 *p);
/** Connects, reads the greeting, CAPA, STLS when the TLS mode says so, and
 * logs in when the options hold credentials: SASL (proto/sasl_driver)
 * when offered and allowed, else USER/PASS; APOP is never used.
 * USER/PASS only when the allowed mechanisms, if restricted, name PLAIN
 * or LOGIN (they reveal the password too).  Returns MW_OK, MW_E_DNS,
 * MW_E_CONNECT, MW_E_TIMEOUT, MW_E_CLOSED, MW_E_TLS, MW_E_CERT,
 * MW_E_NO_STARTTLS, MW_E_INJECTION, MW_E_INSECURE, MW_E_AUTH_UNAVAILABLE,
 * MW_E_AUTH ([AUTH] or no code), MW_E_REJECTED (a -ERR greeting; a login
 * refused with [IN-USE], [LOGIN-DELAY], [SYS/TEMP]: temporary, or
 * [SYS/PERM]), MW_E_AUTH_SERVER_UNVERIFIED, MW_E_PROTOCOL (another
 * protocol's banner: see the message), MW_E_INVALID, MW_E_STATE,
 * MW_E_NOMEM.  After a failure only mw_pop3_free() remains.
 * @since 0.2
 */
mw_status mw_pop3_connect(mw_pop3 *p);

/** @{ */
/** The capabilities heard last (CAPA, again after STLS), whether the
 * connection is encrypted, and the greeting text (borrowed until
 * mw_pop3_free()).
 * @since 0.2
 */
bool mw_pop3_has_capability(const mw_pop3 *p, const char *keyword);
bool mw_pop3_is_encrypted(const mw_pop3 *p);
const char *mw_pop3_greeting(const mw_pop3 *p);
/** @} */
/** "PLAIN", "SCRAM-SHA-256", ..., "USER" for USER/PASS; NULL when absent
 * (not logged in).
 * @since 0.2
 */
const char *mw_pop3_auth_mechanism(const mw_pop3 *p);

/** One message of mw_pop3_list(). */
typedef struct mw_pop3_message {
  unsigned number; /**< 1-based, valid for this session */
  uint64_t size;   /**< octets, as LIST says */
  char uid[71];    /**< UIDL (1-70 printable bytes), "" when absent */
} mw_pop3_message;


/** STAT: the number of messages and their total size in octets.
 * Errors: MW_OK; MW_E_REJECTED (the server's -ERR); a callback's own
 * status; MW_E_PROTOCOL; MW_E_CLOSED, MW_E_TIMEOUT (the session is over);
 * MW_E_STATE; MW_E_INVALID: detailed at mw_pop3_noop().
 * @since 0.2
 */
mw_status mw_pop3_stat(mw_pop3 *p, size_t *count, uint64_t *octets);
/** LIST and UIDL (pipelined when offered), merged by number.  *list
 * belongs to the session until the next mw_pop3_list() or free.
 * Errors: MW_OK; MW_E_REJECTED (the server's -ERR); a callback's own
 * status; MW_E_PROTOCOL; MW_E_CLOSED, MW_E_TIMEOUT (the session is over);
 * MW_E_STATE; MW_E_INVALID: detailed at mw_pop3_noop().
 * @since 0.2
 */
mw_status mw_pop3_list(mw_pop3 *p, const mw_pop3_message **list,
                       size_t *count);
/** Frees the list of the last mw_pop3_list() now, rather than at the next
 * mw_pop3_list() or mw_pop3_free(): a mailbox's list takes about 90 bytes
 * a message, so a caller that copied what it needs gives it back before
 * the transfers (the pointer mw_pop3_list() gave is invalid after).  No
 * effect without a list, or when p is NULL.
 * @since 0.2
 */
void mw_pop3_list_free(mw_pop3 *p);
/** Receives one line of UIDL: a message's number and its unique id (1-70
 * printable bytes, borrowed for the call).  Any return but MW_OK stops:
 * the rest of the response is read and dropped, and mw_pop3_uidl()
 * returns that status. */
typedef mw_status (*mw_pop3_uidl_fn)(void *user, unsigned number,
                                     const char *uid);
/** UIDL alone, each line handed to fn as it arrives: no list is kept, so a
 * mailbox of any size costs no memory here (mw_pop3_list() keeps about 90
 * bytes a message).  Numbers come as the server sends them; a message the
 * server leaves out of UIDL is not seen (compare with mw_pop3_stat()'s
 * count).
 * Errors: MW_OK; MW_E_REJECTED (the server's -ERR, or UIDL not in its CAPA,
 * then nothing is sent: it gives no unique ids);
 * fn's own status; MW_E_PROTOCOL (a malformed line); MW_E_CLOSED,
 * MW_E_TIMEOUT (the session is over); MW_E_STATE; MW_E_INVALID (p or fn
 * NULL): detailed at mw_pop3_noop().
 * @since 0.2
 */
mw_status mw_pop3_uidl(mw_pop3 *p, mw_pop3_uidl_fn fn, void *user);
/** RETR: the whole message, streamed to write.
 * Errors: MW_OK; MW_E_REJECTED (the server's -ERR); a callback's own
 * status; MW_E_PROTOCOL; MW_E_CLOSED, MW_E_TIMEOUT (the session is over);
 * MW_E_STATE; MW_E_INVALID: detailed at mw_pop3_noop().
 * @since 0.2
 */
mw_status mw_pop3_retrieve(mw_pop3 *p, unsigned number, mw_write_fn write,
                           void *user);
/** Receives each message of a batch: index into the caller's array, then
 * its bytes in chunks; last is true on the message's final call (len may
 * be 0 then).  Any return but MW_OK stops the batch. */
typedef mw_status (*mw_message_fn)(void *user, size_t index,
                                   const char *data, size_t len, bool last);
/** RETR of numbers[0..count), several in flight when the server offers
 * PIPELINING (RFC 2449), in order.
 * Errors: MW_OK; MW_E_REJECTED (the server's -ERR); a callback's own
 * status; MW_E_PROTOCOL; MW_E_CLOSED, MW_E_TIMEOUT (the session is over);
 * MW_E_STATE; MW_E_INVALID: detailed at mw_pop3_noop().
 * @since 0.2
 */
mw_status mw_pop3_retrieve_many(mw_pop3 *p, const unsigned *numbers,
                                size_t count, mw_message_fn fn, void *user);
/** TOP: the header and the first lines of the body.
 * Errors: MW_OK; MW_E_REJECTED (the server's -ERR); a callback's own
 * status; MW_E_PROTOCOL; MW_E_CLOSED, MW_E_TIMEOUT (the session is over);
 * MW_E_STATE; MW_E_INVALID: detailed at mw_pop3_noop().
 * @since 0.2
 */
mw_status mw_pop3_top(mw_pop3 *p, unsigned number, unsigned lines,
                      mw_write_fn write, void *user);

/** DELE: marks message number for deletion when the session ends with
 * mw_pop3_quit().
 * Errors: MW_OK; MW_E_REJECTED (the server's -ERR); a callback's own
 * status; MW_E_PROTOCOL; MW_E_CLOSED, MW_E_TIMEOUT (the session is over);
 * MW_E_STATE; MW_E_INVALID: detailed at mw_pop3_noop().
 * @since 0.2
 */
mw_status mw_pop3_delete(mw_pop3 *p, unsigned number);

/** RSET: unmarks every message marked for deletion.
 * Errors: MW_OK; MW_E_REJECTED (the server's -ERR); a callback's own
 * status; MW_E_PROTOCOL; MW_E_CLOSED, MW_E_TIMEOUT (the session is over);
 * MW_E_STATE; MW_E_INVALID: detailed at mw_pop3_noop().
 * @since 0.2
 */
mw_status mw_pop3_reset(mw_pop3 *p);

/** NOOP: keeps the session alive.
 * Each POP3 command (mw_pop3_stat() to mw_pop3_noop()) returns MW_OK;
 * MW_E_REJECTED for the server's -ERR (the session stays usable; a batch
 * sends no more RETRs, delivers what was in flight, and the caller's last
 * calls say which messages were complete); the callback's own status when
 * it stopped a transfer (the rest is read and dropped, the session stays
 * usable); MW_E_PROTOCOL for a malformed response (a line of message data
 * over 65536 octets ends the session); MW_E_CLOSED and MW_E_TIMEOUT (the
 * session is over: a whole RETR or TOP must end within the command timeout,
 * by default 10 minutes); MW_E_STATE when not connected; MW_E_INVALID
 * (message number 0, NULL callback).
 * @since 0.2
 */
mw_status mw_pop3_noop(mw_pop3 *p);
/** QUIT: the deletions take effect only when this returns MW_OK.  The
 * connection is closed whatever the result: MW_E_REJECTED for -ERR to
 * QUIT, MW_E_CLOSED or MW_E_TIMEOUT when no answer came (whether the
 * deletions took effect is unknown), MW_E_STATE when the session was not
 * connected (nothing was committed).
 * @since 0.2
 */
mw_status mw_pop3_quit(mw_pop3 *p);

/** ---- IMAP (RFC 3501 IMAP4rev1, RFC 9051 IMAP4rev2) --------------------- */
typedef struct mw_imap mw_imap;

mw_imap *mw_imap_new(const mw_options *o); /**< NULL on OOM @since 0.2 */
void mw_imap_free(mw_imap *m);             /**< closes without LOGOUT @since
                                                0.2 */

/** The last failure (never NULL; MW_OK after a success).  Borrowed until the
 * next call on m.
 * @since 0.2
 */
const mw_error *mw_imap_error(const mw_imap *m);
/** Connects, reads the greeting (a PREAUTH greeting where TLS is required
 * ends the session), CAPABILITY, STARTTLS, then LOGIN or AUTHENTICATE
 * (SASL-IR when offered) when the options hold credentials, and
 * CAPABILITY again when the server did not send it.
 * Errors: MW_OK, MW_E_DNS, MW_E_CONNECT, MW_E_TIMEOUT, MW_E_CLOSED,
 * MW_E_TLS, MW_E_CERT, MW_E_NO_STARTTLS, MW_E_INJECTION, MW_E_INSECURE,
 * MW_E_AUTH_UNAVAILABLE, MW_E_AUTH, MW_E_AUTH_SERVER_UNVERIFIED,
 * MW_E_REJECTED, MW_E_PROTOCOL, MW_E_INVALID, MW_E_STATE, MW_E_NOMEM (as
 * mw_pop3_connect()).
 * @since 0.2
 */
mw_status mw_imap_connect(mw_imap *m);

/** @{ */
/** The capabilities heard last (again after STARTTLS and login), whether the
 * connection is encrypted, and the greeting text (borrowed until
 * mw_imap_free()).
 * @since 0.2
 */
bool mw_imap_has_capability(const mw_imap *m, const char *capability);
bool mw_imap_is_encrypted(const mw_imap *m);
const char *mw_imap_greeting(const mw_imap *m);
/** @} */
/** "LOGIN" (the LOGIN command), a SASL mechanism ("PLAIN", ...), or
 * "PREAUTH" when the greeting said the session is already authenticated;
 * NULL when not logged in.
 * @since 0.2
 */
const char *mw_imap_auth_mechanism(const mw_imap *m);
/** The text of the last [ALERT] the server sent (shown to the user, RFC
 * 3501 7.1), "" when absent.
 * Ownership: borrowed until the next call on m.
 * @since 0.2
 */
const char *mw_imap_alert(const mw_imap *m);

/** A mailbox's counts, as SELECT, EXAMINE or STATUS report them (0 for
 * what the server did not say). */
typedef struct mw_imap_status {
  uint32_t messages;    /**< EXISTS / MESSAGES */
  uint32_t recent;      /**< RECENT */
  uint32_t unseen;      /**< UNSEEN */
  uint32_t uidnext;     /**< UIDNEXT */
  uint32_t uidvalidity; /**< UIDVALIDITY */
  uint64_t size; /**< STATUS SIZE (RFC 8438) when offered, else 0 */
} mw_imap_status;

/** SELECT (read_only: EXAMINE) a mailbox (UTF-8 name; encoded as the
 * server needs); st may be NULL.
 * Errors: MW_OK; MW_E_REJECTED (the server's NO or BAD:
 * mw_error_server_text(), mw_error_response_code()); a callback's own
 * status when it stopped the command; MW_E_PROTOCOL, MW_E_CLOSED,
 * MW_E_TIMEOUT, MW_E_TLS; MW_E_STATE (not connected, or no mailbox selected
 * where one is needed); MW_E_INVALID (a bad argument); MW_E_IO (a reader's
 * failure); MW_E_NOMEM.
 * @since 0.2
 */
mw_status mw_imap_select(mw_imap *m, const char *mailbox, bool read_only,
                         mw_imap_status *st);

/** STATUS of mailbox without selecting it: st receives its counts.
 * Errors: MW_OK; MW_E_REJECTED (the server's NO or BAD:
 * mw_error_server_text(), mw_error_response_code()); a callback's own
 * status when it stopped the command; MW_E_PROTOCOL, MW_E_CLOSED,
 * MW_E_TIMEOUT, MW_E_TLS; MW_E_STATE (not connected, or no mailbox selected
 * where one is needed); MW_E_INVALID (a bad argument); MW_E_IO (a reader's
 * failure); MW_E_NOMEM.
 * @since 0.2
 */
mw_status mw_imap_status_of(mw_imap *m, const char *mailbox,
                            mw_imap_status *st);
/** The callback of mw_imap_list(): one mailbox.  @since 0.2 */
typedef mw_status (*mw_imap_list_fn)(void *user, const char *name,
                                     char delimiter, const char *flags);

/** LIST: fn is called for each mailbox (UTF-8 name, hierarchy delimiter or
 * 0, flags like "\\HasNoChildren \\Sent").
 * Errors: MW_OK; MW_E_REJECTED (the server's NO or BAD:
 * mw_error_server_text(), mw_error_response_code()); a callback's own
 * status when it stopped the command; MW_E_PROTOCOL, MW_E_CLOSED,
 * MW_E_TIMEOUT, MW_E_TLS; MW_E_STATE (not connected, or no mailbox selected
 * where one is needed); MW_E_INVALID (a bad argument); MW_E_IO (a reader's
 * failure); MW_E_NOMEM.
 * @since 0.2
 */
mw_status mw_imap_list(mw_imap *m, const char *reference,
                       const char *pattern, mw_imap_list_fn fn, void *user);
/** UID SEARCH in the selected mailbox; criteria are IMAP search keys
 * ("ALL", "UNSEEN", "SINCE 1-Feb-2026", "UID 100:*").  *uids belongs to
 * the session until the next search or free; ascending.
 * Errors: MW_OK; MW_E_REJECTED (the server's NO or BAD:
 * mw_error_server_text(), mw_error_response_code()); a callback's own
 * status when it stopped the command; MW_E_PROTOCOL, MW_E_CLOSED,
 * MW_E_TIMEOUT, MW_E_TLS; MW_E_STATE (not connected, or no mailbox selected
 * where one is needed); MW_E_INVALID (a bad argument); MW_E_IO (a reader's
 * failure); MW_E_NOMEM.
 * @since 0.2
 */
mw_status mw_imap_search(mw_imap *m, const char *criteria,
                         const uint32_t **uids, size_t *count);
/** Receives each message of a fetch: its UID (always known at the first
 * call), then its bytes in chunks; last on the final call. */
typedef mw_status (*mw_imap_message_fn)(void *user, uint32_t uid,
                                        const char *data, size_t len,
                                        bool last);
/** UID FETCH BODY.PEEK[] of uids, pipelined, literals streamed (constant
 * memory); messages come in the server's order.  A UID that no longer
 * exists is skipped.
 * Errors: MW_OK; MW_E_REJECTED (the server's NO or BAD:
 * mw_error_server_text(), mw_error_response_code()); a callback's own
 * status when it stopped the command; MW_E_PROTOCOL, MW_E_CLOSED,
 * MW_E_TIMEOUT, MW_E_TLS; MW_E_STATE (not connected, or no mailbox selected
 * where one is needed); MW_E_INVALID (a bad argument); MW_E_IO (a reader's
 * failure); MW_E_NOMEM.
 * @since 0.2
 */
mw_status mw_imap_fetch(mw_imap *m, const uint32_t *uids, size_t count,
                        mw_imap_message_fn fn, void *user);

/** One message of mw_imap_fetch_summary(); strings borrowed for the
 * callback's duration. */
typedef struct mw_imap_summary {
  uint32_t uid;        /**< its UID */
  uint64_t size;       /**< RFC822.SIZE */
  const char *flags;   /**< "\\Seen \\Flagged" */
  const char *date;    /**< the envelope's Date, "" when absent */
  const char *from;    /**< "Name <addr>" of the first From, "" when absent */
  const char *subject; /**< decoded as sent (RFC 2047 left as is), ""
                            when absent */
} mw_imap_summary;
/** The callback of mw_imap_fetch_summary(): one message.  @since 0.2 */
typedef mw_status (*mw_imap_summary_fn)(void *user,
                                        const mw_imap_summary *s);
/** UID FETCH (UID FLAGS RFC822.SIZE ENVELOPE) of uids.
 * Errors: MW_OK; MW_E_REJECTED (the server's NO or BAD:
 * mw_error_server_text(), mw_error_response_code()); a callback's own
 * status when it stopped the command; MW_E_PROTOCOL, MW_E_CLOSED,
 * MW_E_TIMEOUT, MW_E_TLS; MW_E_STATE (not connected, or no mailbox selected
 * where one is needed); MW_E_INVALID (a bad argument); MW_E_IO (a reader's
 * failure); MW_E_NOMEM.
 * @since 0.2
 */
mw_status mw_imap_fetch_summary(mw_imap *m, const uint32_t *uids,
                                size_t count, mw_imap_summary_fn fn,
                                void *user);
/** UID STORE: how > 0 adds the flags ("\\Seen \\Deleted"), < 0 removes
 * them, 0 replaces them.
 * Errors: MW_OK; MW_E_REJECTED (the server's NO or BAD:
 * mw_error_server_text(), mw_error_response_code()); a callback's own
 * status when it stopped the command; MW_E_PROTOCOL, MW_E_CLOSED,
 * MW_E_TIMEOUT, MW_E_TLS; MW_E_STATE (not connected, or no mailbox selected
 * where one is needed); MW_E_INVALID (a bad argument); MW_E_IO (a reader's
 * failure); MW_E_NOMEM.
 * @since 0.2
 */
mw_status mw_imap_store_flags(mw_imap *m, const uint32_t *uids,
                              size_t count, const char *flags, int how);
/** Removes the messages marked \\Deleted among uids: UID EXPUNGE when the
 * server offers UIDPLUS (RFC 4315) or IMAP4rev2, else EXPUNGE (which
 * also removes any other message marked \\Deleted).
 * Errors: MW_OK; MW_E_REJECTED (the server's NO or BAD:
 * mw_error_server_text(), mw_error_response_code()); a callback's own
 * status when it stopped the command; MW_E_PROTOCOL, MW_E_CLOSED,
 * MW_E_TIMEOUT, MW_E_TLS; MW_E_STATE (not connected, or no mailbox selected
 * where one is needed); MW_E_INVALID (a bad argument); MW_E_IO (a reader's
 * failure); MW_E_NOMEM.
 * @since 0.2
 */
mw_status mw_imap_expunge(mw_imap *m, const uint32_t *uids, size_t count);
/** APPEND size octets read through read to mailbox, with flags (or NULL):
 * LITERAL+ / LITERAL- when offered, else a synchronising literal.  *uid
 * (may be NULL) gets the APPENDUID (RFC 4315) when the server says, else
 * 0.
 * Errors: MW_OK; MW_E_REJECTED (the server's NO or BAD:
 * mw_error_server_text(), mw_error_response_code()); a callback's own
 * status when it stopped the command; MW_E_PROTOCOL, MW_E_CLOSED,
 * MW_E_TIMEOUT, MW_E_TLS; MW_E_STATE (not connected, or no mailbox selected
 * where one is needed); MW_E_INVALID (a bad argument); MW_E_IO (a reader's
 * failure); MW_E_NOMEM.
 * @since 0.2
 */
mw_status mw_imap_append(mw_imap *m, const char *mailbox, const char *flags,
                         uint64_t size, mw_read_fn read, void *user,
                         uint32_t *uid);
/** IDLE (RFC 2177) on the selected mailbox until the server reports a
 * change (EXISTS, EXPUNGE, FETCH) or timeout_ms passes, then DONE.
 * *changed tells which.  MW_E_STATE when IDLE is not offered.
 * @since 0.2
 */
mw_status mw_imap_idle(mw_imap *m, unsigned timeout_ms, bool *changed);
/** NOOP: *changed when the server reported a change (polling).
 * Errors: MW_OK; MW_E_REJECTED (the server's NO or BAD:
 * mw_error_server_text(), mw_error_response_code()); a callback's own
 * status when it stopped the command; MW_E_PROTOCOL, MW_E_CLOSED,
 * MW_E_TIMEOUT, MW_E_TLS; MW_E_STATE (not connected, or no mailbox selected
 * where one is needed); MW_E_INVALID (a bad argument); MW_E_IO (a reader's
 * failure); MW_E_NOMEM.
 * @since 0.2
 */
mw_status mw_imap_noop(mw_imap *m, bool *changed);

/** LOGOUT and close.  The connection is closed whatever the result.
 * Errors: MW_OK; MW_E_REJECTED (the server's NO or BAD:
 * mw_error_server_text(), mw_error_response_code()); a callback's own
 * status when it stopped the command; MW_E_PROTOCOL, MW_E_CLOSED,
 * MW_E_TIMEOUT, MW_E_TLS; MW_E_STATE (not connected, or no mailbox selected
 * where one is needed); MW_E_INVALID (a bad argument); MW_E_IO (a reader's
 * failure); MW_E_NOMEM.
 * @since 0.2
 */
mw_status mw_imap_logout(mw_imap *m);

/* ------------------------------------------------------------------------
 * Incoming mail: the local store.  Since 0.2
 *
 * Where `mailwire fetch` (or a library user) puts the messages it
 * downloads: a Maildir, an mbox (mboxrd quoting), or a command run once
 * per message (an MDA).  Delivery is streamed: mw_store_begin(), then
 * mw_store_write() any number of times with the message as the server
 * sent it (CRLF line ends; the store writes LF, converting across chunk
 * boundaries in constant memory), then mw_store_commit(), which returns
 * only when the message is durable, or mw_store_abort().
 *
 * The key given to mw_store_begin() is a stable identity of the source
 * message chosen by the caller ("imap:ACCOUNT:UIDVALIDITY:UID",
 * "pop3:ACCOUNT:UIDL").  A Maildir remembers every key it holds, so a
 * message stored again is recognised (mw_store_commit() reports it as
 * already present, not as an error); an mbox remembers the key of its
 * last message; an MDA remembers nothing (at least once).  SECURITY.md,
 * "Fetch: nothing lost, nothing duplicated", states the guarantees.
 *
 * Errors: every function returns an mw_status and records the detail
 * (naming the file or the command and the system error) in the handle's
 * mw_error.  One handle is used by one thread at a time.
 * ---------------------------------------------------------------------- */
/** A local store (opaque): mw_store_open() ... mw_store_free().
 * @since 0.2 */
typedef struct mw_store mw_store;

/** What a store writes to.  @since 0.2 */
typedef enum mw_store_kind {
  MW_STORE_MAILDIR = 1, /**< target: a Maildir directory (created if missing) */
  MW_STORE_MBOX = 2,    /**< target: an mbox file (created if missing) */
  MW_STORE_MDA = 3      /**< target: a command run with /bin/sh -c */
} mw_store_kind;

/** Opens a store.  *out receives a handle even when the open fails (its
 * mw_store_error() says why; free it with mw_store_free()), and NULL
 * only on MW_E_NOMEM.  A Maildir gets tmp/, new/ and cur/ (mode 0700)
 * when missing, and its new/ and cur/ are scanned once for the keys they
 * hold; an mbox is locked (fcntl) until mw_store_free(), and a delivery
 * cut short by a crash is truncated away.
 * Returns MW_OK, MW_E_INVALID (no target, unknown kind, an mbox that is
 * not a regular file), MW_E_IO,
 * MW_E_STATE (the mbox is locked by another process), MW_E_NOMEM.
 * @since 0.2
 */
mw_status mw_store_open(mw_store_kind kind, const char *target,
                        mw_store **out);
/** Aborts a delivery in progress and releases everything.  NULL is a no-op.
 * @since 0.2
 */
void mw_store_free(mw_store *s);
/** The last failure (never NULL; MW_OK after a success).  Borrowed until the
 * next call on s.
 * @since 0.2
 */
const mw_error *mw_store_error(const mw_store *s);

/** True when a message with this key is known to be in the store already
 * (Maildir: any message; mbox: the last one; MDA: never).
 * @since 0.2
 */
bool mw_store_contains(const mw_store *s, const char *key);

/** Starts a message.  key: 1 to 512 bytes without control characters.
 * sender: the envelope sender for the mbox "From " line (NULL or unusable:
 * MAILER-DAEMON); ignored by the other kinds.
 * Returns MW_OK, MW_E_INVALID, MW_E_STATE (a message is already open),
 * MW_E_IO, MW_E_NOMEM.
 * @since 0.2
 */
mw_status mw_store_begin(mw_store *s, const char *key, const char *sender);
/** Appends len bytes of the message (CRLF or LF line ends).  Returns MW_OK,
 * MW_E_STATE (no message open), MW_E_IO.
 * @since 0.2
 */
mw_status mw_store_write(mw_store *s, const void *data, size_t len);
/** Ends the message and returns only when it is durable (Maildir: file
 * fsync'ed, renamed into new/, new/ fsync'ed; mbox: appended and
 * fsync'ed; MDA: the command exited 0).  *already_present (may be NULL)
 * is set to true when the key was in the store already and nothing was
 * written.  On failure nothing of the message stays in the store (an MDA
 * may have acted on it).  Returns MW_OK, MW_E_STATE, MW_E_IO (a file
 * operation or the command failed: the message names it and the exit
 * status or signal), MW_E_TIMEOUT (the command ran too long and was
 * killed), MW_E_NOMEM.
 * @since 0.2
 */
mw_status mw_store_commit(mw_store *s, bool *already_present);
/** Drops the message in progress: nothing of it stays.  MW_OK or
 * MW_E_STATE (no message open).
 * @since 0.2
 */
mw_status mw_store_abort(mw_store *s);
/** MDA only: the exit status of the last command that ran (0..255), or -1
 * when none ran or it was killed by a signal (or the time limit).  A
 * caller can keep a message on the server after 75 (EX_TEMPFAIL), as
 * fetchmail does.
 * @since 0.2
 */
int mw_store_mda_exit_status(const mw_store *s);
/** MDA only: the longest a command may run (default 300000 ms; 0: no
 * limit).  MW_E_INVALID for another kind.
 * @since 0.2
 */
mw_status mw_store_set_mda_timeout(mw_store *s, unsigned ms);
/** Batch durability.  With on = true, a Maildir's
 * mw_store_commit() writes the message to tmp/ and returns MW_OK without
 * waiting for the disk: the message is "pending" (mw_store_contains()
 * knows its key; a commit of the same key again reports it already
 * present) and is durable, in new/, only when mw_store_sync() returns
 * MW_OK.  A caller records messages as fetched (and deletes them on the
 * server) only after that sync: the guarantee per message is the same as
 * without a batch, at a few disk flushes per batch instead of three per
 * message.  A crash before the sync leaves at most whole files in tmp/,
 * never one in new/.  Maildir only: an mbox or MDA has no batch mode
 * (MW_E_INVALID; each of its commits is durable at once, and its
 * exactly-once / at-least-once guarantees assume each message is
 * recorded before the next is committed).  Turning the mode off syncs
 * first.  MW_OK, MW_E_INVALID, MW_E_STATE (a message is open, or the
 * store did not open), and what mw_store_sync() returns when turning
 * off.
 * @since 0.2
 */
mw_status mw_store_set_batch(mw_store *s, bool on);
/** Whether the store also remembers the keys of the messages committed
 * through this handle (default true).  A caller that records every message
 * it stores itself, as `mailwire fetch` does in its fetch state, turns
 * this off: a Maildir then keeps no key in memory per new message (16 to
 * 32 bytes each), and mw_store_contains() and a commit's duplicate check
 * know the messages that were in the store when it was opened and those
 * pending in a batch, but not those committed (or synced) since.  Storing
 * one key twice through the handle is then the caller's to prevent; a new
 * handle knows every message again.  No effect on an mbox (it remembers
 * its last message's key) or an MDA (nothing).  MW_OK, MW_E_INVALID (s
 * NULL).
 * @since 0.2
 */
mw_status mw_store_set_remember_new(mw_store *s, bool on);
/** Makes every message committed since the last sync durable (Maildir:
 * each file's data on disk, by syncfs(2) of the Maildir's filesystem when
 * it is a local one (ext4, XFS, Btrfs, F2FS, tmpfs) on Linux 5.8 or later,
 * otherwise by an fsync of each file; then each renamed into new/; then
 * new/ fsync'ed).  On failure none of the pending messages stays in the
 * store (their files are removed) and the caller fetches them again.
 * mw_store_free() drops pending messages the same way.  Returns MW_OK
 * (also with nothing pending, and always for an mbox or MDA), MW_E_STATE
 * (a message is open), MW_E_IO, MW_E_INVALID.
 * @since 0.2
 */
mw_status mw_store_sync(mw_store *s);

/* ------------------------------------------------------------------------
 * Incoming mail: fetch state.  Since 0.2
 *
 * What has been fetched from one account and mailbox, kept in a file in a
 * directory the caller chooses (one file per account and mailbox, named
 * by a hash of both).  IMAP: the UIDVALIDITY and the set of UIDs (kept as
 * ranges); POP3: the set of UIDLs.  mw_fetch_state_add() is durable when
 * it returns (an append to the file, fsync'ed); the file is rewritten
 * compactly (temporary file, fsync, rename, directory fsync) when it grows
 * and by mw_fetch_state_close().  A last line cut short by a crash is
 * ignored; any other damage is an error naming the file and the line.
 * The file is locked (fcntl) while open.
 * ---------------------------------------------------------------------- */
/** The fetch state of one account and mailbox (opaque):
 * mw_fetch_state_open() ... mw_fetch_state_free().  @since 0.2 */
typedef struct mw_fetch_state mw_fetch_state;

/** Which ids a fetch state records.  @since 0.2 */
typedef enum mw_fetch_state_kind {
  MW_FETCH_STATE_IMAP = 1, /**< ids are UIDs: decimal 1..4294967295 */
  MW_FETCH_STATE_POP3 = 2  /**< ids are UIDLs: 1..70 bytes 0x21..0x7E */
} mw_fetch_state_kind;

/** Opens (creating dir, mode 0700, and the file when missing) the state of
 * account (e.g. "user@host:port") and mailbox ("INBOX"; POP3: "").  *out
 * receives a handle even on failure (free it with mw_fetch_state_free()),
 * NULL only on MW_E_NOMEM.  Returns MW_OK, MW_E_INVALID, MW_E_IO (the
 * file cannot be read or written, or is damaged: the message names the
 * file and line), MW_E_STATE (another process has it open), MW_E_NOMEM.
 * @since 0.2
 */
mw_status mw_fetch_state_open(const char *dir, const char *account,
                              const char *mailbox, mw_fetch_state_kind kind,
                              mw_fetch_state **out);
/** Compacts the file (as mw_fetch_state_close()) and frees.  NULL is a
 * no-op; failures are not reported (call mw_fetch_state_close() first to
 * see them).
 * @since 0.2
 */
void mw_fetch_state_free(mw_fetch_state *st);
/** Rewrites the file compactly and durably.  MW_OK or MW_E_IO.
 * @since 0.2
 */
mw_status mw_fetch_state_close(mw_fetch_state *st);

/** The last failure (never NULL; MW_OK after a success).  Borrowed until the
 * next call on st.
 * @since 0.2
 */
const mw_error *mw_fetch_state_error(const mw_fetch_state *st);
/** The state file's path.  Borrowed until mw_fetch_state_free().
 * @since 0.2
 */
const char *mw_fetch_state_path(const mw_fetch_state *st);

/** IMAP: the UIDVALIDITY on record (false when none yet).
 * @since 0.2
 */
bool mw_fetch_state_uidvalidity(const mw_fetch_state *st, uint32_t *out);
/** IMAP: records the mailbox's UIDVALIDITY; when it differs from the one on
 * record, every UID is forgotten (*reset, may be NULL, says so).  Durable
 * on return.  MW_OK, MW_E_INVALID (0, or a POP3 state), MW_E_IO.
 * @since 0.2
 */
mw_status mw_fetch_state_set_uidvalidity(mw_fetch_state *st, uint32_t v,
                                         bool *reset);

/** @{ */
/** Whether id (a UID in decimal, or a UIDL) is recorded as fetched.
 * @since 0.2
 */
bool mw_fetch_state_contains(const mw_fetch_state *st, const char *id);
bool mw_fetch_state_contains_uid(const mw_fetch_state *st, uint32_t uid);
/** @} */
/** @{ */
/** Records id as fetched, durably.  MW_OK (also when already recorded),
 * MW_E_INVALID (not a valid id for the kind), MW_E_STATE (IMAP without a
 * UIDVALIDITY), MW_E_IO, MW_E_NOMEM.
 * @since 0.2
 */
mw_status mw_fetch_state_add(mw_fetch_state *st, const char *id);
mw_status mw_fetch_state_add_uid(mw_fetch_state *st, uint32_t uid);
/** @} */
/** @{ */
/** Records n ids (UIDs in decimal, or UIDLs) / n UIDs as fetched with one
 * append and one fdatasync: all of them are durable when it returns
 * MW_OK.  Every id is checked first: an invalid one is MW_E_INVALID and
 * nothing is written.  Ids recorded already (or given twice) are
 * accepted and written once at most.  After a failure some of them may
 * be on disk (a crash can also leave a prefix of them): call it only for
 * messages that are durable in the store (after mw_store_sync()).
 * Returns MW_OK, MW_E_INVALID, MW_E_STATE (IMAP without a
 * UIDVALIDITY), MW_E_IO, MW_E_NOMEM.
 * @since 0.2
 */
mw_status mw_fetch_state_add_many(mw_fetch_state *st,
                                  const char *const *ids, size_t n);
mw_status mw_fetch_state_add_uids(mw_fetch_state *st, const uint32_t *uids,
                                  size_t n);
/** @} */
/** POP3: forgets every UIDL not in present[0..n) (the server's current
 * UIDL list), durably.  *removed (may be NULL) gets how many went.
 * MW_OK, MW_E_INVALID (an IMAP state), MW_E_IO, MW_E_NOMEM.
 * @since 0.2
 */
mw_status mw_fetch_state_prune(mw_fetch_state *st,
                               const char *const *present, size_t n,
                               size_t *removed);
/** How many ids are recorded (IMAP: UIDs, counting each in a range).
 * @since 0.2
 */
uint64_t mw_fetch_state_count(const mw_fetch_state *st);

/* ------------------------------------------------------------------------
 * Line sessions (issue 15).  Since 0.2
 *
 * A raw connection to an SMTP, POP3 or IMAP server for a program that
 * speaks the protocol itself (`mailwire shell`): opened exactly as the
 * clients open theirs (the options' server, protocol, TLS mode, TLS
 * policy and certificates, bind address, proxy, PROXY header and
 * timeouts), lines sent as given with CRLF, lines and literals read with
 * deadlines, STARTTLS in place and one SASL exchange over the clients'
 * SASL driver.  The library does not interpret replies: the caller
 * decides when a reply is over.  What it never skips: the injection check
 * before a STARTTLS handshake, certificate verification as the options
 * say, credentials over plaintext through mw_conn_authenticate() only
 * when the options allow, and secrets out of the trace (the options'
 * password and token, the secret part of a line sent, SASL payloads: in
 * the client's lines and in an echo of them by the server).
 *
 * Errors: every function returns an mw_status and leaves the detail in
 * mw_conn_error() (borrowed until the next call on the handle).  A read
 * that times out (MW_E_TIMEOUT) leaves the connection usable; any other
 * failure of a read, a write or a handshake closes it
 * (mw_conn_is_open() then says false).  One handle is used by one thread
 * at a time.
 * ---------------------------------------------------------------------- */
/** A line session (opaque): mw_conn_new() ... mw_conn_free().
 * @since 0.2 */
typedef struct mw_conn mw_conn;

/** Copies o (protocol, server, TLS, proxy, timeouts, credentials, trace).
 * NULL on OOM or when o is NULL.  Free with mw_conn_free().
 * @since 0.2
 */
mw_conn *mw_conn_new(const mw_options *o);
/** Closes (a TLS close_notify, no protocol goodbye) and frees.  NULL is a
 * no-op.
 * @since 0.2
 */
void mw_conn_free(mw_conn *c);
/** Never NULL for a handle; MW_OK after a success.
 * @since 0.2
 */
const mw_error *mw_conn_error(const mw_conn *c);
/** Connects (and with MW_TLS_IMPLICIT, or MW_TLS_AUTO on the protocol's
 * implicit port, handshakes and verifies TLS).  Reads nothing: the
 * greeting is the caller's to read.  MW_E_INVALID (no server, tls=detect),
 * MW_E_STATE (already open or failed), MW_E_DNS, MW_E_CONNECT,
 * MW_E_PROXY, MW_E_TIMEOUT, MW_E_TLS, MW_E_CERT, MW_E_NOMEM.
 * @since 0.2
 */
mw_status mw_conn_open(mw_conn *c);

/** @{ */
/** Whether the connection is open, and the protocol it speaks (the options').
 * @since 0.2
 */
bool mw_conn_is_open(const mw_conn *c);
mw_protocol mw_conn_protocol(const mw_conn *c);
/** @} */
/** Sends line (without CRLF; CR or LF inside is MW_E_INVALID) and CRLF,
 * waiting until written (the command timeout).  secret_from >= 0: from
 * that offset the line is a secret, traced as <redacted> and cut out of
 * every server line from now on; -1: none.  MW_E_STATE (closed),
 * MW_E_INVALID, MW_E_TIMEOUT, MW_E_CLOSED, MW_E_TLS, MW_E_NOMEM.
 * @since 0.2
 */
mw_status mw_conn_send_line(mw_conn *c, const char *line, int secret_from);
/** Sends len raw bytes (a literal, message data), not traced.  Statuses as
 * mw_conn_send_line().
 * (MW_OK, MW_E_STATE, MW_E_INVALID, MW_E_TIMEOUT, MW_E_CLOSED, MW_E_TLS,
 * MW_E_NOMEM.)
 * @since 0.2
 */
mw_status mw_conn_send_data(mw_conn *c, const void *data, size_t len);
/** Reads one line within timeout_ms (0: only one already there).  *line
 * (without its line ending, the session's secrets cut out) is borrowed
 * until the next call on c.  MW_E_TIMEOUT (nothing whole came; the
 * connection stays usable), MW_E_CLOSED, MW_E_PROTOCOL (a line over
 * 64 KiB), MW_E_TLS, MW_E_STATE, MW_E_NOMEM.
 * @since 0.2
 */
mw_status mw_conn_read_line(mw_conn *c, unsigned timeout_ms,
                            const char **line, size_t *len);
/** Reads the next size bytes (an IMAP literal announced by {size}) within
 * timeout_ms, handing them to fn in chunks as they come.  A timeout here
 * closes the connection (the rest could not be told from lines), and so
 * does a failure of fn, whose status is returned.  Otherwise as
 * mw_conn_read_line().
 * (MW_OK, MW_E_TIMEOUT, MW_E_CLOSED, MW_E_PROTOCOL, MW_E_TLS, MW_E_STATE,
 * MW_E_NOMEM, or fn's status.)
 * @since 0.2
 */
mw_status mw_conn_read_literal(mw_conn *c, uint64_t size, unsigned timeout_ms,
                               mw_write_fn fn, void *user);
/** Bytes received and not yet read as lines.
 * @since 0.2
 */
size_t mw_conn_pending(const mw_conn *c);
/** The socket, to wait on with poll() (-1 when closed).  Data may also be
 * waiting in the library already: check mw_conn_pending() or read with a
 * timeout of 0.
 * @since 0.2
 */
int mw_conn_fd(const mw_conn *c);
/** After the server's go-ahead to STARTTLS (SMTP 220, IMAP OK) or STLS
 * (POP3 +OK): refuses bytes that came after it (MW_E_INJECTION: they were
 * sent before the handshake and could be an attacker's), then handshakes
 * and verifies as the options say.  What was learnt before (capabilities)
 * is the caller's to ask again.  MW_E_STATE (closed or already TLS),
 * MW_E_INJECTION, MW_E_TLS, MW_E_CERT, MW_E_TIMEOUT, MW_E_CLOSED,
 * MW_E_NOMEM; any failure closes the connection.
 * @since 0.2
 */
mw_status mw_conn_starttls(mw_conn *c);

/** Whether TLS is on.
 * @since 0.2
 */
bool mw_conn_is_encrypted(const mw_conn *c);
/** @{ */
/** Facts of the TLS session, "" when absent (not encrypted); borrowed until
 * mw_conn_free(): version, cipher, the certificate's subject, issuer,
 * expiry ("2027-01-31T12:00:00Z"), SHA-256 fingerprint (hex), names
 * (subjectAltName, ", "-joined) and chain ("subject <- issuer; ...").
 * @since 0.2
 */
const char *mw_conn_tls_version(const mw_conn *c);
const char *mw_conn_tls_cipher(const mw_conn *c);
const char *mw_conn_peer_subject(const mw_conn *c);
const char *mw_conn_peer_issuer(const mw_conn *c);
const char *mw_conn_peer_not_after(const mw_conn *c);
const char *mw_conn_peer_fingerprint(const mw_conn *c);
const char *mw_conn_peer_names(const mw_conn *c);
const char *mw_conn_peer_chain(const mw_conn *c);
/** @} */
/** "ip:port" of the server (through a proxy: the proxy's), "" when
 * absent (before mw_conn_open()).
 * Ownership: borrowed until mw_conn_free().
 * @since 0.2
 */
const char *mw_conn_peer_address(const mw_conn *c);
/** Adds a secret the caller sends or holds (a typed password) to the
 * list cut out of every server line and trace.  MW_OK, MW_E_NOMEM.
 * @since 0.2
 */
mw_status mw_conn_add_secret(mw_conn *c, const char *secret);

/** A line of an exchange, for display: from_server, or a line sent as the
 * trace shows it (payloads as <redacted>).  line is borrowed for the
 * call. */
typedef void (*mw_conn_line_fn)(void *user, bool from_server,
                                const char *line, size_t len);
/** Runs one SASL exchange with mechanism ("PLAIN", "LOGIN", "CRAM-MD5",
 * "SCRAM-SHA-256", "XOAUTH2", ...; case does not matter) over the
 * clients' driver and the protocol's framing (SMTP AUTH, POP3 AUTH, IMAP
 * AUTHENTICATE with tag before the command).  user, password and token
 * are borrowed for the call (and the secrets cut out of the session's
 * lines from now on); show (may be NULL) sees every line sent and
 * received.  *mech (may be NULL) gets the mechanism's static name.
 * MW_E_INSECURE (not encrypted and the options do not allow insecure
 * auth), MW_E_INVALID (credentials the mechanism cannot use),
 * MW_E_AUTH_UNAVAILABLE (a mechanism the library does not have),
 * MW_E_AUTH (refused: the message quotes the server), MW_E_PROTOCOL,
 * MW_E_AUTH_SERVER_UNVERIFIED (SCRAM: the server did not prove it knows
 * the password; the connection is closed), and the statuses of
 * mw_conn_send_line() and mw_conn_read_line().
 * @since 0.2
 */
mw_status mw_conn_authenticate(mw_conn *c, const char *mechanism,
                               const char *user, const char *password,
                               const char *token, const char *tag,
                               mw_conn_line_fn show, void *show_user,
                               const char **mech);

/** Frees memory the library returned to the caller.
 * @since 0.1
 */
void mw_free(void *p);

/* ------------------------------------------------------------------------
 * Deprecated names.  Each still works (and stays exported) and calls its
 * new name; a compiler that knows the attribute warns where it is used.
 * ---------------------------------------------------------------------- */

/** The 0.1 name of mw_result_recipient_enhanced_code(), the name the
 * other enhanced-code accessors have.
 * @deprecated since 0.2: use mw_result_recipient_enhanced_code().
 * Ownership: as mw_result_recipient_enhanced_code().
 * @since 0.1
 */
MW_DEPRECATED("use mw_result_recipient_enhanced_code()")
const char *mw_result_recipient_enhanced(const mw_result *r, size_t i);
/** The 0.1 name of mw_probe_row_count(), the count of the
 * mw_probe_row_*() rows.
 * @deprecated since 0.2: use mw_probe_row_count().
 * @since 0.1
 */
MW_DEPRECATED("use mw_probe_row_count()")
size_t mw_probe_count(const mw_probe *p);
/** The 0.1 name of mw_compose_error_message(): every other *_error()
 * returns a handle's mw_error, this one a string.
 * Ownership: as mw_compose_error_message().
 * @deprecated since 0.2: use mw_compose_error_message().
 * @since 0.1
 */
MW_DEPRECATED("use mw_compose_error_message()")
const char *mw_compose_error(const mw_compose *c);

#ifdef __cplusplus
}
#endif
#endif /* MAILWIRE_H */

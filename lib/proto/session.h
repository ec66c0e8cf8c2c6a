/*
 * proto/session.h - what every protocol client (SMTP, POP3, IMAP) sets up
 * the same way, so that each client holds only its dialect.
 *
 * Owns: the copy of the caller's options into a session (with the
 * client's protocol, whatever the options said), the trace's clock and
 * the scrub list seeded with the secrets; opening the connection's layer
 * stack from the options (net/stack.h) with the trace lines that name the
 * server, the TLS mode and the layers; the TLS policy the options describe
 * and pushing TLS onto the line engine's stream, with the names a
 * certificate carries added to a host-name mismatch; and the STARTTLS
 * injection check (bytes waiting after the server's answer to STARTTLS or
 * STLS end the session: they were sent before the handshake and could be
 * an attacker's).
 *
 * Does not own: any protocol's commands or replies, or what a TLS mode
 * means for a dialogue (the clients decide when to call these).
 */
#ifndef MW_PROTO_SESSION_H
#define MW_PROTO_SESSION_H

#include "core/err.h"
#include "core/options.h"
#include "core/scrub.h"
#include "core/trace.h"
#include "net/stack.h"
#include "proto/engine.h"
#include "tls/tls.h"

/* Copies src into dst (released by mw__options_release) for a client of
 * protocol p, starts the trace's clock with src's callback, and seeds the
 * scrub list (initialised here) with the password and the token.  false
 * on OOM (dst and sc are then left empty). */
bool mw__session_setup(struct mw_options *dst, const mw_options *src,
                       mw_protocol p, struct mw__trace *trace,
                       struct mw__scrub *sc);

/* Opens the stack the options describe (their port after defaults),
 * tracing "NAME server HOST port P, TLS mode M", the {insecure} warning
 * and the layers under the top.  on_step may be NULL.  As
 * mw__stack_open(), plus MW_E_INVALID when no server is set. */
mw_status mw__session_open(const struct mw_options *o, const char *name,
                           struct mw__trace *trace,
                           mw__stack_step_fn on_step, void *user, char *peer,
                           size_t peer_len, struct mw_error *err,
                           struct mw__layer **top);

/* The TLS policy of the options: SNI and the name check use the
 * override, else the server's host name. */
void mw__session_tls_policy(const struct mw_options *o,
                            struct mw__tls_policy *policy);

/* Pushes TLS (the options' policy) onto the engine's connection, within
 * timeout_ms.  A certificate refused for its host name says which names
 * it is valid for.  As mw__tls_start(). */
mw_status mw__session_start_tls(struct mw__engine *e,
                                const struct mw_options *o,
                                struct mw__trace *trace, struct mw_error *err,
                                unsigned timeout_ms, struct mw__tls **tls,
                                struct mw__tls_info *info);

/* As mw__session_start_tls(), with the certificate's verdict reported in
 * the trace and left to the caller (mw__tls_verdict on *info) instead of
 * enforced when report_only is true: the probe's. */
mw_status mw__session_start_tls_report(struct mw__engine *e,
                                       const struct mw_options *o,
                                       bool report_only,
                                       struct mw__trace *trace,
                                       struct mw_error *err,
                                       unsigned timeout_ms,
                                       struct mw__tls **tls,
                                       struct mw__tls_info *info);

/* After a handshake step that failed with st: a certificate refused for
 * its host name gets the names it is valid for added to err's message. */
void mw__session_cert_names_hint(mw_status st, const struct mw__tls_info *info,
                                 struct mw_error *err);

/* MW_OK when nothing waits after the server's answer to STARTTLS (named
 * by answer: "its 220 reply to STARTTLS", "its +OK to STLS"), else
 * MW_E_INJECTION with how many bytes came. */
mw_status mw__session_no_injection(struct mw__engine *e, struct mw_error *err,
                                   const char *answer);

#endif

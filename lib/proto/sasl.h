/*
 * proto/sasl.h - SASL glue: mechanism choice and the client side of each
 * exchange, in base64 as SMTP (RFC 4954) carries it.
 *
 * Owns: the list of mechanisms mailwire supports and their strength order,
 * the intersection of what the server offers with what the user allows,
 * and the steps of one exchange.  GNU SASL does the real mechanisms
 * (PLAIN, LOGIN, CRAM-MD5, DIGEST-MD5, SCRAM-SHA-1, SCRAM-SHA-256);
 * XOAUTH2 and OAUTHBEARER (RFC 7628), which GNU SASL lacks, are simple
 * formats built here, and so is EXTERNAL (RFC 4422 appendix A: the
 * identity is the TLS client certificate, the message only the optional
 * authorization identity).
 */
#ifndef MW_PROTO_SASL_H
#define MW_PROTO_SASL_H

#include "core/err.h"

struct mw__sasl;

/* Normalises a user list ("plain, scram-sha-256") into upper-case,
 * space-separated, validated names (MW_E_INVALID for an unknown name or an
 * empty list).  *out is allocated (mw__free). */
mw_status mw__sasl_normalise_list(const char *list, char **out);

/* Picks the strongest mechanism offered by the server (its AUTH parameter
 * text), allowed by the user (normalised list, NULL for all) and usable
 * with the credentials at hand.  Returns a static name or NULL.  Never
 * EXTERNAL (no client certificate): see mw__sasl_choose_cert(). */
const char *mw__sasl_choose(const char *server_mechs, const char *allowed,
                            bool have_password, bool have_token);
/* The same, where have_cert says that a client certificate was presented
 * in the TLS handshake: then EXTERNAL, strongest of all (the private key
 * never leaves the client), is usable too. */
const char *mw__sasl_choose_cert(const char *server_mechs,
                                 const char *allowed, bool have_password,
                                 bool have_token, bool have_cert);

/* Whether a space-separated mechanism list (the server's AUTH parameter or
 * a normalised user list) names mech, case-insensitively. */
bool mw__sasl_list_has(const char *list, const char *mech);

/* Reads the failure report an OAuth server sends in a 334 challenge
 * (XOAUTH2, OAUTHBEARER: base64 JSON such as {"status":"invalid_token"}).
 * On true, out holds its "status" value: one of the RFC 6750 error codes
 * ("invalid_token", "invalid_request", "insufficient_scope") or a 3-digit
 * HTTP status (Google: "400", "401").  Anything else is not copied (the
 * server's text could carry the token back). */
bool mw__sasl_oauth_status(const char *challenge, char *out, size_t len);

/* Whether the mechanism sends a response before the first challenge. */
bool mw__sasl_client_first(const char *mech);

/* Starts an exchange.  user/password/token may be NULL when the mechanism
 * does not need them.  The service is "smtp"; host the server's name.  For
 * EXTERNAL, user is the authorization identity to request (NULL or "":
 * the one the certificate maps to), password and token are not used. */
mw_status mw__sasl_start(const char *mech, const char *user,
                         const char *password, const char *token,
                         const char *host, struct mw__sasl **out,
                         struct mw_error *err);
/* The same, for another protocol's GSS-API service name ("imap", "pop";
 * mw__sasl_start says "smtp"). */
mw_status mw__sasl_start_service(const char *mech, const char *service,
                                 const char *user, const char *password,
                                 const char *token, const char *host,
                                 struct mw__sasl **out,
                                 struct mw_error *err);
/* One step: challenge is the server's base64 text (NULL or "" for the
 * initial response).  *response is allocated base64 text to send ("" for
 * an empty response); free with mw__free_secret().  MW_OK, MW_E_AUTH (the
 * server's challenge is malformed or refused, or the server sent an error
 * instead of its proof), MW_E_AUTH_SERVER_UNVERIFIED (the message that
 * must carry the server's proof is empty, lacks it, or carries one that
 * does not verify), MW_E_NOMEM. */
mw_status mw__sasl_step(struct mw__sasl *s, const char *challenge,
                        char **response, struct mw_error *err);
/* The last round, the same in every protocol: call it when the server
 * announces success (SMTP 235, IMAP tagged OK, POP3 +OK), never treat
 * that reply as success by itself.  final_data is base64 data that came
 * with the success reply (RFC 4422 "additional data with success": IMAP
 * and POP3 may carry a SCRAM server-final or a DIGEST-MD5 rspauth there;
 * SMTP never does, RFC 4954 sends it as a last 334 challenge, so SMTP
 * passes NULL), or NULL/"" for none.  The data, when given, is verified
 * as the server's proof.
 * Returns MW_OK when the exchange is complete: for a mechanism that
 * authenticates the server (mw__sasl_mutual) only when the proof has
 * arrived and verified, earlier as a challenge or now in final_data.
 * MW_E_AUTH_SERVER_UNVERIFIED when the proof is missing or does not
 * verify (the session must end: nothing may be sent as authenticated);
 * MW_E_AUTH when the data is a SCRAM server error; MW_E_PROTOCOL for data
 * that the mechanism does not expect; MW_E_NOMEM.  Detail in err. */
mw_status mw__sasl_success(struct mw__sasl *s, const char *final_data,
                           struct mw_error *err);
/* True once the mechanism has nothing more to send (for a mutual
 * mechanism: once the server's proof verified). */
bool mw__sasl_finished(const struct mw__sasl *s);
/* Whether the mechanism authenticates the server too (SCRAM-*,
 * DIGEST-MD5), and whether the server's proof has verified. */
bool mw__sasl_mutual(const struct mw__sasl *s);
bool mw__sasl_server_verified(const struct mw__sasl *s);
/* Whether the next server message is the one that must carry the
 * server's proof (a mutual mechanism after the client's last message). */
bool mw__sasl_expects_proof(const struct mw__sasl *s);
void mw__sasl_free(struct mw__sasl *s);

/* Frees GNU SASL's context when an exchange set it up (it is set up on
 * first use, not ahead); the next exchange sets it up again. */
void mw__sasl_global_cleanup(void);

#endif

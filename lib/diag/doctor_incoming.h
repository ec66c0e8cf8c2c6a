/*
 * diag/doctor_incoming.h - doctor for POP3 and IMAP servers (private).
 *
 * Owns: what a POP3 or IMAP session showed doctor (struct
 * mw__incoming_facts), gathered by diag/doctor_incoming_run.c from the
 * ordinary clients (proto/pop3.c, proto/imap.c) and judged by
 * diag/doctor_incoming.c (mw__doctor_incoming_verdict), which is pure: the
 * unit tests hand it facts and read the report.  Decisions are taken on
 * statuses, failure kinds, response codes, capabilities and the step that
 * failed; the server's text goes through the explain rules
 * (diag/explain_incoming.c), never through strstr.
 */
#ifndef MW_DIAG_DOCTOR_INCOMING_H
#define MW_DIAG_DOCTOR_INCOMING_H

#include "diag/doctor_int.h"

struct mw__tls_info;

/* The step of the session that failed (or MW__IN_DONE). */
enum mw__in_step {
  MW__IN_TLS_IMPLICIT = 0, /* the handshake before the greeting */
  MW__IN_GREETING,
  MW__IN_CAPABILITY,       /* CAPA / CAPABILITY */
  MW__IN_STARTTLS,         /* STLS / STARTTLS and its handshake */
  MW__IN_LOGIN,            /* USER/PASS, LOGIN, AUTH, AUTHENTICATE */
  MW__IN_MAILBOX,          /* IMAP SELECT (EXAMINE), POP3 STAT */
  MW__IN_DONE
};

/* A second, short attempt in another TLS mode, to learn what the port
 * speaks (no credentials, certificates not verified). */
struct mw__in_other {
  bool tried;
  mw_tls_mode mode;           /* MW_TLS_IMPLICIT or MW_TLS_STARTTLS_OPTIONAL */
  bool tls_answered;          /* a TLS handshake completed */
  char tls_version[16];
  bool greeted;               /* a greeting of the protocol came */
  bool starttls_offered;      /* STARTTLS / STLS in its capabilities */
  const char *foreign;        /* another protocol's banner (static) */
  double ms;
  char message[768];          /* its error, "" when it greeted */
};

struct mw__incoming_facts {
  mw_protocol protocol;       /* MW_PROTOCOL_POP3 or MW_PROTOCOL_IMAP */
  mw_tls_mode mode;           /* the mode the session ran in */
  mw_status status;           /* of connect, then of the mailbox step */
  const struct mw_error *err; /* the session's (never NULL) */
  enum mw__in_step step;      /* where it stopped, MW__IN_DONE if not */
  double ms[MW__IN_DONE];     /* how long each step reached took */
  const char *greeting;       /* its text, NULL when none was accepted */
  bool preauth;               /* IMAP greeted with PREAUTH */
  bool encrypted;             /* TLS was on when the session ended */
  const struct mw__tls_info *tls; /* a handshake's facts, NULL if none */
  int tls_fallback;           /* as struct mw_smtp's, 0 */
  const char *caps;           /* "IMAP4REV1 IDLE AUTH=PLAIN", "" */
  bool login_disabled;        /* IMAP LOGINDISABLED; POP3 no USER and
                                 no SASL offered before TLS */
  bool oauth_offered;         /* XOAUTH2 or OAUTHBEARER offered */
  bool starttls_offered;
  const char *mechanisms;     /* SASL mechanisms offered, "" */
  const char *auth_mech;      /* logged in with ("USER", "PLAIN", ...) */
  const char *alert;          /* IMAP's last [ALERT] text, "" */
  bool has_credentials;       /* a password or a token was given */
  bool has_token;
  /* The mailbox step, when logged in. */
  const char *mailbox;        /* IMAP: the name selected; POP3: NULL */
  uint64_t messages, octets;  /* its count (and POP3 STAT's size) */
  uint32_t uidvalidity;
  struct mw__in_other other;
};

/* The report's rows from the greeting on, and the diagnosis. */
void mw__doctor_incoming_verdict(struct mw_report *r,
                                 const struct mw__incoming_facts *f,
                                 const struct mw_options *o);

#endif

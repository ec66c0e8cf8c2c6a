/*
 * proto/sasl.c - GNU SASL for the standard mechanisms, plus XOAUTH2,
 * OAUTHBEARER and EXTERNAL.
 *
 * DESCRIPTION
 *   Strength order, strongest first: EXTERNAL when a client certificate
 *   was presented (the identity is proved in the TLS handshake with a
 *   private key that never leaves the client), the SCRAM family (salted,
 *   mutual authentication), then the OAuth bearer mechanisms when a token
 *   is given, DIGEST-MD5 and CRAM-MD5 (challenge-response, the password
 *   never crosses the wire), then PLAIN and LOGIN (the password itself,
 *   protected only by TLS).
 *
 *   SCRAM and DIGEST-MD5 authenticate the server as well: the exchange is
 *   complete only once the server's proof (v=, rspauth) has arrived and
 *   verified.  The protocols never take their success reply as success by
 *   itself; they ask mw__sasl_success(), which reads the last round the
 *   same way for SMTP, IMAP and POP3.
 *
 * DIAGNOSTICS
 *   MW_E_AUTH for a malformed or refused challenge, or a SCRAM server
 *   error (e=); MW_E_AUTH_SERVER_UNVERIFIED, with why, for every way a
 *   server can skip or spoil its proof; MW_E_PROTOCOL for success data a
 *   mechanism does not expect.  Messages hold no challenge values, only
 *   the token of a SCRAM e= (letters, digits and "-").
 */
#include "proto/sasl.h"

#include "core/util.h"

#include <gsasl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* proof_after: for a mechanism that authenticates the server too, how
 * many client messages precede the server's proof (SCRAM: client-first and
 * client-final, then the server-final with v=; DIGEST-MD5: the
 * digest-response, then rspauth); 0 when the server proves nothing. */
struct mech_info {
  const char *name;
  bool needs_password;
  bool needs_token;
  bool client_first;
  bool needs_cert;
  int proof_after;
};

static const struct mech_info mechs[] = {
    {"EXTERNAL", false, false, true, true, 0},
    {"SCRAM-SHA-256", true, false, true, false, 2},
    {"SCRAM-SHA-1", true, false, true, false, 2},
    {"OAUTHBEARER", false, true, true, false, 0},
    {"XOAUTH2", false, true, true, false, 0},
    {"DIGEST-MD5", true, false, false, false, 1},
    {"CRAM-MD5", true, false, false, false, 0},
    {"PLAIN", true, false, true, false, 0},
    {"LOGIN", true, false, false, false, 0},
};

#define MECH_COUNT (sizeof(mechs) / sizeof(mechs[0]))

/* GNU SASL's context, set up on the first exchange that needs it
 * (sasl_context()), not at mw_global_init(): a program that never
 * authenticates with a GNU SASL mechanism never calls gsasl_init().  The
 * lock makes the first use thread-safe; mw__sasl_global_cleanup() frees
 * the context, and a later use sets it up again. */
static Gsasl *gsasl_ctx;
static pthread_mutex_t gsasl_lock = PTHREAD_MUTEX_INITIALIZER;

static Gsasl *sasl_context(void)
{
  pthread_mutex_lock(&gsasl_lock);
  if(!gsasl_ctx && gsasl_init(&gsasl_ctx) != GSASL_OK)
    gsasl_ctx = NULL;
  Gsasl *ctx = gsasl_ctx;
  pthread_mutex_unlock(&gsasl_lock);
  return ctx;
}

void mw__sasl_global_cleanup(void)
{
  pthread_mutex_lock(&gsasl_lock);
  if(gsasl_ctx)
    gsasl_done(gsasl_ctx);
  gsasl_ctx = NULL;
  pthread_mutex_unlock(&gsasl_lock);
}

const char *mw_auth_supported_mechanisms(void)
{
  return "EXTERNAL SCRAM-SHA-256 SCRAM-SHA-1 OAUTHBEARER XOAUTH2 "
         "DIGEST-MD5 CRAM-MD5 PLAIN LOGIN";
}

static const struct mech_info *find_mech(const char *name, size_t len)
{
  for(size_t i = 0; i < MECH_COUNT; i++)
    if(strlen(mechs[i].name) == len && mw__strnieq(mechs[i].name, name, len))
      return &mechs[i];
  return NULL;
}

mw_status mw__sasl_normalise_list(const char *list, char **out)
{
  struct mw__sbuf b;
  mw__sbuf_init(&b);
  const char *p = list;
  while(*p) {
    while(*p == ' ' || *p == ',' || *p == '\t')
      p++;
    const char *w = p;
    while(*p && *p != ' ' && *p != ',' && *p != '\t')
      p++;
    if(p == w)
      break;
    const struct mech_info *m = find_mech(w, (size_t)(p - w));
    if(!m) {
      mw__sbuf_free(&b);
      return MW_E_INVALID;
    }
    if(b.len)
      mw__sbuf_puts(&b, " ");
    mw__sbuf_puts(&b, m->name);
  }
  if(b.failed) {
    mw__sbuf_free(&b);
    return MW_E_NOMEM;
  }
  if(!b.len) {
    mw__sbuf_free(&b);
    return MW_E_INVALID;
  }
  *out = mw__sbuf_steal(&b);
  return *out ? MW_OK : MW_E_NOMEM;
}

static bool word_in(const char *words, const char *name)
{
  size_t nl = strlen(name);
  const char *p = words;
  while(*p) {
    while(*p == ' ')
      p++;
    const char *w = p;
    while(*p && *p != ' ')
      p++;
    if((size_t)(p - w) == nl && mw__strnieq(w, name, nl))
      return true;
  }
  return false;
}

bool mw__sasl_list_has(const char *list, const char *mech)
{
  return list && mech && word_in(list, mech);
}

const char *mw__sasl_choose_cert(const char *server_mechs,
                                 const char *allowed, bool have_password,
                                 bool have_token, bool have_cert)
{
  for(size_t i = 0; i < MECH_COUNT; i++) {
    const struct mech_info *m = &mechs[i];
    if(m->needs_password && !have_password)
      continue;
    if(m->needs_token && !have_token)
      continue;
    if(m->needs_cert && !have_cert)
      continue;
    if(allowed && !word_in(allowed, m->name))
      continue;
    if(word_in(server_mechs, m->name))
      return m->name;
  }
  return NULL;
}

const char *mw__sasl_choose(const char *server_mechs, const char *allowed,
                            bool have_password, bool have_token)
{
  return mw__sasl_choose_cert(server_mechs, allowed, have_password,
                              have_token, false);
}

bool mw__sasl_client_first(const char *mech)
{
  const struct mech_info *m = find_mech(mech, strlen(mech));
  return m ? m->client_first : false;
}

/* The mechanisms built here rather than by GNU SASL. */
enum oauth_kind { OAUTH_NONE, OAUTH_XOAUTH2, OAUTH_BEARER, SIMPLE_EXTERNAL };

struct mw__sasl {
  Gsasl_session *gs;      /* standard mechanisms */
  enum oauth_kind oauth;  /* hand-built mechanisms */
  char *oauth_initial;    /* secret: the initial response, raw (EXTERNAL:
                             the authorization identity, maybe "") */
  bool scram;             /* a SCRAM mechanism: challenges are checked */
  bool digest;            /* DIGEST-MD5: empty challenges are refused */
  bool prep_failed;       /* SCRAM: SASLprep refuses the user or password */
  const char *mech;       /* static name */
  int proof_after;        /* see struct mech_info; 0: no server proof */
  int client_msgs;        /* GNU SASL steps that asked for more */
  bool server_verified;   /* the server's proof arrived and verified */
  int steps;
  bool finished;
};

mw_status mw__sasl_start(const char *mech, const char *user,
                         const char *password, const char *token,
                         const char *host, struct mw__sasl **out,
                         struct mw_error *err)
{
  return mw__sasl_start_service(mech, "smtp", user, password, token, host,
                                out, err);
}

mw_status mw__sasl_start_service(const char *mech, const char *service,
                                 const char *user, const char *password,
                                 const char *token, const char *host,
                                 struct mw__sasl **out, struct mw_error *err)
{
  *out = NULL;
  struct mw__sasl *s = mw__calloc(1, sizeof(*s));
  if(!s)
    return mw__error_set(err, MW_E_NOMEM, NULL);
  const struct mech_info *info = find_mech(mech, strlen(mech));
  s->mech = info ? info->name : "SASL";
  s->proof_after = info ? info->proof_after : 0;
  if(strcmp(mech, "EXTERNAL") == 0) {
    /* RFC 4422 appendix A: the client's only message is the authorization
     * identity it requests, empty for "the one my credentials (the TLS
     * client certificate) map to". */
    s->oauth = SIMPLE_EXTERNAL;
    s->oauth_initial = mw__strdup(user ? user : "");
    if(!s->oauth_initial) {
      mw__free(s);
      return mw__error_set(err, MW_E_NOMEM, NULL);
    }
    *out = s;
    return MW_OK;
  }
  if(strcmp(mech, "XOAUTH2") == 0 || strcmp(mech, "OAUTHBEARER") == 0) {
    struct mw__sbuf b;
    mw__sbuf_init(&b);
    if(strcmp(mech, "XOAUTH2") == 0) {
      s->oauth = OAUTH_XOAUTH2;
      mw__sbuf_printf(&b, "user=%s\001auth=Bearer %s\001\001",
                      user ? user : "", token);
    }
    else {
      s->oauth = OAUTH_BEARER;
      /* gs2-header "n,a=user," then key/value pairs (RFC 7628 3.1); in the
       * authzid ',' and '=' are escaped as =2C and =3D (RFC 5801). */
      mw__sbuf_puts(&b, user ? "n,a=" : "n,");
      for(const char *p = user; p && *p; p++) {
        if(*p == ',')
          mw__sbuf_puts(&b, "=2C");
        else if(*p == '=')
          mw__sbuf_puts(&b, "=3D");
        else
          mw__sbuf_append(&b, p, 1);
      }
      mw__sbuf_printf(&b, ",\001host=%s\001auth=Bearer %s\001\001", host,
                      token);
    }
    if(b.failed) {
      mw__sbuf_free(&b);
      mw__free(s);
      return mw__error_set(err, MW_E_NOMEM, NULL);
    }
    s->oauth_initial = mw__sbuf_steal(&b);
    *out = s;
    return MW_OK;
  }
  s->scram = strncmp(mech, "SCRAM-", 6) == 0;
  s->digest = strcmp(mech, "DIGEST-MD5") == 0;
  /* GNU SASL 2.2 leaks when its SCRAM client meets a string SASLprep
   * refuses (RFC 5802 requires SASLprep): check first, in both modes it
   * may use, and refuse at the first step with a local error. */
  for(int i = 0; s->scram && i < 4 && !s->prep_failed; i++) {
    const char *in = i < 2 ? password : user;
    if(!in)
      continue;
    char *prepped = NULL;
    int sprc = 0;
    if(gsasl_saslprep(in, (i & 1) ? GSASL_ALLOW_UNASSIGNED : 0, &prepped,
                      &sprc) != GSASL_OK)
      s->prep_failed = true;
    if(prepped) {
      mw__wipe(prepped, strlen(prepped));
      gsasl_free(prepped);
    }
  }
  Gsasl *ctx = sasl_context();
  if(!ctx) {
    mw__free(s);
    return mw__error_set(err, MW_E_INTERNAL,
                         "GNU SASL could not be initialised");
  }
  int rc = gsasl_client_start(ctx, mech, &s->gs);
  if(rc != GSASL_OK) {
    mw__free(s);
    return mw__error_set(err, MW_E_AUTH_UNAVAILABLE,
                         "SASL mechanism %s cannot start: %s", mech,
                         gsasl_strerror(rc));
  }
  if(user)
    gsasl_property_set(s->gs, GSASL_AUTHID, user);
  if(password)
    gsasl_property_set(s->gs, GSASL_PASSWORD, password);
  gsasl_property_set(s->gs, GSASL_SERVICE, service ? service : "smtp");
  gsasl_property_set(s->gs, GSASL_HOSTNAME, host);
  *out = s;
  return MW_OK;
}

static mw_status oauth_step(struct mw__sasl *s, const char *challenge,
                            char **response, struct mw_error *err)
{
  char *b64 = NULL;
  size_t b64len = 0;
  if(s->steps == 1 && s->oauth == SIMPLE_EXTERNAL && !s->oauth_initial[0]) {
    /* An empty message: sent as "=" in the initial response (RFC 4954)
     * or as an empty line after a 334. */
    *response = mw__strdup("");
    s->finished = true;
    return *response ? MW_OK : mw__error_set(err, MW_E_NOMEM, NULL);
  }
  if(s->steps == 1) {
    if(gsasl_base64_to(s->oauth_initial, strlen(s->oauth_initial), &b64,
                       &b64len) != GSASL_OK)
      return mw__error_set(err, MW_E_NOMEM, NULL);
    *response = b64;
    s->finished = true;
    return MW_OK;
  }
  /* A challenge after the token is the server's JSON error report; the
   * client must answer (empty for XOAUTH2, ^A for OAUTHBEARER) to get the
   * final failure reply.  EXTERNAL has said all it has to say: a further
   * challenge gets an empty answer too. */
  (void)challenge;
  if(s->oauth == OAUTH_BEARER) {
    if(gsasl_base64_to("\001", 1, &b64, &b64len) != GSASL_OK)
      return mw__error_set(err, MW_E_NOMEM, NULL);
    *response = b64;
  }
  else {
    *response = mw__strdup("");
    if(!*response)
      return mw__error_set(err, MW_E_NOMEM, NULL);
  }
  return MW_OK;
}

/* Refuses server challenges that would make GNU SASL do unbounded work:
 * a SCRAM iteration count is the server's to choose, and a hostile server
 * could ask for billions of PBKDF2 rounds. */
#define SCRAM_MAX_ITERATIONS 1000000L

static mw_status check_challenge(struct mw__sasl *s, const char *challenge,
                                 struct mw_error *err)
{
  if(s->prep_failed)
    return mw__error_set(err, MW_E_AUTH,
                         "the user name or password cannot be used with "
                         "SCRAM: SASLprep (RFC 4013) refuses it; use another "
                         "mechanism over TLS, e.g. {auth=PLAIN}");
  /* An empty DIGEST-MD5 challenge is never valid, and GNU SASL 2.2
   * over-reads its buffer on one. */
  if(s->digest && (!challenge || !*challenge))
    return mw__error_set(err, MW_E_AUTH,
                         "the server sent an empty DIGEST-MD5 challenge");
  if(!s->scram || !challenge || !*challenge)
    return MW_OK;
  char *raw = NULL;
  size_t rawlen = 0;
  if(gsasl_base64_from(challenge, strlen(challenge), &raw, &rawlen) !=
     GSASL_OK)
    return MW_OK; /* let the mechanism report the bad encoding */
  mw_status st = MW_OK;
  for(size_t i = 0; i + 2 < rawlen; i++) {
    if((i == 0 || raw[i - 1] == ',') && raw[i] == 'i' && raw[i + 1] == '=') {
      long n = 0;
      size_t j = i + 2;
      while(j < rawlen && raw[j] >= '0' && raw[j] <= '9' &&
            n <= SCRAM_MAX_ITERATIONS)
        n = n * 10 + (raw[j++] - '0');
      if(n > SCRAM_MAX_ITERATIONS)
        st = mw__error_set(err, MW_E_AUTH,
                           "the server asked for more than %ld SCRAM "
                           "iterations: refused (it would stall the client)",
                           SCRAM_MAX_ITERATIONS);
      break;
    }
  }
  gsasl_free(raw);
  return st;
}

/* ---- the server's proof ----------------------------------------------
 *
 * SCRAM and DIGEST-MD5 authenticate both sides: after the client's last
 * message the server sends a proof that it knows the password (SCRAM's
 * server-final-message "v=", RFC 5802 section 7; DIGEST-MD5's
 * response-auth "rspauth=", RFC 2831 section 2.1.3), and GNU SASL
 * verifies it.  A server that announces success without it, or sends an
 * empty final message, or one without the proof, has proved nothing: an
 * impostor can do all of that without knowing the password.  So these
 * mechanisms succeed only once the proof has arrived and verified, and
 * every way of skipping it is MW_E_AUTH_SERVER_UNVERIFIED. */

/* Whether the next server message is the one that must carry the proof. */
static bool proof_round(const struct mw__sasl *s)
{
  return s->proof_after && !s->server_verified &&
         s->client_msgs >= s->proof_after;
}

static const char *proof_name(const struct mw__sasl *s)
{
  return s->digest ? "rspauth" : "server signature v=";
}

static mw_status unverified(struct mw__sasl *s, struct mw_error *err,
                            const char *why)
{
  return mw__error_set(err, MW_E_AUTH_SERVER_UNVERIFIED,
                       "the server did not prove its identity: %s; %s "
                       "authenticates the server too, and without its "
                       "proof this server may be an impostor",
                       why, s->mech);
}

/* Whether raw (not NUL-terminated) has the attribute name ("rspauth=")
 * at its start or after a comma and optional blanks (RFC 2831 lists). */
static bool has_attribute(const char *raw, size_t len, const char *name)
{
  size_t nl = strlen(name);
  bool at_start = true;
  for(size_t i = 0; i < len; i++) {
    if(raw[i] == ',') {
      at_start = true;
      continue;
    }
    if(at_start && (raw[i] == ' ' || raw[i] == '\t'))
      continue;
    if(at_start && len - i >= nl && memcmp(raw + i, name, nl) == 0)
      return true;
    at_start = false;
  }
  return false;
}

/* Names what is missing from the message that must carry the proof, so
 * that the error says why; GNU SASL verifies the value itself.  A SCRAM
 * server-error ("e=...") is the server refusing the client: MW_E_AUTH. */
static mw_status check_proof(struct mw__sasl *s, const char *challenge,
                             struct mw_error *err)
{
  char why[160];
  snprintf(why, sizeof(why), "its final %s message was empty (no %s)",
           s->mech, proof_name(s));
  if(!challenge || !*challenge)
    return unverified(s, err, why);
  char *raw = NULL;
  size_t rawlen = 0;
  if(gsasl_base64_from(challenge, strlen(challenge), &raw, &rawlen) !=
     GSASL_OK) {
    snprintf(why, sizeof(why), "its final %s message is not valid base64",
             s->mech);
    return unverified(s, err, why);
  }
  mw_status st = MW_OK;
  if(!rawlen) {
    st = unverified(s, err, why);
  }
  else if(s->scram && rawlen >= 2 && raw[0] == 'e' && raw[1] == '=') {
    /* The value is a token from RFC 5802's list ("invalid-proof"); only
     * its safe characters are shown. */
    char value[48];
    size_t n = 0;
    for(size_t i = 2; i < rawlen && raw[i] != ',' && n + 1 < sizeof(value);
        i++) {
      char c = raw[i];
      bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '-';
      value[n++] = safe ? c : '?';
    }
    value[n] = '\0';
    st = mw__error_set(err, MW_E_AUTH,
                       "the server ended the %s exchange with an error "
                       "(e=%s): authentication failed",
                       s->mech, value);
  }
  else if(s->scram && !(rawlen >= 2 && raw[0] == 'v' && raw[1] == '=')) {
    snprintf(why, sizeof(why), "its final %s message carries no %s",
             s->mech, proof_name(s));
    st = unverified(s, err, why);
  }
  else if(s->digest && !has_attribute(raw, rawlen, "rspauth=")) {
    snprintf(why, sizeof(why), "its final %s message carries no %s",
             s->mech, proof_name(s));
    st = unverified(s, err, why);
  }
  mw__wipe(raw, rawlen);
  gsasl_free(raw);
  return st;
}

mw_status mw__sasl_step(struct mw__sasl *s, const char *challenge,
                        char **response, struct mw_error *err)
{
  *response = NULL;
  s->steps++;
  if(s->oauth != OAUTH_NONE)
    return oauth_step(s, challenge, response, err);
  bool proof = proof_round(s);
  mw_status guard = proof ? check_proof(s, challenge, err)
                          : check_challenge(s, challenge, err);
  if(guard)
    return guard;
  char *out = NULL;
  int rc = gsasl_step64(s->gs, challenge ? challenge : "", &out);
  if(rc != GSASL_OK && rc != GSASL_NEEDS_MORE) {
    if(out)
      gsasl_free(out);
    if(proof) {
      char why[160];
      snprintf(why, sizeof(why), "its %s does not match the one computed "
               "from the password", proof_name(s));
      return unverified(s, err, why);
    }
    return mw__error_set(err, MW_E_AUTH,
                         "SASL exchange failed on the client side: %s "
                         "(the server's challenge was rejected)",
                         gsasl_strerror(rc));
  }
  if(proof && rc != GSASL_OK) {
    /* Another challenge where the proof belongs: never accepted. */
    if(out) {
      mw__wipe(out, strlen(out));
      gsasl_free(out);
    }
    char why[160];
    snprintf(why, sizeof(why), "it sent another challenge where its %s "
             "belongs", proof_name(s));
    return unverified(s, err, why);
  }
  if(rc == GSASL_OK) {
    s->finished = true;
    /* GNU SASL says OK to the proof only once it has verified it; an OK
     * elsewhere (never seen) leaves the server unverified. */
    if(proof)
      s->server_verified = true;
  }
  else {
    s->client_msgs++;
  }
  *response = mw__strdup(out ? out : "");
  if(out) {
    mw__wipe(out, strlen(out));
    gsasl_free(out);
  }
  if(!*response)
    return mw__error_set(err, MW_E_NOMEM, NULL);
  return MW_OK;
}

mw_status mw__sasl_success(struct mw__sasl *s, const char *final_data,
                           struct mw_error *err)
{
  char why[200];
  if(final_data && *final_data) {
    if(!proof_round(s)) {
      if(s->proof_after && !s->server_verified) {
        snprintf(why, sizeof(why), "it announced success, with data, "
                 "before the %s exchange reached its final message",
                 s->mech);
        return unverified(s, err, why);
      }
      return mw__error_set(err, MW_E_PROTOCOL,
                           "the server sent data with its success reply, "
                           "which %s does not expect at this point",
                           s->mech);
    }
    char *resp = NULL;
    mw_status st = mw__sasl_step(s, final_data, &resp, err);
    if(st)
      return st;
    mw__free_secret(resp); /* nothing is sent after a success reply */
  }
  if(s->proof_after && !s->server_verified) {
    if(s->client_msgs < s->proof_after)
      snprintf(why, sizeof(why), "it announced success before the %s "
               "exchange was complete (no %s)", s->mech, proof_name(s));
    else
      snprintf(why, sizeof(why), "it announced success without sending "
               "its final %s message (the %s)", s->mech, proof_name(s));
    return unverified(s, err, why);
  }
  return MW_OK;
}

bool mw__sasl_mutual(const struct mw__sasl *s) { return s->proof_after > 0; }

bool mw__sasl_server_verified(const struct mw__sasl *s)
{
  return s->server_verified;
}

bool mw__sasl_finished(const struct mw__sasl *s) { return s->finished; }

bool mw__sasl_expects_proof(const struct mw__sasl *s)
{
  return proof_round(s);
}

void mw__sasl_free(struct mw__sasl *s)
{
  if(!s)
    return;
  if(s->gs)
    gsasl_finish(s->gs);
  mw__free_secret(s->oauth_initial);
  mw__free(s);
}

bool mw__sasl_oauth_status(const char *challenge, char *out, size_t len)
{
  if(len)
    out[0] = '\0';
  if(!challenge || !challenge[0] || len < 24)
    return false;
  char *raw = NULL;
  size_t rawlen = 0;
  if(gsasl_base64_from(challenge, strlen(challenge), &raw, &rawlen) !=
         GSASL_OK ||
     !raw)
    return false;
  /* The key, then ':' and the value, quoted or a bare number. */
  bool found = false;
  const char *key = "\"status\"";
  for(size_t i = 0; !found && i + 8 <= rawlen; i++) {
    if(memcmp(raw + i, key, 8) != 0)
      continue;
    size_t j = i + 8;
    while(j < rawlen && (raw[j] == ' ' || raw[j] == '\t'))
      j++;
    if(j >= rawlen || raw[j] != ':')
      continue;
    j++;
    while(j < rawlen && (raw[j] == ' ' || raw[j] == '\t'))
      j++;
    bool quoted = j < rawlen && raw[j] == '"';
    if(quoted)
      j++;
    char v[24];
    size_t n = 0;
    while(j < rawlen && n < sizeof(v) - 1 &&
          ((raw[j] >= 'a' && raw[j] <= 'z') ||
           (raw[j] >= '0' && raw[j] <= '9') || raw[j] == '_'))
      v[n++] = raw[j++];
    v[n] = '\0';
    if(quoted && (j >= rawlen || raw[j] != '"'))
      continue;
    static const char *const known[] = {"invalid_token", "invalid_request",
                                        "insufficient_scope"};
    bool ok = n == 3 && v[0] >= '1' && v[0] <= '5' && v[1] >= '0' &&
              v[1] <= '9' && v[2] >= '0' && v[2] <= '9';
    for(size_t k = 0; !ok && k < sizeof(known) / sizeof(known[0]); k++)
      ok = strcmp(v, known[k]) == 0;
    if(ok) {
      snprintf(out, len, "%s", v);
      found = true;
    }
  }
  mw__wipe(raw, rawlen);
  gsasl_free(raw);
  return found;
}

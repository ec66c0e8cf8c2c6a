/*
 * core/err.c - status table and mw_error accessors.
 *
 * The table is the single source of each status's name, message, category
 * and retry class; the CLI derives its exit codes from category and class.
 */
#include "core/err.h"

#include "core/util.h"

#include <stdio.h>
#include <string.h>

/* XX(name, category, temporary, message) */
#define MW_STATUS_MAP(XX)                                                    \
  XX(OK, NONE, false, "no error")                                            \
  XX(E_NOMEM, LOCAL, false, "out of memory")                                 \
  XX(E_INVALID, USAGE, false, "invalid argument")                            \
  XX(E_DNS, DNS, false, "host name could not be resolved")                   \
  XX(E_CONNECT, CONNECT, true, "could not connect to the server")            \
  XX(E_TIMEOUT, TIMEOUT, true, "operation timed out")                        \
  XX(E_CLOSED, CONNECT, true, "connection closed by the server")             \
  XX(E_PROXY, PROXY, true, "proxy failure")                                  \
  XX(E_TLS, TLS, false, "TLS failure")                                       \
  XX(E_CERT, CERTIFICATE, false, "server certificate not accepted")          \
  XX(E_NO_STARTTLS, TLS, false, "STARTTLS required but not available")       \
  XX(E_INJECTION, PROTOCOL, false,                                           \
     "data injected before the TLS handshake")                               \
  XX(E_INSECURE, AUTH, false,                                                \
     "refused to send credentials over an unencrypted connection")           \
  XX(E_AUTH_UNAVAILABLE, AUTH, false,                                        \
     "no authentication mechanism usable by both sides")                     \
  XX(E_AUTH, AUTH, false, "authentication failed")                           \
  XX(E_PROTOCOL, PROTOCOL, false, "the server violated the protocol")        \
  XX(E_REJECTED, COMMAND, false, "the server refused a command")             \
  XX(E_RECIPIENTS, COMMAND, false, "every recipient was refused")            \
  XX(E_DELIVERY_UNKNOWN, CONNECT, true,                                      \
     "connection lost after the message was sent: delivery unknown")         \
  XX(E_MESSAGE, MESSAGE, false, "the message cannot be sent as given")       \
  XX(E_IO, LOCAL, false, "local input/output error")                         \
  XX(E_STATE, USAGE, false, "call not valid in the session's state")         \
  XX(E_INTERNAL, LOCAL, false, "internal error")                             \
  XX(E_AUTH_SERVER_UNVERIFIED, AUTH, false,                                  \
     "the server did not prove its identity (SASL mutual authentication)") \
  XX(E_EXTENSION, MESSAGE, false,                                            \
     "the server does not offer an extension the message needs")

struct status_row {
  const char *name;
  mw_category category;
  bool temporary;
  const char *message;
};

static const struct status_row status_rows[] = {
#define XX(n, c, t, m) {"MW_" #n, MW_CAT_##c, t, m},
    MW_STATUS_MAP(XX)
#undef XX
};

#define STATUS_COUNT (sizeof(status_rows) / sizeof(status_rows[0]))

static const struct status_row *status_row(mw_status st)
{
  if((unsigned)st >= STATUS_COUNT)
    return &status_rows[MW_E_INTERNAL];
  return &status_rows[st];
}

const char *mw_status_name(mw_status st) { return status_row(st)->name; }
const char *mw_status_message(mw_status st)
{
  return status_row(st)->message;
}
mw_category mw__status_category(mw_status st)
{
  return status_row(st)->category;
}
bool mw__status_temporary(mw_status st) { return status_row(st)->temporary; }

const char *mw_category_name(mw_category c)
{
  static const char *const names[] = {
      "none",     "usage",    "dns",         "connect", "timeout",
      "proxy",    "tls",      "certificate", "auth",    "protocol",
      "command",  "message",  "local"};
  if((unsigned)c >= sizeof(names) / sizeof(names[0]))
    return "unknown";
  return names[c];
}

void mw__error_clear(struct mw_error *e)
{
  mw__free(e->server_text);
  mw__free(e->recipient);
  memset(e, 0, sizeof(*e));
  e->status = MW_OK;
}

mw_status mw__error_setv(struct mw_error *e, mw_status st, const char *fmt,
                         va_list ap)
{
  mw__error_clear(e);
  e->status = st;
  e->category = mw__status_category(st);
  e->temporary = mw__status_temporary(st);
  if(fmt)
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
  else
    snprintf(e->message, sizeof(e->message), "%s", mw_status_message(st));
  return st;
}

mw_status mw__error_set(struct mw_error *e, mw_status st, const char *fmt,
                        ...)
{
  va_list ap;
  va_start(ap, fmt);
  mw__error_setv(e, st, fmt, ap);
  va_end(ap);
  return st;
}

void mw__error_set_recipient(struct mw_error *e, const char *rcpt)
{
  mw__free(e->recipient);
  e->recipient = rcpt ? mw__strdup(rcpt) : NULL;
}

mw_status mw_error_status(const mw_error *e) { return e ? e->status : MW_OK; }
mw_category mw_error_category(const mw_error *e)
{
  return e ? e->category : MW_CAT_NONE;
}
const char *mw_error_message(const mw_error *e)
{
  if(!e)
    return "";
  return e->message[0] ? e->message : mw_status_message(e->status);
}
int mw_error_reply_code(const mw_error *e) { return e ? e->reply_code : 0; }
const char *mw_error_enhanced_code(const mw_error *e)
{
  return e ? e->enhanced : "";
}
const char *mw_error_response_code(const mw_error *e)
{
  return e ? e->response_code : "";
}
const char *mw_error_server_text(const mw_error *e)
{
  return e && e->server_text ? e->server_text : "";
}
const char *mw_error_recipient(const mw_error *e)
{
  return e && e->recipient ? e->recipient : "";
}
bool mw_error_is_temporary(const mw_error *e)
{
  return e ? e->temporary : false;
}

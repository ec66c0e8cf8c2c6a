/*
 * output.c - trace lines, JSON and human-readable results.
 */
#include "output.h"

#include "exitcode.h"
#include "flags.h"

#include <string.h>

void output_trace(void *user, mw_trace_kind kind, double elapsed_ms,
                  const char *text)
{
  FILE *f = user;
  static const char *const marks[] = {"==", "**", "<-", "->", "::"};
  const char *mark = (unsigned)kind < 5 ? marks[kind] : "  ";
  fprintf(f, "[%9.1f ms] %s %s\n", elapsed_ms, mark, cli_text(text));
  fflush(f);
}

void output_json_string(FILE *f, const char *s)
{
  if(!s) {
    fputs("null", f);
    return;
  }
  fputc('"', f);
  for(const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch(*p) {
    case '"': fputs("\\\"", f); break;
    case '\\': fputs("\\\\", f); break;
    case '\n': fputs("\\n", f); break;
    case '\r': fputs("\\r", f); break;
    case '\t': fputs("\\t", f); break;
    default:
      if(*p < 0x20 || *p == 0x7f)
        fprintf(f, "\\u%04x", *p);
      else
        fputc(*p, f); /* UTF-8 passes through */
    }
  }
  fputc('"', f);
}

int output_early_error(const char *cmd, bool json, int code,
                       const char *msg)
{
  fprintf(stderr, "mailwire %s: %s\n", cmd, msg);
  if(!json)
    return code;
  /* The status and category the same failure has in the library. */
  mw_status st = MW_E_INTERNAL;
  mw_category cat = MW_CAT_LOCAL;
  if(code == EXIT_USAGE || code == EXIT_CONFIG) {
    st = MW_E_INVALID;
    cat = MW_CAT_USAGE;
  }
  else if(code == EXIT_DATAERR) {
    st = MW_E_MESSAGE;
    cat = MW_CAT_MESSAGE;
  }
  else if(code == EXIT_NOINPUT || code == EXIT_IOERR) {
    st = MW_E_IO;
  }
  fprintf(stdout, "{\"status\":\"failed\",\"exit_code\":%d,\"error\":"
                  "{\"status\":",
          code);
  output_json_string(stdout, mw_status_name(st));
  fputs(",\"category\":", stdout);
  output_json_string(stdout, mw_category_name(cat));
  fputs(",\"message\":", stdout);
  output_json_string(stdout, msg);
  fputs(",\"reply_code\":0,\"enhanced\":null,\"server_text\":null,"
        "\"recipient\":null,\"temporary\":false}}\n",
        stdout);
  fflush(stdout);
  return code;
}

static const char *delivery_name(mw_delivery d)
{
  switch(d) {
  case MW_DELIVERY_ACCEPTED: return "accepted";
  case MW_DELIVERY_REFUSED: return "refused";
  case MW_DELIVERY_UNKNOWN: return "unknown";
  default: return "not_sent";
  }
}

static const char *overall_status(const struct send_report *r)
{
  if(r->result && mw_result_delivery(r->result) == MW_DELIVERY_UNKNOWN)
    return "unknown";
  if(r->error && mw_error_status(r->error) != MW_OK)
    return "failed";
  return r->exit_code == 0 ? "sent" : "partial";
}

static void json_tls(FILE *f, const mw_smtp *s)
{
  if(!s || !mw_smtp_is_encrypted(s)) {
    fputs("null", f);
    return;
  }
  fputs("{\"version\":", f);
  output_json_string(f, mw_smtp_tls_version(s));
  fputs(",\"cipher\":", f);
  output_json_string(f, mw_smtp_tls_cipher(s));
  fputs(",\"peer_subject\":", f);
  output_json_string(f, mw_smtp_peer_subject(s));
  fputs(",\"peer_issuer\":", f);
  output_json_string(f, mw_smtp_peer_issuer(s));
  fputs(",\"peer_not_after\":", f);
  output_json_string(f, mw_smtp_peer_not_after(s));
  fputs(",\"peer_sha256\":", f);
  output_json_string(f, mw_smtp_peer_fingerprint(s));
  fputs("}", f);
}

void output_send_json(FILE *f, const struct send_report *r)
{
  fputs("{\"status\":", f);
  output_json_string(f, overall_status(r));
  fprintf(f, ",\"exit_code\":%d,\"server\":{\"host\":", r->exit_code);
  output_json_string(f, r->host);
  fprintf(f, ",\"port\":%u,\"tls_mode\":", r->port);
  output_json_string(f, r->tls_mode);
  fputs(",\"address\":", f);
  const char *peer = r->session ? mw_smtp_peer_address(r->session) : "";
  output_json_string(f, peer[0] ? peer : NULL);
  fputs(",\"greeting\":", f);
  const char *greet = r->session ? mw_smtp_greeting(r->session) : "";
  output_json_string(f, greet[0] ? greet : NULL);
  fputs(",\"tls\":", f);
  json_tls(f, r->session);
  fputs(",\"proxy\":", f);
  output_json_string(f, r->proxy);
  fputs(",\"auth_mechanism\":", f);
  output_json_string(f, r->session ? mw_smtp_auth_mechanism(r->session)
                                   : NULL);
  fputs("},\"message\":", f);
  if(r->result) {
    fputs("{\"delivery\":", f);
    output_json_string(f, delivery_name(mw_result_delivery(r->result)));
    fputs(",\"queue_id\":", f);
    const char *qid = mw_result_queue_id(r->result);
    output_json_string(f, qid[0] ? qid : NULL);
    fprintf(f, ",\"final_code\":%d,\"final_text\":",
            mw_result_final_code(r->result));
    output_json_string(f, mw_result_final_text(r->result));
    fprintf(f, ",\"bytes_sent\":%llu}",
            (unsigned long long)mw_result_bytes_sent(r->result));
  }
  else {
    fputs("null", f);
  }
  fputs(",\"recipients\":[", f);
  for(size_t i = 0; r->result && i < mw_result_recipient_count(r->result);
      i++) {
    fputs(i ? ",{\"address\":" : "{\"address\":", f);
    output_json_string(f, mw_result_recipient(r->result, i));
    fprintf(f, ",\"accepted\":%s,\"code\":%d,\"enhanced\":",
            mw_result_recipient_accepted(r->result, i) ? "true" : "false",
            mw_result_recipient_code(r->result, i));
    output_json_string(f, mw_result_recipient_enhanced_code(r->result, i));
    fputs(",\"text\":", f);
    output_json_string(f, mw_result_recipient_text(r->result, i));
    fputs("}", f);
  }
  fputs("],\"error\":", f);
  if(r->error && mw_error_status(r->error) != MW_OK) {
    const mw_error *e = r->error;
    fputs("{\"status\":", f);
    output_json_string(f, mw_status_name(mw_error_status(e)));
    fputs(",\"category\":", f);
    output_json_string(f, mw_category_name(mw_error_category(e)));
    fputs(",\"message\":", f);
    output_json_string(f, cli_text(mw_error_message(e)));
    fprintf(f, ",\"reply_code\":%d,\"enhanced\":", mw_error_reply_code(e));
    output_json_string(f, mw_error_enhanced_code(e));
    fputs(",\"server_text\":", f);
    output_json_string(f, mw_error_server_text(e));
    fputs(",\"recipient\":", f);
    output_json_string(f, mw_error_recipient(e));
    fprintf(f, ",\"temporary\":%s}",
            mw_error_is_temporary(e) ? "true" : "false");
  }
  else {
    fputs("null", f);
  }
  fputs(",\"doctor_command\":", f);
  output_json_string(f, r->doctor_command);
  fprintf(f,
          ",\"timings_ms\":{\"connect\":%.1f,\"send\":%.1f,\"total\":%.1f}}"
          "\n",
          r->connect_ms, r->result ? mw_result_elapsed_ms(r->result) : 0.0,
          r->total_ms);
}

void output_send_human(FILE *out, FILE *err, const struct send_report *r)
{
  if(r->result) {
    for(size_t i = 0; i < mw_result_recipient_count(r->result); i++) {
      if(mw_result_recipient_accepted(r->result, i))
        continue;
      fprintf(err, "mailwire: recipient <%s> refused: %d %s %s\n",
              mw_result_recipient(r->result, i),
              mw_result_recipient_code(r->result, i),
              mw_result_recipient_enhanced_code(r->result, i),
              mw_result_recipient_text(r->result, i));
    }
  }
  if(r->error && mw_error_status(r->error) != MW_OK) {
    fprintf(err, "mailwire: %s error: %s\n",
            mw_category_name(mw_error_category(r->error)),
            cli_text(mw_error_message(r->error)));
    if(mw_error_status(r->error) == MW_E_DELIVERY_UNKNOWN)
      fprintf(err, "mailwire: check the recipient's mailbox before sending "
                   "again, to avoid a duplicate\n");
    if(r->doctor_command)
      fprintf(err, "mailwire: to diagnose, run: %s\n", r->doctor_command);
    return;
  }
  if(!r->result)
    return;
  size_t n = mw_result_recipient_count(r->result), ok = 0;
  for(size_t i = 0; i < n; i++)
    ok += mw_result_recipient_accepted(r->result, i);
  const mw_smtp *s = r->session;
  const char *qid = mw_result_queue_id(r->result);
  /* The mail server by its name and port; its address apart (unless the
   * name is that address), and the proxy apart, since then the address
   * connected to is the proxy's. */
  char server[400];
  snprintf(server, sizeof(server), "%s:%u", r->host, r->port);
  const char *peer = s ? mw_smtp_peer_address(s) : "";
  fprintf(out, "sent to %zu of %zu recipient%s via mail server %s", ok, n,
          n == 1 ? "" : "s", server);
  if(r->proxy)
    fprintf(out, " through proxy %s", r->proxy);
  const char *auth = s ? mw_smtp_auth_mechanism(s) : NULL;
  fputs(" (", out);
  if(!r->proxy && peer[0] && strcmp(peer, server) != 0)
    fprintf(out, "address %s, ", peer);
  if(s && mw_smtp_is_encrypted(s))
    fputs(mw_smtp_tls_version(s), out);
  else
    fputs("NOT encrypted", out);
  if(auth)
    fprintf(out, ", AUTH %s", auth);
  fputc(')', out);
  if(qid[0])
    fprintf(out, ", queued as %s", qid);
  fputc('\n', out);
}

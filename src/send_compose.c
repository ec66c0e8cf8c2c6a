/*
 * send_compose.c - composing the message of `mailwire send` (see
 * send_compose.h).  The CLI only reads the small texts (body, HTML) and
 * names the files; the library's composer (GMime) does every encoding.
 */
#include "send_compose.h"

#include "exitcode.h"
#include "flags.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void describe_cap(unsigned long long n, char *out, size_t len)
{
  if(n >= (1ULL << 20) && n % (1ULL << 20) == 0)
    snprintf(out, len, "%llu bytes (%lluM)", n, n >> 20);
  else
    snprintf(out, len, "%llu bytes", n);
}

char *cli_read_whole_file(const char *what, const char *path,
                          unsigned long long cap, bool explicit_cap,
                          size_t *len, int *code, char *err, size_t errlen)
{
  char limit[64];
  describe_cap(cap, limit, sizeof(limit));
  *code = EXIT_NOINPUT;
  bool is_stdin = strcmp(path, "-") == 0;
  FILE *f = is_stdin ? stdin : fopen(path, "rb");
  if(!f) {
    snprintf(err, errlen, "%s: cannot read '%s': %s", what, path,
             strerror(errno));
    return NULL;
  }
  struct stat st;
  bool over = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) &&
              (unsigned long long)st.st_size > cap;
  size_t cap_sz = 65536, used = 0;
  char *buf = over ? NULL : malloc(cap_sz);
  size_t n;
  while(buf && !over &&
        (n = fread(buf + used, 1, cap_sz - used, f)) > 0) {
    used += n;
    if(used > cap) {
      over = true;
      break;
    }
    if(used == cap_sz) {
      char *p = realloc(buf, cap_sz * 2);
      if(!p) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = p;
      cap_sz *= 2;
    }
  }
  bool failed = !buf || ferror(f);
  if(!is_stdin)
    fclose(f);
  if(over) {
    snprintf(err, errlen, "%s: '%s' is larger than the %s of %s "
                          "(--max-message-size SIZE changes it); nothing "
                          "was sent",
             what, path, explicit_cap ? "limit" : "default limit", limit);
    *code = EXIT_DATAERR;
    free(buf);
    return NULL;
  }
  if(failed) {
    snprintf(err, errlen, "%s: cannot read '%s'", what, path);
    *code = buf ? EXIT_IOERR : EXIT_SOFTWARE;
    free(buf);
    return NULL;
  }
  *len = used;
  *code = EXIT_OK;
  return buf;
}

static int add_headers(const struct send_args *a, mw_compose *c,
                       mw_status *st, char *err, size_t errlen)
{
  for(size_t i = 0; !*st && i < a->headers.count; i++) {
    const char *h = a->headers.items[i];
    const char *colon = strchr(h, ':');
    char name[128];
    size_t nl = (size_t)(colon - h);
    if(nl >= sizeof(name)) {
      snprintf(err, errlen, "--header: name too long in '%.40s...'", h);
      return EXIT_DATAERR;
    }
    memcpy(name, h, nl);
    name[nl] = '\0';
    const char *value = colon + 1;
    while(*value == ' ' || *value == '\t')
      value++;
    *st = mw_compose_add_header(c, name, value);
  }
  return EXIT_OK;
}

int cli_compose(const struct send_args *a, mw_compose **out,
                mw_message_info *info, char *err, size_t errlen)
{
  *out = NULL;
  mw_compose *c = mw_compose_new();
  if(!c) {
    snprintf(err, errlen, "out of memory");
    return EXIT_SOFTWARE;
  }
  unsigned long long cap = a->max_message_size
                               ? a->max_message_size
                               : CLI_DEFAULT_MAX_MESSAGE_SIZE;
  char *body = NULL, *html = NULL;
  size_t body_len = 0, html_len = 0;
  int rc = EXIT_OK;
  if(a->body_file)
    body = cli_read_whole_file("--body-file", a->body_file, cap,
                               a->max_message_size != 0, &body_len, &rc, err,
                               errlen);
  else if(a->body)
    body_len = strlen(a->body);
  if(!rc && a->html_file)
    html = cli_read_whole_file("--html", a->html_file, cap,
                               a->max_message_size != 0, &html_len, &rc, err,
                               errlen);
  mw_status st = MW_OK;
  const char *what = NULL; /* the option a failure belongs to */
  if(!rc) {
    st = mw_compose_set_from(c, a->from);
    for(size_t i = 0; !st && i < a->to.count; i++)
      st = mw_compose_add_to(c, a->to.items[i]);
    for(size_t i = 0; !st && i < a->cc.count; i++)
      st = mw_compose_add_cc(c, a->cc.items[i]);
    if(!st)
      st = mw_compose_set_subject(c, a->subject ? a->subject : "");
    if(!st)
      st = mw_compose_set_body(c, body ? body : a->body, body_len);
    if(!st && html) {
      what = "--html";
      st = mw_compose_set_html(c, html, html_len);
    }
    for(size_t i = 0; !st && i < a->attach.count; i++) {
      what = "--attach";
      st = mw_compose_add_attachment(c, a->attach.items[i], NULL,
                                     a->attach_type.items[i]);
    }
    for(size_t i = 0; !st && i < a->inline_files.count; i++) {
      what = "--inline";
      st = mw_compose_add_inline(c, a->inline_files.items[i], NULL, NULL);
    }
    if(!st) {
      what = NULL;
      rc = add_headers(a, c, &st, err, errlen);
    }
  }
  free(body);
  free(html);
  if(!rc && !st) {
    /* Not silence: a script that lost its body text should hear of it. */
    if(!body_len && !html_len)
      fprintf(stderr, "mailwire: warning: the message body is empty\n");
    uint64_t size = 0;
    st = mw_compose_open(c, &size);
    if(!st)
      st = mw_message_info_scan_reader(info, mw_compose_read, c);
    if(!st)
      st = mw_compose_open(c, NULL); /* rewind for sending */
    if(st == MW_E_MESSAGE && info->long_line) {
      /* Only a header can be that long: every body is encoded. */
      snprintf(err, errlen, "line %llu of the message is longer than 998 "
                            "bytes; nothing was sent",
               (unsigned long long)info->long_line);
      rc = EXIT_DATAERR;
    }
  }
  if(!rc && st) {
    const char *detail = cli_text(mw_compose_error_message(c));
    if(what)
      snprintf(err, errlen, "%s: %s", what, detail);
    else
      snprintf(err, errlen, "%s", detail[0] ? detail
                                            : "cannot build the message");
    rc = st == MW_E_IO && what ? EXIT_NOINPUT
         : st == MW_E_IO       ? EXIT_IOERR
         : st == MW_E_MESSAGE || st == MW_E_INVALID ? EXIT_DATAERR
                                                    : EXIT_SOFTWARE;
  }
  if(rc) {
    mw_compose_free(c);
    return rc;
  }
  *out = c;
  return EXIT_OK;
}

void cli_fit_7bit(mw_smtp *s, FILE *msg_file, mw_compose **comp,
                  mw_message_info *info)
{
  /* A composed message is 7-bit already (GMime chose each part's
   * encoding); a --message file is parsed by GMime where it is (the
   * descriptor's offset is the message's start after the rewind). */
  if(*comp || !msg_file || !info->has_8bit || info->needs_smtputf8 ||
     info->binary || mw_smtp_has_capability(s, "8BITMIME"))
    return;
  mw_message_info before = *info;
  mw_compose *c = fflush(msg_file) == 0 ? mw_compose_new() : NULL;
  mw_status st = c ? mw_compose_set_message_fd(c, fileno(msg_file))
                   : MW_E_NOMEM;
  if(!st)
    st = mw_compose_set_7bit(c, true);
  if(!st)
    st = mw_compose_open(c, NULL);
  if(!st)
    st = mw_message_info_scan_reader(info, mw_compose_read, c);
  if(!st)
    st = mw_compose_open(c, NULL); /* rewind for sending */
  if(st) {
    const char *detail = c ? cli_text(mw_compose_error_message(c)) : "";
    fprintf(stderr, "mailwire: warning: the server does not offer "
                    "8BITMIME and the message could not be re-encoded: "
                    "%s\n",
            detail[0] ? detail : mw_status_message(st));
    *info = before; /* the library refuses it: never sent raw */
    mw_compose_free(c);
    return;
  }
  *comp = c;
  fprintf(stderr, "mailwire: note: the server does not offer 8BITMIME: "
                  "8-bit parts re-encoded (quoted-printable or base64)\n");
}

/*
 * cmd_explain.c - `mailwire explain`: what an SMTP reply means, and the
 * catalogue of causes (`--list`).
 *
 * Owns: the explain command's arguments, its human and JSON output.  The
 * meaning itself comes from the library (mw_explain, mw_cause_list); this
 * file uses only include/mailwire.h.
 */
#include "commands.h"
#include "exitcode.h"
#include "flags.h"
#include "output.h"

#include "mailwire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum {
  EXPLAIN_OK = 0,
  EXPLAIN_USAGE = 64,   /* EX_USAGE */
  EXPLAIN_SOFTWARE = 70 /* EX_SOFTWARE */
};

#define WRAP_COLUMNS 79

static const char explain_help[] =
    "Usage: mailwire explain [--json] CODE [ENHANCED] [TEXT...]\n"
    "       mailwire explain [--json] IMAP-OR-POP3-RESPONSE\n"
    "       mailwire explain --list [--json]\n"
    "\n"
    "Explains an SMTP reply: what the server means, the cause it points to\n"
    "(the ids `mailwire doctor` uses) and what to do.  CODE is a reply code\n"
    "(e.g. 535), ENHANCED an RFC 3463 status code (e.g. 5.7.8); either may\n"
    "be given alone.  Give the whole reply line so that the big providers'\n"
    "own replies (Gmail, Microsoft 365) are recognised.  POP3 and IMAP\n"
    "responses are explained too, by their status, response code (RFC\n"
    "5530, RFC 2449 / 3206) and text.\n"
    "\n"
    "Examples:\n"
    "  mailwire explain 535 5.7.8\n"
    "  mailwire explain 550 5.7.26 Unauthenticated email is not accepted\n"
    "  mailwire explain --json 421\n"
    "  mailwire explain 'a1 NO [AUTHENTICATIONFAILED] Invalid credentials'\n"
    "  mailwire explain -ERR [IN-USE] Mailbox locked\n"
    "\n"
    "Options:\n"
    "  --json    print the explanation (or the list) as JSON on stdout\n"
    "  --list    list every cause id with its summary\n"
    "  --help    show this help\n"
    "  --        end of options: every following word is reply text\n"
    "\n"
    "Exit status: 0 explained; 64 usage (no code, unparseable code, unknown\n"
    "option).\n";

/* With --json on the command line, usage errors are JSON on stdout too
 * (output_early_error). */
static bool usage_json;

static int usage_error(const char *msg)
{
  output_early_error("explain", usage_json, EXPLAIN_USAGE, msg);
  fprintf(stderr, "Try 'mailwire explain --help'.\n");
  return EXPLAIN_USAGE;
}

/* Display columns of s[0..len): UTF-8 continuation bytes take none. */
static size_t columns(const char *s, size_t len)
{
  size_t n = 0;
  for(size_t i = 0; i < len; i++) {
    if(((unsigned char)s[i] & 0xc0) != 0x80)
      n++;
  }
  return n;
}

/* Prints label then text, wrapped at WRAP_COLUMNS on spaces; continuation
 * lines are indented by indent columns. */
static void print_wrapped(FILE *f, const char *label, const char *text,
                          size_t indent)
{
  size_t col = columns(label, strlen(label));
  bool first = true;
  fputs(label, f);
  const char *p = text;
  while(*p) {
    while(*p == ' ')
      p++;
    if(!*p)
      break;
    size_t len = strcspn(p, " ");
    size_t w = columns(p, len);
    if(!first && col + 1 + w > WRAP_COLUMNS) {
      fprintf(f, "\n%*s", (int)indent, "");
      col = indent;
    }
    else if(!first) {
      fputc(' ', f);
      col++;
    }
    fwrite(p, 1, len, f);
    col += w;
    first = false;
    p += len;
  }
  fputc('\n', f);
}

static void print_human(FILE *f, const mw_explanation *x)
{
  const mw_cause *c = mw_cause_find(x->cause_id);
  char codes[40], head[512];
  if(x->protocol && strcmp(x->protocol, "SMTP") != 0)
    snprintf(codes, sizeof(codes), "%s%s%s%s", x->protocol,
             x->response_code[0] ? " [" : "", x->response_code,
             x->response_code[0] ? "]" : "");
  else if(x->code && x->enhanced[0])
    snprintf(codes, sizeof(codes), "%d %s", x->code, x->enhanced);
  else if(x->code)
    snprintf(codes, sizeof(codes), "%d", x->code);
  else
    snprintf(codes, sizeof(codes), "%s", x->enhanced);
  snprintf(codes + strlen(codes), sizeof(codes) - strlen(codes),
           " \xe2\x80\x94 "); /* an em dash */
  snprintf(head, sizeof(head), "%s (%s%s%s)", c ? cli_text(c->summary) : "",
           x->cause_id, x->provider ? ", " : "",
           x->provider ? x->provider : "");
  print_wrapped(f, codes, head, 4);
  print_wrapped(f, "meaning: ", cli_text(x->meaning), 9);
  print_wrapped(f, "advice:  ", cli_text(x->advice), 9);
  if(strcmp(x->cause_id, "healthy") == 0)
    fputs("success (not an error)\n", f);
  else if(x->temporary)
    fputs("temporary (retry later)\n", f);
  else
    fputs("permanent (do not retry unchanged)\n", f);
}

static void print_json(FILE *f, const mw_explanation *x)
{
  fputs("{\"code\":", f);
  if(x->code)
    fprintf(f, "%d", x->code);
  else
    fputs("null", f);
  fputs(",\"enhanced\":", f);
  output_json_string(f, x->enhanced[0] ? x->enhanced : NULL);
  fputs(",\"cause\":", f);
  output_json_string(f, x->cause_id);
  fputs(",\"meaning\":", f);
  output_json_string(f, cli_text(x->meaning));
  fputs(",\"advice\":", f);
  output_json_string(f, cli_text(x->advice));
  fputs(",\"provider\":", f);
  output_json_string(f, x->provider);
  fprintf(f, ",\"temporary\":%s", x->temporary ? "true" : "false");
  fputs(",\"protocol\":", f);
  output_json_string(f, x->protocol);
  fputs(",\"response_code\":", f);
  output_json_string(f, x->response_code[0] ? x->response_code : NULL);
  fputs("}\n", f);
}

static void print_list(FILE *f, bool json)
{
  size_t n = 0;
  const mw_cause *c = mw_cause_list(&n);
  if(!json) {
    for(size_t i = 0; i < n; i++)
      fprintf(f, "%-36s %s\n", c[i].id, cli_text(c[i].summary));
    return;
  }
  fputs("[", f);
  for(size_t i = 0; i < n; i++) {
    fputs(i ? ",\n {\"id\":" : "{\"id\":", f);
    output_json_string(f, c[i].id);
    fputs(",\"summary\":", f);
    output_json_string(f, cli_text(c[i].summary));
    fputs(",\"fix\":", f);
    output_json_string(f, cli_text(c[i].fix));
    fprintf(f, ",\"exit_code\":%d}", exitcode_for_cause(&c[i]));
  }
  fputs("]\n", f);
}

/* The words joined by single spaces, or NULL when out of memory. */
static char *join_words(char **words, size_t count)
{
  size_t len = 1;
  for(size_t i = 0; i < count; i++)
    len += strlen(words[i]) + 1;
  char *s = malloc(len);
  if(!s)
    return NULL;
  size_t used = 0;
  for(size_t i = 0; i < count; i++) {
    size_t n = strlen(words[i]);
    if(i)
      s[used++] = ' ';
    memcpy(s + used, words[i], n);
    used += n;
  }
  s[used] = '\0';
  return s;
}

int cmd_explain(int argc, char **argv)
{
  bool json = false, list = false, help = false, options_done = false;
  char **words = calloc(argc > 0 ? (size_t)argc : 1, sizeof(*words));
  size_t nwords = 0;
  if(!words) {
    fputs("mailwire explain: out of memory\n", stderr);
    return EXPLAIN_SOFTWARE;
  }
  usage_json = false;
  for(int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++)
    usage_json = usage_json || strcmp(argv[i], "--json") == 0;
  /* Options come anywhere; once the reply has begun, only the long
   * options are read and any other word starting with '-' is reply text. */
  for(int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if(!options_done && strcmp(a, "--") == 0)
      options_done = true;
    else if(!options_done && strcmp(a, "--json") == 0)
      json = true;
    else if(!options_done && strcmp(a, "--list") == 0)
      list = true;
    else if(!options_done &&
            (strcmp(a, "--help") == 0 || (!nwords && strcmp(a, "-h") == 0)))
      help = true;
    else if(!options_done && !nwords && a[0] == '-' && a[1] &&
            strncasecmp(a, "-ERR", 4) != 0) { /* a POP3 refusal is text */
      char msg[160];
      snprintf(msg, sizeof(msg), "unknown option '%.100s'", a);
      free(words);
      return usage_error(msg);
    }
    else
      words[nwords++] = argv[i];
  }
  if(help) {
    fputs(explain_help, stdout);
    free(words);
    return EXPLAIN_OK;
  }
  if(list) {
    free(words);
    if(nwords)
      return usage_error("--list takes no reply code");
    print_list(stdout, json);
    return EXPLAIN_OK;
  }
  if(!nwords) {
    free(words);
    return usage_error("no reply code given (e.g. mailwire explain 535 "
                       "5.7.8)");
  }
  char *text = join_words(words, nwords);
  free(words);
  if(!text) {
    fputs("mailwire explain: out of memory\n", stderr);
    return EXPLAIN_SOFTWARE;
  }
  mw_explanation x;
  if(mw_explain(text, &x) != MW_OK) {
    char msg[300];
    snprintf(msg, sizeof(msg),
             "'%.80s%s' does not start with an SMTP reply code: give a "
             "reply code from 200 to 599 (e.g. 535), an enhanced status "
             "code (e.g. 5.7.8), or both; or a POP3 or IMAP response "
             "(-ERR ..., TAG NO ..., * BYE ...)",
             text, strlen(text) > 80 ? "..." : "");
    free(text);
    return usage_error(msg);
  }
  if(json)
    print_json(stdout, &x);
  else
    print_human(stdout, &x);
  free(text);
  return EXPLAIN_OK;
}

/*
 * cmd_doctor.c - `mailwire doctor HOST[:PORT]`: run the checks, print the
 * report (a table on a terminal, JSON with --json), exit with the cause's
 * class.
 */
#include "args.h"
#include "commands.h"
#include "exitcode.h"
#include "flags.h"
#include "output.h"
#include "secrets.h"
#include "settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct colours {
  const char *ok, *warn, *fail, *skip, *bold, *reset;
};

static void print_human(FILE *f, const mw_report *r, bool colour)
{
  struct colours c = {"", "", "", "", "", ""};
  if(colour)
    c = (struct colours){"\033[32m", "\033[33m", "\033[31m", "\033[2m",
                         "\033[1m", "\033[0m"};
  mw_protocol proto = mw_report_protocol(r);
  fprintf(f, "%smailwire doctor %s%s%s port %u%s (TLS mode %s)\n", c.bold,
          proto == MW_PROTOCOL_SMTP ? "" : mw_protocol_name(proto),
          proto == MW_PROTOCOL_SMTP ? "" : " ", mw_report_host(r),
          mw_report_port(r), c.reset, mw_report_tls_mode(r));
  for(size_t i = 0; i < mw_report_check_count(r); i++) {
    mw_check_status st = mw_report_check_status(r, i);
    const char *col = st == MW_CHECK_OK     ? c.ok
                      : st == MW_CHECK_WARN ? c.warn
                      : st == MW_CHECK_FAIL ? c.fail
                                            : c.skip;
    fprintf(f, "  %s%-7s%s %-12s %7.0f ms  %s\n", col,
            mw_check_status_name(st), c.reset, mw_report_check_layer(r, i),
            mw_report_check_ms(r, i),
            cli_text(mw_report_check_evidence(r, i)));
  }
  const mw_cause *cause = mw_report_cause(r);
  bool healthy = cause && strcmp(cause->id, "healthy") == 0;
  fprintf(f, "\n%sdiagnosis:%s %s%s%s  [%s]\n", c.bold, c.reset,
          healthy ? c.ok : c.fail, cli_text(mw_report_summary(r)), c.reset,
          cause ? cause->id : "?");
  if(mw_report_detected_mode(r))
    fprintf(f, "%sport speaks:%s %s\n", c.bold, c.reset,
            mw_report_detected_mode(r));
  fprintf(f, "%sfix:%s %s\n", c.bold, c.reset,
          cli_text(mw_report_fix(r)));
}

static void print_json(FILE *f, const mw_report *r)
{
  const mw_cause *cause = mw_report_cause(r);
  fputs("{\"host\":", f);
  output_json_string(f, mw_report_host(r));
  fprintf(f, ",\"port\":%u,\"protocol\":", mw_report_port(r));
  output_json_string(f, mw_protocol_name(mw_report_protocol(r)));
  fputs(",\"tls_mode\":", f);
  output_json_string(f, mw_report_tls_mode(r));
  fputs(",\"detected_mode\":", f);
  output_json_string(f, mw_report_detected_mode(r));
  fputs(",\"checks\":[", f);
  for(size_t i = 0; i < mw_report_check_count(r); i++) {
    fputs(i ? ",{\"layer\":" : "{\"layer\":", f);
    output_json_string(f, mw_report_check_layer(r, i));
    fputs(",\"status\":", f);
    output_json_string(f, mw_check_status_name(mw_report_check_status(r, i)));
    fprintf(f, ",\"ms\":%.1f,\"evidence\":", mw_report_check_ms(r, i));
    output_json_string(f, cli_text(mw_report_check_evidence(r, i)));
    fputs("}", f);
  }
  fputs("],\"diagnosis\":{\"id\":", f);
  output_json_string(f, cause ? cause->id : NULL);
  fputs(",\"summary\":", f);
  output_json_string(f, cli_text(mw_report_summary(r)));
  fputs(",\"fix\":", f);
  output_json_string(f, cli_text(mw_report_fix(r)));
  fprintf(f, ",\"exit_code\":%d}}\n", exitcode_for_cause(cause));
}

static int cmd_doctor_words(int argc, char **argv);

int cmd_doctor(int argc, char **argv)
{
  char **words = NULL;
  int n = 0;
  int rc = cli_apply_profile("doctor", argc, argv, &words, &n);
  if(rc)
    return rc;
  rc = cmd_doctor_words(n, words);
  cli_free_words(words, n);
  return rc;
}

static int cmd_doctor_words(int argc, char **argv)
{
  struct send_args *a = calloc(1, sizeof(*a));
  char err[1024];
  if(!a)
    return EXIT_SOFTWARE;
  if(cli_parse_doctor(argc, argv, a, err, sizeof(err))) {
    cli_args_free(a);
    return output_early_error("doctor", cli_wants_json(argc, argv),
                              EXIT_USAGE, err);
  }
  if(a->help) {
    cli_print_help(stdout, CLI_DOCTOR);
    cli_args_free(a);
    return EXIT_OK;
  }
  if(mw_global_init() != MW_OK) {
    cli_args_free(a);
    return EXIT_SOFTWARE;
  }
  char *password = NULL, *token = NULL;
  mw_options *o = mw_options_new();
  int code = o ? cli_build_options(a, o, &password, &token, err, sizeof(err))
               : EXIT_SOFTWARE;
  if(code) {
    output_early_error("doctor", a->json, code, o ? err : "out of memory");
    goto done;
  }
  if(a->trace && !a->trace_file)
    mw_options_set_trace(o, output_trace, stderr);
  mw_report *r = NULL;
  mw_status st = mw_doctor_run(o, a->from, a->to.count ? a->to.items[0]
                                                       : NULL, &r);
  if(st) {
    fprintf(stderr, "mailwire doctor: %s\n", mw_status_message(st));
    code = st == MW_E_INVALID ? EXIT_USAGE : EXIT_SOFTWARE;
    goto done;
  }
  if(a->json)
    print_json(stdout, r);
  else
    print_human(stdout, r, !a->no_color && isatty(STDOUT_FILENO) &&
                               !getenv("NO_COLOR"));
  code = exitcode_for_cause(mw_report_cause(r));
  mw_report_free(r);
done:
  mw_options_free(o);
  secret_free(password);
  secret_free(token);
  cli_args_free(a);
  mw_global_cleanup();
  return code;
}

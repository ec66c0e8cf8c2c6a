/*
 * diagnose.c - find why a connection to a mail server fails, and the fix.
 *
 * usage: diagnose HOST[:PORT]|URL [CA_FILE]
 *
 * Runs mw_doctor_run() (DNS, TCP, greeting, TLS mode, certificate, EHLO
 * or capabilities, ...) and prints every check, then the cause (a stable
 * id from the catalogue), its summary and the fix.  The fix names
 * settings as tokens ("{tls=implicit}"); mw_render_settings() spells them
 * here as this program's users would set them: the API's own names.
 * Exit status: 0 healthy, 1 a problem was found, 2 usage.
 * Build: cc diagnose.c $(pkg-config --cflags --libs mailwire)
 */
#include <mailwire.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prints text with its setting tokens rendered (default: API names). */
static void print_rendered(const char *label, const char *text)
{
  size_t need = mw_render_settings(text, NULL, NULL, NULL, 0);
  char *buf = malloc(need + 1);
  if(!buf)
    return;
  mw_render_settings(text, NULL, NULL, buf, need + 1);
  printf("%s: %s\n", label, buf);
  free(buf);
}

int main(int argc, char **argv)
{
  if(argc < 2 || argc > 3) {
    fprintf(stderr, "usage: diagnose HOST[:PORT]|URL [CA_FILE]\n");
    return 2;
  }
  if(mw_global_init() != MW_OK)
    return 1;
  int rc = 1;
  mw_report *rep = NULL;
  mw_options *o = mw_options_new();
  /* A URL (smtps://, imaps://, pop3://...) says the protocol too. */
  mw_status st = !o ? MW_E_NOMEM
                 : strchr(argv[1], '/') ? mw_options_set_server_url(o, argv[1])
                                        : mw_options_set_server_string(o, argv[1]);
  if(st == MW_OK && argc == 3)
    st = mw_options_set_tls_ca_file(o, argv[2]);
  if(st == MW_OK)
    st = mw_doctor_run(o, NULL, NULL, &rep);
  if(st != MW_OK) {
    fprintf(stderr, "doctor: %s\n", mw_status_message(st));
    goto out;
  }
  printf("%s port %u (%s, TLS %s)\n", mw_report_host(rep),
         mw_report_port(rep), mw_protocol_name(mw_report_protocol(rep)),
         mw_report_tls_mode(rep));
  for(size_t i = 0; i < mw_report_check_count(rep); i++)
    printf("  %-12s %-5s %s\n", mw_report_check_layer(rep, i),
           mw_check_status_name(mw_report_check_status(rep, i)),
           mw_report_check_evidence(rep, i));
  const mw_cause *cause = mw_report_cause(rep);
  printf("cause: %s\n", cause ? cause->id : "(none)");
  print_rendered("summary", mw_report_summary(rep));
  print_rendered("fix", mw_report_fix(rep));
  rc = cause && cause->cause_class == MW_CAUSE_HEALTHY ? 0 : 1;

out:
  mw_report_free(rep);
  mw_options_free(o);
  mw_global_cleanup();
  return rc;
}

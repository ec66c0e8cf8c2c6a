/* Unit tests: src/secrets.c - password and token commands are bounded: a
 * command that hangs is ended after its timeout with its whole process
 * group (a grandchild included), a flood of output is cut at 64 KiB, and
 * the errors name the option and the limit, never the output. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "secrets.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double mono_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Gone, or a zombie nobody reaped (its parent was killed). */
static int process_gone(pid_t pid)
{
  char path[64], line[256];
  snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  if(!f)
    return 1;
  int gone = 0;
  while(fgets(line, sizeof(line), f))
    if(strncmp(line, "State:", 6) == 0)
      gone = strchr(line, 'Z') != NULL || strchr(line, 'X') != NULL;
  fclose(f);
  return gone;
}

static void hanging_command_and_its_grandchild_are_ended(void **state)
{
  (void)state;
  char pidfile[] = "/tmp/mw-unit-secret-XXXXXX";
  int fd = mkstemp(pidfile);
  assert_true(fd >= 0);
  close(fd);
  char cmd[256];
  snprintf(cmd, sizeof(cmd),
           "printf Part-Secret; sleep 300 & echo $! > %s; wait", pidfile);
  char err[512] = "";
  double t0 = mono_s();
  char *s = secret_from_command(cmd, "--password-cmd", 300, err,
                                sizeof(err));
  double secs = mono_s() - t0;
  assert_null(s);
  assert_true(secs < 3.0);
  assert_non_null(strstr(err, "--password-cmd: the command did not finish "
                              "within 300ms; its process group was "
                              "killed"));
  assert_null(strstr(err, "Part-Secret"));
  FILE *f = fopen(pidfile, "r");
  int pid = 0;
  assert_non_null(f);
  assert_int_equal(fscanf(f, "%d", &pid), 1);
  fclose(f);
  unlink(pidfile);
  for(int i = 0; i < 100 && !process_gone(pid); i++)
    usleep(20000);
  int gone = process_gone(pid);
  if(!gone)
    kill(pid, SIGKILL);
  assert_true(gone);
}

static void output_is_bounded(void **state)
{
  (void)state;
  char err[512] = "";
  double t0 = mono_s();
  char *s = secret_from_command("yes Flood", "--oauth2-token-cmd", 5000,
                                err, sizeof(err));
  assert_null(s);
  assert_true(mono_s() - t0 < 3.0);
  assert_non_null(strstr(err, "--oauth2-token-cmd: the command printed "
                              "more than 65536 bytes"));
  /* Exactly the bound is still a secret (its first line). */
  s = secret_from_command("printf 'tok\\n'; head -c 65000 /dev/zero",
                          "--oauth2-token-cmd", 5000, err, sizeof(err));
  assert_non_null(s);
  assert_string_equal(s, "tok");
  secret_free(s);
}

static void ordinary_commands(void **state)
{
  (void)state;
  char err[512] = "";
  char *s = secret_from_command("echo pw-1; echo second", "--password-cmd",
                                0, err, sizeof(err));
  assert_non_null(s);
  assert_string_equal(s, "pw-1");
  secret_free(s);
  s = secret_from_command("echo out; exit 3", "--password-cmd", 0, err,
                          sizeof(err));
  assert_null(s);
  assert_non_null(strstr(err, "exit status 3"));
  assert_null(strstr(err, "out"));
  s = secret_from_command("true", "--password-cmd", 0, err, sizeof(err));
  assert_null(s);
  assert_non_null(strstr(err, "printed nothing"));
  s = secret_from_command("kill -TERM $$", "--password-cmd", 0, err,
                          sizeof(err));
  assert_null(s);
  assert_non_null(strstr(err, "killed by signal 15"));
  /* A command that exits while a background child keeps the output open
   * is done when it exits, not when the child does. */
  double t0 = mono_s();
  s = secret_from_command("echo quick; sleep 2 &", "--password-cmd", 10000,
                          err, sizeof(err));
  assert_non_null(s);
  assert_string_equal(s, "quick");
  assert_true(mono_s() - t0 < 1.5);
  secret_free(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(hanging_command_and_its_grandchild_are_ended),
      cmocka_unit_test(output_is_bounded),
      cmocka_unit_test(ordinary_commands),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * store/mda.c - the MDA kind of mw_store: a command run once per message.
 *
 * Owns: spooling the message, running the command, its environment and
 * its time limit.
 *
 * The message (LF line ends) is spooled to an unlinked temporary file
 * (tmpfile(3): mode 0600, gone when closed), so memory stays constant and
 * the command gets a seekable stdin.  At commit, /bin/sh -c COMMAND runs
 * with that file on stdin, its stdout sent to our stderr (a CLI's stdout
 * stays clean), every other descriptor closed, default signal handling,
 * its own process group, and a fresh environment: PATH, HOME, USER,
 * LOGNAME, LANG, LC_ALL, LC_CTYPE, TZ and TMPDIR from ours when set, plus
 *     MAILWIRE_KEY     the caller's key for the message
 *     MAILWIRE_SIZE    its size in bytes, as given to the command
 *     MAILWIRE_SENDER  the envelope sender given to mw_store_begin()
 * and nothing else, so a password in our environment never reaches it.
 * Success is exit status 0.  After the time limit the whole process group
 * is killed.  Delivery is at least once: a command that delivered and
 * then failed, or a crash after the command and before the caller records
 * the message, runs it again for the same message (the command can use
 * MAILWIRE_KEY to recognise that).
 */
#define _GNU_SOURCE /* posix_spawn_file_actions_addclosefrom_np */
#include "store/store.h"

#include "core/util.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct mda {
  FILE *spool;
};

static mw_status mda_open(struct mw_store *s)
{
  struct mda *m = mw__calloc(1, sizeof(*m));
  if(!m)
    return mw__error_set(&s->err, MW_E_NOMEM, NULL);
  s->impl = m;
  return MW_OK;
}

static bool mda_contains(const struct mw_store *s, const char *hash)
{
  (void)s;
  (void)hash;
  return false;
}

static mw_status mda_begin(struct mw_store *s)
{
  struct mda *m = s->impl;
  m->spool = tmpfile();
  if(!m->spool)
    return mw__store_syserr(s, "cannot create a temporary file for",
                            "the MDA");
  return MW_OK;
}

static mw_status mda_put(struct mw_store *s, const char *data, size_t len)
{
  struct mda *m = s->impl;
  if(!mw__write_all(m->spool, data, len))
    return mw__store_syserr(s, "cannot write a temporary file for",
                            "the MDA");
  return MW_OK;
}

static const char *const pass_env[] = {"PATH", "HOME", "USER", "LOGNAME",
                                       "LANG", "LC_ALL", "LC_CTYPE", "TZ",
                                       "TMPDIR"};
#define ENV_MAX (sizeof(pass_env) / sizeof(pass_env[0]) + 4)

static void free_env(char **env)
{
  for(size_t i = 0; env[i]; i++)
    mw__free(env[i]);
}

static bool build_env(struct mw_store *s, char **env)
{
  size_t n = 0;
  struct mw__sbuf b;
  for(size_t i = 0; i < sizeof(pass_env) / sizeof(pass_env[0]); i++) {
    const char *v = getenv(pass_env[i]);
    if(!v && strcmp(pass_env[i], "PATH") == 0)
      v = "/usr/local/bin:/usr/bin:/bin";
    if(!v)
      continue;
    mw__sbuf_init(&b);
    mw__sbuf_printf(&b, "%s=%s", pass_env[i], v);
    if(!(env[n++] = mw__sbuf_steal(&b)))
      return false;
  }
  mw__sbuf_init(&b);
  mw__sbuf_printf(&b, "MAILWIRE_KEY=%s", s->key);
  if(!(env[n++] = mw__sbuf_steal(&b)))
    return false;
  mw__sbuf_init(&b);
  mw__sbuf_printf(&b, "MAILWIRE_SIZE=%llu", (unsigned long long)s->size);
  if(!(env[n++] = mw__sbuf_steal(&b)))
    return false;
  mw__sbuf_init(&b);
  mw__sbuf_printf(&b, "MAILWIRE_SENDER=%s", s->sender);
  if(!(env[n++] = mw__sbuf_steal(&b)))
    return false;
  env[n] = NULL;
  return true;
}

static int spawn(struct mw_store *s, int in_fd, char **env, pid_t *pid)
{
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  int rc = posix_spawn_file_actions_init(&fa);
  if(rc)
    return rc;
  rc = posix_spawnattr_init(&at);
  if(rc) {
    posix_spawn_file_actions_destroy(&fa);
    return rc;
  }
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  if(!rc)
    rc = posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
  if(!rc)
    rc = posix_spawn_file_actions_adddup2(&fa, 2, 1);
  if(!rc)
    rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  if(!rc)
    rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP |
                                           POSIX_SPAWN_SETSIGMASK |
                                           POSIX_SPAWN_SETSIGDEF);
  if(!rc)
    rc = posix_spawnattr_setpgroup(&at, 0);
  if(!rc)
    rc = posix_spawnattr_setsigmask(&at, &none);
  if(!rc)
    rc = posix_spawnattr_setsigdefault(&at, &all);
  if(!rc) {
    char *argv[] = {(char *)"sh", (char *)"-c", s->target, NULL};
    rc = posix_spawn(pid, "/bin/sh", &fa, &at, argv, env);
  }
  posix_spawnattr_destroy(&at);
  posix_spawn_file_actions_destroy(&fa);
  return rc;
}

/* Waits for pid within the store's limit; kills its group after it. */
static mw_status wait_child(struct mw_store *s, pid_t pid, int *status)
{
  int64_t deadline = s->mda_timeout_ms ? mw__now_ms() + s->mda_timeout_ms
                                       : INT64_MAX;
  long nap_us = 1000;
  for(;;) {
    pid_t r = waitpid(pid, status, WNOHANG);
    if(r == pid)
      return MW_OK;
    if(r < 0 && errno != EINTR)
      return mw__error_set(&s->err, MW_E_IO,
                           "waiting for the MDA command \"%s\": %s",
                           s->target, strerror(errno));
    if(mw__now_ms() >= deadline) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      while(waitpid(pid, status, 0) < 0 && errno == EINTR)
        ;
      return mw__error_set(&s->err, MW_E_TIMEOUT,
                           "the MDA command \"%s\" ran longer than %u ms "
                           "and was killed", s->target, s->mda_timeout_ms);
    }
    struct timespec ts = {0, nap_us * 1000};
    nanosleep(&ts, NULL);
    if(nap_us < 50000)
      nap_us *= 2;
  }
}

static mw_status mda_commit(struct mw_store *s)
{
  struct mda *m = s->impl;
  if(fflush(m->spool) != 0)
    return mw__store_syserr(s, "cannot write a temporary file for",
                            "the MDA");
  if(lseek(fileno(m->spool), 0, SEEK_SET) != 0)
    return mw__store_syserr(s, "cannot rewind a temporary file for",
                            "the MDA");
  char *env[ENV_MAX + 1] = {0};
  if(!build_env(s, env)) {
    free_env(env);
    return mw__error_set(&s->err, MW_E_NOMEM, NULL);
  }
  pid_t pid;
  int rc = spawn(s, fileno(m->spool), env, &pid);
  free_env(env);
  if(rc != 0)
    return mw__error_set(&s->err, MW_E_IO,
                         "cannot run the MDA command \"%s\": %s", s->target,
                         strerror(rc));
  int status = 0;
  s->mda_exit_status = -1;
  mw_status st = wait_child(s, pid, &status);
  if(st != MW_OK)
    return st;
  if(WIFEXITED(status))
    s->mda_exit_status = WEXITSTATUS(status);
  if(WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    fclose(m->spool);
    m->spool = NULL;
    return MW_OK;
  }
  if(WIFEXITED(status))
    return mw__error_set(&s->err, MW_E_IO,
                         "the MDA command \"%s\" failed with exit status %d",
                         s->target, WEXITSTATUS(status));
  return mw__error_set(&s->err, MW_E_IO,
                       "the MDA command \"%s\" was killed by signal %d",
                       s->target, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

static void mda_abort(struct mw_store *s)
{
  struct mda *m = s->impl;
  if(m && m->spool) {
    fclose(m->spool);
    m->spool = NULL;
  }
}

static void mda_close(struct mw_store *s)
{
  mda_abort(s);
  mw__free(s->impl);
  s->impl = NULL;
}

const struct mw__store_kind mw__store_mda = {
    "MDA", mda_open, mda_contains, mda_begin, mda_put,
    mda_commit, mda_abort, mda_close, NULL};

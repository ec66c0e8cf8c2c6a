/*
 * secrets.c - password and token sources for the CLI.
 */
#include "secrets.h"

#include "args.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

void secret_free(char *s)
{
  if(!s)
    return;
  explicit_bzero(s, strlen(s));
  free(s);
}

/* Keeps the first line: a trailing newline is never part of a secret. */
static void chop_line(char *s)
{
  s[strcspn(s, "\r\n")] = '\0';
}

char *secret_from_env(const char *var, char *err, size_t errlen)
{
  const char *v = getenv(var);
  if(!v) {
    snprintf(err, errlen, "--password-env: environment variable %s is not "
                          "set",
             var);
    return NULL;
  }
  char *copy = strdup(v);
  if(!copy) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  chop_line(copy);
  if(!*copy) {
    snprintf(err, errlen, "--password-env: environment variable %s is empty",
             var);
    secret_free(copy);
    return NULL;
  }
  return copy;
}

static char *read_stream(FILE *f, size_t max)
{
  size_t cap = 256, len = 0;
  char *buf = malloc(cap);
  if(!buf)
    return NULL;
  int c;
  while((c = fgetc(f)) != EOF) {
    if(len + 1 >= cap) {
      if(cap >= max) {
        secret_free(buf);
        return NULL;
      }
      char *p = malloc(cap * 2);
      if(!p) {
        explicit_bzero(buf, len);
        free(buf);
        return NULL;
      }
      memcpy(p, buf, len);
      explicit_bzero(buf, len);
      free(buf);
      buf = p;
      cap *= 2;
    }
    buf[len++] = (char)c;
  }
  buf[len] = '\0';
  return buf;
}

char *secret_from_file(const char *path, char *err, size_t errlen)
{
  FILE *f = fopen(path, "r");
  if(!f) {
    snprintf(err, errlen, "--password-file: cannot read '%s': %s", path,
             strerror(errno));
    return NULL;
  }
  char *s = read_stream(f, 1 << 20);
  fclose(f);
  if(!s) {
    snprintf(err, errlen, "--password-file: '%s' is too large or "
                          "unreadable",
             path);
    return NULL;
  }
  chop_line(s);
  if(!*s) {
    snprintf(err, errlen, "--password-file: '%s' is empty", path);
    secret_free(s);
    return NULL;
  }
  return s;
}

/* ---- commands ---------------------------------------------------------
 *
 * A password or token command is run with /bin/sh -c in a process group
 * of its own, its standard output on a pipe.  It gets timeout_ms in all;
 * when the time is up, or it prints more than SECRET_CMD_MAX_OUTPUT bytes,
 * the whole group is killed with SIGKILL (kill(-pgid)), so a grandchild
 * (sh -c 'sleep 100; ...') cannot outlive it and hold the pipe open.
 * When mailwire owns the terminal's foreground, the group gets it for the
 * command's run (so a prompt on /dev/tty works) and mailwire takes it
 * back afterwards. */

static double mono_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void describe_ms(unsigned ms, char *out, size_t len)
{
  if(ms % 1000 == 0)
    snprintf(out, len, "%us", ms / 1000);
  else
    snprintf(out, len, "%ums", ms);
}

/* Moves the terminal's foreground to pgid when this process holds it;
 * returns the terminal's descriptor to hand it back with, or -1. */
static int tty_give(pid_t pgid)
{
  int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if(fd < 0)
    return -1;
  if(tcgetpgrp(fd) != getpgrp()) {
    close(fd);
    return -1;
  }
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTTOU);
  sigprocmask(SIG_BLOCK, &block, &old);
  int rc = tcsetpgrp(fd, pgid);
  sigprocmask(SIG_SETMASK, &old, NULL);
  if(rc != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static void tty_take_back(int fd)
{
  if(fd < 0)
    return;
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTTOU);
  sigprocmask(SIG_BLOCK, &block, &old);
  (void)tcsetpgrp(fd, getpgrp());
  sigprocmask(SIG_SETMASK, &old, NULL);
  close(fd);
}

static void kill_group(pid_t pid)
{
  if(kill(-pid, SIGKILL) != 0)
    (void)kill(pid, SIGKILL); /* the group was never formed */
}

enum cmd_end { CMD_DONE, CMD_TIMEOUT, CMD_TOO_BIG, CMD_IO };

char *secret_from_command(const char *cmd, const char *what,
                          unsigned timeout_ms, char *err, size_t errlen)
{
  if(!timeout_ms)
    timeout_ms = CLI_DEFAULT_SECRET_CMD_TIMEOUT_MS;
  char *buf = malloc(SECRET_CMD_MAX_OUTPUT + 2);
  int fds[2];
  if(!buf) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  if(pipe(fds) != 0) {
    snprintf(err, errlen, "%s: cannot run the command: %s", what,
             strerror(errno));
    free(buf);
    return NULL;
  }
  /* Not inherited by anything else this process may start later. */
  (void)fcntl(fds[0], F_SETFD, FD_CLOEXEC);
  (void)fcntl(fds[1], F_SETFD, FD_CLOEXEC);
  fflush(NULL);
  pid_t pid = fork();
  if(pid < 0) {
    snprintf(err, errlen, "%s: cannot run the command: %s", what,
             strerror(errno));
    close(fds[0]);
    close(fds[1]);
    free(buf);
    return NULL;
  }
  if(pid == 0) {
    /* The child: a process group of its own, so that the whole tree the
     * command starts can be ended at once. */
    setpgid(0, 0);
    if(dup2(fds[1], STDOUT_FILENO) < 0)
      _exit(127);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  setpgid(pid, pid); /* both sides set it: no window where it is unset */
  close(fds[1]);
  int tty = tty_give(pid);
  double deadline = mono_ms() + timeout_ms;
  size_t len = 0;
  bool exited = false, reading = true;
  int status = 0;
  enum cmd_end end = CMD_DONE;
  while(reading || !exited) {
    double left = deadline - mono_ms();
    if(left <= 0) {
      end = CMD_TIMEOUT;
      break;
    }
    if(!exited) {
      pid_t w = waitpid(pid, &status, WNOHANG);
      if(w == pid)
        exited = true;
      else if(w < 0 && errno != EINTR) {
        end = CMD_IO;
        break;
      }
    }
    /* Short ticks: a command that exits while a grandchild still holds
     * its output open is noticed within one. */
    int tick = left < 50 ? (int)left + 1 : 50;
    if(!reading) {
      struct timespec ts = {0, (long)tick * 1000000L};
      nanosleep(&ts, NULL);
      continue;
    }
    struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
    int r = poll(&pfd, 1, tick);
    if(r < 0 && errno != EINTR) {
      end = CMD_IO;
      break;
    }
    if(r <= 0) {
      if(r == 0 && exited)
        reading = false; /* it ended; what is left holds the pipe */
      continue;
    }
    ssize_t n = read(fds[0], buf + len, SECRET_CMD_MAX_OUTPUT + 1 - len);
    if(n < 0) {
      if(errno == EINTR || errno == EAGAIN)
        continue;
      end = CMD_IO;
      break;
    }
    if(n == 0) {
      reading = false;
      continue;
    }
    len += (size_t)n;
    if(len > SECRET_CMD_MAX_OUTPUT) {
      end = CMD_TOO_BIG;
      break;
    }
  }
  close(fds[0]);
  if(end != CMD_DONE) {
    kill_group(pid);
    if(!exited)
      while(waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
  }
  tty_take_back(tty);
  buf[len] = '\0';
  if(end != CMD_DONE) {
    char limit[32];
    describe_ms(timeout_ms, limit, sizeof(limit));
    if(end == CMD_TIMEOUT)
      snprintf(err, errlen, "%s: the command did not finish within %s; its "
                            "process group was killed (--secret-cmd-timeout "
                            "DURATION changes the limit)",
               what, limit);
    else if(end == CMD_TOO_BIG)
      snprintf(err, errlen, "%s: the command printed more than %d bytes; "
                            "its process group was killed",
               what, SECRET_CMD_MAX_OUTPUT);
    else
      snprintf(err, errlen, "%s: cannot read the command's output: %s",
               what, strerror(errno));
    explicit_bzero(buf, len);
    free(buf);
    return NULL;
  }
  if(!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    if(WIFSIGNALED(status))
      snprintf(err, errlen, "%s: the command was killed by signal %d", what,
               WTERMSIG(status));
    else
      snprintf(err, errlen, "%s: the command failed (exit status %d)", what,
               WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    explicit_bzero(buf, len);
    free(buf);
    return NULL;
  }
  chop_line(buf);
  size_t keep = strlen(buf);
  explicit_bzero(buf + keep, len - keep); /* the rest, NULs included */
  if(!keep) {
    snprintf(err, errlen, "%s: the command printed nothing", what);
    free(buf);
    return NULL;
  }
  return buf;
}

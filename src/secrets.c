/*
 * secrets.c - password and token sources for the CLI.
 */
#include "secrets.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

void secret_free(char *s)
{
  if(!s)
    return;
  OPENSSL_cleanse(s, strlen(s));
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
        OPENSSL_cleanse(buf, len);
        free(buf);
        return NULL;
      }
      memcpy(p, buf, len);
      OPENSSL_cleanse(buf, len);
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

char *secret_from_command(const char *cmd, const char *what, char *err,
                          size_t errlen)
{
  fflush(NULL);
  FILE *p = popen(cmd, "r");
  if(!p) {
    snprintf(err, errlen, "%s: cannot run the command: %s", what,
             strerror(errno));
    return NULL;
  }
  char *s = read_stream(p, 1 << 20);
  int status = pclose(p);
  if(status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    snprintf(err, errlen, "%s: the command failed (exit status %d)", what,
             status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    secret_free(s);
    return NULL;
  }
  if(!s) {
    snprintf(err, errlen, "%s: the command's output is too large", what);
    return NULL;
  }
  chop_line(s);
  if(!*s) {
    snprintf(err, errlen, "%s: the command printed nothing", what);
    secret_free(s);
    return NULL;
  }
  return s;
}

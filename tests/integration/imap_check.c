/*
 * imap_check.c - the library's IMAP client (mw_imap_*) driven from the
 * command line, for test_imap.py against the rig's Dovecot.
 *
 * usage: imap_check URL CA_FILE USER ACTION [ARGS...]
 * URL: imap://host:port or imaps://host:port (mw_options_set_server_url);
 * the password comes from the environment variable MW_PASSWORD.
 * Actions (MAILBOX is a UTF-8 name):
 *   connect                       connect and log in only
 *   fetch MAILBOX DIR             every message (UID SEARCH ALL, UID FETCH)
 *                                 into DIR/<uid>.eml
 *   append MAILBOX FILE [FLAGS]   APPEND the file
 *   store MAILBOX UID +|-|= FLAGS UID STORE, then the summary of that UID
 *   summary MAILBOX               UID FETCH (UID FLAGS RFC822.SIZE ENVELOPE)
 *   expunge MAILBOX UID           \Deleted on UID, expunge, then SEARCH ALL
 *   list                          LIST "" *
 *   status MAILBOX                STATUS
 *   idle MAILBOX MS               SELECT, then IDLE (prints "idling" first)
 * Prints one fact per line: "connect <status>", "encrypted yes|no",
 * "mechanism <name>", then the action's lines ("uid N", "uidvalidity N",
 * "appenduid N", "summary UID SIZE FLAGS|FROM|SUBJECT", "mailbox NAME|D|FLAGS",
 * "status messages N unseen N uidnext N uidvalidity N", "count N",
 * "changed yes|no"), and on failure "error <status>", "code <response
 * code>", "message <text>".  Exit status 0 on success, 1 on failure, 64 on
 * bad usage.
 */
#include "mailwire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(mw_imap *m, mw_status st)
{
  const mw_error *e = mw_imap_error(m);
  printf("error %s\ncode %s\nmessage %s\n", mw_status_name(st),
         mw_error_response_code(e), mw_error_message(e));
  return 1;
}

struct out {
  const char *dir;
  FILE *f;
  uint32_t uid;
};

static mw_status on_message(void *user, uint32_t uid, const char *data,
                            size_t len, bool last)
{
  struct out *o = user;
  if(!o->f) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/%u.eml", o->dir, (unsigned)uid);
    o->f = fopen(path, "wb");
    if(!o->f)
      return MW_E_IO;
    o->uid = uid;
  }
  if(len && fwrite(data, 1, len, o->f) != len)
    return MW_E_IO;
  if(last) {
    if(fclose(o->f) != 0)
      return MW_E_IO;
    o->f = NULL;
    printf("uid %u\n", (unsigned)uid);
  }
  return MW_OK;
}

static mw_status on_summary(void *user, const mw_imap_summary *s)
{
  (void)user;
  printf("summary %u %llu %s|%s|%s\n", (unsigned)s->uid,
         (unsigned long long)s->size, s->flags, s->from, s->subject);
  return MW_OK;
}

static mw_status on_list(void *user, const char *name, char delim,
                         const char *flags)
{
  (void)user;
  printf("mailbox %s|%c|%s\n", name, delim ? delim : '-', flags);
  return MW_OK;
}

static mw_status read_file(void *user, char *buf, size_t len, size_t *got)
{
  *got = fread(buf, 1, len, user);
  return ferror((FILE *)user) ? MW_E_IO : MW_OK;
}

static int run(mw_imap *m, int argc, char **argv)
{
  const char *action = argv[4];
  mw_status st;
  if(!strcmp(action, "connect"))
    return 0;
  if(!strcmp(action, "list")) {
    st = mw_imap_list(m, "", "*", on_list, NULL);
    return st ? fail(m, st) : 0;
  }
  if(argc < 6)
    return 64;
  const char *mbox = argv[5];
  if(!strcmp(action, "status")) {
    mw_imap_status s;
    st = mw_imap_status_of(m, mbox, &s);
    if(st)
      return fail(m, st);
    printf("status messages %u unseen %u uidnext %u uidvalidity %u\n",
           (unsigned)s.messages, (unsigned)s.unseen, (unsigned)s.uidnext,
           (unsigned)s.uidvalidity);
    return 0;
  }
  if(!strcmp(action, "append")) {
    if(argc < 7)
      return 64;
    FILE *f = fopen(argv[6], "rb");
    if(!f)
      return 64;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    uint32_t uid = 0;
    st = mw_imap_append(m, mbox, argc > 7 ? argv[7] : NULL, (uint64_t)size,
                        read_file, f, &uid);
    fclose(f);
    if(st)
      return fail(m, st);
    printf("appenduid %u\n", (unsigned)uid);
    return 0;
  }
  mw_imap_status s;
  st = mw_imap_select(m, mbox, false, &s);
  if(st)
    return fail(m, st);
  printf("uidvalidity %u\nexists %u\n", (unsigned)s.uidvalidity,
         (unsigned)s.messages);
  fflush(stdout);
  const uint32_t *uids = NULL;
  size_t n = 0;
  if(!strcmp(action, "fetch") || !strcmp(action, "summary")) {
    st = mw_imap_search(m, "ALL", &uids, &n);
    if(st)
      return fail(m, st);
    /* The session's array lasts until the next search: copy. */
    uint32_t *copy = malloc((n ? n : 1) * sizeof(*copy));
    if(!copy)
      return 1;
    memcpy(copy, uids, n * sizeof(*copy));
    if(!strcmp(action, "fetch")) {
      if(argc < 7) {
        free(copy);
        return 64;
      }
      struct out o = {.dir = argv[6]};
      st = mw_imap_fetch(m, copy, n, on_message, &o);
      if(o.f)
        fclose(o.f);
    }
    else
      st = mw_imap_fetch_summary(m, copy, n, on_summary, NULL);
    free(copy);
    return st ? fail(m, st) : 0;
  }
  if(!strcmp(action, "store") || !strcmp(action, "expunge")) {
    if(argc < 7)
      return 64;
    uint32_t uid = (uint32_t)strtoul(argv[6], NULL, 10);
    if(!strcmp(action, "store")) {
      if(argc < 9)
        return 64;
      int how = argv[7][0] == '+' ? 1 : argv[7][0] == '-' ? -1 : 0;
      st = mw_imap_store_flags(m, &uid, 1, argv[8], how);
      if(!st)
        st = mw_imap_fetch_summary(m, &uid, 1, on_summary, NULL);
      return st ? fail(m, st) : 0;
    }
    st = mw_imap_store_flags(m, &uid, 1, "\\Deleted", 1);
    if(!st)
      st = mw_imap_expunge(m, &uid, 1);
    if(!st)
      st = mw_imap_search(m, "ALL", &uids, &n);
    if(st)
      return fail(m, st);
    printf("count %zu\n", n);
    return 0;
  }
  if(!strcmp(action, "idle")) {
    if(argc < 7)
      return 64;
    printf("idling\n");
    fflush(stdout);
    bool changed = false;
    st = mw_imap_idle(m, (unsigned)strtoul(argv[6], NULL, 10), &changed);
    if(st)
      return fail(m, st);
    printf("changed %s\n", changed ? "yes" : "no");
    return 0;
  }
  return 64;
}

int main(int argc, char **argv)
{
  if(argc < 5) {
    fprintf(stderr, "usage: imap_check URL CA USER ACTION [ARGS...]\n");
    return 64;
  }
  const char *password = getenv("MW_PASSWORD");
  if(!password || mw_global_init() != MW_OK)
    return 64;
  mw_options *o = mw_options_new();
  if(!o || mw_options_set_server_url(o, argv[1]) != MW_OK ||
     mw_options_set_tls_ca_file(o, argv[2]) != MW_OK ||
     mw_options_set_credentials(o, argv[3], password) != MW_OK) {
    mw_options_free(o);
    mw_global_cleanup();
    return 64;
  }
  mw_imap *m = mw_imap_new(o);
  mw_options_free(o);
  if(!m)
    return 1;
  mw_status st = mw_imap_connect(m);
  printf("connect %s\n", mw_status_name(st));
  int rc;
  if(st)
    rc = fail(m, st);
  else {
    printf("encrypted %s\nmechanism %s\n",
           mw_imap_is_encrypted(m) ? "yes" : "no",
           mw_imap_auth_mechanism(m) ? mw_imap_auth_mechanism(m) : "-");
    fflush(stdout);
    rc = run(m, argc, argv);
    if(rc == 0 && mw_imap_logout(m) != MW_OK)
      rc = 1;
  }
  mw_imap_free(m);
  mw_global_cleanup();
  return rc;
}

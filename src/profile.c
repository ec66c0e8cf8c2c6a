/*
 * profile.c - msmtprc-syntax account profiles.
 *
 * DESCRIPTION
 *   A line is "key value", "# comment" or blank.  "defaults" starts the
 *   settings every later account inherits; "account NAME" starts an
 *   account, "account NAME : A, B" also inherits A then B; "account
 *   default : NAME" names the default.  Values may be double-quoted (with
 *   \" and \\ escapes).  Keys are checked against the known set, so a
 *   typo is an error with its file and line, not a silent no-op.
 */
#include "profile.h"

#include "args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* msmtp's keys that mailwire honours, and mailwire's own. */
static const char *const known_keys[] = {
    /* msmtp */
    "host", "port", "tls", "tls_starttls", "tls_trust_file",
    "tls_fingerprint", "tls_certcheck", "tls_min_proto", "auth", "user",
    "password", "passwordeval", "from", "proxy_host", "proxy_port",
    "source_ip", "timeout", "domain", "tls_host_override", "tls_cert_file",
    "tls_key_file", "dsn_notify", "dsn_return",
    /* mailwire */
    "tls_mode", "proxy", "proxy_protocol", "dns_server", "connect_timeout",
    "greeting_timeout", "tls_min", "tls_max", "tls_ciphers", "tls_strict",
    "oauth2_token_cmd", "bind", "ipv", "allow_insecure_auth",
    "secret_cmd_timeout", "max_message_size",
    /* mailwire, incoming mail (fetch, watch, folders, append); protocol
     * is also msmtp's (smtp, lmtp: nothing to set) */
    "protocol", "mailbox", "maildir", "mbox", "mda", "state_dir", "keep",
    /* mailwire, the outbox (send --queue, queue) */
    "queue_dir",
    /* msmtp's, revocation (issue 14) */
    "tls_crl_file"};

/* msmtp keys accepted and ignored (logging, local delivery). */
static const char *const ignored_keys[] = {
    "logfile", "syslog", "aliases", "set_from_header",
    "set_date_header", "set_msgid_header", "undisclosed_recipients",
    "remove_bcc_headers", "add_missing_from_header",
    "add_missing_date_header", "maildomain", "auto_from"};

bool profile_key_is_ignored(const char *key)
{
  for(size_t i = 0; i < sizeof(ignored_keys) / sizeof(ignored_keys[0]); i++)
    if(strcmp(ignored_keys[i], key) == 0)
      return true;
  return false;
}

bool profile_key_is_secret(const char *key)
{
  return strcmp(key, "password") == 0 || strcmp(key, "passwordeval") == 0 ||
         strcmp(key, "oauth2_token_cmd") == 0 || strcmp(key, "proxy") == 0;
}

static bool key_known(const char *key)
{
  for(size_t i = 0; i < sizeof(known_keys) / sizeof(known_keys[0]); i++)
    if(strcmp(known_keys[i], key) == 0)
      return true;
  return profile_key_is_ignored(key);
}

/* Edit distance (insert, delete, substitute, swap two neighbours) between
 * a and b, stopping early above `limit`. */
static size_t key_distance(const char *a, const char *b, size_t limit)
{
  size_t la = strlen(a), lb = strlen(b);
  if(la > 40 || lb > 40 || (la > lb ? la - lb : lb - la) > limit)
    return limit + 1;
  size_t d[41][41];
  for(size_t i = 0; i <= la; i++)
    d[i][0] = i;
  for(size_t j = 0; j <= lb; j++)
    d[0][j] = j;
  for(size_t i = 1; i <= la; i++)
    for(size_t j = 1; j <= lb; j++) {
      size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
      if(d[i - 1][j] + 1 < best)
        best = d[i - 1][j] + 1;
      if(d[i][j - 1] + 1 < best)
        best = d[i][j - 1] + 1;
      if(i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
         d[i - 2][j - 2] + 1 < best)
        best = d[i - 2][j - 2] + 1;
      d[i][j] = best;
    }
  return d[la][lb];
}

/* The known key an unknown one is a typo of, or NULL.  Only then is the
 * unknown word shown in an error: a line that is not a setting at all may
 * be the first line of a file given by mistake (-C /etc/shadow), and its
 * first word may be a secret. */
static const char *key_typo_of(const char *key)
{
  for(const char *c = key; *c; c++)
    if(!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
      return NULL;
  const char *best = NULL;
  size_t best_d = 3;
  for(size_t i = 0; i < sizeof(known_keys) / sizeof(known_keys[0]); i++) {
    size_t limit = strlen(known_keys[i]) < 6 ? 1 : 2;
    size_t d = key_distance(key, known_keys[i], limit);
    if(d <= limit && d < best_d) {
      best = known_keys[i];
      best_d = d;
    }
  }
  return best;
}

static int fail(char *err, size_t errlen, const char *file, int line,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int fail(char *err, size_t errlen, const char *file, int line,
                const char *fmt, ...)
{
  int n = line ? snprintf(err, errlen, "%s:%d: ", file, line)
               : snprintf(err, errlen, "%s: ", file);
  if(n < 0 || (size_t)n >= errlen)
    return -1;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
  va_end(ap);
  return -1;
}

/* A parsed file: sections in order; section 0 holds "defaults". */
struct section {
  char *name; /* NULL for defaults */
  char *parents;
  int line;
  struct profile_entry entries[PROFILE_MAX_KEYS];
  size_t count;
};

#define MAX_SECTIONS 64

struct parsed {
  struct section sec[MAX_SECTIONS];
  size_t count;
  char *default_alias; /* "account default : NAME" */
};

static void parsed_free(struct parsed *ps)
{
  for(size_t i = 0; i < ps->count; i++) {
    free(ps->sec[i].name);
    free(ps->sec[i].parents);
    for(size_t k = 0; k < ps->sec[i].count; k++) {
      free(ps->sec[i].entries[k].key);
      free(ps->sec[i].entries[k].value);
    }
  }
  free(ps->default_alias);
  memset(ps, 0, sizeof(*ps));
}

static char *dup_n(const char *s, size_t n)
{
  char *p = malloc(n + 1);
  if(p) {
    memcpy(p, s, n);
    p[n] = '\0';
  }
  return p;
}

/* Unquotes a value in place semantics: returns a new string or NULL. */
static char *parse_value(const char *v, size_t n, const char **why)
{
  while(n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
    n--;
  if(!n || v[0] != '"')
    return dup_n(v, n);
  if(n < 2 || v[n - 1] != '"') {
    *why = "unterminated quoted value";
    return NULL;
  }
  char *out = malloc(n);
  if(!out)
    return NULL;
  size_t o = 0;
  for(size_t i = 1; i + 1 < n; i++) {
    if(v[i] == '\\' && i + 2 < n && (v[i + 1] == '"' || v[i + 1] == '\\'))
      i++;
    else if(v[i] == '"') {
      free(out);
      *why = "unescaped quote inside a quoted value";
      return NULL;
    }
    out[o++] = v[i];
  }
  out[o] = '\0';
  return out;
}

/* The line is not shown: see key_typo_of(). */
#define UNKNOWN_LINE                                                         \
  "not a profile line: it does not start with a known key, 'account' or "  \
  "'defaults' (the line is not shown: if this is not a mailwire or msmtp " \
  "profile, it may hold secrets)"

static int parse_text(const char *text, size_t len, const char *file,
                      struct parsed *ps, char *err, size_t errlen)
{
  memset(ps, 0, sizeof(*ps));
  ps->count = 1; /* section 0: defaults */
  struct section *cur = &ps->sec[0];
  int line = 0;
  size_t pos = 0;
  while(pos < len) {
    line++;
    const char *l = text + pos;
    const char *nl = memchr(l, '\n', len - pos);
    size_t ll = nl ? (size_t)(nl - l) : len - pos;
    pos += ll + (nl ? 1 : 0);
    if(ll && l[ll - 1] == '\r')
      ll--;
    if(memchr(l, '\0', ll))
      return fail(err, errlen, file, line, "NUL byte in the line");
    size_t i = 0;
    while(i < ll && (l[i] == ' ' || l[i] == '\t'))
      i++;
    if(i == ll || l[i] == '#')
      continue;
    size_t ks = i;
    while(i < ll && l[i] != ' ' && l[i] != '\t')
      i++;
    char key[64];
    if(i - ks >= sizeof(key))
      return fail(err, errlen, file, line, UNKNOWN_LINE);
    memcpy(key, l + ks, i - ks);
    key[i - ks] = '\0';
    while(i < ll && (l[i] == ' ' || l[i] == '\t'))
      i++;
    if(strcmp(key, "defaults") == 0) {
      if(i < ll)
        return fail(err, errlen, file, line, "'defaults' takes no value");
      if(ps->count > 1)
        return fail(err, errlen, file, line,
                    "'defaults' must come before every account");
      cur = &ps->sec[0];
      continue;
    }
    if(strcmp(key, "account") == 0) {
      const char *colon = memchr(l + i, ':', ll - i);
      size_t ne = colon ? (size_t)(colon - l) : ll;
      while(ne > i && (l[ne - 1] == ' ' || l[ne - 1] == '\t'))
        ne--;
      if(ne == i)
        return fail(err, errlen, file, line, "'account' needs a name");
      char *name = dup_n(l + i, ne - i);
      if(!name)
        return fail(err, errlen, file, line, "out of memory");
      if(strcmp(name, "default") == 0 && colon) {
        free(ps->default_alias);
        const char *a = colon + 1;
        while(a < l + ll && (*a == ' ' || *a == '\t'))
          a++;
        size_t al = (size_t)(l + ll - a);
        while(al && (a[al - 1] == ' ' || a[al - 1] == '\t'))
          al--;
        ps->default_alias = dup_n(a, al);
        free(name);
        if(!al)
          return fail(err, errlen, file, line,
                      "'account default :' needs an account name");
        continue;
      }
      for(size_t k = 1; k < ps->count; k++)
        if(strcmp(ps->sec[k].name, name) == 0) {
          free(name);
          return fail(err, errlen, file, line,
                      "account '%s' is defined twice (first on line %d)",
                      ps->sec[k].name, ps->sec[k].line);
        }
      if(ps->count == MAX_SECTIONS) {
        free(name);
        return fail(err, errlen, file, line, "too many accounts (%d)",
                    MAX_SECTIONS);
      }
      cur = &ps->sec[ps->count++];
      cur->name = name;
      cur->line = line;
      if(colon)
        cur->parents = dup_n(colon + 1, (size_t)(l + ll - colon - 1));
      continue;
    }
    if(!key_known(key)) {
      const char *typo = key_typo_of(key);
      if(typo)
        return fail(err, errlen, file, line,
                    "unknown key '%s' (did you mean '%s'?)", key, typo);
      return fail(err, errlen, file, line, UNKNOWN_LINE);
    }
    const char *why = "out of memory";
    char *value = parse_value(l + i, ll - i, &why);
    if(!value)
      return fail(err, errlen, file, line, "%s", why);
    if(cur->count == PROFILE_MAX_KEYS) {
      free(value);
      return fail(err, errlen, file, line, "too many settings in one "
                                           "section");
    }
    cur->entries[cur->count].key = strdup(key);
    cur->entries[cur->count].value = value;
    cur->entries[cur->count].line = line;
    if(!cur->entries[cur->count].key) {
      free(value);
      return fail(err, errlen, file, line, "out of memory");
    }
    cur->count++;
  }
  return 0;
}

static const struct section *find_section(const struct parsed *ps,
                                          const char *name)
{
  for(size_t k = 1; k < ps->count; k++)
    if(strcmp(ps->sec[k].name, name) == 0)
      return &ps->sec[k];
  return NULL;
}

/* Keys where setting one clears the other (one password source). */
static const char *rival_key(const char *key)
{
  if(strcmp(key, "password") == 0)
    return "passwordeval";
  if(strcmp(key, "passwordeval") == 0)
    return "password";
  return NULL;
}

static void remove_key(struct profile *out, const char *key)
{
  for(size_t j = 0; j < out->count; j++) {
    if(strcmp(out->entries[j].key, key) != 0)
      continue;
    free(out->entries[j].key);
    if(out->entries[j].value) {
      memset(out->entries[j].value, 0, strlen(out->entries[j].value));
      free(out->entries[j].value);
    }
    memmove(&out->entries[j], &out->entries[j + 1],
            (out->count - j - 1) * sizeof(out->entries[0]));
    out->count--;
    return;
  }
}

/* Applies entries in order onto out: a later setting of a key replaces
 * the earlier one (in its place), and a password source clears its
 * rival. */
static int apply_entries(struct profile *out,
                         const struct profile_entry *entries, size_t count)
{
  for(size_t k = 0; k < count; k++) {
    const struct profile_entry *e = &entries[k];
    const char *rival = rival_key(e->key);
    if(rival)
      remove_key(out, rival);
    /* A later setting of the same key replaces the earlier one. */
    size_t j;
    for(j = 0; j < out->count; j++)
      if(strcmp(out->entries[j].key, e->key) == 0)
        break;
    if(j == out->count) {
      if(out->count == PROFILE_MAX_KEYS)
        return -1;
      out->entries[out->count].key = strdup(e->key);
      out->entries[out->count].value = NULL;
      out->count++;
    }
    else if(out->entries[j].value) {
      memset(out->entries[j].value, 0, strlen(out->entries[j].value));
      free(out->entries[j].value);
    }
    out->entries[j].value = strdup(e->value);
    out->entries[j].line = e->line;
    if(!out->entries[j].key || !out->entries[j].value)
      return -1;
  }
  return 0;
}

static void profile_entries_free(struct profile *p);

/* Inheritance, resolved once per account.  Each account's settings after
 * its parents (in the order listed, each with its own parents first) are
 * computed once and kept (memo), so an account that many others reach,
 * in a fan-out of any depth, costs one resolution: linear in the number
 * of accounts and parent links, where a plain recursion is exponential in
 * the depth.  An account met again while its own resolution is under way
 * is a loop. */
enum resolve_state { RESOLVE_NEW, RESOLVE_BUSY, RESOLVE_DONE };

struct resolver {
  const struct parsed *ps;
  const char *file;
  struct profile *memo[MAX_SECTIONS];
  enum resolve_state state[MAX_SECTIONS];
};

static int resolve_account(struct resolver *r, size_t idx, char *err,
                           size_t errlen)
{
  const struct section *s = &r->ps->sec[idx];
  if(r->state[idx] == RESOLVE_DONE)
    return 0;
  if(r->state[idx] == RESOLVE_BUSY)
    return fail(err, errlen, r->file, s->line,
                "account '%s' inherits in a loop", s->name);
  r->state[idx] = RESOLVE_BUSY;
  struct profile *out = calloc(1, sizeof(*out));
  if(!out)
    return fail(err, errlen, r->file, s->line, "out of memory");
  r->memo[idx] = out;
  const char *p = s->parents ? s->parents : "";
  while(*p) {
    while(*p == ' ' || *p == '\t' || *p == ',')
      p++;
    size_t n = strcspn(p, ", \t");
    if(!n)
      break;
    size_t k;
    for(k = 1; k < r->ps->count; k++)
      if(strlen(r->ps->sec[k].name) == n &&
         strncmp(r->ps->sec[k].name, p, n) == 0)
        break;
    if(k == r->ps->count)
      return fail(err, errlen, r->file, s->line,
                  "account '%s' inherits from unknown account '%.*s'",
                  s->name, (int)(n > 200 ? 200 : n), p);
    if(resolve_account(r, k, err, errlen))
      return -1;
    if(apply_entries(out, r->memo[k]->entries, r->memo[k]->count))
      return fail(err, errlen, r->file, s->line, "too many settings");
    p += n;
  }
  if(apply_entries(out, s->entries, s->count))
    return fail(err, errlen, r->file, s->line, "too many settings");
  r->state[idx] = RESOLVE_DONE;
  return 0;
}

/* Whether a value of key is a secret the file's permissions must guard:
 * a password, or a proxy URL carrying one (scheme://user:pass@host). */
static bool holds_secret(const struct profile_entry *e)
{
  if(strcmp(e->key, "password") == 0)
    return true;
  if(strcmp(e->key, "proxy") != 0)
    return false;
  const char *auth = strstr(e->value, "://");
  const char *at = auth ? strchr(auth + 3, '@') : NULL;
  const char *colon = auth ? strchr(auth + 3, ':') : NULL;
  return at && colon && colon < at;
}

static int find_secret(const struct parsed *ps, struct profile *out)
{
  for(size_t i = 0; i < ps->count; i++)
    for(size_t k = 0; k < ps->sec[i].count; k++)
      if(holds_secret(&ps->sec[i].entries[k])) {
        out->secret_line = ps->sec[i].entries[k].line;
        out->secret_account = strdup(i ? ps->sec[i].name : "defaults");
        return out->secret_account ? 0 : -1;
      }
  return 0;
}

int profile_parse(const char *text, size_t len, const char *file,
                  const char *account, struct profile *out, char *err,
                  size_t errlen)
{
  memset(out, 0, sizeof(*out));
  struct parsed *ps = calloc(1, sizeof(*ps));
  if(!ps)
    return fail(err, errlen, file, 0, "out of memory");
  int rc = parse_text(text, len, file, ps, err, errlen);
  const struct section *s = NULL;
  if(!rc) {
    const char *want = account;
    if(!want || strcmp(want, "default") == 0) {
      if(ps->default_alias)
        want = ps->default_alias;
      else if(find_section(ps, "default"))
        want = "default";
      else if(ps->count > 1 && !account)
        want = ps->sec[1].name;
      else
        want = "default";
    }
    s = find_section(ps, want);
    if(!s)
      rc = fail(err, errlen, file, 0, "no account '%s' in this file", want);
  }
  if(!rc) {
    out->name = strdup(s->name);
    out->file = strdup(file);
    if(!out->name || !out->file || find_secret(ps, out))
      rc = fail(err, errlen, file, 0, "out of memory");
  }
  if(!rc) {
    rc = apply_entries(out, ps->sec[0].entries, ps->sec[0].count)
             ? fail(err, errlen, file, 0, "too many settings")
             : 0;
  }
  if(!rc) {
    struct resolver *r = calloc(1, sizeof(*r));
    size_t idx = (size_t)(s - ps->sec);
    if(!r)
      rc = fail(err, errlen, file, 0, "out of memory");
    else {
      r->ps = ps;
      r->file = file;
      rc = resolve_account(r, idx, err, errlen);
      if(!rc && apply_entries(out, r->memo[idx]->entries,
                              r->memo[idx]->count))
        rc = fail(err, errlen, file, s->line, "too many settings");
      for(size_t i = 0; i < MAX_SECTIONS; i++)
        if(r->memo[i]) {
          profile_entries_free(r->memo[i]);
          free(r->memo[i]);
        }
      free(r);
    }
  }
  parsed_free(ps);
  free(ps);
  if(rc)
    profile_free(out);
  return rc;
}

static char *default_path(void)
{
  const char *env = getenv("MAILWIRE_CONFIG");
  if(env && *env)
    return strdup(env);
  char buf[4096];
  const char *xdg = getenv("XDG_CONFIG_HOME");
  const char *home = getenv("HOME");
  if(xdg && *xdg)
    snprintf(buf, sizeof(buf), "%s/mailwire/config", xdg);
  else if(home && *home)
    snprintf(buf, sizeof(buf), "%s/.config/mailwire/config", home);
  else
    return NULL;
  return strdup(buf);
}

int profile_load(const char *path, const char *account, struct profile *out,
                 char *err, size_t errlen)
{
  char *p = path ? strdup(path) : default_path();
  if(!p)
    return path ? fail(err, errlen, "config", 0, "out of memory") : 1;
  FILE *f = fopen(p, "rb");
  if(!f) {
    int e = errno;
    int rc = (!path && e == ENOENT && !account)
                 ? 1
                 : fail(err, errlen, p, 0, "cannot read: %s", strerror(e));
    free(p);
    return rc;
  }
  struct stat st;
  char *text = NULL;
  size_t len = 0;
  if(fstat(fileno(f), &st) == 0 && st.st_size >= 0 &&
     st.st_size < 16 * 1024 * 1024) {
    text = malloc((size_t)st.st_size + 1);
    if(text)
      len = fread(text, 1, (size_t)st.st_size, f);
  }
  fclose(f);
  if(!text) {
    int rc = fail(err, errlen, p, 0, "cannot read (too large?)");
    free(p);
    return rc;
  }
  int rc = profile_parse(text, len, p, account, out, err, errlen);
  /* A file holding a password must be private (as msmtp requires), and
   * whichever account holds it: the file exposes every account's. */
  if(!rc && out->secret_line && (st.st_mode & 077)) {
    char where[300];
    snprintf(where, sizeof(where), "%.200s", out->secret_account);
    int line = out->secret_line;
    profile_free(out);
    rc = fail(err, errlen, p, 0,
              "holds a password (line %d, %s%s%s) but is readable by "
              "others (mode %03o): run chmod 600 %s",
              line, strcmp(where, "defaults") ? "account '" : "",
              where, strcmp(where, "defaults") ? "'" : "",
              (unsigned)(st.st_mode & 0777), p);
  }
  memset(text, 0, len);
  free(text);
  free(p);
  return rc;
}

static void profile_entries_free(struct profile *p)
{
  for(size_t i = 0; i < p->count; i++) {
    free(p->entries[i].key);
    if(p->entries[i].value) {
      memset(p->entries[i].value, 0, strlen(p->entries[i].value));
      free(p->entries[i].value);
    }
  }
  p->count = 0;
}

void profile_free(struct profile *p)
{
  free(p->secret_account);
  for(size_t i = 0; i < p->count; i++) {
    free(p->entries[i].key);
    if(p->entries[i].value) {
      memset(p->entries[i].value, 0, strlen(p->entries[i].value));
      free(p->entries[i].value);
    }
  }
  free(p->name);
  free(p->file);
  memset(p, 0, sizeof(*p));
}

const char *profile_get(const struct profile *p, const char *key)
{
  for(size_t i = 0; i < p->count; i++)
    if(strcmp(p->entries[i].key, key) == 0)
      return p->entries[i].value;
  return NULL;
}

/* ---- profile to command-line words ------------------------------------ */

struct words {
  char **v;
  int n, cap;
};

static int push_word(struct words *w, const char *s);

/* A file name as msmtp reads it: a leading "~/" is $HOME's. */
static int push_path(struct words *w, const char *v)
{
  const char *home = getenv("HOME");
  if(strncmp(v, "~/", 2) != 0 || !home || !*home)
    return push_word(w, v);
  size_t n = strlen(home) + strlen(v);
  char *full = malloc(n);
  if(!full)
    return -1;
  snprintf(full, n, "%s%s", home, v + 1);
  int rc = push_word(w, full);
  free(full);
  return rc;
}

static int push_word(struct words *w, const char *s)
{
  if(w->n == w->cap) {
    int cap = w->cap ? w->cap * 2 : 16;
    char **v = realloc(w->v, (size_t)cap * sizeof(*v));
    if(!v)
      return -1;
    w->v = v;
    w->cap = cap;
  }
  if(!(w->v[w->n] = strdup(s)))
    return -1;
  w->n++;
  return 0;
}

void profile_words_free(char **words, int n)
{
  for(int i = 0; i < n; i++) {
    memset(words[i], 0, strlen(words[i]));
    free(words[i]);
  }
  free(words);
}

static bool on_off(const char *v, bool *out)
{
  if(strcmp(v, "on") == 0) {
    *out = true;
    return true;
  }
  if(strcmp(v, "off") == 0) {
    *out = false;
    return true;
  }
  return false;
}

/* Maps one entry to option words (none for ignored keys); 0 or -1 with a
 * reason in why. */
static int entry_words(const struct profile *p, const struct profile_entry *e,
                       struct words *w, char *why, size_t whylen)
{
  const char *k = e->key, *v = e->value;
  bool b;
  char buf[600];
  static const struct {
    const char *key, *opt;
  } direct[] = {{"user", "--user"},
                {"passwordeval", "--password-cmd"},
                {"from", "--from"},
                {"source_ip", "--bind"},
                {"bind", "--bind"},
                {"domain", "--helo"},
                {"tls_fingerprint", "--tls-fingerprint"},
                {"tls_host_override", "--tls-server-name"},
                {"tls_mode", "--tls"},
                {"proxy", "--proxy"},
                {"proxy_protocol", "--proxy-protocol"},
                {"dns_server", "--dns-server"},
                {"connect_timeout", "--connect-timeout"},
                {"greeting_timeout", "--greeting-timeout"},
                {"tls_min", "--tls-min"},
                {"tls_max", "--tls-max"},
                {"tls_ciphers", "--tls-ciphers"},
                {"oauth2_token_cmd", "--oauth2-token-cmd"},
                {"secret_cmd_timeout", "--secret-cmd-timeout"},
                {"max_message_size", "--max-message-size"},
                {"password", "--password-value"},
                {"mailbox", "--mailbox"},
                {"mda", "--mda"},
                {"queue_dir", "--queue-dir"}};
  for(size_t i = 0; i < sizeof(direct) / sizeof(direct[0]); i++)
    if(strcmp(k, direct[i].key) == 0)
      return push_word(w, direct[i].opt) || push_word(w, v) ? -1 : 0;
  if(strcmp(k, "host") == 0) {
    const char *port = profile_get(p, "port");
    if(strchr(v, ':') && !strchr(v, '['))
      snprintf(buf, sizeof(buf), "[%s]%s%s", v, port ? ":" : "",
               port ? port : "");
    else
      snprintf(buf, sizeof(buf), "%s%s%s", v, port ? ":" : "",
               port ? port : "");
    mw_options *probe = mw_options_new();
    mw_status st = probe ? mw_options_set_server_string(probe, buf)
                         : MW_E_NOMEM;
    mw_options_free(probe);
    if(st) {
      snprintf(why, whylen, "'host'%s is not a host name or address with "
                            "a port 1-65535 (the value is not shown)",
               port ? " with 'port'" : "");
      return -1;
    }
    return push_word(w, "--server") || push_word(w, buf) ? -1 : 0;
  }
  if(strcmp(k, "dsn_notify") == 0 || strcmp(k, "dsn_return") == 0) {
    /* msmtp's DSN keys: "off" asks for nothing (the default). */
    bool notify = k[4] == 'n';
    unsigned flags = 0;
    mw_dsn_ret ret = MW_DSN_RET_DEFAULT;
    if(strcmp(v, "off") == 0)
      return 0;
    if(notify ? mw_dsn_notify_parse(v, &flags) != MW_OK
              : mw_dsn_ret_parse(v, &ret) != MW_OK) {
      snprintf(why, whylen, "'%s' takes %s", k,
               notify ? "off, never, or a list of success, failure and delay"
                      : "off, headers or full");
      return -1;
    }
    return push_word(w, notify ? "--dsn-notify" : "--dsn-ret") ||
                   push_word(w, notify ? v
                                : ret == MW_DSN_RET_FULL ? "full"
                                                         : "hdrs")
               ? -1
               : 0;
  }
  if(strcmp(k, "port") == 0) {
    if(!profile_get(p, "host"))
      snprintf(why, whylen, "'port' without 'host'");
    return profile_get(p, "host") ? 0 : -1;
  }
  if(strcmp(k, "tls") == 0 || strcmp(k, "tls_starttls") == 0) {
    if(!on_off(v, &b)) {
      snprintf(why, whylen, "'%s' takes on or off", k);
      return -1;
    }
    if(profile_get(p, "tls_mode"))
      return 0; /* mailwire's own key decides */
    bool tls = true, starttls = true;
    const char *t = profile_get(p, "tls");
    const char *st = profile_get(p, "tls_starttls");
    if(t)
      on_off(t, &tls);
    if(st)
      on_off(st, &starttls);
    if(strcmp(k, "tls") == 0 || !t)
      return push_word(w, "--tls") ||
                     push_word(w, !tls       ? "none"
                                  : starttls ? "starttls"
                                             : "implicit")
                 ? -1
                 : 0;
    return 0;
  }
  /* msmtp's CRL file: revocation checking (an empty value: off) */
  if(strcmp(k, "tls_crl_file") == 0) {
    if(!*v)
      return 0;
    return push_word(w, "--tls-crl-file") || push_path(w, v) ? -1 : 0;
  }
  if(strcmp(k, "tls_trust_file") == 0) {
    if(strcmp(v, "system") == 0 || !*v)
      return 0;
    return push_word(w, "--tls-ca-file") || push_path(w, v) ? -1 : 0;
  }
  /* The client certificate (and the identity behind SASL EXTERNAL); as
   * in msmtp an empty value sets nothing. */
  if(strcmp(k, "tls_cert_file") == 0 || strcmp(k, "tls_key_file") == 0) {
    if(!*v)
      return 0;
    const char *cert = profile_get(p, "tls_cert_file");
    if(k[4] == 'k' && (!cert || !*cert)) {
      snprintf(why, whylen, "'tls_key_file' needs 'tls_cert_file'");
      return -1;
    }
    return push_word(w, k[4] == 'c' ? "--tls-cert" : "--tls-key") ||
                   push_path(w, v)
               ? -1
               : 0;
  }
  if(strcmp(k, "tls_certcheck") == 0) {
    if(!on_off(v, &b)) {
      snprintf(why, whylen, "'tls_certcheck' takes on or off");
      return -1;
    }
    return b ? 0 : push_word(w, "--insecure");
  }
  if(strcmp(k, "tls_strict") == 0 || strcmp(k, "allow_insecure_auth") == 0) {
    if(!on_off(v, &b)) {
      snprintf(why, whylen, "'%s' takes on or off", k);
      return -1;
    }
    return !b ? 0 : push_word(w, k[4] == 's' ? "--tls-strict"
                                             : "--allow-insecure-auth");
  }
  if(strcmp(k, "tls_min_proto") == 0) {
    const char *m = strcmp(v, "tls1.2") == 0   ? "1.2"
                    : strcmp(v, "tls1.3") == 0 ? "1.3"
                                               : NULL;
    if(!m) {
      snprintf(why, whylen, "'tls_min_proto' must be tls1.2 or tls1.3");
      return -1;
    }
    return push_word(w, "--tls-min") || push_word(w, m) ? -1 : 0;
  }
  if(strcmp(k, "auth") == 0) {
    if(strcmp(v, "on") == 0 || strcmp(v, "off") == 0)
      return 0; /* on: by the credentials given; off: give no user */
    return push_word(w, "--auth") || push_word(w, v) ? -1 : 0;
  }
  if(strcmp(k, "proxy_host") == 0) {
    const char *port = profile_get(p, "proxy_port");
    snprintf(buf, sizeof(buf), "socks5h://%s:%s", v, port ? port : "1080");
    return push_word(w, "--proxy") || push_word(w, buf) ? -1 : 0;
  }
  if(strcmp(k, "timeout") == 0) {
    if(strcmp(v, "off") == 0)
      return 0;
    return push_word(w, "--timeout") || push_word(w, v) ? -1 : 0;
  }
  /* Incoming mail.  An account with "protocol imap" or "pop3" is one to
   * read mail from (fetch, watch); msmtp's smtp and lmtp set nothing. */
  if(strcmp(k, "protocol") == 0) {
    if(strcmp(v, "smtp") == 0 || strcmp(v, "lmtp") == 0)
      return 0;
    if(strcmp(v, "imap") && strcmp(v, "pop3")) {
      snprintf(why, whylen, "'protocol' takes imap or pop3 (or msmtp's "
                            "smtp)");
      return -1;
    }
    return push_word(w, "--protocol") || push_word(w, v) ? -1 : 0;
  }
  if(strcmp(k, "maildir") == 0 || strcmp(k, "mbox") == 0 ||
     strcmp(k, "state_dir") == 0) {
    const char *opt = k[1] == 'a' ? "--maildir"
                      : k[1] == 'b' ? "--mbox"
                                    : "--state-dir";
    return push_word(w, opt) || push_path(w, v) ? -1 : 0;
  }
  if(strcmp(k, "keep") == 0) {
    if(!on_off(v, &b)) {
      snprintf(why, whylen, "'keep' takes on or off");
      return -1;
    }
    return push_word(w, b ? "--keep" : "--delete");
  }
  if(strcmp(k, "ipv") == 0) {
    if(strcmp(v, "4") && strcmp(v, "6")) {
      snprintf(why, whylen, "'ipv' takes 4 or 6");
      return -1;
    }
    return push_word(w, v[0] == '4' ? "-4" : "-6");
  }
  return 0; /* proxy_port, and msmtp keys mailwire ignores */
}

/* Replaces in msg (a command-line check's message) every quoted or bare
 * occurrence of the option values among words[0, n) (the words after an
 * option name) by "the value", so that a profile's error names its key
 * and line but never shows what the file holds. */
static void hide_value(char *msg, size_t size, char **words, int n)
{
  for(int i = 1; i < n; i += 2) {
    const char *v = words[i];
    size_t vl = strlen(v);
    if(!vl)
      continue;
    /* Bare occurrences only of values long enough not to be words of
     * the message itself. */
    for(int quoted = 1; quoted >= (vl >= 6 ? 0 : 1); quoted--) {
      char *at = msg;
      for(;;) {
        at = strstr(at, v);
        if(!at)
          break;
        char *from = at, *to = at + vl;
        if(quoted) {
          if(from == msg || from[-1] != '\'' || *to != '\'') {
            at++;
            continue;
          }
          from--;
          to++;
        }
        static const char mark[] = "the value";
        size_t tail = strlen(to);
        size_t len = (size_t)(from - msg);
        if(len + sizeof(mark) >= size) {
          *from = '\0';
          break;
        }
        if(len + sizeof(mark) - 1 + tail + 1 > size)
          tail = size - 1 - len - (sizeof(mark) - 1);
        memmove(from + sizeof(mark) - 1, to, tail);
        memcpy(from, mark, sizeof(mark) - 1);
        from[sizeof(mark) - 1 + tail] = '\0';
        at = from + sizeof(mark) - 1;
      }
    }
  }
}

int profile_to_words(const struct profile *p, char ***words, int *count,
                     char *err, size_t errlen)
{
  struct words w = {0};
  for(size_t i = 0; i < p->count; i++) {
    const struct profile_entry *e = &p->entries[i];
    int before = w.n;
    char why[300] = "";
    if(entry_words(p, e, &w, why, sizeof(why)) != 0) {
      if(!why[0])
        snprintf(why, sizeof(why), "out of memory");
      profile_words_free(w.v, w.n);
      return fail(err, errlen, p->file, e->line, "%s", why);
    }
    /* The same checks as on the command line, reported with the line
     * and the key, never the value. */
    char oerr[512];
    if(w.n > before &&
       cli_check_words(w.n - before, w.v + before, oerr, sizeof(oerr))) {
      hide_value(oerr, sizeof(oerr), w.v + before, w.n - before);
      profile_words_free(w.v, w.n);
      return fail(err, errlen, p->file, e->line, "%s (key '%s')", oerr,
                  e->key);
    }
  }
  *words = w.v;
  *count = w.n;
  return 0;
}

/* ---- the account whose from matches (sendmail mode) -------------------- */

static bool same_address(const char *mailbox, const char *address)
{
  char a[400], b[400];
  if(mw_mailbox_check(mailbox, a, sizeof(a), NULL) != MW_MAILBOX_OK ||
     mw_mailbox_check(address, b, sizeof(b), NULL) != MW_MAILBOX_OK)
    return false;
  return strcasecmp(a, b) == 0;
}

char *profile_account_for_address(const char *path, const char *address)
{
  char *p = path ? strdup(path) : default_path();
  if(!p)
    return NULL;
  FILE *f = fopen(p, "rb");
  char *text = NULL, *found = NULL;
  size_t len = 0;
  struct stat st;
  if(f && fstat(fileno(f), &st) == 0 && st.st_size >= 0 &&
     st.st_size < 16 * 1024 * 1024 &&
     (text = malloc((size_t)st.st_size + 1)) != NULL)
    len = fread(text, 1, (size_t)st.st_size, f);
  if(f)
    fclose(f);
  struct parsed *ps = text ? calloc(1, sizeof(*ps)) : NULL;
  char err[512];
  if(ps && parse_text(text, len, p, ps, err, sizeof(err)) == 0) {
    for(size_t i = 1; i < ps->count && !found; i++) {
      struct profile prof;
      if(!ps->sec[i].name ||
         profile_parse(text, len, p, ps->sec[i].name, &prof, err,
                       sizeof(err)) != 0)
        continue;
      const char *from = profile_get(&prof, "from");
      if(from && same_address(from, address))
        found = strdup(ps->sec[i].name);
      profile_free(&prof);
    }
  }
  if(ps) {
    parsed_free(ps);
    free(ps);
  }
  if(text) {
    memset(text, 0, len);
    free(text);
  }
  free(p);
  return found;
}

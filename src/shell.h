/*
 * shell.h - what cmd_shell.c (the session: commands, replies, dot
 * commands, scripts) shares with shell_io.c (the terminal: the line
 * editor, its history file, passwords without echo, colour, masking a
 * line that carried a secret).
 *
 * The line editor is BSD libedit through its readline-compatible API; it
 * lives in the CLI only (libmailwire never links it).
 */
#ifndef MW_CLI_SHELL_H
#define MW_CLI_SHELL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* How a line is shown. */
enum shio_kind {
  SHIO_SENT,    /* a line the shell sent ("> ..." when shown) */
  SHIO_OK,      /* a positive reply (2xx, 3xx, +OK, OK, "+ ") */
  SHIO_BAD,     /* a negative one (4xx, 5xx, -ERR, NO, BAD) */
  SHIO_PLAIN,   /* any other server line, literal data */
  SHIO_NOTE,    /* the shell's own remarks ("-- ...") */
  SHIO_ERROR    /* the shell's errors ("-- error: ...") */
};

/* Sets up the terminal side: interactive (stdin a terminal and no
 * script: the line editor) and colour (stdout a terminal, neither
 * --no-color nor NO_COLOR). */
void shio_init(bool interactive, bool color);
bool shio_interactive(void);
/* Prints one line of kind k (len bytes, not NUL-terminated), control
 * bytes shown as '?'. */
void shio_line(enum shio_kind k, const char *text, size_t len);
void shio_printf(enum shio_kind k, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Loads the line editor (libedit.so.2, by dlopen; see shell_io.c) before
 * any other shio_* call: 0, or -1 with err (the caller exits 70). */
int shio_load(char *err, size_t errlen);
/* The next line: from the line editor with prompt (interactive), else
 * from in (the script or standard input), without its line ending.
 * malloc'd (free it), or NULL at the end of the input. */
char *shio_read(FILE *in, const char *prompt);
/* The line editor's next line (interactive only), while watching fd: when
 * it is readable, the prompt line is cleared, ready(user) shows what came
 * and the prompt is drawn again with what was typed so far.  NULL at the
 * end of the input, or when ready() returned false (*gone then set). */
char *shio_read_watch(const char *prompt, int fd, bool (*ready)(void *),
                      void *user, bool *gone);
/* A secret typed without echo (interactive, or standard input when it is
 * a terminal), malloc'd (free with secret_free), or NULL when there is no
 * terminal to ask on or at the end of the input. */
char *shio_secret(const char *prompt);
/* On a terminal, replaces the line just typed (after prompt) with masked,
 * so that a secret typed on it leaves the screen. */
void shio_mask_typed(const char *prompt, const char *masked);

/* History: the file is read (when it exists) and kept with mode 0600 in a
 * 0700 directory; NULL path: no history.  0, or -1 with err. */
int shio_history_open(const char *path, char *err, size_t errlen);
/* Adds a line (never one that carried a secret: the caller decides) and
 * saves the file. */
void shio_history_add(const char *line);
void shio_history_close(void);

/* ---- the session (cmd_shell.c, shell_dot.c) ----------------------------- */

#include "args.h"
#include "mailwire.h"

/* How a wait for a reply ended. */
enum sh_wait { SH_DONE, SH_CONT, SH_TIMEOUT, SH_GONE };

struct shell {
  struct send_args *a;
  mw_options *o;
  mw_conn *c;
  mw_protocol proto;
  FILE *in;             /* the script or standard input (not the editor) */
  const char *in_name;  /* "FILE" or "standard input" */
  unsigned lineno;      /* of the line being run */
  unsigned timeout_ms;  /* replies */
  unsigned tagn;        /* IMAP tags issued */
  char tag[16];         /* the tag awaited, "" when none */
  bool cont;            /* the server asked for a continuation line */
  bool cont_secret;     /* ... of an AUTH/AUTHENTICATE typed by hand */
  bool data;            /* SMTP: after a 354 to DATA typed by hand */
  bool quitting;        /* QUIT or LOGOUT sent */
  bool trace_on;
  char ehlo[256];       /* the name of the last EHLO/HELO */
  char status[16];      /* of the last reply: "250", "+OK", "NO", "+" */
  char *reply;          /* its lines, '\n'-joined (for .explain) */
  size_t reply_len;
  char *password, *token; /* from --password-* / --oauth2-token-cmd */
  int code;             /* the exit code when the session must end */
  bool stop;            /* a script's step failed: end the session */
};

/* The prompt in use (for masking a typed line). */
const char *sh_prompt(const struct shell *sh);
/* Shows a server line and records it in the reply. */
void sh_show_server(struct shell *sh, const char *line, size_t len);
/* Reads the reply to what was just sent, per protocol (pop3_multi: a
 * POP3 multi-line answer is expected).  IMAP: untagged lines and
 * literals until the tagged completion of sh->tag, or a continuation. */
enum sh_wait sh_wait_reply(struct shell *sh, bool pop3_multi);
/* Sends a line, shown as "> shown" (NULL: line) when show. */
bool sh_send(struct shell *sh, const char *line, int secret_from,
             const char *shown, bool show);
/* The next IMAP tag, made current. */
const char *sh_next_tag(struct shell *sh);
/* The reply record starts over. */
void sh_reply_reset(struct shell *sh);
/* A connection failure: shown, the exit code kept. */
void sh_conn_failed(struct shell *sh);
/* Lines typed (or read from the script) up to a lone ".", for .data and
 * literals: malloc'd with CRLF line ends, or NULL at the end of input. */
char *sh_read_block(struct shell *sh, size_t *len);

/* A step that failed without ending the connection (no password, a
 * file that cannot be read, credentials refused): shown; in a script it
 * also ends the session with code, stderr naming the line.  Returns
 * whether the session goes on. */
bool sh_step_failed(struct shell *sh, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Dot commands (shell_dot.c): false when the session must end. */
bool sh_dot(struct shell *sh, const char *line);
/* .expect CODE against the last reply: true when it matches. */
bool sh_expect_matches(const struct shell *sh, const char *code);

#endif

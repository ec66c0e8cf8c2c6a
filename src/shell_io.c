/*
 * shell_io.c - the terminal side of `mailwire shell` (see shell.h): the
 * libedit line editor and its history file, passwords read without echo,
 * colour only on a terminal, and masking a typed line that held a
 * secret.
 *
 * DESCRIPTION
 *   The history file is created with mode 0600 before libedit writes it
 *   (write_history() keeps the mode of an existing file), and set to 0600
 *   again after every write, in a directory made 0700.  What goes in is
 *   the caller's decision: cmd_shell.c never adds a line that carried a
 *   password or a SASL payload.
 *
 *   libedit is not linked: shio_load() opens it (libedit.so.2) when the
 *   shell starts, so no other command maps it or its libraries (libtinfo,
 *   libbsd, libmd); a missing library is one clear error, exit 70.
 */
#define _GNU_SOURCE /* ppoll */
#include "lazylib.h"
#include "shell.h"

#include <editline/readline.h>

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

static bool io_interactive, io_color;
static char *io_history; /* the file, or NULL */

/* libedit, loaded by shio_load() (only `mailwire shell` needs it; the
 * header gives the types, the library is not linked). */
static const char *const ed_names[] = {
    "rl_readline_name", "rl_catch_signals", "readline", "rl_bind_key",
    "rl_insert", "rl_callback_handler_install", "rl_callback_read_char",
    "rl_callback_handler_remove", "rl_forced_update_display",
    "add_history", "stifle_history", "read_history", "write_history"};
#define ED_N (sizeof(ed_names) / sizeof(ed_names[0]))
static struct {
  const char **readline_name;
  int *catch_signals;
  char *(*readline)(const char *);
  int (*bind_key)(int, rl_command_func_t *);
  rl_command_func_t *insert;
  void (*cb_install)(const char *, rl_vcpfunc_t *);
  void (*cb_read_char)(void);
  void (*cb_remove)(void);
  void (*forced_update_display)(void);
  int (*add_history)(const char *);
  void (*stifle_history)(int);
  int (*read_history)(const char *);
  int (*write_history)(const char *);
} ed;
static bool ed_loaded;

int shio_load(char *err, size_t errlen)
{
  void *sym[ED_N];
  if(ed_loaded)
    return 0;
  if(lazylib_load("libedit.so.2", "the line editor", ed_names, sym, ED_N,
                  err, errlen))
    return -1;
  ed.readline_name = sym[0];
  ed.catch_signals = sym[1];
  LAZYLIB_FN(ed.readline, sym[2]);
  LAZYLIB_FN(ed.bind_key, sym[3]);
  LAZYLIB_FN(ed.insert, sym[4]);
  LAZYLIB_FN(ed.cb_install, sym[5]);
  LAZYLIB_FN(ed.cb_read_char, sym[6]);
  LAZYLIB_FN(ed.cb_remove, sym[7]);
  LAZYLIB_FN(ed.forced_update_display, sym[8]);
  LAZYLIB_FN(ed.add_history, sym[9]);
  LAZYLIB_FN(ed.stifle_history, sym[10]);
  LAZYLIB_FN(ed.read_history, sym[11]);
  LAZYLIB_FN(ed.write_history, sym[12]);
  ed_loaded = true;
  return 0;
}

/* Ctrl-C: at the prompt it clears the line (as shells do); anywhere else
 * it ends the program, with the terminal's echo restored first when a
 * password was being asked for. */
static volatile sig_atomic_t io_at_prompt, io_interrupted, io_secret_active;
static struct termios io_saved_tty;

static void on_sigint(int sig)
{
  if(io_at_prompt) {
    io_interrupted = 1;
    return;
  }
  if(io_secret_active)
    tcsetattr(STDIN_FILENO, TCSANOW, &io_saved_tty);
  signal(sig, SIG_DFL);
  raise(sig);
}

void shio_init(bool interactive, bool color)
{
  io_interactive = interactive;
  io_color = color;
  if(interactive) {
    *ed.readline_name = "mailwire";
    /* Our handler, not libedit's: see on_sigint(). */
    *ed.catch_signals = 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: poll() returns */
    /* No file-name completion: a protocol line is not a path. */
    ed.bind_key('\t', ed.insert);
  }
}

bool shio_interactive(void) { return io_interactive; }

static const char *kind_colour(enum shio_kind k)
{
  switch(k) {
  case SHIO_SENT: return "\033[2m";
  case SHIO_OK: return "\033[32m";
  case SHIO_BAD: return "\033[31m";
  case SHIO_NOTE: return "\033[36m";
  case SHIO_ERROR: return "\033[1;31m";
  case SHIO_PLAIN: break;
  }
  return NULL;
}

void shio_line(enum shio_kind k, const char *text, size_t len)
{
  const char *col = io_color ? kind_colour(k) : NULL;
  if(col)
    fputs(col, stdout);
  if(k == SHIO_SENT)
    fputs("> ", stdout);
  else if(k == SHIO_NOTE)
    fputs("-- ", stdout);
  else if(k == SHIO_ERROR)
    fputs("-- error: ", stdout);
  for(size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)text[i];
    /* No escape sequence from the server reaches the terminal. */
    putchar(c < 0x20 && c != '\t' ? '?' : c == 0x7f ? '?' : c);
  }
  if(col)
    fputs("\033[0m", stdout);
  putchar('\n');
  fflush(stdout);
}

void shio_printf(enum shio_kind k, const char *fmt, ...)
{
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  if(n < 0)
    return;
  size_t len = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
  /* Each line of a multi-line note on its own. */
  const char *p = buf;
  while(p <= buf + len) {
    const char *nl = memchr(p, '\n', (size_t)(buf + len - p));
    size_t l = nl ? (size_t)(nl - p) : (size_t)(buf + len - p);
    shio_line(k, p, l);
    if(!nl)
      break;
    p = nl + 1;
  }
}

char *shio_read(FILE *in, const char *prompt)
{
  if(io_interactive) {
    fflush(stdout);
    return ed.readline(prompt);
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t n = getline(&line, &cap, in);
  if(n < 0) {
    free(line);
    return NULL;
  }
  while(n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
    line[--n] = '\0';
  return line;
}

/* ---- the editor in callback mode: typing and server lines at once ----- */

static char *watch_line;
static bool watch_done;

static void watch_handler(char *line)
{
  watch_line = line; /* malloc'd by libedit; NULL at the end of input */
  watch_done = true;
}

char *shio_read_watch(const char *prompt, int fd, bool (*ready)(void *),
                      void *user, bool *gone)
{
  *gone = false;
  fflush(stdout);
  watch_line = NULL;
  watch_done = false;
  ed.cb_install(prompt, watch_handler);
  io_interrupted = 0;
  io_at_prompt = 1;
  /* Ctrl-C is let in only while waiting in ppoll(): one that came while
   * libedit was reading a key would be swallowed there (its read() goes
   * on after EINTR) and the next wait would block with it unseen. */
  sigset_t sigint_only, waiting_mask;
  sigemptyset(&sigint_only);
  sigaddset(&sigint_only, SIGINT);
  sigprocmask(SIG_BLOCK, &sigint_only, &waiting_mask);
  sigdelset(&waiting_mask, SIGINT);
  while(!watch_done) {
    struct pollfd p[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
                          {.fd = fd, .events = POLLIN}};
    int n = ppoll(p, fd >= 0 ? 2 : 1, NULL, &waiting_mask);
    if(n < 0 && errno == EINTR) {
      if(io_interrupted) { /* a fresh, empty line */
        io_interrupted = 0;
        ed.cb_remove();
        fputs("^C\n", stdout);
        fflush(stdout);
        ed.cb_install(prompt, watch_handler);
      }
      continue;
    }
    if(n < 0)
      break;
    if(p[0].revents) {
      ed.cb_read_char();
      continue;
    }
    if(fd >= 0 && p[1].revents) {
      fputs("\r\033[K", stdout); /* the prompt's line, typed text kept */
      fflush(stdout);
      if(!ready(user)) {
        *gone = true;
        break;
      }
      ed.forced_update_display();
    }
  }
  io_at_prompt = 0;
  sigprocmask(SIG_UNBLOCK, &sigint_only, NULL);
  ed.cb_remove();
  if(*gone) {
    free(watch_line);
    return NULL;
  }
  return watch_line;
}

char *shio_secret(const char *prompt)
{
  int fd = STDIN_FILENO;
  if(!isatty(fd))
    return NULL;
  struct termios old, quiet;
  if(tcgetattr(fd, &old))
    return NULL;
  quiet = old;
  quiet.c_lflag &= (tcflag_t)~(ECHO | ECHONL);
  quiet.c_lflag |= ICANON;
  /* Echo off before the prompt shows: nothing typed after it is echoed. */
  io_saved_tty = old;
  io_secret_active = 1;
  if(tcsetattr(fd, TCSAFLUSH, &quiet)) {
    io_secret_active = 0;
    return NULL;
  }
  fputs(prompt, stdout);
  fflush(stdout);
  char buf[1024];
  size_t n = 0;
  bool eof = false;
  for(;;) {
    char c;
    ssize_t r = read(fd, &c, 1);
    if(r < 0 && errno == EINTR)
      continue;
    if(r <= 0) {
      eof = n == 0;
      break;
    }
    if(c == '\n' || c == '\r')
      break;
    if(n + 1 < sizeof(buf))
      buf[n++] = c;
  }
  tcsetattr(fd, TCSAFLUSH, &old);
  io_secret_active = 0;
  fputs("\n", stdout);
  fflush(stdout);
  buf[n] = '\0';
  char *s = eof ? NULL : strdup(buf);
  explicit_bzero(buf, sizeof(buf));
  return s;
}

void shio_mask_typed(const char *prompt, const char *masked)
{
  if(!io_interactive || !isatty(STDOUT_FILENO))
    return;
  /* Up to the line just entered, clear it, write it again masked. */
  printf("\033[1A\r\033[2K%s%s\n", prompt, masked);
  fflush(stdout);
}

/* ---- history ------------------------------------------------------------ */

/* mkdir -p with mode 0700 for the directories of path. */
static int make_parents(const char *path, char *err, size_t errlen)
{
  char *dir = strdup(path);
  if(!dir) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  for(char *p = dir + 1; *p; p++) {
    if(*p != '/')
      continue;
    *p = '\0';
    if(mkdir(dir, 0700) && errno != EEXIST) {
      snprintf(err, errlen, "cannot create '%s': %s", dir, strerror(errno));
      free(dir);
      return -1;
    }
    *p = '/';
  }
  free(dir);
  return 0;
}

static void history_save(void)
{
  if(!io_history)
    return;
  int fd = open(io_history, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
                0600);
  if(fd < 0)
    return;
  fchmod(fd, 0600);
  close(fd);
  ed.write_history(io_history);
  chmod(io_history, 0600);
}

int shio_history_open(const char *path, char *err, size_t errlen)
{
  if(!path || !io_interactive)
    return 0;
  if(make_parents(path, err, errlen))
    return -1;
  io_history = strdup(path);
  if(!io_history) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  ed.stifle_history(1000);
  struct stat sb;
  if(stat(path, &sb) == 0) {
    if(!S_ISREG(sb.st_mode)) {
      snprintf(err, errlen, "the history '%s' is not a file", path);
      free(io_history);
      io_history = NULL;
      return -1;
    }
    chmod(path, 0600);
    ed.read_history(path);
  }
  return 0;
}

void shio_history_add(const char *line)
{
  if(!io_history || !line[0])
    return;
  ed.add_history(line);
  history_save();
}

void shio_history_close(void)
{
  if(io_history)
    history_save();
  free(io_history);
  io_history = NULL;
}

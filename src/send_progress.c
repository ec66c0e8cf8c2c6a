/*
 * send_progress.c - the progress bar of `mailwire send` (see
 * send_progress.h).  One line on stderr, redrawn in place at most ten
 * times a second:
 *
 *   [##########..........]  52%  712.4 MiB / 1.37 GiB  96.1 MiB/s  0:07 left
 *
 * The rate is the average since the data began (steady enough for a
 * single large message); the time left is the bytes left at that rate.
 */
#include "send_progress.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

static double mono_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void cli_progress_attach(struct cli_progress *p, mw_options *o, bool quiet)
{
  memset(p, 0, sizeof(*p));
  p->out = stderr;
  p->enabled = !quiet && isatty(STDERR_FILENO);
  if(p->enabled)
    mw_options_set_progress(o, cli_progress_report, p);
}

/* "712.4 MiB", "1.37 GiB", "512 KiB", "900 B". */
static void human_bytes(double n, char *out, size_t len)
{
  static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  size_t u = 0;
  while(n >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
    n /= 1024;
    u++;
  }
  if(u == 0)
    snprintf(out, len, "%.0f B", n);
  else
    snprintf(out, len, n < 10 ? "%.2f %s" : "%.1f %s", n, units[u]);
}

void cli_progress_clear(struct cli_progress *p)
{
  if(!p->drawn)
    return;
  fputs("\r\033[K", p->out);
  fflush(p->out);
  p->drawn = false;
}

void cli_progress_report(void *user, uint64_t sent, uint64_t total)
{
  struct cli_progress *p = user;
  if(!p->enabled)
    return;
  double now = mono_ms();
  if(p->start_ms == 0)
    p->start_ms = now;
  bool done = total && sent >= total;
  if(done) {
    cli_progress_clear(p); /* the data is sent: the report follows */
    return;
  }
  uint64_t size = total > sent ? total : sent;
  if(size < CLI_PROGRESS_MIN_BYTES || (p->drawn && now - p->last_ms < 100))
    return;
  p->last_ms = now;
  enum { WIDTH = 20 };
  char bar[WIDTH + 1];
  size_t fill = total ? (size_t)((double)sent * WIDTH / (double)total) : 0;
  for(size_t i = 0; i < WIDTH; i++)
    bar[i] = i < fill ? '#' : '.';
  bar[WIDTH] = '\0';
  char done_s[32], total_s[32], rate_s[32], left_s[32] = "";
  human_bytes((double)sent, done_s, sizeof(done_s));
  human_bytes((double)total, total_s, sizeof(total_s));
  double secs = (now - p->start_ms) / 1e3;
  double rate = secs > 0.05 ? (double)sent / secs : 0;
  if(rate > 0) {
    char per[24];
    human_bytes(rate, per, sizeof(per));
    snprintf(rate_s, sizeof(rate_s), "%s/s", per);
  }
  else
    snprintf(rate_s, sizeof(rate_s), "-");
  if(rate > 0 && total) {
    unsigned long left = (unsigned long)((double)(total - sent) / rate + 0.5);
    if(left >= 3600)
      snprintf(left_s, sizeof(left_s), "%lu:%02lu:%02lu left", left / 3600,
               left / 60 % 60, left % 60);
    else
      snprintf(left_s, sizeof(left_s), "%lu:%02lu left", left / 60,
               left % 60);
  }
  if(total)
    fprintf(p->out, "\r[%s] %3u%%  %s / %s  %s  %s\033[K", bar,
            (unsigned)((double)sent * 100 / (double)total), done_s, total_s,
            rate_s, left_s);
  else
    fprintf(p->out, "\r%s sent  %s\033[K", done_s, rate_s);
  fflush(p->out);
  p->drawn = true;
}

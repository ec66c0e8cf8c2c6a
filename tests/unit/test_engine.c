/* Unit tests: proto/engine.c, the line engine, over the memory layer:
 * lines cut at every read size, CRLF and bare LF, the line cap, literals
 * interleaved with lines, the end of the stream in a line and in a
 * literal, the queue of awaited commands growing as a ring, redaction and
 * scrubbing, data lines left alone, and the blocking driver's timeout. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mailwire.h"
#include "core/scrub.h"
#include "core/trace.h"
#include "core/util.h"
#include "io/layer.h"
#include "proto/engine.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fixture {
  struct mw_error err;
  struct mw__trace trace;
  struct mw__scrub scrub;
  struct mw__engine e;
  struct mw__mem_layer *m;
  char log[4096];
};

static void trace_to_log(void *user, mw_trace_kind kind, double ms,
                         const char *text)
{
  (void)ms;
  struct fixture *f = user;
  size_t used = strlen(f->log);
  snprintf(f->log + used, sizeof(f->log) - used, "%c %s\n",
           kind == MW_TRACE_IN ? '<' : kind == MW_TRACE_OUT ? '>' : '-',
           text);
}

static struct fixture *fixture_new(size_t max_line)
{
  struct fixture *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  f->trace.fn = trace_to_log;
  f->trace.user = f;
  mw__trace_start(&f->trace);
  mw__scrub_init(&f->scrub);
  mw__engine_init(&f->e, "TEST", max_line, 0, &f->err, &f->trace,
                  &f->scrub);
  f->m = mw__mem_layer_new(&f->err);
  assert_non_null(f->m);
  return f;
}

static void fixture_free(struct fixture *f)
{
  mw__engine_free(&f->e);
  mw__mem_layer_free(f->m);
  mw__scrub_free(&f->scrub);
  mw__error_clear(&f->err);
  free(f);
}

/* The next event, which must not be a wait. */
static struct mw__engine_event next(struct fixture *f)
{
  struct mw__engine_event ev;
  short want = 0;
  assert_int_equal(mw__engine_next(&f->e, &ev, &want), MW_OK);
  assert_int_not_equal(ev.kind, MW__EV_NONE);
  return ev;
}

static void assert_line(struct fixture *f, const char *want)
{
  struct mw__engine_event ev = next(f);
  assert_int_equal(ev.kind, MW__EV_LINE);
  assert_int_equal(ev.len, strlen(want));
  assert_memory_equal(ev.data, want, ev.len);
}

static void lines_at_every_read_size(void **state)
{
  (void)state;
  for(size_t max = 1; max <= 12; max++) {
    struct fixture *f = fixture_new(64);
    assert_true(mw__mem_layer_add_str(f->m, "+OK hello\r\nbare\n\r\nlast\r\n"));
    mw__mem_layer_set_read_max(f->m, max);
    mw__engine_attach(&f->e, mw__mem_layer_get(f->m));
    assert_line(f, "+OK hello");
    assert_line(f, "bare");
    assert_line(f, "");
    assert_line(f, "last");
    struct mw__engine_event ev;
    short want = 0;
    assert_int_equal(mw__engine_next(&f->e, &ev, &want), MW_E_CLOSED);
    fixture_free(f);
  }
}

static void line_cap(void **state)
{
  (void)state;
  struct fixture *f = fixture_new(8);
  assert_true(mw__mem_layer_add_str(f->m, "12345678\r\n123456789\r\n"));
  mw__engine_attach(&f->e, mw__mem_layer_get(f->m));
  assert_line(f, "12345678"); /* exactly the cap, CR not counted */
  struct mw__engine_event ev;
  short want = 0;
  assert_int_equal(mw__engine_next(&f->e, &ev, &want), MW_E_PROTOCOL);
  assert_non_null(strstr(f->err.message, "longer than 8 bytes"));
  fixture_free(f);
}

static void literal_between_lines(void **state)
{
  (void)state;
  for(size_t max = 1; max <= 7; max++) {
    struct fixture *f = fixture_new(64);
    assert_true(mw__mem_layer_add_str(
        f->m, "* 1 FETCH (BODY[] {12}\r\nab\r\ncd\r\nef\r\n)\r\nA1 OK\r\n"));
    mw__mem_layer_set_read_max(f->m, max);
    mw__engine_attach(&f->e, mw__mem_layer_get(f->m));
    assert_line(f, "* 1 FETCH (BODY[] {12}");
    mw__engine_expect_literal(&f->e, 12);
    char body[16] = "";
    size_t have = 0;
    while(have < 12) {
      struct mw__engine_event ev = next(f);
      assert_int_equal(ev.kind, MW__EV_BYTES);
      memcpy(body + have, ev.data, ev.len);
      have += ev.len;
      assert_int_equal(ev.remaining, 12 - have);
    }
    assert_memory_equal(body, "ab\r\ncd\r\nef\r\n", 12);
    assert_line(f, ")");
    assert_line(f, "A1 OK");
    /* A literal's bytes are never traced. */
    assert_null(strstr(f->log, "ab"));
    fixture_free(f);
  }
}

static void closed_mid_line_and_mid_literal(void **state)
{
  (void)state;
  struct fixture *f = fixture_new(64);
  assert_true(mw__mem_layer_add_str(f->m, "+OK half"));
  mw__engine_attach(&f->e, mw__mem_layer_get(f->m));
  struct mw__engine_event ev;
  short want = 0;
  assert_int_equal(mw__engine_next(&f->e, &ev, &want), MW_E_CLOSED);
  assert_non_null(strstr(f->err.message, "middle of a line"));
  fixture_free(f);

  f = fixture_new(64);
  assert_true(mw__mem_layer_add_str(f->m, "abc"));
  mw__engine_attach(&f->e, mw__mem_layer_get(f->m));
  mw__engine_expect_literal(&f->e, 10);
  ev = next(f);
  assert_int_equal(ev.kind, MW__EV_BYTES);
  assert_int_equal(ev.len, 3);
  assert_int_equal(mw__engine_next(&f->e, &ev, &want), MW_E_CLOSED);
  assert_non_null(strstr(f->err.message, "7 bytes of a literal"));
  fixture_free(f);
}

static void commands_queue_as_a_ring(void **state)
{
  (void)state;
  struct fixture *f = fixture_new(64);
  assert_true(mw__mem_layer_add_str(f->m, "hi\r\n"));
  mw__engine_attach(&f->e, mw__mem_layer_get(f->m));
  /* Interleave answers and new commands so the ring wraps and grows. */
  uintptr_t next_answer = 0, next_cmd = 0;
  for(int round = 0; round < 10; round++) {
    for(int i = 0; i < 7; i++) {
      struct mw__engine_cmd c = {.kind = 1, .arg = next_cmd++};
      assert_int_equal(mw__engine_command(&f->e, &c, -1, "NOOP %d", i),
                       MW_OK);
    }
    for(int i = 0; i < 5; i++) {
      assert_int_equal(mw__engine_head(&f->e)->arg, next_answer++);
      mw__engine_answered(&f->e);
    }
  }
  assert_int_equal(mw__engine_outstanding(&f->e), next_cmd - next_answer);
  assert_int_equal(mw__engine_awaiting(&f->e, 1)->arg, next_answer + 1);
  assert_null(mw__engine_awaiting(&f->e, next_cmd - next_answer));
  fixture_free(f);
}

static void commands_are_written_redacted_and_checked(void **state)
{
  (void)state;
  struct fixture *f = fixture_new(64);
  assert_true(mw__mem_layer_add_str(f->m, "+OK\r\n"));
  assert_true(mw__mem_layer_add_str(f->m, "-ERR bad c2VjcmV0 echoed\r\n"));
  mw__engine_attach(&f->e, mw__mem_layer_get(f->m));
  assert_line(f, "+OK");
  struct mw__engine_cmd c = {.kind = 2};
  assert_int_equal(mw__engine_command(&f->e, &c, 5, "AUTH c2VjcmV0"), MW_OK);
  assert_int_equal(mw__engine_command(&f->e, NULL, -1, "A\r\nB"),
                   MW_E_INVALID);
  assert_int_equal(mw__engine_outstanding(&f->e), 1);
  struct mw__engine_event ev = next(f); /* flushes, then reads */
  assert_int_equal(ev.kind, MW__EV_LINE);
  /* The payload sent is scrubbed out of what the server echoes. */
  char echoed[64];
  snprintf(echoed, sizeof(echoed), "%.*s", (int)ev.len, ev.data);
  assert_null(strstr(echoed, "c2VjcmV0"));
  size_t n = 0;
  assert_string_equal(mw__mem_layer_written(f->m, &n), "AUTH c2VjcmV0\r\n");
  assert_non_null(strstr(f->log, "> AUTH <redacted>"));
  assert_null(strstr(f->log, "c2VjcmV0"));
  fixture_free(f);
}

static void data_lines_are_left_alone(void **state)
{
  (void)state;
  struct fixture *f = fixture_new(64);
  assert_true(mw__scrub_add_secret(&f->scrub, "hunter2!"));
  assert_true(mw__mem_layer_add_str(f->m, "+OK\r\nmy hunter2! line\r\n.\r\n"));
  mw__engine_attach(&f->e, mw__mem_layer_get(f->m));
  assert_line(f, "+OK");
  mw__engine_set_data_lines(&f->e, true);
  assert_line(f, "my hunter2! line"); /* message data: untouched */
  assert_line(f, ".");
  mw__engine_set_data_lines(&f->e, false);
  assert_null(strstr(f->log, "hunter2"));
  fixture_free(f);
}

struct waiter {
  struct mw__engine *e;
  int steps;
};

static mw_status wait_step(void *machine, short *want, bool *done)
{
  struct waiter *w = machine;
  struct mw__engine_event ev;
  w->steps++;
  mw_status st = mw__engine_next(w->e, &ev, want);
  if(!st && ev.kind == MW__EV_LINE)
    *done = true;
  return st;
}

static void run_without_a_socket_times_out(void **state)
{
  (void)state;
  struct fixture *f = fixture_new(64);
  assert_true(mw__mem_layer_add_str(f->m, "first\r\n"));
  assert_true(mw__mem_layer_add_str(f->m, "never\r\n"));
  mw__engine_attach(&f->e, mw__mem_layer_get(f->m));
  struct waiter w = {.e = &f->e};
  mw__engine_deadline_in(&f->e, 1000, "waiting for the greeting");
  assert_int_equal(mw__engine_run(&f->e, wait_step, &w), MW_OK);
  /* The scripted server now waits for the client, which says nothing. */
  assert_int_equal(mw__engine_run(&f->e, wait_step, &w), MW_E_TIMEOUT);
  assert_string_equal(f->err.message, "timed out waiting for the greeting");
  fixture_free(f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(lines_at_every_read_size),
      cmocka_unit_test(line_cap),
      cmocka_unit_test(literal_between_lines),
      cmocka_unit_test(closed_mid_line_and_mid_literal),
      cmocka_unit_test(commands_queue_as_a_ring),
      cmocka_unit_test(commands_are_written_redacted_and_checked),
      cmocka_unit_test(data_lines_are_left_alone),
      cmocka_unit_test(run_without_a_socket_times_out),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

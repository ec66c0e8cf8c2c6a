/* Unit tests: the composition API (issue 12): the MIME tree for HTML,
 * inline parts and attachments, parsed back with GMime; file names and
 * types refused before they reach a header; a ready-made message with
 * its recipients, Bcc removed, Date and Message-ID added; memory bounded
 * while a large attachment is written. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mailwire.h"

#include <gmime/gmime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static char dir[] = "/tmp/mw-compose-unit-XXXXXX";

static char *write_file(const char *name, const void *data, size_t len)
{
  static char path[8][512];
  static int next;
  char *p = path[next++ % 8];
  snprintf(p, 512, "%s/%s", dir, name);
  FILE *f = fopen(p, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, len, f), len);
  fclose(f);
  return p;
}

static GMimeMessage *parse_back(const char *msg, size_t len)
{
  GMimeStream *s = g_mime_stream_mem_new_with_buffer(msg, len);
  GMimeParser *p = g_mime_parser_new_with_stream(s);
  GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
  g_object_unref(p);
  g_object_unref(s);
  assert_non_null(m);
  return m;
}

static GByteArray *decoded(GMimeObject *o)
{
  GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(o));
  GMimeStream *mem = g_mime_stream_mem_new();
  g_mime_data_wrapper_write_to_stream(w, mem);
  GByteArray *copy = g_byte_array_new();
  GByteArray *b = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
  g_byte_array_append(copy, b->data, b->len);
  g_object_unref(mem);
  return copy;
}

static mw_compose *basic(void)
{
  mw_compose *c = mw_compose_new();
  assert_non_null(c);
  assert_int_equal(mw_compose_set_from(c, "a@example.org"), MW_OK);
  assert_int_equal(mw_compose_add_to(c, "b@example.org"), MW_OK);
  return c;
}

static void tree_parses_back(void **state)
{
  (void)state;
  unsigned char bin[3000];
  for(size_t i = 0; i < sizeof(bin); i++)
    bin[i] = (unsigned char)(i * 7 + 3);
  const char png[] = "\x89PNG\r\n\x1a\nimage";
  char *bin_path = write_file("Gr\xc3\xbc\xc3\x9f" "e.pdf", bin, sizeof(bin));
  char *png_path = write_file("logo.png", png, sizeof(png) - 1);
  mw_compose *c = basic();
  const char *html = "<p>hi <img src=\"cid:logo.png\"></p>\n";
  assert_int_equal(mw_compose_set_body(c, "text\n", 5), MW_OK);
  assert_int_equal(mw_compose_set_html(c, html, strlen(html)), MW_OK);
  assert_int_equal(mw_compose_add_inline(c, png_path, NULL, NULL), MW_OK);
  assert_int_equal(mw_compose_add_attachment(c, bin_path, NULL, NULL),
                   MW_OK);
  char *out = NULL;
  size_t len = 0;
  assert_int_equal(mw_compose_render(c, &out, &len), MW_OK);
  assert_non_null(strstr(out, "filename*=")); /* RFC 2231 */
  GMimeMessage *m = parse_back(out, len);
  GMimeObject *top = g_mime_message_get_mime_part(m);
  assert_true(g_mime_content_type_is_type(g_mime_object_get_content_type(top),
                                          "multipart", "mixed"));
  GMimeMultipart *mixed = GMIME_MULTIPART(top);
  assert_int_equal(g_mime_multipart_get_count(mixed), 2);
  GMimeObject *alt = g_mime_multipart_get_part(mixed, 0);
  assert_true(g_mime_content_type_is_type(g_mime_object_get_content_type(alt),
                                          "multipart", "alternative"));
  GMimeObject *rel = g_mime_multipart_get_part(GMIME_MULTIPART(alt), 1);
  assert_true(g_mime_content_type_is_type(g_mime_object_get_content_type(rel),
                                          "multipart", "related"));
  GMimeObject *img = g_mime_multipart_get_part(GMIME_MULTIPART(rel), 1);
  assert_string_equal(g_mime_object_get_content_id(img), "logo.png");
  GByteArray *b = decoded(img);
  assert_int_equal(b->len, sizeof(png) - 1);
  assert_memory_equal(b->data, png, sizeof(png) - 1);
  g_byte_array_unref(b);
  GMimeObject *att = g_mime_multipart_get_part(mixed, 1);
  assert_string_equal(g_mime_part_get_filename(GMIME_PART(att)),
                      "Gr\xc3\xbc\xc3\x9f" "e.pdf");
  assert_true(g_mime_content_type_is_type(g_mime_object_get_content_type(att),
                                          "application", "pdf"));
  b = decoded(att);
  assert_int_equal(b->len, sizeof(bin));
  assert_memory_equal(b->data, bin, sizeof(bin));
  g_byte_array_unref(b);
  g_object_unref(m);
  mw_free(out);
  mw_compose_free(c);
}

static void html_alone_and_quoted_printable(void **state)
{
  (void)state;
  mw_compose *c = basic();
  const char *html = "<p>caf\xc3\xa9 and plenty of plain ASCII words</p>\n";
  assert_int_equal(mw_compose_set_html(c, html, strlen(html)), MW_OK);
  char *out = NULL;
  size_t len = 0;
  assert_int_equal(mw_compose_render(c, &out, &len), MW_OK);
  /* No text body: the HTML stands alone, quoted-printable. */
  assert_non_null(strstr(out, "Content-Type: text/html"));
  assert_null(strstr(out, "multipart"));
  assert_non_null(strstr(out, "quoted-printable"));
  mw_free(out);
  mw_compose_free(c);
}

static void refusals(void **state)
{
  (void)state;
  mw_compose *c = basic();
  char *ok = write_file("ok.txt", "x", 1);
  char missing[600];
  snprintf(missing, sizeof(missing), "%s/none", dir);
  assert_int_equal(mw_compose_add_attachment(c, missing, NULL, NULL),
                   MW_E_IO);
  assert_non_null(strstr(mw_compose_error_message(c), "cannot read"));
  assert_int_equal(mw_compose_add_attachment(c, ok, "a\r\nBcc: x@y", NULL),
                   MW_E_MESSAGE);
  assert_non_null(strstr(mw_compose_error_message(c), "line break"));
  assert_int_equal(mw_compose_add_attachment(c, ok, NULL, "text/plain; x=1"),
                   MW_E_MESSAGE);
  assert_int_equal(mw_compose_add_attachment(c, ok, NULL, "nonsense"),
                   MW_E_MESSAGE);
  assert_int_equal(mw_compose_add_inline(c, ok, "a b", NULL), MW_E_MESSAGE);
  assert_int_equal(mw_compose_add_inline(c, ok, "id@x", NULL), MW_OK);
  assert_int_equal(mw_compose_add_inline(c, ok, "id@x", NULL), MW_E_MESSAGE);
  /* An inline part without HTML cannot be referenced. */
  char *out = NULL;
  size_t len = 0;
  assert_int_equal(mw_compose_render(c, &out, &len), MW_E_MESSAGE);
  assert_null(out);
  assert_int_equal(mw_compose_set_html(c, "\xff", 1), MW_E_MESSAGE);
  mw_compose_free(c);
}

static void ready_made_message(void **state)
{
  (void)state;
  const char msg[] = "From: Alice <alice@example.org>\n"
                     "To: Bob <bob@example.org>, team: c@example.org, "
                     "d@example.org;\n"
                     "Cc: bob@example.org\n"
                     "Bcc: hidden@example.org\n"
                     "Subject: ready\n\nbody line\n.\n";
  FILE *in = tmpfile();
  assert_non_null(in);
  fwrite(msg, 1, sizeof(msg) - 1, in);
  fflush(in);
  rewind(in);
  mw_compose *c = mw_compose_new();
  assert_int_equal(mw_compose_set_message_fd(c, fileno(in)), MW_OK);
  assert_int_equal(mw_compose_recipient_count(c), 4);
  assert_string_equal(mw_compose_recipient(c, 0), "bob@example.org");
  assert_string_equal(mw_compose_recipient(c, 1), "c@example.org");
  assert_string_equal(mw_compose_recipient(c, 2), "d@example.org");
  assert_string_equal(mw_compose_recipient(c, 3), "hidden@example.org");
  assert_null(mw_compose_recipient(c, 4));
  assert_string_equal(mw_compose_sender(c), "alice@example.org");
  /* The From is there: set_from does not replace it. */
  assert_int_equal(mw_compose_set_from(c, "x@example.org"), MW_OK);
  assert_int_equal(mw_compose_set_html(c, "x", 1), MW_E_MESSAGE);
  uint64_t size = 0;
  assert_int_equal(mw_compose_open(c, &size), MW_OK);
  char buf[4096];
  size_t got = 0, total = 0;
  while(mw_compose_read(c, buf + total, sizeof(buf) - 1 - total, &got) ==
            MW_OK && got)
    total += got;
  buf[total] = '\0';
  assert_int_equal(total, size);
  assert_null(strstr(buf, "Bcc"));
  assert_null(strstr(buf, "hidden@"));
  assert_non_null(strstr(buf, "Date: "));
  assert_non_null(strstr(buf, "Message-Id: <"));
  assert_non_null(strstr(buf, "From: Alice <alice@example.org>"));
  assert_null(strstr(buf, "x@example.org"));
  assert_non_null(strstr(buf, "body line\r\n.\r\n"));
  mw_compose_free(c);
  fclose(in);
  /* Not seekable: refused. */
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  c = mw_compose_new();
  assert_int_equal(mw_compose_set_message_fd(c, fds[0]), MW_E_INVALID);
  mw_compose_free(c);
  close(fds[0]);
  close(fds[1]);
}

/* Found by fuzz_message: a message that ends inside its header (no empty
 * line, no final line break) must not glue the added Date to its last
 * field; a NUL in the header is refused; a pipe is a valid output. */
static void ready_made_edge_cases(void **state)
{
  (void)state;
  const char msg[] = "From: a@example.org\nSubject: no body";
  FILE *in = tmpfile();
  fwrite(msg, 1, sizeof(msg) - 1, in);
  fflush(in);
  rewind(in);
  mw_compose *c = mw_compose_new();
  assert_int_equal(mw_compose_set_message_fd(c, fileno(in)), MW_OK);
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  assert_int_equal(mw_compose_write_fd(c, fds[1]), MW_OK);
  close(fds[1]);
  char buf[2048];
  ssize_t n, total = 0;
  while((n = read(fds[0], buf + total, sizeof(buf) - 1 - (size_t)total)) > 0)
    total += n;
  buf[total] = '\0';
  close(fds[0]);
  assert_non_null(strstr(buf, "Subject: no body\r\nDate: "));
  mw_compose_free(c);
  fclose(in);

  const char nul[] = "From: a@example.org\nTo: b@x\0y\n\nbody\0ok\n";
  in = tmpfile();
  fwrite(nul, 1, sizeof(nul) - 1, in);
  fflush(in);
  rewind(in);
  c = mw_compose_new();
  assert_int_equal(mw_compose_set_message_fd(c, fileno(in)), MW_E_MESSAGE);
  assert_non_null(strstr(mw_compose_error_message(c), "NUL"));
  mw_compose_free(c);
  fclose(in);
}

static long peak_kib(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

static void large_attachment_memory_is_bounded(void **state)
{
  (void)state;
  char path[600];
  snprintf(path, sizeof(path), "%s/big.bin", dir);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  /* 64 MiB of (sparse) zeros: read and encoded while written. */
  assert_int_equal(ftruncate(fileno(f), 64L << 20), 0);
  fclose(f);
  mw_compose *c = basic();
  assert_int_equal(mw_compose_add_attachment(c, path, NULL, NULL), MW_OK);
  FILE *out = fopen("/dev/null", "wb");
  long before = peak_kib();
  assert_int_equal(mw_compose_write_fd(c, fileno(out)), MW_OK);
  long grown = peak_kib() - before;
  fclose(out);
  mw_compose_free(c);
  unlink(path);
  /* Far below the 64 MiB (and its 86 MiB of base64). */
  assert_true(grown < 16 * 1024);
}

static int setup(void **state)
{
  (void)state;
  return mkdtemp(dir) ? 0 : -1;
}

/* Issue 12: a ready-made 8-bit message for a server without 8BITMIME is
 * re-encoded by GMime: 8bit text and a binary part get quoted-printable
 * or base64, a base64 part is left alone, and every part decodes back to
 * its bytes; the result scans as 7-bit. */
static void ready_made_re_encoded_7bit(void **state)
{
  (void)state;
  static const char msg[] =
      "From: a@example.org\nTo: b@example.org\nSubject: eight\n"
      "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=XX\n\n"
      "--XX\nContent-Type: text/plain; charset=utf-8\n"
      "Content-Transfer-Encoding: 8bit\n\n"
      "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln, and then a long line of plain "
      "ASCII text, so that the part is mostly ASCII\n"
      "--XX\nContent-Type: application/octet-stream\n"
      "Content-Transfer-Encoding: binary\n\n"
      "\xff\xfe\x01\x02 bin\n"
      "--XX\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n"
      "aGVsbG8=\n--XX--\n";
  FILE *in = tmpfile();
  assert_non_null(in);
  fwrite(msg, 1, sizeof(msg) - 1, in);
  fflush(in);
  rewind(in);
  mw_compose *c = mw_compose_new();
  assert_int_equal(mw_compose_set_message_fd(c, fileno(in)), MW_OK);
  mw_message_info info;
  /* Written once as it is (8-bit), then again once told. */
  assert_int_equal(mw_compose_open(c, NULL), MW_OK);
  assert_int_equal(mw_message_info_scan_reader(&info, mw_compose_read, c),
                   MW_OK);
  assert_true(info.has_8bit);
  assert_int_equal(mw_compose_set_7bit(c, true), MW_OK);
  assert_int_equal(mw_compose_open(c, NULL), MW_OK);
  assert_int_equal(mw_message_info_scan_reader(&info, mw_compose_read, c),
                   MW_OK);
  assert_false(info.has_8bit);
  assert_false(info.binary);
  assert_int_equal(mw_compose_open(c, NULL), MW_OK);
  static char buf[8192];
  size_t got = 0, total = 0;
  while(mw_compose_read(c, buf + total, sizeof(buf) - 1 - total, &got) ==
            MW_OK && got)
    total += got;
  buf[total] = '\0';
  assert_non_null(strstr(buf, "Content-Transfer-Encoding: quoted-printable"));
  assert_null(strstr(buf, "Content-Transfer-Encoding: 8bit"));
  assert_null(strstr(buf, "Content-Transfer-Encoding: binary"));
  assert_non_null(strstr(buf, "aGVsbG8="));
  GMimeMessage *m = parse_back(buf, total);
  GMimeMultipart *mp = GMIME_MULTIPART(g_mime_message_get_mime_part(m));
  assert_int_equal(g_mime_multipart_get_count(mp), 3);
  static const char *const want[] = {
      "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln, and then a long line of plain "
      "ASCII text, so that the part is mostly ASCII",
      "\xff\xfe\x01\x02 bin", "hello"};
  for(int i = 0; i < 3; i++) {
    GByteArray *b = decoded(g_mime_multipart_get_part(mp, i));
    size_t n = b->len;
    while(n && (b->data[n - 1] == '\n' || b->data[n - 1] == '\r'))
      n--;
    if(n != strlen(want[i]) || memcmp(b->data, want[i], n) != 0)
      fail_msg("part %d decodes to %.*s", i, (int)b->len, b->data);
    g_byte_array_free(b, TRUE);
  }
  g_object_unref(m);
  mw_compose_free(c);
  fclose(in);
}

static int teardown(void **state)
{
  (void)state;
  char cmd[600];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(tree_parses_back),
      cmocka_unit_test(html_alone_and_quoted_printable),
      cmocka_unit_test(refusals),
      cmocka_unit_test(ready_made_message),
      cmocka_unit_test(ready_made_edge_cases),
      cmocka_unit_test(large_attachment_memory_is_bounded),
      cmocka_unit_test(ready_made_re_encoded_7bit),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

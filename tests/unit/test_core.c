/* Unit tests: options, envelope, queue ids, errors, composition. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mailwire.h"
#include "core/err.h"
#include "core/options.h"
#include "core/util.h"
#include "proto/envelope.h"
#include "tls/tls.h"

#include <string.h>

static void server_strings(void **state)
{
  (void)state;
  mw_options *o = mw_options_new();
  assert_int_equal(mw_options_set_server_string(o, "mail.example:2525"),
                   MW_OK);
  assert_string_equal(o->host, "mail.example");
  assert_int_equal(o->port, 2525);
  assert_int_equal(mw_options_set_server_string(o, "[::1]:25"), MW_OK);
  assert_string_equal(o->host, "::1");
  assert_int_equal(mw_options_set_server_string(o, "[::1]"), MW_OK);
  assert_int_equal(o->port, 0);
  assert_int_equal(mw_options_set_server_string(o, "h:"), MW_E_INVALID);
  assert_int_equal(mw_options_set_server_string(o, ":25"), MW_E_INVALID);
  assert_int_equal(mw_options_set_server_string(o, "[::1"), MW_E_INVALID);
  assert_int_equal(mw_options_set_server_string(o, "[::1]x"), MW_E_INVALID);
  assert_int_equal(mw_options_set_server_string(o, "h:99999"), MW_E_INVALID);
  assert_int_equal(mw_options_set_server_string(o, "h:1a"), MW_E_INVALID);
  assert_int_equal(mw_options_set_server_string(o, "a\rb"), MW_E_INVALID);
  mw_options_free(o);
}

static void tls_mode_by_port(void **state)
{
  (void)state;
  mw_options *o = mw_options_new();
  mw_options_set_server(o, "h", 0);
  assert_int_equal(mw__options_port(o), 587);
  assert_int_equal(mw__options_tls_mode(o), MW_TLS_STARTTLS);
  mw_options_set_server(o, "h", 465);
  assert_int_equal(mw__options_tls_mode(o), MW_TLS_IMPLICIT);
  mw_options_set_server(o, "h", 25);
  assert_int_equal(mw__options_tls_mode(o), MW_TLS_STARTTLS);
  mw_options_set_server(o, "h", 0);
  mw_options_set_tls_mode(o, MW_TLS_IMPLICIT);
  assert_int_equal(mw__options_port(o), 465);
  mw_tls_mode m;
  assert_int_equal(mw_tls_mode_parse("STARTTLS-optional", &m), MW_OK);
  assert_int_equal(m, MW_TLS_STARTTLS_OPTIONAL);
  assert_int_equal(mw_tls_mode_parse("maybe", &m), MW_E_INVALID);
  mw_options_free(o);
}

static void secrets_and_copies(void **state)
{
  (void)state;
  mw_options *o = mw_options_new();
  assert_int_equal(mw_options_set_credentials(o, "u", "p\r\nRSET"),
                   MW_E_INVALID);
  assert_int_equal(mw_options_set_credentials(o, "u", "pw"), MW_OK);
  struct mw_options copy;
  assert_true(mw__options_copy(&copy, o));
  assert_string_equal(copy.password, "pw");
  assert_ptr_not_equal(copy.password, o->password);
  mw__options_release(&copy);
  mw_options_free(o);
  mw_options_free(NULL);
}

static void fingerprints(void **state)
{
  (void)state;
  char out[65];
  assert_true(mw__tls_normalise_fingerprint(
      "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:"
      "89:AB:CD:EF:01:23:45:67:89",
      out));
  assert_string_equal(out, "abcdef0123456789abcdef0123456789abcdef0123456789"
                           "abcdef0123456789");
  assert_false(mw__tls_normalise_fingerprint("abcd", out));
  assert_false(mw__tls_normalise_fingerprint(
      "zz00000000000000000000000000000000000000000000000000000000000000",
      out));
}

static void envelope_refuses_injection(void **state)
{
  (void)state;
  mw_envelope *e = mw_envelope_new();
  assert_int_equal(mw_envelope_set_from(e, ""), MW_OK); /* null path */
  assert_int_equal(mw_envelope_add_recipient(e, "a@b.c"), MW_OK);
  assert_int_equal(mw_envelope_add_recipient(e, "a@b.c\r\nRCPT TO:<x@y>"),
                   MW_E_INVALID);
  assert_int_equal(mw_envelope_add_recipient(e, "<a@b.c>"), MW_E_INVALID);
  assert_int_equal(mw_envelope_add_recipient(e, "a b@c.d"), MW_E_INVALID);
  assert_int_equal(mw_envelope_add_recipient(e, ""), MW_E_INVALID);
  assert_int_equal(mw_envelope_add_recipient(e, "nobody"), MW_E_INVALID);
  assert_int_equal(mw_envelope_set_from(e, "x@y\n"), MW_E_INVALID);
  assert_int_equal(mw_envelope_recipient_count(e), 1);
  assert_true(mw__address_is_utf8("j\xc3\xb6rg@example.org"));
  assert_false(mw__address_is_utf8("jorg@example.org"));
  mw_envelope_free(e);
}

static void queue_ids(void **state)
{
  (void)state;
  char id[64];
  mw__parse_queue_id("Ok: queued as 4XyZ12AbC", id, sizeof(id));
  assert_string_equal(id, "4XyZ12AbC");
  mw__parse_queue_id("OK id=1abcDE-0001Xy-Zz", id, sizeof(id));
  assert_string_equal(id, "1abcDE-0001Xy-Zz");
  mw__parse_queue_id("x1234 Message accepted for delivery", id, sizeof(id));
  assert_string_equal(id, "x1234");
  mw__parse_queue_id("Queued mail for delivery", id, sizeof(id));
  assert_string_equal(id, "");
  mw__parse_queue_id("queued as ", id, sizeof(id));
  assert_string_equal(id, "");
  /* Found by fuzz_reply: the id never spans lines of a reply. */
  mw__parse_queue_id("mx.example.org\nabc123 Message accepted for delivery",
                     id, sizeof(id));
  assert_string_equal(id, "abc123");
}

static void error_table(void **state)
{
  (void)state;
  assert_string_equal(mw_status_name(MW_E_AUTH), "MW_E_AUTH");
  assert_string_equal(mw_status_name(MW_E_INJECTION), "MW_E_INJECTION");
  assert_string_equal(mw_status_name((mw_status)999), "MW_E_INTERNAL");
  assert_string_equal(mw_category_name(MW_CAT_CERTIFICATE), "certificate");
  struct mw_error e = {0};
  mw__error_set(&e, MW_E_TIMEOUT, "waited %d s", 3);
  assert_true(mw_error_is_temporary(&e));
  assert_int_equal(mw_error_category(&e), MW_CAT_TIMEOUT);
  assert_string_equal(mw_error_message(&e), "waited 3 s");
  mw__error_set(&e, MW_E_CERT, NULL);
  assert_false(mw_error_is_temporary(&e));
  assert_string_equal(mw_error_message(&e), "server certificate not accepted");
  mw__error_clear(&e);
}

static void compose_encodes_and_refuses_injection(void **state)
{
  (void)state;
  mw_compose *c = mw_compose_new();
  assert_int_equal(mw_compose_set_from(c, "a@example.org"), MW_OK);
  assert_int_equal(mw_compose_add_to(c, "b@example.org"), MW_OK);
  assert_int_equal(mw_compose_set_subject(c, "Gr\xc3\xbc\xc3\x9f" "e"),
                   MW_OK);
  assert_int_equal(mw_compose_set_subject(c, "x\r\nBcc: evil@x"),
                   MW_E_MESSAGE);
  assert_non_null(strstr(mw_compose_error_message(c), "line break"));
  assert_int_equal(mw_compose_add_header(c, "X Bad", "v"), MW_E_MESSAGE);
  assert_int_equal(mw_compose_add_header(c, "X-Ok", "v\nInjected: 1"),
                   MW_E_MESSAGE);
  assert_int_equal(mw_compose_add_to(c, "c@example.org\nBcc: x@y"),
                   MW_E_MESSAGE);
  assert_int_equal(mw_compose_set_body(c, "caf\xc3\xa9\n.dot\n", 11), MW_OK);
  assert_int_equal(mw_compose_set_body(c, "\xff\xfe", 2), MW_E_MESSAGE);
  char *msg = NULL;
  size_t len = 0;
  assert_int_equal(mw_compose_render(c, &msg, &len), MW_OK);
  assert_non_null(strstr(msg, "Subject: =?UTF-8?"));
  assert_non_null(strstr(msg, "From: a@example.org\r\n"));
  assert_true(strstr(msg, "Message-Id: <") || strstr(msg, "Message-ID: <"));
  assert_null(strstr(msg, "Injected"));
  assert_null(strstr(msg, "evil"));
  /* 7-bit safe: the body went quoted-printable or base64. */
  for(size_t i = 0; i < len; i++)
    assert_true((unsigned char)msg[i] < 0x80);
  mw_free(msg);
  mw_compose_free(c);
}

static void server_urls_and_protocol_ports(void **state)
{
  (void)state;
  mw_options *o = mw_options_new();
  assert_non_null(o);
  struct mw_options *in = (struct mw_options *)o;
  /* The protocol sets the default ports and what "auto" means. */
  assert_int_equal(mw_options_set_server(o, "mail.example", 0), MW_OK);
  assert_int_equal(mw__options_port(in), 587);
  assert_int_equal(mw_options_set_protocol(o, MW_PROTOCOL_IMAP), MW_OK);
  assert_int_equal(mw__options_port(in), 143);
  assert_int_equal(mw__options_tls_mode(in), MW_TLS_STARTTLS);
  assert_int_equal(mw_options_set_tls_mode(o, MW_TLS_IMPLICIT), MW_OK);
  assert_int_equal(mw__options_port(in), 993);
  assert_int_equal(mw_options_set_tls_mode(o, MW_TLS_AUTO), MW_OK);
  assert_int_equal(mw_options_set_protocol(o, MW_PROTOCOL_POP3), MW_OK);
  assert_int_equal(mw_options_set_server(o, "mail.example", 995), MW_OK);
  assert_int_equal(mw__options_tls_mode(in), MW_TLS_IMPLICIT);
  assert_int_equal(mw_options_set_protocol(o, (mw_protocol)7), MW_E_INVALID);

  assert_int_equal(
      mw_options_set_server_url(o, "imaps://bob%40example.org@[::1]:10993/"
                                   "Sent%20Items"),
      MW_OK);
  assert_int_equal(mw_options_protocol(o), MW_PROTOCOL_IMAP);
  assert_string_equal(in->host, "::1");
  assert_int_equal(in->port, 10993);
  assert_string_equal(in->user, "bob@example.org");
  assert_string_equal(in->mailbox, "Sent Items");
  assert_int_equal(mw__options_tls_mode(in), MW_TLS_IMPLICIT);

  assert_int_equal(mw_options_set_tls_mode(o, MW_TLS_AUTO), MW_OK);
  assert_int_equal(mw_options_set_server_url(o, "POP3://mail.example"), MW_OK);
  assert_int_equal(mw_options_protocol(o), MW_PROTOCOL_POP3);
  assert_int_equal(mw__options_port(in), 110);
  assert_int_equal(mw__options_tls_mode(in), MW_TLS_STARTTLS);
  assert_string_equal(in->user, "bob@example.org"); /* kept */

  /* Refused, with nothing changed: a password, an unknown scheme, a bad
   * escape, a control byte, a mailbox on POP3, IMAP URL parameters. */
  const char *bad[] = {"imap://bob:secret@host", "http://host",
                       "imap://bob%4@host", "imap://b%0aob@host",
                       "pop3://host/INBOX", "imap://host/INBOX;UIDVALIDITY=3",
                       "imap://", "imap://@host", "imaps//host",
                       "imap://host:0", "imap://host:99999"};
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_int_equal(mw_options_set_server_url(o, bad[i]), MW_E_INVALID);
  assert_string_equal(in->host, "mail.example");
  assert_int_equal(mw_options_protocol(o), MW_PROTOCOL_POP3);
  assert_string_equal(mw_protocol_name(MW_PROTOCOL_IMAP), "imap");
  mw_options_free(o);
}

/* mw__big_*: zeroed, contents kept across growth from the heap into a
 * mapping and from mapping to mapping, sizes on both sides of the line. */
static void big_tables(void **state)
{
  (void)state;
  size_t small = MW__BIG_MIN / 4, large = MW__BIG_MIN * 4;
  unsigned char *p = mw__big_calloc(small);
  assert_non_null(p);
  for(size_t i = 0; i < small; i++)
    assert_int_equal(p[i], 0);
  memset(p, 0xab, small);
  p = mw__big_realloc(p, small, small * 2); /* heap to heap */
  assert_non_null(p);
  assert_int_equal(p[small - 1], 0xab);
  assert_int_equal(p[small], 0);
  p = mw__big_realloc(p, small * 2, MW__BIG_MIN + 1); /* into a mapping */
  assert_non_null(p);
  assert_int_equal(p[0], 0xab);
  assert_int_equal(p[small * 2 - 1], 0);
  assert_int_equal(p[MW__BIG_MIN], 0);
  memset(p, 0xcd, MW__BIG_MIN + 1);
  p = mw__big_realloc(p, MW__BIG_MIN + 1, large); /* moved by the kernel */
  assert_non_null(p);
  assert_int_equal(p[MW__BIG_MIN], 0xcd);
  assert_int_equal(p[MW__BIG_MIN + 1], 0);
  assert_int_equal(p[large - 1], 0);
  mw__big_free(p, large);
  mw__big_free(NULL, large);
  unsigned char *q = mw__big_calloc(large);
  assert_non_null(q);
  assert_int_equal(q[large / 2], 0);
  mw__big_free(q, large);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(server_strings),
      cmocka_unit_test(tls_mode_by_port),
      cmocka_unit_test(server_urls_and_protocol_ports),
      cmocka_unit_test(secrets_and_copies),
      cmocka_unit_test(fingerprints),
      cmocka_unit_test(envelope_refuses_injection),
      cmocka_unit_test(queue_ids),
      cmocka_unit_test(error_table),
      cmocka_unit_test(big_tables),
      cmocka_unit_test(compose_encodes_and_refuses_injection),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

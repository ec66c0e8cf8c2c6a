/* Unit tests: proto/imap_parse.h, the IMAP syntax layer (framing with
 * literals, responses, codes, FETCH with streamed bodies, encoders). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "proto/imap_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- A line engine in miniature --------------------------------------- */

/* Feeds wire (lines ending in CRLF, literals raw) to p the way the line
 * engine does: one line without CRLF, then when asked, the literal's
 * bytes in chunks of `chunk` bytes.  Returns the last result; *used gets
 * the bytes consumed. */
static enum mw__imap_feed feed_wire(struct mw__imap_parser *p,
                                    const char *wire, size_t len,
                                    size_t chunk, size_t *used,
                                    const char **why)
{
  size_t pos = 0;
  enum mw__imap_feed r = MW__IMAP_BAD;
  *why = NULL;
  while(pos < len) {
    const char *nl = memchr(wire + pos, '\n', len - pos);
    assert_non_null(nl);
    size_t n = (size_t)(nl - (wire + pos));
    if(n && wire[pos + n - 1] == '\r')
      n--;
    uint64_t lit;
    r = mw__imap_feed_line(p, wire + pos, n, &lit, why);
    pos = (size_t)(nl - wire) + 1;
    while(r == MW__IMAP_NEED_LITERAL) {
      uint64_t left = lit;
      if(left == 0) {
        r = mw__imap_feed_literal(p, "", 0, &left, why);
        break;
      }
      while(left) {
        size_t k = left < chunk ? (size_t)left : chunk;
        if(k > len - pos)
          k = len - pos;
        if(!k)
          goto out; /* wire ended inside the literal */
        r = mw__imap_feed_literal(p, wire + pos, k, &left, why);
        pos += k;
        if(r == MW__IMAP_BAD)
          goto out;
      }
    }
    if(r == MW__IMAP_DONE || r == MW__IMAP_BAD)
      break;
  }
out:
  if(used)
    *used = pos;
  return r;
}

static enum mw__imap_feed one(struct mw__imap_parser *p, const char *wire,
                              const char **why)
{
  return feed_wire(p, wire, strlen(wire), 1u << 20, NULL, why);
}

static void done(struct mw__imap_parser *p, const char *wire)
{
  const char *why = NULL;
  enum mw__imap_feed r = one(p, wire, &why);
  if(r != MW__IMAP_DONE)
    fail_msg("not DONE (%d): %s for %s", (int)r, why ? why : "-", wire);
}

static void refused_n(const char *wire, size_t len)
{
  struct mw__imap_parser p;
  const char *why = NULL;
  mw__imap_parser_init(&p, NULL);
  enum mw__imap_feed r = feed_wire(&p, wire, len, 1u << 20, NULL, &why);
  if(r != MW__IMAP_BAD)
    fail_msg("accepted (%d): %s", (int)r, wire);
  assert_non_null(why);
  assert_true(why[0] != '\0');
  mw__imap_parser_free(&p);
}

static void refused(const char *wire) { refused_n(wire, strlen(wire)); }
/* For string literals holding NUL bytes. */
#define REFUSED_BIN(s) refused_n(s, sizeof(s) - 1)

/* ---- Greetings, capabilities, status responses ------------------------ */

static void dovecot_greeting(void **state)
{
  (void)state;
  struct mw__imap_parser p;
  mw__imap_parser_init(&p, NULL);
  done(&p, "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE "
           "IDLE LITERAL+ STARTTLS AUTH=PLAIN AUTH=login] Dovecot (Debian) "
           "ready.\r\n");
  struct mw__imap_resp *r = &p.resp;
  assert_int_equal(r->kind, MW__IMAP_UNTAGGED);
  assert_int_equal(r->type, MW__IMAP_T_STATUS);
  assert_int_equal(r->status.cond, MW__IMAP_COND_OK);
  assert_int_equal(r->status.code.kind, MW__IMAP_CODE_CAPABILITY);
  const struct mw__imap_caps *c = &r->status.code.caps;
  assert_true(c->imap4rev1 && c->sasl_ir && c->idle && c->literal_plus &&
              c->starttls && c->enable && c->id);
  assert_false(c->logindisabled || c->imap4rev2 || c->uidplus);
  assert_true(mw__imap_caps_has(c, "login-referrals"));
  assert_true(mw__imap_caps_has_auth(c, "LOGIN"));
  assert_true(mw__imap_caps_has_auth(c, "plain"));
  assert_false(mw__imap_caps_has_auth(c, "XOAUTH2"));
  assert_int_equal(c->auth.n, 2);
  assert_string_equal(c->auth.v[1], "LOGIN");
  assert_string_equal(r->status.text, "Dovecot (Debian) ready.");
  mw__imap_parser_free(&p);
}

static void gmail_and_m365(void **state)
{
  (void)state;
  struct mw__imap_parser p;
  mw__imap_parser_init(&p, NULL);
  done(&p, "* OK Gimap ready for requests from 192.0.2.1 "
           "x5mb123456lfb\r\n");
  assert_int_equal(p.resp.status.code.kind, MW__IMAP_CODE_NONE);
  assert_string_equal(p.resp.status.text,
                      "Gimap ready for requests from 192.0.2.1 x5mb123456lfb");
  done(&p, "* CAPABILITY IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST "
           "CHILDREN X-GM-EXT-1 XYZZY SASL-IR AUTH=XOAUTH2 AUTH=PLAIN "
           "AUTH=PLAIN-CLIENTTOKEN AUTH=OAUTHBEARER AUTH=XOAUTH\r\n");
  assert_int_equal(p.resp.type, MW__IMAP_T_CAPABILITY);
  assert_int_equal(p.resp.caps.auth.n, 5);
  assert_true(p.resp.caps.unselect && p.resp.caps.namespace_);
  done(&p, "A0002 NO [AUTHENTICATIONFAILED] Invalid credentials "
           "(Failure)\r\n");
  assert_int_equal(p.resp.kind, MW__IMAP_TAGGED);
  assert_string_equal(p.resp.tag, "A0002");
  assert_int_equal(p.resp.status.cond, MW__IMAP_COND_NO);
  assert_int_equal(p.resp.status.code.kind,
                   MW__IMAP_CODE_AUTHENTICATIONFAILED);
  assert_string_equal(p.resp.status.text, "Invalid credentials (Failure)");
  done(&p, "A0002 NO [ALERT] Application-specific password required: "
           "https://support.google.com/accounts/answer/185833 "
           "(Failure)\r\n");
  assert_int_equal(p.resp.status.code.kind, MW__IMAP_CODE_ALERT);
  done(&p, "A3 NO [WEBALERT https://accounts.google.com/signin/continue?x=1]"
           " Web login required.\r\n");
  assert_int_equal(p.resp.status.code.kind, MW__IMAP_CODE_OTHER);
  assert_string_equal(p.resp.status.code.name, "WEBALERT");
  assert_string_equal(p.resp.status.code.raw,
                      "https://accounts.google.com/signin/continue?x=1");
  /* Microsoft 365: a bracketed token at the END is text, not a code. */
  done(&p, "* OK The Microsoft Exchange IMAP4 service is ready. "
           "[TQBOADIAUABSADEAMQBDAEEAMAAwADAAMQAuAG4AYQBtAA==]\r\n");
  assert_int_equal(p.resp.status.code.kind, MW__IMAP_CODE_NONE);
  done(&p, "* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR "
           "UIDPLUS MOVE ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+ \r\n");
  assert_true(p.resp.caps.uidplus && p.resp.caps.move &&
              p.resp.caps.literal_plus);
  assert_int_equal(p.resp.caps.v.n, 13);
  done(&p, "a1 NO AUTHENTICATE failed.\r\n");
  assert_string_equal(p.resp.status.text, "AUTHENTICATE failed.");
  done(&p, "* BYE Connection is closed. 13\r\n");
  assert_int_equal(p.resp.status.cond, MW__IMAP_COND_BYE);
  done(&p, "* PREAUTH [CAPABILITY IMAP4rev2 LOGINDISABLED] ready\r\n");
  assert_int_equal(p.resp.status.cond, MW__IMAP_COND_PREAUTH);
  assert_true(p.resp.status.code.caps.imap4rev2 &&
              p.resp.status.code.caps.logindisabled);
  done(&p, "A1 OK\r\n");
  assert_string_equal(p.resp.status.text, "");
  done(&p, "+ dGVzdA==\r\n");
  assert_int_equal(p.resp.kind, MW__IMAP_CONTINUE);
  assert_string_equal(p.resp.text, "dGVzdA==");
  done(&p, "+\r\n");
  assert_string_equal(p.resp.text, "");
  done(&p, "+ Ready for literal data\r\n");
  done(&p, "* ENABLED CONDSTORE UTF8=ACCEPT\r\n");
  assert_int_equal(p.resp.type, MW__IMAP_T_ENABLED);
  assert_true(p.resp.caps.condstore && p.resp.caps.utf8_accept);
  done(&p, "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
  assert_int_equal(p.resp.type, MW__IMAP_T_OTHER);
  assert_string_equal(p.resp.name, "NAMESPACE");
  assert_string_equal(p.resp.text, "((\"\" \"/\")) NIL NIL");
  mw__imap_parser_free(&p);
}

/* A tagged or status response is complete at its line end, even when its
 * text ends like a literal marker. */
static void status_text_is_never_a_literal(void **state)
{
  (void)state;
  struct mw__imap_parser p;
  uint64_t lit = 99;
  const char *why = NULL;
  mw__imap_parser_init(&p, NULL);
  const char *lines[] = {"A1 OK done {5}", "* OK hello {5}", "+ {5}",
                         "* BYE {99999999999999999999999}"};
  for(size_t i = 0; i < 4; i++) {
    assert_int_equal(mw__imap_feed_line(&p, lines[i], strlen(lines[i]),
                                        &lit, &why),
                     MW__IMAP_DONE);
    assert_int_equal(lit, 0);
  }
  mw__imap_parser_free(&p);
}

static void every_response_code(void **state)
{
  (void)state;
  static const struct {
    const char *code;
    enum mw__imap_code_kind kind;
    uint64_t num;
  } t[] = {
      {"ALERT", MW__IMAP_CODE_ALERT, 0},
      {"BADCHARSET (UTF-8 \"US-ASCII\")", MW__IMAP_CODE_BADCHARSET, 0},
      {"CAPABILITY IMAP4rev1", MW__IMAP_CODE_CAPABILITY, 0},
      {"PARSE", MW__IMAP_CODE_PARSE, 0},
      {"PERMANENTFLAGS (\\Deleted \\Seen \\*)",
       MW__IMAP_CODE_PERMANENTFLAGS, 0},
      {"READ-ONLY", MW__IMAP_CODE_READ_ONLY, 0},
      {"READ-WRITE", MW__IMAP_CODE_READ_WRITE, 0},
      {"TRYCREATE", MW__IMAP_CODE_TRYCREATE, 0},
      {"UIDNEXT 4392", MW__IMAP_CODE_UIDNEXT, 4392},
      {"UIDVALIDITY 3857529045", MW__IMAP_CODE_UIDVALIDITY, 3857529045u},
      {"UNSEEN 12", MW__IMAP_CODE_UNSEEN, 12},
      {"APPENDUID 38505 3955", MW__IMAP_CODE_APPENDUID, 38505},
      {"COPYUID 38505 304,319:320 3956:3958", MW__IMAP_CODE_COPYUID, 38505},
      {"UIDNOTSTICKY", MW__IMAP_CODE_UIDNOTSTICKY, 0},
      {"AUTHENTICATIONFAILED", MW__IMAP_CODE_AUTHENTICATIONFAILED, 0},
      {"AUTHORIZATIONFAILED", MW__IMAP_CODE_AUTHORIZATIONFAILED, 0},
      {"EXPIRED", MW__IMAP_CODE_EXPIRED, 0},
      {"PRIVACYREQUIRED", MW__IMAP_CODE_PRIVACYREQUIRED, 0},
      {"CONTACTADMIN", MW__IMAP_CODE_CONTACTADMIN, 0},
      {"NOPERM", MW__IMAP_CODE_NOPERM, 0},
      {"INUSE", MW__IMAP_CODE_INUSE, 0},
      {"EXPUNGEISSUED", MW__IMAP_CODE_EXPUNGEISSUED, 0},
      {"CORRUPTION", MW__IMAP_CODE_CORRUPTION, 0},
      {"SERVERBUG", MW__IMAP_CODE_SERVERBUG, 0},
      {"CLIENTBUG", MW__IMAP_CODE_CLIENTBUG, 0},
      {"CANNOT", MW__IMAP_CODE_CANNOT, 0},
      {"LIMIT", MW__IMAP_CODE_LIMIT, 0},
      {"OVERQUOTA", MW__IMAP_CODE_OVERQUOTA, 0},
      {"ALREADYEXISTS", MW__IMAP_CODE_ALREADYEXISTS, 0},
      {"NONEXISTENT", MW__IMAP_CODE_NONEXISTENT, 0},
      {"UNAVAILABLE", MW__IMAP_CODE_UNAVAILABLE, 0},
      {"HASCHILDREN", MW__IMAP_CODE_HASCHILDREN, 0},
      {"CLOSED", MW__IMAP_CODE_CLOSED, 0},
      {"HIGHESTMODSEQ 715194045007", MW__IMAP_CODE_HIGHESTMODSEQ,
       715194045007ull},
      {"NOMODSEQ", MW__IMAP_CODE_NOMODSEQ, 0},
      {"UNKNOWN-CTE", MW__IMAP_CODE_UNKNOWN_CTE, 0},
      {"X-SOMETHING 1 2 3", MW__IMAP_CODE_OTHER, 0},
  };
  struct mw__imap_parser p;
  mw__imap_parser_init(&p, NULL);
  bool seen[MW__IMAP_CODE__COUNT] = {false};
  for(size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
    char wire[256];
    snprintf(wire, sizeof(wire), "A7 NO [%s] some text\r\n", t[i].code);
    done(&p, wire);
    assert_int_equal(p.resp.status.code.kind, t[i].kind);
    assert_int_equal(p.resp.status.code.num, t[i].num);
    assert_string_equal(p.resp.status.text, "some text");
    seen[t[i].kind] = true;
    if(t[i].kind != MW__IMAP_CODE_OTHER)
      assert_true(strncmp(mw__imap_code_name(t[i].kind), t[i].code,
                          strlen(mw__imap_code_name(t[i].kind))) == 0);
    /* Lower case is the same code (atoms are case-insensitive). */
    char low[256];
    size_t k = 0;
    for(const char *q = wire; *q; q++)
      low[k++] = (*q >= 'A' && *q <= 'Z' && q > wire + 3 &&
                  q < wire + 4 + strcspn(t[i].code, " "))
                     ? (char)(*q - 'A' + 'a')
                     : *q;
    low[k] = '\0';
    done(&p, low);
    assert_int_equal(p.resp.status.code.kind, t[i].kind);
  }
  for(int k = MW__IMAP_CODE_OTHER; k < MW__IMAP_CODE__COUNT; k++)
    if(!seen[k])
      fail_msg("code %s not tested", mw__imap_code_name(k));
  /* Arguments. */
  done(&p, "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen "
           "\\Draft $Forwarded \\*)] Flags permitted.\r\n");
  assert_int_equal(p.resp.status.code.flags.n, 7);
  assert_string_equal(p.resp.status.code.flags.v[6], "\\*");
  assert_string_equal(p.resp.status.code.flags.v[5], "$Forwarded");
  done(&p, "A3 OK [APPENDUID 38505 3955] APPEND completed\r\n");
  assert_int_equal(p.resp.status.code.uid, 3955);
  assert_string_equal(p.resp.status.code.set1, "3955");
  done(&p, "A3 OK [APPENDUID 38505 3955:3957] APPEND completed\r\n");
  assert_int_equal(p.resp.status.code.uid, 0);
  done(&p, "A4 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n");
  assert_string_equal(p.resp.status.code.set1, "304,319:320");
  assert_string_equal(p.resp.status.code.set2, "3956:3958");
  assert_string_equal(p.resp.status.code.raw, "38505 304,319:320 3956:3958");
  done(&p, "A5 OK [READ-WRITE]\r\n");
  assert_int_equal(p.resp.status.code.kind, MW__IMAP_CODE_READ_WRITE);
  /* The generic form: text after any code name. */
  done(&p, "A1 NO [ALERT see https://example.test/x] x\r\n");
  assert_int_equal(p.resp.status.code.kind, MW__IMAP_CODE_ALERT);
  assert_string_equal(p.resp.status.code.raw, "see https://example.test/x");
  mw__imap_parser_free(&p);
  refused("A1 OK [UIDNEXT abc] x\r\n");
  refused("A1 OK [UIDVALIDITY 0] x\r\n");
  refused("A1 OK [UIDNEXT 99999999999] x\r\n");
  refused("A1 OK [APPENDUID 1] x\r\n");
  refused("A1 OK [COPYUID 1 2:*] x\r\n");
  refused("A1 OK [ALERT x\r\n");
  refused("A1 OK [] x\r\n");
  refused("A1 OK [PERMANENTFLAGS (\\Seen] x\r\n");
}

static void select_responses(void **state)
{
  (void)state;
  struct mw__imap_parser p;
  mw__imap_parser_init(&p, NULL);
  done(&p, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n");
  assert_int_equal(p.resp.type, MW__IMAP_T_FLAGS);
  assert_int_equal(p.resp.flags.n, 5);
  done(&p, "* 172 EXISTS\r\n");
  assert_int_equal(p.resp.type, MW__IMAP_T_EXISTS);
  assert_int_equal(p.resp.number, 172);
  done(&p, "* 1 RECENT\r\n");
  assert_int_equal(p.resp.type, MW__IMAP_T_RECENT);
  done(&p, "* 44 EXPUNGE\r\n");
  assert_int_equal(p.resp.type, MW__IMAP_T_EXPUNGE);
  assert_int_equal(p.resp.number, 44);
  done(&p, "* OK [UNSEEN 12] Message 12 is first unseen\r\n");
  done(&p, "* OK [UIDVALIDITY 3857529045] UIDs valid\r\n");
  assert_int_equal(p.resp.status.code.num, 3857529045u);
  done(&p, "A142 OK [READ-WRITE] SELECT completed\r\n");
  done(&p, "* VANISHED (EARLIER) 41,43:116,118\r\n");
  assert_true(p.resp.vanished_earlier);
  assert_string_equal(p.resp.vanished_set, "41,43:116,118");
  mw__imap_parser_free(&p);
  refused("* 0 EXPUNGE\r\n");
  refused("* 4294967296 EXISTS\r\n");
  refused("* 3 EXISTSX\r\n");
  refused("* 3 FOO\r\n");
}

static void list_and_status(void **state)
{
  (void)state;
  struct mw__imap_parser p;
  mw__imap_parser_init(&p, NULL);
  done(&p, "* LIST (\\HasNoChildren \\Drafts) \"/\" \"Entw&APw-rfe\"\r\n");
  assert_int_equal(p.resp.type, MW__IMAP_T_LIST);
  assert_int_equal(p.resp.list.flags.n, 2);
  assert_int_equal(p.resp.list.delim, '/');
  assert_string_equal(p.resp.list.mailbox, "Entw&APw-rfe");
  done(&p, "* LIST () NIL inbox\r\n");
  assert_int_equal(p.resp.list.delim, '\0');
  assert_string_equal(p.resp.list.mailbox, "INBOX");
  done(&p, "* LSUB () \".\" #news.comp.mail.misc\r\n");
  assert_int_equal(p.resp.type, MW__IMAP_T_LSUB);
  done(&p, "* LIST (\\Noselect) \"\\\\\" \"a \\\"q\\\" b\"\r\n");
  assert_int_equal(p.resp.list.delim, '\\');
  assert_string_equal(p.resp.list.mailbox, "a \"q\" b");
  done(&p, "* LIST () \"/\" {8}\r\nFoo\"Bar]\r\n");
  assert_string_equal(p.resp.list.mailbox, "Foo\"Bar]");
  done(&p, "* LIST (\\Subscribed) \"/\" \"Foo\" (\"CHILDINFO\" "
           "(\"SUBSCRIBED\"))\r\n");
  /* RFC 9051 (IMAP4rev2): UTF-8 names and OLDNAME extended data. */
  done(&p, "* LIST (\\Sent) \"/\" \"Gesendete Elemente\" (\"OLDNAME\" "
           "(\"Gesendete Objekte\"))\r\n");
  assert_string_equal(p.resp.list.mailbox, "Gesendete Elemente");
  done(&p, "* LIST () \"/\" \"Entwürfe\"\r\n");
  assert_string_equal(p.resp.list.mailbox, "Entwürfe");
  done(&p, "* LIST (\\HasNoChildren) \"/\" \"[Gmail]/Sent Mail\"\r\n");
  assert_string_equal(p.resp.list.mailbox, "[Gmail]/Sent Mail");
  done(&p, "* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292 UIDVALIDITY 7 "
           "UNSEEN 3 RECENT 0 SIZE 12345678901 X-FOO (1 2))\r\n");
  assert_int_equal(p.resp.type, MW__IMAP_T_STATUSDATA);
  assert_string_equal(p.resp.st.mailbox, "blurdybloop");
  assert_int_equal(p.resp.st.messages, 231);
  assert_int_equal(p.resp.st.uidnext, 44292);
  assert_int_equal(p.resp.st.uidvalidity, 7);
  assert_int_equal(p.resp.st.unseen, 3);
  assert_int_equal(p.resp.st.size, 12345678901ull);
  assert_int_equal(p.resp.st.has,
                   MW__IMAP_ST_MESSAGES | MW__IMAP_ST_UIDNEXT |
                       MW__IMAP_ST_UIDVALIDITY | MW__IMAP_ST_UNSEEN |
                       MW__IMAP_ST_RECENT | MW__IMAP_ST_SIZE);
  done(&p, "* STATUS {5}\r\nIN BX ()\r\n");
  assert_string_equal(p.resp.st.mailbox, "IN BX");
  mw__imap_parser_free(&p);
  refused("* LIST () \"//\" foo\r\n");
  refused("* LIST () \"/\"\r\n");
  refused("* LIST (\\A \"/\" foo\r\n");
  refused("* STATUS foo (MESSAGES x)\r\n");
  REFUSED_BIN("* LIST () \"/\" {3}\r\na\0b\r\n");
}

static void search_and_esearch(void **state)
{
  (void)state;
  struct mw__imap_parser p;
  mw__imap_parser_init(&p, NULL);
  done(&p, "* SEARCH 2 84 882\r\n");
  assert_int_equal(p.resp.type, MW__IMAP_T_SEARCH);
  assert_int_equal(p.resp.search.n, 3);
  assert_int_equal(p.resp.search.nums[2], 882);
  done(&p, "* SEARCH\r\n");
  assert_int_equal(p.resp.search.n, 0);
  done(&p, "* SEARCH 2 5 6 7 11 12 18 19 20 23 (MODSEQ 917162500)\r\n");
  assert_int_equal(p.resp.search.n, 10);
  assert_int_equal(p.resp.search.modseq, 917162500);
  done(&p, "* ESEARCH (TAG \"A282\") UID MIN 2 COUNT 3 ALL 2,10:11\r\n");
  assert_int_equal(p.resp.type, MW__IMAP_T_ESEARCH);
  assert_string_equal(p.resp.search.tag, "A282");
  assert_true(p.resp.search.uid && p.resp.search.has_min &&
              p.resp.search.has_count && !p.resp.search.has_max);
  assert_int_equal(p.resp.search.count, 3);
  assert_string_equal(p.resp.search.all, "2,10:11");
  done(&p, "* ESEARCH (TAG \"A283\")\r\n");
  assert_null(p.resp.search.all);
  /* Big SEARCH results. */
  struct mw__sbuf b;
  mw__sbuf_init(&b);
  mw__sbuf_puts(&b, "* SEARCH");
  for(int i = 1; i <= 20000; i++)
    mw__sbuf_printf(&b, " %d", i);
  mw__sbuf_puts(&b, "\r\n");
  done(&p, b.data);
  assert_int_equal(p.resp.search.n, 20000);
  assert_int_equal(p.resp.search.nums[19999], 20000);
  mw__sbuf_free(&b);
  mw__imap_parser_free(&p);
  refused("* SEARCH 0\r\n");
  refused("* SEARCH 1 x\r\n");
  refused("* ESEARCH ALL 1:*\r\n");
  refused("* ESEARCH (TAG A1) MIN 0\r\n");
}

/* ---- FETCH ------------------------------------------------------------ */

static const char rfc_envelope[] =
    "* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" "
    "RFC822.SIZE 4286 ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" "
    "\"IMAP4rev1 WG mtg summary and minutes\" "
    "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
    "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
    "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
    "((NIL NIL \"imap\" \"cac.washington.edu\")) "
    "((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")"
    "(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL "
    "\"<B27397-0100000@cac.washington.edu>\") "
    "BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" "
    "3028 92))\r\n";

static void fetch_envelope(void **state)
{
  (void)state;
  struct mw__imap_parser p;
  mw__imap_parser_init(&p, NULL);
  done(&p, rfc_envelope);
  const struct mw__imap_fetch *f = &p.resp.fetch;
  assert_int_equal(p.resp.type, MW__IMAP_T_FETCH);
  assert_int_equal(f->seq, 12);
  assert_int_equal(f->has, MW__IMAP_F_FLAGS | MW__IMAP_F_INTERNALDATE |
                               MW__IMAP_F_SIZE | MW__IMAP_F_ENVELOPE);
  assert_int_equal(f->size, 4286);
  assert_string_equal(f->internaldate, "17-Jul-1996 02:44:25 -0700");
  assert_string_equal(f->env.subject, "IMAP4rev1 WG mtg summary and minutes");
  assert_int_equal(f->env.from.n, 1);
  assert_string_equal(f->env.from.v[0].name, "Terry Gray");
  assert_null(f->env.from.v[0].adl);
  assert_string_equal(f->env.from.v[0].host, "cac.washington.edu");
  assert_int_equal(f->env.cc.n, 2);
  assert_string_equal(f->env.cc.v[1].mailbox, "KLENSIN");
  assert_int_equal(f->env.bcc.n, 0);
  assert_null(f->env.in_reply_to);
  assert_string_equal(f->env.message_id,
                      "<B27397-0100000@cac.washington.edu>");
  /* A literal subject inside the envelope, split at every chunk size. */
  const char wire[] =
      "* 3 FETCH (UID 77 ENVELOPE (NIL {11}\r\nSub\"ject )( NIL NIL NIL "
      "NIL NIL NIL NIL NIL) MODSEQ (12345) X-GM-LABELS (\\Inbox "
      "\"Work\") FLAGS ())\r\n";
  for(size_t chunk = 1; chunk <= 12; chunk++) {
    const char *why;
    size_t used;
    assert_int_equal(feed_wire(&p, wire, sizeof(wire) - 1, chunk, &used,
                               &why),
                     MW__IMAP_DONE);
    assert_int_equal(used, sizeof(wire) - 1);
    assert_string_equal(p.resp.fetch.env.subject, "Sub\"ject )(");
    assert_int_equal(p.resp.fetch.uid, 77);
    assert_int_equal(p.resp.fetch.modseq, 12345);
    assert_int_equal(p.resp.fetch.flags.n, 0);
  }
  /* Group syntax and spaces between addresses. */
  done(&p, "* 4 FETCH (ENVELOPE (NIL NIL NIL NIL NIL ((NIL NIL \"grp\" NIL) "
           "(NIL NIL \"a\" \"b.example\") (NIL NIL NIL NIL)) NIL NIL NIL "
           "NIL))\r\n");
  assert_int_equal(p.resp.fetch.env.to.n, 3);
  assert_null(p.resp.fetch.env.to.v[0].host);
  mw__imap_parser_free(&p);
  refused("* 3 FETCH (ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL))\r\n");
  refused("* 3 FETCH (UID 0)\r\n");
  refused("* 3 FETCH (UID 5 UID 6)\r\n");
  refused("* 3 FETCH ()\r\n");
  refused("* 0 FETCH (UID 5)\r\n");
  refused("* 3 FETCH (UID 5\r\n");
  refused("* 3 FETCH (UID 5))\r\n");
  refused("* 3 FETCH (INTERNALDATE NIL)\r\n");
  refused("* 3 FETCH (RFC822.SIZE -1)\r\n");
}

struct sinkrec {
  struct mw__sbuf data;
  unsigned begins, ends;
  uint32_t seq, uid_at_begin;
  uint64_t announced;
  char item[64];
  bool refuse;
  bool nil;
};

static bool sink(void *ctx, const struct mw__imap_body_chunk *c)
{
  struct sinkrec *s = ctx;
  if(s->refuse)
    return false;
  switch(c->event) {
  case MW__IMAP_BODY_BEGIN:
    s->begins++;
    s->seq = c->seq;
    s->uid_at_begin = c->uid;
    s->announced = c->size;
    s->nil = c->nil;
    snprintf(s->item, sizeof(s->item), "%s", c->item);
    break;
  case MW__IMAP_BODY_DATA:
    assert_int_equal(c->size, s->data.len); /* offset */
    mw__sbuf_append(&s->data, c->data, c->len);
    break;
  case MW__IMAP_BODY_END:
    s->ends++;
    break;
  }
  return true;
}

static void fetch_body_streamed(void **state)
{
  (void)state;
  const char msg[] = "From: a@b.example\r\nSubject: hi\r\n\r\nbody ) {3}\r\n";
  char wire[512];
  /* UID before the body: known at BEGIN; after: only at DONE. */
  for(int order = 0; order < 2; order++) {
    int k = order == 0
                ? snprintf(wire, sizeof(wire),
                           "* 7 FETCH (UID 4242 BODY[] {%zu}\r\n%s "
                           "FLAGS (\\Seen))\r\n",
                           sizeof(msg) - 1, msg)
                : snprintf(wire, sizeof(wire),
                           "* 7 FETCH (BODY[] {%zu}\r\n%s UID 4242)\r\n",
                           sizeof(msg) - 1, msg);
    for(size_t chunk = 1; chunk <= sizeof(msg); chunk++) {
      struct mw__imap_parser p;
      struct sinkrec s = {0};
      const char *why;
      size_t used;
      mw__sbuf_init(&s.data);
      mw__imap_parser_init(&p, NULL);
      mw__imap_parser_set_sink(&p, sink, &s);
      assert_int_equal(feed_wire(&p, wire, (size_t)k, chunk, &used, &why),
                       MW__IMAP_DONE);
      assert_int_equal(used, (size_t)k);
      assert_int_equal(s.begins, 1);
      assert_int_equal(s.ends, 1);
      assert_int_equal(s.seq, 7);
      assert_int_equal(s.uid_at_begin, order == 0 ? 4242 : 0);
      assert_string_equal(s.item, "BODY[]");
      assert_int_equal(s.announced, sizeof(msg) - 1);
      assert_int_equal(s.data.len, sizeof(msg) - 1);
      assert_memory_equal(s.data.data, msg, sizeof(msg) - 1);
      const struct mw__imap_fetch *f = &p.resp.fetch;
      assert_int_equal(f->uid, 4242);
      assert_true(f->has & MW__IMAP_F_UID);
      assert_int_equal(f->nbody, 1);
      assert_true(f->body[0].streamed);
      assert_null(f->body[0].data);
      assert_int_equal(f->body[0].size, sizeof(msg) - 1);
      assert_int_equal(f->body[0].origin, -1);
      mw__imap_parser_free(&p);
      mw__sbuf_free(&s.data);
    }
  }
}

static void fetch_body_kinds(void **state)
{
  (void)state;
  struct mw__imap_parser p;
  struct sinkrec s = {0};
  mw__sbuf_init(&s.data);
  mw__imap_parser_init(&p, NULL);
  /* No sink: bodies in memory. */
  static const char w1[] =
      "* 1 FETCH (BODY[HEADER.FIELDS (FROM SUBJECT)]<0> {9}\r\n"
      "Subject:\n UID 9 RFC822.TEXT NIL BINARY[1] ~{3}\r\na\0b)\r\n";
  const char *why;
  if(feed_wire(&p, w1, sizeof(w1) - 1, 4, NULL, &why) != MW__IMAP_DONE)
    fail_msg("%s", why);
  const struct mw__imap_fetch *f = &p.resp.fetch;
  assert_int_equal(f->nbody, 3);
  assert_string_equal(f->body[0].section, "HEADER.FIELDS (FROM SUBJECT)");
  assert_int_equal(f->body[0].origin, 0);
  assert_string_equal(f->body[0].item,
                      "BODY[HEADER.FIELDS (FROM SUBJECT)]<0>");
  assert_string_equal((const char *)f->body[0].data, "Subject:\n");
  assert_false(f->body[0].streamed);
  assert_int_equal(f->body[1].kind, MW__IMAP_BODY_RFC822_TEXT);
  assert_true(f->body[1].nil);
  assert_int_equal(f->body[2].kind, MW__IMAP_BODY_BINARY);
  assert_int_equal(f->body[2].size, 3);
  assert_memory_equal(f->body[2].data, "a\0b", 3);
  /* With a sink, quoted and NIL bodies go to the sink too. */
  mw__imap_parser_set_sink(&p, sink, &s);
  done(&p, "* 2 FETCH (UID 10 BODY[TEXT] \"hello \\\"x\\\"\")\r\n");
  assert_int_equal(s.begins, 1);
  assert_int_equal(s.uid_at_begin, 10);
  assert_string_equal(s.data.data, "hello \"x\"");
  done(&p, "* 2 FETCH (RFC822 NIL)\r\n");
  assert_int_equal(s.begins, 2);
  assert_true(s.nil);
  /* The sink may refuse. */
  s.refuse = true;
  assert_int_equal(one(&p, "* 2 FETCH (BODY[] {3}\r\nabc)\r\n", &why),
                   MW__IMAP_BAD);
  assert_string_equal(why, "the body sink refused the data");
  mw__imap_parser_free(&p);
  mw__sbuf_free(&s.data);
  /* ~{N} only for BINARY[] */
  REFUSED_BIN("* 1 FETCH (BODY[] ~{3}\r\na\0b)\r\n");
  REFUSED_BIN("* 1 FETCH (BODY[] {3}\r\na\0b)\r\n");  /* NUL in a literal */
  refused("* 1 FETCH (RFC822<0> NIL)\r\n");
  refused("* 1 FETCH (BODY[1 NIL)\r\n");
  refused("* 1 FETCH (BODY[]<x> NIL)\r\n");
}

/* A body literal cut in two at every position, as servers' TCP segments
 * do, with the UID announced by each provider's usual order. */
static void fetch_body_split_everywhere(void **state)
{
  (void)state;
  static const char *const heads[] = {
      /* Dovecot */
      "* 1 FETCH (UID 31 FLAGS (\\Seen) BODY[] {%zu}\r\n",
      /* Microsoft 365 */
      "* 1 FETCH (UID 31 RFC822.SIZE %zu FLAGS (\\Seen) BODY[] {%zu}\r\n",
      /* Gmail */
      "* 1 FETCH (X-GM-THRID 1761024 X-GM-MSGID 1761024 X-GM-LABELS "
      "(\"\\\\Important\" Work) UID 31 BODY[] {%zu}\r\n"};
  const char msg[] = "Subject: x\r\n\r\n}{2}\r\n)\r\n* 2 EXISTS\r\n";
  const size_t ml = sizeof(msg) - 1;
  for(size_t h = 0; h < 3; h++) {
    char head[256];
    if(h == 1)
      snprintf(head, sizeof(head), heads[h], ml, ml);
    else
      snprintf(head, sizeof(head), heads[h], ml);
    size_t hl = strlen(head) - 2;
    for(size_t cut = 0; cut <= ml; cut++) {
      struct mw__imap_parser p;
      struct sinkrec s = {0};
      uint64_t n, left;
      const char *why;
      mw__sbuf_init(&s.data);
      mw__imap_parser_init(&p, NULL);
      mw__imap_parser_set_sink(&p, sink, &s);
      assert_int_equal(mw__imap_feed_line(&p, head, hl, &n, &why),
                       MW__IMAP_NEED_LITERAL);
      assert_int_equal(n, ml);
      assert_int_equal(mw__imap_feed_literal(&p, msg, cut, &left, &why),
                       cut == ml ? MW__IMAP_NEED_LINE : MW__IMAP_NEED_LITERAL);
      assert_int_equal(left, ml - cut);
      if(cut < ml)
        assert_int_equal(mw__imap_feed_literal(&p, msg + cut, ml - cut,
                                               &left, &why),
                         MW__IMAP_NEED_LINE);
      assert_int_equal(s.uid_at_begin, 31);
      assert_int_equal(mw__imap_feed_line(&p, ")", 1, &n, &why),
                       MW__IMAP_DONE);
      assert_int_equal(s.ends, 1);
      assert_int_equal(s.data.len, ml);
      assert_memory_equal(s.data.data, msg, ml);
      assert_int_equal(p.resp.fetch.uid, 31);
      mw__imap_parser_free(&p);
      mw__sbuf_free(&s.data);
    }
  }
}

/* A literal inside a nested value of a FETCH is never streamed. */
static void fetch_nested_literal_not_streamed(void **state)
{
  (void)state;
  struct mw__imap_parser p;
  struct sinkrec s = {0};
  mw__sbuf_init(&s.data);
  mw__imap_parser_init(&p, NULL);
  mw__imap_parser_set_sink(&p, sink, &s);
  done(&p, "* 1 FETCH (X-THING (BODY[] {3}\r\nabc) BODY[] {2}\r\nxy)\r\n");
  assert_int_equal(s.begins, 1);
  assert_string_equal(s.data.data, "xy");
  mw__imap_parser_free(&p);
  mw__sbuf_free(&s.data);
}

/* ---- Literal lengths and framing errors ------------------------------ */

static void literal_markers(void **state)
{
  (void)state;
  struct mw__imap_litmark m;
  const char *why = NULL;
  assert_int_equal(mw__imap_literal_marker("x {12}", 6, 100, &m, &why), 1);
  assert_int_equal(m.len, 12);
  assert_int_equal(m.start, 2);
  assert_false(m.binary || m.nonsync);
  assert_int_equal(mw__imap_literal_marker("x ~{0012+}", 10, 100, &m, &why),
                   1);
  assert_int_equal(m.len, 12);
  assert_true(m.binary && m.nonsync);
  assert_int_equal(m.start, 2);
  assert_int_equal(mw__imap_literal_marker("{18446744073709551615}", 22,
                                           UINT64_MAX, &m, &why),
                   1);
  assert_int_equal(m.len, UINT64_MAX);
  assert_int_equal(mw__imap_literal_marker("{18446744073709551616}", 22,
                                           UINT64_MAX, &m, &why),
                   -1);
  assert_int_equal(mw__imap_literal_marker("{99999999999999999999999}", 25,
                                           UINT64_MAX, &m, &why),
                   -1);
  assert_int_equal(mw__imap_literal_marker("{101}", 5, 100, &m, &why), -1);
  assert_string_equal(why, "literal length exceeds the limit");
  assert_int_equal(mw__imap_literal_marker("{100}", 5, 100, &m, &why), 1);
  const char *junk[] = {"{}", "{+}", "{-5}", "{ 5}", "{+5}", "{5 }", "{5++}"};
  for(size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
    assert_int_equal(mw__imap_literal_marker(junk[i], strlen(junk[i]), 100,
                                             &m, &why),
                     -1);
  assert_int_equal(mw__imap_literal_marker("x {abc}", 7, 100, &m, &why), 0);
  assert_int_equal(mw__imap_literal_marker("x 5}", 4, 100, &m, &why), 0);
  assert_int_equal(mw__imap_literal_marker("x {5", 4, 100, &m, &why), 0);
  assert_int_equal(mw__imap_literal_marker("", 0, 100, &m, &why), 0);
}

static void lying_literals(void **state)
{
  (void)state;
  struct mw__imap_limits lim;
  mw__imap_limits_default(&lim);
  lim.max_literal = 1000;
  lim.max_body = 5000;
  lim.max_literals = 3;
  struct mw__imap_parser p;
  uint64_t n, left;
  const char *why;
  mw__imap_parser_init(&p, &lim);
  /* Over the in-memory cap. */
  assert_int_equal(mw__imap_feed_line(&p, "* LIST () \"/\" {1001}", 20, &n,
                                      &why),
                   MW__IMAP_BAD);
  /* A line while a literal is expected. */
  assert_int_equal(mw__imap_feed_line(&p, "* LIST () \"/\" {5}", 17, &n,
                                      &why),
                   MW__IMAP_NEED_LITERAL);
  assert_int_equal(n, 5);
  assert_int_equal(mw__imap_feed_literal(&p, "ab", 2, &left, &why),
                   MW__IMAP_NEED_LITERAL);
  assert_int_equal(left, 3);
  assert_int_equal(mw__imap_feed_line(&p, "cde", 3, &n, &why), MW__IMAP_BAD);
  assert_string_equal(why, "a line fed while a literal was expected");
  /* More bytes than announced. */
  assert_int_equal(mw__imap_feed_line(&p, "* LIST () \"/\" {2}", 17, &n,
                                      &why),
                   MW__IMAP_NEED_LITERAL);
  assert_int_equal(mw__imap_feed_literal(&p, "abc", 3, &left, &why),
                   MW__IMAP_BAD);
  /* Literal bytes when none is expected. */
  assert_int_equal(mw__imap_feed_literal(&p, "a", 1, &left, &why),
                   MW__IMAP_BAD);
  /* Too many literals. */
  assert_int_equal(one(&p, "* X {1}\r\na{1}\r\nb{1}\r\nc{1}\r\nd\r\n", &why),
                   MW__IMAP_BAD);
  assert_string_equal(why, "too many literals in one response");
  /* A body over max_body, with a sink. */
  struct sinkrec s = {0};
  mw__sbuf_init(&s.data);
  mw__imap_parser_set_sink(&p, sink, &s);
  assert_int_equal(mw__imap_feed_line(&p, "* 1 FETCH (BODY[] {5001}", 24, &n,
                                      &why),
                   MW__IMAP_BAD);
  assert_int_equal(mw__imap_feed_line(&p, "* 1 FETCH (BODY[] {5000}", 24, &n,
                                      &why),
                   MW__IMAP_NEED_LITERAL);
  mw__imap_parser_free(&p);
  mw__sbuf_free(&s.data);
  /* A literal the grammar has no place for, and a marker not at a line
   * end. */
  refused("* LIST () \"/\" \"a {3}\r\nabc\"\r\n");
  refused("* LIST () \"/\" {3}x\r\n");
  refused("* LIST () \"/\" {3}\r\nabc{3}\r\ndef\r\n");
  refused("* LIST () \"/\" {-3}\r\n");
  refused("* 1 FETCH (BODY[] {99999999999999999999})\r\n");
  /* NUL, CR inside a line. */
  struct mw__imap_parser q;
  mw__imap_parser_init(&q, NULL);
  assert_int_equal(mw__imap_feed_line(&q, "A1 OK \0x", 8, &n, &why),
                   MW__IMAP_BAD);
  assert_string_equal(why, "NUL byte in a line");
  assert_int_equal(mw__imap_feed_line(&q, "A1 OK \rx", 8, &n, &why),
                   MW__IMAP_BAD);
  mw__imap_parser_free(&q);
}

static void bounds(void **state)
{
  (void)state;
  struct mw__sbuf b;
  mw__sbuf_init(&b);
  mw__sbuf_puts(&b, "* 1 FETCH (X ");
  for(int i = 0; i < 100; i++)
    mw__sbuf_puts(&b, "(");
  for(int i = 0; i < 100; i++)
    mw__sbuf_puts(&b, ")");
  mw__sbuf_puts(&b, ")\r\n");
  refused(b.data);
  mw__sbuf_reset(&b);
  struct mw__imap_limits lim;
  mw__imap_limits_default(&lim);
  lim.max_items = 50;
  struct mw__imap_parser p;
  mw__imap_parser_init(&p, &lim);
  mw__sbuf_puts(&b, "* SEARCH");
  for(int i = 1; i <= 60; i++)
    mw__sbuf_printf(&b, " %d", i);
  mw__sbuf_puts(&b, "\r\n");
  const char *why;
  assert_int_equal(one(&p, b.data, &why), MW__IMAP_BAD);
  assert_string_equal(why, "too many items in one response");
  lim.max_bytes = 64;
  mw__imap_parser_free(&p);
  mw__imap_parser_init(&p, &lim);
  assert_int_equal(one(&p, b.data, &why), MW__IMAP_BAD);
  assert_string_equal(why, "response too large");
  mw__imap_parser_free(&p);
  mw__sbuf_free(&b);
  refused("\r\n");
  refused("*\r\n");
  refused("* \r\n");
  refused("A1\r\n");
  refused("A1 MAYBE\r\n");
  refused("A+1 OK x\r\n");
  refused("+x\r\n");
  refused("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA OK\r\n");
}

/* ---- Encoders ---------------------------------------------------------- */

static void mutf7(void **state)
{
  (void)state;
  static const struct {
    const char *utf8, *mutf7;
  } t[] = {
      {"Entwürfe", "Entw&APw-rfe"},
      {"☺!", "&Jjo-!"},
      {"INBOX", "INBOX"},
      {"a&b", "a&-b"},
      {"~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
      {"Gesendete Objekte", "Gesendete Objekte"},
      {"Отправленные", "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-"},
      {"😀", "&2D3eAA-"},
      {"\t", "&AAk-"},
      {"", ""},
  };
  for(size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
    struct mw__sbuf b;
    const char *why = NULL;
    mw__sbuf_init(&b);
    assert_true(mw__imap_mutf7_encode(t[i].utf8, strlen(t[i].utf8), &b,
                                      &why));
    assert_string_equal(b.data ? b.data : "", t[i].mutf7);
    mw__sbuf_reset(&b);
    assert_true(mw__imap_mutf7_decode(t[i].mutf7, strlen(t[i].mutf7), &b,
                                      &why));
    assert_string_equal(b.data ? b.data : "", t[i].utf8);
    mw__sbuf_free(&b);
  }
  const char *bad_dec[] = {"&",      "&Jjo",  "&Jj!-",  "&Jjp-", "&AGE-",
                           "&2D0-",  "&3gA-", "a\x80",  "a\tb",  "&AAA-",
                           "&-&",    "&A-"};
  for(size_t i = 0; i < sizeof(bad_dec) / sizeof(bad_dec[0]); i++) {
    struct mw__sbuf b;
    const char *why = NULL;
    mw__sbuf_init(&b);
    if(mw__imap_mutf7_decode(bad_dec[i], strlen(bad_dec[i]), &b, &why))
      fail_msg("decoded %s", bad_dec[i]);
    assert_non_null(why);
    mw__sbuf_free(&b);
  }
  const char *bad_enc[] = {"\xc3", "\xed\xa0\x80", "\xc0\xaf", "a\xff"};
  for(size_t i = 0; i < sizeof(bad_enc) / sizeof(bad_enc[0]); i++) {
    struct mw__sbuf b;
    const char *why = NULL;
    mw__sbuf_init(&b);
    assert_false(mw__imap_mutf7_encode(bad_enc[i], strlen(bad_enc[i]), &b,
                                       &why));
    mw__sbuf_free(&b);
  }
}

static void mailbox_names(void **state)
{
  (void)state;
  struct mw__sbuf b, d;
  char *enc = NULL;
  const char *why = NULL;
  mw__sbuf_init(&b);
  mw__sbuf_init(&d);
  /* IMAP4rev1: modified UTF-7, then an atom. */
  assert_int_equal(mw__imap_mailbox_append(&b, "Entwürfe", 9, false, &enc,
                                           &why),
                   MW__IMAP_AS_ATOM);
  assert_string_equal(b.data, "Entw&APw-rfe");
  assert_string_equal(enc, "Entw&APw-rfe");
  mw__free(enc);
  mw__sbuf_reset(&b);
  /* IMAP4rev2 / UTF8=ACCEPT: UTF-8 in a quoted string. */
  assert_int_equal(mw__imap_mailbox_append(&b, "Entwürfe", 9, true, &enc,
                                           &why),
                   MW__IMAP_AS_QUOTED);
  assert_string_equal(b.data, "\"Entwürfe\"");
  mw__free(enc);
  mw__sbuf_reset(&b);
  assert_int_equal(mw__imap_mailbox_append(&b, "Sent Items", 10, false, &enc,
                                           &why),
                   MW__IMAP_AS_QUOTED);
  assert_string_equal(b.data, "\"Sent Items\"");
  mw__free(enc);
  mw__sbuf_reset(&b);
  assert_int_equal(mw__imap_mailbox_append(&b, "a\nb", 3, true, &enc, &why),
                   MW__IMAP_AS_LITERAL);
  assert_int_equal(b.len, 0);
  assert_string_equal(enc, "a\nb");
  mw__free(enc);
  assert_int_equal(mw__imap_mailbox_append(&b, "\xff", 1, false, &enc, &why),
                   0);
  assert_null(enc);
  assert_true(mw__imap_mailbox_decode("Entw&APw-rfe", 12, false, &d, &why));
  assert_string_equal(d.data, "Entwürfe");
  mw__sbuf_reset(&d);
  assert_true(mw__imap_mailbox_decode("Entwürfe", 9, true, &d, &why));
  assert_string_equal(d.data, "Entwürfe");
  assert_false(mw__imap_mailbox_decode("Entw\xfcrfe", 8, true, &d, &why));
  mw__sbuf_free(&b);
  mw__sbuf_free(&d);
}

static void astrings(void **state)
{
  (void)state;
  assert_int_equal(mw__imap_astring_kind("INBOX", 5, false), MW__IMAP_AS_ATOM);
  assert_int_equal(mw__imap_astring_kind("a]b", 3, false), MW__IMAP_AS_ATOM);
  assert_int_equal(mw__imap_astring_kind("nil", 3, false),
                   MW__IMAP_AS_QUOTED);
  assert_int_equal(mw__imap_astring_kind("", 0, false), MW__IMAP_AS_QUOTED);
  assert_int_equal(mw__imap_astring_kind("a b", 3, false),
                   MW__IMAP_AS_QUOTED);
  assert_int_equal(mw__imap_astring_kind("p@ss\"w\\d", 8, false),
                   MW__IMAP_AS_QUOTED);
  assert_int_equal(mw__imap_astring_kind("a*", 2, false), MW__IMAP_AS_QUOTED);
  assert_int_equal(mw__imap_astring_kind("a{3}", 4, false),
                   MW__IMAP_AS_QUOTED);
  assert_int_equal(mw__imap_astring_kind("Entwürfe", 9, false),
                   MW__IMAP_AS_LITERAL);
  assert_int_equal(mw__imap_astring_kind("Entwürfe", 9, true),
                   MW__IMAP_AS_QUOTED);
  assert_int_equal(mw__imap_astring_kind("\xff", 1, true),
                   MW__IMAP_AS_LITERAL);
  assert_int_equal(mw__imap_astring_kind("a\r\nb", 4, true),
                   MW__IMAP_AS_LITERAL);
  assert_int_equal(mw__imap_astring_kind("a\0b", 3, true),
                   MW__IMAP_AS_INVALID);
  char big[1100];
  memset(big, 'a', sizeof(big));
  assert_int_equal(mw__imap_astring_kind(big, sizeof(big), true),
                   MW__IMAP_AS_LITERAL);
  struct mw__sbuf b;
  mw__sbuf_init(&b);
  assert_int_equal(mw__imap_astring_append(&b, "p\"a\\ss word", 11, false),
                   MW__IMAP_AS_QUOTED);
  assert_string_equal(b.data, "\"p\\\"a\\\\ss word\"");
  mw__sbuf_reset(&b);
  assert_int_equal(mw__imap_astring_append(&b, "x\ny", 3, false),
                   MW__IMAP_AS_LITERAL);
  assert_int_equal(b.len, 0);
  /* What the encoder writes, the parser reads back. */
  struct mw__imap_parser p;
  mw__imap_parser_init(&p, NULL);
  const char *names[] = {"a b", "q\"uo\\te", "", "x]", "nil", "~o",
                         "~peter/mail"};
  for(size_t i = 0; i < 7; i++) {
    mw__sbuf_reset(&b);
    mw__sbuf_puts(&b, "* LIST () \"/\" ");
    assert_true(mw__imap_astring_append(&b, names[i], strlen(names[i]),
                                        false) != 0);
    mw__sbuf_puts(&b, "\r\n");
    done(&p, b.data);
    assert_string_equal(p.resp.list.mailbox, names[i]);
  }
  mw__imap_parser_free(&p);
  mw__sbuf_free(&b);
  char m[24];
  assert_int_equal(mw__imap_literal_format(m, sizeof(m), 42, false), 4);
  assert_string_equal(m, "{42}");
  assert_int_equal(mw__imap_literal_format(m, sizeof(m), 42, true), 5);
  assert_string_equal(m, "{42+}");
}

static void seqsets(void **state)
{
  (void)state;
  struct mw__sbuf b;
  const char *why = NULL;
  mw__sbuf_init(&b);
  const uint32_t u[] = {1, 2, 3, 4, 5, 7, 9, 10, 11, 12, 12, 20};
  assert_int_equal(mw__imap_seqset_format(u, 12, 8192, &b, &why), 12);
  assert_string_equal(b.data, "1:5,7,9:12,20");
  /* Split under a cap: each piece fits, all pieces cover everything. */
  size_t done_n = 0;
  const char *pieces[] = {"1:5,7", "9:12", "20"};
  for(int i = 0; i < 3; i++) {
    mw__sbuf_reset(&b);
    size_t k = mw__imap_seqset_format(u + done_n, 12 - done_n, 6, &b, &why);
    assert_true(k > 0);
    assert_true(b.len <= 6);
    assert_string_equal(b.data, pieces[i]);
    done_n += k;
  }
  assert_int_equal(done_n, 12);
  mw__sbuf_reset(&b);
  const uint32_t bad[] = {3, 2};
  assert_int_equal(mw__imap_seqset_format(bad, 2, 100, &b, &why), 0);
  const uint32_t zero[] = {0};
  assert_int_equal(mw__imap_seqset_format(zero, 1, 100, &b, &why), 0);
  const uint32_t big[] = {4294967294u, 4294967295u};
  assert_int_equal(mw__imap_seqset_format(big, 2, 3, &b, &why), 0);
  assert_int_equal(mw__imap_seqset_format(big, 2, 100, &b, &why), 2);
  assert_string_equal(b.data, "4294967294:4294967295");
  /* Many UIDs under 8 KB: the pieces are in order and complete. */
  uint32_t *many = malloc(20000 * sizeof(uint32_t));
  assert_non_null(many);
  for(uint32_t i = 0; i < 20000; i++)
    many[i] = 1 + i * 2;
  size_t at = 0, rounds = 0;
  while(at < 20000) {
    mw__sbuf_reset(&b);
    size_t k = mw__imap_seqset_format(many + at, 20000 - at, 8192, &b, &why);
    assert_true(k > 0 && b.len <= 8192);
    struct mw__imap_seqiter it;
    uint32_t lo, hi;
    size_t seen = 0;
    mw__imap_seqiter_init(&it, b.data, b.len);
    while(mw__imap_seqiter_next(&it, &lo, &hi)) {
      assert_int_equal(lo, many[at + seen]);
      seen++;
    }
    assert_int_equal(seen, k);
    at += k;
    rounds++;
  }
  assert_true(rounds > 1);
  free(many);
  mw__sbuf_free(&b);
  assert_true(mw__imap_seqset_valid("1:5,7,12:9", 10));
  const char *inval[] = {"", "0", "1,", ",1", "1:", "1:*", "01", "1::2",
                         "4294967296", "1,,2", "a"};
  for(size_t i = 0; i < sizeof(inval) / sizeof(inval[0]); i++)
    if(mw__imap_seqset_valid(inval[i], strlen(inval[i])))
      fail_msg("valid: %s", inval[i]);
  struct mw__imap_seqiter it;
  uint32_t lo, hi;
  mw__imap_seqiter_init(&it, "12:9", 4);
  assert_true(mw__imap_seqiter_next(&it, &lo, &hi));
  assert_int_equal(lo, 9);
  assert_int_equal(hi, 12);
}

static void tags(void **state)
{
  (void)state;
  char t[MW__IMAP_TAG_MAX];
  assert_int_equal(mw__imap_tag_format(t, sizeof(t), NULL, 1), 5);
  assert_string_equal(t, "A0001");
  assert_int_equal(mw__imap_tag_format(t, sizeof(t), "mw", 123456), 8);
  assert_string_equal(t, "mw123456");
  assert_int_equal(mw__imap_tag_format(t, sizeof(t), "a1", 1), 0);
  assert_int_equal(mw__imap_tag_format(t, sizeof(t), "", 1), 0);
  /* A tag we make is one we parse back. */
  struct mw__imap_parser p;
  mw__imap_parser_init(&p, NULL);
  mw__imap_tag_format(t, sizeof(t), "X", 4294967295u);
  char wire[64];
  snprintf(wire, sizeof(wire), "%s OK done\r\n", t);
  done(&p, wire);
  assert_string_equal(p.resp.tag, "X4294967295");
  mw__imap_parser_free(&p);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(dovecot_greeting),
      cmocka_unit_test(gmail_and_m365),
      cmocka_unit_test(status_text_is_never_a_literal),
      cmocka_unit_test(every_response_code),
      cmocka_unit_test(select_responses),
      cmocka_unit_test(list_and_status),
      cmocka_unit_test(search_and_esearch),
      cmocka_unit_test(fetch_envelope),
      cmocka_unit_test(fetch_body_streamed),
      cmocka_unit_test(fetch_body_kinds),
      cmocka_unit_test(fetch_nested_literal_not_streamed),
      cmocka_unit_test(fetch_body_split_everywhere),
      cmocka_unit_test(literal_markers),
      cmocka_unit_test(lying_literals),
      cmocka_unit_test(bounds),
      cmocka_unit_test(mutf7),
      cmocka_unit_test(astrings),
      cmocka_unit_test(mailbox_names),
      cmocka_unit_test(seqsets),
      cmocka_unit_test(tags),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

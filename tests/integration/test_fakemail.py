"""Self-tests of the scriptable IMAP and POP3 servers (fakeimap.py,
fakepop3.py), with Python's imaplib and poplib as the clients: the happy
path works like a real server, and each fault chosen here is really
played on the wire (so a mailwire test that relies on it tests what it
says)."""

import base64
import imaplib
import os
import poplib
import shutil
import socket
import ssl
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import fakeimap  # noqa: E402
import fakemail  # noqa: E402
import fakepop3  # noqa: E402

CERT_DIR = CA = CERT = KEY = None


def setUpModule():
    global CERT_DIR, CA, CERT, KEY
    CERT_DIR, (CA, CERT, KEY) = fakemail.temp_certs()


def tearDownModule():
    shutil.rmtree(CERT_DIR, ignore_errors=True)


def client_ctx():
    ctx = ssl.create_default_context(cafile=CA)
    return ctx


def imap(**kw):
    return fakeimap.FakeIMAP(cert=CERT, key=KEY, **kw)


def pop3(**kw):
    return fakepop3.FakePOP3(cert=CERT, key=KEY, **kw)


def raw_connect(port, tls=False):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    if tls:
        s = client_ctx().wrap_socket(s, server_hostname="localhost")
    return s


def read_until_closed(sock, limit=1 << 20):
    out = b""
    try:
        while len(out) < limit:
            chunk = sock.recv(65536)
            if not chunk:
                break
            out += chunk
    except (socket.timeout, OSError):
        pass
    return out


class ImapHappyPath(unittest.TestCase):
    def test_starttls_login_select_search_fetch_store_expunge(self):
        with imap(users={"alice": "pw 1"}) as f:
            c = imaplib.IMAP4("127.0.0.1", f.port, timeout=5)
            self.assertIn("STARTTLS", c.capabilities)
            c.starttls(client_ctx())
            self.assertNotIn("STARTTLS", c.capabilities)
            c.login("alice", "pw 1")
            typ, data = c.list()
            self.assertEqual(typ, "OK")
            self.assertIn(b'"INBOX"', data[0])
            typ, data = c.status("INBOX", "(MESSAGES UIDNEXT UIDVALIDITY "
                                 "UNSEEN)")
            self.assertIn(b"MESSAGES 3", data[0])
            self.assertIn(b"UIDVALIDITY 1234567", data[0])
            typ, data = c.select("INBOX")
            self.assertEqual((typ, data), ("OK", [b"3"]))
            typ, data = c.uid("SEARCH", None, "ALL")
            self.assertEqual(data, [b"1 2 3"])
            typ, data = c.uid("FETCH", "1:*", "(FLAGS RFC822.SIZE "
                              "BODY.PEEK[] ENVELOPE)")
            self.assertEqual(typ, "OK")
            bodies = [d[1] for d in data if isinstance(d, tuple)]
            self.assertEqual(bodies, [m.data for m in
                                      f.mailboxes["INBOX"].messages])
            # ENVELOPE follows the body literal.
            self.assertIn(b'"fake message 1"', data[1])
            self.assertIn(b"RFC822.SIZE %d" % len(bodies[0]), data[0][0])
            # PEEK leaves \Seen alone; STORE sets flags.
            typ, data = c.uid("SEARCH", None, "UNSEEN")
            self.assertEqual(data, [b"1 2 3"])
            c.uid("STORE", "2", "+FLAGS", "(\\Seen \\Flagged)")
            typ, data = c.uid("SEARCH", None, "UNSEEN")
            self.assertEqual(data, [b"1 3"])
            typ, data = c.uid("FETCH", "2", "(FLAGS)")
            self.assertIn(b"\\Flagged", data[0])
            c.uid("STORE", "1", "+FLAGS.SILENT", "(\\Deleted)")
            typ, data = c.expunge()
            self.assertEqual(data, [b"1"])
            typ, data = c.uid("SEARCH", None, "ALL")
            self.assertEqual(data, [b"2 3"])
            c.logout()
        s = f.sessions[0]
        self.assertTrue(s.tls)
        self.assertEqual(s.logins, [("LOGIN", "alice", "pw 1")])

    def test_implicit_tls_authenticate_plain_sasl_ir_append_literals(self):
        with imap(implicit_tls=True, messages=[]) as f:
            c = imaplib.IMAP4_SSL("127.0.0.1", f.port,
                                  ssl_context=client_ctx(), timeout=5)
            self.assertIn("SASL-IR", c.capabilities)
            c.authenticate("PLAIN", lambda _: b"\0bob\0secret")
            # Synchronising literal (imaplib waits for "+").
            msg = b"Subject: appended\r\n\r\nbody\r\n"
            typ, data = c.append("INBOX", "(\\Seen)", None, msg)
            self.assertEqual(typ, "OK")
            self.assertIn(b"APPENDUID 1234567 1", data[0])
            # Non-synchronising literal (LITERAL+), sent by hand.
            tag = c._new_tag()
            c.send(tag + b" APPEND INBOX {%d+}\r\n" % len(msg) + msg +
                   b"\r\n")
            typ, data = c._command_complete("APPEND", tag)
            self.assertEqual(typ, "OK")
            c.select("INBOX")
            typ, data = c.uid("FETCH", "1:2", "(BODY.PEEK[])")
            self.assertEqual([d[1] for d in data if isinstance(d, tuple)],
                             [msg, msg])
            c.logout()
        s = f.sessions[0]
        self.assertEqual(s.logins, [("PLAIN", "bob", "secret")])
        # imaplib sends PLAIN after the "+" prompt: a line of its own.
        self.assertEqual(s.literals, [msg, msg])
        self.assertEqual(s.appended[0], ("INBOX", ("\\Seen",), msg))

    def test_sasl_ir_on_the_command_line(self):
        with imap(implicit_tls=True) as f:
            s = raw_connect(f.port, tls=True)
            fh = s.makefile("rb")
            fh.readline()
            ir = base64.b64encode(b"\0carol\0pw").decode()
            s.sendall(b"a1 AUTHENTICATE PLAIN " + ir.encode() + b"\r\n")
            self.assertTrue(fh.readline().startswith(b"a1 OK"))
            s.close()
        self.assertEqual(f.sessions[0].logins, [("PLAIN", "carol", "pw")])

    def test_login_with_literals(self):
        with imap(users={"al ice": 'p"w\\{3}'}) as f:
            s = raw_connect(f.port)
            fh = s.makefile("rb")
            fh.readline()
            s.sendall(b"a1 LOGIN {6}\r\n")
            self.assertTrue(fh.readline().startswith(b"+ "))
            s.sendall(b'al ice {7+}\r\np"w\\{3}\r\n')
            self.assertTrue(fh.readline().startswith(b"a1 OK"))
            s.close()
        self.assertEqual(f.sessions[0].logins,
                         [("LOGIN", "al ice", 'p"w\\{3}')])
        self.assertEqual(f.sessions[0].literals, [b"al ice", b'p"w\\{3}'])

    def test_idle_sees_a_message_delivered_while_waiting(self):
        new = b"Subject: while idling\r\n\r\nhi\r\n"
        with imap(implicit_tls=True,
                  on_idle=lambda srv, sess: srv.deliver(new)) as f:
            s = raw_connect(f.port, tls=True)
            fh = s.makefile("rb")
            fh.readline()
            s.sendall(b"a1 LOGIN alice pw\r\na2 SELECT INBOX\r\n")
            while not fh.readline().startswith(b"a2 OK"):
                pass
            s.sendall(b"a3 IDLE\r\n")
            self.assertEqual(fh.readline(), b"+ idling\r\n")
            self.assertEqual(fh.readline(), b"* 4 EXISTS\r\n")
            s.sendall(b"DONE\r\n")
            self.assertTrue(fh.readline().startswith(b"a3 OK"))
            s.close()
        self.assertEqual(f.mailboxes["INBOX"].messages[-1].data, new)

    def test_deliver_from_the_test_thread_during_idle(self):
        with imap() as f:
            s = raw_connect(f.port)
            fh = s.makefile("rb")
            fh.readline()
            s.sendall(b"a1 LOGIN alice pw\r\na2 EXAMINE INBOX\r\n")
            while not fh.readline().startswith(b"a2 OK"):
                pass
            s.sendall(b"a3 IDLE\r\n")
            fh.readline()
            threading.Timer(0.2, f.deliver, (b"Subject: x\r\n\r\n",)).start()
            self.assertEqual(fh.readline(), b"* 4 EXISTS\r\n")
            s.sendall(b"DONE\r\n")
            self.assertTrue(fh.readline().startswith(b"a3 OK"))
            s.close()

    def test_select_of_a_missing_mailbox(self):
        for key, text in (("nonexistent", b"NO [NONEXISTENT]"),
                          ("doesnt_exist", b"NO Mailbox doesn't exist")):
            with imap(implicit_tls=True, select_reply=key) as f:
                c = imaplib.IMAP4_SSL("127.0.0.1", f.port,
                                      ssl_context=client_ctx(), timeout=5)
                c.login("a", "b")
                typ, data = c.select("Archive")
                self.assertEqual(typ, "NO")
                self.assertTrue((b"NO " + data[0]).startswith(text), data)
                c.logout()
        with imap(implicit_tls=True) as f:   # not in mailboxes
            c = imaplib.IMAP4_SSL("127.0.0.1", f.port,
                                  ssl_context=client_ctx(), timeout=5)
            c.login("a", "b")
            typ, data = c.select("Nope")
            self.assertEqual((typ, data[0][:13]), ("NO", b"[NONEXISTENT]"))


class ImapFaults(unittest.TestCase):
    def test_greetings(self):
        for kind, first in (("bye", b"* BYE"), ("preauth", b"* PREAUTH"),
                            ("smtp", b"220 "), ("pop3", b"+OK ")):
            with imap(greeting=kind) as f:
                s = raw_connect(f.port)
                got = read_until_closed(s) if kind != "preauth" else \
                    s.recv(4096)
                s.close()
            self.assertTrue(got.startswith(first), (kind, got))
        with imap(greeting="preauth") as f:
            c = imaplib.IMAP4("127.0.0.1", f.port, timeout=5)
            self.assertEqual(c.state, "AUTH")
            self.assertEqual(c.select("INBOX")[0], "OK")
            c.logout()

    def test_silent_server(self):
        with imap(silent=True) as f:
            s = raw_connect(f.port)
            s.settimeout(0.5)
            self.assertRaises(socket.timeout, s.recv, 10)
            s.close()

    def test_logindisabled_before_tls(self):
        with imap(logindisabled=True) as f:
            c = imaplib.IMAP4("127.0.0.1", f.port, timeout=5)
            self.assertIn("LOGINDISABLED", c.capabilities)
            self.assertFalse(any(x.startswith("AUTH=")
                                 for x in c.capabilities))
            with self.assertRaises(imaplib.IMAP4.error) as cm:
                c.login("alice", "pw")
            self.assertIn("PRIVACYREQUIRED", str(cm.exception))
            c.starttls(client_ctx())
            self.assertNotIn("LOGINDISABLED", c.capabilities)
            c.login("alice", "pw")
            c.logout()

    def test_starttls_injection_is_on_the_wire(self):
        evil = b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\r\n"
        with imap(inject_after_starttls=evil,
                  untagged_before_starttls=b"* CAPABILITY IMAP4rev1\r\n") as f:
            s = raw_connect(f.port)
            fh = s.makefile("rb")
            fh.readline()
            s.sendall(b"a1 STARTTLS\r\n")
            time.sleep(0.2)
            got = s.recv(4096)
            s.close()
        self.assertEqual(got, b"* CAPABILITY IMAP4rev1\r\n"
                         b"a1 OK Begin TLS negotiation now\r\n" + evil)

    def test_wrong_tag(self):
        with imap(wrong_tag="LOGIN") as f:
            s = raw_connect(f.port)
            fh = s.makefile("rb")
            fh.readline()
            s.sendall(b"a1 CAPABILITY\r\n")
            fh.readline()
            self.assertTrue(fh.readline().startswith(b"a1 OK"))
            s.sendall(b"a2 LOGIN u p\r\n")
            self.assertTrue(fh.readline().startswith(b"Wa2X OK"))
            s.close()

    def _fetch_raw(self, f, limit=1 << 20):
        s = raw_connect(f.port)
        s.settimeout(3)
        fh = s.makefile("rb")
        fh.readline()
        s.sendall(b"a1 LOGIN u p\r\na2 SELECT INBOX\r\n")
        while not fh.readline().startswith(b"a2 "):
            pass
        s.sendall(b"a3 UID FETCH 1 (BODY.PEEK[])\r\n")
        out = b""
        try:
            while len(out) < limit:
                chunk = fh.read1(65536)
                if not chunk:
                    break
                out += chunk
        except (socket.timeout, OSError):
            pass
        s.close()
        return out

    def test_literal_faults(self):
        msg = fakemail.Message(b"Subject: s\r\n\r\n" + b"b" * 100 + b"\r\n")
        n = len(msg.data)
        for fault, head in (("short", b"{%d}" % (n - 10)),
                            ("long", b"{%d}" % (n + 100)),
                            ("overflow", b"{99999999999999999999}"),
                            ("unbounded", b"{%d}" % (1 << 62)),
                            ("drop", b"{%d}" % n)):
            with imap(literal_fault=fault,
                      messages=[fakemail.Message(msg.data)]) as f:
                out = self._fetch_raw(f, limit=300000)
            self.assertTrue(out.startswith(b"* 1 FETCH (UID 1 BODY[] " +
                                           head + b"\r\n"), (fault, out[:80]))
            if fault == "unbounded":
                self.assertGreater(len(out), 200000)
            if fault == "drop":
                self.assertEqual(len(out), len(b"* 1 FETCH (UID 1 BODY[] ") +
                                 len(head) + 2 + n // 2)
            if fault == "long":   # the server waits for the rest
                self.assertNotIn(b"a3 OK", out)
            if fault in ("short", "overflow"):   # then carries on
                self.assertTrue(out.endswith(msg.data + b")\r\n"
                                             b"a3 OK FETCH completed\r\n"))

    def test_unbounded_line(self):
        with imap(unbounded_line="capability") as f:
            s = raw_connect(f.port)
            s.settimeout(3)
            s.recv(4096)
            s.sendall(b"a1 CAPABILITY\r\n")
            got = b""
            while len(got) < 1 << 20:
                got += s.recv(65536)
            s.close()
        self.assertTrue(got.startswith(b"* CAPABILITY xxxx"))
        self.assertNotIn(b"\n", got)

    def test_login_failure_texts(self):
        for key in ("gmail_app_password", "m365_authenticate", "m365_login",
                    "gmail_imap_disabled", "gmail_web_login",
                    "authenticationfailed", "unavailable", "expired",
                    "privacyrequired", "contactadmin", "noperm", "inuse",
                    "overquota", "limit", "alert"):
            with imap(implicit_tls=True, login_reply=key) as f:
                c = imaplib.IMAP4_SSL("127.0.0.1", f.port,
                                      ssl_context=client_ctx(), timeout=5)
                with self.assertRaises(imaplib.IMAP4.error) as cm:
                    c.login("alice", "pw")
                c.shutdown()
            want = fakeimap.LOGIN_REPLIES[key].split(" ", 1)[1]
            self.assertIn(want, str(cm.exception), key)

    def test_wrong_password_with_users(self):
        with imap(implicit_tls=True, users={"alice": "right"}) as f:
            c = imaplib.IMAP4_SSL("127.0.0.1", f.port,
                                  ssl_context=client_ctx(), timeout=5)
            with self.assertRaises(imaplib.IMAP4.error) as cm:
                c.login("alice", "wrong")
            self.assertIn("AUTHENTICATIONFAILED", str(cm.exception))
            c.login("alice", "right")
            c.logout()

    def test_m365_authenticated_but_not_connected(self):
        with imap(implicit_tls=True,
                  after_login_reply=fakeimap.M365_NOT_CONNECTED) as f:
            c = imaplib.IMAP4_SSL("127.0.0.1", f.port,
                                  ssl_context=client_ctx(), timeout=5)
            c.login("alice", "pw")
            with self.assertRaises(imaplib.IMAP4.error) as cm:
                c.select("INBOX")
            self.assertIn("User is authenticated but not connected",
                          str(cm.exception))
            c.shutdown()

    def test_drop_at_fetch(self):
        with imap(hangup_at="fetch", hangup_how="reset") as f:
            c = imaplib.IMAP4("127.0.0.1", f.port, timeout=5)
            c.login("a", "b")
            c.select()
            with self.assertRaises((imaplib.IMAP4.abort, OSError)):
                c.uid("FETCH", "1", "(BODY.PEEK[])")


class Pop3HappyPath(unittest.TestCase):
    def test_stls_user_pass_stat_list_uidl_top_retr_dele_quit(self):
        msgs = fakemail.sample_messages(3)
        with pop3(messages=msgs, users={"alice": "pw"}) as f:
            c = poplib.POP3("127.0.0.1", f.port, timeout=5)
            caps = c.capa()
            self.assertIn("STLS", caps)
            c.stls(client_ctx())
            self.assertNotIn("STLS", c.capa())
            c.user("alice")
            c.pass_("pw")
            self.assertEqual(c.stat(), (3, sum(len(m.data) for m in msgs)))
            resp, lines, _ = c.list()
            self.assertEqual(lines[0], b"1 %d" % len(msgs[0].data))
            resp, lines, _ = c.uidl()
            self.assertEqual(lines[1], b"2 fake-uidl-00000002")
            resp, lines, _ = c.top(1, 1)
            self.assertEqual(lines[-1], b"Hello 1.")
            resp, lines, _ = c.retr(2)
            # poplib unstuffs: the ".a line" comes back with one dot.
            self.assertEqual(b"\r\n".join(lines) + b"\r\n", msgs[1].data)
            c.dele(1)
            self.assertEqual(c.stat()[0], 2)
            c.rset()
            self.assertEqual(c.stat()[0], 3)
            c.dele(3)
            c.quit()
            # Deletion took effect at QUIT: a new session sees 2.
            c = poplib.POP3("127.0.0.1", f.port, timeout=5)
            c.user("alice")
            c.pass_("pw")
            self.assertEqual(c.stat()[0], 2)
            c.quit()
        self.assertTrue(f.sessions[0].tls)

    def test_retr_is_dot_stuffed_on_the_wire(self):
        with pop3(implicit_tls=True) as f:
            s = raw_connect(f.port, tls=True)
            fh = s.makefile("rb")
            fh.readline()
            s.sendall(b"USER a\r\nPASS b\r\nRETR 1\r\n")
            fh.readline(), fh.readline(), fh.readline()
            lines = []
            while True:
                line = fh.readline()
                lines.append(line)
                if line == b".\r\n":
                    break
            s.close()
        self.assertIn(b"..a line starting with a dot\r\n", lines)

    def test_implicit_tls_auth_plain(self):
        with pop3(implicit_tls=True) as f:
            c = poplib.POP3_SSL("127.0.0.1", f.port, context=client_ctx(),
                                timeout=5)
            ir = base64.b64encode(b"\0alice\0pw").decode()
            self.assertTrue(c._shortcmd("AUTH PLAIN " + ir).startswith(
                b"+OK"))
            self.assertEqual(c.stat()[0], 3)
            c.quit()
            c = poplib.POP3_SSL("127.0.0.1", f.port, context=client_ctx(),
                                timeout=5)
            c._putcmd("AUTH PLAIN")
            self.assertEqual(c._getline()[0], b"+ ")
            self.assertTrue(c._shortcmd(ir).startswith(b"+OK"))
            c.quit()
        self.assertEqual([s.logins for s in f.sessions],
                         [[("PLAIN", "alice", "pw")]] * 2)


class Pop3Faults(unittest.TestCase):
    def test_greetings(self):
        for kind, first in (("err", b"-ERR"), ("smtp", b"220 "),
                            ("imap", b"* OK")):
            with pop3(greeting=kind) as f:
                s = raw_connect(f.port)
                got = read_until_closed(s)
                s.close()
            self.assertTrue(got.startswith(first), (kind, got))

    def test_stls_injection_is_on_the_wire(self):
        with pop3(inject_after_stls=b"+OK injected\r\n") as f:
            s = raw_connect(f.port)
            fh = s.makefile("rb")
            fh.readline()
            s.sendall(b"STLS\r\n")
            time.sleep(0.2)
            got = s.recv(4096)
            s.close()
        self.assertEqual(got, b"+OK Begin TLS negotiation\r\n"
                         b"+OK injected\r\n")

    def test_user_refused_before_tls(self):
        with pop3(user_before_tls=False) as f:
            c = poplib.POP3("127.0.0.1", f.port, timeout=5)
            self.assertNotIn("USER", c.capa())
            with self.assertRaises(poplib.error_proto):
                c.user("alice")
            c.stls(client_ctx())
            c.user("alice")
            c.pass_("pw")
            c.quit()

    def test_response_codes(self):
        for key in ("auth", "sys_temp", "sys_perm", "in_use", "login_delay",
                    "gmail_app_password", "gmail_pop_disabled",
                    "m365_auth", "pop_disabled"):
            with pop3(implicit_tls=True, pass_reply=key) as f:
                c = poplib.POP3_SSL("127.0.0.1", f.port,
                                    context=client_ctx(), timeout=5)
                c.user("alice")
                with self.assertRaises(poplib.error_proto) as cm:
                    c.pass_("pw")
                c.close()
            self.assertEqual(str(cm.exception),
                             str(fakepop3.PASS_REPLIES[key].encode()))

    def test_multiline_never_ends(self):
        with pop3(multiline_fault="no_end") as f:
            c = poplib.POP3("127.0.0.1", f.port, timeout=1)
            c.user("a")
            c.pass_("b")
            with self.assertRaises(socket.timeout):
                c.retr(1)
            c.close()
        with pop3(multiline_fault="endless", multiline_on="uidl") as f:
            s = raw_connect(f.port)
            s.settimeout(3)
            s.recv(100)
            s.sendall(b"USER a\r\nPASS b\r\nUIDL\r\n")
            got = b""
            while len(got) < 2 << 20:
                got += s.recv(65536)
            s.close()
        self.assertNotIn(b"\r\n.\r\n", got)
        self.assertGreater(f.sessions[0].sent_bytes, 1 << 20)

    def test_drop_in_the_middle_of_retr(self):
        with pop3(multiline_fault="drop") as f:
            c = poplib.POP3("127.0.0.1", f.port, timeout=3)
            c.user("a")
            c.pass_("b")
            with self.assertRaises((poplib.error_proto, EOFError, OSError)):
                c.retr(1)
        self.assertTrue(f.sessions[0].closed_by_server)

    def test_unbounded_line(self):
        with pop3(unbounded_line="greeting") as f:
            c = None
            with self.assertRaises(poplib.error_proto) as cm:
                c = poplib.POP3("127.0.0.1", f.port, timeout=3)
            self.assertIn("line too long", str(cm.exception))
            self.assertIsNone(c)


if __name__ == "__main__":
    unittest.main()

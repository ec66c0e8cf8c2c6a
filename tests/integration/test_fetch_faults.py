"""mailwire fetch against misbehaving IMAP and POP3 servers (fakeimap.py,
fakepop3.py): whatever the server does in the middle of a message (drops
the connection, lies about a literal's length, never ends a response,
answers with a wrong tag, hangs up before QUIT), fetch fails with the
right exit code, nothing partial reaches the Maildir's new/, nothing
unstored is recorded or deleted, and a later run against a sound server
completes the mailbox with every message exactly once."""

import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import fakeimap  # noqa: E402
import fakemail  # noqa: E402
import fakepop3  # noqa: E402
import mwtest  # noqa: E402
import rigutil  # noqa: E402

CERT_DIR = CA = CERT = KEY = None


def setUpModule():
    global CERT_DIR, CA, CERT, KEY
    CERT_DIR, (CA, CERT, KEY) = fakemail.temp_certs()


def tearDownModule():
    shutil.rmtree(CERT_DIR, ignore_errors=True)


def messages(n=4, size=3000):
    return fakemail.sample_messages(n, size)


def as_lf(m):
    data = m.data if hasattr(m, "data") else m
    if isinstance(data, str):
        data = data.encode()
    return data.replace(b"\r\n", b"\n")


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="mwfault")
        self.md = os.path.join(self.tmp, "md")
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            s.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def imap(self, msgs, **kw):
        s = fakeimap.FakeIMAP(cert=CERT, key=KEY, implicit_tls=True,
                              messages=msgs, **kw)
        s.start()
        self.servers.append(s)
        return "imaps://alice@127.0.0.1:%d/INBOX" % s.port, s

    def pop3(self, msgs, **kw):
        s = fakepop3.FakePOP3(cert=CERT, key=KEY, implicit_tls=True,
                              messages=msgs, **kw)
        s.start()
        self.servers.append(s)
        return "pop3s://alice@127.0.0.1:%d" % s.port, s

    def fetch(self, url, *extra):
        args = ["fetch", "--server", url, "--password-env", "PW",
                "--tls-ca-file", CA, "--maildir", self.md, "--state-dir",
                os.path.join(self.tmp, "state"), "--timeout", "3s"] + \
            list(extra)
        code, doc, err, _ = mwtest.run_json(args, env={"PW": "pw"},
                                            timeout=mwtest.bound(60))
        return code, doc, err

    def stored(self):
        return sorted(rigutil.read_maildir(self.md).values())

    def assert_whole(self, msgs):
        """Every file in new/ and cur/ is one of msgs, whole, once."""
        want = [as_lf(m) for m in msgs]
        got = self.stored()
        for g in got:
            self.assertIn(g, want, "a partial or foreign file was stored")
        self.assertEqual(len(got), len(set(got)), "a message stored twice")
        return got

    def complete_with_sound_server(self, msgs, server):
        """A sound server with the same mailbox (same UIDVALIDITY and
        UIDs, or the same UIDLs) finishes the job: all, once."""
        url, _ = server(msgs)
        code, doc, err = self.fetch(url)
        self.assertEqual(code, 0, err)
        self.assertEqual(self.assert_whole(msgs),
                         sorted(as_lf(m) for m in msgs))


class Faults(Base):
    def test_imap_drop_in_the_middle_of_a_literal(self):
        msgs = messages()
        url, _ = self.imap(msgs, literal_fault="drop")
        code, doc, err = self.fetch(url)
        self.assertEqual(code, 75, err)  # temporary: retry later
        self.assertTrue(doc["error"]["temporary"])
        self.assertLess(len(self.assert_whole(msgs)), len(msgs))
        self.complete_with_sound_server(msgs, self.imap)

    def test_imap_literal_lies(self):
        for fault in ("short", "long", "overflow", "unbounded"):
            with self.subTest(fault=fault):
                shutil.rmtree(self.tmp)
                os.mkdir(self.tmp)
                msgs = messages(3)
                url, _ = self.imap(msgs, literal_fault=fault)
                code, doc, err = self.fetch(url)
                self.assertIn(code, (75, 76), err)
                self.assertEqual(doc["status"], "failed")
                self.assert_whole(msgs)
                self.complete_with_sound_server(msgs, self.imap)

    def test_imap_wrong_tag(self):
        msgs = messages(2)
        url, _ = self.imap(msgs, wrong_tag="*")
        code, doc, err = self.fetch(url)
        self.assertEqual(code, 76, err)
        self.assertEqual(self.stored(), [])

    def test_imap_delete_after_a_drop_deletes_nothing_unstored(self):
        msgs = messages()
        url, srv = self.imap(msgs, literal_fault="drop")
        code, doc, err = self.fetch(url, "--delete")
        self.assertEqual(code, 75, err)
        # A failed run deletes nothing (the batch was cut short), and
        # certainly nothing it did not store: the fake keeps them all.
        self.assertEqual(doc["deleted"], 0)
        inbox = srv.mailboxes["INBOX"]
        self.assertEqual(len(inbox.messages), len(msgs))
        self.assertFalse(any("\\Deleted" in m.flags for m in inbox.messages))
        self.assert_whole(msgs)

    def test_pop3_drop_during_retr_with_delete(self):
        msgs = messages()
        url, srv = self.pop3(msgs, multiline_fault="drop",
                             multiline_on="retr")
        code, doc, err = self.fetch(url, "--delete")
        self.assertEqual(code, 75, err)
        self.assertEqual(doc["deleted"], 0)
        self.assertEqual(len(srv.messages), len(msgs))  # no QUIT: kept
        self.assert_whole(msgs)
        self.complete_with_sound_server(msgs, self.pop3)

    def test_pop3_response_that_never_ends(self):
        msgs = messages(2)
        url, _ = self.pop3(msgs, multiline_fault="no_end",
                           multiline_on="retr")
        code, doc, err = self.fetch(url)
        self.assertEqual(code, 75, err)  # the --timeout
        self.assertEqual(doc["error"]["status"], "MW_E_TIMEOUT")
        self.assert_whole(msgs)

    def test_pop3_hangup_before_quit_then_rerun_deletes(self):
        msgs = messages(3)
        url, srv = self.pop3(msgs, hangup_at="quit")
        code, doc, err = self.fetch(url, "--delete")
        self.assertEqual(code, 75, err)
        self.assertEqual(doc["deleted"], 0)
        self.assertEqual(doc["fetched"], 3)  # stored and recorded
        self.assertEqual(len(srv.messages), 3)
        # the sound server: nothing fetched again, all deleted at QUIT
        url, srv = self.pop3(msgs)
        code, doc, err = self.fetch(url, "--delete")
        self.assertEqual(code, 0, err)
        self.assertEqual((doc["fetched"], doc["deleted"]), (0, 3))
        self.assertEqual(len(srv.messages), 0)
        self.assertEqual(self.assert_whole(msgs),
                         sorted(as_lf(m) for m in msgs))


class Progress(Base):
    def test_progress_bar_only_on_a_terminal(self):
        import pty
        import subprocess
        msgs = messages(5)
        url, _ = self.imap(msgs)
        master, slave = pty.openpty()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PW": "pw"}
        p = subprocess.Popen(
            mwtest.command(mwtest.MAILWIRE, "fetch", "--server", url,
                           "--password-env", "PW", "--tls-ca-file", CA,
                           "--maildir", self.md, "--state-dir",
                           os.path.join(self.tmp, "state")),
            env=env, stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        out, _ = p.communicate(timeout=mwtest.bound(60))
        tty = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            tty += chunk
        os.close(master)
        self.assertEqual(p.returncode, 0)
        self.assertIn(b"5/5 messages", tty)
        self.assertIn(b"[####", tty)
        self.assertIn(b"5 fetched", out)
        self.assertNotIn(b"[#", out)  # stdout is no terminal: no bar


class WatchPolling(Base):
    def test_watch_polls_with_noop_without_idle(self):
        import subprocess
        import time
        caps = tuple(c for c in fakeimap.DEFAULT_CAPS if c != "IDLE")
        url, srv = self.imap(messages(1), capabilities=caps,
                             login_reply="OK [CAPABILITY %s] Logged in"
                             % " ".join(caps))
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PW": "pw"}
        p = subprocess.Popen(
            mwtest.command(mwtest.MAILWIRE, "watch", "--server", url,
                           "--password-env", "PW", "--tls-ca-file", CA,
                           "--poll-interval", "300ms", "--trace"),
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            time.sleep(mwtest.bound(1.0))
            srv.deliver(b"From: carol@example.test\r\nSubject: polled\r\n"
                        b"Message-ID: <polled@example.test>\r\n\r\nhi\r\n")
            deadline = time.monotonic() + mwtest.bound(10)
            line = b""
            while time.monotonic() < deadline and not line:
                line = p.stdout.readline()
        finally:
            p.terminate()
            out, err = p.communicate(timeout=mwtest.bound(10))
        self.assertEqual(p.returncode, 0, err.decode())
        self.assertRegex(line.decode(), r"^2\tcarol@example.test\tpolled\n$")
        err = err.decode()
        self.assertIn("watching INBOX (polling with NOOP)", err)
        self.assertIn("NOOP", err)
        self.assertNotIn("IDLE\n", err.replace("(IDLE", ""))


if __name__ == "__main__":
    unittest.main()

"""The library's IMAP client (mw_imap_*, through tests/integration/
imap_check.c) against the rig's real Dovecot: a message sent through the
rig's SMTP is fetched byte-identical over imaps (implicit TLS) and imap
(STARTTLS, where Dovecot advertises LOGINDISABLED until TLS); APPEND then
FETCH round-trips; flags set are read back; expunge removes; a wrong
password is AUTHENTICATIONFAILED; LIST and STATUS count right; IDLE sees a
message delivered while it waits."""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import mwtest  # noqa: E402
import rigutil  # noqa: E402

ENV = None
CHECK = os.environ.get("MW_IMAP_CHECK", "imap_check")
ALICE, BOB = "alice@example.test", "bob@example.test"
BODY = b"first line\r\n.starts with a dot\r\n\r\nlast line\r\n"


def setUpModule():
    global ENV
    path = os.environ.get("MW_RIG_ENV")
    if not path or not os.path.exists(path):
        raise unittest.SkipTest("no rig: MW_RIG_ENV is not set (run through "
                                "ctest, which starts the rig)")
    ENV = rigutil.load_env(path)


def url(scheme):
    name = "IMAPS" if scheme == "imaps" else "IMAP"
    return "%s://127.0.0.1:%s" % (scheme, ENV["RIG_%s_PORT" % name])


def check(scheme, *args, user=BOB, password=None, wait=True, timeout=60):
    """Runs imap_check; returns (exit code, {key: [values]}, stdout)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "MW_PASSWORD": password if password is not None
           else (ENV["RIG_PASS2"] if user == BOB else ENV["RIG_PASS1"])}
    cmd = mwtest.command(CHECK, url(scheme), ENV["RIG_CA_FILE"], user,
                         *args)
    if not wait:
        return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
    p = subprocess.run(cmd, env=env, capture_output=True, timeout=timeout)
    out = p.stdout.decode("utf-8", "replace")
    return p.returncode, parse(out), out + p.stderr.decode("utf-8", "replace")


def parse(out):
    facts = {}
    for line in out.splitlines():
        key, _, value = line.partition(" ")
        facts.setdefault(key, []).append(value)
    return facts


def send_to_bob(subject):
    raw = (b"From: alice@example.test\nTo: bob@example.test\nSubject: " +
           subject.encode() + b"\n\n" + BODY.replace(b"\r\n", b"\n"))
    f = tempfile.NamedTemporaryFile(delete=False, suffix=".eml")
    f.write(raw)
    f.close()
    try:
        code, doc, err, _ = mwtest.run_json(
            ["send", "--server", "127.0.0.1:%s" % ENV["RIG_SUBMISSION_PORT"],
             "--tls-ca-file", ENV["RIG_CA_FILE"], "--from", ALICE,
             "--to", BOB, "--message", f.name, "--user", ALICE,
             "--password-env", "PW"], env={"PW": ENV["RIG_PASS1"]})
    finally:
        os.unlink(f.name)
    if code != 0:
        raise AssertionError("send failed: %s\n%s" % (doc, err))


class ImapTest(unittest.TestCase):
    def setUp(self):
        rigutil.clear_mailbox(ENV, "bob")
        self.dir = tempfile.mkdtemp(prefix="mw-imap-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def ok(self, scheme, *args, **kw):
        code, facts, out = check(scheme, *args, **kw)
        self.assertEqual(code, 0, out)
        self.assertEqual(facts["connect"], ["MW_OK"], out)
        return facts

    def fetched(self):
        out = {}
        for name in os.listdir(self.dir):
            with open(os.path.join(self.dir, name), "rb") as f:
                out[int(name.split(".")[0])] = f.read()
        return out


class Fetch(ImapTest):
    def fetch_in_mode(self, scheme):
        send_to_bob("over " + scheme)
        (raw,) = rigutil.wait_for_mail(ENV, "bob")
        facts = self.ok(scheme, "fetch", "INBOX", self.dir)
        self.assertEqual(facts["encrypted"], ["yes"])
        self.assertEqual(facts["mechanism"][0] != "-", True)
        msgs = self.fetched()
        self.assertEqual(len(msgs), 1, facts)
        (got,) = msgs.values()
        # Byte-identical: the stored message, with the CRLF line endings
        # IMAP serves it with.
        self.assertEqual(got, raw.replace(b"\n", b"\r\n"))
        self.assertTrue(got.endswith(b"\r\n\r\n" + BODY))
        self.assertIn(b"Subject: over " + scheme.encode(), got)

    def test_implicit_tls(self):
        self.fetch_in_mode("imaps")

    def test_starttls(self):
        # Dovecot says LOGINDISABLED before TLS here: the login only works
        # because STARTTLS came first and capabilities were read again.
        self.fetch_in_mode("imap")

    def test_wrong_password(self):
        for scheme in ("imaps", "imap"):
            code, facts, out = check(scheme, "connect", password="wrong")
            self.assertEqual(code, 1, out)
            self.assertEqual(facts["error"], ["MW_E_AUTH"], out)
            self.assertEqual(facts["code"], ["AUTHENTICATIONFAILED"], out)
            self.assertNotIn("wrong", facts["message"][0])


class Mailbox(ImapTest):
    def append(self, data, flags=None):
        path = os.path.join(self.dir, "in.eml")
        with open(path, "wb") as f:
            f.write(data)
        args = ["append", "INBOX", path] + ([flags] if flags else [])
        facts = self.ok("imaps", *args)
        os.unlink(path)
        uid = int(facts["appenduid"][0])
        self.assertGreater(uid, 0)
        return uid

    def test_append_then_fetch(self):
        data = (b"From: a@example.test\r\nSubject: appended\r\n\r\n" +
                BODY + b"\xc3\xa4 8-bit line\r\n")
        uid = self.append(data)
        self.ok("imaps", "fetch", "INBOX", self.dir)
        self.assertEqual(self.fetched(), {uid: data})

    def test_large_message_round_trip(self):
        # Bigger than the 1 MiB cap on literals that are not bodies: a body
        # is streamed, with no cap but the deadline.
        line = b"0123456789abcdefghijklmnopqrstuvwxyz" * 2 + b"\r\n"
        data = (b"Subject: large\r\n\r\n" +
                b"".join(b"%06d " % i + line for i in range(60000)))
        self.assertGreater(len(data), 4 * 1024 * 1024)
        uid = self.append(data)
        self.ok("imaps", "fetch", "INBOX", self.dir)
        self.assertEqual(self.fetched(), {uid: data})

    def test_flags_and_expunge(self):
        one = self.append(b"Subject: one\r\n\r\none\r\n")
        two = self.append(b"Subject: two\r\n\r\ntwo\r\n", "\\Seen")
        facts = self.ok("imaps", "store", "INBOX", str(one), "+",
                        "\\Flagged $Work")
        (summary,) = facts["summary"]
        head, _, rest = summary.partition("|")
        self.assertTrue(head.startswith("%d " % one), summary)
        self.assertIn("\\Flagged", head)
        self.assertIn("$Work", head)
        self.assertIn("|one", "|" + rest)
        facts = self.ok("imaps", "summary", "INBOX")
        self.assertEqual(len(facts["summary"]), 2)
        seen = [s for s in facts["summary"] if s.startswith("%d " % two)]
        self.assertIn("\\Seen", seen[0])
        facts = self.ok("imaps", "expunge", "INBOX", str(one))
        self.assertEqual(facts["count"], ["1"])
        self.ok("imaps", "fetch", "INBOX", self.dir)
        self.assertEqual(list(self.fetched()), [two])

    def test_list_and_status(self):
        self.append(b"Subject: a\r\n\r\na\r\n")
        self.append(b"Subject: b\r\n\r\nb\r\n", "\\Seen")
        facts = self.ok("imaps", "list")
        names = [m.split("|")[0] for m in facts["mailbox"]]
        self.assertIn("INBOX", names)
        facts = self.ok("imaps", "status", "INBOX")
        (st,) = facts["status"]
        words = st.split()
        vals = dict(zip(words[0::2], words[1::2]))
        self.assertEqual(vals["messages"], "2")
        self.assertEqual(vals["unseen"], "1")
        self.assertGreater(int(vals["uidnext"]), 2)
        # (Dovecot 2.3's refusals here carry no response code.)
        for action in (["status", "No such box"],
                       ["fetch", "No such box", self.dir]):
            code, facts, out = check("imaps", *action)
            self.assertEqual(code, 1, out)
            self.assertEqual(facts["error"], ["MW_E_REJECTED"], out)
            self.assertIn("No such box", facts["message"][0])


class Idle(ImapTest):
    def test_idle_times_out_quietly(self):
        t0 = time.monotonic()
        facts = self.ok("imaps", "idle", "INBOX", "1500")
        self.assertEqual(facts["changed"], ["no"])
        self.assertGreaterEqual(time.monotonic() - t0, 1.4)

    def test_idle_sees_new_mail(self):
        p = check("imaps", "idle", "INBOX", "20000", wait=False)
        try:
            deadline = time.monotonic() + 20
            lines = []
            while time.monotonic() < deadline:
                line = p.stdout.readline().decode()
                if not line:
                    break
                lines.append(line)
                if line.startswith("idling"):
                    break
            self.assertTrue(lines and lines[-1].startswith("idling"), lines)
            time.sleep(0.3)  # IDLE is on the wire
            t0 = time.monotonic()
            send_to_bob("while idling")
            out, err = p.communicate(timeout=30)
            facts = parse(out.decode())
            self.assertEqual(p.returncode, 0, out + err)
            self.assertEqual(facts["changed"], ["yes"], out)
            # Well before the 20 s timeout.
            self.assertLess(time.monotonic() - t0, mwtest.bound(10))
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()


if __name__ == "__main__":
    unittest.main()

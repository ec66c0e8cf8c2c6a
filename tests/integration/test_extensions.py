"""SMTP service extensions (issue 12, item 3).

Against the rig's real Postfix, which offers CHUNKING, DSN, 8BITMIME,
SMTPUTF8 and SIZE: the message goes in BDAT chunks by default (DATA with
--no-chunking), and a DSN request (NOTIFY, RET, ENVID, ORCPT) is honoured:
Postfix returns a success report to the sender that quotes the envelope id
and the original recipient, and logs "sender delivery status
notification".  Against the scriptable fake server (fakesmtp.py), which
Postfix cannot be: REQUIRETLS offered or not, over verified TLS or not,
and DSN not offered; each refusal is exit 80 (MW_E_EXTENSION) with no MAIL
FROM on the wire."""

import email
import email.policy
import os
import re
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import fakesmtp  # noqa: E402
import mwtest  # noqa: E402
import rigutil  # noqa: E402

ENV = None
ALICE, BOB = "alice@example.test", "bob@example.test"
CERT_DIR = None
CA = CERT = KEY = None


def setUpModule():
    global CERT_DIR, CA, CERT, KEY
    CERT_DIR, (CA, CERT, KEY) = fakesmtp.temp_certs()


def tearDownModule():
    shutil.rmtree(CERT_DIR, ignore_errors=True)


def rig():
    global ENV
    if ENV is None:
        path = os.environ.get("MW_RIG_ENV")
        if not path or not os.path.exists(path):
            raise unittest.SkipTest("no rig: MW_RIG_ENV is not set (run "
                                    "through ctest, which starts the rig)")
        ENV = rigutil.load_env(path)
    return ENV


def rig_send(*extra):
    env = rig()
    return mwtest.run(["send", "--server",
                       "127.0.0.1:%s" % env["RIG_PLAIN_PORT"], "--tls",
                       "none", "--from", ALICE, "--to", BOB, "--trace"] +
                      list(extra))


def outgoing(trace):
    """The client's lines of a --trace, without their time stamps."""
    return [m.group(1) for m in re.finditer(r"\] -> (.*)", trace)]


class AgainstPostfix(unittest.TestCase):
    def setUp(self):
        self.env = rig()
        rigutil.clear_mailbox(self.env, "bob")
        rigutil.clear_mailbox(self.env, "alice")
        self.dir = tempfile.mkdtemp(prefix="mw-ext-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_bdat_and_dsn_with_the_report_and_the_log(self):
        envid = "mw-ext-%d-%d" % (os.getpid(), int(time.time() * 1000))
        code, out, err, _ = rig_send(
            "--subject", "dsn check", "--body", "DSN and BDAT\n",
            "--dsn-notify", "success,failure", "--dsn-ret", "hdrs",
            "--envid", envid)
        self.assertEqual(code, 0, err)
        sent = outgoing(err)
        mail = [l for l in sent if l.startswith("MAIL FROM")][0]
        self.assertIn(" RET=HDRS", mail)
        self.assertIn(" ENVID=" + envid, mail)
        rcpt = [l for l in sent if l.startswith("RCPT TO")][0]
        self.assertEqual(rcpt, "RCPT TO:<%s> NOTIFY=SUCCESS,FAILURE "
                               "ORCPT=rfc822;%s" % (BOB, BOB))
        # CHUNKING is offered: BDAT, no DATA command.
        self.assertTrue(any(re.match(r"BDAT \d+ LAST$", l) for l in sent),
                        sent)
        self.assertNotIn("DATA", sent)
        queue_id = re.search(r"queued as ([0-9A-F]+)", out).group(1)
        raw = rigutil.wait_for_mail(self.env, "bob", timeout=10)[0]
        self.assertIn(b"DSN and BDAT", raw)
        # The success report Postfix sends back to the sender (NOTIFY=
        # SUCCESS), quoting ENVID and ORCPT; RET=HDRS: headers only.
        report = rigutil.wait_for_mail(self.env, "alice", timeout=10)[0]
        msg = email.message_from_bytes(report, policy=email.policy.compat32)
        self.assertEqual(msg.get_content_type(), "multipart/report")
        text = report.decode("utf-8", "replace")
        self.assertIn("Original-Envelope-Id: " + envid, text)
        self.assertIn("Original-Recipient: rfc822;" + BOB, text)
        self.assertIn("Action: delivered", text)
        self.assertIn("X-Postfix-Queue-ID: " + queue_id, text)
        types = [p.get_content_type() for p in msg.walk()]
        self.assertIn("message/delivery-status", types)
        self.assertIn("text/rfc822-headers", types)  # RET=HDRS
        self.assertNotIn("DSN and BDAT", text)
        # And the server's log says it sent the report for that message.
        deadline = time.monotonic() + 10
        needle = "%s: sender delivery status notification" % queue_id
        while True:
            with open(self.env["RIG_POSTFIX_LOG"], errors="replace") as f:
                if needle in f.read():
                    break
            self.assertLess(time.monotonic(), deadline,
                            "no '%s' in the Postfix log" % needle)
            time.sleep(0.1)

    def test_no_dsn_asked_no_report(self):
        code, out, err, _ = rig_send("--subject", "plain", "--body", "x\n")
        self.assertEqual(code, 0, err)
        sent = outgoing(err)
        mail = [l for l in sent if l.startswith("MAIL FROM")][0]
        self.assertNotIn("RET=", mail)
        self.assertNotIn("NOTIFY", " ".join(sent))
        rigutil.wait_for_mail(self.env, "bob", timeout=10)
        time.sleep(0.5)  # a report would follow the delivery at once
        new = os.path.join(rigutil.mailbox_dir(self.env, "alice"), "new")
        self.assertEqual(os.listdir(new) if os.path.isdir(new) else [], [])

    def test_multi_chunk_bdat_and_no_chunking_arrive_identical(self):
        # A ready-made message of about 200 KB: several BDAT chunks of
        # 64 KiB, each answered before the next; lines starting with a dot
        # go unstuffed in BDAT and must arrive as they were.
        lines = ["Line %06d %s" % (i, "x" * 60) for i in range(3000)]
        lines[5] = ".starts with a dot"
        lines[6] = "."
        body = "\r\n".join(lines) + "\r\n"
        msg = ("From: %s\r\nTo: %s\r\nSubject: chunks\r\n\r\n" % (ALICE, BOB)
               + body).encode()
        path = os.path.join(self.dir, "big.eml")
        with open(path, "wb") as f:
            f.write(msg)
        for extra, verb in (([], "BDAT"), (["--no-chunking"], "DATA")):
            rigutil.clear_mailbox(self.env, "bob")
            code, out, err, _ = rig_send("--message", path, *extra)
            self.assertEqual(code, 0, err)
            sent = outgoing(err)
            bdats = [l for l in sent if l.startswith("BDAT ")]
            if verb == "BDAT":
                self.assertGreater(len(bdats), 2, sent)
                self.assertTrue(bdats[-1].endswith(" LAST"))
                self.assertNotIn("DATA", sent)
            else:
                self.assertEqual(bdats, [])
                self.assertIn("DATA", sent)
            raw = rigutil.wait_for_mail(self.env, "bob", timeout=10)[0]
            _, got = rigutil.split_message(raw)
            self.assertEqual(got.replace(b"\r\n", b"\n"),
                             body.replace("\r\n", "\n").encode(), verb)

    def test_binary_message_refused_without_binarymime(self):
        # Postfix offers CHUNKING but not BINARYMIME: a NUL byte cannot go
        # (DATA would break it, BDAT needs BODY=BINARYMIME): exit 80.
        path = os.path.join(self.dir, "nul.eml")
        with open(path, "wb") as f:
            f.write(b"From: %s\r\nTo: %s\r\nSubject: nul\r\n\r\n"
                    b"a\x00b\r\n" % (ALICE.encode(), BOB.encode()))
        code, out, err, _ = rig_send("--message", path)
        self.assertEqual(code, 80, err)
        self.assertIn("BINARYMIME", err)
        self.assertFalse(any(l.startswith("MAIL") for l in outgoing(err)))

    def test_utf8_address_goes_with_smtputf8_and_no_orcpt(self):
        # Postfix has smtputf8_enable: the UTF-8 sender needs SMTPUTF8; the
        # ASCII recipient still gets its rfc822 ORCPT.
        code, out, err, _ = mwtest.run(
            ["send", "--server", "127.0.0.1:%s" % self.env["RIG_PLAIN_PORT"],
             "--tls", "none", "--from", "j\u00f6rg@example.test", "--to",
             BOB, "--body", "x\n", "--dsn-notify", "failure", "--trace"])
        self.assertEqual(code, 0, err)
        sent = outgoing(err)
        mail = [l for l in sent if l.startswith("MAIL FROM")][0]
        self.assertIn(" SMTPUTF8", mail)
        rcpt = [l for l in sent if l.startswith("RCPT TO")][0]
        self.assertEqual(rcpt, "RCPT TO:<%s> NOTIFY=FAILURE ORCPT=rfc822;%s"
                         % (BOB, BOB))
        rigutil.wait_for_mail(self.env, "bob", timeout=10)


def fake(**kw):
    return fakesmtp.FakeSMTP(cert=CERT, key=KEY, **kw)


def fake_send(port, *extra):
    return mwtest.run_json(
        ["send", "--server", "127.0.0.1:%d" % port, "--tls-ca-file", CA,
         "--from", "alice@example.org", "--to", "bob@example.org",
         "--subject", "t", "--body", "hello\n"] + list(extra))


def mail_lines(f):
    return [l for s in f.sessions for l in s.lines if l.startswith("MAIL")]


class AgainstTheFakeServer(unittest.TestCase):
    CAPS = ("PIPELINING", "SIZE 10240000", "8BITMIME", "ENHANCEDSTATUSCODES")

    def test_requiretls_sent_over_verified_tls_when_offered(self):
        with fake(capabilities=self.CAPS + ("REQUIRETLS",)) as f:
            code, doc, err, _ = fake_send(f.port, "--requiretls")
        self.assertEqual(code, 0, (doc, err))
        self.assertEqual(mail_lines(f),
                         ["MAIL FROM:<alice@example.org> SIZE=%d REQUIRETLS"
                          % int(mail_lines(f)[0].split("SIZE=")[1].split()[0])
                          ])

    def test_requiretls_refused_when_not_offered(self):
        with fake(capabilities=self.CAPS) as f:
            code, doc, err, _ = fake_send(f.port, "--requiretls")
        self.assertEqual(code, 80, (doc, err))
        self.assertEqual(doc["error"]["status"], "MW_E_EXTENSION")
        self.assertIn("REQUIRETLS", doc["error"]["message"])
        self.assertEqual(mail_lines(f), [])

    def test_requiretls_refused_without_tls_or_verification(self):
        with fake(capabilities=self.CAPS + ("REQUIRETLS",)) as f:
            code, doc, err, _ = fake_send(f.port, "--requiretls", "--tls",
                                          "none")
        self.assertEqual(code, 80, (doc, err))
        self.assertIn("not encrypted", doc["error"]["message"])
        self.assertEqual(mail_lines(f), [])
        with fake(capabilities=self.CAPS + ("REQUIRETLS",)) as f:
            code, doc, err, _ = mwtest.run_json(
                ["send", "--server", "127.0.0.1:%d" % f.port, "--insecure",
                 "--from", "alice@example.org", "--to", "bob@example.org",
                 "--body", "x\n", "--requiretls"])
        self.assertEqual(code, 80, (doc, err))
        self.assertIn("not verified", doc["error"]["message"])
        self.assertIn("--insecure", doc["error"]["message"])
        self.assertEqual(mail_lines(f), [])

    def test_dsn_refused_when_not_offered(self):
        with fake(capabilities=self.CAPS) as f:
            code, doc, err, _ = fake_send(f.port, "--dsn-notify", "never")
        self.assertEqual(code, 80, (doc, err))
        self.assertEqual(doc["error"]["status"], "MW_E_EXTENSION")
        self.assertIn("DSN", doc["error"]["message"])
        self.assertEqual(mail_lines(f), [])

    EIGHT_BIT = ("From: alice@example.org\nTo: bob@example.org\n"
                 "Subject: eight\nMIME-Version: 1.0\n"
                 "Content-Type: text/plain; charset=utf-8\n"
                 "Content-Transfer-Encoding: 8bit\n\n"
                 "Gr\u00fc\u00dfe aus K\u00f6ln, and then a long line of "
                 "plain ASCII text, so that the part is mostly ASCII\n")

    def eight_bit_file(self):
        d = tempfile.mkdtemp(prefix="mw-ext-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "eight.eml")
        with open(path, "wb") as f:
            f.write(self.EIGHT_BIT.encode("utf-8"))
        return path

    def test_8bit_message_re_encoded_for_a_server_without_8bitmime(self):
        path = self.eight_bit_file()
        with fake(capabilities=("PIPELINING", "SIZE 10240000")) as f:
            code, out, err, _ = mwtest.run(
                ["send", "--server", "127.0.0.1:%d" % f.port,
                 "--tls-ca-file", CA, "--from", "alice@example.org", "--to",
                 "bob@example.org", "--message", path])
        self.assertEqual(code, 0, err)
        self.assertIn("re-encoded", err)
        (data,) = f.sessions[0].data
        self.assertTrue(all(b < 0x80 for b in data), data)
        self.assertIn(b"Content-Transfer-Encoding: quoted-printable", data)
        self.assertIn(b"Gr=C3=BC=C3=9Fe aus K=C3=B6ln", data)
        self.assertNotIn("BODY=", mail_lines(f)[0])

    def test_8bit_message_as_is_with_8bitmime(self):
        path = self.eight_bit_file()
        with fake(capabilities=self.CAPS) as f:
            code, out, err, _ = mwtest.run(
                ["send", "--server", "127.0.0.1:%d" % f.port,
                 "--tls-ca-file", CA, "--from", "alice@example.org", "--to",
                 "bob@example.org", "--message", path])
        self.assertEqual(code, 0, err)
        self.assertNotIn("re-encoded", err)
        (data,) = f.sessions[0].data
        self.assertIn("Gr\u00fc\u00dfe".encode("utf-8"), data)
        self.assertIn(" BODY=8BITMIME", mail_lines(f)[0])

    def test_msmtp_profile_dsn_keys(self):
        d = tempfile.mkdtemp(prefix="mw-ext-")
        self.addCleanup(shutil.rmtree, d, True)
        rc = os.path.join(d, "config")
        with fake(capabilities=self.CAPS + ("DSN",)) as f:
            with open(rc, "w") as out:
                out.write("account default\nhost 127.0.0.1\nport %d\n"
                          "from alice@example.org\ntls_trust_file %s\n"
                          "dsn_notify never\ndsn_return headers\n"
                          % (f.port, CA))
            os.chmod(rc, 0o600)
            code, out, err, _ = mwtest.run(["send", "-C", rc, "--to",
                                            "bob@example.org", "--body",
                                            "x\n"])
        self.assertEqual(code, 0, err)
        self.assertIn(" RET=HDRS", mail_lines(f)[0])
        rcpt = [l for l in f.sessions[0].lines if l.startswith("RCPT")]
        self.assertEqual(rcpt, ["RCPT TO:<bob@example.org> NOTIFY=NEVER "
                                "ORCPT=rfc822;bob@example.org"])

    def test_bad_dsn_values_are_usage_errors(self):
        for extra in (["--dsn-notify", "never,success"],
                      ["--dsn-ret", "body"],
                      ["--envid", "caf\u00e9"]):
            code, out, err, _ = mwtest.run(
                ["send", "--server", "127.0.0.1:1", "--from", "a@x.org",
                 "--to", "b@x.org", "--body", "x"] + extra)
            self.assertEqual(code, 64, (extra, err))
            self.assertIn(extra[0], err)


if __name__ == "__main__":
    unittest.main()

"""A server that hangs up (closes, or resets) at every phase of the
dialogue, over plaintext, STARTTLS and implicit TLS: the CLI, a host
program of the library, probe and doctor are never killed by a signal
(SIGPIPE above all: TLS writes to a closed peer), and each names what
happened with the right status: a temporary "connection closed" before
the end of the message, "delivery unknown" after the final dot without a
reply, and "sent" once the final 250 came, whatever happens to QUIT."""

import os
import shutil
import signal
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import fakesmtp  # noqa: E402
import mwtest  # noqa: E402
from test_doctor import DnsRig  # noqa: E402

CERT_DIR = CA = CERT = KEY = None
MESSAGE = None
QUIET_DNS = None  # doctor's sender-domain checks go here: NXDOMAIN
LIB_SEND = os.environ.get("MW_LIB_SEND")

# Phases each TLS mode goes through, in order.  "auth" is played where
# credentials may be sent (over TLS).
PHASES = {
    "none": ("greeting", "ehlo", "mail", "rcpt", "data", "body", "dot",
             "final", "quit"),
    "starttls": ("greeting", "ehlo", "starttls", "tls", "ehlo_tls", "auth",
                 "mail", "rcpt", "data", "body", "dot", "final", "quit"),
    "implicit": ("greeting", "ehlo", "auth", "mail", "rcpt", "data", "body",
                 "dot", "final", "quit"),
}
AFTER_DOT = ("dot",)
AFTER_FINAL = ("final", "quit")


def setUpModule():
    global CERT_DIR, CA, CERT, KEY, MESSAGE, QUIET_DNS
    CERT_DIR, (CA, CERT, KEY) = fakesmtp.temp_certs()
    QUIET_DNS = DnsRig([], zones=("example.test", "example.org"))
    QUIET_DNS.start()
    # Large enough that the client is still writing when the server goes.
    MESSAGE = os.path.join(CERT_DIR, "big.eml")
    with open(MESSAGE, "w") as f:
        f.write("From: alice@example.org\r\nTo: bob@example.org\r\n"
                "Subject: hangup\r\n\r\n")
        f.write(("x" * 70 + "\r\n") * 4000)


def tearDownModule():
    shutil.rmtree(CERT_DIR, ignore_errors=True)
    if QUIET_DNS:
        QUIET_DNS.stop()


def server(mode, phase, how):
    kw = dict(cert=CERT, key=KEY, hangup_at=phase, hangup_how=how,
              auth="PLAIN" if mode != "none" else None)
    if mode == "implicit":
        kw["implicit_tls"] = True
    if mode == "none":
        kw["starttls"] = False
    return fakesmtp.FakeSMTP(**kw)


def expected_status(phase, how):
    """The statuses a hang-up at phase may give (all temporary)."""
    if phase in AFTER_DOT:
        return ("MW_E_DELIVERY_UNKNOWN",)
    if phase == "body":
        # The kernel may have taken the whole message and the final dot
        # before the reset arrived: then the client cannot know.
        return ("MW_E_CLOSED", "MW_E_DELIVERY_UNKNOWN")
    if phase == "greeting" and how == "reset":
        # A reset racing the end of the TCP handshake is seen by connect.
        return ("MW_E_CLOSED", "MW_E_CONNECT")
    return ("MW_E_CLOSED",)


def creds(mode):
    return ("--user", "u", "--password-env", "PW") if mode != "none" else ()


def cases():
    """(mode, phase, how) for every phase of every mode.  Under a wrapper
    (the valgrind pass), each phase is played one way only, alternating,
    to keep that pass within its time: both ways run in the normal and
    sanitizer passes."""
    slow = bool(mwtest.WRAPPER)
    for mode, phases in PHASES.items():
        for i, phase in enumerate(phases):
            for j, how in enumerate(("close", "reset")):
                if not slow or (i + j) % 2 == 0:
                    yield mode, phase, how


class SendCLI(unittest.TestCase):
    def test_cli_at_every_phase(self):
        for mode, phase, how in cases():
            with self.subTest(mode=mode, phase=phase, how=how), \
                    server(mode, phase, how) as f:
                code, doc, err, _ = mwtest.run_json(
                    ["send", "--server", "127.0.0.1:%d" % f.port, "--tls",
                     mode, "--tls-ca-file", CA, "--from",
                     "alice@example.org", "--to", "bob@example.org",
                     "--message", MESSAGE, "--timeout", "5s",
                     "--greeting-timeout", "5s"] + list(creds(mode)),
                    env={"PW": "Hangup-pw-1"}, timeout=60)
                self.assertGreaterEqual(code, 0, "killed by signal %d: %s"
                                        % (-code, err))
                self.assertNotEqual(code, 128 + signal.SIGPIPE, err)
                if phase in AFTER_FINAL:
                    self.assertEqual(code, 0, (doc, err))
                    self.assertEqual(doc["message"]["delivery"], "accepted",
                                     doc)
                    continue
                self.assertEqual(code, 75, (doc, err))
                error = doc.get("error") or {}
                self.assertTrue(error.get("temporary"), doc)
                self.assertIn(error.get("status"), expected_status(phase, how),
                              doc)
                if phase in AFTER_DOT:
                    self.assertEqual(doc["message"]["delivery"], "unknown",
                                     doc)
                else:
                    self.assertNotIn("accepted", str(doc.get("message")))

class SendLibrary(unittest.TestCase):
    @unittest.skipUnless(LIB_SEND, "MW_LIB_SEND not set")
    def test_library_host_program_survives(self):
        """The host program keeps SIGPIPE's default (fatal) action: every
        call must return a status instead."""
        for mode, phase, how in cases():
            if phase == "auth":
                continue  # lib_send sends no credentials
            with self.subTest(mode=mode, phase=phase, how=how), \
                    server(mode, phase, how) as f:
                p = subprocess.run(
                    mwtest.command(LIB_SEND, "127.0.0.1:%d" % f.port, mode,
                                   CA, "1000000"),
                    capture_output=True, timeout=60,
                    restore_signals=True)
                out = p.stdout.decode()
                self.assertEqual(p.returncode, 0, "exit %d\n%s\n%s" % (
                    p.returncode, out, p.stderr.decode()))
                lines = dict(l.split(" ", 1) for l in out.splitlines())
                self.assertEqual(lines.get("quit"), "MW_OK", out)
                if phase in ("greeting", "ehlo", "starttls", "tls",
                             "ehlo_tls"):
                    self.assertIn(lines["connect"],
                                  expected_status(phase, how), out)
                    continue
                self.assertEqual(lines["connect"], "MW_OK", out)
                words = lines["send"].split()
                if phase in AFTER_FINAL:
                    self.assertEqual(words[0], "MW_OK", out)
                    continue
                self.assertIn(words[0], expected_status(phase, how), out)
                self.assertEqual(words[4], "1", out)  # temporary
                if phase in AFTER_DOT:
                    self.assertEqual(words[2], "2", out)  # UNKNOWN
                else:
                    self.assertNotEqual(words[2], "0", out)  # not ACCEPTED


class Probe(unittest.TestCase):
    def test_probe_survives(self):
        for mode in ("none", "starttls", "implicit"):
            for phase in ("greeting", "ehlo", "starttls", "tls", "ehlo_tls",
                          "quit"):
                if phase not in PHASES[mode]:
                    continue
                for how in ("close", "reset")[:1 if mwtest.WRAPPER else 2]:
                    with self.subTest(mode=mode, phase=phase, how=how), \
                            server(mode, phase, how) as f:
                        code, out, err, _ = mwtest.run(
                            ["probe", "127.0.0.1", "--ports", str(f.port),
                             "--tls-ca-file", CA, "--greeting-timeout",
                             "3s"], timeout=60)
                        self.assertGreaterEqual(code, 0, err)
                        self.assertNotEqual(code, 128 + signal.SIGPIPE, err)
                        self.assertIn(str(f.port), out + err)

class Doctor(unittest.TestCase):
    def test_doctor_survives(self):
        for mode, phase, how in cases():
            if phase in ("body", "dot", "final", "data"):
                continue  # doctor sends no message
            with self.subTest(mode=mode, phase=phase, how=how), \
                    server(mode, phase, how) as f:
                code, doc, err, _ = mwtest.run_json(
                    ["doctor", "127.0.0.1:%d" % f.port, "--tls", mode,
                     "--tls-ca-file", CA, "--greeting-timeout", "3s",
                     "--timeout", "5s", "--from", "alice@example.org",
                     "--to", "bob@example.org", "--dns-server",
                     QUIET_DNS.server]
                    + list(creds(mode)),
                    env={"PW": "Hangup-pw-1"}, timeout=90)
                self.assertGreaterEqual(code, 0, err)
                self.assertNotEqual(code, 128 + signal.SIGPIPE, err)
                self.assertTrue(doc["diagnosis"]["id"], doc)
                if phase != "quit":
                    self.assertNotEqual(code, 0, doc)


def send_json(f, *extra):
    return mwtest.run_json(
        ["send", "--server", "127.0.0.1:%d" % f.port, "--tls", "starttls",
         "--tls-ca-file", CA, "--from", "alice@example.org", "--to",
         "bob@example.org", "--to", "carol@example.org", "--subject", "t",
         "--body", "hello\n", "--timeout", "5s"] + list(extra))


NO_PIPELINING = ("SIZE 10240000", "8BITMIME", "ENHANCEDSTATUSCODES")


class Replies(unittest.TestCase):
    def test_421_inside_the_batch_is_reported(self):
        """A 421 anywhere in the transaction (inside a pipelined batch or
        not) ends it: reported with its code and text, temporary (75),
        never read and thrown away."""
        cases = [("MAIL", dict(mail_reply="421 4.3.2 shutting down now")),
                 ("RCPT", dict(rcpt_replies={
                     "carol@example.org": "421 4.7.0 too many errors"})),
                 ("DATA", dict(data_reply="421 4.3.0 queue full"))]
        for pipelining in (True, False):
            for verb, kw in cases:
                if not pipelining:
                    kw = dict(kw, capabilities=NO_PIPELINING)
                with self.subTest(verb=verb, pipelining=pipelining), \
                        fakesmtp.FakeSMTP(cert=CERT, key=KEY, **kw) as f:
                    code, doc, err, _ = send_json(f)
                self.assertEqual(code, 75, (doc, err))
                e = doc["error"]
                self.assertEqual(e["status"], "MW_E_CLOSED", doc)
                self.assertEqual(e["reply_code"], 421, doc)
                self.assertTrue(e["temporary"], doc)
                self.assertIn(verb, e["message"], doc)
                self.assertIn(e["server_text"].split()[0],
                              ("shutting", "too", "queue"), doc)
                self.assertEqual(f.sessions[0].data, [])

    def test_421_after_the_dot_is_not_delivered(self):
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY,
                               final_reply="421 4.3.0 try again") as f:
            code, doc, err, _ = send_json(f)
        self.assertEqual(code, 75, (doc, err))
        self.assertEqual(doc["message"]["delivery"], "refused", doc)
        self.assertEqual(doc["error"]["reply_code"], 421, doc)

    def test_any_2xx_final_reply_is_accepted(self):
        for reply in ("200 2.0.0 fine", "250 2.0.0 Ok: queued as X1",
                      "251 2.1.5 will forward"):
            with self.subTest(reply=reply), \
                    fakesmtp.FakeSMTP(cert=CERT, key=KEY,
                                      final_reply=reply) as f:
                code, doc, err, _ = send_json(f)
            self.assertEqual(code, 0, (doc, err))
            self.assertEqual(doc["message"]["delivery"], "accepted", doc)
            self.assertEqual(doc["message"]["final_code"],
                             int(reply[:3]), doc)

    def test_3xx_final_reply_is_delivery_unknown(self):
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY,
                               final_reply="354 more please") as f:
            code, doc, err, _ = send_json(f)
        self.assertEqual(code, 75, (doc, err))
        self.assertEqual(doc["error"]["status"], "MW_E_DELIVERY_UNKNOWN", doc)
        self.assertEqual(doc["message"]["delivery"], "unknown", doc)

    def test_rcpt_251_and_252_are_accepted(self):
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY, rcpt_replies={
                "bob@example.org": "251 2.1.5 will forward",
                "carol@example.org": "252 2.1.5 cannot verify, will try"}) \
                as f:
            code, doc, err, _ = send_json(f)
        self.assertEqual(code, 0, (doc, err))
        self.assertEqual([r["accepted"] for r in doc["recipients"]],
                         [True, True], doc)
        self.assertEqual(len(f.sessions[0].data), 1)

    def test_3xx_to_rcpt_is_a_protocol_error(self):
        for pipelining in (True, False):
            kw = {} if pipelining else dict(capabilities=NO_PIPELINING)
            with self.subTest(pipelining=pipelining), \
                    fakesmtp.FakeSMTP(cert=CERT, key=KEY, rcpt_replies={
                        "bob@example.org": "354 go ahead"}, **kw) as f:
                code, doc, err, _ = send_json(f)
            self.assertEqual(code, 76, (doc, err))
            self.assertEqual(doc["error"]["status"], "MW_E_PROTOCOL", doc)
            self.assertEqual(f.sessions[0].data, [])


if __name__ == "__main__":
    unittest.main()

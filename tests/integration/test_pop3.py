"""The library's POP3 client (proto/pop3*.c, through tests/integration/
pop3_check.c) against the rig's real Dovecot (CTest fixture `rig`): a
message sent through the rig's SMTP comes back byte-identical over POP3 in
each security mode (implicit TLS on the pop3s port, STLS on the pop3 port,
plaintext only when explicitly allowed), a pipelined batch of RETRs gets
every message, DELE then QUIT removes a message, a wrong password is
MW_E_AUTH with Dovecot's [AUTH] response code, and an untrusted certificate
stops the session before any credential is sent."""

import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import fakesmtp  # noqa: E402
import mwtest  # noqa: E402
import rigutil  # noqa: E402

ENV = None
POP3_CHECK = os.environ.get("MW_POP3_CHECK")

ALICE, BOB = "alice@example.test", "bob@example.test"
# Lines that must be dot-stuffed on the wire and unstuffed on the way
# back, a lone dot, and a long line.
BODY = (b"first line\n.starts with a dot\n..two dots\n.\n" + b"x" * 990 +
        b"\nlast line\n")


def setUpModule():
    global ENV
    path = os.environ.get("MW_RIG_ENV")
    if not path or not os.path.exists(path):
        raise unittest.SkipTest("no rig: MW_RIG_ENV is not set (run through "
                                "ctest, which starts the rig)")
    if not POP3_CHECK:
        raise unittest.SkipTest("MW_POP3_CHECK is not set")
    ENV = rigutil.load_env(path)


def port(name):
    return int(ENV["RIG_%s_PORT" % name])


def send(subject, body=BODY):
    """Submits one message for bob through the rig's SMTP (plain port)."""
    raw = (b"From: alice@example.test\nTo: bob@example.test\nSubject: " +
           subject.encode() + b"\n\n" + body)
    with tempfile.NamedTemporaryFile(delete=False, suffix=".eml") as f:
        f.write(raw)
    try:
        code, out, err, _ = mwtest.run(
            ["send", "--server", "127.0.0.1:%d" % port("PLAIN"), "--tls",
             "none", "--from", ALICE, "--to", BOB, "--message", f.name])
    finally:
        os.unlink(f.name)
    assert code == 0, err


def pop3(port_name, mode, *actions, password=None, ca=None, user=BOB,
         env=None):
    """Runs pop3_check; returns (exit code, {key: [values]}, stdout).
    port_name: a rig port's name, or a port number."""
    if isinstance(port_name, int):
        address = "127.0.0.1:%d" % port_name
    else:
        address = "127.0.0.1:%d" % port(port_name)
    full = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    full["MW_PASSWORD"] = (password if password is not None
                           else ENV["RIG_PASS2"])
    full.update(env or {})
    cmd = mwtest.command(POP3_CHECK, address, mode,
                         ca or ENV["RIG_CA_FILE"], user, *actions)
    p = subprocess.run(cmd, env=full, capture_output=True, timeout=120)
    out = p.stdout.decode("utf-8", "replace")
    facts = {}
    for line in out.splitlines():
        key, _, value = line.partition(" ")
        facts.setdefault(key, []).append(value)
    return p.returncode, facts, out + p.stderr.decode("utf-8", "replace")


class Pop3Test(unittest.TestCase):
    def setUp(self):
        rigutil.clear_mailbox(ENV, "bob")
        self.tmp = tempfile.mkdtemp(prefix="mw-pop3-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def expected(self, count=1):
        """The messages as Dovecot serves them: the Maildir files with
        CRLF line endings (checked against an independent client)."""
        raws = rigutil.wait_for_mail(ENV, "bob", count=count,
                                     timeout=mwtest.bound(30))
        want = [r.replace(b"\n", b"\r\n") for r in raws]
        self.assertEqual(rigutil.pop3_fetch_all(ENV, BOB, ENV["RIG_PASS2"]),
                         want)
        return want

    def read(self, name):
        with open(os.path.join(self.tmp, name), "rb") as f:
            return f.read()


class SecurityModes(Pop3Test):
    """Attack: a client that reads mail over an unprotected or unverified
    connection.  Safe: every mode gives the same bytes; credentials go only
    over TLS unless plaintext is explicitly allowed."""

    def retrieve(self, port_name, mode, env=None):
        send("mode " + mode)
        (want,) = self.expected()
        out = os.path.join(self.tmp, "m1")
        code, facts, text = pop3(port_name, mode, "list",
                                 "retr:1:" + out, "quit", env=env)
        self.assertEqual(code, 0, text)
        self.assertEqual(len(facts["message"]), 1, text)
        number, size, uid = facts["message"][0].split()
        self.assertEqual(int(size), len(want))
        self.assertNotEqual(uid, "-")
        self.assertEqual(self.read("m1"), want)
        headers, body = rigutil.split_message(want)
        self.assertEqual(body, BODY.replace(b"\n", b"\r\n"))
        return facts

    def test_implicit_tls_on_the_pop3s_port(self):
        facts = self.retrieve("POP3S", "implicit")
        self.assertEqual(facts["encrypted"], ["yes"])

    def test_stls_on_the_pop3_port(self):
        facts = self.retrieve("POP3", "starttls")
        self.assertEqual(facts["encrypted"], ["yes"])

    def test_capabilities_asked_again_after_tls(self):
        code, facts, text = pop3("POP3", "starttls", "quit",
                                 env={"MW_TRACE": "1"})
        self.assertEqual(code, 0, text)
        sent = [l[len("trace > "):] for l in text.splitlines()
                if l.startswith("trace > ")]
        self.assertEqual(sent[:3], ["CAPA", "STLS", "CAPA"], text)
        self.assertIn("PASS <redacted>" if "USER bob@example.test" in sent
                      else "AUTH SCRAM-SHA-256 <redacted>", sent)
        self.assertNotIn(ENV["RIG_PASS2"], text)

    def test_auto_means_stls_required_off_port_995(self):
        facts = self.retrieve("POP3", "auto")
        self.assertEqual(facts["encrypted"], ["yes"])

    def test_plaintext_needs_explicit_permission(self):
        code, facts, text = pop3("POP3", "none", "list")
        self.assertEqual(code, 1, text)
        self.assertEqual(facts["connect"], ["MW_E_INSECURE"], text)
        # Allowed: Dovecot takes it from loopback (it counts a connection
        # from the same address as secured, disable_plaintext_auth or not).
        facts = self.retrieve("POP3", "none", env={"MW_ALLOW_INSECURE": "1"})
        self.assertEqual(facts["encrypted"], ["no"])

    def test_sasl_mechanisms(self):
        send("sasl")
        self.expected()
        for mech in ("SCRAM-SHA-256", "PLAIN", "CRAM-MD5"):
            with self.subTest(mech=mech):
                code, facts, text = pop3("POP3S", "implicit", "stat", "quit",
                                         env={"MW_AUTH_MECHS": mech})
                self.assertEqual(code, 0, text)
                self.assertEqual(facts["mechanism"], [mech])
        # By default the strongest Dovecot offers.
        code, facts, text = pop3("POP3S", "implicit", "quit")
        self.assertEqual(facts["mechanism"], ["SCRAM-SHA-256"], text)


class Mailbox(Pop3Test):
    def test_pipelined_batch_gets_every_message(self):
        for i in range(5):
            send("batch %d" % i, body=b"message %d\n.\n..\n" % i)
        want = self.expected(5)
        code, facts, text = pop3("POP3S", "implicit", "many:" + self.tmp,
                                 "quit")
        self.assertEqual(code, 0, text)
        got = [self.read(str(n)) for n in range(1, 6)]
        self.assertEqual(sorted(got), sorted(want))

    def test_top(self):
        send("top")
        (want,) = self.expected()
        out = os.path.join(self.tmp, "t")
        code, facts, text = pop3("POP3S", "implicit", "top:1:0:" + out,
                                 "quit")
        self.assertEqual(code, 0, text)
        headers, _ = rigutil.split_message(want)
        self.assertEqual(self.read("t"), headers + b"\r\n")

    def test_delete_takes_effect_at_quit(self):
        send("delete me")
        self.expected()
        # Without QUIT (the client frees the session): nothing deleted.
        code, facts, text = pop3("POP3S", "implicit", "dele:1")
        self.assertEqual(code, 0, text)
        code, facts, text = pop3("POP3S", "implicit", "stat", "quit")
        self.assertEqual(facts["stat"][0].split()[0], "1", text)
        # DELE then QUIT: gone.
        code, facts, text = pop3("POP3S", "implicit", "dele:1", "quit")
        self.assertEqual(code, 0, text)
        self.assertEqual(facts["quit"], ["MW_OK"])
        code, facts, text = pop3("POP3S", "implicit", "stat", "list", "quit")
        self.assertEqual(facts["stat"][0].split()[0], "0", text)
        self.assertNotIn("message", facts)

    def test_retr_of_a_missing_message_keeps_the_session(self):
        code, facts, text = pop3("POP3S", "implicit", "retr:7:/dev/null")
        self.assertEqual(facts["retr"], ["MW_E_REJECTED"], text)


class Failures(Pop3Test):
    def test_wrong_password_is_auth_with_dovecots_code(self):
        secret = "not-the-password-77"
        for mechs in ("", "PLAIN"):
            with self.subTest(mechs=mechs):
                code, facts, text = pop3("POP3S", "implicit", "stat",
                                         password=secret,
                                         env={"MW_AUTH_MECHS": mechs})
                self.assertEqual(code, 1, text)
                self.assertEqual(facts["connect"], ["MW_E_AUTH"], text)
                self.assertEqual(facts["code"], ["AUTH"], text)
                self.assertEqual(facts["temporary"], ["0"])
                self.assertNotIn(secret, text)

    def test_untrusted_certificate_stops_before_credentials(self):
        for port_name, mode in (("POP3S", "implicit"), ("POP3", "starttls")):
            with self.subTest(mode=mode):
                code, facts, text = pop3(port_name, mode, "stat",
                                         ca=ENV["RIG_OTHER_CA_FILE"])
                self.assertEqual(code, 1, text)
                self.assertEqual(facts["connect"], ["MW_E_CERT"], text)
                self.assertEqual(facts["mechanism"], ["-"])

    def test_tls_mode_mismatch_is_named(self):
        # Implicit TLS on the STLS port: the server answers in plaintext.
        code, facts, text = pop3("POP3", "implicit", "stat")
        self.assertEqual(facts["connect"], ["MW_E_TLS"], text)
        self.assertIn("STLS", facts["message"][0])
        # An SMTP port given to the POP3 client.
        code, facts, text = pop3("PLAIN", "none", "stat")
        self.assertEqual(facts["connect"], ["MW_E_PROTOCOL"], text)
        self.assertIn("speaks SMTP", facts["message"][0])


class TlsVersionFallback(unittest.TestCase):
    """A POP3S server that can do only TLS 1.2 (Python's ssl, certificates
    of fakesmtp.make_test_certs): a minimum of 1.3 falls back once to
    1.2, loudly, unless strict."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="mw-pop3tls-")
        self.ca, cert, key = fakesmtp.make_test_certs(self.tmp)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.stop = False
        self.thread = threading.Thread(target=self.serve, args=(ctx,),
                                       daemon=True)
        self.thread.start()

    def serve(self, ctx):
        while not self.stop:
            try:
                raw, _ = self.sock.accept()
            except OSError:
                return
            try:
                with ctx.wrap_socket(raw, server_side=True) as c:
                    f = c.makefile("rb")
                    c.sendall(b"+OK tls12 only\r\n")
                    for line in f:
                        cmd = line.strip().upper()
                        if cmd == b"CAPA":
                            c.sendall(b"+OK\r\nUSER\r\n.\r\n")
                        elif cmd.startswith((b"USER ", b"PASS ")):
                            c.sendall(b"+OK\r\n")
                        elif cmd == b"QUIT":
                            c.sendall(b"+OK bye\r\n")
                            break
                        else:
                            c.sendall(b"-ERR no\r\n")
            except (OSError, ssl.SSLError):
                pass

    def tearDown(self):
        self.stop = True
        self.sock.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_fallback_from_1_3_unless_strict(self):
        code, facts, text = pop3(self.port, "implicit", "quit",
                                 ca=self.ca, env={"MW_TLS_MIN": "1.3",
                                                  "MW_TRACE": "1"})
        self.assertEqual(code, 0, text)
        self.assertIn("cannot do TLS 1.3", text)
        code, facts, text = pop3(self.port, "implicit", "quit",
                                 ca=self.ca, env={"MW_TLS_MIN": "1.3",
                                                  "MW_TLS_STRICT": "1"})
        self.assertEqual(facts["connect"], ["MW_E_TLS"], text)


if __name__ == "__main__":
    unittest.main()

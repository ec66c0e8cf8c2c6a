"""Secrets never come back out (issue 9, item 4).

A server may quote what the client sent in its reply: the SASL payload of
PLAIN, LOGIN, XOAUTH2 or OAUTHBEARER, raw (base64) or decoded.  mailwire
must cut the password, the token and every payload it sent out of the
server's text before it reaches the trace, the JSON, an error message or
the library's mw_error.  And a wrong file given as a profile (-C) or as a
password file must be named in the error, never quoted."""

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import fakesmtp  # noqa: E402
import mwtest  # noqa: E402

CERT_DIR = None
CA = CERT = KEY = None

PASSWORD = "Fake-pw-7731-Secret"
TOKEN = "ya29.Fake-Token_7731-OAuth"
USER = "user@example.org"
ECHOES = ("raw", "decoded", "decoded-text")
SECRET_ECHO = os.environ.get("MW_SECRET_ECHO", "secret_echo")


def setUpModule():
    global CERT_DIR, CA, CERT, KEY
    CERT_DIR, (CA, CERT, KEY) = fakesmtp.temp_certs()


def tearDownModule():
    shutil.rmtree(CERT_DIR, ignore_errors=True)


def b64(data):
    if isinstance(data, str):
        data = data.encode("latin-1")
    return base64.b64encode(data).decode()


def aligned_b64(secret):
    """The base64 characters that depend on the secret alone, at each of
    the three byte offsets it can have inside a larger payload."""
    out = []
    raw = secret.encode()
    for k in range(3):
        enc = base64.b64encode(b"\0" * k + raw).decode().rstrip("=")
        first = (8 * k + 5) // 6
        end = (8 * (k + len(raw))) // 6
        out.append(enc[first:end])
    return out


def payloads_sent(sess):
    """The base64 SASL payloads the client sent in a fake session."""
    sent = []
    verbs = ("EHLO", "HELO", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "QUIT",
             "AUTH", "STARTTLS")
    for i, line in enumerate(sess.lines):
        if line.upper().startswith("AUTH "):
            words = line.split(" ")
            if len(words) > 2:
                sent.append(words[2])
            for later in sess.lines[i + 1:]:
                if later.split(" ")[0].upper() in verbs:
                    break
                sent.append(later)
    return [p for p in sent if len(p) >= 8]


def needles(secret, sess):
    """Every form of the secret that must not come back out: the secret,
    its base64 at every alignment, each payload sent, and each payload's
    decoded text as a trace or JSON could render it."""
    out = [secret, b64(secret)] + aligned_b64(secret)
    for p in payloads_sent(sess):
        if secret.encode() not in base64.b64decode(p):
            continue  # LOGIN's user name: not a secret
        out.append(p)
        raw = base64.b64decode(p)
        for ctl in ("?", " ", ""):
            out.append("".join(chr(b) if 0x20 <= b < 0x7f else ctl
                               for b in raw))
        out.append(json.dumps(raw.decode("latin-1"))[1:-1])
    return out


def token_cmd(directory):
    """A --oauth2-token-cmd that prints TOKEN (not on any command line)."""
    path = os.path.join(directory, "token")
    with open(path, "w") as f:
        f.write(TOKEN + "\n")
    return "cat " + path


class EchoedPayload(unittest.TestCase):
    """Attack: the server (hostile, or a buggy one that logs back) quotes
    the client's SASL payload in its 535.  Safe: the secret and its base64
    are in no output.  Why: transcripts and JSON results get pasted into
    tickets and logs; a 535 echo would publish the password."""

    def run_cli(self, mech, echo, secret_kind):
        with tempfile.TemporaryDirectory() as tmp:
            args = ["send", "--server", None, "--from", "alice@example.org",
                    "--to", "bob@example.org", "--body", "hi",
                    "--tls-ca-file", CA, "--user", USER, "--auth", mech,
                    "--trace", "--json"]
            env = {}
            if secret_kind == "password":
                args += ["--password-env", "PW"]
                env["PW"] = PASSWORD
            else:
                args += ["--oauth2-token-cmd", token_cmd(tmp)]
            with fakesmtp.FakeSMTP(cert=CERT, key=KEY,
                                   auth="PLAIN LOGIN XOAUTH2 OAUTHBEARER",
                                   echo_auth=echo) as f:
                args[2] = "127.0.0.1:%d" % f.port
                code, out, err, _ = mwtest.run(args, env=env)
        return code, out, err, f.sessions[0]

    def check(self, mech, secret_kind):
        secret = PASSWORD if secret_kind == "password" else TOKEN
        for echo in ECHOES:
            with self.subTest(echo=echo):
                code, out, err, sess = self.run_cli(mech, echo, secret_kind)
                self.assertEqual(sess.auth_mechanism, mech)
                self.assertTrue(payloads_sent(sess), sess.lines)
                # The session failed at AUTH: 77, or 76 when the echo put
                # a NUL or a control byte into the reply.
                self.assertIn(code, (76, 77), err)
                doc = json.loads(out)
                self.assertEqual(doc["status"], "failed")
                for n in needles(secret, sess):
                    self.assertNotIn(n, out, "in stdout (JSON): %r" % n)
                    self.assertNotIn(n, err, "in stderr/trace: %r" % n)
                # The server's echo did reach the trace, scrubbed: the
                # test is not passing because nothing was echoed.
                echoed = [l for l in err.splitlines()
                          if "<- 535" in l or "malformed reply" in l]
                self.assertTrue(echoed, err)
                self.assertIn("<redacted>", echoed[0])
                if code == 77:
                    self.assertIn("<redacted>", doc["error"]["message"])
                    self.assertIn("<redacted>", doc["error"]["server_text"])
                    self.assertEqual(doc["error"]["reply_code"], 535)
                    self.assertEqual(doc["error"]["enhanced"], "5.7.8")

    def test_plain(self):
        """PLAIN: "\\0user\\0password" in base64, in the AUTH line."""
        self.check("PLAIN", "password")

    def test_login(self):
        """LOGIN: the password alone, in base64, after the second 334."""
        self.check("LOGIN", "password")

    def test_xoauth2(self):
        """XOAUTH2: "user=..\\1auth=Bearer TOKEN\\1\\1" in base64."""
        self.check("XOAUTH2", "token")

    def test_oauthbearer(self):
        """OAUTHBEARER: the gs2 header, then auth=Bearer TOKEN, in base64."""
        self.check("OAUTHBEARER", "token")

    def test_password_echoed_after_authentication(self):
        """Attack: the password comes back later, in the MAIL reply.
        Safe: the scrub list lives as long as the session, not only during
        AUTH."""
        with fakesmtp.FakeSMTP(
                cert=CERT, key=KEY, auth="PLAIN",
                mail_reply="550 5.7.1 sender refused, you sent %s (%s)" %
                (PASSWORD, b64(PASSWORD))) as f:
            code, out, err, _ = mwtest.run(
                ["send", "--server", "127.0.0.1:%d" % f.port, "--from",
                 "alice@example.org", "--to", "bob@example.org", "--body",
                 "hi", "--tls-ca-file", CA, "--user", USER,
                 "--password-env", "PW", "--trace", "--json"],
                env={"PW": PASSWORD})
        self.assertNotEqual(code, 0)
        for n in needles(PASSWORD, f.sessions[0]):
            self.assertNotIn(n, out)
            self.assertNotIn(n, err)
        doc = json.loads(out)
        self.assertEqual(doc["error"]["reply_code"], 550)
        self.assertIn("sender refused, you sent <redacted> (<redacted>)",
                      doc["error"]["server_text"])

    def test_unrelated_text_is_left_alone(self):
        """Safe, and no more: a 535 that quotes nothing keeps its text
        word for word (the scrub only cuts what was sent)."""
        reply = "535 5.7.8 Error: authentication failed: UGFzc3dvcmQ6 bad"
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY, auth="PLAIN",
                               auth_reply=reply) as f:
            code, doc, err, _ = mwtest.run_json(
                ["send", "--server", "127.0.0.1:%d" % f.port, "--from",
                 "alice@example.org", "--to", "bob@example.org", "--body",
                 "hi", "--tls-ca-file", CA, "--user", USER,
                 "--password-env", "PW"], env={"PW": PASSWORD})
        self.assertEqual(code, 77)
        self.assertEqual(doc["error"]["server_text"],
                         "Error: authentication failed: UGFzc3dvcmQ6 bad")


class DoctorReport(unittest.TestCase):
    def test_doctor_report_is_scrubbed(self):
        """doctor quotes the server's refusal in its rows and diagnosis:
        the echoed payload is cut there too, in text and in JSON."""
        for echo in ECHOES:
            for json_flag in ([], ["--json"]):
                with self.subTest(echo=echo, json=bool(json_flag)):
                    with fakesmtp.FakeSMTP(cert=CERT, key=KEY,
                                           auth="PLAIN LOGIN",
                                           echo_auth=echo) as f:
                        code, out, err, _ = mwtest.run(
                            ["doctor", "127.0.0.1:%d" % f.port,
                             "--tls-ca-file", CA, "--user", USER,
                             "--password-env", "PW", "--auth", "PLAIN"]
                            + json_flag, env={"PW": PASSWORD})
                    self.assertNotEqual(code, 0)
                    # doctor may open more connections than the one
                    # that authenticated: look for every payload sent.
                    authed = [x for x in f.sessions if x.auth_mechanism]
                    self.assertTrue(authed)
                    for sess in authed:
                        self.assertEqual(sess.auth_mechanism, "PLAIN")
                        for n in needles(PASSWORD, sess):
                            self.assertNotIn(n, out)
                            self.assertNotIn(n, err)
                    if echo != "decoded":
                        self.assertIn("<redacted>", out)


class LibraryErrorObject(unittest.TestCase):
    """The same attack against a program using libmailwire directly
    (tests/integration/secret_echo.c): mw_error's message and server text,
    and every trace event, are scrubbed too."""

    def run_lib(self, mech, echo, env):
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY,
                               auth="PLAIN LOGIN XOAUTH2 OAUTHBEARER",
                               echo_auth=echo) as f:
            p = subprocess.run(
                mwtest.command(SECRET_ECHO, "127.0.0.1:%d" % f.port, CA,
                               mech, USER),
                env=dict(env, PATH=os.environ.get("PATH", "/usr/bin:/bin")),
                capture_output=True, timeout=60)
        return p, f.sessions[0]

    def test_every_mechanism_and_echo(self):
        cases = [("PLAIN", {"MW_PASSWORD": PASSWORD}, PASSWORD),
                 ("LOGIN", {"MW_PASSWORD": PASSWORD}, PASSWORD),
                 ("XOAUTH2", {"MW_TOKEN": TOKEN}, TOKEN),
                 ("OAUTHBEARER", {"MW_TOKEN": TOKEN}, TOKEN)]
        for mech, env, secret in cases:
            for echo in ECHOES:
                with self.subTest(mech=mech, echo=echo):
                    p, sess = self.run_lib(mech, echo, env)
                    out = p.stdout.decode("latin-1")
                    self.assertEqual(p.returncode, 0,
                                     out + p.stderr.decode("latin-1"))
                    self.assertEqual(sess.auth_mechanism, mech)
                    for n in needles(secret, sess):
                        self.assertNotIn(n, out)
                    # The echo reached the library, scrubbed.
                    echoed = [l for l in out.splitlines()
                              if l.startswith("trace 2: 535")]
                    self.assertTrue(echoed, out)
                    self.assertIn("<redacted>", echoed[0])
                    if echo != "decoded":
                        msg = [l for l in out.splitlines()
                               if l.startswith("message ")][0]
                        self.assertIn("<redacted>", msg)
                        self.assertIn("status MW_E_AUTH", out)
                        self.assertIn("reply 535 5.7.8", out)
                        text = [l for l in out.splitlines()
                                if l.startswith("server_text ")][0]
                        self.assertIn("<redacted>", text)


# A line such as /etc/shadow holds: what a wrong -C or --password-file
# would point at.
SHADOW_LINE = "root:$6$Zx9Fake$SecretHashValue7731abcdef:19000:0:99999:7:::"
SHADOW_SECRET = "SecretHashValue7731"


class WrongFiles(unittest.TestCase):
    """Attack: a mistyped -C or --password-file names a file full of
    secrets (/etc/shadow, an SSH key).  Safe: the error names the file,
    the key and the line, and never quotes the file.  Why: the message
    goes to a terminal, a log, a CI transcript."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mw-secrets-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, name, text, mode=0o600):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def send(self, *extra, env=None):
        return mwtest.run(["send", "--from", "a@example.org", "--to",
                           "b@example.org", "--body", "hi"] + list(extra),
                          env=env or {})

    def assert_quiet(self, out, err, *secrets):
        for s in secrets:
            self.assertNotIn(s, out)
            self.assertNotIn(s, err)

    def test_shadow_file_as_profile(self):
        path = self.write("shadow", SHADOW_LINE + "\ndaemon:*:19000::::::\n")
        for json_flag in ([], ["--json"]):
            code, out, err, _ = self.send("-C", path, *json_flag)
            self.assertEqual(code, 78, out + err)
            self.assert_quiet(out, err, SHADOW_SECRET, "root:", "$6$")
            self.assertIn(path + ":1:", out + err)

    def test_unknown_key_close_to_a_known_one_is_named(self):
        """A typo is still named, with the key it resembles (keys are
        not secrets; lines that are not settings are not quoted)."""
        path = self.write("profile",
                          "account work\nhost 127.0.0.1\npasword %s\n"
                          % SHADOW_SECRET)
        code, out, err, _ = self.send("-C", path)
        self.assertEqual(code, 78, err)
        self.assertIn(path + ":3:", err)
        self.assertIn("'pasword'", err)
        self.assertIn("password", err)
        self.assert_quiet(out, err, SHADOW_SECRET)

    def test_bad_value_is_not_quoted(self):
        """A bad value is named by its key and line, not shown."""
        for key, value in (("tls_mode", "Secret7731Mode"),
                           ("connect_timeout", "Secret7731s"),
                           ("host", "Secret7731\nport 99999999")):
            with self.subTest(key=key):
                path = self.write("profile", "account work\n%s %s\n"
                                  % (key, value))
                code, out, err, _ = self.send("-C", path)
                self.assertEqual(code, 78, err)
                self.assertIn(path + ":2:", err)
                self.assertIn("'%s'" % key, err)
                self.assert_quiet(out, err, "Secret7731")

    def test_password_file_errors_name_the_file_only(self):
        for content in (SHADOW_LINE + "\n", "\n" + SHADOW_LINE + "\n",
                        "Secret7731\x01withcontrol\n"):
            with self.subTest(content=content[:10]):
                path = self.write("pw", content)
                code, out, err, _ = self.send(
                    "--server", "127.0.0.1:9", "--user", "u",
                    "--password-file", path, "--connect-timeout", "2s")
                self.assertNotEqual(code, 0)
                self.assert_quiet(out, err, SHADOW_SECRET, "Secret7731",
                                  "root:")


if __name__ == "__main__":
    unittest.main(verbosity=2)

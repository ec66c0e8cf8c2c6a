"""The SASL driver (lib/proto/sasl_driver.c) through the SMTP client, end to
end against the scriptable fake server: the rules the driver adds for
every protocol, seen on the wire.

- an initial response that would make the AUTH command longer than SMTP's
  512 octets goes after an empty 334 instead (RFC 4954 section 4);
- a challenge that is not base64 cancels the exchange with "*";
- a server that keeps challenging is refused after 16 rounds, and the
  exchange is cancelled.
In each case no mail command follows a failed exchange and no secret
reaches the output.
"""

import base64
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import fakesmtp  # noqa: E402
import mwtest  # noqa: E402

CERT_DIR = CA = CERT = KEY = None
PASSWORD = "Driver-pw-5521"


def setUpModule():
    global CERT_DIR, CA, CERT, KEY
    CERT_DIR, (CA, CERT, KEY) = fakesmtp.temp_certs()


def tearDownModule():
    shutil.rmtree(CERT_DIR, ignore_errors=True)


def send_args(port, *extra):
    return ["send", "--server", "127.0.0.1:%d" % port, "--tls", "starttls",
            "--tls-ca-file", CA, "--from", "alice@example.org", "--to",
            "bob@example.org", "--subject", "sasl", "--body", "hello\n",
            "--trace"] + list(extra)


def server(**kw):
    return fakesmtp.FakeSMTP(cert=CERT, key=KEY, **kw)


def mail_commands(sess):
    return [l for l in sess.lines
            if l.split(" ", 1)[0].upper() in ("MAIL", "RCPT", "DATA")]


class InitialResponse(unittest.TestCase):
    def test_a_short_one_goes_on_the_command_line(self):
        """PLAIN: "AUTH PLAIN <base64>" in one line, as before."""
        with server(auth="PLAIN") as f:
            code, doc, err, _ = mwtest.run_json(
                send_args(f.port, "--user", "u@example.org",
                          "--password-env", "PW"), env={"PW": PASSWORD})
        self.assertEqual(code, 0, err)
        auth = [l for l in f.sessions[0].lines if l.startswith("AUTH")]
        self.assertEqual(len(auth), 1)
        self.assertEqual(auth[0].split(" ")[:2], ["AUTH", "PLAIN"])
        self.assertEqual(base64.b64decode(auth[0].split(" ")[2]),
                         b"\0u@example.org\0" + PASSWORD.encode())
        self.assertIn("AUTH PLAIN <redacted>", err)

    def test_a_long_one_answers_an_empty_challenge(self):
        """Fault: an OAuth token long enough that "AUTH XOAUTH2 <response>"
        passes 512 octets.  Safe: "AUTH XOAUTH2" alone, the response after
        the server's empty 334, shown as <redacted>; the token is in no
        output.  Why: RFC 4954 section 4 forbids the initial response
        there, and servers cut long command lines (Postfix at 2048)."""
        token = "ya29." + "T0ken-" * 100
        with server(auth="XOAUTH2") as f:
            code, out, err, _ = mwtest.run(
                send_args(f.port, "--user", "u@example.org",
                          "--oauth2-token-cmd", "echo " + token, "--json"))
        self.assertEqual(code, 0, err)
        lines = f.sessions[0].lines
        i = lines.index("AUTH XOAUTH2")
        self.assertIn(b"auth=Bearer " + token.encode(),
                      base64.b64decode(lines[i + 1]))
        self.assertGreater(len(lines[i + 1]), 512)
        self.assertNotIn(token, out + err)
        self.assertIn("AUTH XOAUTH2\n", err.replace("\r", ""))


class Challenges(unittest.TestCase):
    def test_a_challenge_that_is_not_base64_cancels(self):
        """Attack: a 334 whose text is not base64 ("Username:").  Safe:
        the client answers "*" (RFC 4954 section 4), fails with MW_E_AUTH
        naming the reason, and sends no mail command even though the
        server then says 235.  Why: a client must not guess what an
        undecodable challenge meant."""
        with server(auth="LOGIN", auth_prompts=["334 Username:"]) as f:
            code, doc, err, _ = mwtest.run_json(
                send_args(f.port, "--user", "u@example.org",
                          "--password-env", "PW"), env={"PW": PASSWORD})
        self.assertNotEqual(code, 0)
        self.assertEqual(doc["error"]["status"], "MW_E_AUTH")
        self.assertIn("not valid base64", doc["error"]["message"])
        sess = f.sessions[0]
        self.assertEqual(sess.lines[sess.lines.index("AUTH LOGIN") + 1], "*")
        self.assertEqual(mail_commands(sess), [])
        self.assertIsNone(doc["server"]["auth_mechanism"])
        self.assertNotIn(PASSWORD, err + str(doc))

    def test_endless_challenges_stop_after_16_rounds(self):
        """Attack: a server that answers every response with another 334.
        Safe: 16 answers, then "*" and MW_E_PROTOCOL naming the limit, no
        mail command.  Why: an unbounded exchange is a hang."""
        with server(auth="XOAUTH2", auth_prompts=["334 "] * 40) as f:
            code, doc, err, _ = mwtest.run_json(
                send_args(f.port, "--user", "u@example.org",
                          "--oauth2-token-cmd", "echo ya29.short"))
        self.assertNotEqual(code, 0)
        self.assertEqual(doc["error"]["status"], "MW_E_PROTOCOL")
        self.assertIn("past 16 rounds", doc["error"]["message"])
        sess = f.sessions[0]
        i = next(n for n, l in enumerate(sess.lines) if l.startswith("AUTH"))
        answers = sess.lines[i + 1:]
        self.assertEqual(answers[:16], [""] * 16)
        self.assertEqual(answers[16], "*")
        self.assertEqual(mail_commands(sess), [])


if __name__ == "__main__":
    unittest.main()

"""SASL mutual authentication (issue 16): a server that skips its proof is
not authenticated.

SCRAM (RFC 5802) and DIGEST-MD5 (RFC 2831) authenticate the server too:
its final message carries a signature (v=, rspauth) that only a holder of
the password can compute.  The misbehaving server (fakesmtp + fakesasl)
runs the real mechanisms and then, as scripted, skips or spoils its proof;
every such server must be refused with MW_E_AUTH_SERVER_UNVERIFIED (exit
79, doctor cause auth_server_unverified) before any mail command, by the
CLI, by the library and by doctor, each over STARTTLS.  The correct proof
succeeds, against the fake and against the rig's real Postfix + Dovecot.
"""

import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import fakesasl  # noqa: E402
import fakesmtp  # noqa: E402
import mwtest  # noqa: E402
import rigutil  # noqa: E402

CERT_DIR = CA = CERT = KEY = None
USER = "alice@example.org"
PASSWORD = "Mutual-pw-4417"

SCRAM = ("SCRAM-SHA-1", "SCRAM-SHA-256")
# Every way a server can skip or spoil its proof, per mechanism.
BAD = [(mech, fault) for mech in SCRAM
       for fault in ("missing", "empty", "no_proof", "wrong")] + \
      [("DIGEST-MD5", fault) for fault in ("missing", "empty", "no_proof",
                                           "wrong")]
MECHS = SCRAM + ("DIGEST-MD5",)
EXIT_SERVER_UNVERIFIED = 79
DOCTOR_AUTH_EXIT = 17
FIX = "do not trust this server; check the certificate and the network path"

# What each fault must be called in the error message (why it failed).
WHY = {"missing": "announced success without sending its final",
       "empty": "was empty",
       "no_proof": "carries no",
       "wrong": "does not match"}


def setUpModule():
    global CERT_DIR, CA, CERT, KEY
    CERT_DIR, (CA, CERT, KEY) = fakesmtp.temp_certs()


def tearDownModule():
    shutil.rmtree(CERT_DIR, ignore_errors=True)


def server(mech, fault, password=PASSWORD):
    sasl = fakesasl.SaslServer(USER, password, fault=fault)
    return fakesmtp.FakeSMTP(cert=CERT, key=KEY, auth=mech + " PLAIN LOGIN",
                             sasl_server=sasl)


def send_args(port, mech, *extra):
    return ["send", "--server", "127.0.0.1:%d" % port, "--tls", "starttls",
            "--tls-ca-file", CA, "--from", "alice@example.org", "--to",
            "bob@example.org", "--subject", "mutual", "--body", "hello\n",
            "--user", USER, "--password-env", "PW", "--auth", mech] + \
        list(extra)


def mail_commands(sess):
    return [l for l in sess.lines
            if l.split(" ", 1)[0].upper() in ("MAIL", "RCPT", "DATA")]


def auth_check(hostport, ca, user, mech, password, frm="alice@example.org",
               to="bob@example.org"):
    """Runs tests/integration/auth_check.c; returns (exit, {key: value})."""
    binary = os.environ.get("MW_AUTH_CHECK")
    if not binary:
        raise unittest.SkipTest("MW_AUTH_CHECK is not set (run via ctest)")
    p = subprocess.run(mwtest.command(binary, hostport, ca, user, mech, frm,
                                      to),
                       env={"MW_PASSWORD": password,
                            "PATH": os.environ.get("PATH", "/usr/bin")},
                       capture_output=True, timeout=120)
    out = {}
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition(" ")
        out[key] = value
    return p.returncode, out, p.stderr.decode("utf-8", "replace")


class Send(unittest.TestCase):
    """mailwire send over STARTTLS."""

    def test_a_server_that_skips_or_spoils_its_proof_is_refused(self):
        """Attack: an impostor (who got past TLS verification, or a client
        with --insecure, a pin or plaintext) answers 235 without the
        server-final message, with an empty one, one without v=/rspauth,
        or a made-up one.  Safe: MW_E_AUTH_SERVER_UNVERIFIED, exit 79, the
        message says the server did not prove its identity and why, the
        trace says the signature was NOT verified, and no MAIL, RCPT or
        DATA is sent.  Why: only the proof shows the server knows the
        password; without it the 235 proves nothing."""
        for mech, fault in BAD:
            with self.subTest(mech=mech, fault=fault):
                with server(mech, fault) as f:
                    code, doc, err, _ = mwtest.run_json(
                        send_args(f.port, mech, "--trace"),
                        env={"PW": PASSWORD})
                self.assertEqual(code, EXIT_SERVER_UNVERIFIED, err)
                self.assertEqual(doc["status"], "failed")
                self.assertEqual(doc["error"]["status"],
                                 "MW_E_AUTH_SERVER_UNVERIFIED")
                self.assertEqual(doc["error"]["category"], "auth")
                self.assertIn("did not prove its identity",
                              doc["error"]["message"])
                self.assertIn(WHY[fault], doc["error"]["message"])
                self.assertIsNone(doc["server"]["auth_mechanism"])
                self.assertIn("server signature NOT verified", err)
                self.assertNotIn("server signature verified", err)
                self.assertNotIn("authenticated as", err)
                sess = f.sessions[0]
                self.assertTrue(sess.tls, "the exchange ran over STARTTLS")
                self.assertEqual(sess.auth_mechanism, mech)
                # The fake really checked the client: the password was
                # right, only the server's side was missing.
                self.assertEqual(f.sasl_server.verdicts, ["client ok"])
                self.assertEqual(mail_commands(sess), [])
                self.assertNotIn(PASSWORD, err + str(doc))

    def test_the_correct_proof_succeeds(self):
        """Safe: the real server-final message (v=, rspauth) as a last 334
        answered with an empty line, then 235 (RFC 4954): authenticated,
        the trace says "server signature verified" (without the value),
        and the message is sent."""
        for mech in MECHS:
            with self.subTest(mech=mech):
                with server(mech, "none") as f:
                    code, doc, err, _ = mwtest.run_json(
                        send_args(f.port, mech, "--trace"),
                        env={"PW": PASSWORD})
                self.assertEqual(code, 0, err)
                self.assertEqual(doc["server"]["auth_mechanism"], mech)
                self.assertIn("server signature verified (%s)" % mech, err)
                verified = [l for l in err.splitlines()
                            if "server signature verified" in l]
                self.assertEqual(len(verified), 1, verified)
                self.assertNotIn("v=", verified[0])
                self.assertNotIn("rspauth", verified[0])
                sess = f.sessions[0]
                self.assertTrue(sess.tls)
                self.assertEqual(len(sess.data), 1)
                # AUTH (SCRAM: with client-first), the client's last
                # message, then an empty answer to the final 334.
                auth_at = [i for i, l in enumerate(sess.lines)
                           if l.startswith("AUTH ")][0]
                self.assertNotEqual(sess.lines[auth_at + 1], "")
                self.assertEqual(sess.lines[auth_at + 2], "")
                self.assertTrue(sess.lines[auth_at + 3].startswith("MAIL"))

    def test_a_wrong_password_is_still_a_wrong_password(self):
        """The fake computes the mechanisms for real: a client proof made
        from another password is refused with 535 (exit 77, MW_E_AUTH),
        not confused with an unverified server."""
        for mech in MECHS:
            with self.subTest(mech=mech):
                with server(mech, "none", password="another-password") as f:
                    code, doc, err, _ = mwtest.run_json(
                        send_args(f.port, mech), env={"PW": PASSWORD})
                self.assertEqual(code, 77, err)
                self.assertEqual(doc["error"]["status"], "MW_E_AUTH")
                self.assertEqual(doc["error"]["reply_code"], 535)
                self.assertEqual(f.sasl_server.verdicts, ["client bad"])
                self.assertEqual(mail_commands(f.sessions[0]), [])

    def test_the_strongest_mechanism_is_checked_by_default(self):
        """Without --auth the client picks SCRAM-SHA-256 itself; the proof
        is required all the same."""
        with server("SCRAM-SHA-256", "missing") as f:
            args = send_args(f.port, "x")
            del args[-2:]  # no --auth
            code, doc, err, _ = mwtest.run_json(args, env={"PW": PASSWORD})
        self.assertEqual(code, EXIT_SERVER_UNVERIFIED, err)
        self.assertEqual(f.sessions[0].auth_mechanism, "SCRAM-SHA-256")
        self.assertEqual(mail_commands(f.sessions[0]), [])


class Library(unittest.TestCase):
    """The library (tests/integration/auth_check.c) over STARTTLS."""

    def test_connect_fails_with_its_own_status_and_sends_nothing(self):
        """mw_smtp_connect() returns MW_E_AUTH_SERVER_UNVERIFIED (category
        auth) and a later mw_smtp_send_buffer() on the session fails
        without reaching the server."""
        for mech, fault in BAD:
            with self.subTest(mech=mech, fault=fault):
                with server(mech, fault) as f:
                    code, out, err = auth_check("127.0.0.1:%d" % f.port, CA,
                                                USER, mech, PASSWORD)
                self.assertEqual(code, 1, (out, err))
                self.assertEqual(out["connect"],
                                 "MW_E_AUTH_SERVER_UNVERIFIED", out)
                self.assertEqual(out["category"], "auth")
                self.assertEqual(out["mechanism"], "-")
                self.assertEqual(out["verified"], "no")
                self.assertNotEqual(out["send"], "MW_OK")
                self.assertIn("did not prove its identity", out["message"])
                self.assertTrue(f.sessions[0].tls)
                self.assertEqual(len(f.sessions), 1)
                self.assertEqual(mail_commands(f.sessions[0]), [])

    def test_the_correct_proof_succeeds(self):
        for mech in MECHS:
            with self.subTest(mech=mech):
                with server(mech, "none") as f:
                    code, out, err = auth_check("127.0.0.1:%d" % f.port, CA,
                                                USER, mech, PASSWORD)
                self.assertEqual(code, 0, (out, err))
                self.assertEqual(out["connect"], "MW_OK")
                self.assertEqual(out["mechanism"], mech)
                self.assertEqual(out["verified"], "yes")
                self.assertEqual(out["send"], "MW_OK")
                self.assertEqual(len(f.sessions[0].data), 1)


class Doctor(unittest.TestCase):
    """mailwire doctor names the cause auth_server_unverified."""

    def doctor(self, port, mech):
        return mwtest.run_json(
            ["doctor", "127.0.0.1:%d" % port, "--tls", "starttls",
             "--tls-ca-file", CA, "--greeting-timeout", "2s", "--timeout",
             "5s", "--user", USER, "--password-env", "PW", "--auth", mech],
            env={"PW": PASSWORD})

    def test_each_fault_is_diagnosed_as_auth_server_unverified(self):
        for mech, fault in BAD:
            with self.subTest(mech=mech, fault=fault):
                with server(mech, fault) as f:
                    code, doc, err, _ = self.doctor(f.port, mech)
                self.assertEqual(code, DOCTOR_AUTH_EXIT, err)
                d = doc["diagnosis"]
                self.assertEqual(d["id"], "auth_server_unverified")
                self.assertEqual(d["exit_code"], DOCTOR_AUTH_EXIT)
                self.assertTrue(d["fix"].startswith(FIX), d["fix"])
                self.assertIn("did not prove its identity", d["summary"])
                checks = {c["layer"]: c for c in doc["checks"]}
                self.assertEqual(checks["auth"]["status"], "fail")
                # The TLS layer held; the certificate to check is named.
                self.assertEqual(checks["tls"]["status"], "ok")
                self.assertIn("SHA-256 fingerprint", d["fix"])
                self.assertTrue(all(s.tls for s in f.sessions
                                    if s.auth_mechanism))
                for s in f.sessions:
                    self.assertEqual(mail_commands(s), [])

    def test_the_correct_proof_is_healthy(self):
        for mech in MECHS:
            with self.subTest(mech=mech):
                with server(mech, "none") as f:
                    code, doc, err, _ = self.doctor(f.port, mech)
                self.assertEqual(code, 0, err)
                self.assertEqual(doc["diagnosis"]["id"], "healthy")
                checks = {c["layer"]: c for c in doc["checks"]}
                self.assertEqual(checks["auth"]["status"], "ok")

    def test_explain_lists_the_cause(self):
        code, out, err, _ = mwtest.run(["explain", "--list"])
        self.assertEqual(code, 0, err)
        line = [l for l in out.splitlines()
                if "auth_server_unverified" in l]
        self.assertTrue(line, out)


class Rig(unittest.TestCase):
    """The success path against the rig's real Postfix + Dovecot (Dovecot
    sends the SCRAM server-final and DIGEST-MD5 rspauth, Postfix relays
    it as a last 334): the proof arrives and verifies."""

    @classmethod
    def setUpClass(cls):
        path = os.environ.get("MW_RIG_ENV")
        if not path or not os.path.exists(path):
            raise unittest.SkipTest("no rig: MW_RIG_ENV is not set (run "
                                    "through ctest, which starts the rig)")
        cls.env = rigutil.load_env(path)

    def setUp(self):
        for user in ("alice", "bob"):
            rigutil.clear_mailbox(self.env, user)

    def rig_send(self, mech):
        e = self.env
        return mwtest.run_json(
            ["send", "--server", "127.0.0.1:%s" % e["RIG_SUBMISSION_PORT"],
             "--tls", "starttls", "--tls-ca-file", e["RIG_CA_FILE"],
             "--from", "alice@example.test", "--to", "bob@example.test",
             "--subject", "mutual " + mech, "--body", "via " + mech,
             "--user", "alice@example.test", "--password-env", "PW",
             "--auth", mech, "--trace"], env={"PW": e["RIG_PASS1"]})

    def test_dovecot_proves_itself(self):
        mechs = [m for m in MECHS if m in self.env["RIG_AUTH_MECHS"].split()]
        self.assertIn("SCRAM-SHA-256", mechs)
        self.assertIn("SCRAM-SHA-1", mechs)
        for mech in mechs:
            with self.subTest(mech=mech):
                code, doc, err, _ = self.rig_send(mech)
                self.assertEqual(code, 0, err)
                self.assertEqual(doc["server"]["auth_mechanism"], mech)
                self.assertIn("server signature verified (%s)" % mech, err)
        rigutil.wait_for_mail(self.env, "bob", count=len(mechs))

    def test_library_against_dovecot(self):
        e = self.env
        for mech in SCRAM:
            with self.subTest(mech=mech):
                code, out, err = auth_check(
                    "127.0.0.1:%s" % e["RIG_SUBMISSION_PORT"],
                    e["RIG_CA_FILE"], "alice@example.test", mech,
                    e["RIG_PASS1"], "alice@example.test",
                    "bob@example.test")
                self.assertEqual(code, 0, (out, err))
                self.assertEqual(out["connect"], "MW_OK")
                self.assertEqual(out["verified"], "yes")
                self.assertEqual(out["send"], "MW_OK")
        rigutil.wait_for_mail(self.env, "bob", count=len(SCRAM))


if __name__ == "__main__":
    unittest.main()

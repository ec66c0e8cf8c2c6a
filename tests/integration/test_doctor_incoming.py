"""mailwire doctor for incoming servers (POP3, IMAP): `healthy` on each
incoming port of the rig's real Dovecot (imap, imaps, pop3, pop3s), and a
table-driven test against the misbehaving servers (fakeimap.py,
fakepop3.py): one row per scenario => the cause id and the exit code.
Every diagnosis must carry a fix, and the password must never show."""

import os
import shutil
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import fakeimap  # noqa: E402
import fakemail  # noqa: E402
import fakepop3  # noqa: E402
import mwtest  # noqa: E402
import rigutil  # noqa: E402

CERT_DIR = CA = CERT = KEY = None
PASSWORD = "Doctor-in-pw-7741"
CREDS = ("--user", "alice", "--password-env", "PW")


def setUpModule():
    global CERT_DIR, CA, CERT, KEY
    CERT_DIR, (CA, CERT, KEY) = fakemail.temp_certs()


def tearDownModule():
    shutil.rmtree(CERT_DIR, ignore_errors=True)


def doctor(url, *extra, ca=True):
    # 2 s (scaled for slow runs: under valgrind a TLS handshake alone can
    # take that long)
    args = ["doctor", url, "--greeting-timeout", "%ds" % mwtest.bound(2),
            "--timeout", "%ds" % mwtest.bound(5)]
    if ca:
        args += ["--tls-ca-file", CA]
    return mwtest.run_json(args + list(extra), env={"PW": PASSWORD})


# name, server class, server settings, scheme (+ path), doctor options,
# expected cause, exit code, text the fix must hold (or None)
IMAP, POP3 = fakeimap.FakeIMAP, fakepop3.FakePOP3
OAUTH_TOO = ("PLAIN", "XOAUTH2")
SCENARIOS = [
    # IMAP: the healthy paths
    ("imaps healthy", IMAP, {"implicit_tls": True}, "imaps", CREDS,
     "healthy", 0, "imaps://"),
    ("imap STARTTLS healthy", IMAP, {}, "imap", CREDS, "healthy", 0,
     "imap://"),
    ("imap without credentials", IMAP, {}, "imap", (), "healthy", 0, None),
    # greetings
    ("BYE [UNAVAILABLE] greeting", IMAP, {"greeting": "bye"}, "imap", CREDS,
     "service_unavailable", 13, None),
    ("BYE greeting", IMAP, {"greeting": "* BYE go away"}, "imap", CREDS,
     "greeting_rejected", 13, None),
    ("PREAUTH where TLS is required", IMAP, {"greeting": "preauth"}, "imap",
     CREDS, "incoming_preauth_insecure", 14, "993"),
    ("SMTP 220 on an IMAP port", IMAP, {"greeting": "smtp"}, "imap", CREDS,
     "wrong_protocol", 13, "993"),
    ("POP3 +OK where IMAP was expected", IMAP, {"greeting": "pop3"}, "imap",
     CREDS, "wrong_protocol", 13, "993"),
    ("POP3's 995 given to an IMAP client", POP3, {"implicit_tls": True},
     "imaps", CREDS, "wrong_protocol", 13, "993"),
    ("silent server", IMAP, {"silent": True}, "imap", CREDS,
     "greeting_timeout", 13, None),
    # TLS mode and certificate
    ("implicit-TLS port spoken to in plaintext", IMAP,
     {"implicit_tls": True}, "imap", CREDS,
     "tls_mode_mismatch_expected_implicit", 14, "--tls implicit"),
    ("plaintext port spoken to with implicit TLS", IMAP, {}, "imaps", CREDS,
     "tls_mode_mismatch_expected_plain", 14, "--tls starttls"),
    ("STARTTLS not offered", IMAP, {"starttls": False}, "imap", CREDS,
     "starttls_not_offered", 14, "993"),
    ("STARTTLS response injection", IMAP,
     {"inject_after_starttls": b"* OK [ALERT] injected\r\n"}, "imap", CREDS,
     "protocol_error", 20, None),
    ("untrusted certificate", IMAP, {"implicit_tls": True}, "imaps",
     CREDS + ("--no-ca",), "cert_untrusted", 16, None),
    ("certificate for another name", IMAP, {"implicit_tls": True}, "imaps",
     CREDS + ("--tls-server-name", "mail.other.example"),
     "cert_hostname_mismatch", 16, "--tls-server-name"),
    # login
    ("LOGINDISABLED without TLS", IMAP, {"logindisabled": True}, "imap",
     CREDS + ("--tls", "none"), "incoming_login_disabled", 17,
     "--tls implicit"),
    ("wrong password", IMAP, {"login_reply": "authenticationfailed"},
     "imap", CREDS, "auth_failed", 17, None),
    ("Gmail: application-specific password", IMAP,
     {"login_reply": "gmail_app_password"}, "imap", CREDS,
     "auth_app_password_required", 17, "apppasswords"),
    ("Gmail: web login", IMAP, {"login_reply": "gmail_web_login"}, "imap",
     CREDS, "auth_app_password_required", 17, None),
    ("Gmail: IMAP disabled", IMAP, {"login_reply": "gmail_imap_disabled"},
     "imap", CREDS, "protocol_disabled", 17, "Enable IMAP"),
    ("Microsoft 365: AUTHENTICATE failed, OAuth offered", IMAP,
     {"login_reply": "m365_authenticate", "auth_mechanisms": OAUTH_TOO},
     "imap", CREDS, "auth_oauth_required", 17, "--oauth2-token-cmd"),
    ("Microsoft 365: LOGIN failed, OAuth offered", IMAP,
     {"login_reply": "m365_login", "auth_mechanisms": ("XOAUTH2",)}, "imap",
     CREDS, "auth_oauth_required", 17, "--oauth2-token-cmd"),
    ("Microsoft 365: IMAP disabled for the mailbox", IMAP,
     {"after_login_reply": fakeimap.M365_NOT_CONNECTED}, "imap", CREDS,
     "protocol_disabled", 17, "ImapEnabled"),
    ("EXPIRED", IMAP, {"login_reply": "expired"}, "imap", CREDS,
     "auth_expired", 17, None),
    ("PRIVACYREQUIRED", IMAP, {"login_reply": "privacyrequired"}, "imap",
     CREDS, "auth_requires_tls", 17, None),
    ("CONTACTADMIN", IMAP, {"login_reply": "contactadmin"}, "imap", CREDS,
     "account_disabled", 17, None),
    ("UNAVAILABLE", IMAP, {"login_reply": "unavailable"}, "imap", CREDS,
     "auth_temporary", 17, None),
    ("INUSE", IMAP, {"login_reply": "inuse"}, "imap", CREDS,
     "mailbox_in_use", 19, None),
    ("OVERQUOTA", IMAP, {"login_reply": "overquota"}, "imap", CREDS,
     "over_quota", 18, None),
    ("LIMIT", IMAP, {"login_reply": "limit"}, "imap", CREDS,
     "rate_limited_connection", 19, None),
    ("ALERT: account locked", IMAP, {"login_reply": "alert"}, "imap", CREDS,
     "account_disabled", 17, None),
    # the mailbox
    ("mailbox not found (NONEXISTENT)", IMAP, {}, "imap/Archive", CREDS,
     "mailbox_not_found", 18, "Archive"),
    ("mailbox doesn't exist (no code)", IMAP,
     {"select_reply": "doesnt_exist"}, "imap/Archive", CREDS,
     "mailbox_not_found", 18, None),
    ("hang-up at login", IMAP, {"hangup_at": "login"}, "imap", CREDS,
     "temporary_failure", 19, None),

    # POP3: the healthy paths
    ("pop3s healthy", POP3, {"implicit_tls": True}, "pop3s", CREDS,
     "healthy", 0, "pop3s://"),
    ("pop3 STLS healthy", POP3, {}, "pop3", CREDS, "healthy", 0, "pop3://"),
    # greetings
    ("-ERR [SYS/TEMP] greeting", POP3, {"greeting": "err"}, "pop3", CREDS,
     "service_unavailable", 13, None),
    ("-ERR greeting", POP3, {"greeting": "-ERR no service for you"}, "pop3",
     CREDS, "greeting_rejected", 13, None),
    ("SMTP 220 on a POP3 port", POP3, {"greeting": "smtp"}, "pop3", CREDS,
     "wrong_protocol", 13, "995"),
    ("IMAP * OK where POP3 was expected", POP3, {"greeting": "imap"},
     "pop3", CREDS, "wrong_protocol", 13, "995"),
    ("IMAP's 993 given to a POP3 client", IMAP, {"implicit_tls": True},
     "pop3s", CREDS, "wrong_protocol", 13, "995"),
    # TLS
    ("STLS not offered", POP3, {"stls": False}, "pop3", CREDS,
     "starttls_not_offered", 14, "995"),
    ("STLS response injection", POP3,
     {"inject_after_stls": b"+OK injected\r\n"}, "pop3", CREDS,
     "protocol_error", 20, None),
    ("no login before TLS", POP3, {"user_before_tls": False}, "pop3",
     CREDS + ("--tls", "none"), "incoming_login_disabled", 17,
     "--tls implicit"),
    # login
    ("[AUTH] wrong password", POP3, {"pass_reply": "auth"}, "pop3", CREDS,
     "auth_failed", 17, None),
    ("[SYS/TEMP] at login", POP3, {"pass_reply": "sys_temp"}, "pop3", CREDS,
     "auth_temporary", 17, None),
    ("[SYS/PERM] account disabled", POP3, {"pass_reply": "sys_perm"},
     "pop3", CREDS, "account_disabled", 17, None),
    ("[IN-USE]", POP3, {"pass_reply": "in_use"}, "pop3", CREDS,
     "mailbox_in_use", 19, None),
    ("[LOGIN-DELAY]", POP3, {"pass_reply": "login_delay"}, "pop3", CREDS,
     "login_delay", 19, None),
    ("Gmail: application-specific password (POP3)", POP3,
     {"pass_reply": "gmail_app_password"}, "pop3", CREDS,
     "auth_app_password_required", 17, "apppasswords"),
    ("Gmail: POP disabled", POP3, {"pass_reply": "gmail_pop_disabled"},
     "pop3", CREDS, "protocol_disabled", 17, "Enable POP"),
    ("POP disabled for the account", POP3, {"pass_reply": "pop_disabled"},
     "pop3", CREDS, "protocol_disabled", 17, None),
    ("Microsoft 365: basic auth off, OAuth offered (POP3)", POP3,
     {"pass_reply": "m365_auth", "sasl": OAUTH_TOO}, "pop3", CREDS,
     "auth_oauth_required", 17, "--oauth2-token-cmd"),
    ("Microsoft 365: bad password, no OAuth (POP3)", POP3,
     {"pass_reply": "m365_logon"}, "pop3", CREDS, "auth_failed", 17, None),
    ("Microsoft 365: POP disabled for the mailbox", POP3,
     {"pass_reply": "m365_not_connected"}, "pop3", CREDS,
     "protocol_disabled", 17, "PopEnabled"),
]


class Scenarios(unittest.TestCase):
    def test_table(self):
        for (name, server, settings, scheme, options, cause, code_expected,
             fix_has) in SCENARIOS:
            with self.subTest(name):
                options = list(options)
                ca = "--no-ca" not in options
                options = [o for o in options if o != "--no-ca"]
                scheme, _, path = scheme.partition("/")
                with server(cert=CERT, key=KEY, **settings) as f:
                    url = "%s://127.0.0.1:%d%s" % (scheme, f.port,
                                                   "/" + path if path else "")
                    code, doc, err, secs = doctor(url, *options, ca=ca)
                diag = doc["diagnosis"]
                self.assertEqual(diag["id"], cause, "%s\n%s" % (doc, err))
                self.assertEqual(code, code_expected, doc)
                self.assertEqual(diag["exit_code"], code)
                self.assertTrue(diag["fix"], doc)
                self.assertTrue(diag["summary"], doc)
                if fix_has:
                    self.assertIn(fix_has, diag["fix"], doc)
                self.assertEqual(doc["protocol"],
                                 "pop3" if scheme.startswith("pop")
                                 else "imap")
                self.assertNotIn(PASSWORD, str(doc) + err)
                # within the greeting timeout (2 s), the other mode's
                # attempt (5 s at most) and the command timeouts
                self.assertLess(secs, mwtest.bound(15), doc)

    def test_protocol_by_port_and_flag(self):
        """--protocol, the URL's scheme or the port picks the protocol: a
        fake IMAP server on a free port is checked as IMAP only when told
        so; doctor 127.0.0.1:PORT alone speaks SMTP to it."""
        with IMAP(cert=CERT, key=KEY) as f:
            code, doc, err, _ = doctor("127.0.0.1:%d" % f.port, "--protocol",
                                       "imap", *CREDS)
            self.assertEqual(doc["protocol"], "imap", doc)
            self.assertEqual(doc["diagnosis"]["id"], "healthy", doc)
            code, doc, err, _ = doctor("127.0.0.1:%d" % f.port)
            self.assertEqual(doc["protocol"], "smtp", doc)
            self.assertEqual(doc["diagnosis"]["id"], "wrong_protocol", doc)

    def test_human_report(self):
        with POP3(cert=CERT, key=KEY, pass_reply="in_use") as f:
            code, out, err, _ = mwtest.run(
                ["doctor", "pop3://127.0.0.1:%d" % f.port, "--tls-ca-file",
                 CA, "--no-color"] + list(CREDS), env={"PW": PASSWORD})
        self.assertEqual(code, 19, out + err)
        self.assertIn("mailwire doctor pop3 127.0.0.1", out)
        self.assertIn("[mailbox_in_use]", out)
        self.assertIn("fix:", out)
        self.assertNotIn(PASSWORD, out + err)

    def test_usage_errors(self):
        for args in (["doctor", "imaps://"], ["doctor", "ftp://h"],
                     ["doctor", "h", "--protocol", "nntp"],
                     ["doctor", "imaps://h", "--from", "a@b.c", "--to",
                      "d@e.f"]):
            code, _, err, _ = mwtest.run(args)
            self.assertEqual(code, 64, (args, err))
            self.assertIn("mailwire doctor:", err)


class Explain(unittest.TestCase):
    """mailwire explain reads POP3 and IMAP responses, a leading -ERR
    included (it is reply text, not an option)."""

    def test_incoming_replies(self):
        for words, cause, proto, code in (
                (["-ERR", "[IN-USE]", "Mailbox", "locked"], "mailbox_in_use",
                 "POP3", "IN-USE"),
                (["a1 NO [AUTHENTICATIONFAILED] Invalid credentials "
                  "(Failure)"], "auth_failed", "IMAP",
                 "AUTHENTICATIONFAILED"),
                (["* BYE [UNAVAILABLE] try later"], "service_unavailable",
                 "IMAP", "UNAVAILABLE"),
                (["A2 NO AUTHENTICATE failed."], "auth_oauth_required",
                 "IMAP", None),
                (["535", "5.7.8"], "auth_failed", "SMTP", None)):
            with self.subTest(words):
                code_, doc, err, _ = mwtest.run_json(["explain"] + words)
                self.assertEqual(code_, 0, err)
                self.assertEqual(doc["cause"], cause, doc)
                self.assertEqual(doc["protocol"], proto, doc)
                self.assertEqual(doc["response_code"], code, doc)
        code_, out, err, _ = mwtest.run(["explain", "-ERR", "[LOGIN-DELAY]",
                                         "wait"])
        self.assertEqual(code_, 0, err)
        self.assertIn("POP3 [LOGIN-DELAY]", out)
        self.assertIn("login_delay", out)
        self.assertIn("temporary", out)
        code_, _, err, _ = mwtest.run(["explain", "a1 MAYBE x"])
        self.assertEqual(code_, 64, err)


class Rig(unittest.TestCase):
    """The rig's Dovecot: every incoming port comes out healthy, logged in
    and with the mailbox opened."""

    @classmethod
    def setUpClass(cls):
        path = os.environ.get("MW_RIG_ENV")
        if not path or not os.path.exists(path):
            raise unittest.SkipTest("no rig: MW_RIG_ENV is not set (run "
                                    "through ctest, which starts the rig)")
        cls.env = rigutil.load_env(path)

    def run_doctor(self, scheme, port_key, *extra):
        e = self.env
        url = "%s://127.0.0.1:%s" % (scheme, e[port_key])
        return mwtest.run_json(
            ["doctor", url, "--tls-ca-file", e["RIG_CA_FILE"],
             "--tls-server-name", e["RIG_SERVER_NAME"], "--user",
             e["RIG_USER1"], "--password-env", "PW"] + list(extra),
            env={"PW": e["RIG_PASS1"]})

    def test_every_incoming_port_is_healthy(self):
        for scheme, key, mode in (("imap", "RIG_IMAP_PORT", "starttls"),
                                  ("imaps", "RIG_IMAPS_PORT", "implicit"),
                                  ("pop3", "RIG_POP3_PORT", "starttls"),
                                  ("pop3s", "RIG_POP3S_PORT", "implicit")):
            with self.subTest(scheme):
                code, doc, err, _ = self.run_doctor(scheme, key)
                self.assertEqual(doc["diagnosis"]["id"], "healthy",
                                 "%s\n%s" % (doc, err))
                self.assertEqual(code, 0)
                self.assertEqual(doc["detected_mode"], mode)
                layers = [c["layer"] for c in doc["checks"]]
                for layer in ("dns", "tcp", "tls", "certificate", "greeting",
                              "capabilities", "login", "mailbox"):
                    self.assertIn(layer, layers, doc)
                self.assertTrue(all(c["status"] == "ok"
                                    for c in doc["checks"]), doc)
                self.assertNotIn(self.env["RIG_PASS1"], str(doc) + err)

    def test_wrong_password_on_the_rig(self):
        e = self.env
        code, doc, err, _ = mwtest.run_json(
            ["doctor", "imaps://127.0.0.1:%s" % e["RIG_IMAPS_PORT"],
             "--tls-ca-file", e["RIG_CA_FILE"], "--tls-server-name",
             e["RIG_SERVER_NAME"], "--user", e["RIG_USER1"],
             "--password-env", "PW"], env={"PW": "not-the-password"})
        self.assertEqual(doc["diagnosis"]["id"], "auth_failed", doc)
        self.assertEqual(code, 17)

    def test_smtp_port_spoken_to_as_imap(self):
        """An IMAP client sent to the rig's submission port meets Postfix's
        220 and is told the IMAP ports."""
        e = self.env
        code, doc, err, _ = mwtest.run_json(
            ["doctor", "imap://127.0.0.1:%s" % e["RIG_SUBMISSION_PORT"],
             "--tls-ca-file", e["RIG_CA_FILE"]])
        self.assertEqual(doc["diagnosis"]["id"], "wrong_protocol", doc)
        self.assertIn("993", doc["diagnosis"]["fix"])
        self.assertEqual(code, 13)

    def test_faults_on_the_rig(self):
        """Diagnoses proven against the real Dovecot: a mailbox that does
        not exist, each port spoken to in the other TLS mode, a password
        that would go out in the clear."""
        e = self.env
        for name, url, extra, cause, code in (
                ("mailbox not found", "imaps://127.0.0.1:%s/NoSuchBox"
                 % e["RIG_IMAPS_PORT"], (), "mailbox_not_found", 18),
                ("imaps port spoken to in plaintext", "imap://127.0.0.1:%s"
                 % e["RIG_IMAPS_PORT"],
                 ("--greeting-timeout", "%ds" % mwtest.bound(2)),
                 "tls_mode_mismatch_expected_implicit", 14),
                ("pop3 port spoken to with implicit TLS",
                 "pop3s://127.0.0.1:%s" % e["RIG_POP3_PORT"], (),
                 "tls_mode_mismatch_expected_plain", 14),
                ("imap port without TLS", "imap://127.0.0.1:%s"
                 % e["RIG_IMAP_PORT"], ("--tls", "none"),
                 "auth_requires_tls", 17),
                ("pop3 port without TLS", "pop3://127.0.0.1:%s"
                 % e["RIG_POP3_PORT"], ("--tls", "none"),
                 "auth_requires_tls", 17)):
            with self.subTest(name):
                code_, doc, err, _ = mwtest.run_json(
                    ["doctor", url, "--tls-ca-file", e["RIG_CA_FILE"],
                     "--tls-server-name", e["RIG_SERVER_NAME"], "--user",
                     e["RIG_USER1"], "--password-env", "PW"] + list(extra),
                    env={"PW": e["RIG_PASS1"]})
                self.assertEqual(doc["diagnosis"]["id"], cause,
                                 "%s\n%s" % (doc, err))
                self.assertEqual(code_, code)
                self.assertNotIn(e["RIG_PASS1"], str(doc) + err)

    def test_pop3_port_spoken_to_as_imap(self):
        e = self.env
        code, doc, err, _ = mwtest.run_json(
            ["doctor", "imaps://127.0.0.1:%s" % e["RIG_POP3S_PORT"],
             "--tls-ca-file", e["RIG_CA_FILE"], "--tls-server-name",
             e["RIG_SERVER_NAME"]])
        self.assertEqual(doc["diagnosis"]["id"], "wrong_protocol", doc)
        self.assertIn("993", doc["diagnosis"]["fix"])


if __name__ == "__main__":
    unittest.main()

"""mailwire doctor: one diagnosis per fault, table-driven against the
misbehaving server, and `healthy` with the right mode on every port of the
real Postfix rig.  Each row: the scenario, the options, the expected cause
id and exit code; every diagnosis must carry a fix."""

import os
import shutil
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import dnsrig  # noqa: E402
import fakesmtp  # noqa: E402
import mwtest  # noqa: E402
import rigutil  # noqa: E402

CERT_DIR = CA = CERT = KEY = None
BAD = {}
PASSWORD = "Doctor-pw-5512"


def setUpModule():
    global CERT_DIR, CA, CERT, KEY, BAD
    CERT_DIR, (CA, CERT, KEY) = fakesmtp.temp_certs()
    BAD = fakesmtp.make_bad_certs(CERT_DIR, CA,
                                  os.path.join(CERT_DIR, "fake-ca.key"))


def tearDownModule():
    shutil.rmtree(CERT_DIR, ignore_errors=True)


def doctor(port, *extra, ca=True, env=None):
    args = ["doctor", "127.0.0.1:%d" % port, "--greeting-timeout", "2s",
            "--timeout", "5s"]
    if ca:
        args += ["--tls-ca-file", CA]
    return mwtest.run_json(args + list(extra), env=env)


CREDS = ("--user", "u@example.org", "--password-env", "PW")
ENVELOPE = ("--from", "alice@example.org", "--to", "bob@example.org")

# name, server settings, doctor options, expected cause, exit code
SCENARIOS = [
    ("healthy", {}, (), "healthy", 0),
    ("healthy with auth and envelope", {"auth": "PLAIN"}, CREDS + ENVELOPE,
     "healthy", 0),
    ("silent server", {"silent": True}, (), "greeting_timeout", 13),
    ("implicit TLS port spoken to in plaintext",
     {"implicit_tls": True, "starttls": False}, (),
     "tls_mode_mismatch_expected_implicit", 14),
    ("plaintext port spoken to with implicit TLS", {}, ("--tls", "implicit"),
     "tls_mode_mismatch_expected_plain", 14),
    ("STARTTLS not offered", {"starttls": False}, (), "starttls_not_offered",
     14),
    ("STARTTLS refused", {"starttls_reply": "454 4.7.0 TLS not available"},
     (), "starttls_not_offered", 14),
    ("STARTTLS handshake fails", {"starttls_garbage": True}, (),
     "tls_handshake_failed", 15),
    ("untrusted certificate", {}, ("--no-ca",), "cert_untrusted", 16),
    ("wrong host name", {}, ("--tls-server-name", "mail.other.example"),
     "cert_hostname_mismatch", 16),
    ("expired certificate", {"cert": "expired"}, (), "cert_expired", 16),
    ("self-signed certificate", {"cert": "selfsigned"}, ("--no-ca",),
     "cert_self_signed", 16),
    ("greeting 554", {"greeting": "554 5.7.1 no SMTP service here"}, (),
     "greeting_rejected", 13),
    ("greeting 421", {"greeting": "421 4.3.2 service shutting down"}, (),
     "service_unavailable", 13),
    ("AUTH not offered", {}, CREDS, "auth_not_offered", 17),
    ("AUTH only before TLS", {"auth": "PLAIN", "auth_before_tls_only": True},
     CREDS, "auth_not_offered", 17),
    ("only OAuth offered", {"auth": "XOAUTH2 OAUTHBEARER"}, CREDS,
     "auth_oauth_required", 17),
    ("no common mechanism", {"auth": "CRAM-MD5"}, CREDS + ("--auth", "PLAIN"),
     "auth_mechanism_unsupported", 17),
    ("bad credentials", {"auth": "PLAIN",
                         "auth_reply": "535 5.7.8 Authentication failed"},
     CREDS, "auth_failed", 17),
    ("Gmail app password", {"auth": "PLAIN", "auth_reply":
                            "534 5.7.9 Application-specific password required."},
     CREDS, "auth_app_password_required", 17),
    ("Microsoft 365 SMTP AUTH disabled", {"auth": "LOGIN", "auth_reply":
     "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is "
     "disabled for the Tenant."}, CREDS, "auth_disabled", 17),
    ("auth temporary failure", {"auth": "PLAIN", "auth_reply":
                                "454 4.7.0 Temporary authentication failure"},
     CREDS, "auth_temporary", 17),
    ("sender refused", {"mail_reply": "553 5.7.1 Sender address rejected: "
                        "not owned by user"}, ENVELOPE, "sender_rejected", 18),
    ("relay denied", {"rcpt_replies": {"bob@example.org":
                      "554 5.7.1 <bob@example.org>: Relay access denied"}},
     ENVELOPE, "relay_denied", 18),
    ("recipient unknown", {"rcpt_replies": {"bob@example.org":
                           "550 5.1.1 <bob@example.org>: User unknown"}},
     ENVELOPE, "recipient_unknown", 18),
    ("mailbox full", {"rcpt_replies": {"bob@example.org":
                      "552 5.2.2 Mailbox full"}}, ENVELOPE, "mailbox_full",
     18),
    ("greylisted", {"rcpt_replies": {"bob@example.org":
                    "450 4.7.1 Greylisted, please try again later"}},
     ENVELOPE, "greylisted", 19),
    ("rate limited", {"rcpt_replies": {"bob@example.org":
                      "451 4.7.0 Too many messages, rate limit exceeded"}},
     ENVELOPE, "rate_limited", 19),
]


class Scenarios(unittest.TestCase):
    def test_table(self):
        for name, settings, options, cause, code_expected in SCENARIOS:
            with self.subTest(name):
                settings = dict(settings)
                cert, key = CERT, KEY
                if "cert" in settings:
                    cert, key = BAD[settings.pop("cert")]
                options = list(options)
                ca = "--no-ca" not in options
                options = [o for o in options if o != "--no-ca"]
                with fakesmtp.FakeSMTP(cert=cert, key=key, **settings) as f:
                    code, doc, err, secs = doctor(f.port, *options, ca=ca,
                                                  env={"PW": PASSWORD})
                self.assertEqual(doc["diagnosis"]["id"], cause,
                                 "%s\n%s" % (doc, err))
                self.assertEqual(code, code_expected)
                self.assertEqual(doc["diagnosis"]["exit_code"], code)
                self.assertTrue(doc["diagnosis"]["fix"], doc)
                self.assertTrue(doc["diagnosis"]["summary"], doc)
                self.assertNotIn(PASSWORD, str(doc) + err)

    def test_refused_port(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        code, doc, _, _ = doctor(port)
        self.assertEqual(code, 11)
        self.assertEqual(doc["diagnosis"]["id"], "tcp_refused")
        self.assertIn("refused", [c for c in doc["checks"]
                                  if c["layer"] == "tcp"][0]["evidence"])

    def test_mismatch_reported_within_greeting_timeout_plus_one_second(self):
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY, implicit_tls=True,
                               starttls=False) as f:
            code, doc, _, secs = mwtest.run_json(
                ["doctor", "127.0.0.1:%d" % f.port, "--greeting-timeout",
                 "2s", "--tls-ca-file", CA])
        self.assertEqual(doc["diagnosis"]["id"],
                         "tls_mode_mismatch_expected_implicit")
        self.assertEqual(doc["detected_mode"], "implicit")
        self.assertIn("--tls implicit", doc["diagnosis"]["fix"])
        self.assertLess(secs, mwtest.bound(2 + 1))

    def test_secrets_absent_from_report_json_and_trace(self):
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY, auth="PLAIN LOGIN") as f:
            for extra in (("--json",), ("--trace",), ("--no-color",)):
                code, out, err, _ = mwtest.run(
                    ["doctor", "127.0.0.1:%d" % f.port, "--tls-ca-file", CA,
                     "--auth", "LOGIN"] + list(CREDS) + list(extra),
                    env={"PW": PASSWORD})
                self.assertEqual(code, 0, out + err)
                import base64
                for needle in (PASSWORD,
                               base64.b64encode(PASSWORD.encode()).decode()):
                    self.assertNotIn(needle, out + err)

    def test_human_report(self):
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY, starttls=False) as f:
            code, out, err, _ = mwtest.run(
                ["doctor", "127.0.0.1:%d" % f.port, "--no-color"])
        self.assertEqual(code, 14)
        self.assertIn("diagnosis:", out)
        self.assertIn("[starttls_not_offered]", out)
        self.assertIn("fix:", out)
        self.assertNotIn("\033[", out)

    def test_usage_errors(self):
        for args in (["doctor"], ["doctor", "h:0"], ["doctor", "h", "--from",
                                                     "a@b.c"],
                     ["doctor", "h", "--body", "x"]):
            code, _, err, _ = mwtest.run(args)
            self.assertEqual(code, 64, args)
            self.assertIn("mailwire doctor:", err)


class Dns(unittest.TestCase):
    """DNS answers come from a private dnsmasq on loopback (dnsrig.py);
    --dns-server sends every query there and nowhere else."""

    RECORDS = ["host-record=mail.example.test,127.0.0.1",
               "mx-host=example.test,mail.example.test,10",
               "txt-record=noaddr.example.test,v=spf1 -all"]

    def test_name_not_found(self):
        with dnsrig.DnsRig(self.RECORDS) as d:
            code, doc, _, _ = mwtest.run_json(
                ["doctor", "nosuch.example.test:587", "--dns-server",
                 d.server])
        self.assertEqual(doc["diagnosis"]["id"], "dns_not_found")
        self.assertEqual(code, 10)

    def test_name_without_address(self):
        with dnsrig.DnsRig(self.RECORDS) as d:
            code, doc, _, _ = mwtest.run_json(
                ["doctor", "noaddr.example.test:587", "--dns-server",
                 d.server])
        self.assertEqual(doc["diagnosis"]["id"], "dns_no_address")
        self.assertEqual(code, 10)

    def test_address_target_checks_the_mx(self):
        with dnsrig.DnsRig(self.RECORDS) as d, \
                fakesmtp.FakeSMTP(cert=CERT, key=KEY) as f:
            code, doc, err, _ = mwtest.run_json(
                ["doctor", "alice@example.test:%d" % f.port, "--dns-server",
                 d.server, "--tls-ca-file", CA, "--tls-server-name",
                 "localhost"])
        self.assertEqual(doc["diagnosis"]["id"], "healthy", doc)
        self.assertEqual(doc["host"], "mail.example.test")
        self.assertIn("MX of example.test: 10 mail.example.test",
                      doc["checks"][0]["evidence"])

    def test_unknown_mail_domain(self):
        with dnsrig.DnsRig(self.RECORDS) as d:
            code, doc, _, _ = mwtest.run_json(
                ["doctor", "bob@nosuch.example.test", "--dns-server",
                 d.server])
        self.assertEqual(doc["diagnosis"]["id"], "dns_not_found")
        self.assertEqual(code, 10)


class Rig(unittest.TestCase):
    """Every port of the real Postfix comes out healthy, in its mode."""

    @classmethod
    def setUpClass(cls):
        path = os.environ.get("MW_RIG_ENV")
        if not path or not os.path.exists(path):
            raise unittest.SkipTest("no rig (run through ctest)")
        cls.env = rigutil.load_env(path)

    def run_port(self, name, mode, *extra, env=None):
        e = self.env
        return mwtest.run_json(
            ["doctor", "127.0.0.1:%s" % e["RIG_%s_PORT" % name], "--tls",
             mode, "--tls-ca-file", e["RIG_CA_FILE"]] + list(extra), env=env)

    def test_every_port_healthy(self):
        e = self.env
        creds = ["--user", e["RIG_USER1"], "--password-env", "PW"]
        env = {"PW": e["RIG_PASS1"]}
        envelope = ["--from", e["RIG_USER1"], "--to", e["RIG_USER2"]]
        for name, mode, extra, detected in (
                ("SUBMISSION", "starttls", creds + envelope, "starttls"),
                ("SMTPS", "implicit", creds + envelope, "implicit"),
                ("OPTTLS", "starttls", envelope, "starttls"),
                ("PLAIN", "none", envelope, "plain"),
                ("PLAINAUTH", "none", [], "plain")):
            with self.subTest(name):
                code, doc, err, _ = self.run_port(name, mode, *extra, env=env)
                self.assertEqual(doc["diagnosis"]["id"], "healthy",
                                 "%s\n%s" % (doc, err))
                self.assertEqual(code, 0)
                self.assertEqual(doc["detected_mode"], detected)

    def test_smtps_port_without_tls_flag_is_detected_as_implicit(self):
        e = self.env
        code, doc, _, _ = mwtest.run_json(
            ["doctor", "127.0.0.1:%s" % e["RIG_SMTPS_PORT"],
             "--greeting-timeout", "2s"])
        self.assertEqual(doc["diagnosis"]["id"],
                         "tls_mode_mismatch_expected_implicit")
        self.assertEqual(doc["detected_mode"], "implicit")

    def test_submission_with_implicit_is_detected_as_starttls(self):
        code, doc, _, _ = self.run_port("SUBMISSION", "implicit")
        self.assertEqual(doc["diagnosis"]["id"],
                         "tls_mode_mismatch_expected_plain")
        self.assertEqual(doc["detected_mode"], "starttls")
        self.assertIn("--tls starttls", doc["diagnosis"]["fix"])

    def test_wrong_password_on_the_real_server(self):
        e = self.env
        code, doc, _, _ = self.run_port(
            "SUBMISSION", "starttls", "--user", e["RIG_USER1"],
            "--password-env", "PW", env={"PW": "not-the-password"})
        self.assertEqual(doc["diagnosis"]["id"], "auth_failed")
        self.assertEqual(code, 17)

    def test_unknown_recipient_on_the_real_server(self):
        e = self.env
        code, doc, _, _ = self.run_port(
            "SUBMISSION", "starttls", "--user", e["RIG_USER1"],
            "--password-env", "PW", "--from", e["RIG_USER1"], "--to",
            "carol@example.test", env={"PW": e["RIG_PASS1"]})
        self.assertEqual(doc["diagnosis"]["id"], "recipient_unknown")
        self.assertEqual(code, 18)


if __name__ == "__main__":
    unittest.main(verbosity=2)

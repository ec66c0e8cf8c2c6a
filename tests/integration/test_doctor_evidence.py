"""mailwire doctor follows the evidence (issue 9, item 7): table-driven,
against the scriptable misbehaving server.  Each row: what the server does,
the options, the cause doctor must name, its exit code, and words the
summary, the fix or a check must (or must not) contain.

Why: a diagnosis that borrows the nearest cause (a firewall fix for a
refused EHLO, "wrong password" for an expired OAuth token, "--tls implicit"
for a port that is silent in every mode) sends the user the wrong way."""

import base64
import json
import os
import shutil
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import fakesmtp  # noqa: E402
import mwtest  # noqa: E402
import netnsrig  # noqa: E402
import rigutil  # noqa: E402

CERT_DIR = CA = CERT = KEY = None
PASSWORD = "Evidence-pw-7731"
TOKEN = "ya29.evidence-token-4412"
GREETING_TIMEOUT = 2


def setUpModule():
    global CERT_DIR, CA, CERT, KEY
    CERT_DIR, (CA, CERT, KEY) = fakesmtp.temp_certs()


def tearDownModule():
    shutil.rmtree(CERT_DIR, ignore_errors=True)


def doctor(target, *extra, env=None):
    args = ["doctor", target, "--greeting-timeout",
            "%ds" % GREETING_TIMEOUT, "--timeout", "5s", "--tls-ca-file", CA]
    return mwtest.run_json(args + list(extra), env=env)


def checks(doc, layer):
    return [c for c in doc["checks"] if c["layer"] == layer]


CREDS = ("--user", "u@example.org", "--password-env", "PW")
OAUTH = ("--user", "u@example.org", "--oauth2-token-cmd", "printf %s " + TOKEN)
ENVELOPE = ("--from", "alice@example.org", "--to", "bob@example.org")


def rcpt(reply):
    return {"rcpt_replies": {"bob@example.org": reply}}


# name, server settings, doctor options, cause, exit code,
# words the summary must contain, words the fix must contain,
# words neither may contain
TABLE = [
    # (2) 4xx by enhanced code and words: each its own cause and fix
    ("greylisting", rcpt("450 4.2.0 <bob@example.org>: Recipient address "
                         "rejected: Greylisted, see http://example.org/"),
     ENVELOPE, "greylisted", 19, ["RCPT TO", "Greylisted"], ["retry"], []),
    ("sender throttle", rcpt("450 4.7.1 Sender rate limit exceeded for "
                             "alice@example.org"),
     ENVELOPE, "rate_limited_sender", 19, ["rate limit"], ["quota"], []),
    ("connection throttle", rcpt("421 4.7.0 mx.example.org Error: too "
                                 "many connections from 127.0.0.1"),
     ENVELOPE, "rate_limited_connection", 19, ["too many connections"],
     ["fewer connections"], []),
    ("mailbox full", rcpt("452 4.2.2 <bob@example.org>: Mailbox full"),
     ENVELOPE, "mailbox_full", 18, ["Mailbox full"], ["room"], []),
    ("connection throttle in the greeting",
     {"greeting": "421 4.7.0 mx.example.org Error: too many connections "
                  "from 127.0.0.1"},
     (), "rate_limited_connection", 19, ["too many connections"],
     ["fewer connections"], []),
    ("DNS failure on the server's side",
     {"mail_reply": "451 4.3.0 <alice@example.org>: Temporary lookup "
                    "failure"},
     ENVELOPE, "server_dns_failure", 19, ["MAIL FROM", "lookup failure"],
     ["name servers"], []),
    ("policy delay", rcpt("450 4.7.1 Client host rejected: cannot find "
                          "your reverse hostname, [127.0.0.1]"),
     ENVELOPE, "policy_delay", 19, ["reverse hostname"], ["PTR"], []),
    ("a reply that fits no cause is quoted",
     rcpt("550 Computer says no"), ENVELOPE, "unknown_reply", 20,
     ["RCPT TO <bob@example.org>", "fits none", "Computer says no"],
     ["recipient"], ["firewall"]),
    # (3) a refusal at each step names the step and the objection
    ("EHLO and HELO refused",
     {"ehlo_reply": "550 5.7.1 Your EHLO name is not welcome",
      "helo_reply": "550 5.7.1 Your HELO name is not welcome"},
     (), "ehlo_rejected", 13, ["EHLO/HELO", "not welcome"], ["--helo"],
     ["firewall"]),
    ("STARTTLS refused", {"starttls_reply": "454 4.7.0 TLS not available "
                                            "due to local problem"},
     (), "starttls_not_offered", 14, ["STARTTLS", "TLS not available"],
     [], ["firewall"]),
    ("AUTH refused with a reply that fits no cause",
     {"auth": "PLAIN", "auth_reply": "550 Not today"}, CREDS,
     "unknown_reply", 20, ["AUTH", "Not today"], ["--user"],
     ["firewall"]),
    ("MAIL refused with a reply that fits no cause",
     {"mail_reply": "550 Nope"}, ENVELOPE, "unknown_reply", 20,
     ["MAIL FROM <alice@example.org>", "Nope"], ["--from"], ["firewall"]),
    ("MAIL refused: bad syntax is not a firewall problem",
     {"mail_reply": "501 5.5.2 Syntax error in parameters"}, ENVELOPE,
     "unknown_reply", 20, ["MAIL FROM", "Syntax error"], [], ["firewall"]),
    # (4) another protocol on the port
    ("IMAP on the port", {"greeting": "* OK [CAPABILITY IMAP4rev1] ready"},
     (), "wrong_protocol", 13, ["IMAP"], ["587", "465"], []),
    ("POP3 on the port", {"greeting": "+OK POP3 server ready"}, (),
     "wrong_protocol", 13, ["POP3"], ["587"], []),
    ("SSH on the port", {"greeting": "SSH-2.0-OpenSSH_9.6"}, (),
     "wrong_protocol", 13, ["SSH"], ["587"], []),
    ("HTTP on the port", {"greeting": "HTTP/1.1 400 Bad Request"}, (),
     "wrong_protocol", 13, ["HTTP"], ["587"], []),
    ("IMAP on the port, asked for implicit TLS",
     {"greeting": "* OK IMAP4rev1 ready"}, ("--tls", "implicit"),
     "wrong_protocol", 13, ["IMAP"], ["587"], []),
    # (5) OAuth and authentication required
    ("OAuth token refused (334 JSON)",
     {"auth": "XOAUTH2", "oauth_error": json.dumps(
         {"status": "invalid_token", "schemes": "Bearer",
          "scope": "https://mail.google.com/"}),
      "auth_reply": "535 5.7.8 Username and Password not accepted"},
     OAUTH, "auth_token_rejected", 17, ["invalid_token", "OAuth"],
     ["fresh access token"], ["app password"]),
    ("authentication required at RCPT without credentials",
     rcpt("530 5.7.0 Authentication required"), ENVELOPE, "auth_required",
     17, ["RCPT TO"], ["--user"], []),
    ("authentication required at MAIL (5.7.57)",
     {"mail_reply": "530 5.7.57 Client not authenticated to send mail"},
     ENVELOPE, "auth_required", 17, ["MAIL FROM"], ["--user"], []),
    # (9) host-name mismatch lists the certificate's names
    ("host name mismatch lists the names", {},
     ("--tls-server-name", "mail.other.example"), "cert_hostname_mismatch",
     16, ["localhost", "127.0.0.1"], ["localhost"], []),
]


class Table(unittest.TestCase):
    def test_table(self):
        for (name, settings, options, cause, code_expected, in_summary,
             in_fix, nowhere) in TABLE:
            with self.subTest(name):
                with fakesmtp.FakeSMTP(cert=CERT, key=KEY, **settings) as f:
                    code, doc, err, secs = doctor(
                        "127.0.0.1:%d" % f.port, *options,
                        env={"PW": PASSWORD})
                dg = doc["diagnosis"]
                self.assertEqual(dg["id"], cause, "%s\n%s" % (doc, err))
                self.assertEqual(code, code_expected, doc)
                self.assertEqual(dg["exit_code"], code)
                for w in in_summary:
                    self.assertIn(w, dg["summary"], doc)
                for w in in_fix:
                    self.assertIn(w, dg["fix"], doc)
                for w in nowhere:
                    self.assertNotIn(w, dg["summary"] + dg["fix"], doc)
                text = json.dumps(doc) + err
                for secret in (PASSWORD, TOKEN,
                               base64.b64encode(TOKEN.encode()).decode()):
                    self.assertNotIn(secret, text)


class SilentPort(unittest.TestCase):
    """(1) A port silent in plaintext is tried with implicit TLS at the
    same time: the answer within the greeting timeout plus one second."""

    def test_silent_in_every_mode(self):
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY, silent=True) as f:
            code, doc, err, secs = doctor("127.0.0.1:%d" % f.port)
        dg = doc["diagnosis"]
        self.assertEqual(dg["id"], "greeting_timeout", doc)
        self.assertEqual(code, 13)
        self.assertLess(secs, mwtest.bound(GREETING_TIMEOUT + 1), doc)
        # what each mode did, and no advice to use the mode that failed
        self.assertIn("plaintext", checks(doc, "greeting")[0]["evidence"])
        self.assertIn("implicit TLS, tried at the same time",
                      checks(doc, "tls")[0]["evidence"])
        self.assertIn("neither", dg["summary"] + " neither")
        self.assertIn("implicit TLS", dg["summary"])
        self.assertNotIn("use --tls implicit", dg["fix"])
        self.assertNotIn("--tls implicit (", dg["fix"])
        self.assertIn("it was tried", dg["fix"])
        self.assertGreaterEqual(checks(doc, "greeting")[0]["ms"],
                                GREETING_TIMEOUT * 1000 - 100)

    def test_implicit_port_found_at_the_same_time(self):
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY, implicit_tls=True,
                               starttls=False) as f:
            code, doc, err, secs = doctor("127.0.0.1:%d" % f.port)
        self.assertEqual(doc["diagnosis"]["id"],
                         "tls_mode_mismatch_expected_implicit", doc)
        self.assertIn("use --tls implicit", doc["diagnosis"]["fix"])
        self.assertLess(secs, mwtest.bound(GREETING_TIMEOUT + 1))


class SilentPortFilteredAlternatives(unittest.TestCase):
    """(1) The bound holds even when the other submission ports are
    filtered (their SYNs dropped, in a network namespace this test
    creates): the alternatives get only the time left."""

    @classmethod
    def setUpClass(cls):
        why = netnsrig.Namespace.unavailable()
        if why:
            raise unittest.SkipTest(why)
        cls.ns = netnsrig.Namespace("mwsilent",
                                    drop_ports=[25, 465, 587, 2525]).start()
        try:
            cls.ns.serve(2600, CERT, KEY, "--silent")
        except Exception:
            cls.ns.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.ns.stop()

    def test_answer_within_greeting_timeout_plus_one_second(self):
        import time
        t0 = time.monotonic()
        code, out = self.ns.run(
            mwtest.command(mwtest.MAILWIRE, "doctor", "127.0.0.1:2600",
                           "--json", "--greeting-timeout",
                           "%ds" % GREETING_TIMEOUT, "--tls-ca-file", CA))
        secs = time.monotonic() - t0
        doc = json.loads(out)
        self.assertEqual(doc["diagnosis"]["id"], "greeting_timeout", doc)
        self.assertLess(secs, mwtest.bound(GREETING_TIMEOUT + 1), doc)
        self.assertNotIn("use --tls implicit", doc["diagnosis"]["fix"])
        alt = checks(doc, "alternatives")
        self.assertTrue(alt and "465" in alt[0]["evidence"], doc)


class RowsKept(unittest.TestCase):
    """(6) When a later step fails, the rows already measured stay, with
    the time they really took."""

    def test_auth_failure_keeps_tls_certificate_and_ehlo(self):
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY, auth="PLAIN LOGIN",
                               auth_reply="535 5.7.8 Authentication failed",
                               ehlo_delay=0.3) as f:
            code, doc, err, _ = doctor("127.0.0.1:%d" % f.port, *CREDS,
                                       env={"PW": PASSWORD})
        self.assertEqual(doc["diagnosis"]["id"], "auth_failed", doc)
        layers = [c["layer"] for c in doc["checks"]]
        for layer in ("greeting", "tls", "certificate", "ehlo", "auth"):
            self.assertIn(layer, layers, doc)
        ehlo = checks(doc, "ehlo")[0]
        self.assertIn("AUTH PLAIN LOGIN", ehlo["evidence"])
        # two EHLOs (before and after STARTTLS), each delayed 0.3 s
        self.assertGreaterEqual(ehlo["ms"], 550, doc)
        self.assertEqual(checks(doc, "auth")[0]["status"], "fail")

    def test_envelope_failure_keeps_auth(self):
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY, auth="PLAIN",
                               mail_reply="553 5.7.1 Sender address "
                                          "rejected: not owned by user") as f:
            code, doc, err, _ = doctor("127.0.0.1:%d" % f.port, *CREDS,
                                       *ENVELOPE, env={"PW": PASSWORD})
        self.assertEqual(doc["diagnosis"]["id"], "sender_rejected", doc)
        self.assertEqual(checks(doc, "auth")[0]["status"], "ok")
        self.assertIn("MAIL FROM", doc["diagnosis"]["summary"])


class Bind(unittest.TestCase):
    """(7) --bind to an address this machine does not have is a
    configuration error, for doctor and for send (no packet leaves: the
    bind itself fails)."""

    ABSENT = "192.0.2.77"  # TEST-NET-1: never an address of this machine

    def test_doctor(self):
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY) as f:
            code, doc, err, _ = doctor("127.0.0.1:%d" % f.port, "--bind",
                                       self.ABSENT)
        self.assertEqual(doc["diagnosis"]["id"], "bind_address_unavailable",
                         doc)
        self.assertEqual(code, 22)
        self.assertIn(self.ABSENT, doc["diagnosis"]["summary"])
        self.assertNotIn("refused", doc["diagnosis"]["summary"])

    def test_send(self):
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY) as f:
            code, out, err, _ = mwtest.run(
                ["send", "--server", "127.0.0.1:%d" % f.port, "--tls",
                 "starttls", "--tls-ca-file", CA, "--bind", self.ABSENT,
                 "--from", "a@example.org", "--to", "b@example.org",
                 "--subject", "s", "--body", "b"])
        self.assertEqual(code, 78, out + err)
        self.assertIn("--bind %s" % self.ABSENT, err)
        self.assertNotIn("refused", err)


class TlsVersion(unittest.TestCase):
    """(8) A TLS version refusal on an implicit-TLS port is
    tls_version_mismatch; a fallback below --tls-min is a warning row."""

    def test_implicit_port_refuses_the_version(self):
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY, implicit_tls=True,
                               starttls=False, tls_max="1.2") as f:
            code, doc, err, _ = doctor("127.0.0.1:%d" % f.port, "--tls",
                                       "implicit", "--tls-min", "1.3",
                                       "--tls-strict")
        self.assertEqual(doc["diagnosis"]["id"], "tls_version_mismatch", doc)
        self.assertEqual(code, 15)

    def test_fallback_is_a_warning_row(self):
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY, implicit_tls=True,
                               starttls=False, tls_max="1.2") as f:
            code, doc, err, _ = doctor("127.0.0.1:%d" % f.port, "--tls",
                                       "implicit", "--tls-min", "1.3")
        self.assertEqual(doc["diagnosis"]["id"], "healthy", doc)
        tls = checks(doc, "tls")[0]
        self.assertEqual(tls["status"], "warn", doc)
        self.assertIn("BELOW --tls-min 1.3", tls["evidence"])


class Pasteable(unittest.TestCase):
    """(10) The "use ..." line can be pasted: IPv6 literals bracketed, the
    CA file and PROXY-protocol settings kept."""

    def test_ipv6_bracketed_and_ca_kept(self):
        f = fakesmtp.FakeSMTP(cert=CERT, key=KEY)
        try:
            f.start(host="::1")
        except OSError as e:
            self.skipTest("no IPv6 loopback: %s" % e)
        try:
            code, doc, err, _ = doctor("[::1]:%d" % f.port, "--tls", "none")
        finally:
            f.stop()
        self.assertEqual(doc["diagnosis"]["id"], "healthy", (doc, err))
        fix = doc["diagnosis"]["fix"]
        self.assertIn("--server [::1]:%d --tls none" % f.port, fix)
        self.assertIn("--tls-ca-file %s" % CA, fix)

    def test_the_line_works_when_pasted(self):
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY) as f:
            code, doc, err, _ = doctor("127.0.0.1:%d" % f.port)
            fix = doc["diagnosis"]["fix"]
            line = fix[fix.index("--server"):]
            import shlex
            code, out, err, _ = mwtest.run(
                ["send"] + shlex.split(line) +
                ["--from", "a@example.org", "--to", "b@example.org",
                 "--subject", "s", "--body", "b"])
        self.assertEqual(code, 0, out + err)


class PasteableOnTheRig(unittest.TestCase):
    """(10) On the real Postfix's PROXY-protocol port: the healthy line
    keeps --proxy-protocol and the CA file, and works when pasted."""

    @classmethod
    def setUpClass(cls):
        path = os.environ.get("MW_RIG_ENV")
        if not path or not os.path.exists(path):
            raise unittest.SkipTest("no rig (run through ctest)")
        cls.env = rigutil.load_env(path)

    def test_proxy_protocol_kept(self):
        import shlex
        e = self.env
        port = int(e["RIG_HAPROXY_PORT"])
        code, doc, err, _ = mwtest.run_json(
            ["doctor", "127.0.0.1:%d" % port, "--tls", "none",
             "--proxy-protocol", "v1", "--tls-ca-file", e["RIG_CA_FILE"]])
        self.assertEqual(doc["diagnosis"]["id"], "healthy", (doc, err))
        fix = doc["diagnosis"]["fix"]
        self.assertIn("--proxy-protocol v1", fix)
        self.assertIn("--tls-ca-file %s" % e["RIG_CA_FILE"], fix)
        line = shlex.split(fix[fix.index("--server"):])
        code, doc, err, _ = mwtest.run_json(
            ["send"] + line + ["--from", e["RIG_USER1"], "--to",
                               e["RIG_USER1"], "--body", "pasted"])
        self.assertEqual(code, 0, err)


class ProbeRows(unittest.TestCase):
    """(4) probe names the protocol heard, per row."""

    def test_imap_port(self):
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY,
                               greeting="* OK IMAP4rev1 ready") as f:
            code, doc, err, _ = mwtest.run_json(
                ["probe", "127.0.0.1", "--ports", str(f.port),
                 "--greeting-timeout", "2s"])
        rows = doc["results"]
        self.assertTrue(rows, doc)
        for row in rows:
            self.assertEqual(row["outcome"], "wrong_protocol", doc)
            self.assertIn("IMAP", row["detail"])


class ProbeRecommendation(unittest.TestCase):
    """(10) probe's send flags and profile block keep the path settings:
    the CA file and --bind (PROXY protocol and proxy likewise)."""

    def test_bind_and_ca_kept(self):
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY) as f:
            code, doc, err, _ = mwtest.run_json(
                ["probe", "127.0.0.1", "--ports", str(f.port),
                 "--greeting-timeout", "2s", "--tls-ca-file", CA,
                 "--bind", "127.0.0.1"])
        rec = doc["recommended"]
        self.assertIn("--tls-ca-file %s" % CA, rec["send_flags"], doc)
        self.assertIn("--bind 127.0.0.1", rec["send_flags"])
        self.assertIn("tls_trust_file %s" % CA, rec["profile"])
        self.assertIn("source_ip 127.0.0.1", rec["profile"])


class Send(unittest.TestCase):
    """send's own messages: the protocol heard, the certificate's names."""

    def test_send_hostname_mismatch_lists_names(self):
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY) as f:
            code, out, err, _ = mwtest.run(
                ["send", "--server", "127.0.0.1:%d" % f.port, "--tls",
                 "starttls", "--tls-ca-file", CA, "--tls-server-name",
                 "mail.other.example", "--from", "a@example.org", "--to",
                 "b@example.org", "--subject", "s", "--body", "b"])
        self.assertEqual(code, 78, err)
        self.assertIn("valid for: localhost, 127.0.0.1", err)

    def test_send_to_an_imap_port(self):
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY,
                               greeting="* OK IMAP4rev1 ready") as f:
            code, out, err, _ = mwtest.run(
                ["send", "--server", "127.0.0.1:%d" % f.port, "--tls",
                 "starttls", "--from", "a@example.org", "--to",
                 "b@example.org", "--subject", "s", "--body", "b"])
        self.assertNotEqual(code, 0)
        self.assertIn("speaks IMAP, not SMTP", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)

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
import netnsrig  # noqa: E402
import rigutil  # noqa: E402

class DnsRig(dnsrig.DnsRig):
    """dnsrig.DnsRig that tries another port when its free UDP port is
    taken over TCP (dnsmasq listens on both; the tests' many connections
    use ephemeral TCP ports from the same range)."""

    def start(self):
        for attempt in range(8):
            try:
                return super().start()
            except RuntimeError as e:
                self.stop()
                if "in use" not in str(e) or attempt == 7:
                    raise


CERT_DIR = CA = CERT = KEY = None
BAD = {}
PASSWORD = "Doctor-pw-5512"
# --from makes doctor check the sender domain's SPF, DMARC... records: the
# tests send those queries to an empty private dnsmasq (NXDOMAIN for the
# test domains), never to the system resolver.
QUIET_DNS = None


def setUpModule():
    global CERT_DIR, CA, CERT, KEY, BAD, QUIET_DNS
    CERT_DIR, (CA, CERT, KEY) = fakesmtp.temp_certs()
    BAD = fakesmtp.make_bad_certs(CERT_DIR, CA,
                                  os.path.join(CERT_DIR, "fake-ca.key"))
    QUIET_DNS = DnsRig([], zones=("example.test", "example.org"))
    QUIET_DNS.start()


def tearDownModule():
    shutil.rmtree(CERT_DIR, ignore_errors=True)
    if QUIET_DNS:
        QUIET_DNS.stop()


def doctor(port, *extra, ca=True, env=None):
    args = ["doctor", "127.0.0.1:%d" % port, "--greeting-timeout", "2s",
            "--timeout", "5s"]
    if ca:
        args += ["--tls-ca-file", CA]
    if "--dns-server" not in extra:
        args += ["--dns-server", QUIET_DNS.server]
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
    ("message too large", {"rcpt_replies": {"bob@example.org":
                           "552 5.3.4 Message size exceeds fixed limit"}},
     ENVELOPE, "message_too_large", 18),
    ("connection dropped mid-transaction", {"drop_after_mail": True},
     ENVELOPE, "temporary_failure", 19),
    ("AUTH only after TLS (as it should be)",
     {"auth": "PLAIN", "auth_after_tls_only": True}, CREDS,
     "healthy", 0),
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
        with DnsRig(self.RECORDS) as d:
            code, doc, _, _ = mwtest.run_json(
                ["doctor", "nosuch.example.test:587", "--dns-server",
                 d.server])
        self.assertEqual(doc["diagnosis"]["id"], "dns_not_found")
        self.assertEqual(code, 10)

    def test_name_without_address(self):
        with DnsRig(self.RECORDS) as d:
            code, doc, _, _ = mwtest.run_json(
                ["doctor", "noaddr.example.test:587", "--dns-server",
                 d.server])
        self.assertEqual(doc["diagnosis"]["id"], "dns_no_address")
        self.assertEqual(code, 10)

    def test_address_target_checks_the_mx(self):
        with DnsRig(self.RECORDS) as d, \
                fakesmtp.FakeSMTP(cert=CERT, key=KEY) as f:
            code, doc, err, _ = mwtest.run_json(
                ["doctor", "alice@example.test:%d" % f.port, "--dns-server",
                 d.server, "--tls-ca-file", CA, "--tls-server-name",
                 "localhost"])
        self.assertEqual(doc["diagnosis"]["id"], "healthy", doc)
        self.assertEqual(doc["host"], "mail.example.test")
        self.assertIn("MX of example.test: 10 mail.example.test",
                      doc["checks"][0]["evidence"])

    def test_bare_domain_with_mx_checks_the_mx(self):
        with dnsrig.DnsRig(self.RECORDS) as d:
            code, doc, _, _ = mwtest.run_json(
                ["doctor", "example.test", "--dns-server", d.server,
                 "--connect-timeout", "1s"])
        self.assertEqual(doc["host"], "mail.example.test", doc)
        self.assertEqual(doc["port"], 25)
        self.assertIn("MX of example.test", doc["checks"][0]["evidence"])

    def test_unknown_mail_domain(self):
        with DnsRig(self.RECORDS) as d:
            code, doc, _, _ = mwtest.run_json(
                ["doctor", "bob@nosuch.example.test", "--dns-server",
                 d.server])
        self.assertEqual(doc["diagnosis"]["id"], "dns_not_found")
        self.assertEqual(code, 10)


def checks(doc, layer):
    return [c for c in doc["checks"] if c["layer"] == layer]


class Deliverability(unittest.TestCase):
    """SPF, DMARC, DKIM, MTA-STS, TLS-RPT and DNSBL checks against records
    served by a private dnsmasq (every query goes to it: --dns-server)."""

    GOOD = ["txt-record=example.test,v=spf1 include:_spf.example.test -all",
            "txt-record=_spf.example.test,v=spf1 ip4:127.0.0.1 mx ~all",
            "txt-record=_dmarc.example.test,v=DMARC1; p=reject; "
            "rua=mailto:dmarc@example.test",
            "txt-record=s1._domainkey.example.test,v=DKIM1; k=rsa; "
            "p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC",
            "txt-record=_mta-sts.example.test,v=STSv1; id=20260101",
            "txt-record=_smtp._tls.example.test,v=TLSRPTv1; "
            "rua=mailto:tls@example.test"]
    ZONES = ("example.test", "bad.test", "bl.example.test")
    LISTED = ["host-record=1.0.0.127.bl.example.test,127.0.0.2",
              "txt-record=1.0.0.127.bl.example.test,"
              "127.0.0.1 listed for testing"]

    def run_doctor(self, records, *extra, fake=None):
        with DnsRig(records, zones=self.ZONES) as d, \
                fakesmtp.FakeSMTP(cert=CERT, key=KEY, **(fake or {})) as f:
            code, doc, err, _ = doctor(f.port, "--dns-server", d.server,
                                       *extra, env={"PW": PASSWORD})
            with open(d.log) as lf:
                log = lf.read()
        return code, doc, err, log

    def test_all_records_good_stays_healthy(self):
        code, doc, err, _ = self.run_doctor(
            self.GOOD + self.LISTED, "--domain", "example.test",
            "--dkim-selector", "s1", "--dnsbl", "bl.example.test")
        self.assertEqual(doc["diagnosis"]["id"], "healthy", doc)
        self.assertEqual(code, 0)
        for layer in ("spf", "dmarc", "dkim", "mta-sts", "tls-rpt"):
            self.assertEqual(checks(doc, layer)[0]["status"], "ok",
                             (layer, doc))
        spf = checks(doc, "spf")[0]["evidence"]
        self.assertIn("2 DNS lookups", spf)
        self.assertIn("policy reject", checks(doc, "dmarc")[0]["evidence"])
        # the server's address is listed: a warning, the diagnosis stays
        bl = checks(doc, "dnsbl")
        self.assertEqual(bl[0]["status"], "warn")
        self.assertIn("127.0.0.1 is listed on bl.example.test",
                      bl[0]["evidence"])
        self.assertIn("listed for testing", bl[0]["evidence"])

    def test_missing_records_are_warnings_only(self):
        code, doc, _, _ = self.run_doctor(
            [], "--from", "alice@example.test", "--to", "bob@example.test")
        self.assertEqual(doc["diagnosis"]["id"], "healthy", doc)
        self.assertEqual(code, 0)
        for layer in ("spf", "dmarc", "mta-sts", "tls-rpt"):
            self.assertEqual(checks(doc, layer)[0]["status"], "warn",
                             (layer, doc))
        self.assertIn("no DMARC record at _dmarc.example.test",
                      checks(doc, "dmarc")[0]["evidence"])
        self.assertEqual(checks(doc, "dkim")[0]["status"], "skipped")
        self.assertEqual(checks(doc, "dnsbl")[0]["status"], "skipped")

    def test_no_blocklist_query_by_default(self):
        _, doc, _, log = self.run_doctor(self.GOOD, "--domain",
                                         "example.test")
        self.assertNotIn("1.0.0.127.bl.example.test", log)
        self.assertIn("query[TXT] _dmarc.example.test", log)
        self.assertEqual(checks(doc, "dnsbl")[0]["status"], "skipped")

    def test_spf_problems(self):
        many = " ".join("include:i%d.example.test" % i for i in range(11))
        rows = [
            (["txt-record=example.test,v=spf1 -all",
              "txt-record=example.test,v=spf1 mx -all"], "permerror"),
            (["txt-record=example.test,v=spf1 " + many + " -all"] +
             ["txt-record=i%d.example.test,v=spf1 -all" % i
              for i in range(11)], "11 DNS lookups"),
            (["txt-record=example.test,v=spf1 include:loop.example.test",
              "txt-record=loop.example.test,"
              "v=spf1 include:example.test"], "loops"),
            (["txt-record=example.test,v=spf1 ip4:300.1.1.1 -all"],
             "syntax error"),
            (["txt-record=example.test,v=spf1 include:none.example.test"],
             "has no SPF record"),
        ]
        for records, needle in rows:
            with self.subTest(needle):
                code, doc, _, _ = self.run_doctor(records, "--domain",
                                                  "example.test")
                spf = checks(doc, "spf")[0]
                self.assertEqual(spf["status"], "warn", doc)
                self.assertIn(needle, spf["evidence"])
                self.assertEqual(doc["diagnosis"]["id"], "healthy")

    def test_dmarc_none_dkim_revoked_malformed(self):
        code, doc, _, _ = self.run_doctor(
            ["txt-record=_dmarc.example.test,v=DMARC1; p=none",
             "txt-record=s1._domainkey.example.test,v=DKIM1; p=",
             "txt-record=_mta-sts.example.test,v=STSv1",
             "txt-record=_smtp._tls.example.test,v=TLSRPTv1; rua=ftp://x"],
            "--domain", "example.test", "--dkim-selector", "s1")
        self.assertEqual(code, 0)
        self.assertIn("p=none", checks(doc, "dmarc")[0]["evidence"])
        self.assertIn("revoked", checks(doc, "dkim")[0]["evidence"])
        self.assertIn("id=", checks(doc, "mta-sts")[0]["evidence"])
        self.assertIn("rua=", checks(doc, "tls-rpt")[0]["evidence"])
        for layer in ("dmarc", "dkim", "mta-sts", "tls-rpt"):
            self.assertEqual(checks(doc, layer)[0]["status"], "warn")

    def test_dmarc_refusal_cites_the_missing_record(self):
        code, doc, err, _ = self.run_doctor(
            ["txt-record=example.test,v=spf1 mx -all"], "--from",
            "alice@example.test", "--to", "bob@example.org",
            fake={"rcpt_replies": {"bob@example.org":
                  "550 5.7.26 Unauthenticated email from example.test is "
                  "not accepted due to domain's DMARC policy"}})
        dg = doc["diagnosis"]
        self.assertEqual(dg["id"], "spf_dmarc_rejected", (doc, err))
        self.assertEqual(code, 18)
        self.assertIn("no DMARC record for example.test", dg["summary"])
        self.assertIn("_dmarc.example.test", dg["fix"])

    def test_blocklist_refusal_cites_the_listing(self):
        code, doc, err, _ = self.run_doctor(
            self.GOOD + self.LISTED, "--from", "alice@example.test", "--to",
            "bob@example.org", "--dnsbl", "bl.example.test",
            fake={"rcpt_replies": {"bob@example.org":
                  "554 5.7.1 Service unavailable; Client host [127.0.0.1] "
                  "blocked using bl.example.test"}})
        dg = doc["diagnosis"]
        self.assertEqual(dg["id"], "blocklisted", (doc, err))
        self.assertEqual(code, 18)
        self.assertIn("127.0.0.1 is listed on bl.example.test",
                      dg["summary"])
        self.assertIn("delist", dg["fix"])

    def test_record_of_several_strings_is_joined(self):
        # dnsmasq: commas split one TXT record into strings (RFC 7208 3.3)
        code, doc, _, _ = self.run_doctor(
            ["txt-record=example.test,v=spf1 ip4:127.0.0.1 ,mx -all"],
            "--domain", "example.test")
        spf = checks(doc, "spf")[0]
        self.assertEqual(spf["status"], "ok", doc)
        self.assertIn('"v=spf1 ip4:127.0.0.1 mx -all"', spf["evidence"])
        self.assertIn("1 DNS lookup ", spf["evidence"])

    def test_blocklist_refusal_at_greeting_and_auth(self):
        text = ("554 5.7.1 Client host [127.0.0.1] blocked using "
                "bl.example.test")
        for name, fake, extra in (
                ("greeting", {"greeting": text}, ()),
                ("auth", {"auth": "PLAIN", "auth_reply": text}, CREDS)):
            with self.subTest(name):
                code, doc, err, _ = self.run_doctor(
                    self.LISTED, "--dnsbl", "bl.example.test", *extra,
                    fake=fake)
                dg = doc["diagnosis"]
                self.assertEqual(dg["id"], "blocklisted", (doc, err))
                self.assertIn("127.0.0.1 is listed on bl.example.test",
                              dg["summary"])

    def test_spf_refusal_at_auth_cites_spf(self):
        code, doc, err, _ = self.run_doctor(
            [], "--domain", "example.test", *CREDS,
            fake={"auth": "PLAIN", "auth_reply": "550 5.7.23 SPF validation "
                  "failed for example.test"})
        dg = doc["diagnosis"]
        self.assertEqual(dg["id"], "spf_dmarc_rejected", (doc, err))
        self.assertIn("no SPF record for example.test", dg["summary"])
        self.assertIn("SPF record", dg["fix"])

    def test_usage(self):
        for args in (["doctor", "h", "--domain", "not a domain"],
                     ["doctor", "h", "--dnsbl", ","],
                     ["doctor", "h", "--dkim-selector", "a b"],
                     ["send", "--domain", "example.test"]):
            code, _, err, _ = mwtest.run(args)
            self.assertEqual(code, 64, (args, err))


class FilteredPort(unittest.TestCase):
    """A port whose SYNs are dropped, in a network namespace this test
    creates (loopback only, an nftables DROP rule): doctor says filtered
    (port 25: blocked), and tries 465, 587 and 2525 at once."""

    @classmethod
    def setUpClass(cls):
        why = netnsrig.Namespace.unavailable()
        if why:
            raise unittest.SkipTest(why)
        cls.ns = netnsrig.Namespace("mwdoctor", drop_ports=[25, 2526]).start()
        try:
            cls.ns.serve(465, CERT, KEY, "--implicit")
            cls.ns.serve(2525, CERT, KEY)
        except Exception:
            cls.ns.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.ns.stop()

    def doctor(self, target):
        import json
        code, out = self.ns.run(
            mwtest.command(mwtest.MAILWIRE, "doctor", target, "--json",
                           "--connect-timeout", "1s", "--tls-ca-file", CA))
        return code, json.loads(out)

    def test_port25_blocked_and_alternatives(self):
        code, doc = self.doctor("127.0.0.1:25")
        self.assertEqual(doc["diagnosis"]["id"], "port25_blocked", doc)
        self.assertEqual(code, 12)
        alt = [c for c in doc["checks"] if c["layer"] == "alternatives"][0]
        self.assertIn("465 --tls implicit: works", alt["evidence"])
        self.assertIn("2525 --tls starttls: works", alt["evidence"])
        self.assertIn("587 --tls starttls: could not connect", alt["evidence"])
        self.assertIn("--server 127.0.0.1:465 --tls implicit",
                      doc["diagnosis"]["fix"])

    def test_filtered_other_port(self):
        code, doc = self.doctor("127.0.0.1:2526")
        self.assertEqual(doc["diagnosis"]["id"], "tcp_filtered", doc)
        self.assertEqual(code, 12)
        tcp = [c for c in doc["checks"] if c["layer"] == "tcp"][0]
        self.assertIn("timed out", tcp["evidence"])


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
             mode, "--tls-ca-file", e["RIG_CA_FILE"], "--dns-server",
             QUIET_DNS.server] + list(extra), env=env)

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

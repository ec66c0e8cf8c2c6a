"""mailwire against real servers: a private Postfix + Dovecot started on
loopback by tests/rig/rig.sh (CTest fixture `rig`).  These are the
foundation's "must show" checks: every security mode delivers byte-identical
bodies, every SASL mechanism Dovecot offers authenticates, bad passwords,
missing STARTTLS and untrusted certificates fail cleanly before anything
secret is sent, and refused recipients are reported while the others get
the mail."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import fakesmtp  # noqa: E402
import mwtest  # noqa: E402
import netnsrig  # noqa: E402
import rigutil  # noqa: E402

ENV = None


def setUpModule():
    global ENV
    path = os.environ.get("MW_RIG_ENV")
    if not path or not os.path.exists(path):
        raise unittest.SkipTest("no rig: MW_RIG_ENV is not set (run through "
                                "ctest, which starts the rig)")
    ENV = rigutil.load_env(path)


def port(name):
    return int(ENV["RIG_%s_PORT" % name])


ALICE, BOB = "alice@example.test", "bob@example.test"

# A body that exercises the DATA encoder: lines starting with dots, a lone
# dot, bare LF line endings, UTF-8 free (7-bit) so every mode accepts it.
RAW_BODY = b"first line\n.starts with a dot\n..two dots\n.\nlast line\n"
WIRE_BODY = (b"first line\r\n.starts with a dot\r\n..two dots\r\n.\r\n"
             b"last line\r\n")


def message_file(subject):
    raw = (b"From: alice@example.test\nTo: bob@example.test\nSubject: " +
           subject.encode() + b"\n\n" + RAW_BODY)
    f = tempfile.NamedTemporaryFile(delete=False, suffix=".eml")
    f.write(raw)
    f.close()
    return f.name


def base(port_name, *extra, ca=True):
    args = ["send", "--server", "127.0.0.1:%d" % port(port_name),
            "--from", ALICE]
    if ca:
        args += ["--tls-ca-file", ENV["RIG_CA_FILE"]]
    return args + list(extra)


def auth(user=ALICE, password_var="PW"):
    return ["--user", user, "--password-env", password_var]


def pw(password=None):
    return {"PW": password if password is not None else ENV["RIG_PASS1"]}


class RigTest(unittest.TestCase):
    def setUp(self):
        for user in ("alice", "bob"):
            rigutil.clear_mailbox(ENV, user)

    def fetch_bob(self, count=1):
        rigutil.wait_for_mail(ENV, "bob", count=count)
        return rigutil.pop3_fetch_all(ENV, BOB, ENV["RIG_PASS2"])

    def assert_no_mail(self, user="bob"):
        newdir = os.path.join(rigutil.mailbox_dir(ENV, user), "new")
        self.assertFalse(os.path.isdir(newdir) and os.listdir(newdir),
                         "unexpected mail for %s" % user)


class SecurityModes(RigTest):
    """A message sent in each security mode arrives, body byte-identical."""

    def send_file(self, port_name, mode, *extra, env=None):
        path = message_file("mode " + mode)
        try:
            code, doc, err, _ = mwtest.run_json(
                base(port_name, "--tls", mode, "--to", BOB, "--message", path,
                     *extra), env=env)
        finally:
            os.unlink(path)
        self.assertEqual(code, 0, "%s\n%s" % (doc, err))
        self.assertEqual(doc["message"]["delivery"], "accepted")
        self.assertTrue(doc["message"]["queue_id"])
        msgs = self.fetch_bob()
        self.assertEqual(len(msgs), 1)
        headers, body = rigutil.split_message(msgs[0])
        self.assertIn(b"Subject: mode " + mode.encode(), headers)
        self.assertEqual(body, WIRE_BODY)
        return doc

    def test_starttls_with_auth_on_submission(self):
        doc = self.send_file("SUBMISSION", "starttls", *auth(), env=pw())
        self.assertTrue(doc["server"]["tls"]["version"].startswith("TLSv1."))
        self.assertEqual(doc["server"]["tls_mode"], "starttls")

    def test_auto_means_starttls_required_on_a_non_465_port(self):
        doc = self.send_file("SUBMISSION", "auto", *auth(), env=pw())
        self.assertIsNotNone(doc["server"]["tls"])

    def test_implicit_tls_on_smtps(self):
        doc = self.send_file("SMTPS", "implicit", *auth(), env=pw())
        self.assertIsNotNone(doc["server"]["tls"])
        self.assertEqual(doc["server"]["tls_mode"], "implicit")

    def test_plaintext_port_with_tls_none(self):
        doc = self.send_file("PLAIN", "none")
        self.assertIsNone(doc["server"]["tls"])

    def test_starttls_optional_uses_tls_when_offered(self):
        doc = self.send_file("OPTTLS", "starttls-optional")
        self.assertIsNotNone(doc["server"]["tls"])

    def test_starttls_optional_falls_back_only_when_asked(self):
        doc = self.send_file("PLAIN", "starttls-optional")
        self.assertIsNone(doc["server"]["tls"])

    def test_maildir_copy_has_the_same_body(self):
        path = message_file("maildir")
        try:
            code, doc, err, _ = mwtest.run_json(
                base("PLAIN", "--tls", "none", "--to", BOB, "--message", path))
        finally:
            os.unlink(path)
        self.assertEqual(code, 0, err)
        raw = rigutil.wait_for_mail(ENV, "bob")[0]
        # Postfix stores Maildir files with LF line endings.
        self.assertEqual(rigutil.split_message(raw)[1],
                         WIRE_BODY.replace(b"\r\n", b"\n"))

    def test_composed_message_with_utf8_subject(self):
        code, doc, err, _ = mwtest.run_json(
            base("SUBMISSION", "--to", BOB, "--subject",
                 "Gr\u00fc\u00dfe aus K\u00f6ln", "--body",
                 "Caf\u00e9\n.dot line\n", *auth()), env=pw())
        self.assertEqual(code, 0, err)
        headers, body = rigutil.split_message(self.fetch_bob()[0])
        self.assertIn(b"Subject: =?", headers)  # RFC 2047 encoded
        import email
        import email.policy
        msg = email.message_from_bytes(headers + b"\r\n" + body,
                                       policy=email.policy.default)
        self.assertEqual(msg["subject"], "Gr\u00fc\u00dfe aus K\u00f6ln")
        self.assertEqual(msg.get_content(), "Caf\u00e9\n.dot line\n")


class Authentication(RigTest):
    def test_every_mechanism_dovecot_offers(self):
        mechs = ENV["RIG_AUTH_MECHS"].split()
        self.assertGreaterEqual(len(mechs), 6, mechs)
        for mech in mechs:
            with self.subTest(mech=mech):
                code, doc, err, _ = mwtest.run_json(
                    base("SUBMISSION", "--to", BOB, "--subject", mech,
                         "--body", "via " + mech, "--auth", mech, *auth()),
                    env=pw())
                self.assertEqual(code, 0, err)
                self.assertEqual(doc["server"]["auth_mechanism"], mech)
        self.assertEqual(len(self.fetch_bob(len(mechs))), len(mechs))

    def test_oauth2_bearer_mechanisms(self):
        mkjwt = os.path.join(os.path.dirname(__file__), "..", "rig", "mkjwt.py")
        env_file = os.environ["MW_RIG_ENV"]
        good = "%s %s --env %s --sub %s" % (sys.executable, mkjwt, env_file,
                                            ALICE)
        for mech in ENV["RIG_OAUTH_MECHS"].split():
            with self.subTest(mech=mech):
                code, out, err, _ = mwtest.run(
                    base("SUBMISSION", "--to", BOB, "--body", "x", "--auth",
                         mech, "--user", ALICE, "--oauth2-token-cmd", good,
                         "--json", "--trace"))
                self.assertEqual(code, 0, err)
                self.assertIn('"auth_mechanism":"%s"' % mech, out)
                self.assertNotIn("auth=Bearer", out + err)
                # A token signed with another key is refused: 535, exit 77.
                code, doc, err, _ = mwtest.run_json(
                    base("SUBMISSION", "--to", BOB, "--body", "x", "--auth",
                         mech, "--user", ALICE, "--oauth2-token-cmd",
                         good + " --wrong-key"))
                self.assertEqual(code, 77, err)
                self.assertEqual(doc["error"]["reply_code"], 535)

    def test_strongest_mechanism_by_default(self):
        code, doc, err, _ = mwtest.run_json(
            base("SUBMISSION", "--to", BOB, "--body", "x", *auth()), env=pw())
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["server"]["auth_mechanism"], "SCRAM-SHA-256")

    def test_wrong_password_fails_cleanly(self):
        for mech in ("PLAIN", "SCRAM-SHA-256"):
            with self.subTest(mech=mech):
                code, doc, err, _ = mwtest.run_json(
                    base("SUBMISSION", "--to", BOB, "--body", "x", "--auth",
                         mech, *auth()), env=pw("wrong-password"))
                self.assertEqual(code, 77, err)
                self.assertEqual(doc["error"]["status"], "MW_E_AUTH")
                self.assertEqual(doc["error"]["reply_code"], 535)
                self.assertEqual(doc["message"], None)
        self.assert_no_mail()

    def test_password_file_and_command_sources(self):
        with tempfile.NamedTemporaryFile("w", delete=False) as f:
            f.write(ENV["RIG_PASS1"] + "\n")
        try:
            code, _, err, _ = mwtest.run(
                base("SUBMISSION", "--to", BOB, "--body", "x", "--user",
                     ALICE, "--password-file", f.name))
            self.assertEqual(code, 0, err)
            code, _, err, _ = mwtest.run(
                base("SUBMISSION", "--to", BOB, "--body", "x", "--user",
                     ALICE, "--password-cmd", "cat " + f.name))
            self.assertEqual(code, 0, err)
        finally:
            os.unlink(f.name)
        code, _, err, _ = mwtest.run(
            base("SUBMISSION", "--to", BOB, "--body", "x", "--user", ALICE,
                 "--password-cmd", "exit 3"))
        self.assertEqual(code, 78)
        self.assertIn("exit status 3", err)

    def test_password_not_sent_in_clear(self):
        code, doc, err, _ = mwtest.run_json(
            base("PLAINAUTH", "--tls", "none", "--to", BOB, "--body", "x",
                 "--trace", *auth()), env=pw())
        self.assertEqual(code, 78)
        self.assertEqual(doc["error"]["status"], "MW_E_INSECURE")
        self.assertNotIn("-> AUTH", err)
        self.assert_no_mail()
        # Knowingly allowed, it works.
        code, doc, err, _ = mwtest.run_json(
            base("PLAINAUTH", "--tls", "none", "--to", BOB, "--body", "x",
                 "--allow-insecure-auth", *auth()), env=pw())
        self.assertEqual(code, 0, err)

    def test_secrets_stay_out_of_every_output(self):
        code, out, err, _ = mwtest.run(
            base("SUBMISSION", "--to", BOB, "--body", "x", "--trace",
                 "--json", "--auth", "PLAIN", *auth()), env=pw())
        self.assertEqual(code, 0, err)
        import base64
        secret = ENV["RIG_PASS1"]
        plain_ir = base64.b64encode(
            b"\0" + ALICE.encode() + b"\0" + secret.encode()).decode()
        for needle in (secret, plain_ir):
            self.assertNotIn(needle, out)
            self.assertNotIn(needle, err)


class TlsPolicy(RigTest):
    def test_starttls_required_but_not_offered(self):
        code, doc, err, _ = mwtest.run_json(
            base("PLAIN", "--tls", "starttls", "--to", BOB, "--body", "x",
                 "--trace", *auth()), env=pw())
        self.assertEqual(code, 78)
        self.assertEqual(doc["error"]["status"], "MW_E_NO_STARTTLS")
        self.assertNotIn("-> AUTH", err)
        self.assertNotIn("-> MAIL", err)
        self.assert_no_mail()

    def test_untrusted_certificate_refused_by_default(self):
        code, doc, err, _ = mwtest.run_json(
            base("SUBMISSION", "--to", BOB, "--body", "x", "--trace",
                 *auth(), ca=False), env=pw())
        self.assertEqual(code, 78)
        self.assertEqual(doc["error"]["status"], "MW_E_CERT")
        self.assertIn("--tls-ca-file", doc["error"]["message"])
        self.assertNotIn("-> AUTH", err)
        code, doc, err, _ = mwtest.run_json(
            base("SMTPS", "--tls", "implicit", "--to", BOB, "--body", "x",
                 *auth(), ca=False), env=pw())
        self.assertEqual(code, 78)
        self.assertEqual(doc["error"]["status"], "MW_E_CERT")
        self.assert_no_mail()

    def test_accepted_with_the_rig_ca_refused_with_another(self):
        code, doc, err, _ = mwtest.run_json(
            ["send", "--server", "127.0.0.1:%d" % port("SUBMISSION"),
             "--tls-ca-file", ENV["RIG_OTHER_CA_FILE"], "--from", ALICE,
             "--to", BOB, "--body", "x", *auth()], env=pw())
        self.assertEqual(code, 78)
        code, doc, err, _ = mwtest.run_json(
            base("SUBMISSION", "--to", BOB, "--body", "x", *auth()), env=pw())
        self.assertEqual(code, 0, err)
        self.assertIn("mail.example.test", doc["server"]["tls"]["peer_subject"])

    def test_tls_version_bounds(self):
        code, doc, err, _ = mwtest.run_json(
            base("SUBMISSION", "--to", BOB, "--body", "x", "--tls-max", "1.2",
                 *auth()), env=pw())
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["server"]["tls"]["version"], "TLSv1.2")


class Recipients(RigTest):
    def test_one_refused_one_accepted(self):
        code, doc, err, _ = mwtest.run_json(
            base("SUBMISSION", "--to", "carol@example.test", "--to", BOB,
                 "--subject", "partial", "--body", "x", *auth()), env=pw())
        self.assertEqual(code, 67, err)
        self.assertEqual(doc["status"], "partial")
        by_addr = {r["address"]: r for r in doc["recipients"]}
        self.assertFalse(by_addr["carol@example.test"]["accepted"])
        self.assertEqual(by_addr["carol@example.test"]["code"], 550)
        self.assertEqual(by_addr["carol@example.test"]["enhanced"], "5.1.1")
        self.assertTrue(by_addr[BOB]["accepted"])
        self.assertEqual(doc["message"]["delivery"], "accepted")
        headers, _ = rigutil.split_message(self.fetch_bob()[0])
        self.assertIn(b"Subject: partial", headers)

    def test_human_output_names_the_refused_recipient(self):
        code, out, err, _ = mwtest.run(
            base("SUBMISSION", "--to", "carol@example.test", "--to", BOB,
                 "--body", "x", *auth()), env=pw())
        self.assertEqual(code, 67)
        self.assertIn("carol@example.test", err)
        self.assertIn("550", err)
        self.assertIn("sent to 1 of 2", out)

    def test_cc_and_bcc_reach_the_envelope_only_cc_in_headers(self):
        code, doc, err, _ = mwtest.run_json(
            base("SUBMISSION", "--to", BOB, "--bcc", ALICE, "--subject", "bcc",
                 "--body", "x", *auth()), env=pw())
        self.assertEqual(code, 0, err)
        raw = rigutil.wait_for_mail(ENV, "alice")[0]
        self.assertNotIn(b"Bcc:", raw)

    def test_relay_denied_on_plain_port(self):
        code, doc, err, _ = mwtest.run_json(
            base("PLAIN", "--tls", "none", "--to", "someone@elsewhere.invalid",
                 "--body", "x"))
        self.assertEqual(code, 67)
        self.assertEqual(doc["recipients"][0]["code"], 554)


class Connection(RigTest):
    def test_several_messages_over_one_connection(self):
        helper = os.environ["MW_MULTI_SEND"]
        p = subprocess.run(
            mwtest.command(helper, "127.0.0.1:%d" % port("SUBMISSION"),
                           ENV["RIG_CA_FILE"], ALICE, ALICE, BOB, "5"),
            env={"MW_PASSWORD": ENV["RIG_PASS1"],
                 "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertEqual(len([l for l in lines if l.startswith("queued ")]), 5)
        self.assertIn("connections 1", lines)
        self.assertEqual(len(self.fetch_bob(5)), 5)

    def test_quit_goes_with_the_message(self):
        """`send` pipelines QUIT behind its one message's end (here the
        last BDAT chunk of a message larger than the first chunk): QUIT
        is written before the final reply is read, and both come back."""
        path = tempfile.NamedTemporaryFile(delete=False, suffix=".eml")
        try:
            path.write(b"From: alice@example.test\nTo: bob@example.test\n"
                       b"Subject: quit with the data\n\n" +
                       b"".join(b"line %06d of a large body\n" % i
                                for i in range(4000)))
            path.close()
            code, out, err, _ = mwtest.run(
                base("SUBMISSION", "--to", BOB, "--message", path.name,
                     "--trace", *auth()), env=pw())
        finally:
            os.unlink(path.name)
        self.assertEqual(code, 0, err)
        lines = err.splitlines()
        quit = next(i for i, l in enumerate(lines) if l.endswith("-> QUIT"))
        final = next(i for i, l in enumerate(lines) if "queued as" in l)
        self.assertLess(quit, final, err[-2000:])
        self.assertTrue(any("LAST" in l for l in lines[:quit]), err[-2000:])
        self.assertTrue(any("<- 221" in l for l in lines[final:]),
                        err[-2000:])
        self.assertEqual(len(self.fetch_bob(1)), 1)

    def test_send_many_pipelines_envelopes_behind_dots(self):
        """mw_smtp_send_many() against Postfix: with BDAT (its default)
        and with DATA (each envelope behind the previous dot), every
        message queued once, in one connection, each arrives once."""
        helper = os.environ["MW_MULTI_SEND"]
        for mode in ("many", "many-data"):
            with self.subTest(mode=mode):
                p = subprocess.run(
                    mwtest.command(helper,
                                   "127.0.0.1:%d" % port("SUBMISSION"),
                                   ENV["RIG_CA_FILE"], ALICE, ALICE, BOB,
                                   "12", mode),
                    env={"MW_PASSWORD": ENV["RIG_PASS1"],
                         "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
                    capture_output=True, text=True, timeout=60)
                self.assertEqual(p.returncode, 0, p.stderr)
                lines = p.stdout.splitlines()
                ids = [l.split()[1] for l in lines if l.startswith("queued ")]
                self.assertEqual(len(ids), 12)
                self.assertEqual(len(set(ids)), 12, ids)
                self.assertIn("connections 1", lines)
                rigutil.wait_for_mail(ENV, "bob", count=12)
                got = rigutil.pop3_fetch_all(ENV, BOB, ENV["RIG_PASS2"],
                                             delete=True)
                subjects = sorted(
                    int(re.search(rb"Subject: multi (\d+)", m).group(1))
                    for m in got)
                self.assertEqual(subjects, list(range(1, 13)))

    def test_bind_address_is_what_the_server_sees(self):
        code, doc, err, _ = mwtest.run_json(
            base("PLAIN", "--tls", "none", "--bind", "127.0.0.2", "--to", BOB,
                 "--body", "x"))
        self.assertEqual(code, 0, err)
        headers, _ = rigutil.split_message(rigutil.wait_for_mail(ENV, "bob")[0])
        self.assertIn(b"[127.0.0.2]", headers)

    def test_bind_ipv6_address_is_what_the_server_sees(self):
        """--bind with IPv6: in a namespace of our own whose loopback has
        two IPv6 addresses, the server greets the bound one."""
        why = netnsrig.Namespace.unavailable()
        if why:
            self.skipTest(why)
        server, bound = "fd00:6d77::1", "fd00:6d77::2"
        cert_dir, (_, cert, key) = fakesmtp.temp_certs()
        try:
            with netnsrig.Namespace("mwbind6",
                                    addresses=[server, bound]) as ns:
                ns.serve(2525, cert, key, "--host", server, "--no-starttls")
                code, out, err = ns.run_full(mwtest.command(
                    mwtest.MAILWIRE, "send", "--server", "[%s]:2525" % server,
                    "--tls", "none", "--bind", bound, "--from", ALICE, "--to",
                    BOB, "--body", "x", "--trace"))
                self.assertEqual(code, 0, err)
                # The server's EHLO reply names the source it saw.
                self.assertIn(b"fake.test greets [%s]" % bound.encode(), err)
                code, out, err = ns.run_full(mwtest.command(
                    mwtest.MAILWIRE, "send", "--server", "[%s]:2525" % server,
                    "--tls", "none", "--bind", "127.0.0.1", "--from", ALICE,
                    "--to", BOB, "--body", "x"))
        finally:
            shutil.rmtree(cert_dir, ignore_errors=True)
        self.assertIn(b"bind", err)
        self.assertNotEqual(code, 0)  # the wrong family: named, nothing sent

        # The HAPROXY port expects a PROXY header first; the address in it
        # is what Postfix records, so --bind 127.0.0.2 shows up there.
        for version in ("v1", "v2"):
            with self.subTest(version):
                rigutil.clear_mailbox(ENV, "bob")
                code, doc, err, _ = mwtest.run_json(
                    base("HAPROXY", "--tls", "none", "--proxy-protocol",
                         version, "--bind", "127.0.0.2", "--to", BOB,
                         "--body", "x"))
                self.assertEqual(code, 0, err)
                headers, _ = rigutil.split_message(
                    rigutil.wait_for_mail(ENV, "bob")[0])
                self.assertIn(b"[127.0.0.2]", headers)
        code, doc, err, _ = mwtest.run_json(
            base("HAPROXY", "--tls", "none", "--greeting-timeout", "1s",
                 "--to", BOB, "--body", "x"))
        self.assertEqual(code, 75)

    def test_refused_port_is_a_temporary_failure(self):
        # Port 1 on loopback: nothing listens there.
        code, doc, err, _ = mwtest.run_json(
            ["send", "--server", "127.0.0.1:1", "--from", ALICE, "--to", BOB,
             "--body", "x"])
        self.assertEqual(code, 75)
        self.assertEqual(doc["error"]["status"], "MW_E_CONNECT")
        self.assertIn("refused", doc["error"]["message"])

    def test_localhost_name_resolves(self):
        code, doc, err, _ = mwtest.run_json(
            ["send", "--server", "localhost:%d" % port("SUBMISSION"),
             "--tls-ca-file", ENV["RIG_CA_FILE"], "--from", ALICE, "--to",
             BOB, "--body", "x", "-4", *auth()], env=pw())
        self.assertEqual(code, 0, err)


if __name__ == "__main__":
    unittest.main(verbosity=2)

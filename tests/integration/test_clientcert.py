"""Client certificates (--tls-cert FILE, --tls-key FILE) and SASL EXTERNAL.

Against the scriptable server (fakesmtp.py): it asks for or requires a
client certificate, verifies it against the test CA, and offers AUTH
EXTERNAL, which it accepts only when a verified certificate was presented.
Against the real Postfix of the rig (CTest fixture `rig`): its submission
port asks for a client certificate (smtpd_tls_ask_ccert) and writes what
it saw into the Received header (smtpd_tls_received_header).  Postfix
cannot do SASL EXTERNAL (its Dovecot and Cyrus SASL back ends offer no
EXTERNAL to SMTP clients), so EXTERNAL itself is tested against the fake
server only.

Exit codes: a client certificate the server refuses or does not get when
it requires one is a TLS failure, 78 (EX_CONFIG); a certificate and key
that do not belong together (or cannot be loaded) are a usage error, 64
(EX_USAGE): the files given are wrong, the server was not at fault, and
the TLS handshake never started; --auth EXTERNAL without --tls-cert is a
usage error too, 64; EXTERNAL refused by the server is an authentication
failure, 77 (EX_NOPERM)."""

import base64
import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import fakesmtp  # noqa: E402
import mwtest  # noqa: E402
import rigutil  # noqa: E402

CERT_DIR = None
CA = CERT = KEY = CA_KEY = None
CLIENT_CRT = CLIENT_KEY = CLIENT_PEM = None
OTHER_CRT = OTHER_KEY = None
CLIENT_CN = "mailwire test client"
PASSWORD = "Clientcert-pw-4417"
USER = "alice@example.org"


def setUpModule():
    global CERT_DIR, CA, CERT, KEY, CA_KEY, CLIENT_CRT, CLIENT_KEY
    global CLIENT_PEM, OTHER_CRT, OTHER_KEY
    CERT_DIR, (CA, CERT, KEY) = fakesmtp.temp_certs()
    CA_KEY = os.path.join(CERT_DIR, "fake-ca.key")
    CLIENT_CRT, CLIENT_KEY = fakesmtp.make_client_cert(CERT_DIR, CA, CA_KEY,
                                                       cn=CLIENT_CN)
    # The certificate and its key in one PEM file (--tls-key left out).
    CLIENT_PEM = os.path.join(CERT_DIR, "client-combined.pem")
    with open(CLIENT_PEM, "w") as out:
        for part in (CLIENT_CRT, CLIENT_KEY):
            with open(part) as f:
                out.write(f.read())
    # A client certificate from a CA the server does not trust.
    other_dir = os.path.join(CERT_DIR, "other")
    os.makedirs(other_dir)
    other_ca, _, _ = fakesmtp.make_test_certs(other_dir)
    OTHER_CRT, OTHER_KEY = fakesmtp.make_client_cert(
        other_dir, other_ca, os.path.join(other_dir, "fake-ca.key"),
        cn="untrusted client")


def tearDownModule():
    shutil.rmtree(CERT_DIR, ignore_errors=True)


def send_args(port, *extra):
    return ["send", "--server", "127.0.0.1:%d" % port, "--from",
            "alice@example.org", "--to", "bob@example.org", "--subject",
            "client certificate", "--body", "hello\n", "--tls-ca-file",
            CA] + list(extra)


def cert_args(cert=None, key=None):
    return ["--tls-cert", cert or CLIENT_CRT, "--tls-key", key or CLIENT_KEY]


def server(**kw):
    kw.setdefault("client_ca", CA)
    return fakesmtp.FakeSMTP(cert=CERT, key=KEY, **kw)


def auth_lines(sess):
    return [l for l in sess.lines if l.upper().startswith("AUTH")]


class External(unittest.TestCase):
    """SASL EXTERNAL: used when a certificate is configured, the
    connection is TLS and the server offers it; preferred then."""

    def test_required_certificate_and_external(self):
        """(a) The server requires a client certificate and offers
        EXTERNAL: the certificate is presented, AUTH EXTERNAL = (empty
        authorization identity) is sent, and the mail goes through."""
        with server(verify_client="required", auth="PLAIN LOGIN EXTERNAL") \
                as f:
            code, doc, err, _ = mwtest.run_json(
                send_args(f.port, *cert_args()))
        self.assertEqual(code, 0, err)
        sess = f.sessions[0]
        self.assertEqual(sess.peer_subject, "CN=" + CLIENT_CN)
        self.assertEqual(doc["server"]["auth_mechanism"], "EXTERNAL")
        self.assertEqual(auth_lines(sess), ["AUTH EXTERNAL ="])
        self.assertEqual(sess.authzid, "")
        self.assertEqual(doc["message"]["delivery"], "accepted")
        self.assertTrue(any(l.startswith("MAIL") for l in sess.lines))

    def test_external_over_implicit_tls(self):
        with server(implicit_tls=True, starttls=False,
                    verify_client="required", auth="EXTERNAL") as f:
            code, doc, err, _ = mwtest.run_json(
                send_args(f.port, "--tls", "implicit", *cert_args()))
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["server"]["auth_mechanism"], "EXTERNAL")
        self.assertEqual(f.sessions[0].peer_subject, "CN=" + CLIENT_CN)

    def test_user_is_the_authorization_identity(self):
        """--user without a password, with a certificate: the user is
        the authorization identity, base64 in the initial response."""
        with server(verify_client="optional", auth="EXTERNAL") as f:
            code, doc, err, _ = mwtest.run_json(
                send_args(f.port, "--user", USER, *cert_args()))
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["server"]["auth_mechanism"], "EXTERNAL")
        self.assertEqual(auth_lines(f.sessions[0]),
                         ["AUTH EXTERNAL " +
                          base64.b64encode(USER.encode()).decode()])
        self.assertEqual(f.sessions[0].authzid, USER)

    def test_external_preferred_over_password_mechanisms(self):
        """EXTERNAL is the strongest: with a password too, the password
        never crosses the wire."""
        with server(verify_client="optional",
                    auth="SCRAM-SHA-256 PLAIN EXTERNAL") as f:
            code, doc, err, _ = mwtest.run_json(
                send_args(f.port, "--user", USER, "--password-env", "PW",
                          "--trace", *cert_args()),
                env={"PW": PASSWORD})
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["server"]["auth_mechanism"], "EXTERNAL")
        self.assertEqual(f.sessions[0].authzid, USER)
        wire = b"".join(f.sessions[0].chunks)
        self.assertNotIn(PASSWORD.encode(), wire)
        self.assertNotIn(base64.b64encode(PASSWORD.encode()), wire)
        self.assertNotIn(PASSWORD, err + str(doc))

    def test_key_inside_the_certificate_file(self):
        """Without --tls-key the key is read from the --tls-cert file."""
        with server(verify_client="required", auth="EXTERNAL") as f:
            code, doc, err, _ = mwtest.run_json(
                send_args(f.port, "--tls-cert", CLIENT_PEM))
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["server"]["auth_mechanism"], "EXTERNAL")

    def test_external_refused_is_an_auth_error(self):
        """The server does not accept the certificate as an identity
        (535): MW_E_AUTH, exit 77, and the message says so."""
        with server(verify_client="optional", auth="EXTERNAL",
                    external_reply="535 5.7.8 Error: authentication "
                                   "failed: certificate not mapped") as f:
            code, doc, err, _ = mwtest.run_json(
                send_args(f.port, *cert_args()))
        self.assertEqual(code, 77, err)
        self.assertEqual(doc["error"]["status"], "MW_E_AUTH")
        msg = doc["error"]["message"]
        self.assertIn("did not accept the client certificate '%s' as an "
                      "identity" % CLIENT_CRT, msg)
        self.assertIn("535", msg)
        self.assertFalse(any(l.startswith("MAIL")
                             for l in f.sessions[0].lines))

    def test_auth_external_asked_but_not_offered(self):
        with server(verify_client="optional", auth="PLAIN LOGIN") as f:
            code, doc, err, _ = mwtest.run_json(
                send_args(f.port, "--auth", "EXTERNAL", *cert_args()))
        self.assertEqual(code, 77, err)
        self.assertEqual(doc["error"]["status"], "MW_E_AUTH_UNAVAILABLE")
        self.assertIn("client certificate", doc["error"]["message"])
        self.assertEqual(auth_lines(f.sessions[0]), [])

    def test_auth_external_needs_tls(self):
        """Without TLS no certificate is presented: EXTERNAL asked for
        over plaintext is refused before AUTH, exit 78."""
        with server(starttls=False, auth="EXTERNAL PLAIN") as f:
            code, doc, err, _ = mwtest.run_json(
                send_args(f.port, "--tls", "none", "--auth", "external",
                          *cert_args()))
        self.assertEqual(code, 78, err)
        self.assertEqual(doc["error"]["status"], "MW_E_INSECURE")
        self.assertIn("EXTERNAL needs TLS", doc["error"]["message"])
        self.assertEqual(auth_lines(f.sessions[0]), [])


class WithoutExternal(unittest.TestCase):
    """A certificate without EXTERNAL, and EXTERNAL without one."""

    def test_cert_with_plain_when_external_not_offered(self):
        """(e) The server asks for a certificate but offers only PLAIN:
        PLAIN with --user/--password-env, the certificate still
        presented."""
        with server(verify_client="optional", auth="PLAIN LOGIN") as f:
            code, doc, err, _ = mwtest.run_json(
                send_args(f.port, "--user", USER, "--password-env", "PW",
                          *cert_args()),
                env={"PW": PASSWORD})
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["server"]["auth_mechanism"], "PLAIN")
        self.assertEqual(f.sessions[0].peer_subject, "CN=" + CLIENT_CN)
        self.assertEqual(f.sessions[0].auth_mechanism, "PLAIN")

    def test_cert_alone_is_not_a_reason_to_authenticate(self):
        """A certificate for TLS client authentication only (Postfix
        relay_clientcerts): no EXTERNAL offered, no other credentials, so
        no AUTH at all; the mail goes through."""
        with server(verify_client="required", auth="PLAIN LOGIN") as f:
            code, doc, err, _ = mwtest.run_json(
                send_args(f.port, *cert_args()))
        self.assertEqual(code, 0, err)
        self.assertIsNone(doc["server"]["auth_mechanism"])
        self.assertEqual(auth_lines(f.sessions[0]), [])
        self.assertEqual(f.sessions[0].peer_subject, "CN=" + CLIENT_CN)

    def test_auth_list_without_external_leaves_the_cert_to_tls(self):
        """--auth without EXTERNAL: the offered EXTERNAL is not a reason
        to authenticate with the certificate; no password, so no AUTH."""
        with server(verify_client="optional", auth="EXTERNAL PLAIN") as f:
            code, doc, err, _ = mwtest.run_json(
                send_args(f.port, "--auth", "PLAIN", *cert_args()))
        self.assertEqual(code, 0, err)
        self.assertIsNone(doc["server"]["auth_mechanism"])
        self.assertEqual(auth_lines(f.sessions[0]), [])
        self.assertEqual(f.sessions[0].peer_subject, "CN=" + CLIENT_CN)

    def test_no_cert_never_external(self):
        """Without a certificate EXTERNAL is never chosen, even offered
        and strongest: the password mechanism is used."""
        with server(verify_client="optional", auth="EXTERNAL PLAIN") as f:
            code, doc, err, _ = mwtest.run_json(
                send_args(f.port, "--user", USER, "--password-env", "PW"),
                env={"PW": PASSWORD})
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["server"]["auth_mechanism"], "PLAIN")
        self.assertIsNone(f.sessions[0].peer_subject)

    def test_no_cert_no_credentials_unchanged(self):
        """No credentials, no certificate: no AUTH, as before."""
        with server(auth="EXTERNAL PLAIN") as f:
            code, doc, err, _ = mwtest.run_json(send_args(f.port))
        self.assertEqual(code, 0, err)
        self.assertIsNone(doc["server"]["auth_mechanism"])
        self.assertEqual(auth_lines(f.sessions[0]), [])

    def test_auth_external_without_cert_is_a_usage_error(self):
        """(d) --auth EXTERNAL without --tls-cert: a usage error, exit
        64, naming --tls-cert; no AUTH, no MAIL."""
        with server(auth="EXTERNAL PLAIN") as f:
            code, out, err, _ = mwtest.run(
                send_args(f.port, "--auth", "EXTERNAL", "--json"))
        self.assertEqual(code, 64, err)
        # Found by the library once connected (JSON), or by the command
        # line check before connecting (stderr only): either will do.
        try:
            msg = json.loads(out)["error"]["message"]
        except ValueError:
            msg = err
        self.assertIn("EXTERNAL", msg)
        self.assertIn("--tls-cert", msg)
        for sess in f.sessions:
            self.assertFalse(any(l.startswith(("AUTH", "MAIL"))
                                 for l in sess.lines), sess.lines)


class CertificateErrors(unittest.TestCase):
    def test_required_certificate_missing(self):
        """(b) The server requires a certificate and none is given: a
        TLS error, exit 78, nothing sent after the handshake.  With TLS
        1.3 the client learns it from the server's alert after its own
        side of the handshake is done; the fake server closes gently so
        that the alert arrives (a server that resets the connection at
        once can make it "connection lost", exit 75, instead)."""
        with server(verify_client="required", auth="EXTERNAL") as f:
            code, doc, err, _ = mwtest.run_json(send_args(f.port))
        self.assertEqual(code, 78, err)
        self.assertEqual(doc["error"]["status"], "MW_E_TLS")
        msg = doc["error"]["message"].lower()
        self.assertIn("certificate", msg)
        self.assertIn("--tls-cert", msg)  # the message says what to do
        self.assertFalse(any(l.startswith(("AUTH", "MAIL"))
                             for l in f.sessions[0].lines))

    def test_required_certificate_missing_tls12(self):
        """The same with TLS 1.2, where the server refuses the handshake
        itself (alert handshake_failure: OpenSSL does not say why)."""
        with server(verify_client="required", auth="EXTERNAL",
                    tls_max="1.2") as f:
            code, doc, err, _ = mwtest.run_json(send_args(f.port))
        self.assertEqual(code, 78, err)
        self.assertEqual(doc["error"]["status"], "MW_E_TLS")
        self.assertIn("--tls-cert", doc["error"]["message"])
        self.assertFalse(any(l.startswith(("AUTH", "MAIL"))
                             for l in f.sessions[0].lines))

    def test_untrusted_client_certificate(self):
        """A certificate from a CA the server does not trust: the server
        refuses the handshake, exit 78."""
        with server(verify_client="required", auth="EXTERNAL") as f:
            code, doc, err, _ = mwtest.run_json(
                send_args(f.port, *cert_args(OTHER_CRT, OTHER_KEY)))
        self.assertEqual(code, 78, err)
        self.assertEqual(doc["error"]["status"], "MW_E_TLS")
        self.assertIsNone(f.sessions[0].peer_subject)

    def mismatch(self):
        with server(verify_client="required", auth="EXTERNAL") as f:
            code, doc, err, _ = mwtest.run_json(
                send_args(f.port, *cert_args(CLIENT_CRT, KEY)))
        self.assertIsNone(f.sessions[0].peer_subject)
        self.assertFalse(any(l.startswith(("AUTH", "MAIL"))
                             for l in f.sessions[0].lines))
        return code, doc, err

    def test_key_does_not_match_the_certificate(self):
        """(c) A key that does not belong to the certificate: a usage
        error (exit 64: the files given are wrong, the server is not at
        fault) naming the key file, found before the handshake."""
        code, doc, err = self.mismatch()
        self.assertEqual(code, 64, err)
        self.assertEqual(doc["error"]["status"], "MW_E_INVALID")
        msg = doc["error"]["message"]
        self.assertIn(KEY, msg)
        self.assertRegex(msg, "mismatch|does not belong")

    def test_key_mismatch_names_the_certificate_too(self):
        """The message names the certificate as well as the key."""
        code, doc, err = self.mismatch()
        self.assertIn(CLIENT_CRT, doc["error"]["message"])

    def test_certificate_file_missing(self):
        missing = os.path.join(CERT_DIR, "no-such.crt")
        code, out, err, _ = mwtest.run(
            send_args(1, "--tls-cert", missing))
        self.assertEqual(code, 66, err)
        self.assertIn(missing, err)


class Profile(unittest.TestCase):
    def test_msmtp_cert_keys(self):
        """msmtp's tls_cert_file / tls_key_file and auth external."""
        with server(verify_client="required", auth="PLAIN EXTERNAL") as f:
            d = tempfile.mkdtemp(prefix="mw-clientcert-profile-")
            path = os.path.join(d, "config")
            with open(path, "w") as out:
                out.write("account work\nhost 127.0.0.1\nport %d\n"
                          "tls on\ntls_trust_file %s\nfrom %s\n"
                          "auth external\ntls_cert_file %s\n"
                          "tls_key_file %s\n"
                          % (f.port, CA, USER, CLIENT_CRT, CLIENT_KEY))
            os.chmod(path, 0o600)
            try:
                code, doc, err, _ = mwtest.run_json(
                    ["send", "-C", path, "--account", "work", "--to",
                     "bob@example.org", "--body", "x"])
            finally:
                shutil.rmtree(d, ignore_errors=True)
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["server"]["auth_mechanism"], "EXTERNAL")
        self.assertEqual(f.sessions[0].peer_subject, "CN=" + CLIENT_CN)


class RealPostfix(unittest.TestCase):
    """(f) The rig's submission port asks for a client certificate
    (smtpd_tls_ask_ccert = yes, the rig CA in smtpd_tls_CAfile) and
    records it in the Received header (smtpd_tls_received_header = yes).
    Postfix offers no SASL EXTERNAL, so AUTH is the usual password
    mechanism here; EXTERNAL is tested against fakesmtp.py above."""

    @classmethod
    def setUpClass(cls):
        path = os.environ.get("MW_RIG_ENV")
        if not path or not os.path.exists(path):
            raise unittest.SkipTest("no rig: MW_RIG_ENV is not set (run "
                                    "through ctest, which starts the rig)")
        cls.env = rigutil.load_env(path)
        if "RIG_CLIENT_CERT" not in cls.env:
            raise unittest.SkipTest("the rig has no client certificate")

    def setUp(self):
        rigutil.clear_mailbox(self.env, "bob")

    def send(self, *extra):
        env = self.env
        return mwtest.run_json(
            ["send", "--server", "127.0.0.1:%s" % env["RIG_SUBMISSION_PORT"],
             "--tls-ca-file", env["RIG_CA_FILE"], "--from",
             env["RIG_USER1"], "--to", env["RIG_USER2"], "--subject",
             "client certificate", "--body", "hello\n", "--user",
             env["RIG_USER1"], "--password-env", "PW"] + list(extra),
            env={"PW": env["RIG_PASS1"]})

    def received_headers(self):
        (raw,) = rigutil.wait_for_mail(self.env, "bob")
        headers, _ = rigutil.split_message(raw)
        # Unfold, then keep the Received fields.
        text = headers.decode("utf-8", "replace").replace("\n\t", " ") \
            .replace("\n ", " ")
        return [l for l in text.split("\n") if l.startswith("Received:")]

    def test_client_certificate_in_received_header(self):
        env = self.env
        code, doc, err, _ = self.send("--tls-cert", env["RIG_CLIENT_CERT"],
                                      "--tls-key", env["RIG_CLIENT_KEY"])
        self.assertEqual(code, 0, err)
        # Postfix does not offer EXTERNAL: a password mechanism was used.
        self.assertNotEqual(doc["server"]["auth_mechanism"], "EXTERNAL")
        self.assertIsNotNone(doc["server"]["auth_mechanism"])
        received = self.received_headers()
        self.assertTrue(received)
        cn = env.get("RIG_CLIENT_CN", "mailwire rig client")
        self.assertIn('(Client CN "%s", Issuer "mailwire rig CA" (verified '
                      'OK))' % cn, received[0])

    def test_without_certificate_postfix_notes_none(self):
        """The same port without --tls-cert: the rig only asks, so the
        mail goes through, and the header says no certificate came."""
        code, doc, err, _ = self.send()
        self.assertEqual(code, 0, err)
        received = self.received_headers()
        self.assertNotIn("Client CN", received[0])
        # Postfix 3.7 with TLS 1.3: "(Client did not present a
        # certificate)"; older ones "(No client certificate requested)"
        # only when they did not ask.
        self.assertIn("did not present a certificate", received[0])


if __name__ == "__main__":
    unittest.main()

"""Revocation and the certificate validation callback (issue 14), against
the rig's Postfix on the submission port (STARTTLS).

CRLs are made here with the rig's own CA (openssl ca, in a temporary
directory): one revoking the rig's server certificate, one revoking
nothing, and one from the other CA (no CRL for the real issuer).  The
revoked certificate is refused by send (exit 78, the reason named) and
diagnosed by doctor with its own cause, cert_revoked; the empty CRL lets
the same send through.  The callback (verify_cb.c, through the library)
accepts a certificate the trust store refuses and refuses one it accepts,
seeing the chain and the library's verdict each time.

OCSP stapling: `openssl s_server` serves the rig's certificate with a
response made by `openssl ocsp` with the rig's CA (good, revoked, or
signed by the other CA), on implicit TLS with a 220 greeting fed on its
standard input.

The trace file (issue 14): --trace-file FILE holds what --trace prints,
redacted the same way, and nothing of it goes to stderr; the library's
mw_options_set_trace_fd() writes the same lines to a descriptor."""

import base64
import os
import re
import shutil
import stat
import subprocess
import tempfile
import unittest

import mwtest
import rigutil

ENV = None
VERIFY_CB = os.environ.get("MW_VERIFY_CB", "")
ALICE, BOB = "alice@example.test", "bob@example.test"
WORK = None
CRL = {}


def setUpModule():
    global ENV, WORK
    path = os.environ.get("MW_RIG_ENV")
    if not path or not os.path.exists(path):
        raise unittest.SkipTest("no rig: MW_RIG_ENV is not set (run through "
                                "ctest, which starts the rig)")
    ENV = rigutil.load_env(path)
    WORK = tempfile.mkdtemp(prefix="mw-crl-")
    certs = os.path.dirname(ENV["RIG_CA_FILE"])
    CRL["empty"] = make_crl("empty", ENV["RIG_CA_FILE"],
                            os.path.join(certs, "ca.key"), None)
    CRL["revoked"] = make_crl("revoked", ENV["RIG_CA_FILE"],
                              os.path.join(certs, "ca.key"),
                              ENV["RIG_SERVER_CERT"])
    CRL["other"] = make_crl("other", ENV["RIG_OTHER_CA_FILE"],
                            os.path.join(certs, "other-ca.key"), None)


def tearDownModule():
    if WORK:
        shutil.rmtree(WORK, ignore_errors=True)


def make_crl(name, ca_cert, ca_key, revoke):
    """A CRL (PEM) signed by ca_key, listing revoke (a certificate file)
    when given."""
    d = os.path.join(WORK, name)
    os.makedirs(d)
    open(os.path.join(d, "index.txt"), "w").close()
    with open(os.path.join(d, "crlnumber"), "w") as f:
        f.write("01\n")
    conf = os.path.join(d, "ca.cnf")
    with open(conf, "w") as f:
        f.write("[ca]\ndefault_ca = rig\n[rig]\n"
                "database = %s/index.txt\ncrlnumber = %s/crlnumber\n"
                "certificate = %s\nprivate_key = %s\ndefault_md = sha256\n"
                "default_crl_days = 7\n" % (d, d, ca_cert, ca_key))
    if revoke:
        subprocess.run(["openssl", "ca", "-config", conf, "-revoke", revoke,
                        "-crl_reason", "keyCompromise"], check=True,
                       capture_output=True)
    out = os.path.join(d, "crl.pem")
    subprocess.run(["openssl", "ca", "-config", conf, "-gencrl", "-out", out],
                   check=True, capture_output=True)
    return out


def sub():
    return "127.0.0.1:%s" % ENV["RIG_SUBMISSION_PORT"]


def send(*extra):
    return mwtest.run_json(
        ["send", "--server", sub(), "--tls", "starttls",
         "--tls-ca-file", ENV["RIG_CA_FILE"], "--from", ALICE, "--to", BOB,
         "--user", ALICE, "--password-env", "PW", "--subject", "crl",
         "--body", "revocation"] + list(extra),
        env={"PW": ENV["RIG_PASS1"]})


def verify_cb(*args):
    p = subprocess.run(mwtest.command(VERIFY_CB, *args), capture_output=True,
                       timeout=60)
    out = p.stdout.decode()
    return p.returncode, out, p.stderr.decode()


class Revocation(unittest.TestCase):
    def setUp(self):
        rigutil.clear_mailbox(ENV, "bob")

    def test_revoked_certificate_is_refused_and_named(self):
        code, doc, err, _ = send("--tls-crl-file", CRL["revoked"])
        self.assertEqual(code, 78, "%s\n%s" % (doc, err))
        self.assertEqual(doc["error"]["status"], "MW_E_CERT")
        self.assertIn("certificate revoked", doc["error"]["message"])
        self.assertIn("its CA has revoked the server's certificate",
                      doc["error"]["message"])

    def test_doctor_names_cert_revoked(self):
        code, doc, err, _ = mwtest.run_json(
            ["doctor", sub(), "--tls", "starttls", "--tls-ca-file",
             ENV["RIG_CA_FILE"], "--tls-crl-file", CRL["revoked"]])
        self.assertEqual(doc["diagnosis"]["id"], "cert_revoked",
                         "%s\n%s" % (doc, err))
        self.assertEqual(code, 16)
        # Without the CRL the same server is healthy.
        code, doc, err, _ = mwtest.run_json(
            ["doctor", sub(), "--tls", "starttls", "--tls-ca-file",
             ENV["RIG_CA_FILE"]])
        self.assertEqual(doc["diagnosis"]["id"], "healthy", err)

    def test_certificate_not_in_the_crl_is_accepted(self):
        code, doc, err, _ = send("--tls-crl-file", CRL["empty"])
        self.assertEqual(code, 0, "%s\n%s" % (doc, err))
        self.assertEqual(len(rigutil.wait_for_mail(ENV, "bob")), 1)

    def test_no_crl_from_the_issuer_is_refused(self):
        code, doc, err, _ = send("--tls-crl-file", CRL["other"])
        self.assertEqual(code, 78, "%s\n%s" % (doc, err))
        self.assertIn("holds no CRL from the certificate's issuer",
                      doc["error"]["message"])
        code, doc, err, _ = mwtest.run_json(
            ["doctor", sub(), "--tls", "starttls", "--tls-ca-file",
             ENV["RIG_CA_FILE"], "--tls-crl-file", CRL["other"]])
        self.assertEqual(doc["diagnosis"]["id"], "cert_crl_unusable",
                         "%s\n%s" % (doc, err))
        self.assertIn("--tls-crl-file", doc["diagnosis"]["fix"])

    def test_unreadable_crl_file_is_a_usage_error(self):
        code, out, err, _ = mwtest.run(
            ["send", "--server", sub(), "--from", ALICE, "--to", BOB,
             "--body", "x", "--tls-crl-file", "/nonexistent/crl.pem"])
        self.assertEqual(code, 66, err)
        self.assertIn("--tls-crl-file", err)
        not_pem = os.path.join(WORK, "not.pem")
        with open(not_pem, "w") as f:
            f.write("not a CRL\n")
        code, out, err = verify_cb("connect", sub(), ENV["RIG_CA_FILE"],
                                   "none", not_pem)
        self.assertEqual(code, 0, err)
        self.assertIn("connect MW_E_INVALID", out)
        self.assertIn("cannot load a CRL", out)

    def test_profile_key_tls_crl_file(self):
        profile = os.path.join(WORK, "profile")
        with open(profile, "w") as f:
            f.write("account rig\nhost 127.0.0.1\nport %s\ntls_mode starttls\n"
                    "tls_trust_file %s\ntls_crl_file %s\nfrom %s\n"
                    % (ENV["RIG_SUBMISSION_PORT"], ENV["RIG_CA_FILE"],
                       CRL["revoked"], ALICE))
        code, doc, err, _ = mwtest.run_json(
            ["send", "-C", profile, "--to", BOB, "--body", "x"])
        self.assertEqual(code, 78, "%s\n%s" % (doc, err))
        self.assertIn("certificate revoked", doc["error"]["message"])


class Callback(unittest.TestCase):
    def test_accepts_what_the_store_refuses(self):
        # No CA: the system store does not know the rig's CA.
        code, out, err = verify_cb("connect", sub(), "-", "none")
        self.assertIn("connect MW_E_CERT", out, err)
        code, out, err = verify_cb("connect", sub(), "-", "accept")
        self.assertEqual(code, 0, err)
        self.assertRegex(out, r"callback verified 0 verdict untrusted chain "
                              r"[12] der0 \d{3,} first 0x30 host 127.0.0.1")
        self.assertIn("connect MW_OK", out)

    def test_refuses_what_the_store_accepts(self):
        code, out, err = verify_cb("connect", sub(), ENV["RIG_CA_FILE"],
                                   "refuse")
        self.assertEqual(code, 0, err)
        self.assertIn("callback verified 1 verdict verified", out)
        self.assertIn("connect MW_E_CERT", out)
        self.assertIn("refused by the application's verify callback", out)
        code, out, err = verify_cb("doctor", sub(), ENV["RIG_CA_FILE"],
                                   "refuse")
        self.assertIn("cause cert_refused_by_callback", out, err)

    def test_sees_the_revocation_verdict(self):
        code, out, err = verify_cb("connect", sub(), ENV["RIG_CA_FILE"],
                                   "accept", CRL["revoked"])
        self.assertIn("callback verified 0 verdict revoked", out, err)
        self.assertIn("connect MW_OK", out)


def dialogue(lines):
    """Trace lines without their timestamps."""
    return [re.sub(r"^\[ *[0-9.]+ ms\] ", "", l) for l in lines if l]


class TraceFile(unittest.TestCase):
    def setUp(self):
        rigutil.clear_mailbox(ENV, "bob")
        self.path = os.path.join(WORK, "trace-%s.log" % self.id())

    def test_trace_file_holds_the_redacted_dialogue(self):
        code, doc, err, _ = send("--trace-file", self.path)
        self.assertEqual(code, 0, err)
        self.assertNotIn("-> EHLO", err)  # nothing on stderr
        self.assertEqual(stat.S_IMODE(os.stat(self.path).st_mode), 0o600)
        with open(self.path) as f:
            lines = f.read().split("\n")
        self.assertRegex(lines[0], r"^\[ *[0-9.]+ ms\] :: SMTP server ")
        self.assertIn("-> EHLO", "\n".join(lines))
        self.assertIn("<- 250", "\n".join(lines))
        secret = ENV["RIG_PASS1"]
        blob = "\n".join(lines)
        self.assertNotIn(secret, blob)
        for form in (b"\0" + ALICE.encode() + b"\0" + secret.encode(),
                     secret.encode()):
            self.assertNotIn(base64.b64encode(form).decode(), blob)
        self.assertIn("<redacted>", blob)
        # The same lines --trace prints (times aside), appended on reuse.
        code, doc, err, _ = send("--trace")
        self.assertEqual(code, 0, err)
        shown = [l for l in err.split("\n") if re.match(r"^\[ *[0-9.]+ ms\]", l)]
        self.assertEqual([l.split(" ")[0] for l in dialogue(shown)],
                         [l.split(" ")[0] for l in dialogue(lines)])
        code, doc, err, _ = send("--trace-file", self.path, "--trace")
        with open(self.path) as f:
            self.assertEqual(len(dialogue(f.read().split("\n"))),
                             2 * len(dialogue(lines)))
        self.assertNotIn("-> EHLO", err)

    def test_doctor_and_an_unwritable_file(self):
        code, doc, err, _ = mwtest.run_json(
            ["doctor", sub(), "--tls", "starttls", "--tls-ca-file",
             ENV["RIG_CA_FILE"], "--trace-file", self.path])
        self.assertEqual(doc["diagnosis"]["id"], "healthy", err)
        with open(self.path) as f:
            self.assertIn("-> EHLO", f.read())
        code, out, err, _ = mwtest.run(
            ["send", "--server", sub(), "--from", ALICE, "--to", BOB,
             "--body", "x", "--trace-file", "/nonexistent/dir/trace"])
        self.assertEqual(code, 74, err)
        self.assertIn("--trace-file: cannot open", err)

    def test_library_trace_fd(self):
        p = subprocess.run(mwtest.command(VERIFY_CB, "connect", sub(), "-",
                                          "accept"),
                           capture_output=True, timeout=60,
                           env=dict(os.environ, VERIFY_CB_TRACE=self.path))
        self.assertIn(b"connect MW_OK", p.stdout, p.stderr)
        with open(self.path) as f:
            text = f.read()
        self.assertRegex(text, r"(?m)^\[ *[0-9.]+ ms\] -> EHLO ")
        self.assertRegex(text, r"(?m)^\[ *[0-9.]+ ms\] \*\* certificate "
                               r"accepted by the application's verify "
                               r"callback \(the library's verdict: untrusted")


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StaplingServer:
    """openssl s_server with the rig's certificate, stapling status_file
    (or nothing), for n connections."""

    def __init__(self, status_file, n=1):
        certs = os.path.dirname(ENV["RIG_CA_FILE"])
        self.port = free_port()
        args = ["openssl", "s_server", "-accept", "127.0.0.1:%d" % self.port,
                "-cert", ENV["RIG_SERVER_CERT"],
                "-key", os.path.join(certs, "server.key"),
                "-cert_chain", ENV["RIG_CA_FILE"], "-naccept", str(n),
                "-quiet"]
        if status_file:
            args += ["-status_file", status_file]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.proc.stdin.write(b"220 ocsp test\r\n")
        self.proc.stdin.flush()
        # Wait until it listens (without connecting: that would use up
        # one of its n connections).
        import time
        for _ in range(200):
            ss = subprocess.run(["ss", "-Hltn", "sport = :%d" % self.port],
                                capture_output=True)
            if ss.stdout.strip():
                break
            time.sleep(0.05)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


def make_ocsp(name, revoke, signer="ca"):
    """A DER OCSP response about the rig's server certificate: good, or
    revoked, signed by signer ("ca" or "other-ca")."""
    certs = os.path.dirname(ENV["RIG_CA_FILE"])
    d = os.path.join(WORK, "ocsp-" + name)
    os.makedirs(d)
    open(os.path.join(d, "index.txt"), "w").close()
    conf = os.path.join(d, "ca.cnf")
    with open(conf, "w") as f:
        f.write("[ca]\ndefault_ca = rig\n[rig]\ndatabase = %s/index.txt\n"
                "certificate = %s\nprivate_key = %s\ndefault_md = sha256\n"
                % (d, ENV["RIG_CA_FILE"], os.path.join(certs, "ca.key")))
    subprocess.run(["openssl", "ca", "-config", conf,
                    "-revoke" if revoke else "-valid",
                    ENV["RIG_SERVER_CERT"]], check=True, capture_output=True)
    out = os.path.join(d, "resp.der")
    subprocess.run(["openssl", "ocsp", "-index", os.path.join(d, "index.txt"),
                    "-rsigner", os.path.join(certs, signer + ".crt"),
                    "-rkey", os.path.join(certs, signer + ".key"),
                    "-CA", ENV["RIG_CA_FILE"], "-issuer", ENV["RIG_CA_FILE"],
                    "-cert", ENV["RIG_SERVER_CERT"], "-respout", out,
                    "-ndays", "1"], check=True, capture_output=True)
    return out


class Ocsp(unittest.TestCase):
    def send(self, port, *extra):
        return mwtest.run(
            ["send", "--server", "127.0.0.1:%d" % port, "--tls", "implicit",
             "--tls-ca-file", ENV["RIG_CA_FILE"], "--from", ALICE, "--to",
             BOB, "--body", "x", "--trace", "--timeout", "1s",
             "--greeting-timeout", "%ds" % mwtest.bound(5)] + list(extra))

    def test_good_staple_is_accepted(self):
        with StaplingServer(make_ocsp("good", False)) as srv:
            code, out, err, _ = self.send(srv.port, "--tls-ocsp")
        self.assertIn("OCSP: the stapled response says good", err)
        self.assertIn("certificate verified", err)
        self.assertIn("<- 220 ocsp test", err)
        self.assertNotEqual(code, 78, err)

    def test_revoked_staple_is_refused_with_its_cause(self):
        resp = make_ocsp("revoked", True)
        with StaplingServer(resp) as srv:
            code, out, err, _ = self.send(srv.port, "--tls-ocsp")
        self.assertEqual(code, 78, err)
        self.assertIn("OCSP: the stapled response says REVOKED (reason", err)
        self.assertIn("certificate revoked", err)
        self.assertNotIn("<- 220", err)
        with StaplingServer(resp, n=5) as srv:
            code, doc, err, _ = mwtest.run_json(
                ["doctor", "127.0.0.1:%d" % srv.port, "--tls", "implicit",
                 "--tls-ca-file", ENV["RIG_CA_FILE"], "--tls-ocsp",
                 "--greeting-timeout", "%ds" % mwtest.bound(5)])
        self.assertEqual(doc["diagnosis"]["id"], "cert_revoked", err)
        # Off by default: the same staple is not looked at.
        with StaplingServer(resp) as srv:
            code, out, err, _ = self.send(srv.port)
        self.assertNotIn("OCSP", err)
        self.assertIn("certificate verified", err)

    def test_forged_staple_is_refused(self):
        with StaplingServer(make_ocsp("forged", True, "other-ca")) as srv:
            code, out, err, _ = self.send(srv.port, "--tls-ocsp")
        self.assertEqual(code, 78, err)
        self.assertIn("OCSP: the stapled response is refused: its signature "
                      "does not verify", err)
        self.assertIn("--tls-ocsp", err)

    def test_no_staple_is_accepted_and_said(self):
        with StaplingServer(None) as srv:
            code, out, err, _ = self.send(srv.port, "--tls-ocsp")
        self.assertIn("OCSP: the server stapled no response", err)
        self.assertIn("certificate verified", err)
        self.assertNotEqual(code, 78, err)


if __name__ == "__main__":
    unittest.main()

"""Account profiles (msmtprc syntax) for send, doctor and config show,
against the misbehaving test server: settings come from the file, the
command line overrides them, a world-readable file with a password is
refused, errors name FILE:LINE, and secrets never show."""

import base64
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import fakesmtp  # noqa: E402
import mwtest  # noqa: E402

CERT_DIR = CA = CERT = KEY = None
SECRET = "Profile-pw-9182"


def setUpModule():
    global CERT_DIR, CA, CERT, KEY
    CERT_DIR, (CA, CERT, KEY) = fakesmtp.temp_certs()


def tearDownModule():
    shutil.rmtree(CERT_DIR, ignore_errors=True)


def write_profile(text, mode=0o600):
    d = tempfile.mkdtemp(prefix="mw-profile-")
    path = os.path.join(d, "config")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def msmtprc(port):
    return ("defaults\ntls on\ntls_trust_file %s\n\n"
            "account work\nhost 127.0.0.1\nport %d\nfrom alice@example.org\n"
            "auth plain\nuser alice\npassword %s\n\n"
            "account other : work\nfrom other@example.org\n\n"
            "account default : work\n" % (CA, port, SECRET))


class Profiles(unittest.TestCase):
    def test_send_with_a_profile(self):
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY, auth="PLAIN") as f:
            path = write_profile(msmtprc(f.port))
            code, doc, err, _ = mwtest.run_json(
                ["send", "-C", path, "--to", "bob@example.org", "--body",
                 "x", "--trace"])
            self.assertEqual(code, 0, err)
            self.assertNotIn(SECRET, err + str(doc))
            auth = [l for l in f.sessions[0].lines if l.startswith("AUTH")][0]
            self.assertEqual(base64.b64decode(auth.split()[2]),
                             b"\0alice\0" + SECRET.encode())
            mail = [l for l in f.sessions[0].lines if l.startswith("MAIL")][0]
            self.assertIn("<alice@example.org>", mail)

    def test_account_inheritance_and_command_line_override(self):
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY, auth="PLAIN") as f:
            path = write_profile(msmtprc(f.port))
            code, doc, err, _ = mwtest.run_json(
                ["send", "-C", path, "--account", "other", "--to",
                 "bob@example.org", "--body", "x"])
            self.assertEqual(code, 0, err)
            code, doc, err, _ = mwtest.run_json(
                ["send", "--config=%s" % path, "--from", "cli@example.org",
                 "--to", "bob@example.org", "--body", "x"])
            self.assertEqual(code, 0, err)
        mails = [[l for l in s.lines if l.startswith("MAIL")][0]
                 for s in f.sessions]
        self.assertIn("<other@example.org>", mails[0])
        self.assertIn("<cli@example.org>", mails[1])

    def test_default_location_from_environment(self):
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY, auth="PLAIN") as f:
            path = write_profile(msmtprc(f.port))
            code, doc, err, _ = mwtest.run_json(
                ["send", "--to", "bob@example.org", "--body", "x"],
                env={"MAILWIRE_CONFIG": path})
            self.assertEqual(code, 0, err)

    def test_readable_file_with_password_refused(self):
        path = write_profile(msmtprc(25), mode=0o644)
        code, out, err, _ = mwtest.run(
            ["send", "-C", path, "--to", "bob@example.org", "--body", "x"])
        self.assertEqual(code, 78)
        self.assertIn("readable by others", err)
        self.assertIn("chmod 600", err)

    def test_errors_name_file_and_line(self):
        path = write_profile("account a\nhost h\ntls perhaps\n")
        code, out, err, _ = mwtest.run(
            ["send", "-C", path, "--to", "bob@example.org", "--body", "x"])
        self.assertEqual(code, 78)
        self.assertIn("%s:3: 'tls' takes on or off" % path, err)
        path = write_profile("account a\nhost h\ntimeout soon\n")
        code, out, err, _ = mwtest.run(["doctor", "-C", path])
        self.assertEqual(code, 78)
        self.assertIn("%s:3:" % path, err)
        code, out, err, _ = mwtest.run(
            ["send", "-C", "/nonexistent/mw.conf", "--to", "b@c.d"])
        self.assertEqual(code, 78)
        self.assertIn("/nonexistent/mw.conf: cannot read", err)

    def test_config_show_redacts_secrets(self):
        path = write_profile(msmtprc(587))
        code, out, err, _ = mwtest.run(["config", "show", "-C", path])
        self.assertEqual(code, 0, err)
        self.assertIn("account work", out)
        self.assertIn("password           <redacted>", out)
        self.assertNotIn(SECRET, out + err)
        self.assertIn("--server 127.0.0.1:587", out)

    def test_password_value_is_not_a_command_line_option(self):
        code, out, err, _ = mwtest.run(
            ["send", "--server", "h", "--from", "a@b.c", "--to", "d@e.f",
             "--user", "u", "--password-value", "x"])
        self.assertEqual(code, 64)

    def test_doctor_with_a_profile(self):
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY, auth="PLAIN") as f:
            path = write_profile(msmtprc(f.port))
            code, doc, err, _ = mwtest.run_json(["doctor", "-C", path])
        self.assertEqual(doc["diagnosis"]["id"], "healthy", doc)
        self.assertNotIn(SECRET, str(doc))


if __name__ == "__main__":
    unittest.main(verbosity=2)

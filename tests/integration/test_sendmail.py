"""`mailwire sendmail` (issue 12) against the real Postfix of the rig, the
way cron, PHP's mail() and git send-email call it: the message on
standard input, from a shell pipeline, also through a link named
sendmail; -t with Bcc removed from the copy while the Bcc recipient still
gets it; -f as the envelope sender (Return-Path of the delivered copy);
the account picked by its from; sendmail's exit codes."""

import email
import email.policy
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import mwtest  # noqa: E402
import rigutil  # noqa: E402

ENV = None
ALICE, BOB = "alice@example.test", "bob@example.test"


def setUpModule():
    global ENV
    path = os.environ.get("MW_RIG_ENV")
    if not path or not os.path.exists(path):
        raise unittest.SkipTest("no rig: MW_RIG_ENV is not set (run through "
                                "ctest, which starts the rig)")
    ENV = rigutil.load_env(path)


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


class Sendmail(unittest.TestCase):
    def setUp(self):
        for user in ("alice", "bob"):
            rigutil.clear_mailbox(ENV, user)
        self.dir = tempfile.mkdtemp(prefix="mw-sendmail-")
        os.chmod(self.dir, 0o755)
        # The default account points at a port nobody listens on: a test
        # that succeeds used the account whose from matched.
        self.profile = os.path.join(self.dir, "config")
        with open(self.profile, "w") as f:
            f.write("defaults\ntls_mode none\n\n"
                    "account nowhere\nhost 127.0.0.1\nport 9\n"
                    "from nobody@example.test\n\n"
                    "account rig\nhost 127.0.0.1\nport %s\nfrom %s\n\n"
                    "account default : nowhere\n"
                    % (ENV["RIG_PLAIN_PORT"], ALICE))
        os.chmod(self.profile, 0o600)
        self.env = {"MAILWIRE_CONFIG": self.profile}

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def sendmail(self, args, message, env=None):
        full = dict(self.env)
        full.update(env or {})
        return mwtest.run(["sendmail"] + args, input=message, env=full)

    def test_t_removes_bcc_and_the_bcc_recipient_still_gets_it(self):
        msg = (b"From: Alice <alice@example.test>\n"
               b"To: Bob <bob@example.test>\n"
               b"Bcc: alice@example.test\n"
               b"Subject: -t with Bcc\n\nhello\n")
        code, out, err, _ = self.sendmail(["-t", "-i"], msg)
        self.assertEqual(code, 0, err)
        self.assertEqual(out, "")  # silent on success, as sendmail
        for user in ("bob", "alice"):
            raw = rigutil.wait_for_mail(ENV, user, timeout=10)[0]
            m = parse(raw)
            self.assertIsNone(m["bcc"], raw)
            self.assertNotIn(b"\nBcc:", raw)
            self.assertEqual(m["subject"], "-t with Bcc")
            self.assertTrue(m["date"] and m["message-id"])  # added
            self.assertEqual(m.get_content(), "hello\n")

    def test_shell_pipeline_through_a_link_named_sendmail(self):
        link = os.path.join(self.dir, "sendmail")
        os.symlink(os.path.abspath(mwtest.MAILWIRE), link)
        script = ("printf 'To: %s\\nSubject: via link\\n\\nbody line\\n' | "
                  "%s -t" % (BOB, " ".join(shlex.quote(w) for w in
                                           mwtest.command(link))))
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        env.update(self.env)
        # From a script, as cron would: the account whose from is the
        # -f address is picked.
        p = subprocess.run(["sh", "-c", script + " -f " + ALICE], env=env,
                           capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        m = parse(rigutil.wait_for_mail(ENV, "bob", timeout=10)[0])
        self.assertEqual(m["subject"], "via link")
        self.assertEqual(m.get_content(), "body line\n")

    def test_f_sets_the_envelope_sender(self):
        msg = b"From: someone@example.test\nSubject: -f\n\nx\n"
        code, _, err, _ = self.sendmail(
            ["--account", "rig", "-f", "bob@example.test", BOB], msg)
        self.assertEqual(code, 0, err)
        raw = rigutil.wait_for_mail(ENV, "bob", timeout=10)[0]
        self.assertTrue(raw.startswith(b"Return-Path: <bob@example.test>"),
                        raw[:200])

    def test_account_picked_by_the_messages_from(self):
        msg = b"From: alice@example.test\nTo: bob@example.test\n\nx\n"
        code, _, err, _ = self.sendmail(["-t"], msg)
        self.assertEqual(code, 0, err)
        raw = rigutil.wait_for_mail(ENV, "bob", timeout=10)[0]
        self.assertTrue(raw.startswith(b"Return-Path: <alice@example.test>"))

    def test_default_account_when_nothing_matches(self):
        """The default account's server is down: 75 or 69, not 0."""
        msg = b"From: carol@example.test\nTo: bob@example.test\n\nx\n"
        code, out, err, _ = self.sendmail(["-t"], msg)
        self.assertIn(code, (69, 75), err)
        self.assertEqual(out, "")
        self.assertIn("127.0.0.1:9", err)  # the failure said, on stderr

    def test_lone_dot_ends_the_message_without_i(self):
        msg = b"Subject: dot\n\nbefore\n.\nafter\n"
        code, _, err, _ = self.sendmail(["-f", ALICE, BOB], msg)
        self.assertEqual(code, 0, err)
        m = parse(rigutil.wait_for_mail(ENV, "bob", timeout=10)[0])
        self.assertEqual(m.get_content(), "before\n")

    def test_lone_dot_is_kept_with_oi(self):
        msg = b"Subject: dot\n\nbefore\n.\nafter\n"
        code, _, err, _ = self.sendmail(["-oi", "-f", ALICE, BOB], msg)
        self.assertEqual(code, 0, err)
        m = parse(rigutil.wait_for_mail(ENV, "bob", timeout=10)[0])
        self.assertEqual(m.get_content(), "before\n.\nafter\n")

    def test_F_names_the_from_header_added(self):
        code, _, err, _ = self.sendmail(
            ["-f", ALICE, "-F", "Cron Daemon", "-odi", "-oem", "-bm",
             "-B8BITMIME", BOB], b"Subject: cron\n\nout\n")
        self.assertEqual(code, 0, err)
        m = parse(rigutil.wait_for_mail(ENV, "bob", timeout=10)[0])
        self.assertEqual(m["from"].addresses[0].display_name, "Cron Daemon")
        self.assertEqual(m["from"].addresses[0].addr_spec, ALICE)


class SendmailRefusals(unittest.TestCase):
    def test_unknown_option_is_64(self):
        code, _, err, _ = mwtest.run(["sendmail", "-X", "x"], input=b"")
        self.assertEqual(code, 64, err)
        code, _, err, _ = mwtest.run(["sendmail", "-bp"], input=b"")
        self.assertEqual(code, 64, err)

    def test_no_recipient_is_64(self):
        d = tempfile.mkdtemp(prefix="mw-sendmail-")
        try:
            path = os.path.join(d, "config")
            with open(path, "w") as f:
                f.write("account a\nhost 127.0.0.1\nport 9\n"
                        "from a@example.test\n")
            code, _, err, _ = mwtest.run(
                ["sendmail", "-t", "-C", path],
                input=b"Subject: nobody\n\nx\n")
            self.assertEqual(code, 64, err)
            self.assertIn("no recipients", err)
        finally:
            shutil.rmtree(d)

    def test_no_profile_is_78(self):
        code, _, err, _ = mwtest.run(
            ["sendmail", "bob@example.test"], input=b"Subject: x\n\nx\n",
            env={"HOME": "/nonexistent", "XDG_CONFIG_HOME": "/nonexistent"})
        self.assertEqual(code, 78, err)


if __name__ == "__main__":
    unittest.main()

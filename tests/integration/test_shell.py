"""`mailwire shell` (issue 15) against the rig's Postfix and Dovecot (CTest
fixture `rig`), driven through a pseudo-terminal as a person would drive
it (mwtest.PtySession), and as a script (--script, standard input).

What must hold:
- SMTP: STARTTLS typed mid-session upgrades the connection (handshake,
  then EHLO again: AUTH appears), `.auth plain` asks for the password
  without echo and authenticates through the library's SASL driver,
  `.data` sends a dot-stuffed message that Postfix delivers;
- IMAP: tags added, LOGIN USER asks for the password without echo,
  SELECT, APPEND with `{}` (the literal's size computed and sent after the
  go-ahead), a FETCH whose literal is shown;
- POP3: STLS upgrades, RETR shows the message;
- the password never appears in what the terminal showed, nor in the
  history file (mode 0600), nor in the trace;
- a script whose .expect fails exits 1 and names the line."""

import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import fakesmtp  # noqa: E402
import mwtest  # noqa: E402
import proxyrig  # noqa: E402
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


def tls_args():
    return ["--tls-ca-file", ENV["RIG_CA_FILE"], "--tls-server-name",
            ENV["RIG_SERVER_NAME"]]


class ShellCase(unittest.TestCase):
    def setUp(self):
        self.state = tempfile.mkdtemp(prefix="mw-shell-")
        self.session = None

    def tearDown(self):
        if self.session:
            self.session.kill()
        shutil.rmtree(self.state, ignore_errors=True)

    def start(self, *args):
        self.session = mwtest.PtySession(
            ["shell"] + list(args) + tls_args(),
            env={"XDG_STATE_HOME": self.state})
        return self.session

    def history(self, proto, port_number):
        path = os.path.join(self.state, "mailwire", "shell",
                            "%s_127.0.0.1_%d.history" % (proto, port_number))
        self.assertTrue(os.path.exists(path), "no history file %s" % path)
        mode = stat.S_IMODE(os.stat(path).st_mode)
        self.assertEqual(mode, 0o600, "history file mode %o" % mode)
        with open(path, "rb") as f:
            return f.read()

    def assert_secret_absent(self, secret, *texts):
        for t in texts:
            if isinstance(t, str):
                t = t.encode()
            self.assertNotIn(secret.encode(), t)


class Smtp(ShellCase):
    def test_starttls_auth_and_data_deliver_a_message(self):
        """Attack: none; the everyday session an administrator types by
        hand.  Safe: STARTTLS typed mid-session is followed by the
        handshake and a new EHLO (which now lists AUTH); .auth asks for
        the password without echo; the message Postfix delivers is the one
        typed, dot-stuffing undone.  Why: this replaces `openssl s_client
        -starttls smtp` and base64 typed by hand."""
        rigutil.clear_mailbox(ENV, "alice")
        password = ENV["RIG_PASS1"]
        subject = "shell-smtp-%d" % os.getpid()
        sub_port = port("SUBMISSION")
        s = self.start("127.0.0.1:%d" % sub_port)
        s.expect("220 ")
        s.expect("smtp> ")
        s.send("EHLO client.example.test")
        before = s.expect("smtp> ")
        self.assertIn("STARTTLS", before)
        self.assertNotIn("AUTH", before)
        s.send("STARTTLS")
        after = s.expect("smtp> ")
        self.assertIn("220 2.0.0", after)
        self.assertIn("TLSv1.", after)
        self.assertIn("> EHLO client.example.test", after)
        self.assertIn("250-AUTH PLAIN", after)
        s.send(".auth plain " + ENV["RIG_USER1"])
        s.expect("Password: ")
        s.send(password)
        auth = s.expect("smtp> ")
        self.assertIn("AUTH PLAIN <redacted>", auth)
        self.assertIn("235 ", auth)
        s.send("MAIL FROM:<%s>" % ENV["RIG_USER1"])
        self.assertIn("250 ", s.expect("smtp> "))
        s.send("RCPT TO:<%s>" % ENV["RIG_USER1"])
        self.assertIn("250 ", s.expect("smtp> "))
        s.send(".data")
        for line in ("From: %s" % ENV["RIG_USER1"],
                     "To: %s" % ENV["RIG_USER1"], "Subject: " + subject,
                     "", "typed in the shell", ".a line with a dot", "."):
            s.expect("data> ")
            s.send(line)
        data = s.expect("smtp> ")
        self.assertIn("354 ", data)
        self.assertRegex(data, r"250 2\.0\.0 Ok: queued as")
        s.send("QUIT")
        s.expect("221 ")
        self.assertEqual(s.wait(), 0)
        mails = rigutil.wait_for_mail(ENV, "alice")
        mine = [m for m in mails if subject.encode() in m]
        self.assertEqual(len(mine), 1, mails)
        self.assertIn(b"\n.a line with a dot\n", mine[0])
        self.assertIn(b"ESMTPSA", mine[0])  # TLS and AUTH, says Postfix
        self.assert_secret_absent(password, s.screen,
                                  self.history("smtp", sub_port))

    def test_ctrl_c_drops_the_line_being_typed(self):
        """Safe: Ctrl-C at the prompt drops what was typed (nothing is
        sent, nothing enters the history) and the session goes on."""
        plain_port = port("PLAIN")
        s = self.start("127.0.0.1:%d" % plain_port)
        s.expect("smtp> ")
        time.sleep(0.1)
        os.write(s.master, b"VRFY half-typed")
        s.expect("half-typed")
        os.write(s.master, b"\x03")
        s.expect("^C")
        s.expect("smtp> ")
        s.send("NOOP")
        noop = s.expect("smtp> ")
        self.assertIn("250 ", noop)
        self.assertNotIn("252", noop)  # VRFY's answer
        s.send("QUIT")
        s.expect("221 ")
        self.assertEqual(s.wait(), 0)
        history = self.history("smtp", plain_port)
        self.assertIn(b"NOOP", history)
        self.assertNotIn(b"half-typed", history)


class Imap(ShellCase):
    def test_login_select_append_and_fetch_a_literal(self):
        """Safe: the shell adds the tags, asks the LOGIN password without
        echo, replaces {} by the size of the lines typed (sent after the
        server's go-ahead), and shows the literal of a FETCH.  The password
        is neither on the screen nor in the history file."""
        rigutil.clear_mailbox(ENV, "bob")
        password = ENV["RIG_PASS2"]
        imap_port = port("IMAP")
        s = self.start("imap://127.0.0.1:%d" % imap_port)
        s.expect("* OK")
        s.expect("imap> ")
        s.send("STARTTLS")
        tls = s.expect("imap> ")
        self.assertIn("> A0001 STARTTLS", tls)
        self.assertIn("A0001 OK", tls)
        self.assertIn("> A0002 CAPABILITY", tls)
        s.send("LOGIN " + ENV["RIG_USER2"])
        s.expect("Password: ")
        s.send(password)
        login = s.expect("imap> ")
        self.assertIn("> A0003 LOGIN %s ********" % ENV["RIG_USER2"], login)
        self.assertIn("A0003 OK", login)
        s.send("SELECT INBOX")
        self.assertIn("A0004 OK [READ-WRITE]", s.expect("imap> "))
        s.send("APPEND INBOX (\\Seen) {}")
        body = ["From: %s" % ENV["RIG_USER2"], "Subject: appended by shell",
                "", "literal body line"]
        for line in body + ["."]:
            s.expect("data> ")
            s.send(line)
        size = sum(len(l) + 2 for l in body)
        append = s.expect("imap> ")
        self.assertIn("> A0005 APPEND INBOX (\\Seen) {%d}" % size, append)
        self.assertIn("+ ", append)
        m = re.search(r"A0005 OK \[APPENDUID \d+ (\d+)\]", append)
        self.assertTrue(m, append)
        s.send("UID FETCH %s BODY.PEEK[]" % m.group(1))
        fetch = s.expect("imap> ")
        self.assertIn("BODY[] {%d}" % size, fetch)
        self.assertIn("literal body line", fetch)
        self.assertIn("A0006 OK", fetch)
        s.send("LOGOUT")
        s.expect("A0007 OK")
        self.assertEqual(s.wait(), 0)
        history = self.history("imap", imap_port)
        self.assertIn(b"SELECT\\040INBOX", history)
        self.assert_secret_absent(password, s.screen, history)

    def test_untagged_lines_show_while_the_prompt_waits(self):
        """Safe: during IDLE the prompt waits for the user, and a message
        appended by another client shows at once as "* N EXISTS" without
        anything typed; DONE (no tag: it answers the continuation) ends
        IDLE with the tagged OK."""
        rigutil.clear_mailbox(ENV, "bob")
        s = self.start("imaps://127.0.0.1:%d" % port("IMAPS"), "--user",
                       ENV["RIG_USER2"])
        s.expect("imap> ")
        s.send(".auth plain")
        s.expect("Password: ")
        s.send(ENV["RIG_PASS2"])
        self.assertIn("A0001 OK", s.expect("imap> "))
        s.send("SELECT INBOX")
        s.expect("imap> ")
        s.send("IDLE")
        self.assertIn("+ idling", s.expect("+> "))
        rigutil.imap_append(ENV, ENV["RIG_USER2"], ENV["RIG_PASS2"],
                            [b"Subject: during idle\r\n\r\nx\r\n"])
        s.expect("* 1 EXISTS")  # nothing was typed
        s.send("DONE")
        self.assertIn("A0003 OK", s.expect("imap> "))
        s.send(".quit")
        s.expect("A0004 OK")
        self.assertEqual(s.wait(), 0)


class Pop3(ShellCase):
    def test_stls_and_retr(self):
        """Safe: STLS typed mid-session is followed by the handshake and
        CAPA again (without STLS now); PASS typed without the password asks
        for it without echo; RETR shows the message to its lone dot."""
        rigutil.clear_mailbox(ENV, "bob")
        subject = "shell-pop3-%d" % os.getpid()
        with tempfile.NamedTemporaryFile(delete=False) as f:
            f.write(("From: %s\nTo: %s\nSubject: %s\n\npop3 body\n"
                     % (ENV["RIG_USER1"], ENV["RIG_USER2"], subject))
                    .encode())
        try:
            code, _, err, _ = mwtest.run(
                ["send", "--server", "127.0.0.1:%d" % port("PLAIN"),
                 "--tls", "none", "--from", ENV["RIG_USER1"], "--to",
                 ENV["RIG_USER2"], "--message", f.name])
        finally:
            os.unlink(f.name)
        self.assertEqual(code, 0, err)
        rigutil.wait_for_mail(ENV, "bob")
        password = ENV["RIG_PASS2"]
        pop_port = port("POP3")
        s = self.start("pop3://127.0.0.1:%d" % pop_port)
        s.expect("+OK")
        s.expect("pop3> ")
        s.send("STLS")
        tls = s.expect("pop3> ")
        self.assertIn("+OK Begin TLS", tls)
        self.assertIn("> CAPA", tls)
        capa = tls[tls.index("> CAPA"):]
        self.assertIn("USER", capa)
        self.assertNotIn("STLS", capa)
        s.send("USER " + ENV["RIG_USER2"])
        s.expect("pop3> ")
        s.send("PASS")
        s.expect("Password: ")
        s.send(password)
        self.assertIn("+OK Logged in", s.expect("pop3> "))
        s.send("RETR 1")
        retr = s.expect("pop3> ")
        self.assertIn("Subject: " + subject, retr)
        self.assertIn("pop3 body", retr)
        self.assertRegex(retr, r"\n\.\r?\n")
        s.send("QUIT")
        s.expect("+OK")
        self.assertEqual(s.wait(), 0)
        self.assert_secret_absent(password, s.screen,
                                  self.history("pop3", pop_port))

    def test_password_typed_inline_is_masked_and_kept_out(self):
        """Attack: a password typed on the line (PASS secret) would stay in
        the history file and the trace.  Safe: the line is shown as
        "PASS ********", traced as PASS <redacted> and not added to the
        history."""
        password = ENV["RIG_PASS2"]
        pop_port = port("POP3")
        s = self.start("pop3://127.0.0.1:%d" % pop_port, "--tls",
                       "starttls", "--trace")
        s.expect("pop3> ")
        s.send("USER " + ENV["RIG_USER2"])
        s.expect("pop3> ")
        s.send("PASS " + password)
        # The typed line is rewritten masked once Enter is pressed.
        s.expect("pop3> PASS ********")
        self.assertIn("+OK Logged in", s.expect("pop3> "))
        s.send("QUIT")
        s.expect("+OK")
        self.assertEqual(s.wait(), 0)
        history = self.history("pop3", pop_port)
        self.assertIn(b"USER", history)
        self.assert_secret_absent(password, history)
        # What the terminal kept after the rewrite: the trace lines never
        # held it (only the editor's echo of the keys did).
        trace = [l for l in s.screen.split(b"\n") if b"PASS" in l and
                 b"pop3>" not in l]
        self.assertTrue(trace)
        for l in trace:
            self.assertNotIn(password.encode(), l)


class Script(unittest.TestCase):
    def run_shell(self, args, script=None, stdin=None, env=None):
        full = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        full.update(env or {})
        p = subprocess.run(
            mwtest.command(mwtest.MAILWIRE, "shell", *args) + tls_args(),
            input=stdin, env=full, capture_output=True, timeout=120)
        return (p.returncode, p.stdout.decode("utf-8", "replace"),
                p.stderr.decode("utf-8", "replace"))

    def test_failed_expect_exits_non_zero_naming_the_line(self):
        """Safe: MAIL before STARTTLS on the submission port gets 530; the
        script expected 250, so the shell stops there, exits 1 and says
        which line of which file failed (and what came instead)."""
        with tempfile.NamedTemporaryFile("w", delete=False,
                                         suffix=".mwsh") as f:
            f.write("# submission without TLS\n"
                    "EHLO client.example.test\n"
                    ".expect 250\n"
                    "MAIL FROM:<%s>\n"
                    ".expect 250\n"
                    "RCPT TO:<%s>\n"
                    "QUIT\n" % (ENV["RIG_USER1"], ENV["RIG_USER1"]))
        try:
            code, out, err = self.run_shell(
                ["127.0.0.1:%d" % port("SUBMISSION"), "--script", f.name])
        finally:
            os.unlink(f.name)
        self.assertEqual(code, 1, out + err)
        self.assertIn("%s line 5: expected 250, got 530" % f.name, err)
        self.assertNotIn("RCPT", out)  # it stopped at the failed step

    def test_script_from_stdin_passes(self):
        """Safe: commands from standard input with --expect lines; every
        check holds, so the exit status is 0; the trace shows AUTH's
        payload redacted and no password anywhere."""
        password = ENV["RIG_PASS1"]
        script = ("EHLO client.example.test\n--expect 250\nSTARTTLS\n"
                  "--expect 2xx\n.auth scram-sha-256\n--expect 235\n"
                  "NOOP\n--expect 250\nQUIT\n--expect 221\n")
        code, out, err = self.run_shell(
            ["smtp://127.0.0.1:%d" % port("SUBMISSION"), "--user",
             ENV["RIG_USER1"], "--password-env", "MW_SHELL_PW", "--trace"],
            stdin=script.encode(), env={"MW_SHELL_PW": password})
        self.assertEqual(code, 0, out + err)
        self.assertIn("authenticated as %s with SCRAM-SHA-256"
                      % ENV["RIG_USER1"], out)
        self.assertIn("AUTH SCRAM-SHA-256 <redacted>", out)
        self.assert_no(password, out, err)

    def test_every_auth_helper(self):
        """Safe: .auth plain, login, cram-md5, scram-sha-256 and xoauth2
        each run their challenge rounds through the library's SASL driver
        (SMTP after STARTTLS, IMAP AUTHENTICATE with a tag, POP3 AUTH),
        with every payload redacted; nothing secret in the output."""
        password = ENV["RIG_PASS1"]
        mkjwt = os.path.join(os.path.dirname(__file__), "..", "rig",
                             "mkjwt.py")
        token_cmd = "%s %s --env %s --sub %s" % (
            sys.executable, mkjwt, os.environ["MW_RIG_ENV"], ENV["RIG_USER1"])
        servers = {
            "smtp": ("smtp://127.0.0.1:%d" % port("SUBMISSION"),
                     "EHLO c.test\nSTARTTLS\n", "235"),
            "imap": ("imaps://127.0.0.1:%d" % port("IMAPS"), "", "OK"),
            "pop3": ("pop3://127.0.0.1:%d" % port("POP3"), "STLS\n",
                     "+OK"),
        }
        for proto, (url, pre, ok) in servers.items():
            for mech in ("plain", "login", "cram-md5", "scram-sha-256",
                         "xoauth2"):
                with self.subTest(proto=proto, mech=mech):
                    secret = (["--oauth2-token-cmd", token_cmd]
                              if mech == "xoauth2" else
                              ["--password-env", "MW_SHELL_PW"])
                    code, out, err = self.run_shell(
                        [url, "--user", ENV["RIG_USER1"]] + secret,
                        stdin=(pre + ".auth %s\n.expect %s\n" % (mech, ok))
                        .encode(), env={"MW_SHELL_PW": password})
                    self.assertEqual(code, 0, out + err)
                    self.assertIn("authenticated as %s with %s"
                                  % (ENV["RIG_USER1"], mech.upper()), out)
                    self.assertNotIn(password, out + err)
                    self.assertNotIn("auth=Bearer", out + err)

    def test_user_of_the_url_and_the_greeting_checked(self):
        """The URL's user (percent-decoded) is .auth's default; .expect
        right after connecting checks the greeting (IMAP: OK)."""
        url = "imaps://%s@127.0.0.1:%d" % (ENV["RIG_USER2"].replace("@",
                                                                    "%40"),
                                           port("IMAPS"))
        # No password source: .auth cannot ask on a pipe, and says so
        # (it did not ask for a user name: the URL gave it).
        code, out, err = self.run_shell([url], stdin=b".auth plain\n")
        self.assertIn("no password", out)
        self.assertNotIn("no user name", out)
        self.assertEqual(code, 64, out + err)
        self.assertIn("standard input line 1: no password", err)
        with tempfile.NamedTemporaryFile("w", delete=False) as f:
            f.write(ENV["RIG_PASS2"] + "\n")
        try:
            code, out, err = self.run_shell(
                [url, "--password-file", f.name],
                stdin=b".expect OK\n.auth plain\n.expect OK\nLOGOUT\n")
        finally:
            os.unlink(f.name)
        self.assertEqual(code, 0, out + err)
        self.assertIn("authenticated as %s with PLAIN" % ENV["RIG_USER2"],
                      out)

    def test_refused_auth_ends_a_script_naming_the_step(self):
        """A wrong password: the server's refusal is shown, and the script
        ends there with exit 77 (authentication), stderr naming the line;
        the wrong password is nowhere in the output."""
        code, out, err = self.run_shell(
            ["imaps://127.0.0.1:%d" % port("IMAPS"), "--user",
             ENV["RIG_USER2"], "--password-env", "MW_SHELL_PW"],
            stdin=b"# log in\n.auth plain\nSELECT INBOX\n",
            env={"MW_SHELL_PW": "Wrong-Pw-9981"})
        self.assertEqual(code, 77, out + err)
        self.assertIn("standard input line 2: .auth plain:", err)
        self.assertNotIn("SELECT", out)
        self.assertNotIn("Wrong-Pw-9981", out + err)

    def test_explain_and_doctor_with_the_session_settings(self):
        """Safe: .explain reads the last reply (530: STARTTLS first) as
        mailwire explain does; .doctor runs the doctor with the session's
        settings (the rig's CA: the certificate check passes)."""
        code, out, err = self.run_shell(
            ["127.0.0.1:%d" % port("SUBMISSION")],
            stdin=b"EHLO c.test\nMAIL FROM:<a@example.test>\n.expect 530\n"
                  b".explain\n.doctor\nQUIT\n")
        self.assertEqual(code, 0, out + err)
        self.assertIn("-- reply 530 5.7.0", out)
        self.assertIn("-- meaning:", out)
        self.assertRegex(out, r"-- ok +certificate +trusted")

    def test_profile_and_proxy(self):
        """The connection options of send: an account profile (server,
        STARTTLS, CA, user and passwordeval) and a SOCKS5 proxy (Dante on
        loopback, the trace naming the tunnel); --tls starttls in the
        profile upgrades right after the greeting."""
        d = tempfile.mkdtemp(prefix="mw-shell-profile-")
        try:
            conf = os.path.join(d, "config")
            with open(conf, "w") as f:
                f.write("account rig\nhost 127.0.0.1\nport %d\ntls on\n"
                        "tls_starttls on\ntls_trust_file %s\nuser %s\n"
                        "passwordeval \"cat %s/pw\"\n"
                        % (port("SUBMISSION"), ENV["RIG_CA_FILE"],
                           ENV["RIG_USER1"], d))
            with open(os.path.join(d, "pw"), "w") as f:
                f.write(ENV["RIG_PASS1"] + "\n")
            script = b".expect 250\n.auth plain\n.expect 235\nQUIT\n"
            with proxyrig.Dante() as dante:
                for proxy in ([], ["--proxy",
                                   "socks5h://127.0.0.1:%d" % dante.port]):
                    with self.subTest(proxy=proxy):
                        code, out, err = self.run_shell(
                            ["-C", conf, "--account", "rig", "--trace"] +
                            proxy, stdin=script)
                        self.assertEqual(code, 0, out + err)
                        self.assertIn("> STARTTLS", out)
                        self.assertIn("235 2.7.0", out)
                        if proxy:
                            self.assertIn("proxy tunnel to 127.0.0.1", err)
                        self.assertNotIn(ENV["RIG_PASS1"], out + err)
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def assert_no(self, secret, *texts):
        for t in texts:
            self.assertNotIn(secret, t)


class Injection(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="mw-shell-certs-")
        cls.ca, cls.cert, cls.key = fakesmtp.make_test_certs(cls.dir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_bytes_after_the_220_to_starttls_end_the_session(self):
        """Attack: response injection: a reply appended to the 220 to a
        STARTTLS typed in the shell, in the same packet.  Safe: the
        library's injection check (mw_conn_starttls) refuses before the
        handshake, nothing more is sent, exit 76.  Why: bytes read before
        the handshake would be taken for the server's post-TLS replies."""
        with fakesmtp.FakeSMTP(cert=self.cert, key=self.key, auth="PLAIN",
                               inject_after_starttls=b"250 AUTH PLAIN\r\n"
                               ) as f:
            p = subprocess.run(
                mwtest.command(mwtest.MAILWIRE, "shell",
                               "127.0.0.1:%d" % f.port, "--tls-ca-file",
                               self.ca),
                input=b"EHLO client.test\nSTARTTLS\n.auth plain u\n"
                      b"MAIL FROM:<a@b.test>\n",
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
                capture_output=True, timeout=60)
        out = p.stdout.decode() + p.stderr.decode()
        self.assertEqual(p.returncode, 76, out)
        self.assertIn("after its 220 reply to STARTTLS", out)
        lines = f.sessions[0].lines
        self.assertEqual([l.split()[0] for l in lines], ["EHLO", "STARTTLS"])

    def test_starttls_required_and_refused_ends_the_session(self):
        """Attack: STARTTLS stripped or refused (a downgrade).  Safe: with
        --tls starttls the shell stops after the refusal, before any line
        typed is sent (exit 78).  Why: required TLS must not be silently
        given up; the user's first command could carry credentials."""
        with fakesmtp.FakeSMTP(cert=self.cert, key=self.key, starttls=False,
                               auth="PLAIN") as f:
            p = subprocess.run(
                mwtest.command(mwtest.MAILWIRE, "shell",
                               "127.0.0.1:%d" % f.port, "--tls", "starttls",
                               "--tls-ca-file", self.ca),
                input=b"AUTH PLAIN AHUAcA==\nMAIL FROM:<a@b.test>\n",
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
                capture_output=True, timeout=60)
        out = p.stdout.decode() + p.stderr.decode()
        self.assertEqual(p.returncode, 78, out)
        self.assertIn("refused STARTTLS", out)
        lines = f.sessions[0].lines
        self.assertFalse(any(l.startswith(("AUTH", "MAIL")) for l in lines),
                         lines)


if __name__ == "__main__":
    unittest.main()

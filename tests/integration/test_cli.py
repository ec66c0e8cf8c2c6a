"""The mailwire command line itself: help texts that list every option the
parser takes, usage errors (also as JSON), durations, `help`, `config
show`, the success line, and the `mailwire doctor ...` line after a failed
send.  Only 127.0.0.1 and ::1 are ever contacted."""

import json
import os
import re
import shlex
import shutil
import socket
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import fakesmtp  # noqa: E402
import mwtest  # noqa: E402
import proxyrig  # noqa: E402

CERT_DIR = None
CA = CERT = KEY = None


def setUpModule():
    global CERT_DIR, CA, CERT, KEY
    CERT_DIR, (CA, CERT, KEY) = fakesmtp.temp_certs()


def tearDownModule():
    shutil.rmtree(CERT_DIR, ignore_errors=True)


def closed_port(host="127.0.0.1"):
    """A port nothing listens on (bound, then released)."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam)
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def send_args(server, *extra, body=True):
    return (["send", "--server", server, "--from", "alice@example.org",
             "--to", "bob@example.org", "--subject", "cli", "--tls-ca-file",
             CA] + (["--body", "hello\n"] if body else []) + list(extra))


# Words the parser says when it does not know an option for a command.
NOT_TAKEN = ("unknown option", "does not apply", "is for mailwire")


def help_options(text):
    """The option words a help text names: --long anywhere, -X in the
    option column (prose may say "sh -c")."""
    words = set(re.findall(r"(?:^|(?<=[\s,(]))(--[a-z0-9][a-z0-9-]*)", text))
    words |= set(re.findall(r"^  (-[A-Za-z0-9])\b", text, re.M))
    return words


def takes_value(text, opt):
    """Whether the help shows a value after opt in the option column."""
    m = re.search(r"^  (?:-[A-Za-z0-9], )?%s( [^ ]|,)" % re.escape(opt),
                  text, re.M)
    if not m:  # an alias: "-H, --header 'Name: value'"
        m = re.search(r"^  %s, --[a-z0-9-]+( [^ ])" % re.escape(opt), text,
                      re.M)
    return bool(m) and m.group(1) != ","


class Help(unittest.TestCase):
    def test_every_option_in_the_help_is_taken_by_the_parser(self):
        """Fault: a help that lists options the parser refuses, or forgets
        -C/--account and the proxy options.  Safe: every option word in
        the help of send, doctor and probe is accepted by that command
        (the binary, profile options included), and the help names -C,
        --account and --proxy.  Why: users copy options from --help."""
        for cmd in ("send", "doctor", "probe"):
            code, text, err, _ = mwtest.run([cmd, "--help"])
            self.assertEqual(code, 0, err)
            code2, text2, _, _ = mwtest.run(["help", cmd])
            self.assertEqual((code2, text2), (0, text))
            opts = help_options(text)
            for must in ("-C", "--config", "--account", "--proxy", "--json",
                         "--help", "--tls-ca-file", "--connect-timeout"):
                self.assertIn(must, opts, "%s --help lacks %s" % (cmd, must))
            self.assertEqual("--proxy-protocol" in opts, cmd != "probe")
            self.assertGreater(len(opts), 20)
            for opt in sorted(opts):
                # No target and an empty value: every command stops at
                # the parser (or the rules after it), so nothing is
                # contacted.
                words = [cmd, opt] + ([""] if takes_value(text, opt) else [])
                code, out, err, _ = mwtest.run(words)
                for bad in NOT_TAKEN:
                    self.assertNotIn(bad, err, "%s %s: %s" % (cmd, opt, err))
            for line in text.splitlines():
                self.assertLessEqual(len(line), 79, line)

    def test_help_of_an_unknown_command_is_a_usage_error(self):
        """Fault: `mailwire help bogus` printed the main help and exited 0.
        Safe: exit 64 and a message naming the commands."""
        code, out, err, _ = mwtest.run(["help", "bogus"])
        self.assertEqual(code, 64)
        self.assertIn("no command 'bogus'", err)
        self.assertIn("send, doctor, probe", err)
        self.assertEqual(out, "")
        code, out, _, _ = mwtest.run(["help"])
        self.assertEqual(code, 0)
        self.assertIn("Commands:", out)
        for cmd in ("explain", "config"):
            code, out, err, _ = mwtest.run(["help", cmd])
            self.assertEqual(code, 0, err)
        code, _, _, _ = mwtest.run(["help", "send", "doctor"])
        self.assertEqual(code, 64)

    def test_unknown_option_suggests_the_nearest(self):
        """Fault: a typo ends with "unknown option" alone.  Safe: the
        nearest option of that command is suggested, none when nothing
        is near."""
        cases = [(["send", "--pasword-file", "f"], "--password-file"),
                 (["send", "--tls-ca", "f"], "--tls-ca-file"),
                 (["doctor", "127.0.0.1:1", "--acount", "w"], "--account"),
                 (["probe", "127.0.0.1", "--prots", "25"], "--ports")]
        for words, near in cases:
            code, out, err, _ = mwtest.run(words)
            self.assertEqual(code, 64, err)
            self.assertIn("did you mean %s?" % near, err)
        code, _, err, _ = mwtest.run(["send", "--frobnicate"])
        self.assertEqual(code, 64)
        self.assertNotIn("did you mean", err)


class JsonErrors(unittest.TestCase):
    def check_error(self, words, code=64, needle=None, env=None):
        c, out, err, _ = mwtest.run(words, env=env)
        self.assertEqual(c, code, err)
        doc = json.loads(out)
        self.assertEqual(doc["status"], "failed")
        self.assertEqual(doc["exit_code"], code)
        e = doc["error"]
        # The same keys as the error object of a failed send.
        self.assertEqual(set(e), {"status", "category", "message",
                                  "reply_code", "enhanced", "server_text",
                                  "recipient", "temporary"})
        self.assertFalse(e["temporary"])
        if needle:
            self.assertIn(needle, e["message"])
        return e

    def test_usage_errors_are_json_with_json(self):
        """Fault: --json printed nothing on stdout for a usage error, so a
        script parsing stdout got no JSON.  Safe: a JSON object with
        the error (category usage, MW_E_INVALID, exit 64), for send,
        doctor and probe, wherever --json stands."""
        for words, needle in [
                (["send", "--json", "--frobnicate"], "--frobnicate"),
                (["send", "--server", "h", "--json"], "--from is required"),
                (["send", "--timeout", "soon", "--json"], "--timeout"),
                (["doctor", "--json"], "give the server"),
                (["doctor", "127.0.0.1:1", "--subject", "x", "--json"],
                 "does not apply to doctor"),
                (["probe", "--json", "127.0.0.1", "--ports", "0"],
                 "--ports"),
                (["send", "--json", "-C"], "needs a value")]:
            e = self.check_error(words, needle=needle)
            self.assertEqual(e["category"], "usage")
            self.assertEqual(e["status"], "MW_E_INVALID")

    def test_explain_usage_errors_are_json_with_json(self):
        """Safe: explain's usage errors are JSON with --json as well; after
        `--` the word is reply text, not a request for JSON."""
        e = self.check_error(["explain", "--json", "--bogus"],
                             needle="--bogus")
        self.assertEqual(e["category"], "usage")
        self.check_error(["explain", "--json"], needle="no reply code")
        code, out, err, _ = mwtest.run(["explain", "--", "--json"])
        self.assertEqual((code, out), (64, ""))

    def test_profile_and_input_errors_are_json_too(self):
        """Safe: errors before any connection (a missing profile file, a
        password file that cannot be read) are JSON objects too, with
        their own exit codes."""
        d = tempfile.mkdtemp()
        try:
            e = self.check_error(
                ["send", "--json", "-C", os.path.join(d, "none"), "--to",
                 "b@example.org"], code=78, needle="cannot read")
            self.assertEqual(e["category"], "usage")
            e = self.check_error(
                send_args("127.0.0.1:%d" % closed_port(), "--json",
                          "--body-file", os.path.join(d, "missing"),
                          body=False),
                code=66)
            self.assertEqual(e["category"], "local")
        finally:
            shutil.rmtree(d)

    def test_json_as_a_value_is_not_a_request_for_json(self):
        """Safe: `--subject --json` is a subject; a usage error then stays
        text."""
        code, out, err, _ = mwtest.run(["send", "--subject", "--json",
                                        "--frobnicate"])
        self.assertEqual(code, 64)
        self.assertEqual(out, "")
        self.assertIn("--frobnicate", err)


class Durations(unittest.TestCase):
    def test_decimal_seconds_are_honoured(self):
        """Fault: `--greeting-timeout 1.5` was refused (or read as 1 s).
        Safe: a silent server is given up after 1.5 s, not 1 s nor 10."""
        with fakesmtp.FakeSMTP(silent=True) as f:
            code, doc, err, secs = mwtest.run_json(
                send_args("127.0.0.1:%d" % f.port, "--greeting-timeout",
                          "1.5"))
        self.assertEqual(code, 75, err)
        self.assertGreaterEqual(secs, 1.4)
        self.assertLess(secs, mwtest.bound(1.5 + 2))

    def test_hours_and_units_are_accepted_garbage_refused(self):
        """Safe: 2h, 1.5s, 0.5m and 250ms are durations; negatives,
        garbage, units unknown and values past 24 h (or past any
        integer) are usage errors that name the option and the value."""
        port = closed_port()
        for good in ("2h", "1.5s", "0.5m", "250ms", "3.0", "24h"):
            code, _, err, _ = mwtest.run(send_args("127.0.0.1:%d" % port,
                                                   "--timeout", good))
            self.assertEqual(code, 75, "%s: %s" % (good, err))
        for bad, why in (("-1", "negative"), ("-0.5s", "negative"),
                         ("1e3", "unit"), ("2d", "unit"), ("1h30m", "unit"),
                         ("25h", "24h"), ("99999999999999999999", "24h"),
                         ("0", "zero"), ("1.", "decimal point"),
                         ("abc", "not a number")):
            code, _, err, _ = mwtest.run(send_args("127.0.0.1:%d" % port,
                                                   "--timeout", bad))
            self.assertEqual(code, 64, bad)
            self.assertIn("--timeout: '%s'" % bad, err)
            self.assertIn(why, err)


class ConfigShow(unittest.TestCase):
    def test_config_show_prints_only_options_that_exist(self):
        """Fault: `config show` printed `--password-value <redacted>` (an
        internal word, no option) and msmtp's ignored keys as if they
        did something.  Safe: every option printed is one send takes
        (its help lists it), ignored keys are named as ignored, and no
        secret is shown."""
        d = tempfile.mkdtemp()
        try:
            path = os.path.join(d, "config")
            with open(path, "w") as f:
                f.write("defaults\nlogfile ~/.msmtp.log\nsyslog on\n"
                        "account work\nhost mail.example.org\nport 587\n"
                        "user alice\npassword Cfg-secret-41\n"
                        "from alice@example.org\ntimeout 1.5\n"
                        "proxy socks5h://bob:Proxy-pw-77@127.0.0.1:1080\n"
                        "tls_trust_file /etc/ssl/ca.pem\n")
            os.chmod(path, 0o600)
            code, out, err, _ = mwtest.run(["config", "show", "-C", path,
                                            "--account", "work"])
            self.assertEqual(code, 0, err)
            _, send_help, _, _ = mwtest.run(["send", "--help"])
            known = help_options(send_help)
            line = [l for l in out.splitlines()
                    if l.startswith("as options:")][0]
            printed = [w for w in line.split()[2:] if w.startswith("-")]
            self.assertIn("--server", printed)
            for w in printed:
                self.assertIn(w, known, line)
            self.assertNotIn("--password-value", out)
            self.assertIn("password: <redacted>", out)
            for secret in ("Cfg-secret-41", "Proxy-pw-77", "bob:"):
                self.assertNotIn(secret, out + err)
            self.assertIn("127.0.0.1:1080", line)
            keys = [l.split()[0] for l in out.splitlines()
                    if l.startswith("  ")]
            self.assertNotIn("logfile", keys)
            self.assertIn("ignored", out)
            self.assertIn("logfile", out)
        finally:
            shutil.rmtree(d)


class SuccessLine(unittest.TestCase):
    def test_success_line_names_the_mail_server(self):
        """Fault: the line said "via 127.0.0.1:PORT", the address only.
        Safe: it names the mail server as given, with its port."""
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY) as f:
            code, out, err, _ = mwtest.run(
                send_args("localhost:%d" % f.port))
        self.assertEqual(code, 0, err)
        self.assertRegex(out, r"^sent to 1 of 1 recipient via mail server "
                              r"localhost:%d \(address [^)]*%d, TLSv1\.[23]"
                         % (f.port, f.port))

    def test_success_line_names_the_proxy_apart(self):
        """Fault: through a proxy the line named the proxy's address as if
        it were the mail server.  Safe: the mail server, then "through
        proxy URL" (without credentials)."""
        if not shutil.which("danted"):
            self.skipTest("danted is not installed")
        with proxyrig.Dante() as dante, \
                fakesmtp.FakeSMTP(cert=CERT, key=KEY) as f:
            proxy = "socks5://127.0.0.1:%d" % dante.port
            code, out, err, _ = mwtest.run(
                send_args("127.0.0.1:%d" % f.port, "--proxy", proxy))
            code2, doc, err2, _ = mwtest.run_json(
                send_args("127.0.0.1:%d" % f.port, "--proxy", proxy))
        self.assertEqual(code, 0, err)
        self.assertIn("via mail server 127.0.0.1:%d through proxy %s ("
                      % (f.port, proxy), out)
        self.assertNotIn("address", out)
        self.assertEqual(code2, 0, err2)
        self.assertEqual(doc["server"]["proxy"], proxy)
        self.assertIsNone(doc["doctor_command"])


class DoctorLine(unittest.TestCase):
    def last_line(self, err):
        lines = err.strip().splitlines()
        self.assertTrue(lines and lines[-1].startswith(
            "mailwire: to diagnose, run: mailwire doctor "), err)
        return lines[-1].split("run: ", 1)[1]

    def run_doctor(self, line, env=None):
        words = shlex.split(line)
        self.assertEqual(words[:2], ["mailwire", "doctor"])
        return mwtest.run(words[1:], env=env)

    def test_failed_send_ends_with_a_pasteable_doctor_command(self):
        """Fault: a failed send left the user to work out how to
        diagnose it.  Safe: stderr ends with the doctor command for the
        same host, port, TLS mode and settings; run as printed, it
        diagnoses the refused port (doctor exit 11)."""
        port = closed_port()
        code, out, err, _ = mwtest.run(send_args(
            "127.0.0.1:%d" % port, "--tls", "starttls", "--connect-timeout",
            "2.5s", "-4", "--user", "alice", "--password-env", "PW"),
            env={"PW": "Env-secret-93"})
        self.assertEqual(code, 75, err)
        line = self.last_line(err)
        self.assertTrue(line.startswith(
            "mailwire doctor 127.0.0.1:%d --tls starttls" % port), line)
        for w in ("--tls-ca-file", "--connect-timeout 2.5s", "-4",
                  "--user alice", "--password-env PW"):
            self.assertIn(w, line)
        for w in ("--body", "--subject", "--from", "Env-secret-93"):
            self.assertNotIn(w, line)
        code, out, err, _ = self.run_doctor(line, env={"PW": "x"})
        self.assertEqual(code, 11, out + err)
        # The same line in the JSON result.
        code, doc, err, _ = mwtest.run_json(send_args("127.0.0.1:%d" % port))
        self.assertEqual(code, 75)
        self.assertTrue(doc["doctor_command"].startswith(
            "mailwire doctor 127.0.0.1:%d" % port), doc)

    def test_ipv6_target_is_bracketed_and_quoted(self):
        """Safe: an IPv6 literal is printed as '[::1]:PORT', which a shell
        passes as one word, and doctor takes it."""
        try:
            port = closed_port("::1")
        except OSError:
            self.skipTest("no IPv6 loopback")
        code, _, err, _ = mwtest.run(send_args("[::1]:%d" % port))
        self.assertEqual(code, 75, err)
        line = self.last_line(err)
        self.assertIn(" '[::1]:%d'" % port, line)
        code, out, err, _ = self.run_doctor(line)
        self.assertEqual(code, 11, out + err)
        self.assertIn("[::1]", out)

    def test_secrets_never_in_the_doctor_command(self):
        """Attack: credentials in a proxy URL, a password command or a
        profile.  Safe: the proxy's user:password becomes USER:PASSWORD,
        a command becomes CMD, a profile is named by -C/--account (doctor
        reads the password from it), and no secret is printed."""
        d = tempfile.mkdtemp()
        try:
            path = os.path.join(d, "my config")
            port = closed_port()
            with open(path, "w") as f:
                f.write("account work\nhost 127.0.0.1\nport %d\n"
                        "tls_starttls on\nuser alice\n"
                        "password Prof-secret-58\n"
                        "from alice@example.org\n" % port)
            os.chmod(path, 0o600)
            code, out, err, _ = mwtest.run(
                ["send", "-C", path, "--account", "work", "--to",
                 "bob@example.org", "--body", "x", "--proxy",
                 "socks5://bob:Proxy-pw-12@127.0.0.1:%d" % closed_port(),
                 "--oauth2-token-cmd", "echo Tok-secret-33"])
            self.assertNotEqual(code, 0)
            line = self.last_line(err)
            for secret in ("Prof-secret-58", "Proxy-pw-12", "Tok-secret-33",
                           "bob:"):
                self.assertNotIn(secret, out + err)
            self.assertIn("--config '%s' --account work" % path, line)
            self.assertIn("USER:PASSWORD@127.0.0.1:", line)
            self.assertIn("--oauth2-token-cmd CMD", line)
            self.assertIn("127.0.0.1:%d" % port, line)
            # Without the proxy and the token, the line runs as printed
            # and doctor takes the rest from the profile.
            code, _, err, _ = mwtest.run(
                ["send", "-C", path, "--account", "work", "--to",
                 "bob@example.org", "--body", "x"])
            line = self.last_line(err)
            code, out, err, _ = self.run_doctor(line)
            self.assertEqual(code, 11, out + err)
            self.assertNotIn("Prof-secret-58", out + err)
        finally:
            shutil.rmtree(d)

    def test_no_doctor_command_for_local_failures(self):
        """Safe: a failure doctor cannot help with (bad input, usage)
        prints no doctor command."""
        code, _, err, _ = mwtest.run(send_args(
            "127.0.0.1:%d" % closed_port(), "--body-file", "/nonexistent",
            body=False))
        self.assertEqual(code, 66)
        self.assertNotIn("mailwire doctor", err)


if __name__ == "__main__":
    unittest.main()

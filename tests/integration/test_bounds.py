"""Every input bounded (issue 9, item 5): a message or body that never ends,
a message on standard input larger than the limit, a password or token
command that hangs (and leaves a grandchild behind) or floods its output,
a profile whose accounts inherit in a fan-out, and a readable profile with
a password in another account.  Each ends within seconds with a clear
error naming the input and the limit, against the misbehaving test
server."""

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import fakesmtp  # noqa: E402
import mwtest  # noqa: E402

CERT_DIR = CA = CERT = KEY = None


def setUpModule():
    global CERT_DIR, CA, CERT, KEY
    CERT_DIR, (CA, CERT, KEY) = fakesmtp.temp_certs()


def tearDownModule():
    shutil.rmtree(CERT_DIR, ignore_errors=True)


def server(**kw):
    return fakesmtp.FakeSMTP(cert=CERT, key=KEY, **kw)


def send(port, *extra):
    return ["send", "--server", "127.0.0.1:%d" % port, "--tls-ca-file", CA,
            "--from", "alice@example.org", "--to", "bob@example.org"] + \
        list(extra)


def run_with_stdin_from(producer, args, timeout=60):
    """Run mailwire with the standard output of producer (an argv) as its
    standard input; return (code, stdout, stderr, seconds)."""
    t0 = time.monotonic()
    prod = subprocess.Popen(producer, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    try:
        p = subprocess.run(mwtest.command(mwtest.MAILWIRE, *args),
                           stdin=prod.stdout, capture_output=True,
                           timeout=timeout,
                           env={"PATH": os.environ.get("PATH", "/bin")})
    finally:
        prod.stdout.close()
        prod.kill()
        prod.wait()
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"), time.monotonic() - t0)


def process_gone(pid):
    """True when pid no longer runs (absent, or a zombie nobody reaped)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("State:"):
                    return line.split()[1] in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return True
    return False


class Message(unittest.TestCase):
    def test_dev_zero_as_message_stops_at_line_one(self):
        """Attack: --message /dev/zero (no line break, no end).  Safe:
        refused at once, before connecting, exit 65, naming the file and
        line 1.  Why: the pre-scan used to read the whole source: 100%
        CPU forever."""
        with server() as f:
            code, out, err, secs = mwtest.run(
                send(f.port, "--message", "/dev/zero"), timeout=30)
        self.assertEqual(code, 65, err)
        self.assertIn("'/dev/zero'", err)
        self.assertIn("line 1 is longer than 998 bytes", err)
        self.assertLess(secs, mwtest.bound(5))
        self.assertEqual(f.sessions, [])

    def test_long_line_in_a_file_names_the_line(self):
        """Fault: line 4 of a message file is 5,000 bytes, followed by
        much more.  Safe: refused before connecting, naming the file and
        line 4.  Why: the scan stops at the first line over 998 bytes."""
        with tempfile.NamedTemporaryFile(delete=False) as tf:
            tf.write(b"Subject: x\r\n\r\nok\r\n" + b"y" * 5000 + b"\r\n" +
                     b"z\r\n" * 100000)
        try:
            with server() as f:
                code, _, err, _ = mwtest.run(send(f.port, "--message",
                                                  tf.name))
        finally:
            os.unlink(tf.name)
        self.assertEqual(code, 65, err)
        self.assertIn("'%s': line 4 is longer than 998 bytes" % tf.name, err)
        self.assertEqual(f.sessions, [])

    def test_stdin_over_the_explicit_cap(self):
        """Attack: an endless message on standard input (yes) with
        --max-message-size 1M.  Safe: stops after 1M, before connecting,
        exit 65, naming standard input and the limit.  Why: stdin was
        spooled to disk without a bound."""
        with server() as f:
            code, _, err, secs = run_with_stdin_from(
                ["yes", "Subject: endless"],
                send(f.port, "--message", "-", "--max-message-size", "1M"))
        self.assertEqual(code, 65, err)
        self.assertIn("standard input is larger than the limit of 1048576 "
                      "bytes (1M) set by --max-message-size", err)
        self.assertLess(secs, mwtest.bound(10))
        self.assertEqual(f.sessions, [])

    def test_stdin_capped_at_the_servers_size(self):
        """Attack: an endless message on standard input, no
        --max-message-size, a server announcing SIZE 10240000.  Safe:
        past the default 25M mailwire asks the server, stops at its SIZE
        and sends nothing (no MAIL), exit 65, naming the limit.  Why: the
        SIZE refusal used to come after spooling everything."""
        with server() as f:
            code, _, err, secs = run_with_stdin_from(
                ["yes", "Subject: endless"], send(f.port, "--message", "-"))
        self.assertEqual(code, 65, err)
        self.assertIn("standard input is larger than the server's SIZE "
                      "limit of 10240000 bytes", err)
        self.assertLess(secs, mwtest.bound(30))
        self.assertEqual(len(f.sessions), 1)
        self.assertFalse(any(l.startswith("MAIL")
                             for l in f.sessions[0].lines))

    def test_stdin_over_the_default_but_within_the_servers_size(self):
        """Safe: a 27 MB message on stdin (over the 25M default) to a
        server announcing SIZE 52428800 is spooled up to that limit and
        sent whole: the server's SIZE, once known, is the cap."""
        producer = ["sh", "-c", "printf 'Subject: big\\r\\n\\r\\n'; "
                    "yes 0123456789abcdef | head -c 27000000"]
        with server(capabilities=("PIPELINING", "SIZE 52428800",
                                  "8BITMIME")) as f:
            code, _, err, _ = run_with_stdin_from(
                producer, send(f.port, "--message", "-", "--tls", "none"),
                timeout=300)
        self.assertEqual(code, 0, err)
        data = f.sessions[0].data[0]
        self.assertTrue(data.startswith(b"Subject: big\r\n\r\n"))
        # every LF became CRLF: 27,000,000 bytes of 17-byte lines
        self.assertEqual(len(data), 16 + 27000000 + 27000000 // 17 + 2)

    def test_stdin_capped_at_the_default_without_size(self):
        """Attack: an endless message on standard input to a server that
        announces no SIZE.  Safe: stops at the documented default (25M),
        exit 65, naming it and --max-message-size; no MAIL.  Why: never
        unbounded on disk."""
        with server(capabilities=("PIPELINING", "8BITMIME",
                                  "ENHANCEDSTATUSCODES")) as f:
            code, _, err, secs = run_with_stdin_from(
                ["yes", "Subject: endless"], send(f.port, "--message", "-"))
        self.assertEqual(code, 65, err)
        self.assertIn("standard input is larger than the default limit of "
                      "26214400 bytes (25M) and the server announced no "
                      "SIZE limit (--max-message-size SIZE raises it)", err)
        self.assertLess(secs, mwtest.bound(30))
        self.assertFalse(any(l.startswith("MAIL")
                             for s in f.sessions for l in s.lines))

    def test_stdin_under_the_cap_is_sent(self):
        """Safe: a message on stdin below --max-message-size still goes
        out unchanged."""
        raw = b"Subject: small\r\n\r\n" + b"body line\r\n" * 1000
        with server() as f:
            code, doc, err, _ = mwtest.run_json(
                send(f.port, "--message", "-", "--max-message-size", "64K"),
                input=raw)
        self.assertEqual(code, 0, err)
        self.assertEqual(f.sessions[0].data[0], raw)

    def test_stdin_from_a_regular_file_is_read_in_place(self):
        """Standard input redirected from a regular file is a file of known
        size: scanned and sent where it stands (after a line the shell
        already read), not spooled, so the spooling cap does not apply."""
        body = b"Subject: in place\r\n\r\n" + b"0123456789\r\n" * 150000
        with tempfile.NamedTemporaryFile(delete=False) as tf:
            tf.write(b"skipped by the shell\n" + body)
        try:
            with server() as f:
                argv = mwtest.command(mwtest.MAILWIRE, *send(
                    f.port, "--message", "-", "--max-message-size", "1M"))
                with open(tf.name, "rb") as stdin:
                    p = subprocess.run(
                        ["sh", "-c", 'read -r skip; exec "$@"', "sh"] + argv,
                        stdin=stdin, capture_output=True, timeout=60)
        finally:
            os.unlink(tf.name)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(f.sessions[0].data[0], body)

    def test_dev_zero_as_body_file(self):
        """Attack: --body-file /dev/zero.  Safe: stops at the limit (the
        25M default, or --max-message-size), exit 65, naming the file and
        the limit, memory bounded.  Why: the body was read whole, growing
        without limit."""
        with server() as f:
            code, _, err, secs = mwtest.run(
                send(f.port, "--body-file", "/dev/zero",
                     "--max-message-size", "2M"), timeout=30)
            code2, _, err2, secs2 = mwtest.run(
                send(f.port, "--body-file", "/dev/zero"), timeout=60)
        self.assertEqual((code, code2), (65, 65), err + err2)
        self.assertIn("--body-file: '/dev/zero' is larger than the limit of "
                      "2097152 bytes (2M)", err)
        self.assertIn("--body-file: '/dev/zero' is larger than the default "
                      "limit of 26214400 bytes (25M) (--max-message-size "
                      "SIZE changes it)", err2)
        self.assertLess(secs, mwtest.bound(5))
        self.assertLess(secs2, mwtest.bound(10))
        self.assertEqual(f.sessions, [])
        if not mwtest.WRAPPER:
            # The largest child so far (kilobytes): well under 200 MB.
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            self.assertLess(peak, 200 * 1024)

    def test_large_regular_body_file_refused_without_reading(self):
        """A regular --body-file larger than the limit is refused from its
        size alone (a sparse 1 GiB file), at once."""
        d = tempfile.mkdtemp(prefix="mw-bounds-")
        path = os.path.join(d, "big")
        with open(path, "wb") as fh:
            fh.truncate(1 << 30)
        try:
            with server() as f:
                code, _, err, secs = mwtest.run(
                    send(f.port, "--body-file", path))
        finally:
            shutil.rmtree(d, ignore_errors=True)
        self.assertEqual(code, 65, err)
        self.assertIn("is larger than the default limit", err)
        self.assertLess(secs, mwtest.bound(5))

    def test_bad_size_is_a_usage_error(self):
        code, _, err, _ = mwtest.run(send(1, "--body", "x",
                                          "--max-message-size", "lots"))
        self.assertEqual(code, 64)
        self.assertIn("--max-message-size: 'lots' is not a size", err)


class SecretCommands(unittest.TestCase):
    def hanging(self, option, extra=()):
        d = tempfile.mkdtemp(prefix="mw-bounds-")
        pidfile = os.path.join(d, "pid")
        # The shell prints part of a "secret", starts a grandchild that
        # would outlive it, records its pid, and waits for it.
        cmd = ("printf Partial-Secret-88; sleep 300 & echo $! > %s; wait"
               % pidfile)
        try:
            with server(auth="PLAIN XOAUTH2 OAUTHBEARER") as f:
                args = send(f.port, "--body", "x", "--user", "alice",
                            option, cmd) + list(extra)
                code, out, err, secs = mwtest.run(args, timeout=60)
            deadline = time.monotonic() + 5
            with open(pidfile) as fh:
                pid = int(fh.read().strip())
            while not process_gone(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            gone = process_gone(pid)
            if not gone:
                os.kill(pid, 9)
        finally:
            shutil.rmtree(d, ignore_errors=True)
        return code, out, err, secs, gone, f

    def test_hanging_password_command_times_out(self):
        """Attack: --password-cmd that never finishes and leaves a
        grandchild.  Safe: ended after --secret-cmd-timeout (1s here),
        its whole process group killed (the grandchild too), exit 78,
        the error naming the option and the limit and never the output.
        Why: mailwire used to wait forever."""
        code, out, err, secs, gone, f = self.hanging(
            "--password-cmd", ("--secret-cmd-timeout", "1s"))
        self.assertEqual(code, 78, err)
        self.assertIn("--password-cmd: the command did not finish within "
                      "1s; its process group was killed", err)
        self.assertNotIn("Partial-Secret", out + err)
        self.assertLess(secs, mwtest.bound(5))
        self.assertTrue(gone, "the grandchild survived")
        self.assertEqual(f.sessions, [])

    def test_hanging_token_command_times_out(self):
        """The same for --oauth2-token-cmd, with the timeout in ms."""
        code, out, err, secs, gone, f = self.hanging(
            "--oauth2-token-cmd", ("--secret-cmd-timeout", "800ms"))
        self.assertEqual(code, 78, err)
        self.assertIn("--oauth2-token-cmd: the command did not finish "
                      "within 800ms", err)
        self.assertNotIn("Partial-Secret", out + err)
        self.assertLess(secs, mwtest.bound(5))
        self.assertTrue(gone, "the grandchild survived")

    def test_timeout_from_a_profile(self):
        """The profile key secret_cmd_timeout sets the same bound for a
        passwordeval command."""
        d = tempfile.mkdtemp(prefix="mw-bounds-")
        path = os.path.join(d, "config")
        with open(path, "w") as fh:
            fh.write("account a\nhost 127.0.0.1\nport 1\nuser alice\n"
                     "passwordeval sleep 300\nsecret_cmd_timeout 1s\n")
        os.chmod(path, 0o600)
        try:
            code, _, err, secs = mwtest.run(
                ["send", "-C", path, "--from", "a@example.org", "--to",
                 "b@example.org", "--body", "x"], timeout=60)
        finally:
            shutil.rmtree(d, ignore_errors=True)
        self.assertEqual(code, 78, err)
        self.assertIn("--password-cmd: the command did not finish within 1s",
                      err)
        self.assertLess(secs, mwtest.bound(5))

    def test_doctor_bounds_the_command_too(self):
        """doctor reads the same credentials: a profile's hanging
        passwordeval ends after its secret_cmd_timeout, and the profile's
        max_message_size (a send setting) does not stop doctor."""
        d = tempfile.mkdtemp(prefix="mw-bounds-")
        path = os.path.join(d, "config")
        with open(path, "w") as fh:
            fh.write("account a\nhost 127.0.0.1\nport 1\nuser alice\n"
                     "from a@example.org\npasswordeval sleep 300\n"
                     "max_message_size 5M\nsecret_cmd_timeout 1s\n")
        os.chmod(path, 0o600)
        try:
            code, _, err, secs = mwtest.run(["doctor", "-C", path],
                                            timeout=60)
        finally:
            shutil.rmtree(d, ignore_errors=True)
        self.assertEqual(code, 78, err)
        self.assertIn("did not finish within 1s", err)
        self.assertLess(secs, mwtest.bound(5))

    def test_flooding_command_is_cut(self):
        """Attack: a password command that prints without end (yes).
        Safe: stopped after 64 KiB, exit 78, naming the option."""
        with server(auth="PLAIN") as f:
            code, out, err, secs = mwtest.run(
                send(f.port, "--body", "x", "--user", "alice",
                     "--password-cmd", "yes Flood-Secret"), timeout=30)
        self.assertEqual(code, 78, err)
        self.assertIn("--password-cmd: the command printed more than 65536 "
                      "bytes", err)
        self.assertNotIn("Flood-Secret", out + err)
        self.assertLess(secs, mwtest.bound(5))

    def test_quick_command_still_works(self):
        """Safe: a command that answers in time gives the password (its
        first line) as before."""
        with server(auth="PLAIN") as f:
            code, _, err, _ = mwtest.run(
                send(f.port, "--body", "x", "--user", "alice",
                     "--password-cmd", "echo Quick-pw; echo second",
                     "--secret-cmd-timeout", "5s"))
        self.assertEqual(code, 0, err)
        self.assertNotIn("Quick-pw", err)


def write_profile(text, mode=0o600):
    d = tempfile.mkdtemp(prefix="mw-bounds-")
    path = os.path.join(d, "config")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return d, path


class Profiles(unittest.TestCase):
    def test_fanout_inheritance_is_fast(self):
        """Attack: 31 levels of two accounts, each inheriting from both of
        the level above (2^30 paths).  Safe: config show answers well
        under a second with the deepest account's settings.  Why: the
        recursion was exponential in the depth."""
        text = ("account a0\nhost 127.0.0.1\nuser deep\nfrom a0@x\n"
                "account b0\nfrom b0@x\n")
        for i in range(1, 31):
            text += ("account a%d : a%d, b%d\nfrom a%d@x\n"
                     "account b%d : a%d, b%d\nfrom b%d@x\n"
                     % (i, i - 1, i - 1, i, i, i - 1, i - 1, i))
        d, path = write_profile(text)
        try:
            code, out, err, secs = mwtest.run(
                ["config", "show", "-C", path, "--account", "a30"],
                timeout=60)
        finally:
            shutil.rmtree(d, ignore_errors=True)
        self.assertEqual(code, 0, err)
        self.assertIn("a30@x", out)
        self.assertIn("deep", out)
        self.assertLess(secs, mwtest.bound(1))

    def test_inheritance_loop_still_refused(self):
        d, path = write_profile("account a : c\nhost h\naccount b : a\n"
                                "account c : b\n")
        try:
            code, _, err, secs = mwtest.run(
                ["config", "show", "-C", path, "--account", "a"])
        finally:
            shutil.rmtree(d, ignore_errors=True)
        self.assertEqual(code, 78, err)
        self.assertIn("inherits in a loop", err)
        self.assertLess(secs, mwtest.bound(2))

    def test_readable_file_with_a_password_in_another_account(self):
        """Attack: a world-readable profile where the selected account has
        no password but another one does.  Safe: refused (exit 78) for
        send and config show, naming the line and the account holding it,
        never the password; nothing is sent.  Why: the file exposes every
        account's password."""
        secret = "Other-Account-pw-5521"
        with server() as f:
            d, path = write_profile(
                "account plain\nhost 127.0.0.1\nport %d\n"
                "from a@example.org\n\naccount other\nhost 127.0.0.1\n"
                "user u\npassword %s\n" % (f.port, secret), mode=0o644)
            try:
                code, out, err, secs = mwtest.run(
                    ["send", "-C", path, "--account", "plain", "--to",
                     "b@example.org", "--body", "x", "--tls-ca-file", CA])
                code2, out2, err2, _ = mwtest.run(
                    ["config", "show", "-C", path, "--account", "plain"])
            finally:
                shutil.rmtree(d, ignore_errors=True)
        self.assertEqual((code, code2), (78, 78), err + err2)
        for text in (err, err2):
            self.assertIn("holds a password (line 9, account 'other') but "
                          "is readable by others (mode 644)", text)
        self.assertNotIn(secret, out + err + out2 + err2)
        self.assertEqual(f.sessions, [])
        self.assertLess(secs, mwtest.bound(5))


if __name__ == "__main__":
    unittest.main()

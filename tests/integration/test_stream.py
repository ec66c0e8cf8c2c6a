"""Streaming a large attachment (issue 12, item 2) against the scriptable
server (fakesmtp.py, no SIZE limit): a 64 MiB binary attachment arrives
byte-identical (its SHA-256 compared after the delivered data is
unstuffed and parsed back), without the process growing with it (peak
RSS under 32 MiB, measured with GNU time when present), and the progress
bar: drawn on a terminal (stderr on a pty: bytes, percentage, rate, time
left) and cleared at the end; nothing when stderr is not a terminal, with --json, or for a
small message.  No timed assertion (the bench measures time and the
1 GiB case, bench/attach_bench.py)."""

import email
import email.policy
import hashlib
import os
import pty
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import fakesmtp  # noqa: E402
import mwtest  # noqa: E402

ALICE, BOB = "alice@example.test", "bob@example.test"
# Under valgrind (MW_WRAPPER) a smaller file keeps the run short.
BIG = (8 if mwtest.WRAPPER else 64) * 1024 * 1024
GNU_TIME = "/usr/bin/time"
CAPS = ("PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES")
BAR = re.compile(r"\r\[[#.]{20}\] +(\d+)%  [\d.]+ (?:B|KiB|MiB) / [\d.]+ MiB"
                 r"  (-|[\d.]+ (?:B|KiB|MiB|GiB)/s)  ((?:\d+:)?\d+:\d\d left)?"
                 r"\x1b\[K")


def send_args(port, *extra):
    return ["send", "--server", "127.0.0.1:%d" % port, "--tls", "none",
            "--from", ALICE, "--to", BOB, "--subject", "big",
            "--body", "see the attachment"] + list(extra)


def unstuff(wire):
    """The message from DATA's wire form (dot-stuffing and the final dot
    removed)."""
    assert wire.endswith(b"\r\n.\r\n") or wire.endswith(b"\r\n")
    if wire.endswith(b"\r\n.\r\n"):
        wire = wire[:-3]
    if wire.startswith(b".."):
        wire = wire[1:]
    return wire.replace(b"\r\n..", b"\r\n.")


def run_on_pty(argv):
    """Runs argv with stderr on a pseudo-terminal (stdout a pipe): returns
    (exit code, stdout bytes, everything written to the terminal)."""
    master, slave = pty.openpty()
    got = []

    def drain():
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return  # EIO: the child closed its end
            if not chunk:
                return
            got.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=slave,
                         env={"PATH": os.environ.get("PATH", "/usr/bin")})
    os.close(slave)
    out, _ = p.communicate(timeout=600)
    reader.join(timeout=30)
    os.close(master)
    return p.returncode, out, b"".join(got)


def is_instrumented():
    """Valgrind or a sanitizer build: memory figures mean nothing there."""
    if mwtest.WRAPPER:
        return True
    try:
        ldd = subprocess.run(["ldd", shutil.which(mwtest.MAILWIRE) or
                              mwtest.MAILWIRE], capture_output=True,
                             timeout=30).stdout
    except OSError:
        return False
    return b"libasan" in ldd or b"libubsan" in ldd


class Stream(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="mw-stream-")
        cls.big = os.path.join(cls.dir, "payload.bin")
        h = hashlib.sha256()
        with open(cls.big, "wb") as f:
            block = os.urandom(1024 * 1024)
            for i in range(BIG // len(block)):
                # Each MiB different, so a repeated or dropped block shows.
                chunk = i.to_bytes(8, "big") + block[8:]
                h.update(chunk)
                f.write(chunk)
        cls.digest = h.hexdigest()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def attachment_of(self, wire):
        msg = email.message_from_bytes(unstuff(wire),
                                       policy=email.policy.compat32)
        parts = [p for p in msg.walk()
                 if p.get_filename() == "payload.bin"]
        self.assertEqual(len(parts), 1)
        self.assertEqual(parts[0].get("Content-Transfer-Encoding"), "base64")
        return parts[0].get_payload(decode=True)

    def test_large_attachment_byte_identical_with_bar_on_a_terminal(self):
        # GNU time measures the peak RSS of mailwire alone (this process's
        # own children's figure would count Python's pages up to exec).
        rss_file = os.path.join(self.dir, "rss")
        timed = (not is_instrumented()) and os.path.exists(GNU_TIME)
        prefix = [GNU_TIME, "-f", "%M", "-o", rss_file] if timed else []
        with fakesmtp.FakeSMTP(capabilities=CAPS) as f:
            code, out, tty = run_on_pty(prefix + mwtest.command(
                mwtest.MAILWIRE, *send_args(f.port, "--attach", self.big)))
            data = f.sessions[0].data
        text = tty.decode("utf-8", "replace")
        self.assertEqual(code, 0, text)
        self.assertIn(b"sent to 1 of 1 recipient", out)
        self.assertEqual(len(data), 1)
        got = self.attachment_of(data[0])
        self.assertEqual(len(got), BIG)
        self.assertEqual(hashlib.sha256(got).hexdigest(), self.digest)
        # The bar: at least one drawing, percentages never going back, and
        # the line cleared as the last thing written to the terminal.
        bars = BAR.findall(text)
        self.assertTrue(bars, repr(text[:400]))
        pcts = [int(b[0]) for b in bars]
        self.assertEqual(pcts, sorted(pcts))
        self.assertTrue(all(p < 100 for p in pcts))
        self.assertTrue(text.endswith("\r\x1b[K"), repr(text[-200:]))
        # After the first drawing the rate is known, and the time left.
        for b in bars[1:]:
            self.assertNotEqual(b[1], "-")
            self.assertTrue(b[2].endswith(" left"))
        # Streamed: the process never held the attachment (KiB).
        if timed:
            with open(rss_file) as f:
                peak_kib = int(f.read().split()[-1])
            self.assertLess(peak_kib, 32 * 1024,
                            "peak RSS %d KiB for a %d MiB attachment" %
                            (peak_kib, BIG >> 20))

    def test_no_bar_without_a_terminal_with_json_or_when_small(self):
        small = os.path.join(self.dir, "small.bin")
        with open(small, "wb") as f:
            f.write(os.urandom(512 * 1024))
        with fakesmtp.FakeSMTP(capabilities=CAPS) as f:
            # stderr a pipe: nothing drawn, the message still whole.
            code, out, err, _ = mwtest.run(send_args(f.port, "--attach",
                                                     self.big))
            self.assertEqual(code, 0, err)
            self.assertNotIn("\r", err)
            self.assertNotIn("\x1b", err)
            # --json on a terminal: only the JSON.
            code, out, tty = run_on_pty(mwtest.command(
                mwtest.MAILWIRE, *send_args(f.port, "--attach", self.big,
                                            "--json")))
            self.assertEqual(code, 0, tty)
            self.assertNotIn(b"\r[", tty)
            self.assertIn(b'"status"', out)
            # A small message on a terminal: no bar.
            code, out, tty = run_on_pty(mwtest.command(
                mwtest.MAILWIRE, *send_args(f.port, "--attach", small)))
            self.assertEqual(code, 0, tty)
            self.assertNotIn(b"\r[", tty)
            self.assertEqual(len(f.sessions), 3)
            got = self.attachment_of(f.sessions[0].data[0])
            self.assertEqual(hashlib.sha256(got).hexdigest(), self.digest)


if __name__ == "__main__":
    unittest.main()

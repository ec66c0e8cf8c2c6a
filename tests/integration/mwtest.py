"""Shared helpers for mailwire's integration tests: find the binary, run
it, parse its JSON."""

import json
import os
import subprocess
import time

import shlex

MAILWIRE = os.environ.get("MAILWIRE_BIN", "mailwire")
# MW_WRAPPER runs every binary under a tool (the valgrind pass of
# scripts/test.sh); MW_TIME_SCALE stretches the few time bounds the tests
# check (a deadline that must hold), since such tools slow everything down.
WRAPPER = shlex.split(os.environ.get("MW_WRAPPER", ""))
TIME_SCALE = float(os.environ.get("MW_TIME_SCALE", "1"))


def bound(seconds):
    """An upper time bound, scaled for slow runs."""
    return seconds * TIME_SCALE


def command(binary, *args):
    return WRAPPER + [binary] + list(args)


def run(args, env=None, input=None, timeout=60):
    """Run `mailwire ARGS`; return (exit code, stdout, stderr, seconds)."""
    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    if env:
        full_env.update(env)
    t0 = time.monotonic()
    p = subprocess.run(command(MAILWIRE, *args), env=full_env, input=input,
                       capture_output=True, timeout=timeout)
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"), time.monotonic() - t0)


def run_json(args, **kw):
    code, out, err, secs = run(list(args) + ["--json"], **kw)
    try:
        doc = json.loads(out)
    except ValueError:
        raise AssertionError("no JSON on stdout (exit %d)\nstdout: %s\n"
                             "stderr: %s" % (code, out, err))
    return code, doc, err, secs


class PtySession:
    """Runs `mailwire ARGS` on a pseudo-terminal (its stdin, stdout and
    stderr), as a person at a terminal would: expect() waits for text in
    what the terminal showed since the last match, send() types a line.
    `screen` holds every byte the program wrote (the capture tests search
    for secrets)."""

    def __init__(self, args, env=None, rows=40, cols=200):
        import fcntl
        import pty
        import struct
        import termios
        full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                    "TERM": "vt100", "HOME": os.environ.get("HOME", "/")}
        if env:
            full_env.update(env)
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ,
                    struct.pack("HHHH", rows, cols, 0, 0))
        def controlling_tty():
            # A session of its own whose controlling terminal is the pty,
            # as under a terminal emulator (Ctrl-C becomes SIGINT).
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(command(MAILWIRE, *args), env=full_env,
                                     stdin=slave, stdout=slave, stderr=slave,
                                     preexec_fn=controlling_tty,
                                     close_fds=True)
        os.close(slave)
        self.screen = b""
        self.pos = 0

    def _read(self, timeout):
        import select
        r, _, _ = select.select([self.master], [], [], timeout)
        if not r:
            return False
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: the program closed the terminal
            data = b""
        if not data:
            return None
        self.screen += data
        return True

    def expect(self, text, timeout=20):
        """Waits until text (bytes or str) shows after the last match;
        returns what came before it.  AssertionError on timeout or EOF."""
        if isinstance(text, str):
            text = text.encode()
        deadline = time.monotonic() + bound(timeout)
        while True:
            i = self.screen.find(text, self.pos)
            if i >= 0:
                before = self.screen[self.pos:i]
                self.pos = i + len(text)
                return before.decode("utf-8", "replace")
            left = deadline - time.monotonic()
            got = self._read(max(0.0, left)) if left > 0 else False
            if not got:
                raise AssertionError(
                    "%r did not show (%s); the terminal showed:\n%s"
                    % (text, "end of output" if got is None else "timeout",
                       self.screen[self.pos:].decode("utf-8", "replace")))

    def send(self, line):
        """Types line and Enter."""
        if isinstance(line, str):
            line = line.encode()
        # As a person would: not in the instant the prompt shows (the line
        # editor takes the terminal over just after printing it).
        time.sleep(0.05)
        os.write(self.master, line + b"\r")

    def wait(self, timeout=20):
        """Reads to the end; returns the exit status."""
        deadline = time.monotonic() + bound(timeout)
        while time.monotonic() < deadline:
            if self._read(0.2) is None:
                break
        try:
            return self.proc.wait(timeout=max(1, deadline - time.monotonic()))
        finally:
            os.close(self.master)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

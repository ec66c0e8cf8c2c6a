"""rigutil - helpers for integration tests that run against tests/rig/rig.sh.

SUMMARY
    Read the rig's environment file, wait for mail delivered by the rig's
    Postfix into its Maildirs, clear a mailbox, and fetch messages back
    through the rig's Dovecot over POP3S.  Python 3 standard library only.

DESCRIPTION
    Start a rig with ``tests/rig/rig.sh start DIR``; it writes DIR/rig.env.
    Then::

        env = rigutil.load_env(DIR + "/rig.env")
        rigutil.clear_mailbox(env, "alice")
        ... send mail with mailwire ...
        (raw,) = rigutil.wait_for_mail(env, "alice")
        headers, body = rigutil.split_message(raw)

    Mail is delivered by Postfix's virtual(8) into
    RIG_MAILDIR/<domain>/<local>/new/ about 10-50 ms after the 250 reply, so
    always poll (wait_for_mail) rather than looking once.  Note that Dovecot
    moves a message from new/ to cur/ once an IMAP or POP3 session has seen
    it, so call wait_for_mail() before pop3_fetch_all() for the same message.

DIAGNOSTICS
    wait_for_mail() raises AssertionError naming the directory, the expected
    and the found count.  pop3_fetch_all() raises Pop3Error on any -ERR reply.
"""

import os
import socket
import ssl
import time

__all__ = [
    "load_env",
    "mailbox_dir",
    "wait_for_mail",
    "clear_mailbox",
    "pop3_fetch_all",
    "split_message",
    "Pop3Error",
]

SERVER_NAME = "mail.example.test"


def load_env(path):
    """Parse a rig.env file (KEY=value lines) into a dict of str -> str.

    Blank lines and lines starting with '#' are ignored.  One level of
    surrounding double quotes is removed (RIG_AUTH_MECHS is quoted so that
    the file stays sourceable by a shell although its value holds spaces).
    """
    env = {}
    with open(path, "r", encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, value = line.partition("=")
            if not sep or not key:
                raise ValueError("%s:%d: not a KEY=value line: %r"
                                 % (path, lineno, line))
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            env[key] = value
    return env


def mailbox_dir(env, user_local, domain="example.test"):
    """Return the Maildir root of user_local@domain (it may not exist yet)."""
    return os.path.join(env["RIG_MAILDIR"], domain, user_local)


def _list_new(newdir):
    """Return the paths of the complete messages in newdir, oldest first."""
    try:
        names = os.listdir(newdir)
    except FileNotFoundError:
        return []
    entries = []
    for name in names:
        if name.startswith("."):
            continue
        path = os.path.join(newdir, name)
        try:
            st = os.stat(path)
        except FileNotFoundError:       # moved to cur/ meanwhile
            continue
        entries.append((st.st_mtime_ns, name, path))
    entries.sort()
    return [path for _, _, path in entries]


def wait_for_mail(env, user_local, domain="example.test", count=1,
                  timeout=5.0):
    """Wait until at least `count` messages are in the user's new/ directory.

    Returns the raw bytes of every message in new/ (as Postfix wrote them:
    LF line endings, Return-Path and Delivered-To prepended), sorted by
    modification time.  Maildir delivery writes into tmp/ and renames into
    new/, so each file returned is complete.  Raises AssertionError if fewer
    than `count` messages arrived within `timeout` seconds.
    """
    newdir = os.path.join(mailbox_dir(env, user_local, domain), "new")
    deadline = time.monotonic() + timeout
    while True:
        paths = _list_new(newdir)
        if len(paths) >= count:
            out = []
            for path in paths:
                with open(path, "rb") as f:
                    out.append(f.read())
            return out
        if time.monotonic() >= deadline:
            raise AssertionError(
                "wait_for_mail: expected %d message(s) for %s@%s in %s within "
                "%.1fs, found %d (see %s)"
                % (count, user_local, domain, newdir, timeout, len(paths),
                   env.get("RIG_POSTFIX_LOG", "the rig's postfix.log")))
        time.sleep(0.02)


def wait_queue_empty(env, timeout=10.0):
    """Wait until the rig's Postfix has nothing in flight (maildrop,
    incoming, active, deferred empty), so that a message an earlier test
    submitted and did not wait for cannot land in a mailbox after it was
    cleared.  Returns False when the queue did not drain in time."""
    spool = os.path.join(env["RIG_DIR"], "spool")
    deadline = time.monotonic() + timeout
    while True:
        busy = 0
        for q in ("maildrop", "incoming", "active", "deferred"):
            for _, _, files in os.walk(os.path.join(spool, q)):
                busy += len(files)
        if busy == 0:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


def clear_mailbox(env, user_local, domain="example.test"):
    """Delete every message of user_local@domain (new/, cur/ and tmp/),
    once mail already submitted has been delivered (wait_queue_empty).

    Dovecot's index and uidlist files are removed too, so the next IMAP or
    POP3 session starts from an empty, freshly indexed mailbox.  The Maildir
    directories themselves stay (Postfix and Dovecot recreate them anyway).
    """
    wait_queue_empty(env)
    root = mailbox_dir(env, user_local, domain)
    if not os.path.isdir(root):
        return
    for sub in ("new", "cur", "tmp"):
        d = os.path.join(root, sub)
        try:
            names = os.listdir(d)
        except FileNotFoundError:
            continue
        for name in names:
            try:
                os.unlink(os.path.join(d, name))
            except FileNotFoundError:
                pass
    for name in os.listdir(root):
        if name.startswith("dovecot") and \
                os.path.isfile(os.path.join(root, name)):
            try:
                os.unlink(os.path.join(root, name))
            except FileNotFoundError:
                pass


class Pop3Error(Exception):
    """A POP3 command got -ERR (or the server broke the protocol)."""


class _Pop3:
    """Just enough POP3 (RFC 1939) over implicit TLS to read a mailbox.

    poplib would do, but it caps lines at 2048 bytes and hides the exact
    line endings; tests want the bytes exactly as Dovecot sends them.
    """

    def __init__(self, host, port, ctx, timeout):
        raw = socket.create_connection((host, port), timeout=timeout)
        try:
            self.sock = ctx.wrap_socket(raw, server_hostname=SERVER_NAME)
        except BaseException:
            raw.close()
            raise
        self.f = self.sock.makefile("rb")
        self._status()

    def _line(self):
        line = self.f.readline()
        if not line:
            raise Pop3Error("connection closed by server")
        return line

    def _status(self):
        line = self._line()
        if not line.startswith(b"+OK"):
            raise Pop3Error(line.decode("utf-8", "replace").rstrip())
        return line

    def cmd(self, text):
        self.sock.sendall(text.encode("utf-8") + b"\r\n")
        return self._status()

    def multiline(self, text):
        """Send a command; return its multi-line body, dot-unstuffed.

        Line endings are kept exactly as received (CRLF from Dovecot); only
        the terminating ".\\r\\n" is dropped.
        """
        self.cmd(text)
        out = []
        while True:
            line = self._line()
            if line in (b".\r\n", b".\n"):
                return b"".join(out)
            if line.startswith(b".."):
                line = line[1:]
            out.append(line)

    def close(self):
        try:
            self.cmd("QUIT")
        except (OSError, Pop3Error):
            pass
        self.f.close()
        self.sock.close()


def _client_context(env):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)   # verifies cert + hostname
    ctx.load_verify_locations(cafile=env["RIG_CA_FILE"])
    return ctx


def pop3_fetch_all(env, user, password, delete=False, timeout=10.0):
    """Fetch every message of `user` over POP3S (RETR), verified with the rig CA.

    Returns a list of bytes, in POP3 message-number order, each exactly as
    Dovecot's RETR returned it: CRLF line endings, dot-unstuffed, without the
    terminating ".".  With delete=True the messages are also DELEted (the
    deletion takes effect at QUIT).  Note that Dovecot moves messages it has
    shown from new/ to cur/.
    """
    p = _Pop3(env["RIG_HOST"], int(env["RIG_POP3S_PORT"]),
              _client_context(env), timeout)
    try:
        p.cmd("USER " + user)
        p.cmd("PASS " + password)
        stat = p.cmd("STAT").split()
        count = int(stat[1])
        msgs = []
        for i in range(1, count + 1):
            msgs.append(p.multiline("RETR %d" % i))
            if delete:
                p.cmd("DELE %d" % i)
        return msgs
    finally:
        p.close()


def split_message(raw):
    """Split a raw message at the first blank line: (headers, body).

    Works for CRLF (Dovecot POP3/IMAP) and LF (Maildir files) messages.  The
    headers keep their last line ending; the blank line itself belongs to
    neither part.  A message without a blank line is all headers.
    """
    if raw.startswith(b"\r\n"):            # no headers at all
        return b"", raw[2:]
    if raw.startswith(b"\n"):
        return b"", raw[1:]
    crlf = raw.find(b"\r\n\r\n")
    lf = raw.find(b"\n\n")
    if crlf < 0 and lf < 0:
        return raw, b""
    # "\r\n\r\n" does not contain "\n\n", so whichever comes first wins.
    if crlf >= 0 and (lf < 0 or crlf < lf):
        return raw[:crlf + 2], raw[crlf + 4:]
    return raw[:lf + 1], raw[lf + 2:]

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
    # incoming mail (IMAP/POP3 clients, fetch, bench)
    "make_messages",
    "fill_maildir",
    "imap_append",
    "imap_connect",
    "imap_uids",
    "imap_fetch_all",
    "imap_flags",
    "imap_store_flags",
    "imap_expunge_all",
    "pop3_uidls",
    "server_count",
    "read_maildir",
    "maildir_problems",
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


# ---------------------------------------------------------------------------
# Incoming mail: fill a mailbox fast, read it back through Dovecot, check a
# client's Maildir.
#
#     env = rigutil.load_env(DIR + "/rig.env")
#     user, pw = env["RIG_USER3"], env["RIG_PASS3"]     # fetch@example.test
#     rigutil.clear_mailbox(env, "fetch")
#     msgs = rigutil.make_messages(200)
#     rigutil.fill_maildir(env, "fetch", msgs)          # 5,000 in ~0.3 s
#     ... mailwire fetch --server imaps://... --maildir OUT ...
#     got = rigutil.read_maildir(OUT)                   # {name: bytes}
#     assert not rigutil.maildir_problems(OUT, expected=msgs)
#
# fill_maildir writes the files straight into the user's Maildir (cur/,
# owned by the uid Dovecot and Postfix use): Dovecot indexes them at the
# next SELECT/STAT and gives them UIDs in file-name order.  Measured on
# the shared 2-core test VM: 5,000 messages of ~600 bytes in 0.9 s, and
# Dovecot's first STATUS of them 0.06 s later (a UID FETCH of all 5,000
# bodies: 0.2 s).  imap_append (APPEND over IMAPS, LITERAL+, 200 in
# flight) took 27-50 s for the same 5,000 (1.3-3 s for 500; Dovecot
# fsyncs and updates its index per APPEND), and one at a time about
# twice as long.  Use imap_append when the test is about what the server
# assigns (UIDs of appended mail, APPENDUID) or flags set by the protocol.

MAIL_UID = MAIL_GID = 65534     # the rig's virtual(8) and Dovecot userdb


def make_messages(n, size=600, tag="rig", start=1):
    """n distinct small messages (bytes, LF line endings as in a Maildir),
    each with a unique Message-ID <TAG-I@example.test> and Subject
    "TAG message I", a body of about `size` bytes in all, and one body
    line that starts with a dot (so POP3 dot-stuffing is exercised)."""
    out = []
    for i in range(start, start + n):
        head = ("From: Rig Sender <alice@example.test>\n"
                "To: fetch@example.test\n"
                "Subject: %s message %d\n"
                "Date: Mon, 01 Dec 2025 12:00:00 +0000\n"
                "Message-ID: <%s-%d@example.test>\n"
                "MIME-Version: 1.0\n"
                "Content-Type: text/plain; charset=us-ascii\n\n"
                % (tag, i, tag, i))
        body = "Message %d.\n.a line that starts with a dot\n" % i
        line = "%s %d filler text for the incoming tests.\n" % (tag, i)
        while len(head) + len(body) + len(line) <= size:
            body += line
        out.append((head + body).encode("ascii"))
    return out


def _mkdir_owned(path, top):
    """mkdir -p below `top` (which exists), each new directory owned by
    the mail user, mode 0700 (as virtual(8) and Dovecot make them)."""
    if os.path.isdir(path) or os.path.abspath(path) == os.path.abspath(top):
        return
    _mkdir_owned(os.path.dirname(path), top)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        return
    os.chown(path, MAIL_UID, MAIL_GID)


def fill_maildir(env, user_local, messages, domain="example.test",
                 flags="", mailbox=None):
    """Put `messages` (bytes) into the user's Maildir as files in cur/
    with Maildir info ":2,FLAGS" (e.g. "S" = \\Seen), owned like the
    mail Postfix delivers.  mailbox: a folder name (Maildir++ ".NAME"),
    None for INBOX.  Returns the file names, in order (Dovecot gives
    the messages ascending UIDs in this order at its next scan)."""
    root = mailbox_dir(env, user_local, domain)
    if mailbox:
        root = os.path.join(root, "." + mailbox)
    for sub in ("cur", "new", "tmp"):
        _mkdir_owned(os.path.join(root, sub), env["RIG_MAILDIR"])
    if mailbox:
        with open(os.path.join(root, "maildirfolder"), "w"):
            pass
    now = int(time.time())
    pid = os.getpid()
    cur = os.path.join(root, "cur")
    names = []
    for i, data in enumerate(messages):
        # Sortable and unique: Dovecot assigns UIDs to new files in the
        # order it lists them, which readdir does not promise; a fixed
        # width keeps the name order the message order.
        name = "%d.M%06dP%d.rigfill,S=%d:2,%s" % (now, i, pid, len(data),
                                                   flags)
        path = os.path.join(cur, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
            os.fchown(fd, MAIL_UID, MAIL_GID)
        finally:
            os.close(fd)
        names.append(name)
    return names


def imap_connect(env, user, password, port_key="RIG_IMAPS_PORT",
                 timeout=30.0):
    """An imaplib client logged in as user, the certificate verified
    with the rig CA: implicit TLS on RIG_IMAPS_PORT (default) or
    STARTTLS on RIG_IMAP_PORT."""
    import imaplib
    host, port = env["RIG_HOST"], int(env[port_key])
    ctx = _client_context(env)
    if port_key == "RIG_IMAPS_PORT":
        c = imaplib.IMAP4_SSL(host, port, ssl_context=ctx, timeout=timeout)
    else:
        c = imaplib.IMAP4(host, port, timeout=timeout)
        c.starttls(ctx)
    # imaplib checks the name against the host it connected to
    # (127.0.0.1: in the certificate's SANs).
    c.login(user, password)
    return c


def _imap_ok(result, what):
    typ, data = result
    if typ != "OK":
        raise AssertionError("IMAP %s: %s %r" % (what, typ, data))
    return data


def imap_append(env, user, password, messages, mailbox="INBOX", flags="",
                batch=200):
    """APPEND each message (bytes) to mailbox over IMAPS, one connection,
    with LITERAL+ (Dovecot offers it) and `batch` APPENDs in flight at a
    time.  Returns the UIDs Dovecot assigned (APPENDUID), in order."""
    import re
    c = imap_connect(env, user, password)
    uids = []
    try:
        for first in range(0, len(messages), batch):
            tags = []
            out = []
            for data in messages[first:first + batch]:
                data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
                tag = c._new_tag()
                c.tagged_commands[tag] = None   # imaplib's own bookkeeping
                tags.append(tag)
                out.append(tag + b" APPEND " + mailbox.encode() +
                           (b" (" + flags.encode() + b")" if flags else b"")
                           + b" {%d+}\r\n" % len(data) + data + b"\r\n")
            c.send(b"".join(out))
            for tag in tags:
                typ, resp = c._command_complete("APPEND", tag)
                if typ != "OK":
                    raise AssertionError("APPEND: %s %r" % (typ, resp))
                m = re.search(rb"APPENDUID \d+ (\d+)", resp[-1] or b"")
                uids.append(int(m.group(1)) if m else None)
    finally:
        c.logout()
    return uids


def imap_uids(env, user, password, mailbox="INBOX", criteria="ALL"):
    """The UIDs of the messages matching criteria (UID SEARCH)."""
    c = imap_connect(env, user, password)
    try:
        _imap_ok(c.select(mailbox, readonly=True), "SELECT")
        data = _imap_ok(c.uid("SEARCH", None, criteria), "UID SEARCH")
        return [int(x) for x in data[0].split()]
    finally:
        c.logout()


def _fetch_pairs(data):
    """(response text, literal) pairs of an imaplib FETCH answer."""
    return [d for d in data if isinstance(d, tuple)]


def imap_fetch_all(env, user, password, mailbox="INBOX"):
    """{uid: message bytes (CRLF, as Dovecot sends them)} for every
    message, read with BODY.PEEK[] (the \\Seen flags stay as they are)."""
    import re
    c = imap_connect(env, user, password)
    try:
        _imap_ok(c.select(mailbox, readonly=True), "SELECT")
        data = _imap_ok(c.uid("FETCH", "1:*", "(UID BODY.PEEK[])"),
                        "UID FETCH")
        out = {}
        for head, body in _fetch_pairs(data):
            m = re.search(rb"UID (\d+)", head)
            out[int(m.group(1))] = body
        return out
    finally:
        c.logout()


def imap_flags(env, user, password, mailbox="INBOX"):
    """{uid: set of flags} for every message."""
    import re
    c = imap_connect(env, user, password)
    try:
        _imap_ok(c.select(mailbox, readonly=True), "SELECT")
        data = _imap_ok(c.uid("FETCH", "1:*", "(UID FLAGS)"), "UID FETCH")
        out = {}
        for line in data:
            if not line:
                continue
            m = re.search(rb"UID (\d+)", line)
            f = re.search(rb"FLAGS \(([^)]*)\)", line)
            if m and f:
                out[int(m.group(1))] = set(f.group(1).decode().split())
        return out
    finally:
        c.logout()


def imap_store_flags(env, user, password, uids, flags, add=True,
                     mailbox="INBOX"):
    """Add (or with add=False remove) flags, e.g. "\\\\Seen \\\\Flagged",
    on the given UIDs."""
    c = imap_connect(env, user, password)
    try:
        _imap_ok(c.select(mailbox), "SELECT")
        _imap_ok(c.uid("STORE", ",".join(str(u) for u in uids),
                       "+FLAGS.SILENT" if add else "-FLAGS.SILENT",
                       "(%s)" % flags), "UID STORE")
    finally:
        c.logout()


def imap_expunge_all(env, user, password, mailbox="INBOX"):
    """Flag every message \\Deleted and EXPUNGE: the mailbox is empty
    through the server (clear_mailbox does it on disk, faster)."""
    c = imap_connect(env, user, password)
    try:
        _imap_ok(c.select(mailbox), "SELECT")
        c.store("1:*", "+FLAGS.SILENT", "(\\Deleted)")
        _imap_ok(c.expunge(), "EXPUNGE")
    finally:
        c.logout()


def pop3_uidls(env, user, password, timeout=30.0):
    """[(message number, UIDL)] over POP3S."""
    p = _Pop3(env["RIG_HOST"], int(env["RIG_POP3S_PORT"]),
              _client_context(env), timeout)
    try:
        p.cmd("USER " + user)
        p.cmd("PASS " + password)
        body = p.multiline("UIDL")
        out = []
        for line in body.splitlines():
            num, uidl = line.decode("ascii").split(" ", 1)
            out.append((int(num), uidl))
        return out
    finally:
        p.close()


def server_count(env, user, password, mailbox="INBOX"):
    """How many messages Dovecot holds in mailbox (STATUS MESSAGES)."""
    import re
    c = imap_connect(env, user, password)
    try:
        data = _imap_ok(c.status(mailbox, "(MESSAGES)"), "STATUS")
        return int(re.search(rb"MESSAGES (\d+)", data[0]).group(1))
    finally:
        c.logout()


def read_maildir(path):
    """{file name: bytes} of the messages in a Maildir's new/ and cur/
    (what a client delivered); tmp/ is not read (see maildir_problems)."""
    out = {}
    for sub in ("new", "cur"):
        d = os.path.join(path, sub)
        try:
            names = os.listdir(d)
        except FileNotFoundError:
            continue
        for name in names:
            if name.startswith("."):
                continue
            with open(os.path.join(d, name), "rb") as f:
                out[sub + "/" + name] = f.read()
    return out


def _message_id(data):
    head, _ = split_message(data)
    for line in head.splitlines():
        if line[:11].lower() == b"message-id:":
            return line[11:].strip()
    return None


def maildir_problems(path, expected=None, compare_bytes=False):
    """What is wrong with a client's Maildir, as a list of strings (empty
    when all is well): messages delivered twice (same Message-ID),
    expected messages missing or unexpected ones present (by Message-ID;
    `expected` is a list of bytes), and with compare_bytes the content
    differing from the expected message (line endings normalised to LF).
    Files left in tmp/ are not counted: a client may leave a partial
    file there when killed; new/ and cur/ must hold complete ones."""
    got = read_maildir(path)
    problems = []
    by_id = {}
    for name, data in sorted(got.items()):
        mid = _message_id(data)
        if mid is None:
            problems.append("%s: no Message-ID (partial or foreign file?)"
                            % name)
            continue
        if mid in by_id:
            problems.append("duplicate %s: %s and %s"
                            % (mid.decode(), by_id[mid][0], name))
            continue
        by_id[mid] = (name, data)
    if expected is not None:
        want = {}
        for data in expected:
            want[_message_id(data)] = data
        missing = [m for m in want if m not in by_id]
        extra = [m for m in by_id if m not in want]
        if missing:
            problems.append("%d missing, e.g. %s" % (
                len(missing), missing[0].decode()))
        if extra:
            problems.append("%d unexpected, e.g. %s" % (
                len(extra), extra[0].decode()))
        if compare_bytes:
            def norm(b):
                return b.replace(b"\r\n", b"\n")
            for mid, data in want.items():
                if mid in by_id and norm(by_id[mid][1]) != norm(data):
                    problems.append("%s differs from what was stored on "
                                    "the server (%s)"
                                    % (mid.decode(), by_id[mid][0]))
    return problems

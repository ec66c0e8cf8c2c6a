"""Shared parts of the scriptable incoming-mail servers (fakeimap.py,
fakepop3.py): the in-memory mailbox, what a session recorded, the
listener thread, line/literal I/O that can be upgraded to TLS in place,
and the endless outputs the hostile scenarios stream.

Like fakesmtp.FakeSMTP: a thread inside the test process, 127.0.0.1 only
(or ::1), every connection handled in its own thread, certificates from
fakesmtp.make_test_certs.
"""

import datetime
import socket
import ssl
import struct
import threading

from fakesmtp import Session as _SmtpSession, make_test_certs, temp_certs  # noqa: F401

# Servers of a known provider and protocol, as they greet, for the "wrong
# protocol on this port" scenarios (an IMAP client sent to 995, a POP3
# client to 993, either to an SMTP port).
GREETING_SMTP = "220 smtp.fake.test ESMTP ready"
GREETING_IMAP = "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] fake IMAP4rev1 ready"
GREETING_POP3 = "+OK fake POP3 server ready <1896.697170952@fake.test>"

# Upper bound of what an "endless" output sends before giving up on a
# client that keeps reading (1 GiB): far past any sane client limit, but a
# test that forgets to stop cannot fill the disk of whoever records it.
ENDLESS_CAP = 1 << 30


class Message:
    """One message in a fake mailbox: its bytes (CRLF line endings, as on
    the wire), UID, flags and internal date."""

    def __init__(self, data, uid=None, flags=(), date=None):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.data = to_crlf(data)
        self.uid = uid
        self.flags = set(flags)
        self.date = date or datetime.datetime.now(datetime.timezone.utc)


def to_crlf(data):
    """Bare LF and bare CR line ends become CRLF."""
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(
        b"\n", b"\r\n")


def sample_messages(n=3, size=0):
    """n small distinct messages (From/To/Subject/Date/Message-ID and a
    body of about `size` bytes; one line starting with a dot so that dot
    stuffing is exercised)."""
    out = []
    for i in range(1, n + 1):
        body = "Hello %d.\r\n.a line starting with a dot\r\n" % i
        if size > len(body):
            filler = ("x" * 70 + "\r\n") * ((size - len(body)) // 72 + 1)
            body += filler[:max(0, size - len(body))]
            if not body.endswith("\r\n"):
                body += "\r\n"
        out.append(Message(
            "From: Alice <alice@fake.test>\r\n"
            "To: bob@fake.test\r\n"
            "Subject: fake message %d\r\n"
            "Date: Mon, 01 Dec 2025 10:%02d:00 +0000\r\n"
            "Message-ID: <fake-%d@fake.test>\r\n"
            "\r\n%s" % (i, i % 60, i, body)))
    return out


class Mailbox:
    """A folder: messages in order (sequence number = index + 1), the next
    UID and the UIDVALIDITY."""

    def __init__(self, messages=(), uidvalidity=1234567, name="INBOX"):
        self.name = name
        self.uidvalidity = uidvalidity
        self.messages = []
        self.next_uid = 1
        for m in messages:
            self.add(m if isinstance(m, Message) else Message(m))

    def add(self, msg):
        if msg.uid is None or msg.uid < self.next_uid:
            msg.uid = self.next_uid
        self.next_uid = msg.uid + 1
        self.messages.append(msg)
        return msg


class Session(_SmtpSession):
    """What one client connection did (fakesmtp.Session plus the incoming
    protocols' records)."""

    def __init__(self):
        super().__init__()
        self.literals = []       # literal bytes the client sent (IMAP)
        self.appended = []       # (mailbox, flags, bytes) of each APPEND
        self.logins = []         # (mechanism, user, password) attempts
        self.authenticated = False
        self.selected = None     # mailbox name (IMAP)
        self.sent_bytes = 0      # of an endless output, when one ran
        self.tags = []           # IMAP tags, in order


class MailIO:
    """Line, literal and raw I/O over a socket that can be upgraded to
    TLS in place; every received chunk is recorded (Session.chunks)."""

    def __init__(self, sock, sess, max_line=1 << 20):
        self.sock = sock
        self.sess = sess
        self.buf = b""
        self.max_line = max_line

    def wrap(self, ctx):
        self.sock = ctx.wrap_socket(self.sock, server_side=True)
        # Whatever the client sent in the clear before the handshake is
        # gone (a client must not pipeline past STARTTLS).
        self.buf = b""
        self.sess.note_peer(self.sock)

    def send_raw(self, data):
        self.sock.sendall(data)

    def send_line(self, text):
        if isinstance(text, str):
            text = text.encode("utf-8")
        self.sock.sendall(text + b"\r\n")

    def fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            return False
        if len(self.sess.chunks) < 1000:
            self.sess.chunks.append(chunk)
        self.buf += chunk
        return True

    def read_line(self):
        """One line without its CRLF (a bare LF ends it too); None at EOF
        or when the line is longer than max_line."""
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 1:]
                return line[:-1] if line.endswith(b"\r") else line
            if len(self.buf) > self.max_line or not self.fill():
                return None

    def read_exact(self, n):
        while len(self.buf) < n:
            if not self.fill():
                return None
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def poll_line(self, timeout):
        """A line if one arrives within `timeout` seconds; b"" meaning
        none yet; None at EOF."""
        if b"\n" not in self.buf:
            self.sock.settimeout(timeout)
            try:
                if not self.fill():
                    return None
            except (socket.timeout, ssl.SSLWantReadError):
                return b""
            finally:
                self.sock.settimeout(30)
            if b"\n" not in self.buf:
                return b""
        return self.read_line()


def stream_forever(io, sess, stop, chunk, cap=ENDLESS_CAP):
    """Send `chunk` again and again until the client goes away, the server
    stops, or `cap` bytes went out; the count is in sess.sent_bytes."""
    io.sock.settimeout(10)
    try:
        while not stop.is_set() and sess.sent_bytes < cap:
            io.sock.sendall(chunk)
            sess.sent_bytes += len(chunk)
    except (OSError, ssl.SSLError):
        pass


def wait_for_close(io, stop, seconds=30):
    """Say nothing more; return when the client hangs up (or after
    `seconds`, or when the server stops)."""
    io.sock.settimeout(0.1)
    waited = 0.0
    while not stop.is_set() and waited < seconds:
        try:
            if not io.sock.recv(4096):
                return
        except (socket.timeout, ssl.SSLWantReadError):
            waited += 0.1
        except (OSError, ssl.SSLError):
            return


def parse_set(text, star):
    """An IMAP sequence set ("1:3,7,9:*") as a function value -> bool;
    `star` is the largest number in use ("*").  None when malformed."""
    ranges = []
    for part in text.split(","):
        bounds = part.split(":")
        if len(bounds) > 2:
            return None
        nums = []
        for b in bounds:
            if b == "*":
                nums.append(star)
            elif b.isdigit() and int(b) > 0:
                nums.append(int(b))
            else:
                return None
        lo, hi = min(nums), max(nums)
        ranges.append((lo, hi))
    return lambda v: any(lo <= v <= hi for lo, hi in ranges)


class FakeServer:
    """Lifetime and accept loop shared by the fake servers.  Subclasses
    implement _handle(io, sess)."""

    def __init__(self, cert=None, key=None, implicit_tls=False,
                 hangup_how="close"):
        self.cert, self.key = cert, key
        self.implicit_tls = implicit_tls
        self.hangup_how = hangup_how
        self.sessions = []
        self.lock = threading.RLock()
        self._sock = None
        self._thread = None
        self._stop = threading.Event()
        self._conns = []
        self._ios = []       # the sockets as wrapped (TLS) by each session

    def start(self, port=0, host="127.0.0.1"):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self._sock.listen(16)
        self._sock.settimeout(0.05)
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self.port

    def stop(self):
        self._stop.set()
        # A socket wrapped in TLS owns the descriptor now: shut that one
        # down too, so no session thread sits in recv() after stop().
        for c in [io.sock for io in self._ios] + self._conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                c.close()
            except OSError:
                pass
        if self._thread:
            self._thread.join(timeout=5)
        if self._sock:
            self._sock.close()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def context(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self._conns.append(conn)
            threading.Thread(target=self._handle_safely, args=(conn,),
                             daemon=True).start()

    def _handle_safely(self, conn):
        sess = Session()
        sess.peer = conn.getpeername()[:2]
        self.sessions.append(sess)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.settimeout(30)
        io = MailIO(conn, sess)
        self._ios.append(io)
        try:
            if self.implicit_tls:
                io.wrap(self.context())
                sess.tls = True
            self._handle(io, sess)
        except (OSError, ssl.SSLError, ConnectionError):
            pass
        finally:
            for s in (io.sock, conn):
                try:
                    s.close()
                except OSError:
                    pass

    def hangup(self, io, sess):
        """End the connection now: FIN, or RST with hangup_how="reset"."""
        sess.closed_by_server = True
        if self.hangup_how == "reset":
            io.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                               struct.pack("ii", 1, 0))

    def _handle(self, io, sess):
        raise NotImplementedError


def serve_main(make_server, extra_flags=()):
    """Command-line serving, as fakesmtp.main (used inside network
    namespaces): --port N --cert C --key K [--implicit] [--silent]
    [--greeting TEXT|PRESET] [--host ADDR], plus the boolean keyword
    arguments named in extra_flags (--no-starttls style: --no-NAME sets
    NAME=False).  Prints "ready" once listening; SIGTERM stops it."""
    import argparse
    import signal
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--implicit", action="store_true")
    ap.add_argument("--silent", action="store_true")
    ap.add_argument("--greeting", default="ok")
    ap.add_argument("--host", default="127.0.0.1")
    for name in extra_flags:
        ap.add_argument("--no-" + name.replace("_", "-"), dest=name,
                        action="store_false")
    args = ap.parse_args()
    kw = {name: getattr(args, name) for name in extra_flags}
    f = make_server(cert=args.cert, key=args.key,
                    implicit_tls=args.implicit, silent=args.silent,
                    greeting=args.greeting, **kw)
    f.start(args.port, args.host)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    print("ready", flush=True)
    done.wait()
    f.stop()

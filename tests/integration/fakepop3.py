"""A scriptable, misbehaving POP3 server for mailwire's tests.

Happy path (RFC 1939, 2449, 2595, 5034): an in-memory maildrop
(fakemail.Message list) served with CAPA, STLS, USER/PASS, AUTH PLAIN
(initial response or after a "+ " prompt), STAT, LIST [n], UIDL [n],
TOP n k, RETR n (dot-stuffed), DELE, RSET, NOOP, QUIT (deletions take
effect at QUIT, in the UPDATE state; the maildrop is shared by every
session of the server, so a later session sees them).  Every command
line is recorded (sess.lines; sess.logins has each attempt).

Faults, each selected by a keyword argument of FakePOP3:
  greeting="err"|"smtp"|"imap"|"ok"|any text
        "-ERR ..." (server refuses service), an SMTP "220" banner or an
        IMAP "* OK" greeting (the client is on the wrong port), or a
        text of your own; after anything but "+OK" the server hangs up
  silent=True            accepts the connection and never says a word
  stls=False             STLS not offered ("-ERR" if sent anyway)
  user_before_tls=False  USER/PASS and AUTH refused before STLS with
                         "-ERR [AUTH] ..." and not in CAPA (RFC 2595 4)
  inject_after_stls=b"..."  bytes pipelined right after the +OK to STLS,
                         before the handshake (response injection)
  unbounded_line="greeting"|"capa"|"stat"|"list"|"retr"
        at that point the server streams one line without end (no CRLF)
  multiline_fault="no_end"|"endless"|"drop", multiline_on="retr"
        (or "capa", "list", "uidl", "top"): the multi-line response
        never gets its terminating "." ("no_end": the server falls
        silent with the connection open; "endless": content lines
        forever) or the connection drops halfway through it ("drop")
  pass_reply=PASS_REPLIES[key] or text
        the reply to PASS and AUTH: RFC 3206/2449 codes ([AUTH],
        [SYS/TEMP], [SYS/PERM], [IN-USE], [LOGIN-DELAY]), Gmail's app
        password and web login texts, Gmail "not enabled for POP",
        Microsoft 365 texts; "+OK ..." logs in whatever the password
  users={"alice": "pw"}  only these credentials log in; others get
                         "-ERR [AUTH] Authentication failed."
  hangup_at="greeting"|"capa"|"stls"|"tls"|"user"|"pass"|"stat"|"list"|
        "uidl"|"retr"|"dele"|"quit"   the server hangs up there (after a
        DELE: before QUIT, so nothing is deleted)
  implicit_tls=True      TLS from the first byte (port 995 style)
"""

import base64
import binascii

from fakemail import (FakeServer, Message, GREETING_IMAP, GREETING_SMTP,  # noqa: F401
                      GREETING_POP3, sample_messages, stream_forever,
                      temp_certs, wait_for_close, make_test_certs)

GREETINGS = {
    "ok": GREETING_POP3,
    "err": "-ERR [SYS/TEMP] fake POP3 server unavailable, try later",
    "smtp": GREETING_SMTP,
    "imap": GREETING_IMAP,
}

PASS_REPLIES = {
    "ok": "+OK Logged in.",
    "auth": "-ERR [AUTH] Authentication failed.",
    "sys_temp": "-ERR [SYS/TEMP] Temporary authentication failure, try "
                "later",
    "sys_perm": "-ERR [SYS/PERM] Your account has been disabled",
    "in_use": "-ERR [IN-USE] Mailbox locked by another session",
    "login_delay": "-ERR [LOGIN-DELAY] Minimum time between logins not "
                   "reached",
    "gmail_app_password": "-ERR [AUTH] Application-specific password "
                          "required: https://support.google.com/accounts/"
                          "answer/185833",
    "gmail_web_login": "-ERR [AUTH] Web login required: "
                       "https://support.google.com/mail/answer/78754",
    "gmail_pop_disabled": "-ERR [SYS/PERM] Your account is not enabled "
                          "for POP access. Please visit your Gmail "
                          "settings page and enable your account for POP "
                          "access.",
    "m365_auth": "-ERR Authentication failure: unknown user name or bad "
                 "password.",
    "m365_logon": "-ERR Logon failure: unknown user name or bad password.",
    "m365_not_connected": "-ERR User is authenticated but not connected.",
    "pop_disabled": "-ERR [SYS/PERM] POP disabled for this account",
}

DEFAULT_CAPA = ("TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING",
                "USER")

HANGUP_PHASES = ("greeting", "capa", "stls", "tls", "user", "pass", "stat",
                 "list", "uidl", "retr", "dele", "quit")


def dot_stuff(data):
    """The wire form of a multi-line body: lines starting with "." get
    another, and the body ends with CRLF (the terminator is not added)."""
    if data and not data.endswith(b"\r\n"):
        data += b"\r\n"
    lines = data.split(b"\r\n")
    return b"\r\n".join(b"." + l if l.startswith(b".") else l
                        for l in lines)


class FakePOP3(FakeServer):
    def __init__(self, cert=None, key=None, implicit_tls=False,
                 messages=None, greeting="ok", silent=False,
                 capabilities=DEFAULT_CAPA, sasl=("PLAIN",), stls=True,
                 user_before_tls=True, inject_after_stls=b"",
                 unbounded_line=None, multiline_fault=None,
                 multiline_on="retr", pass_reply=None, users=None,
                 hangup_at=None, hangup_how="close"):
        super().__init__(cert, key, implicit_tls, hangup_how)
        msgs = sample_messages() if messages is None else messages
        self.messages = [m if isinstance(m, Message) else Message(m)
                         for m in msgs]
        for i, m in enumerate(self.messages):
            if m.uid is None:
                m.uid = i + 1
        self.greeting = GREETINGS.get(greeting, greeting)
        self.silent = silent
        self.capabilities = list(capabilities)
        self.sasl = list(sasl)
        self.stls = stls
        self.user_before_tls = user_before_tls
        self.inject_after_stls = inject_after_stls
        self.unbounded_line = unbounded_line
        assert multiline_fault in (None, "no_end", "endless", "drop")
        self.multiline_fault = multiline_fault
        self.multiline_on = multiline_on
        self.pass_reply = PASS_REPLIES.get(pass_reply, pass_reply)
        self.users = users
        assert hangup_at in (None,) + HANGUP_PHASES, hangup_at
        self.hangup_at = hangup_at

    @staticmethod
    def uidl_of(msg):
        return "fake-uidl-%08d" % msg.uid

    def capa(self, sess):
        caps = list(self.capabilities)
        if not self.user_before_tls and not sess.tls:
            caps = [c for c in caps if c != "USER"]
        elif self.sasl:
            caps.append("SASL " + " ".join(self.sasl))
        if self.stls and not sess.tls:
            caps.append("STLS")
        caps.append("IMPLEMENTATION fakepop3")
        return caps

    # -- protocol -------------------------------------------------------------
    def _phase(self, io, sess, phase):
        if self.hangup_at == phase:
            self.hangup(io, sess)
            return True
        if self.unbounded_line == phase:
            io.send_raw(b"+OK ")
            stream_forever(io, sess, self._stop, b"z" * 65536)
            return True
        return False

    def _multiline(self, io, sess, which, first, body):
        """Send "+OK ..." and a dot-stuffed body ending in ".", or the
        scripted multiline_fault."""
        wire = (first + "\r\n").encode() + dot_stuff(body)
        if self.multiline_fault is None or self.multiline_on != which:
            io.send_raw(wire + b".\r\n")
            return False
        if self.multiline_fault == "no_end":
            io.send_raw(wire)
            wait_for_close(io, self._stop)
        elif self.multiline_fault == "endless":
            io.send_raw(wire)
            stream_forever(io, sess, self._stop,
                           b"an endless multi-line response\r\n" * 2048)
        else:
            io.send_raw(wire[:len(wire) // 2])
            self.hangup(io, sess)
        return True

    def _handle(self, io, sess):
        if self.silent:
            wait_for_close(io, self._stop)
            return
        if self._phase(io, sess, "greeting"):
            return
        io.send_line(self.greeting)
        if not self.greeting.startswith("+OK"):
            sess.closed_by_server = True
            return
        user = None
        deleted = set()
        live = []     # the maildrop as this session saw it at login
        while not self._stop.is_set():
            line = io.read_line()
            if line is None:
                return
            text = line.decode("latin-1")
            sess.lines.append(text)
            words = text.split(" ")
            verb = words[0].upper()
            args = words[1:]
            if verb == "CAPA":
                if self._phase(io, sess, "capa"):
                    return
                if self._multiline(io, sess, "capa", "+OK Capability list "
                                   "follows", "\r\n".join(
                                       self.capa(sess)).encode()):
                    return
            elif verb == "STLS":
                if not self.stls or sess.tls or sess.authenticated:
                    io.send_line("-ERR STLS not available")
                    continue
                if self._phase(io, sess, "stls"):
                    return
                io.send_raw(b"+OK Begin TLS negotiation\r\n" +
                            self.inject_after_stls)
                if self._phase(io, sess, "tls"):
                    return
                io.wrap(self.context())
                sess.tls = True
            elif verb == "QUIT":
                if self._phase(io, sess, "quit"):
                    return
                if sess.authenticated:
                    self.messages = [m for m in self.messages
                                     if id(m) not in deleted]
                io.send_line("+OK Bye")
                return
            elif verb == "NOOP" and sess.authenticated:
                io.send_line("+OK")
            elif not sess.authenticated and verb in ("USER", "PASS", "AUTH"):
                if not self.user_before_tls and not sess.tls:
                    io.send_line("-ERR [AUTH] Plaintext authentication "
                                 "disallowed on non-secure connections")
                    continue
                if verb == "USER":
                    if self._phase(io, sess, "user"):
                        return
                    user = " ".join(args)
                    io.send_line("+OK")
                    continue
                if verb == "PASS":
                    if user is None:
                        io.send_line("-ERR USER first")
                        continue
                    password = text[5:]
                    mech = "USER"
                else:
                    got = self._auth(io, sess, args)
                    if got is None:
                        return
                    if got is False:
                        continue
                    mech, user, password = got
                sess.logins.append((mech, user, password))
                if self._phase(io, sess, "pass"):
                    return
                reply = self.pass_reply
                if reply is None:
                    ok = self.users is None or \
                        self.users.get(user) == password
                    reply = PASS_REPLIES["ok"] if ok else \
                        PASS_REPLIES["auth"]
                io.send_line(reply)
                sess.authenticated = reply.startswith("+OK")
                live = list(self.messages)
                user = None
            elif not sess.authenticated:
                io.send_line("-ERR Unknown command or not logged in")
            elif verb == "STAT":
                if self._phase(io, sess, "stat"):
                    return
                keep = [m for m in live if id(m) not in deleted]
                io.send_line("+OK %d %d" % (
                    len(keep), sum(len(m.data) for m in keep)))
            elif verb in ("LIST", "UIDL"):
                if self._phase(io, sess, verb.lower()):
                    return
                value = (lambda m: str(len(m.data))) if verb == "LIST" \
                    else self.uidl_of
                if args:
                    m = self._msg(io, live, deleted, args[0])
                    if m is not None:
                        io.send_line("+OK %s %s" % (args[0], value(m)))
                    continue
                body = "".join("%d %s\r\n" % (i + 1, value(m))
                               for i, m in enumerate(live)
                               if id(m) not in deleted)
                if self._multiline(io, sess, verb.lower(), "+OK",
                                   body.encode()):
                    return
            elif verb in ("RETR", "TOP"):
                if self._phase(io, sess, "retr"):
                    return
                if not args:
                    io.send_line("-ERR %s needs a message number" % verb)
                    continue
                m = self._msg(io, live, deleted, args[0])
                if m is None:
                    continue
                data = m.data
                if verb == "TOP":
                    if len(args) != 2 or not args[1].isdigit():
                        io.send_line("-ERR TOP msg n")
                        continue
                    i = data.find(b"\r\n\r\n")
                    head, body = (data, b"") if i < 0 else \
                        (data[:i + 4], data[i + 4:])
                    lines = body.split(b"\r\n")
                    data = head + b"\r\n".join(lines[:int(args[1])])
                    if int(args[1]) and not data.endswith(b"\r\n"):
                        data += b"\r\n"
                if self._multiline(io, sess, verb.lower(),
                                   "+OK %d octets" % len(data), data):
                    return
            elif verb == "DELE":
                m = self._msg(io, live, deleted, args[0] if args else "")
                if m is None:
                    continue
                deleted.add(id(m))
                io.send_line("+OK Marked to be deleted.")
                if self._phase(io, sess, "dele"):
                    return
            elif verb == "RSET":
                deleted.clear()
                io.send_line("+OK")
            else:
                io.send_line("-ERR Unknown command: %s" % verb)

    def _msg(self, io, live, deleted, arg):
        if not arg.isdigit() or not 1 <= int(arg) <= len(live):
            io.send_line("-ERR There's no message %s." % arg)
            return None
        m = live[int(arg) - 1]
        if id(m) in deleted:
            io.send_line("-ERR Message is deleted.")
            return None
        return m

    def _auth(self, io, sess, args):
        """AUTH PLAIN: (mech, user, password); False after an error reply
        (the session goes on); None at EOF."""
        if not args:
            io.send_line("+OK\r\n" + "\r\n".join(self.sasl) + "\r\n.")
            return False
        mech = args[0].upper()
        if mech not in self.sasl:
            io.send_line("-ERR Unsupported authentication mechanism.")
            return False
        if len(args) > 1:
            payload = args[1]
        else:
            io.send_line("+ ")
            line = io.read_line()
            if line is None:
                return None
            payload = line.decode("latin-1")
            sess.lines.append(payload)
        if payload == "*":
            io.send_line("-ERR Authentication aborted")
            return False
        try:
            raw = base64.b64decode("" if payload == "=" else payload,
                                   validate=True)
            _authz, user, password = raw.decode("utf-8").split("\0")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            io.send_line("-ERR Invalid base64 data")
            return False
        return mech, user, password


if __name__ == "__main__":
    import fakemail
    fakemail.serve_main(FakePOP3, extra_flags=("stls",))

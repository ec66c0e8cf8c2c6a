"""A scriptable, misbehaving IMAP4rev1 server for mailwire's tests.

Happy path: an in-memory mailbox (fakemail.Mailbox: messages with UIDs,
flags, internal dates) served with CAPABILITY, NOOP, ID, ENABLE,
STARTTLS, LOGIN (atoms, quoted strings or literals), AUTHENTICATE PLAIN
(with SASL-IR or after a "+" prompt), LIST, STATUS, SELECT/EXAMINE,
SEARCH and UID SEARCH, FETCH and UID FETCH (FLAGS UID RFC822.SIZE
INTERNALDATE ENVELOPE BODY[] BODY.PEEK[] with HEADER/TEXT/HEADER.FIELDS
sections and partials, RFC822, RFC822.HEADER, RFC822.TEXT), STORE and UID
STORE, EXPUNGE and UID EXPUNGE, CLOSE, UNSELECT, APPEND (synchronising
literals and LITERAL+), IDLE (deliver() or on_idle put a message in while
the client idles: "* N EXISTS"), LOGOUT.  Client literals are read whole
(sess.literals); every command line is recorded (sess.lines).

Faults, each selected by a keyword argument of FakeIMAP:
  greeting="bye"|"preauth"|"smtp"|"pop3"|"ok"|any text
        the first line: "* BYE ...", "* PREAUTH ...", an SMTP "220"
        banner, a POP3 "+OK" banner (the client is on the wrong port), or
        a text of your own.  After BYE/220/+OK the server hangs up.
  silent=True            accepts the connection and never says a word
  logindisabled=True     LOGINDISABLED (and no AUTH=) until TLS; LOGIN or
                         AUTHENTICATE before TLS get "NO [PRIVACYREQUIRED]"
  starttls=False         STARTTLS not offered ("BAD" if sent anyway)
  inject_after_starttls=b"..."   bytes pipelined right after the tagged OK
                         to STARTTLS, before the handshake (response
                         injection, CVE-2021-23993 family)
  untagged_before_starttls=b"..."  untagged responses sent between the
                         STARTTLS command and its tagged OK (a client
                         must not keep them past the handshake)
  wrong_tag="LOGIN"|"*"  the tagged response to that command (or to every
                         command) carries a tag the client never sent
  literal_fault="short"|"long"|"overflow"|"unbounded"|"drop"
        on the message body of FETCH: the announced literal length is
        smaller than the bytes sent ("short"), larger ("long": the server
        then waits), {99999999999999999999} ("overflow"), a huge length
        followed by bytes streamed without end ("unbounded"), or the
        connection drops halfway through the literal ("drop")
  unbounded_line="greeting"|"capability"|"login"|"select"|"fetch"|"list"
        at that point the server streams one line without end (no CRLF)
  login_reply=LOGIN_REPLIES[key] or text
        the tagged reply to LOGIN and AUTHENTICATE, after the tag: e.g.
        "NO [AUTHENTICATIONFAILED] ..." (see LOGIN_REPLIES: Gmail's app
        password and web login texts, Gmail "not enabled for IMAP",
        Microsoft 365 "AUTHENTICATE failed." / "LOGIN failed.", and
        every RFC 5530 code); "OK ..." logs in whatever the password
  users={"alice": "pw"}  only these credentials log in; others get
                         "NO [AUTHENTICATIONFAILED] Authentication failed."
  after_login_reply="BAD User is authenticated but not connected."
        every command after a successful login gets this tagged reply
        (Microsoft 365 when IMAP is off for the mailbox)
  select_reply=SELECT_REPLIES["nonexistent"|"doesnt_exist"] or text
        the tagged reply to SELECT/EXAMINE of any mailbox (a mailbox not
        in `mailboxes` gets SELECT_REPLIES["nonexistent"] anyway)
  hangup_at="greeting"|"capability"|"starttls"|"tls"|"login"|"select"|
        "fetch"|"idle"|"logout"   the server hangs up there without a word
        (hangup_how="close" or "reset")
  implicit_tls=True      TLS from the first byte (port 993 style)

Messages: FakeIMAP(messages=[...]) (bytes, str or fakemail.Message) for
INBOX, or mailboxes={"INBOX": Mailbox(...), "Sent": Mailbox()}.
"""

import base64
import binascii
import email.parser
import email.policy
import email.utils
import threading

from fakemail import (FakeServer, Mailbox, Message, ENDLESS_CAP,  # noqa: F401
                      GREETING_POP3, GREETING_SMTP, parse_set,
                      sample_messages, stream_forever, temp_certs,
                      wait_for_close, make_test_certs)

GREETINGS = {
    "ok": "* OK [CAPABILITY %(caps)s] fake IMAP4rev1 server ready",
    "bye": "* BYE [UNAVAILABLE] fake server shutting down, try later",
    "preauth": "* PREAUTH [CAPABILITY %(caps)s] logged in as alice",
    "smtp": GREETING_SMTP,
    "pop3": GREETING_POP3,
}

# Tagged replies to LOGIN/AUTHENTICATE seen from real servers (texts as
# providers publish or users report them) and the RFC 5530 codes.
LOGIN_REPLIES = {
    "ok": "OK [CAPABILITY IMAP4rev1 LITERAL+ SASL-IR IDLE UIDPLUS ENABLE] "
          "Logged in",
    "gmail_app_password": "NO [ALERT] Application-specific password "
                          "required: https://support.google.com/accounts/"
                          "answer/185833 (Failure)",
    "gmail_web_login": "NO [ALERT] Please log in via your web browser: "
                       "https://support.google.com/mail/accounts/answer/"
                       "78754 (Failure)",
    "gmail_imap_disabled": "NO [ALERT] Your account is not enabled for "
                           "IMAP use. Please visit your Gmail settings "
                           "page and enable your account for IMAP access. "
                           "(Failure)",
    "gmail_bad_credentials": "NO [AUTHENTICATIONFAILED] Invalid "
                             "credentials (Failure)",
    "m365_authenticate": "NO AUTHENTICATE failed.",
    "m365_login": "NO LOGIN failed.",
    "authenticationfailed": "NO [AUTHENTICATIONFAILED] Authentication "
                            "failed.",
    "unavailable": "NO [UNAVAILABLE] Temporary authentication failure",
    "expired": "NO [EXPIRED] That password has expired.",
    "privacyrequired": "NO [PRIVACYREQUIRED] Connection is not private",
    "contactadmin": "NO [CONTACTADMIN] Contact your administrator",
    "noperm": "NO [NOPERM] Access denied",
    "inuse": "NO [INUSE] Mailbox in use by another session",
    "overquota": "NO [OVERQUOTA] Quota exceeded",
    "limit": "NO [LIMIT] Too many concurrent sessions",
    "alert": "NO [ALERT] Your account is locked; see the help desk",
}

# Microsoft 365 with IMAP disabled for the mailbox: LOGIN succeeds, then
# every command gets this.
M365_NOT_CONNECTED = "BAD User is authenticated but not connected."

SELECT_REPLIES = {
    "nonexistent": "NO [NONEXISTENT] Unknown Mailbox: %(name)s (Failure)",
    "doesnt_exist": "NO Mailbox doesn't exist: %(name)s",
}

DEFAULT_CAPS = ("IMAP4rev1", "LITERAL+", "SASL-IR", "IDLE", "UIDPLUS",
                "ENABLE", "ID", "UNSELECT")

HANGUP_PHASES = ("greeting", "capability", "starttls", "tls", "login",
                 "select", "fetch", "idle", "logout")

SYSTEM_FLAGS = ("\\Seen", "\\Answered", "\\Flagged", "\\Deleted",
                "\\Draft")

MAX_LITERAL = 64 << 20


class FakeIMAP(FakeServer):
    def __init__(self, cert=None, key=None, implicit_tls=False,
                 messages=None, mailboxes=None, greeting="ok",
                 silent=False, capabilities=DEFAULT_CAPS,
                 auth_mechanisms=("PLAIN",), starttls=True,
                 logindisabled=False, inject_after_starttls=b"",
                 untagged_before_starttls=b"", wrong_tag=None,
                 literal_fault=None, unbounded_line=None, login_reply=None,
                 users=None, after_login_reply=None, select_reply=None,
                 hangup_at=None, hangup_how="close", on_idle=None,
                 idle_delay=0.2):
        super().__init__(cert, key, implicit_tls, hangup_how)
        if mailboxes is None:
            mailboxes = {"INBOX": Mailbox(
                sample_messages() if messages is None else messages)}
        self.mailboxes = mailboxes
        for name, box in mailboxes.items():
            box.name = name
        self.greeting = GREETINGS.get(greeting, greeting)
        self.silent = silent
        self.capabilities = list(capabilities)
        self.auth_mechanisms = list(auth_mechanisms)
        self.starttls = starttls
        self.logindisabled = logindisabled
        self.inject_after_starttls = inject_after_starttls
        self.untagged_before_starttls = untagged_before_starttls
        self.wrong_tag = wrong_tag
        assert literal_fault in (None, "short", "long", "overflow",
                                 "unbounded", "drop"), literal_fault
        self.literal_fault = literal_fault
        self.unbounded_line = unbounded_line
        self.login_reply = LOGIN_REPLIES.get(login_reply, login_reply)
        self.users = users
        self.after_login_reply = after_login_reply
        self.select_reply = SELECT_REPLIES.get(select_reply, select_reply)
        assert hangup_at in (None,) + HANGUP_PHASES, hangup_at
        self.hangup_at = hangup_at
        # Called as on_idle(server, session) once a client is idling (in
        # the session's thread, idle_delay seconds after "+ idling").
        self.on_idle = on_idle
        self.idle_delay = idle_delay
        self.changed = threading.Condition(self.lock)

    # -- for tests ------------------------------------------------------------
    def deliver(self, data, mailbox="INBOX", flags=()):
        """A new message arrives (idling clients are told at once)."""
        with self.changed:
            msg = self.mailboxes[mailbox].add(
                data if isinstance(data, Message) else Message(data,
                                                                flags=flags))
            self.changed.notify_all()
        return msg

    def caps(self, sess):
        caps = list(self.capabilities)
        if self.starttls and not sess.tls:
            caps.append("STARTTLS")
        if self.logindisabled and not sess.tls:
            caps.append("LOGINDISABLED")
        else:
            caps += ["AUTH=" + m for m in self.auth_mechanisms]
        return " ".join(caps)

    # -- protocol -------------------------------------------------------------
    def _handle(self, io, sess):
        if self.silent:
            wait_for_close(io, self._stop)
            return
        if self.hangup_at == "greeting":
            self.hangup(io, sess)
            return
        if self.unbounded_line == "greeting":
            io.send_raw(b"* OK ")
            stream_forever(io, sess, self._stop, b"A" * 65536)
            return
        greeting = self.greeting % {"caps": self.caps(sess)} \
            if "%(caps)s" in self.greeting else self.greeting
        io.send_line(greeting)
        if not greeting.startswith(("* OK", "* PREAUTH")):
            sess.closed_by_server = True
            return
        if greeting.startswith("* PREAUTH"):
            sess.authenticated = True
        while not self._stop.is_set():
            cmd = self._read_command(io, sess)
            if cmd is None:
                return
            tag, words = cmd
            if not words:
                self._tagged(io, tag, "", "BAD Missing command")
                continue
            verb = words[0].upper() if isinstance(words[0], str) else ""
            args = words[1:]
            if verb == "UID" and args and isinstance(args[0], str):
                verb, args = "UID " + args[0].upper(), args[1:]
            done = self._dispatch(io, sess, tag, verb, args)
            if done:
                return

    def _tagged(self, io, tag, verb, text):
        if self.wrong_tag in ("*", verb.split(" ")[-1]) and tag != "*":
            tag = "W" + tag + "X"
        io.send_line(tag + " " + text)

    def _phase_hangup(self, io, sess, phase):
        if self.hangup_at == phase:
            self.hangup(io, sess)
            return True
        return False

    def _endless_line(self, io, sess, phase, prefix):
        if self.unbounded_line != phase:
            return False
        io.send_raw(prefix)
        stream_forever(io, sess, self._stop, b"x" * 65536)
        return True

    def _dispatch(self, io, sess, tag, verb, args):
        """Run one command; True when the session is over."""
        if verb in ("LOGOUT",):
            if self._phase_hangup(io, sess, "logout"):
                return True
            io.send_line("* BYE fake IMAP server logging out")
            self._tagged(io, tag, verb, "OK LOGOUT completed")
            return True
        if sess.authenticated and self.after_login_reply and \
                verb not in ("CAPABILITY", "NOOP"):
            self._tagged(io, tag, verb, self.after_login_reply)
            return False
        handler = getattr(self, "_cmd_" + verb.replace(" ", "_"), None)
        if handler is None:
            self._tagged(io, tag, verb, "BAD Unknown command")
            return False
        return handler(io, sess, tag, verb, args)

    # -- command reading -------------------------------------------------------
    def _read_command(self, io, sess):
        """(tag, tokens) of the next command, literals read whole; None at
        EOF.  Tokens: str (atoms, quoted strings), bytes (literals),
        lists (parenthesised)."""
        parts = []
        while True:
            line = io.read_line()
            if line is None:
                return None
            sess.lines.append(line.decode("latin-1"))
            lit = _literal_at_end(line)
            if lit is None:
                parts.append(line)
                break
            n, plus, head = lit
            parts.append(head)
            if n > MAX_LITERAL:
                io.send_line("* BAD literal too large")
                return ("*", [])
            if not plus:
                io.send_line("+ Ready for literal data")
            data = io.read_exact(n)
            if data is None:
                return None
            sess.literals.append(data)
            parts.append(data)
        tokens = _tokenize(parts)
        if not tokens or not isinstance(tokens[0], str):
            return ("*", [])
        sess.tags.append(tokens[0])
        return tokens[0], tokens[1:]

    # -- any state ------------------------------------------------------------
    def _cmd_CAPABILITY(self, io, sess, tag, verb, args):
        if self._phase_hangup(io, sess, "capability") or \
                self._endless_line(io, sess, "capability", b"* CAPABILITY "):
            return True
        io.send_line("* CAPABILITY " + self.caps(sess))
        self._tagged(io, tag, verb, "OK CAPABILITY completed")

    def _cmd_NOOP(self, io, sess, tag, verb, args):
        self._report_changes(io, sess)
        self._tagged(io, tag, verb, "OK NOOP completed")

    _cmd_CHECK = _cmd_NOOP

    def _cmd_ID(self, io, sess, tag, verb, args):
        io.send_line('* ID ("name" "fakeimap")')
        self._tagged(io, tag, verb, "OK ID completed")

    def _cmd_ENABLE(self, io, sess, tag, verb, args):
        io.send_line("* ENABLED")
        self._tagged(io, tag, verb, "OK ENABLE completed")

    def _cmd_STARTTLS(self, io, sess, tag, verb, args):
        if not self.starttls or sess.tls:
            self._tagged(io, tag, verb, "BAD STARTTLS not available")
            return False
        if self._phase_hangup(io, sess, "starttls"):
            return True
        io.send_raw(self.untagged_before_starttls)
        t = tag
        if self.wrong_tag in ("*", "STARTTLS"):
            t = "W" + tag + "X"
        io.send_raw(t.encode() + b" OK Begin TLS negotiation now\r\n" +
                    self.inject_after_starttls)
        if self._phase_hangup(io, sess, "tls"):
            return True
        io.wrap(self.context())
        sess.tls = True
        return False

    # -- not authenticated ------------------------------------------------------
    def _check_login(self, io, sess, tag, verb, mech, user, password):
        sess.logins.append((mech, user, password))
        if self._phase_hangup(io, sess, "login") or \
                self._endless_line(io, sess, "login", b"* OK "):
            return True
        if self.logindisabled and not sess.tls:
            self._tagged(io, tag, verb, "NO [PRIVACYREQUIRED] Plaintext "
                         "authentication disallowed on non-secure "
                         "connections")
            return False
        reply = self.login_reply
        if reply is None:
            ok = self.users is None or self.users.get(user) == password
            reply = LOGIN_REPLIES["ok"] if ok else \
                LOGIN_REPLIES["authenticationfailed"]
        if reply.startswith("OK"):
            sess.authenticated = True
        self._tagged(io, tag, verb, reply)
        return False

    def _cmd_LOGIN(self, io, sess, tag, verb, args):
        if len(args) != 2 or isinstance(args[0], list) or \
                isinstance(args[1], list):
            self._tagged(io, tag, verb, "BAD LOGIN needs user and password")
            return False
        user, password = (_text(a) for a in args)
        return self._check_login(io, sess, tag, verb, "LOGIN", user,
                                 password)

    def _cmd_AUTHENTICATE(self, io, sess, tag, verb, args):
        if not args or not isinstance(args[0], str):
            self._tagged(io, tag, verb, "BAD AUTHENTICATE needs a mechanism")
            return False
        mech = args[0].upper()
        if mech not in self.auth_mechanisms:
            self._tagged(io, tag, verb, "NO Unsupported authentication "
                         "mechanism")
            return False
        if len(args) > 1:
            payload = _text(args[1])
        else:
            io.send_line("+ ")
            line = io.read_line()
            if line is None:
                return True
            payload = line.decode("latin-1")
            sess.lines.append(payload)
        if payload == "*":
            self._tagged(io, tag, verb, "BAD Authentication aborted")
            return False
        try:
            raw = base64.b64decode("" if payload == "=" else payload,
                                   validate=True)
            _authz, user, password = raw.decode("utf-8").split("\0")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            self._tagged(io, tag, verb, "BAD Invalid PLAIN response")
            return False
        return self._check_login(io, sess, tag, verb, mech, user, password)

    # -- authenticated -------------------------------------------------------
    def _need_auth(self, io, sess, tag, verb):
        if not sess.authenticated:
            self._tagged(io, tag, verb, "BAD Not authenticated")
            return True
        return False

    def _need_selected(self, io, sess, tag, verb):
        if self._need_auth(io, sess, tag, verb):
            return True
        if sess.selected is None:
            self._tagged(io, tag, verb, "BAD No mailbox selected")
            return True
        return False

    def _box(self, name):
        name = _text(name)
        if name.upper() == "INBOX":
            name = "INBOX"
        return name, self.mailboxes.get(name)

    def _cmd_LIST(self, io, sess, tag, verb, args):
        if self._need_auth(io, sess, tag, verb):
            return False
        if self._endless_line(io, sess, "list", b'* LIST () "/" '):
            return True
        pattern = _text(args[1]) if len(args) > 1 else "*"
        for name in self.mailboxes:
            if pattern in ("*", "%") or pattern == name:
                attrs = "\\HasNoChildren"
                if name == "Sent":
                    attrs += " \\Sent"
                io.send_line('* LIST (%s) "/" %s' % (attrs, _quote(name)))
        self._tagged(io, tag, verb, "OK LIST completed")

    _cmd_LSUB = _cmd_LIST

    def _cmd_STATUS(self, io, sess, tag, verb, args):
        if self._need_auth(io, sess, tag, verb):
            return False
        if len(args) != 2 or not isinstance(args[1], list):
            self._tagged(io, tag, verb, "BAD STATUS mailbox (items)")
            return False
        name, box = self._box(args[0])
        if box is None:
            self._tagged(io, tag, verb, SELECT_REPLIES["nonexistent"]
                         % {"name": name})
            return False
        vals = {"MESSAGES": len(box.messages),
                "RECENT": 0,
                "UIDNEXT": box.next_uid,
                "UIDVALIDITY": box.uidvalidity,
                "UNSEEN": sum("\\Seen" not in m.flags for m in box.messages),
                "SIZE": sum(len(m.data) for m in box.messages)}
        items = []
        for it in args[1]:
            key = _text(it).upper()
            if key not in vals:
                self._tagged(io, tag, verb, "BAD Unknown STATUS item")
                return False
            items.append("%s %d" % (key, vals[key]))
        io.send_line("* STATUS %s (%s)" % (_quote(name), " ".join(items)))
        self._tagged(io, tag, verb, "OK STATUS completed")

    def _cmd_SELECT(self, io, sess, tag, verb, args):
        if self._need_auth(io, sess, tag, verb):
            return False
        if not args:
            self._tagged(io, tag, verb, "BAD SELECT needs a mailbox")
            return False
        name, box = self._box(args[0])
        if self._phase_hangup(io, sess, "select") or \
                self._endless_line(io, sess, "select", b"* OK [ALERT] "):
            return True
        sess.selected = None
        if self.select_reply or box is None:
            reply = self.select_reply or SELECT_REPLIES["nonexistent"]
            self._tagged(io, tag, verb, reply % {"name": name}
                         if "%(name)s" in reply else reply)
            return False
        sess.selected = name
        sess.readonly = verb == "EXAMINE"
        with self.lock:
            sess.known = len(box.messages)
            unseen = [i + 1 for i, m in enumerate(box.messages)
                      if "\\Seen" not in m.flags]
            io.send_line("* %d EXISTS" % len(box.messages))
            io.send_line("* 0 RECENT")
            io.send_line("* FLAGS (%s)" % " ".join(SYSTEM_FLAGS))
            io.send_line("* OK [PERMANENTFLAGS (%s \\*)] Flags permitted"
                         % " ".join(SYSTEM_FLAGS))
            if unseen:
                io.send_line("* OK [UNSEEN %d] First unseen" % unseen[0])
            io.send_line("* OK [UIDVALIDITY %d] UIDs valid" % box.uidvalidity)
            io.send_line("* OK [UIDNEXT %d] Predicted next UID"
                         % box.next_uid)
        self._tagged(io, tag, verb, "OK [%s] %s completed" % (
            "READ-ONLY" if sess.readonly else "READ-WRITE", verb))

    _cmd_EXAMINE = _cmd_SELECT

    def _cmd_CLOSE(self, io, sess, tag, verb, args):
        if self._need_selected(io, sess, tag, verb):
            return False
        if verb == "CLOSE" and not sess.readonly:
            with self.lock:
                box = self.mailboxes[sess.selected]
                box.messages = [m for m in box.messages
                                if "\\Deleted" not in m.flags]
        sess.selected = None
        self._tagged(io, tag, verb, "OK %s completed" % verb)

    _cmd_UNSELECT = _cmd_CLOSE

    def _cmd_APPEND(self, io, sess, tag, verb, args):
        if self._need_auth(io, sess, tag, verb):
            return False
        if len(args) < 2 or not isinstance(args[-1], bytes):
            self._tagged(io, tag, verb, "BAD APPEND mailbox [flags] "
                         "[date] literal")
            return False
        name, box = self._box(args[0])
        if box is None:
            self._tagged(io, tag, verb, "NO [TRYCREATE] Mailbox doesn't "
                         "exist: %s" % name)
            return False
        flags = ()
        if len(args) > 2 and isinstance(args[1], list):
            flags = [_text(f) for f in args[1]]
        msg = Message(args[-1], flags=flags)
        # Keep the bytes as the client sent them (no CRLF normalising).
        msg.data = args[-1]
        sess.appended.append((name, tuple(flags), args[-1]))
        with self.changed:
            box.add(msg)
            self.changed.notify_all()
        self._tagged(io, tag, verb, "OK [APPENDUID %d %d] APPEND completed"
                     % (box.uidvalidity, msg.uid))

    # -- selected -----------------------------------------------------------
    def _report_changes(self, io, sess):
        if sess.selected is None:
            return
        with self.lock:
            box = self.mailboxes.get(sess.selected)
            if box is not None and len(box.messages) != sess.known:
                sess.known = len(box.messages)
                io.send_line("* %d EXISTS" % sess.known)

    def _search(self, io, sess, tag, verb, args, by_uid):
        if self._need_selected(io, sess, tag, verb):
            return False
        if args and _text(args[0]).upper() == "CHARSET":
            args = args[2:]
        box = self.mailboxes[sess.selected]
        with self.lock:
            msgs = list(box.messages)
        try:
            keys = list(args) or ["ALL"]
            preds = []
            while keys:
                preds.append(_search_key(keys, msgs))
        except ValueError as e:
            self._tagged(io, tag, verb, "BAD %s" % e)
            return False
        hits = [(m.uid if by_uid else i + 1) for i, m in enumerate(msgs)
                if all(p(i + 1, m) for p in preds)]
        io.send_line("* SEARCH" + "".join(" %d" % h for h in hits))
        self._tagged(io, tag, verb, "OK SEARCH completed")

    def _cmd_SEARCH(self, io, sess, tag, verb, args):
        return self._search(io, sess, tag, verb, args, False)

    def _cmd_UID_SEARCH(self, io, sess, tag, verb, args):
        return self._search(io, sess, tag, verb, args, True)

    def _targets(self, sess, set_text, by_uid):
        box = self.mailboxes[sess.selected]
        msgs = list(box.messages)
        if by_uid:
            star = msgs[-1].uid if msgs else 0
            match = parse_set(set_text, star)
            if match is None:
                return None
            return [(i + 1, m) for i, m in enumerate(msgs) if match(m.uid)]
        match = parse_set(set_text, len(msgs))
        if match is None:
            return None
        return [(i + 1, m) for i, m in enumerate(msgs) if match(i + 1)]

    def _fetch(self, io, sess, tag, verb, args, by_uid):
        if self._need_selected(io, sess, tag, verb):
            return False
        if len(args) < 2:
            self._tagged(io, tag, verb, "BAD FETCH set items")
            return False
        items = args[1] if isinstance(args[1], list) else [args[1]]
        items = _expand_macros([_text(i) if not isinstance(i, list) else i
                                for i in items])
        if items is None:
            self._tagged(io, tag, verb, "BAD Invalid FETCH items")
            return False
        if by_uid and "UID" not in [i.upper() for i in items
                                    if isinstance(i, str)]:
            items = ["UID"] + items
        with self.lock:
            targets = self._targets(sess, _text(args[0]), by_uid)
        if targets is None:
            self._tagged(io, tag, verb, "BAD Invalid message set")
            return False
        if self._phase_hangup(io, sess, "fetch") or \
                self._endless_line(io, sess, "fetch", b"* 1 FETCH (UID 1 X "):
            return True
        for seq, msg in targets:
            out = []
            for item in items:
                part = _fetch_item(item, msg, sess.readonly)
                if part is None:
                    self._tagged(io, tag, verb, "BAD Unknown FETCH item")
                    return False
                out.append(part)
            done = self._send_fetch(io, sess, seq, out)
            if done:
                return True
        self._tagged(io, tag, verb, "OK FETCH completed")

    def _send_fetch(self, io, sess, seq, parts):
        """Send "* seq FETCH (...)"; parts are (name, str) or (name,
        bytes) where bytes go as a literal.  The body literal carries the
        scripted literal_fault."""
        buf = b"* %d FETCH (" % seq
        for i, (name, value) in enumerate(parts):
            buf += (b" " if i else b"") + name.encode() + b" "
            if isinstance(value, str):
                buf += value.encode("utf-8")
                continue
            fault = self.literal_fault
            n = len(value)
            if fault is None:
                buf += b"{%d}\r\n" % n + value
            elif fault == "short":
                buf += b"{%d}\r\n" % max(0, n - 10) + value
            elif fault == "long":
                io.send_raw(buf + b"{%d}\r\n" % (n + 100) + value + b")\r\n")
                wait_for_close(io, self._stop)
                return True
            elif fault == "overflow":
                buf += b"{99999999999999999999}\r\n" + value
            elif fault == "unbounded":
                io.send_raw(buf + b"{%d}\r\n" % (1 << 62))
                stream_forever(io, sess, self._stop, b"y" * 65535 + b"\n")
                return True
            elif fault == "drop":
                io.send_raw(buf + b"{%d}\r\n" % n + value[:n // 2])
                self.hangup(io, sess)
                return True
        io.send_raw(buf + b")\r\n")
        return False

    def _cmd_FETCH(self, io, sess, tag, verb, args):
        return self._fetch(io, sess, tag, verb, args, False)

    def _cmd_UID_FETCH(self, io, sess, tag, verb, args):
        return self._fetch(io, sess, tag, verb, args, True)

    def _store(self, io, sess, tag, verb, args, by_uid):
        if self._need_selected(io, sess, tag, verb):
            return False
        if len(args) != 3:
            self._tagged(io, tag, verb, "BAD STORE set item flags")
            return False
        what = _text(args[1]).upper()
        flags = args[2] if isinstance(args[2], list) else [args[2]]
        flags = {_text(f) for f in flags}
        silent = what.endswith(".SILENT")
        what = what[:-7] if silent else what
        if what not in ("FLAGS", "+FLAGS", "-FLAGS"):
            self._tagged(io, tag, verb, "BAD Unknown STORE item")
            return False
        if sess.readonly:
            self._tagged(io, tag, verb, "NO Mailbox is read-only")
            return False
        with self.lock:
            targets = self._targets(sess, _text(args[0]), by_uid)
            if targets is None:
                self._tagged(io, tag, verb, "BAD Invalid message set")
                return False
            for seq, msg in targets:
                if what == "FLAGS":
                    msg.flags = set(flags)
                elif what == "+FLAGS":
                    msg.flags |= flags
                else:
                    msg.flags -= flags
                if not silent:
                    io.send_line("* %d FETCH (%sFLAGS (%s))" % (
                        seq, "UID %d " % msg.uid if by_uid else "",
                        " ".join(sorted(msg.flags))))
        self._tagged(io, tag, verb, "OK STORE completed")

    def _cmd_STORE(self, io, sess, tag, verb, args):
        return self._store(io, sess, tag, verb, args, False)

    def _cmd_UID_STORE(self, io, sess, tag, verb, args):
        return self._store(io, sess, tag, verb, args, True)

    def _expunge(self, io, sess, tag, verb, uid_set):
        if self._need_selected(io, sess, tag, verb):
            return False
        if sess.readonly:
            self._tagged(io, tag, verb, "NO Mailbox is read-only")
            return False
        with self.lock:
            box = self.mailboxes[sess.selected]
            star = box.messages[-1].uid if box.messages else 0
            match = parse_set(uid_set, star) if uid_set else (lambda u: True)
            if match is None:
                self._tagged(io, tag, verb, "BAD Invalid UID set")
                return False
            gone = [i + 1 for i, m in enumerate(box.messages)
                    if "\\Deleted" in m.flags and match(m.uid)]
            for seq in reversed(gone):
                del box.messages[seq - 1]
                io.send_line("* %d EXPUNGE" % seq)
            sess.known = len(box.messages)
        self._tagged(io, tag, verb, "OK EXPUNGE completed")

    def _cmd_EXPUNGE(self, io, sess, tag, verb, args):
        return self._expunge(io, sess, tag, verb, None)

    def _cmd_UID_EXPUNGE(self, io, sess, tag, verb, args):
        if len(args) != 1:
            self._tagged(io, tag, verb, "BAD UID EXPUNGE set")
            return False
        return self._expunge(io, sess, tag, verb, _text(args[0]))

    def _cmd_IDLE(self, io, sess, tag, verb, args):
        if self._need_auth(io, sess, tag, verb):
            return False
        io.send_line("+ idling")
        if self._phase_hangup(io, sess, "idle"):
            return True
        hook = self.on_idle
        started = False
        waited = 0.0
        while not self._stop.is_set():
            if hook is not None and not started and \
                    waited >= self.idle_delay:
                started = True
                hook(self, sess)
            self._report_changes(io, sess)
            line = io.poll_line(0.05)
            waited += 0.05
            if line is None:
                return True
            if line == b"":
                continue
            sess.lines.append(line.decode("latin-1"))
            if line.upper() == b"DONE":
                self._tagged(io, tag, verb, "OK IDLE terminated")
                return False
            self._tagged(io, tag, verb, "BAD Expected DONE")
            return False
        return True


# -- helpers ------------------------------------------------------------------

def _literal_at_end(line):
    """(n, non-synchronising, line without the "{n}") when the line ends
    with a literal announcement, else None."""
    if not line.endswith(b"}"):
        return None
    i = line.rfind(b"{")
    if i < 0:
        return None
    inner = line[i + 1:-1]
    plus = inner.endswith(b"+")
    if plus:
        inner = inner[:-1]
    if not inner.isdigit() or len(inner) > 19:
        return None
    return int(inner), plus, line[:i]


class _Lit:
    """Marks a literal inside the text handed to the tokenizer."""


def _tokenize(parts):
    """Tokens of a command whose text parts alternate with literal bytes."""
    flat = []
    for k, part in enumerate(parts):
        if k % 2:
            flat.append(part)          # a literal: one bytes token
            continue
        s = part.decode("utf-8", "replace")
        i = 0
        while i < len(s):
            c = s[i]
            if c == " ":
                i += 1
            elif c in "()":
                flat.append(c)
                i += 1
            elif c == '"':
                j, out = i + 1, []
                while j < len(s) and s[j] != '"':
                    if s[j] == "\\" and j + 1 < len(s):
                        j += 1
                    out.append(s[j])
                    j += 1
                flat.append(_Quoted("".join(out)))
                i = j + 1
            else:
                j, depth = i, 0
                while j < len(s):
                    if s[j] == "[":
                        depth += 1
                    elif s[j] == "]":
                        depth -= 1
                    elif depth <= 0 and s[j] in " ()":
                        break
                    j += 1
                flat.append(s[i:j])
                i = j
    stack = [[]]
    for t in flat:
        if t == "(" and not isinstance(t, _Quoted):
            stack.append([])
        elif t == ")" and not isinstance(t, _Quoted) and len(stack) > 1:
            inner = stack.pop()
            stack[-1].append(inner)
        else:
            stack[-1].append(t)
    while len(stack) > 1:
        inner = stack.pop()
        stack[-1].append(inner)
    return stack[0]


class _Quoted(str):
    """A quoted string token (never taken for a parenthesis)."""


def _text(tok):
    if isinstance(tok, bytes):
        return tok.decode("utf-8", "replace")
    if isinstance(tok, list):
        return " ".join(_text(t) for t in tok)
    return str(tok)


def _quote(s):
    if isinstance(s, bytes):
        s = s.decode("utf-8", "replace")
    if any(c in s for c in "\r\n") or any(ord(c) > 126 for c in s):
        b = s.encode("utf-8")
        return "{%d}\r\n%s" % (len(b), s)
    return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')


def _nstring(s):
    return "NIL" if s is None else _quote(s)


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
           "Oct", "Nov", "Dec")


def _imap_date(text):
    import datetime
    try:
        d, m, y = text.split("-")
        return datetime.date(int(y), _MONTHS.index(m.capitalize()) + 1,
                             int(d))
    except (ValueError, IndexError):
        raise ValueError("Invalid date %s" % text)


def _search_key(keys, msgs):
    """Take one search key (with its arguments) off keys; return a
    predicate (seq, msg) -> bool."""
    k = keys.pop(0)
    if isinstance(k, list):
        sub = list(k)
        preds = []
        while sub:
            preds.append(_search_key(sub, msgs))
        return lambda s, m: all(p(s, m) for p in preds)
    word = _text(k).upper()
    flag_keys = {"SEEN": "\\Seen", "DELETED": "\\Deleted",
                 "FLAGGED": "\\Flagged", "ANSWERED": "\\Answered",
                 "DRAFT": "\\Draft"}
    if word == "ALL":
        return lambda s, m: True
    if word in flag_keys:
        f = flag_keys[word]
        return lambda s, m: f in m.flags
    if word.startswith("UN") and word[2:] in flag_keys:
        f = flag_keys[word[2:]]
        return lambda s, m: f not in m.flags
    if word == "NOT":
        p = _search_key(keys, msgs)
        return lambda s, m: not p(s, m)
    if word == "OR":
        a = _search_key(keys, msgs)
        b = _search_key(keys, msgs)
        return lambda s, m: a(s, m) or b(s, m)
    if word in ("SINCE", "BEFORE", "ON"):
        if not keys:
            raise ValueError("%s needs a date" % word)
        day = _imap_date(_text(keys.pop(0)))
        if word == "SINCE":
            return lambda s, m: m.date.date() >= day
        if word == "BEFORE":
            return lambda s, m: m.date.date() < day
        return lambda s, m: m.date.date() == day
    if word == "UID":
        if not keys:
            raise ValueError("UID needs a set")
        star = msgs[-1].uid if msgs else 0
        match = parse_set(_text(keys.pop(0)), star)
        if match is None:
            raise ValueError("Invalid UID set")
        return lambda s, m: match(m.uid)
    match = parse_set(word, len(msgs))
    if match is None:
        raise ValueError("Unknown search key %s" % word)
    return lambda s, m: match(s)


def _expand_macros(items):
    out = []
    for it in items:
        if isinstance(it, list):
            return None
        up = it.upper()
        if up == "ALL":
            out += ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"]
        elif up == "FAST":
            out += ["FLAGS", "INTERNALDATE", "RFC822.SIZE"]
        elif up == "FULL":
            out += ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"]
        else:
            out.append(it)
    return out


def _split_header(data):
    i = data.find(b"\r\n\r\n")
    if i < 0:
        return data, b""
    return data[:i + 4], data[i + 4:]


def _header_fields(header, names, negate):
    keep, cur = [], None
    names = {n.upper() for n in names}
    for line in header.split(b"\r\n"):
        if not line:
            continue
        if line[:1] in (b" ", b"\t") and cur is not None:
            if cur:
                keep.append(line)
            continue
        name = line.split(b":", 1)[0].decode("latin-1").strip().upper()
        cur = (name in names) != negate
        if cur:
            keep.append(line)
    return b"".join(l + b"\r\n" for l in keep) + b"\r\n"


def _fetch_item(item, msg, readonly):
    """(name, value) for one FETCH item; value str (sent as is) or bytes
    (sent as a literal).  None for an unknown item."""
    up = item.upper()
    if up == "UID":
        return "UID", str(msg.uid)
    if up == "FLAGS":
        return "FLAGS", "(%s)" % " ".join(sorted(msg.flags))
    if up == "RFC822.SIZE":
        return "RFC822.SIZE", str(len(msg.data))
    if up == "INTERNALDATE":
        return "INTERNALDATE", '"%s"' % msg.date.strftime(
            "%d-%b-%Y %H:%M:%S +0000")
    if up == "ENVELOPE":
        return "ENVELOPE", _envelope(msg.data)
    if up in ("RFC822", "RFC822.HEADER", "RFC822.TEXT"):
        head, body = _split_header(msg.data)
        if up == "RFC822" and not readonly:
            msg.flags.add("\\Seen")
        return up, {"RFC822": msg.data, "RFC822.HEADER": head,
                    "RFC822.TEXT": body}[up]
    if up.startswith(("BODY[", "BODY.PEEK[")):
        peek = up.startswith("BODY.PEEK[")
        inner = item[item.index("[") + 1:item.rindex("]")]
        partial = item[item.rindex("]") + 1:]
        head, body = _split_header(msg.data)
        sec = inner.upper()
        if sec == "":
            data = msg.data
        elif sec == "HEADER":
            data = head
        elif sec == "TEXT":
            data = body
        elif sec.startswith(("HEADER.FIELDS ", "HEADER.FIELDS.NOT ")):
            names = inner[inner.index("(") + 1:inner.rindex(")")].split()
            data = _header_fields(head, names, ".NOT" in sec)
        else:
            return None
        name = "BODY[%s]" % inner
        if partial:
            try:
                start, length = (int(x) for x in partial[1:-1].split("."))
            except ValueError:
                return None
            data = data[start:start + length]
            name += "<%d>" % start
        if not peek and not readonly:
            msg.flags.add("\\Seen")
        return name, data
    return None


def _envelope(data):
    head, _ = _split_header(data)
    h = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(
        head)

    def addrs(name):
        vals = h.get_all(name)
        if not vals:
            return "NIL"
        out = []
        for disp, addr in email.utils.getaddresses(vals):
            local, _, domain = addr.partition("@")
            out.append("(%s NIL %s %s)" % (_nstring(disp or None),
                                            _nstring(local),
                                            _nstring(domain or None)))
        return "(" + "".join(out) + ")"

    frm = addrs("From")
    sender = addrs("Sender") if h.get("Sender") else frm
    reply_to = addrs("Reply-To") if h.get("Reply-To") else frm
    return "(%s %s %s %s %s %s %s %s %s %s)" % (
        _nstring(h.get("Date")), _nstring(h.get("Subject")), frm, sender,
        reply_to, addrs("To"), addrs("Cc"), addrs("Bcc"),
        _nstring(h.get("In-Reply-To")), _nstring(h.get("Message-ID")))


if __name__ == "__main__":
    import fakemail
    fakemail.serve_main(FakeIMAP, extra_flags=("starttls",))

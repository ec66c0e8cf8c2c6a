"""A scriptable, misbehaving SMTP server for mailwire's tests.

Real servers (the Postfix/Dovecot rig) prove that mailwire works; this one
plays the faults that real servers will not: data injected after the 220 to
STARTTLS, a connection dropped after the final dot, malformed replies,
silence.  It runs in a thread inside the test process, listens on 127.0.0.1
only, and records what the client sent (every line, and the exact DATA
bytes) so tests can check the wire.

Behaviour is set with keyword arguments; see FakeSMTP.__init__.
"""

import os
import socket
import ssl
import subprocess
import tempfile
import threading


def make_test_certs(directory, host="localhost"):
    """Create a CA and a server certificate for 127.0.0.1/localhost with
    openssl; return (ca_file, cert_file, key_file)."""
    ca_key = os.path.join(directory, "fake-ca.key")
    ca_crt = os.path.join(directory, "fake-ca.crt")
    key = os.path.join(directory, "fake-server.key")
    csr = os.path.join(directory, "fake-server.csr")
    crt = os.path.join(directory, "fake-server.crt")
    ext = os.path.join(directory, "fake-ext.cnf")

    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=mailwire fake test CA", "-keyout", ca_key,
        "-out", ca_crt, "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + host,
        "-keyout", key, "-out", csr)
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:%s,DNS:localhost,IP:127.0.0.1\n"
                "extendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n"
                % host)
    run("x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key,
        "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", crt)
    return ca_crt, crt, key


def make_client_cert(directory, ca_crt, ca_key, cn="mailwire test client",
                     name="client"):
    """A TLS client certificate (extendedKeyUsage clientAuth) and its key,
    signed by the test CA (make_test_certs); return (cert_file, key_file).
    name prefixes the files, so several can live in one directory."""
    key = os.path.join(directory, name + ".key")
    csr = os.path.join(directory, name + ".csr")
    crt = os.path.join(directory, name + ".crt")
    ext = os.path.join(directory, name + "-ext.cnf")

    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + cn,
        "-keyout", key, "-out", csr)
    with open(ext, "w") as f:
        f.write("extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n")
    run("x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key,
        "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", crt)
    return crt, key


# Short names of the subject attributes, as OpenSSL prints them.
_RDN_SHORT = {"commonName": "CN", "organizationName": "O",
              "organizationalUnitName": "OU", "countryName": "C",
              "emailAddress": "emailAddress"}


class Session:
    """What one client connection did."""

    def __init__(self):
        self.lines = []          # command lines received, decoded latin-1
        self.data = []           # raw DATA bytes per message (wire form)
        self.tls = False
        self.peer = None         # the client's (address, port)
        self.closed_by_server = False
        self.chunks = []         # raw bytes of each recv (after TLS)
        # The verified client certificate's subject ("CN=...", attributes
        # joined by ", "), or None when the client presented none.
        self.peer_subject = None
        self.auth_mechanism = None  # of the last AUTH command
        self.authzid = None      # EXTERNAL: the decoded authorization id

    def note_peer(self, tls_sock):
        """Record the client certificate of a TLS socket just wrapped."""
        try:
            cert = tls_sock.getpeercert()
        except (ValueError, OSError):
            cert = None
        if cert:
            self.peer_subject = ", ".join(
                "%s=%s" % (_RDN_SHORT.get(k, k), v)
                for rdn in cert.get("subject", ()) for k, v in rdn)


# Where FakeSMTP(hangup_at=...) ends the connection: "greeting" (instead
# of it), "ehlo", "starttls", "tls" (after the 220 to STARTTLS, before the
# handshake), "ehlo_tls" (EHLO after TLS), "auth", "mail", "rcpt", "data"
# (on the command), "body" (after the 354, once the message data arrives),
# "dot" (after the whole message, no reply), "final" (after the final
# reply), "quit" (no 221).
HANGUP_PHASES = ("greeting", "ehlo", "starttls", "tls", "ehlo_tls", "auth",
                 "mail", "rcpt", "data", "body", "dot", "final", "quit")


class FakeSMTP:
    def __init__(self, cert=None, key=None, greeting="220 fake.test ESMTP",
                 silent=False, implicit_tls=False,
                 capabilities=("PIPELINING", "SIZE 10240000", "8BITMIME",
                               "ENHANCEDSTATUSCODES", "SMTPUTF8"),
                 starttls=True, starttls_reply="220 2.0.0 Ready to start TLS",
                 inject_after_starttls=b"", auth=None, auth_reply=None,
                 mail_reply="250 2.1.0 Ok", rcpt_replies=None,
                 data_reply="354 End data with <CR><LF>.<CR><LF>",
                 final_reply="250 2.0.0 Ok: queued as FAKE42",
                 drop_after_dot=False, raw_ehlo_reply=None,
                 data_despite_no_rcpt=False, ehlo_reply=None,
                 auth_before_tls_only=False, trickle=None, stall_ehlo=False,
                 reset_during_data=None, quit_reply="221 2.0.0 Bye",
                 starttls_garbage=False, drop_after_mail=False,
                 auth_after_tls_only=False, tls_max=None,
                 client_ca=None, verify_client=None, external_reply=None,
                 hangup_at=None, hangup_how="close",
                 sasl_server=None,
                 helo_reply=None, ehlo_delay=0, oauth_error=None,
                 echo_auth=None, auth_prompts=None,
                 close_every=None, message_faults=None,
                 max_sessions=None):
        self.cert, self.key = cert, key
        self.greeting = greeting
        self.silent = silent
        self.implicit_tls = implicit_tls
        self.capabilities = list(capabilities)
        self.starttls = starttls
        self.starttls_reply = starttls_reply
        self.inject_after_starttls = inject_after_starttls
        self.auth = auth                    # e.g. "PLAIN LOGIN"
        self.auth_reply = auth_reply or "235 2.7.0 Authentication successful"
        self.mail_reply = mail_reply
        self.rcpt_replies = rcpt_replies or {}
        self.data_reply = data_reply
        self.final_reply = final_reply
        self.drop_after_dot = drop_after_dot
        self.raw_ehlo_reply = raw_ehlo_reply  # bytes sent verbatim to EHLO
        self.data_despite_no_rcpt = data_despite_no_rcpt
        self.ehlo_reply = ehlo_reply      # e.g. "502 5.5.1 EHLO not known"
        self.auth_before_tls_only = auth_before_tls_only
        self.trickle = trickle            # seconds between greeting bytes
        self.stall_ehlo = stall_ehlo      # one EHLO line, then silence
        self.reset_during_data = reset_during_data  # RST after N data bytes
        self.quit_reply = quit_reply
        self.starttls_garbage = starttls_garbage  # 220, then no TLS
        self.drop_after_mail = drop_after_mail  # hang up mid-transaction
        self.auth_after_tls_only = auth_after_tls_only
        self.tls_max = tls_max  # "1.2": the server cannot do TLS 1.3
        # Client certificates: verify_client "optional" asks for one,
        # "required" refuses the handshake without one; both verify it
        # against client_ca (a CA file).  None (the default): not asked.
        self.client_ca = client_ca
        self.verify_client = verify_client
        # AUTH EXTERNAL (offer it with auth="EXTERNAL ..."): accepted with
        # auth_reply when a verified client certificate was presented, else
        # refused with 535; external_reply, when set, is the verdict anyway.
        self.external_reply = external_reply
        # The server hangs up at one phase of the dialogue (HANGUP_PHASES)
        # without a word: "close" (FIN; over TLS without close_notify) or
        # "reset" (RST), to prove a client survives and names it.
        assert hangup_at in (None,) + HANGUP_PHASES, hangup_at
        self.hangup_at = hangup_at
        self.hangup_how = hangup_how
        # Real SCRAM-SHA-1/-256 and DIGEST-MD5 with scripted faults in the
        # server's proof: a fakesasl.SaslServer (offer the mechanisms with
        # auth="SCRAM-SHA-256 ...").  None: those are played like the rest.
        self.sasl_server = sasl_server
        self.helo_reply = helo_reply      # e.g. "550 5.7.1 go away"
        self.ehlo_delay = ehlo_delay      # seconds before the EHLO reply
        # XOAUTH2/OAUTHBEARER: a JSON failure report sent base64 in a 334
        # after the token (RFC 7628 3.2.2), before auth_reply.
        self.oauth_error = oauth_error
        # A server that leaks: its AUTH verdict is a 535 quoting the
        # client's last SASL payload, "raw" (base64 as received), "decoded"
        # (the decoded bytes verbatim, NULs included) or "decoded-text"
        # (decoded, control bytes shown as spaces).
        self.echo_auth = echo_auth
        # Replaces the mechanism's 334 prompts by these lines, as they are
        # (invalid base64, endless challenges...), each answered by the
        # client before auth_reply.
        self.auth_prompts = auth_prompts
        # Bulk sending: after close_every messages on one connection, the
        # next command but QUIT (RSET or MAIL) gets a 421 and the server
        # hangs up, as providers that cap messages per connection do.
        self.close_every = close_every
        # {N: phase}: the Nth transaction the server sees (its Nth MAIL
        # command, over all connections, from 1) meets a fault once, the
        # server hanging up without a word: "mail" (on MAIL), "data" (on
        # DATA: nothing of the message sent yet), "body" (once its first
        # bytes arrive: before the dot only when the message is larger
        # than what the client writes at once), "dot" (after the whole
        # message: no final reply, delivery unknown to the client).
        self.message_faults = dict(message_faults or {})
        # At most this many connections at once: one more is greeted with
        # a 421 and closed (a provider's connection limit).
        self.max_sessions = max_sessions
        self._active = 0
        self.mail_count = 0
        self._count_lock = threading.Lock()
        # final_reply may hold "{n}": the transaction's number.
        self.sessions = []
        self._sock = None
        self._thread = None
        self._stop = threading.Event()
        self._conns = []

    # -- lifetime ---------------------------------------------------------
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
        for c in self._conns:
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

    def _context(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        if self.tls_max == "1.2":
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        if self.verify_client:
            ctx.verify_mode = (ssl.CERT_REQUIRED
                               if self.verify_client == "required"
                               else ssl.CERT_OPTIONAL)
            ctx.load_verify_locations(cafile=self.client_ca)
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
            t = threading.Thread(target=self._handle_safely, args=(conn,),
                                 daemon=True)
            t.start()

    def _handle_safely(self, conn):
        sess = Session()
        sess.peer = conn.getpeername()[:2]
        self.sessions.append(sess)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        io = _LineIO(conn, sess)
        io.linger_on_tls_failure = bool(self.verify_client)
        with self._count_lock:
            self._active += 1
            over = self.max_sessions is not None and \
                self._active > self.max_sessions
        try:
            if over:
                io.send_line("421 4.7.0 fake.test Error: too many "
                             "connections")
                sess.closed_by_server = True
            else:
                self._handle(io, sess)
        except (OSError, ssl.SSLError, ConnectionError):
            pass
        finally:
            with self._count_lock:
                self._active -= 1
            for s in (io.sock, conn):
                try:
                    s.close()
                except OSError:
                    pass

    # -- protocol -----------------------------------------------------------
    def _handle(self, io, sess):
        io.sock.settimeout(30)
        accepted = 0
        in_mail = False
        fault, number = None, 0
        if self.implicit_tls:
            io.wrap(self._context())
            sess.tls = True
        if self.silent:
            # Say nothing until the client gives up.
            while not self._stop.is_set():
                try:
                    if not io.sock.recv(1024):
                        return
                except socket.timeout:
                    return
            return
        if self.trickle:
            # One byte at a time: a deadline that restarts on every byte
            # would never expire.
            for b in (self.greeting + "\r\n").encode():
                if self._stop.wait(self.trickle):
                    return
                io.send_raw(bytes([b]))
        elif self._hangup(io, sess, "greeting"):
            return
        else:
            io.send_line(self.greeting)
        if not self.greeting.startswith("220"):
            sess.closed_by_server = True
            return
        while True:
            line = io.read_line()
            if line is None:
                return
            text = line.decode("latin-1")
            sess.lines.append(text)
            verb = text.split(" ", 1)[0].upper()
            phase = {"EHLO": "ehlo_tls" if sess.tls and not self.implicit_tls
                     else "ehlo", "STARTTLS": "starttls", "AUTH": "auth",
                     "MAIL": "mail", "RCPT": "rcpt", "DATA": "data",
                     "QUIT": "quit"}.get(verb)
            if phase and self._hangup(io, sess, phase):
                return
            if self.close_every and verb not in ("QUIT", "EHLO", "HELO",
                                                 "STARTTLS", "AUTH") and \
                    len(sess.data) >= self.close_every:
                io.send_line("421 4.7.0 fake.test Error: too many messages "
                             "on this connection")
                sess.closed_by_server = True
                return
            if verb == "EHLO" and self.ehlo_reply:
                io.send_line(self.ehlo_reply)
                continue
            if verb == "HELO":
                io.send_line(self.helo_reply or "250 fake.test")
                continue
            if verb == "EHLO" and self.ehlo_delay:
                self._stop.wait(self.ehlo_delay)
            if verb == "EHLO" and self.stall_ehlo:
                io.send_raw(b"250-fake.test is thinking\r\n")
                self._stop.wait(30)
                return
            if verb == "EHLO":
                if self.raw_ehlo_reply is not None:
                    io.send_raw(self.raw_ehlo_reply)
                    continue
                caps = list(self.capabilities)
                if self.starttls and not sess.tls:
                    caps.append("STARTTLS")
                if self.auth and not (self.auth_before_tls_only and sess.tls) \
                        and not (self.auth_after_tls_only and not sess.tls):
                    caps.append("AUTH " + self.auth)
                # Like Postfix's "Hello [addr]": the source address seen.
                lines = ["fake.test greets [%s]" % sess.peer[0]] + caps
                for i, c in enumerate(lines):
                    sep = " " if i == len(lines) - 1 else "-"
                    io.send_line("250" + sep + c)
            elif verb == "STARTTLS":
                if not self.starttls or sess.tls:
                    io.send_line("502 5.5.1 not available")
                    continue
                # The injection attack: extra bytes in the same packet.
                io.send_raw(self.starttls_reply.encode() + b"\r\n" +
                            self.inject_after_starttls)
                if not self.starttls_reply.startswith("220"):
                    continue
                if self.starttls_garbage:
                    # Says go ahead, then answers the ClientHello with text.
                    io.sock.recv(4096)
                    io.send_raw(b"500 5.5.1 this is not TLS\r\n")
                    return
                if self._hangup(io, sess, "tls"):
                    return
                if self.inject_after_starttls:
                    # A safe client hangs up here; wait to see it do so.
                    try:
                        io.wrap(self._context())
                    except (ssl.SSLError, OSError):
                        return
                    sess.tls = True
                    continue
                io.wrap(self._context())
                sess.tls = True
            elif verb == "AUTH":
                # Play the mechanism's prompts so clients run the real
                # exchange; the verdict is auth_reply whatever was said.
                words = text.split(" ")
                mech = words[1].upper() if len(words) > 1 else ""
                sess.auth_mechanism = mech
                if mech == "EXTERNAL":
                    self._auth_external(io, sess, words)
                    continue
                if self.sasl_server is not None and \
                        mech in self.sasl_server.mechanisms:
                    self.sasl_server.exchange(
                        io, sess, mech, words[2] if len(words) > 2 else None)
                    continue
                prompts = []
                if mech == "LOGIN":
                    prompts = ["334 VXNlcm5hbWU6", "334 UGFzc3dvcmQ6"]
                    if len(words) > 2:
                        prompts = prompts[1:]
                elif len(words) == 2:
                    prompts = ["334 "]
                if self.auth_prompts is not None:
                    prompts = list(self.auth_prompts)
                if self.oauth_error and mech in ("XOAUTH2", "OAUTHBEARER"):
                    import base64
                    prompts.append("334 " + base64.b64encode(
                        self.oauth_error.encode()).decode())
                payload = words[2] if len(words) > 2 else ""
                for prompt in prompts:
                    io.send_line(prompt)
                    answer = io.read_line()
                    if answer is None:
                        return
                    sess.lines.append(answer.decode("latin-1"))
                    payload = answer.decode("latin-1")
                if self.echo_auth:
                    io.send_raw(_echo_reply(self.echo_auth, payload))
                    continue
                io.send_line(self.auth_reply)
            elif verb == "MAIL":
                with self._count_lock:
                    self.mail_count += 1
                    number = self.mail_count
                    fault = self.message_faults.pop(number, None)
                if fault == "mail":
                    sess.closed_by_server = True
                    return
                if self.drop_after_mail:
                    sess.closed_by_server = True
                    return
                io.send_line(self.mail_reply)
                if _closing(self.mail_reply, sess):
                    return
                in_mail = self.mail_reply.startswith("250")
            elif verb == "RCPT":
                addr = text[text.find("<") + 1:text.rfind(">")]
                reply = self.rcpt_replies.get(addr, "250 2.1.5 Ok")
                if not in_mail:
                    reply = "503 5.5.1 Error: need MAIL command"
                accepted += reply.startswith("25")
                io.send_line(reply)
                if _closing(reply, sess):
                    return
            elif verb == "DATA":
                if fault == "data":
                    sess.closed_by_server = True
                    return
                if not accepted and not self.data_despite_no_rcpt:
                    io.send_line("554 5.5.1 Error: no valid recipients")
                    continue
                io.send_line(self.data_reply)
                if _closing(self.data_reply, sess):
                    return
                if not self.data_reply.startswith("354"):
                    continue
                if self.reset_during_data is not None:
                    got = len(io.buf)
                    while got < self.reset_during_data:
                        chunk = io.sock.recv(65536)
                        if not chunk:
                            return
                        got += len(chunk)
                    # Abortive close: the client sees a reset, not an EOF.
                    import struct
                    io.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
                    sess.closed_by_server = True
                    return
                if fault == "body":
                    if not io.buf and not io._fill():
                        return
                    # Abortive close: the rest of the data stays unread.
                    import struct
                    io.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
                    sess.closed_by_server = True
                    return
                if self.hangup_at == "body":
                    if not io.buf and not io._fill():
                        return
                    self._hangup(io, sess, "body")
                    return
                raw = io.read_data()
                if raw is None:
                    return
                sess.data.append(raw)
                if self._hangup(io, sess, "dot"):
                    return
                if self.drop_after_dot or fault == "dot":
                    sess.closed_by_server = True
                    return
                accepted = 0
                in_mail = False
                io.send_line(self.final_reply.replace("{n}", str(number)))
                if _closing(self.final_reply, sess) or \
                        self._hangup(io, sess, "final"):
                    return
            elif verb == "RSET":
                accepted = 0
                in_mail = False
                io.send_line("250 2.0.0 Ok")
            elif verb == "NOOP":
                io.send_line("250 2.0.0 Ok")
            elif verb == "QUIT":
                io.send_line(self.quit_reply)
                return
            else:
                io.send_line("502 5.5.2 Error: command not recognized")

    def _hangup(self, io, sess, phase):
        """True (and the connection is ending) when the server is scripted
        to hang up at this phase."""
        if self.hangup_at != phase:
            return False
        sess.closed_by_server = True
        if self.hangup_how == "reset":
            import struct
            io.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                               struct.pack("ii", 1, 0))
        return True

    def _auth_external(self, io, sess, words):
        """SASL EXTERNAL (RFC 4422 appendix A, RFC 4954): the message is
        the authorization identity, "=" (empty) in the initial response
        or an empty line after a 334 prompt."""
        import base64
        import binascii
        if len(words) > 2:
            msg = words[2]
        else:
            io.send_line("334 ")
            answer = io.read_line()
            if answer is None:
                return
            msg = answer.decode("latin-1")
            sess.lines.append(msg)
        try:
            sess.authzid = "" if msg in ("=", "") else \
                base64.b64decode(msg, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            io.send_line("501 5.5.2 Cannot decode the EXTERNAL response")
            return
        if self.external_reply:
            io.send_line(self.external_reply)
        elif sess.peer_subject:
            io.send_line(self.auth_reply)
        else:
            io.send_line("535 5.7.8 Error: authentication failed: no client "
                         "certificate")


def _closing(reply, sess):
    """A 421 closes the channel (RFC 5321 section 3.8), as real servers do:
    True, and the session is ending."""
    if reply.startswith("421"):
        sess.closed_by_server = True
        return True
    return False
def _echo_reply(how, payload):
    """The 535 of a server that quotes the client's SASL payload back
    (FakeSMTP echo_auth)."""
    import base64
    import binascii
    if how == "raw":
        quoted = payload.encode("latin-1")
    else:
        try:
            quoted = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            quoted = payload.encode("latin-1")
        if how == "decoded-text":
            quoted = bytes(b if 0x20 <= b < 0x7f else 0x20 for b in quoted)
    return (b"535 5.7.8 Authentication failed for [" + quoted +
            b"]: bad credentials\r\n")


def _linger(sock, seconds=2.0):
    """Close gently after a refused TLS handshake.  With TLS 1.3 the client
    has finished its side of the handshake and may already be sending
    EHLO when the server refuses its certificate; closing with that data
    unread would reset the connection, and the reset can destroy the alert
    before the client reads it.  So: stop sending (FIN after the alert),
    read until the client hangs up, then let the caller close."""
    try:
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(seconds)
        while sock.recv(4096):
            pass
    except OSError:
        pass


class _LineIO:
    """Line I/O over a socket that can be upgraded to TLS in place."""

    def __init__(self, sock, sess=None):
        self.sock = sock
        self.sess = sess
        self.buf = b""
        # After a handshake this side refused (a client certificate
        # missing or not trusted): let the alert reach the client instead
        # of resetting the connection under it (see _linger).
        self.linger_on_tls_failure = False

    def wrap(self, ctx):
        if self.linger_on_tls_failure:
            tls = ctx.wrap_socket(self.sock, server_side=True,
                                  do_handshake_on_connect=False)
            self.sock = tls
            try:
                tls.do_handshake()
            except ssl.SSLError:
                _linger(tls)
                raise
        else:
            self.sock = ctx.wrap_socket(self.sock, server_side=True)
        self.buf = b""
        if self.sess is not None:
            self.sess.note_peer(self.sock)

    def send_raw(self, data):
        self.sock.sendall(data)

    def send_line(self, text):
        self.sock.sendall(text.encode() + b"\r\n")

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            return False
        if self.sess is not None and len(self.sess.chunks) < 1000:
            self.sess.chunks.append(chunk)
        self.buf += chunk
        return True

    def read_line(self):
        while b"\r\n" not in self.buf:
            if not self._fill():
                return None
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_data(self):
        """Everything up to and including CRLF.CRLF, as sent (stuffed).
        Linear in the message size: only the new bytes (and the 4 before
        them) are searched, in one growing buffer (messages of 25 MB and
        more, test_bounds)."""
        probe = bytearray(b"\r\n")
        probe += self.buf
        self.buf = b""
        start = 0
        while True:
            end = probe.find(b"\r\n.\r\n", start)
            if end != -1:
                # end indexes probe; the data is probe[2:end+2] (+CRLF kept)
                self.buf = bytes(probe[end + 5:])
                return bytes(probe[2:end + 2])
            start = max(0, len(probe) - 4)
            if not self._fill():
                return None
            probe += self.buf
            self.buf = b""


def make_bad_certs(directory, ca_crt, ca_key):
    """Certificates a client must refuse: expired (signed by the test CA)
    and self-signed.  Returns {"expired": (crt, key), "selfsigned": ...}."""
    def run(*args, cwd=None):
        subprocess.run(["openssl", *args], check=True, capture_output=True,
                       cwd=cwd)
    out = {}
    # Expired: `openssl ca` is the 3.0 tool that takes explicit dates.
    ca_dir = os.path.join(directory, "ca-db")
    os.makedirs(ca_dir, exist_ok=True)
    open(os.path.join(ca_dir, "index.txt"), "w").close()
    with open(os.path.join(ca_dir, "serial"), "w") as f:
        f.write("1000\n")
    cnf = os.path.join(ca_dir, "ca.cnf")
    with open(cnf, "w") as f:
        f.write("[ca]\ndefault_ca=d\n[d]\ndatabase=%s/index.txt\n"
                "new_certs_dir=%s\nserial=%s/serial\ndefault_md=sha256\n"
                "policy=p\ncopy_extensions=copy\nunique_subject=no\n"
                "[p]\ncommonName=supplied\n" % (ca_dir, ca_dir, ca_dir))
    key = os.path.join(directory, "expired.key")
    csr = os.path.join(directory, "expired.csr")
    crt = os.path.join(directory, "expired.crt")
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
        "-keyout", key, "-out", csr, "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1")
    run("ca", "-batch", "-config", cnf, "-cert", ca_crt, "-keyfile", ca_key,
        "-in", csr, "-out", crt, "-startdate", "20200101000000Z",
        "-enddate", "20200201000000Z", "-notext")
    out["expired"] = (crt, key)
    key = os.path.join(directory, "self.key")
    crt = os.path.join(directory, "self.crt")
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=localhost", "-keyout", key, "-out", crt, "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1")
    out["selfsigned"] = (crt, key)
    return out


def temp_certs():
    d = tempfile.mkdtemp(prefix="mw-fake-")
    return d, make_test_certs(d)


def main():
    """Serve from the command line (used inside network namespaces):
    fakesmtp.py --port N --cert C --key K [--implicit] [--no-starttls]
    [--silent] [--host ADDR]."""
    import argparse
    import signal
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--implicit", action="store_true")
    ap.add_argument("--no-starttls", action="store_true")
    ap.add_argument("--silent", action="store_true")
    ap.add_argument("--host", default="127.0.0.1")
    args = ap.parse_args()
    f = FakeSMTP(cert=args.cert, key=args.key, implicit_tls=args.implicit,
                 starttls=not (args.no_starttls or args.implicit),
                 silent=args.silent)
    f.start(args.port, args.host)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    print("ready", flush=True)
    done.wait()
    f.stop()


if __name__ == "__main__":
    main()

"""The server side of the SASL mechanisms that authenticate the server too,
for the misbehaving SMTP server (fakesmtp.FakeSMTP(sasl_server=...)).

SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677) and DIGEST-MD5
(RFC 2831) are computed for real from the account's password: the client's
proof is checked (a wrong password gets 535), and the server's own proof
(SCRAM's v=, DIGEST-MD5's rspauth) is the real one unless a fault says
otherwise.  The faults are what an impostor who does not know the password
can do, plus a wrong proof:

  "none"       the correct exchange: the proof as a last 334, the client's
               empty answer, then 235 (RFC 4954)
  "missing"    235 right after the client's last message, no proof at all
  "empty"      an empty final 334 challenge, then 235
  "no_proof"   a final 334 without the proof (SCRAM: no v=, DIGEST-MD5:
               no rspauth), then 235
  "wrong"      a final 334 whose proof does not match, then 235

Every exchange is recorded in the session (sess.lines gets each line the
client sent; self.transcripts the decoded messages, for the tests).
"""

import base64
import binascii
import hashlib
import hmac
import os

SCRAM_HASHES = {"SCRAM-SHA-1": "sha1", "SCRAM-SHA-256": "sha256"}
FAULTS = ("none", "missing", "empty", "no_proof", "wrong")


def _b64(raw):
    return base64.b64encode(raw).decode("ascii")


def _unb64(text):
    if text in ("", "="):
        return b""
    return base64.b64decode(text, validate=True)


class SaslServer:
    """One account and one fault, for every connection of a FakeSMTP."""

    mechanisms = ("SCRAM-SHA-1", "SCRAM-SHA-256", "DIGEST-MD5")

    def __init__(self, user, password, fault="none", iterations=4096):
        if fault not in FAULTS:
            raise ValueError("unknown fault %r" % fault)
        self.user = user
        self.password = password
        self.fault = fault
        self.iterations = iterations
        self.transcripts = []   # per exchange: list of (who, raw bytes)
        self.verdicts = []      # per exchange: "client ok", "client bad"...

    # -- the line dialogue -------------------------------------------------
    def exchange(self, io, sess, mech, initial):
        """Plays AUTH mech (initial: the initial response or None)."""
        log = []
        self.transcripts.append(log)
        self._io, self._sess, self._log = io, sess, log
        try:
            if mech.startswith("SCRAM-"):
                self._scram(mech, initial)
            else:
                self._digest(initial)
        except _Hangup:
            pass

    def _send(self, text):
        self._io.send_line(text)

    def _challenge(self, raw):
        """A 334 with raw (bytes) and the client's answer, decoded; None
        after a cancel ("*", answered with 501)."""
        self._log.append(("server", raw))
        self._send("334 " + _b64(raw) if raw else "334 ")
        line = self._io.read_line()
        if line is None:
            raise _Hangup()
        text = line.decode("latin-1")
        self._sess.lines.append(text)
        if text == "*":
            self._log.append(("client", b"*"))
            self._send("501 5.7.0 Authentication cancelled")
            return None
        try:
            raw = _unb64(text)
        except (binascii.Error, ValueError):
            self._send("501 5.5.2 Cannot decode response")
            return None
        self._log.append(("client", raw))
        return raw

    def _final(self, proof_message, no_proof_message):
        """The last round, as the fault says; the proof_message is the
        correct final message (bytes)."""
        fault = self.fault
        if fault == "missing":
            self._send("235 2.7.0 Authentication successful")
            return
        if fault == "empty":
            final = b""
        elif fault == "no_proof":
            final = no_proof_message
        else:
            final = proof_message  # "none"; "wrong" was made wrong already
        answer = self._challenge(final)
        if answer is None:
            return
        self._send("235 2.7.0 Authentication successful")

    # -- SCRAM (RFC 5802) ---------------------------------------------------
    def _scram(self, mech, initial):
        name = SCRAM_HASHES[mech]
        if initial is None:
            first = self._challenge(b"")
            if first is None:
                return
        else:
            first = _unb64(initial)
            self._log.append(("client", first))
        # gs2-header: "n," or "y," then "a=authzid" or nothing, then ","
        parts = first.split(b",", 2)
        if len(parts) != 3 or parts[0] not in (b"n", b"y"):
            self._send("501 5.5.2 bad SCRAM client-first message")
            return
        gs2_header = parts[0] + b"," + parts[1] + b","
        bare = parts[2]
        attrs = dict(a.split(b"=", 1) for a in bare.split(b",") if b"=" in a)
        cnonce = attrs.get(b"r", b"")
        user = attrs.get(b"n", b"").decode("utf-8")
        salt = os.urandom(16)
        nonce = cnonce + _b64(os.urandom(18)).encode()
        server_first = b"r=%s,s=%s,i=%d" % (nonce, _b64(salt).encode(),
                                            self.iterations)
        final = self._challenge(server_first)
        if final is None:
            return
        if b",p=" not in final:
            self._send("501 5.5.2 bad SCRAM client-final message")
            return
        without_proof, proof_b64 = final.rsplit(b",p=", 1)
        fattrs = dict(a.split(b"=", 1) for a in without_proof.split(b",")
                      if b"=" in a)
        auth_message = bare + b"," + server_first + b"," + without_proof
        salted = hashlib.pbkdf2_hmac(name, self.password.encode("utf-8"),
                                     salt, self.iterations)
        client_key = hmac.new(salted, b"Client Key", name).digest()
        stored_key = hashlib.new(name, client_key).digest()
        client_sig = hmac.new(stored_key, auth_message, name).digest()
        try:
            proof = base64.b64decode(proof_b64, validate=True)
        except (binascii.Error, ValueError):
            proof = b""
        recovered = bytes(a ^ b for a, b in zip(proof, client_sig))
        ok = (user == self.user and fattrs.get(b"r") == nonce and
              fattrs.get(b"c") == base64.b64encode(gs2_header) and
              len(proof) == len(client_sig) and
              hmac.compare_digest(hashlib.new(name, recovered).digest(),
                                  stored_key))
        self.verdicts.append("client ok" if ok else "client bad")
        if not ok:
            self._send("535 5.7.8 Error: authentication failed")
            return
        server_key = hmac.new(salted, b"Server Key", name).digest()
        signature = hmac.new(server_key, auth_message, name).digest()
        if self.fault == "wrong":
            signature = bytes([signature[0] ^ 0x01]) + signature[1:]
        self._final(b"v=" + base64.b64encode(signature),
                    b"x=the server proves nothing here")

    # -- DIGEST-MD5 (RFC 2831) ----------------------------------------------
    def _digest(self, initial):
        if initial is not None:
            self._send("501 5.5.2 DIGEST-MD5 has no initial response")
            return
        nonce = _b64(os.urandom(18)).encode()
        challenge = (b'realm="fake.test",nonce="%s",qop="auth",'
                     b'charset=utf-8,algorithm=md5-sess' % nonce)
        response = self._challenge(challenge)
        if response is None:
            return
        d = _parse_digest(response)
        realm = d.get("realm", b"")
        cnonce = d.get("cnonce", b"")
        nc = d.get("nc", b"")
        qop = d.get("qop", b"auth")
        uri = d.get("digest-uri", b"")
        authzid = d.get("authzid")

        def value(a2):
            a1 = hashlib.md5(b"%s:%s:%s" % (
                d.get("username", b""), realm,
                self.password.encode("utf-8"))).digest()
            a1 += b":" + nonce + b":" + cnonce
            if authzid is not None:
                a1 += b":" + authzid
            ha1 = hashlib.md5(a1).hexdigest().encode()
            ha2 = hashlib.md5(a2).hexdigest().encode()
            return hashlib.md5(b":".join(
                [ha1, nonce, nc, cnonce, qop, ha2])).hexdigest().encode()

        ok = (d.get("username", b"").decode("utf-8") == self.user and
              d.get("nonce") == nonce and
              hmac.compare_digest(d.get("response", b""),
                                  value(b"AUTHENTICATE:" + uri)))
        self.verdicts.append("client ok" if ok else "client bad")
        if not ok:
            self._send("535 5.7.8 Error: authentication failed")
            return
        rspauth = value(b":" + uri)
        if self.fault == "wrong":
            rspauth = b"0" * len(rspauth) if rspauth[:1] != b"0" \
                else b"1" * len(rspauth)
        self._final(b"rspauth=" + rspauth, b'qop="auth"')


class _Hangup(Exception):
    pass


def _parse_digest(raw):
    """key=value or key="quoted value" pairs, comma separated (RFC 2831
    section 7.1); keys lower-cased, values as bytes."""
    out = {}
    i, n = 0, len(raw)
    while i < n:
        while i < n and raw[i:i + 1] in (b" ", b",", b"\t"):
            i += 1
        eq = raw.find(b"=", i)
        if eq < 0:
            break
        key = raw[i:eq].strip().lower().decode("latin-1")
        i = eq + 1
        if raw[i:i + 1] == b'"':
            i += 1
            val = b""
            while i < n and raw[i:i + 1] != b'"':
                if raw[i:i + 1] == b"\\" and i + 1 < n:
                    i += 1
                val += raw[i:i + 1]
                i += 1
            i += 1
        else:
            end = raw.find(b",", i)
            end = n if end < 0 else end
            val = raw[i:end].strip()
            i = end
        out[key] = val
    return out

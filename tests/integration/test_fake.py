"""mailwire send against the scriptable misbehaving server (fakesmtp.py):
the faults real servers will not play.  Each test states the attack or
fault, the safe behaviour, and checks the exit code and what reached the
wire."""

import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import fakesmtp  # noqa: E402
import mwtest  # noqa: E402

CERT_DIR = None
CA = CERT = KEY = None
BAD = {}


def setUpModule():
    global CERT_DIR, CA, CERT, KEY, BAD
    CERT_DIR, (CA, CERT, KEY) = fakesmtp.temp_certs()
    BAD = fakesmtp.make_bad_certs(CERT_DIR, CA,
                                  os.path.join(CERT_DIR, "fake-ca.key"))


def tearDownModule():
    shutil.rmtree(CERT_DIR, ignore_errors=True)


PASSWORD = "Fake-pw-7731"


def send_args(port, *extra, ca=True):
    args = ["send", "--server", "127.0.0.1:%d" % port, "--from",
            "alice@example.org", "--to", "bob@example.org", "--subject",
            "test", "--body", "hello\n"]
    if ca:
        args += ["--tls-ca-file", CA]
    return args + list(extra)


def server(**kw):
    return fakesmtp.FakeSMTP(cert=CERT, key=KEY, **kw)


class StartTLS(unittest.TestCase):
    def test_injected_bytes_after_starttls_stop_the_session(self):
        """Attack: response injection: replies appended to the 220 to STARTTLS in
        the same packet.  Safe: MW_E_INJECTION, exit 76, no AUTH and
        no MAIL.  Why: bytes read before the handshake would be
        trusted as post-TLS replies (CVE-2021-22947 family)."""
        # Attack: a man in the middle appends a reply to the 220, hoping
        # the client reads it as the server's first post-TLS answer.
        with server(auth="PLAIN",
                    inject_after_starttls=b"250-evil\r\n250 AUTH PLAIN\r\n") as f:
            code, doc, err, _ = mwtest.run_json(
                send_args(f.port, "--user", "u", "--password-env", "PW"),
                env={"PW": PASSWORD})
        self.assertEqual(code, 76)
        self.assertEqual(doc["error"]["status"], "MW_E_INJECTION")
        lines = f.sessions[0].lines
        self.assertFalse(any(l.startswith("AUTH") for l in lines), lines)
        self.assertFalse(any(l.startswith("MAIL") for l in lines), lines)

    def test_starttls_not_offered_fails_before_credentials(self):
        """Attack: STARTTLS stripped from the EHLO reply.  Safe: with the default
        mode the session stops before AUTH or MAIL, exit 78.  Why:
        required TLS must not be silently downgraded."""
        with server(starttls=False, auth="PLAIN LOGIN") as f:
            code, doc, err, _ = mwtest.run_json(
                send_args(f.port, "--user", "u", "--password-env", "PW"),
                env={"PW": PASSWORD})
        self.assertEqual(code, 78)
        self.assertEqual(doc["error"]["status"], "MW_E_NO_STARTTLS")
        self.assertEqual(f.sessions[0].lines[0].split()[0], "EHLO")
        self.assertFalse(any(l.startswith(("AUTH", "MAIL"))
                             for l in f.sessions[0].lines))

    def test_starttls_refused_with_454(self):
        """Attack: STARTTLS answered with 454.  Safe: stop, nothing sent, exit
        78.  Why: as for stripping."""
        with server(starttls_reply="454 4.7.0 TLS not available") as f:
            code, doc, _, _ = mwtest.run_json(send_args(f.port))
        self.assertEqual(code, 78)
        self.assertEqual(doc["error"]["status"], "MW_E_NO_STARTTLS")
        self.assertEqual(doc["error"]["reply_code"], 454)
        self.assertFalse(any(l.startswith("MAIL") for l in f.sessions[0].lines))

    def test_starttls_optional_continues_in_clear_when_not_offered(self):
        """Fault: no STARTTLS, and the user explicitly chose starttls-optional.
        Safe: the message goes in clear only because the user asked.
        Why: the downgrade is opt-in, never the default."""
        with server(starttls=False) as f:
            code, doc, _, _ = mwtest.run_json(
                send_args(f.port, "--tls", "starttls-optional"))
        self.assertEqual(code, 0, doc)
        self.assertIsNone(doc["server"]["tls"])

    def test_password_refused_over_plaintext(self):
        """Attack: a plaintext server offering AUTH PLAIN.  Safe: MW_E_INSECURE
        before any AUTH line, exit 78.  Why: the password would cross
        the network in clear."""
        with server(starttls=False, auth="PLAIN") as f:
            code, doc, _, _ = mwtest.run_json(
                send_args(f.port, "--tls", "none", "--user", "u",
                          "--password-env", "PW"), env={"PW": PASSWORD})
        self.assertEqual(code, 78)
        self.assertEqual(doc["error"]["status"], "MW_E_INSECURE")
        self.assertFalse(any(l.startswith("AUTH") for l in f.sessions[0].lines))


    def test_capabilities_are_forgotten_after_tls(self):
        """Attack: AUTH advertised only before TLS.  Safe: the post-TLS list
        rules, so no AUTH and exit 77.  Why: pre-TLS capabilities may
        have been forged (RFC 3207 4.2)."""
        # AUTH advertised only before TLS (stripping attempt, or a server
        # bug): the client must use the post-TLS list, so no AUTH.
        with server(auth="PLAIN", auth_before_tls_only=True) as f:
            code, doc, _, _ = mwtest.run_json(
                send_args(f.port, "--user", "u", "--password-env", "PW"),
                env={"PW": PASSWORD})
        self.assertEqual(code, 77)
        self.assertEqual(doc["error"]["status"], "MW_E_AUTH_UNAVAILABLE")
        self.assertFalse(any(l.startswith("AUTH") for l in f.sessions[0].lines))


class Certificates(unittest.TestCase):
    def test_untrusted_by_default(self):
        """Attack: a certificate from an unknown CA (interception).  Safe:
        refused before any command, exit 78.  Why: verification is on
        by default."""
        with server() as f:
            code, doc, _, _ = mwtest.run_json(send_args(f.port, ca=False))
        self.assertEqual(code, 78)
        self.assertEqual(doc["error"]["status"], "MW_E_CERT")
        self.assertEqual(doc["error"]["category"], "certificate")
        self.assertFalse(any(l.startswith("MAIL") for l in f.sessions[0].lines))

    def test_pinned_fingerprint_accepts_exactly_that_certificate(self):
        """Attack: a different certificate than the pinned one.  Safe: the pinned
        one is accepted without a CA, any other refused, exit 78.
        Why: pinning is exact."""
        import subprocess
        fp = subprocess.run(["openssl", "x509", "-in", CERT, "-noout",
                             "-fingerprint", "-sha256"], capture_output=True,
                            text=True, check=True).stdout.split("=", 1)[1]
        with server() as f:
            code, doc, _, _ = mwtest.run_json(
                send_args(f.port, "--tls-fingerprint", fp.strip(), ca=False))
            self.assertEqual(code, 0, doc)
            wrong = "00" * 32
            code, doc, _, _ = mwtest.run_json(
                send_args(f.port, "--tls-fingerprint", wrong, ca=False))
            self.assertEqual(code, 78)
            self.assertIn("does not match", doc["error"]["message"])

    def test_wrong_host_name_refused(self):
        """Attack: a valid certificate for another name.  Safe: refused, exit 78.
        Why: a certificate proves a name, not just a CA."""
        with server() as f:
            code, doc, _, _ = mwtest.run_json(
                send_args(f.port, "--tls-server-name", "mail.other.example"))
        self.assertEqual(code, 78)
        self.assertIn("mismatch", doc["error"]["message"])

    def test_insecure_is_explicit_and_loud(self):
        """Fault: the user disabled verification.  Safe: it works but the trace
        says so loudly.  Why: insecure must never be quiet."""
        with server() as f:
            code, _, err, _ = mwtest.run(
                send_args(f.port, "--insecure", "--trace", ca=False))
        self.assertEqual(code, 0, err)
        self.assertIn("NOT be verified", err)


class TlsPolicy(unittest.TestCase):
    def test_minimum_version_downgrades_loudly_unless_strict(self):
        with server(tls_max="1.2") as f:
            code, out, err, _ = mwtest.run(
                send_args(f.port, "--tls-min", "1.3", "--trace", "--json"))
            self.assertEqual(code, 0, err)
            self.assertIn('"version":"TLSv1.2"', out)
            self.assertIn("retrying with TLS 1.2 allowed", err)
            code, doc, err, _ = mwtest.run_json(
                send_args(f.port, "--tls-min", "1.3", "--tls-strict"))
            self.assertEqual(code, 78)
            self.assertEqual(doc["error"]["status"], "MW_E_TLS")
            self.assertIn("TLS version", doc["error"]["message"])
            self.assertEqual(len([s for s in f.sessions
                                  if any(l.startswith("MAIL")
                                         for l in s.lines)]), 1)

    def test_cipher_list(self):
        with server() as f:
            code, doc, err, _ = mwtest.run_json(
                send_args(f.port, "--tls-max", "1.2", "--tls-ciphers",
                          "ECDHE-RSA-AES128-GCM-SHA256"))
            self.assertEqual(code, 0, err)
            self.assertEqual(doc["server"]["tls"]["cipher"],
                             "ECDHE-RSA-AES128-GCM-SHA256")
            code, doc, err, _ = mwtest.run_json(
                send_args(f.port, "--tls-ciphers", "TLS_CHACHA20_POLY1305_SHA256"))
            self.assertEqual(code, 0, err)
            self.assertEqual(doc["server"]["tls"]["cipher"],
                             "TLS_CHACHA20_POLY1305_SHA256")
        code, _, err, _ = mwtest.run(send_args(1, "--tls-ciphers", "NOPE-NOPE"))
        self.assertEqual(code, 64)
        self.assertIn("--tls-ciphers", err)


class Modes(unittest.TestCase):
    def test_silent_server_hits_greeting_timeout_with_hint(self):
        with server(silent=True) as f:
            code, doc, _, secs = mwtest.run_json(
                send_args(f.port, "--greeting-timeout", "1s"))
        self.assertEqual(code, 75)
        self.assertEqual(doc["error"]["status"], "MW_E_TIMEOUT")
        self.assertIn("implicit TLS", doc["error"]["message"])
        self.assertLess(secs, mwtest.bound(5))

    def test_implicit_tls_against_plaintext_port_names_the_mismatch(self):
        with server() as f:
            code, doc, _, secs = mwtest.run_json(
                send_args(f.port, "--tls", "implicit"))
        self.assertEqual(code, 78)
        self.assertEqual(doc["error"]["status"], "MW_E_TLS")
        self.assertIn("plaintext", doc["error"]["message"])

    def test_implicit_tls_server(self):
        with server(implicit_tls=True, starttls=False) as f:
            code, doc, _, _ = mwtest.run_json(
                send_args(f.port, "--tls", "implicit"))
        self.assertEqual(code, 0, doc)
        self.assertIsNotNone(doc["server"]["tls"])

    def test_greeting_554_and_421(self):
        with server(greeting="554 5.7.1 you are blocked") as f:
            code, doc, _, _ = mwtest.run_json(send_args(f.port))
        self.assertEqual(code, 69)
        self.assertEqual(doc["error"]["reply_code"], 554)
        with server(greeting="421 4.3.2 try later") as f:
            code, doc, _, _ = mwtest.run_json(send_args(f.port))
        self.assertEqual(code, 75)
        self.assertTrue(doc["error"]["temporary"])


class Replies(unittest.TestCase):
    def test_malformed_ehlo_reply(self):
        """Attack: a multi-line reply whose codes disagree.  Safe: protocol
        error, exit 76.  Why: ambiguous replies are refused, not
        guessed."""
        with server(raw_ehlo_reply=b"250-ok\r\n550 codes disagree\r\n") as f:
            code, doc, _, _ = mwtest.run_json(send_args(f.port))
        self.assertEqual(code, 76)
        self.assertEqual(doc["error"]["status"], "MW_E_PROTOCOL")

    def test_megabyte_line_is_refused_quickly(self):
        """Attack: a one-megabyte reply line.  Safe: protocol error at the line
        cap, bounded memory, exit 76.  Why: memory exhaustion."""
        with server(raw_ehlo_reply=b"250 " + b"x" * (1 << 20) + b"\r\n") as f:
            code, doc, _, secs = mwtest.run_json(send_args(f.port))
        self.assertEqual(code, 76)
        self.assertIn("longer than", doc["error"]["message"])

    def test_nul_in_reply(self):
        """Attack: a NUL byte in a reply.  Safe: protocol error, exit 76.  Why:
        NUL truncates C strings and hides what follows."""
        with server(raw_ehlo_reply=b"250 ok\x00evil\r\n") as f:
            code, doc, _, _ = mwtest.run_json(send_args(f.port))
        self.assertEqual(code, 76)

    def test_every_recipient_refused_sends_no_data(self):
        """Fault: every RCPT refused.  Safe: no message data sent, exit 67.  Why:
        nothing to deliver."""
        with server(rcpt_replies={"bob@example.org": "550 5.1.1 no such user"}) as f:
            code, doc, _, _ = mwtest.run_json(send_args(f.port))
        self.assertEqual(code, 67)
        self.assertEqual(doc["error"]["status"], "MW_E_RECIPIENTS")
        self.assertEqual(doc["recipients"][0]["code"], 550)
        self.assertEqual(f.sessions[0].data, [])

    def test_server_opening_data_without_recipients(self):
        """Fault: a lax server answers 354 although every RCPT failed.  Safe: the
        data is ended empty, nothing of the message is sent, exit 67.
        Why: keeps the session in step without leaking the message."""
        # A lax server answers 354 to the pipelined DATA although every
        # RCPT failed: the client ends the data empty, sends nothing of the
        # message, and reports the refusals.
        with server(rcpt_replies={"bob@example.org": "550 5.1.1 unknown"},
                    data_despite_no_rcpt=True,
                    final_reply="554 5.5.1 no valid recipients") as f:
            code, doc, _, _ = mwtest.run_json(send_args(f.port))
        self.assertEqual(code, 67)
        self.assertEqual(f.sessions[0].data, [b""])

    def test_every_recipient_refused_without_pipelining(self):
        with server(rcpt_replies={"bob@example.org": "450 4.2.0 greylisted"},
                    capabilities=("8BITMIME",)) as f:
            code, doc, _, _ = mwtest.run_json(send_args(f.port))
        self.assertEqual(code, 75)
        self.assertFalse(any(l == "DATA" for l in f.sessions[0].lines))

    def test_sender_refused(self):
        with server(mail_reply="553 5.7.1 sender not owned") as f:
            code, doc, _, _ = mwtest.run_json(send_args(f.port))
        self.assertEqual(code, 69)
        self.assertEqual(doc["error"]["reply_code"], 553)
        self.assertEqual(f.sessions[0].data, [])
        with server(mail_reply="451 4.3.0 try later") as f:
            code, doc, _, _ = mwtest.run_json(send_args(f.port,
                                                        "--no-pipelining"))
        self.assertEqual(code, 75)

    def test_final_reply_refusal(self):
        with server(final_reply="554 5.7.1 spam") as f:
            code, doc, _, _ = mwtest.run_json(send_args(f.port))
        self.assertEqual(code, 69)
        self.assertEqual(doc["message"]["delivery"], "refused")
        with server(final_reply="452 4.3.1 queue full") as f:
            code, doc, _, _ = mwtest.run_json(send_args(f.port))
        self.assertEqual(code, 75)

    def test_connection_lost_after_dot_is_delivery_unknown(self):
        """Fault: the connection drops after the final dot.  Safe: delivery
        unknown, exit 75, never success nor plain failure.  Why: the
        server may have queued it; the caller must check before
        resending."""
        with server(drop_after_dot=True) as f:
            code, doc, err, _ = mwtest.run_json(send_args(f.port))
        self.assertEqual(code, 75)
        self.assertEqual(doc["status"], "unknown")
        self.assertEqual(doc["message"]["delivery"], "unknown")
        self.assertEqual(doc["error"]["status"], "MW_E_DELIVERY_UNKNOWN")
        self.assertEqual(len(f.sessions[0].data), 1)

    def test_auth_failures(self):
        for reply, code_expected in (("535 5.7.8 bad credentials", 77),
                                     ("534 5.7.9 app password required", 77),
                                     ("454 4.7.0 temporary failure", 75)):
            with server(auth="PLAIN", auth_reply=reply) as f:
                code, doc, _, _ = mwtest.run_json(
                    send_args(f.port, "--user", "u", "--password-env", "PW"),
                    env={"PW": PASSWORD})
            self.assertEqual(code, code_expected, reply)
            self.assertEqual(doc["error"]["category"], "auth")
            self.assertFalse(any(l.startswith("MAIL")
                                 for l in f.sessions[0].lines))

    def test_no_common_mechanism(self):
        with server(auth="PLAIN LOGIN") as f:
            code, doc, _, _ = mwtest.run_json(
                send_args(f.port, "--user", "u", "--password-env", "PW",
                          "--auth", "SCRAM-SHA-256"), env={"PW": PASSWORD})
        self.assertEqual(code, 77)
        self.assertEqual(doc["error"]["status"], "MW_E_AUTH_UNAVAILABLE")
        self.assertFalse(any(l.startswith("AUTH") for l in f.sessions[0].lines))


class Data(unittest.TestCase):
    def test_wire_form_is_crlf_and_dot_stuffed(self):
        """Attack: bare LF, bare CR and lone dots around line ends (SMTP
        smuggling).  Safe: every line ending is CRLF and every leading
        dot doubled, so no early end-of-data reaches the wire.  Why:
        smuggling needs a bare CR or LF next to a dot."""
        import tempfile
        raw = (b"From: a@example.org\nTo: b@example.org\nSubject: x\n\n"
               b".leading dot\nbare lf\rbare cr\r\n..two dots\n.\nend")
        with tempfile.NamedTemporaryFile(delete=False) as tf:
            tf.write(raw)
        try:
            with server() as f:
                code, doc, _, _ = mwtest.run_json(
                    ["send", "--server", "127.0.0.1:%d" % f.port,
                     "--tls-ca-file", CA, "--from", "a@example.org", "--to",
                     "b@example.org", "--message", tf.name])
        finally:
            os.unlink(tf.name)
        self.assertEqual(code, 0, doc)
        wire = f.sessions[0].data[0]
        self.assertEqual(wire,
                         b"From: a@example.org\r\nTo: b@example.org\r\n"
                         b"Subject: x\r\n\r\n..leading dot\r\nbare lf\r\n"
                         b"bare cr\r\n...two dots\r\n..\r\nend\r\n")

    def test_message_from_stdin(self):
        raw = b"Subject: stdin\r\n\r\nbody\r\n"
        with server() as f:
            code, doc, _, _ = mwtest.run_json(
                ["send", "--server", "127.0.0.1:%d" % f.port, "--tls-ca-file",
                 CA, "--from", "a@example.org", "--to", "b@example.org",
                 "--message", "-"], input=raw)
        self.assertEqual(code, 0, doc)
        self.assertEqual(f.sessions[0].data[0], raw)

    def test_header_injection_refused_before_connecting(self):
        """Attack: CR/LF in --subject, --header or --from to add headers or
        commands.  Safe: refused before connecting, exit 65.  Why:
        header and command injection."""
        with server() as f:
            code, out, err, _ = mwtest.run(
                send_args(f.port, "--subject", "hi\r\nBcc: evil@example.org"))
            code2, _, err2, _ = mwtest.run(
                send_args(f.port, "--header", "X-A: 1\nBcc: evil@example.org"))
            code3, _, err3, _ = mwtest.run(
                ["send", "--server", "127.0.0.1:%d" % f.port, "--from",
                 "a@example.org\r\nRCPT TO:<evil@example.org>", "--to",
                 "b@example.org"])
        self.assertEqual((code, code2, code3), (65, 65, 65), err + err2 + err3)
        self.assertIn("line break", err)
        self.assertEqual(f.sessions, [])

    def test_smtputf8_needed_but_not_offered(self):
        with server(capabilities=("PIPELINING", "8BITMIME")) as f:
            code, doc, _, _ = mwtest.run_json(
                ["send", "--server", "127.0.0.1:%d" % f.port, "--tls-ca-file",
                 CA, "--from", "alice@example.org", "--to",
                 "j\u00f6rg@example.org", "--body", "x"])
        self.assertEqual(code, 80)  # MW_E_EXTENSION since issue 12
        self.assertEqual(doc["error"]["status"], "MW_E_EXTENSION")
        self.assertIn("SMTPUTF8", doc["error"]["message"])
        self.assertFalse(any(l.startswith("MAIL") for l in f.sessions[0].lines))

    def test_smtputf8_used_when_offered(self):
        with server() as f:
            code, doc, _, _ = mwtest.run_json(
                ["send", "--server", "127.0.0.1:%d" % f.port, "--tls-ca-file",
                 CA, "--from", "alice@example.org", "--to",
                 "j\u00f6rg@example.org", "--body", "x"])
        self.assertEqual(code, 0, doc)
        mail = [l for l in f.sessions[0].lines if l.startswith("MAIL")][0]
        self.assertIn("SMTPUTF8", mail)

    def test_message_over_size_limit_not_sent(self):
        with server(capabilities=("PIPELINING", "SIZE 100")) as f:
            code, doc, _, _ = mwtest.run_json(
                send_args(f.port, "--body", "x" * 500))
        self.assertEqual(code, 65)
        self.assertIn("SIZE", doc["error"]["message"])
        self.assertFalse(any(l.startswith("MAIL") for l in f.sessions[0].lines))


class Commands(unittest.TestCase):
    def test_helo_fallback_when_ehlo_is_refused(self):
        with server(ehlo_reply="502 5.5.1 EHLO not implemented") as f:
            code, doc, _, _ = mwtest.run_json(send_args(f.port, "--tls", "none"))
        self.assertEqual(code, 0, doc)
        verbs = [l.split(" ")[0] for l in f.sessions[0].lines]
        self.assertEqual(verbs[:3], ["EHLO", "HELO", "MAIL"])
        with server(ehlo_reply="502 5.5.1 EHLO not implemented") as f:
            code, doc, _, _ = mwtest.run_json(send_args(f.port))
        self.assertEqual(code, 78)  # no ESMTP, so no STARTTLS
        self.assertEqual(doc["error"]["status"], "MW_E_NO_STARTTLS")

    def test_pipelining_sends_the_envelope_in_one_write(self):
        with server() as f:
            code, doc, _, _ = mwtest.run_json(
                send_args(f.port, "--to", "carol@example.org"))
        self.assertEqual(code, 0, doc)
        batch = [c for c in f.sessions[0].chunks if b"MAIL FROM" in c]
        self.assertEqual(len(batch), 1)
        self.assertIn(b"RCPT TO:<bob@example.org>", batch[0])
        self.assertIn(b"RCPT TO:<carol@example.org>", batch[0])
        self.assertTrue(batch[0].endswith(b"DATA\r\n"), batch[0])

    def test_no_pipelining_when_not_offered(self):
        with server(capabilities=("8BITMIME",)) as f:
            code, doc, _, _ = mwtest.run_json(send_args(f.port))
        self.assertEqual(code, 0, doc)
        batch = [c for c in f.sessions[0].chunks if b"MAIL FROM" in c]
        self.assertNotIn(b"RCPT", batch[0])

    def test_oauth2_token_from_command(self):
        """Attack: the OAuth token leaking into output.  Safe: sent in the SASL
        exchange, absent from trace and JSON.  Why: a bearer token is
        a password."""
        token = "ya29.Fake-Token-For-Tests"
        for mech in ("XOAUTH2", "OAUTHBEARER"):
            with server(auth=mech) as f:
                code, out, err, _ = mwtest.run(
                    send_args(f.port, "--user", "u@example.org",
                              "--oauth2-token-cmd", "echo " + token,
                              "--trace", "--json"))
            self.assertEqual(code, 0, err)
            self.assertNotIn(token, out + err)
            auth = [l for l in f.sessions[0].lines if l.startswith("AUTH")][0]
            import base64
            raw = base64.b64decode(auth.split(" ")[2])
            self.assertIn(b"auth=Bearer " + token.encode(), raw)


class Hostile(unittest.TestCase):
    """Each test: the attack or fault, the safe behaviour, and why."""

    def test_expired_certificate(self):
        """Attack: a certificate past its notAfter (stolen old key, or a
        neglected server).  Safe: refused before any command, exit 78.
        Why: an expired certificate's key may be compromised."""
        crt, key = BAD["expired"]
        with fakesmtp.FakeSMTP(cert=crt, key=key) as f:
            code, doc, _, _ = mwtest.run_json(send_args(f.port))
        self.assertEqual(code, 78)
        self.assertIn("expired", doc["error"]["message"])
        self.assertFalse(any(l.startswith("MAIL") for l in f.sessions[0].lines))

    def test_self_signed_certificate(self):
        """Attack: a man in the middle presents a self-signed certificate.
        Safe: refused by default, exit 78.  Why: anyone can make one."""
        crt, key = BAD["selfsigned"]
        with fakesmtp.FakeSMTP(cert=crt, key=key) as f:
            code, doc, _, _ = mwtest.run_json(send_args(f.port))
        self.assertEqual(code, 78)
        self.assertIn("self-signed", doc["error"]["message"])

    def test_starttls_answered_with_502(self):
        """Attack: STARTTLS stripped by answering 502.  Safe: with the
        default mode the session stops, nothing sent.  Why: a required TLS
        must never be silently downgraded."""
        with server(starttls_reply="502 5.5.1 command not implemented") as f:
            code, doc, _, _ = mwtest.run_json(send_args(f.port))
        self.assertEqual(code, 78)
        self.assertEqual(doc["error"]["status"], "MW_E_NO_STARTTLS")
        self.assertFalse(any(l.startswith("MAIL") for l in f.sessions[0].lines))

    def test_user_has_moved_551_is_reported_not_followed(self):
        """Attack: 551 "user not local; please try <x@elsewhere>" as a
        redirect.  Safe: the recipient is reported refused with the text;
        no other server is contacted.  Why: following referrals lets a
        server send mail (and credentials) anywhere."""
        moved = "551 5.1.6 User has moved; please try <bob@evil.example>"
        with server(rcpt_replies={"bob@example.org": moved}) as f:
            code, doc, _, _ = mwtest.run_json(
                send_args(f.port, "--to", "carol@example.org"))
        self.assertEqual(code, 67)
        rec = {r["address"]: r for r in doc["recipients"]}
        self.assertEqual(rec["bob@example.org"]["code"], 551)
        self.assertIn("evil.example", rec["bob@example.org"]["text"])
        self.assertTrue(rec["carol@example.org"]["accepted"])
        self.assertEqual(len(f.sessions), 1)

    def test_will_forward_251_is_acceptance(self):
        """Fault: 251 "user not local; will forward".  Safe: accepted and
        delivered.  Why: 251 is a success code (RFC 5321 3.4)."""
        with server(rcpt_replies={"bob@example.org":
                                  "251 2.1.5 User not local; will forward"}) as f:
            code, doc, _, _ = mwtest.run_json(send_args(f.port))
        self.assertEqual(code, 0, doc)
        self.assertTrue(doc["recipients"][0]["accepted"])

    def test_continuation_that_never_ends(self):
        """Attack: "250-" lines forever.  Safe: protocol error after a
        bounded number of lines, bounded memory, exit 76.  Why: a client
        that buffers an endless reply can be exhausted."""
        flood = b"250-more\r\n" * 200000
        with server(raw_ehlo_reply=flood) as f:
            code, doc, _, secs = mwtest.run_json(send_args(f.port))
        self.assertEqual(code, 76)
        self.assertIn("too many lines", doc["error"]["message"])

    def test_unsolicited_reply_after_greeting(self):
        """Attack: extra reply lines before the client said anything, to be
        read as answers to commands not yet sent.  Safe: protocol error,
        exit 76.  Why: replies must match commands one to one."""
        with server(greeting="220 fake.test ESMTP\r\n250 2.0.0 unsolicited") as f:
            code, doc, _, _ = mwtest.run_json(send_args(f.port))
        self.assertEqual(code, 76)
        self.assertIn("unsolicited", doc["error"]["message"])

    def test_unsolicited_reply_after_ehlo(self):
        """Attack: a second reply glued to the EHLO reply.  Safe: protocol
        error before STARTTLS.  Why: as above."""
        with server(raw_ehlo_reply=b"250-fake\r\n250 STARTTLS\r\n"
                                   b"220 2.0.0 go ahead\r\n") as f:
            code, doc, _, _ = mwtest.run_json(send_args(f.port))
        self.assertEqual(code, 76)
        self.assertIn("unsolicited", doc["error"]["message"])

    def test_replies_after_quit_are_ignored(self):
        """Fault: garbage after the 221.  Safe: the message already
        delivered stays delivered, exit 0.  Why: nothing after QUIT can
        change the outcome."""
        with server(quit_reply="221 2.0.0 Bye\r\n250 late\r\n\x00junk") as f:
            code, doc, _, _ = mwtest.run_json(send_args(f.port))
        self.assertEqual(code, 0, doc)

    def test_trickling_greeting_cannot_stretch_the_deadline(self):
        """Attack: one byte every 0.3 s.  Safe: the greeting deadline holds
        for the whole reply: timeout after ~1 s, exit 75.  Why: a deadline
        reset on each byte lets a server hold the client forever."""
        with server(trickle=0.3) as f:
            code, doc, _, secs = mwtest.run_json(
                send_args(f.port, "--greeting-timeout", "1s"))
        self.assertEqual(code, 75)
        self.assertEqual(doc["error"]["status"], "MW_E_TIMEOUT")
        self.assertLess(secs, mwtest.bound(4))

    def test_server_stops_mid_reply(self):
        """Fault: the first line of a multi-line EHLO reply, then silence.
        Safe: command timeout, exit 75.  Why: no hang."""
        with server(stall_ehlo=True) as f:
            code, doc, _, secs = mwtest.run_json(
                send_args(f.port, "--timeout", "1s"))
        self.assertEqual(code, 75)
        self.assertEqual(doc["error"]["status"], "MW_E_TIMEOUT")
        self.assertLess(secs, mwtest.bound(5))

    def test_reset_during_data_is_not_sent(self):
        """Fault: the connection is reset while the message is streaming.
        Safe: reported as not sent (exit 75, delivery not_sent), never as
        sent.  Why: the server cannot have accepted an unterminated
        message."""
        import tempfile
        with tempfile.NamedTemporaryFile(delete=False) as tf:
            tf.write(b"Subject: big\r\n\r\n" + (b"x" * 900 + b"\r\n") * 6000)
        try:
            with server(reset_during_data=65536) as f:
                code, doc, _, _ = mwtest.run_json(
                    ["send", "--server", "127.0.0.1:%d" % f.port,
                     "--tls-ca-file", CA, "--from", "a@example.org", "--to",
                     "b@example.org", "--message", tf.name])
        finally:
            os.unlink(tf.name)
        self.assertEqual(code, 75)
        self.assertEqual(doc["status"], "failed")
        self.assertEqual(doc["message"]["delivery"], "not_sent")

    def test_over_long_line_refused(self):
        """Fault: a 2,000-byte line in a message sent as is.  Safe: refused
        before connecting with a clear error naming the file and line,
        exit 65 (the scan stops there: issue 9).  Why: RFC 5321 allows
        998; servers may split or refuse longer lines, silently changing
        the message."""
        import tempfile
        with tempfile.NamedTemporaryFile(delete=False) as tf:
            tf.write(b"Subject: long\r\n\r\n" + b"y" * 2000 + b"\r\n")
        try:
            with server() as f:
                code, _, err, _ = mwtest.run(
                    ["send", "--server", "127.0.0.1:%d" % f.port,
                     "--tls-ca-file", CA, "--from", "a@example.org", "--to",
                     "b@example.org", "--message", tf.name, "--json"])
        finally:
            os.unlink(tf.name)
        self.assertEqual(code, 65)
        self.assertIn("line 3 is longer than 998 bytes", err)
        self.assertEqual(f.sessions, [])

    def test_long_body_line_composed_is_encoded(self):
        """Fault: --body with a 2,000-byte line.  Safe: the composed message
        uses quoted-printable so no wire line exceeds 998.  Why: same rule,
        fixed where mailwire owns the encoding."""
        with server() as f:
            code, doc, _, _ = mwtest.run_json(send_args(f.port, "--body",
                                                        "z" * 2000))
        self.assertEqual(code, 0, doc)
        wire = f.sessions[0].data[0]
        self.assertLessEqual(max(len(l) for l in wire.split(b"\r\n")), 998)


class Secrets(unittest.TestCase):
    def test_password_not_in_the_process_arguments(self):
        """Attack: another local user reads `ps`.  Safe: the password is in
        no process's argument list while mailwire runs.  Why: argv is
        world-readable through /proc."""
        import subprocess
        import time
        with server(silent=True) as f:
            p = subprocess.Popen(
                mwtest.command(mwtest.MAILWIRE, *send_args(
                    f.port, "--user", "u", "--password-env", "PW",
                    "--greeting-timeout", "3s")),
                env={"PW": PASSWORD}, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
            try:
                time.sleep(0.5)
                seen = []
                for pid in os.listdir("/proc"):
                    if not pid.isdigit():
                        continue
                    try:
                        with open("/proc/%s/cmdline" % pid, "rb") as c:
                            seen.append(c.read())
                    except OSError:
                        pass
                self.assertTrue(any(b"mailwire" in c for c in seen))
                self.assertFalse(any(PASSWORD.encode() in c for c in seen))
            finally:
                p.wait(timeout=30)

    def test_password_never_printed(self):
        """Attack: secrets leaking through --trace or --json.  Safe: neither the
        password nor its base64 appears; AUTH lines show <redacted>.
        Why: transcripts get pasted into tickets."""
        with server(auth="PLAIN LOGIN") as f:
            code, out, err, _ = mwtest.run(
                send_args(f.port, "--user", "u", "--password-env", "PW",
                          "--auth", "LOGIN", "--trace", "--json"),
                env={"PW": PASSWORD})
        self.assertEqual(code, 0, err)
        import base64
        for needle in (PASSWORD, base64.b64encode(PASSWORD.encode()).decode()):
            self.assertNotIn(needle, out)
            self.assertNotIn(needle, err)
        self.assertIn("<redacted>", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)

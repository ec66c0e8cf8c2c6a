"""One mailbox per address option (issue 9, item 6).

Attack: an address option that holds more than one mailbox: a list
("--to 'b@x,evil@y'"), group syntax, a stray comma, or two addresses
("--from 'x <a@x> <c@x>'").  The header would show mailboxes the envelope
does not carry (or carry one the header hides).  Safe: refused before
connecting, as a usage error (exit 64) that names the option and what is
wrong with the value; whatever is accepted, the envelope carries exactly
the mailboxes the headers show."""

import email
import email.policy
import email.utils
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import fakesmtp  # noqa: E402
import mwtest  # noqa: E402

CERT_DIR = None
CA = CERT = KEY = None


def setUpModule():
    global CERT_DIR, CA, CERT, KEY
    CERT_DIR, (CA, CERT, KEY) = fakesmtp.temp_certs()


def tearDownModule():
    shutil.rmtree(CERT_DIR, ignore_errors=True)


def send(port, *extra, sender="alice@example.org", to=("bob@example.org",)):
    args = ["send", "--server", "127.0.0.1:%d" % port, "--tls-ca-file", CA,
            "--from", sender, "--subject", "t", "--body", "hi\n"]
    for t in to:
        args += ["--to", t]
    return mwtest.run(args + list(extra))


class SeveralMailboxes(unittest.TestCase):
    def refused(self, option, value, words, **kw):
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY) as f:
            if option == "--from":
                code, out, err, _ = send(f.port, sender=value, **kw)
            elif option == "--to":
                code, out, err, _ = send(f.port, to=(value,), **kw)
            else:
                code, out, err, _ = send(f.port, option, value, **kw)
        self.assertEqual(code, 64, out + err)
        self.assertIn(option + " takes one address", err)
        self.assertIn(value, err)
        for w in words:
            self.assertIn(w, err)
        # Refused before connecting: nothing reached any server.
        self.assertEqual(f.sessions, [])

    def test_list_in_to(self):
        self.refused("--to", "b@x.example,evil@y.example", ["a list"])

    def test_semicolon_list_in_cc(self):
        self.refused("--cc", "b@x.example;evil@y.example", ["a list"])

    def test_stray_comma_in_bcc(self):
        self.refused("--bcc", "b@x.example,", ["a list"])

    def test_two_addresses_in_from(self):
        self.refused("--from", "x <a@x.example> <c@x.example>",
                     ["more than one address", "one sender"])

    def test_address_in_the_display_name(self):
        self.refused("--from", "a@x.example <c@x.example>",
                     ["display name"])

    def test_second_address_after_the_brackets(self):
        self.refused("--to", "x <a@x.example> c@x.example",
                     ["second address"])

    def test_group_syntax(self):
        self.refused("--to", "team: a@x.example, b@y.example;",
                     ["group syntax"])

    def test_unquoted_comma_in_a_display_name(self):
        """"Doe, Jane <j@x>" is two mailboxes to a mail reader; the error
        says to quote the name."""
        self.refused("--to", "Doe, Jane <jane@example.org>",
                     ["quote a display name"])

    def test_doctor_refuses_them_too(self):
        code, out, err, _ = mwtest.run(
            ["doctor", "127.0.0.1:9", "--from", "a@x.example",
             "--to", "b@x.example,evil@y.example"])
        self.assertEqual(code, 64, out + err)
        self.assertIn("--to takes one address", err)


class EnvelopeEqualsHeaders(unittest.TestCase):
    def test_quoted_comma_is_one_mailbox_on_both_sides(self):
        """A display name with a quoted comma is one mailbox: one RCPT,
        and the To field names the same single address."""
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY) as f:
            code, out, err, _ = send(
                f.port, "--cc", "Carol <carol@example.org>", "--bcc",
                "dave@example.org",
                sender="\"Smith, Al\" <al@example.org>",
                to=("\"Doe, Jane\" <jane@example.org>",))
        self.assertEqual(code, 0, err)
        sess = f.sessions[0]
        rcpts = [l[l.index("<") + 1:l.rindex(">")] for l in sess.lines
                 if l.upper().startswith("RCPT")]
        mail = [l for l in sess.lines if l.upper().startswith("MAIL")][0]
        self.assertIn("FROM:<al@example.org>", mail)
        msg = email.message_from_bytes(sess.data[0].replace(b"\r\n..",
                                                            b"\r\n."),
                                       policy=email.policy.compat32)
        shown = [a for _, a in email.utils.getaddresses(
            msg.get_all("To", []) + msg.get_all("Cc", []))]
        self.assertEqual(shown, ["jane@example.org", "carol@example.org"])
        # The envelope: exactly the header's mailboxes, plus the Bcc.
        self.assertEqual(rcpts, shown + ["dave@example.org"])
        senders = email.utils.getaddresses(msg.get_all("From", []))
        self.assertEqual([a for _, a in senders], ["al@example.org"])
        self.assertIsNone(msg["Bcc"])

    def test_a_plain_invalid_address_is_still_a_message_error(self):
        """What is wrong with one address (no '@') stays exit 65, as
        before; only several addresses make a usage error."""
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY) as f:
            code, out, err, _ = send(f.port, to=("nobody",))
        self.assertEqual(code, 65, err)
        self.assertIn("--to: 'nobody' is not a valid address", err)
        self.assertEqual(f.sessions, [])


if __name__ == "__main__":
    unittest.main(verbosity=2)

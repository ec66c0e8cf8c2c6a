"""Composition with GMime (issue 12) against the real Postfix of the rig:
the delivered copy, parsed back with Python's email package, has the parts
that were given, attachments byte-identical (binary content, a non-ASCII
file name in RFC 2231), an HTML alternative with an inline image found by
its Content-ID, and UTF-8 headers decoded as they were typed."""

import email
import email.policy
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import mwtest  # noqa: E402
import rigutil  # noqa: E402

ENV = None
ALICE, BOB = "alice@example.test", "bob@example.test"


def setUpModule():
    global ENV
    path = os.environ.get("MW_RIG_ENV")
    if not path or not os.path.exists(path):
        raise unittest.SkipTest("no rig: MW_RIG_ENV is not set (run through "
                                "ctest, which starts the rig)")
    ENV = rigutil.load_env(path)


def send(*extra):
    return mwtest.run(["send", "--server",
                       "127.0.0.1:%s" % ENV["RIG_PLAIN_PORT"], "--tls",
                       "none", "--from", ALICE, "--to", BOB] + list(extra))


class Compose(unittest.TestCase):
    def setUp(self):
        rigutil.clear_mailbox(ENV, "bob")
        self.dir = tempfile.mkdtemp(prefix="mw-compose-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def file(self, name, data):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def delivered(self):
        raw = rigutil.wait_for_mail(ENV, "bob", timeout=10)[0]
        return raw, email.message_from_bytes(raw, policy=email.policy.default)

    def test_html_inline_image_and_attachments_parse_back(self):
        binary = bytes(range(256)) * 64 + os.urandom(100000) + b"\r\n.\r\n"
        pdf = b"%PDF-1.4\n" + os.urandom(5000) + b"\n%%EOF\n"
        png = b"\x89PNG\r\n\x1a\n" + os.urandom(3000)
        html = ("<html><body><p>Gr\u00fc\u00dfe</p>"
                "<img src=\"cid:logo.png\"></body></html>\n")
        bin_path = self.file("data.bin", binary)
        pdf_path = self.file("Gr\u00fc\u00dfe.pdf", pdf)
        png_path = self.file("logo.png", png)
        html_path = self.file("page.html", html.encode())
        subject = "Gr\u00fc\u00dfe aus K\u00f6ln \u2713"
        code, out, err, _ = send(
            "--subject", subject, "--body", "Hello caf\u00e9\n",
            "--html", html_path, "--inline", png_path, "--attach", bin_path,
            "--attach", pdf_path)
        self.assertEqual(code, 0, err)
        raw, msg = self.delivered()
        self.assertEqual(msg["subject"], subject)
        self.assertIn(b"Subject: =?", raw)  # RFC 2047 on the wire
        self.assertTrue(msg["date"] and msg["message-id"])
        self.assertEqual(msg.get_content_type(), "multipart/mixed")
        parts = list(msg.iter_parts())
        self.assertEqual(len(parts), 3)
        alt = parts[0]
        self.assertEqual(alt.get_content_type(), "multipart/alternative")
        text, related = list(alt.iter_parts())
        self.assertEqual(text.get_content_type(), "text/plain")
        self.assertEqual(text.get_content(), "Hello caf\u00e9\n")
        self.assertEqual(related.get_content_type(), "multipart/related")
        html_part, image = list(related.iter_parts())
        self.assertEqual(html_part.get_content_type(), "text/html")
        self.assertEqual(html_part.get_content(), html)
        self.assertEqual(image.get_content_type(), "image/png")
        self.assertEqual(image["content-id"], "<logo.png>")
        self.assertEqual(image.get_content_disposition(), "inline")
        self.assertEqual(image.get_payload(decode=True), png)
        att_bin, att_pdf = parts[1], parts[2]
        self.assertEqual(att_bin.get_filename(), "data.bin")
        self.assertEqual(att_bin.get_content_disposition(), "attachment")
        self.assertEqual(att_bin.get_payload(decode=True), binary)
        self.assertEqual(att_pdf.get_filename(), "Gr\u00fc\u00dfe.pdf")
        self.assertEqual(att_pdf.get_content_type(), "application/pdf")
        self.assertEqual(att_pdf.get_payload(decode=True), pdf)
        self.assertIn(b"filename*=", raw)  # RFC 2231 for the name

    def test_attach_type_overrides_the_guess(self):
        path = self.file("table.dat", b"a,b\n1,2\n")
        code, _, err, _ = send("--body", "see the table", "--attach", path,
                               "--attach-type", "text/csv")
        self.assertEqual(code, 0, err)
        _, msg = self.delivered()
        att = list(msg.iter_parts())[1]
        self.assertEqual(att.get_content_type(), "text/csv")
        self.assertEqual(att.get_payload(decode=True), b"a,b\n1,2\n")

    def test_mostly_ascii_text_is_quoted_printable(self):
        body = "Plain English text with one caf\u00e9 in it.\n" * 3
        code, _, err, _ = send("--body", body)
        self.assertEqual(code, 0, err)
        raw, msg = self.delivered()
        self.assertIn(b"Content-Transfer-Encoding: quoted-printable", raw)
        self.assertEqual(msg.get_content(), body)

    def test_utf8_display_name_is_encoded_and_decodes(self):
        code, _, err, _ = mwtest.run(
            ["send", "--server", "127.0.0.1:%s" % ENV["RIG_PLAIN_PORT"],
             "--tls", "none", "--from", "J\u00fcrgen M\u00fcller <%s>" % ALICE,
             "--to", "Bj\u00f6rn <%s>" % BOB, "--body", "x"])
        self.assertEqual(code, 0, err)
        raw, msg = self.delivered()
        self.assertNotIn("J\u00fcrgen".encode(), raw)  # not raw UTF-8
        self.assertEqual(msg["from"].addresses[0].display_name,
                         "J\u00fcrgen M\u00fcller")
        self.assertEqual(msg["to"].addresses[0].display_name, "Bj\u00f6rn")

    def test_body_from_standard_input(self):
        code, _, err, _ = mwtest.run(
            ["send", "--server", "127.0.0.1:%s" % ENV["RIG_PLAIN_PORT"],
             "--tls", "none", "--from", ALICE, "--to", BOB,
             "--body-file", "-"], input="from stdin\n".encode())
        self.assertEqual(code, 0, err)
        _, msg = self.delivered()
        self.assertEqual(msg.get_content(), "from stdin\n")

    def test_empty_body_is_a_warning_not_silence(self):
        code, _, err, _ = send("--subject", "empty")
        self.assertEqual(code, 0, err)
        self.assertIn("warning: the message body is empty", err)
        self.delivered()


class ComposeRefusals(unittest.TestCase):
    """Refused before any connection: nothing reaches the server."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mw-compose-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_send(self, *extra):
        # A port nobody listens on: a refusal must come before connecting.
        return mwtest.run(["send", "--server", "127.0.0.1:9", "--tls",
                           "none", "--from", ALICE, "--to", BOB] +
                          list(extra))

    def test_attachment_name_with_a_line_break_is_refused(self):
        """Attack: a file name carrying "\\nBcc: ..." as a header line.
        Safe: refused (65) before GMime sees it."""
        path = os.path.join(self.dir, "a\nBcc: evil@example.test")
        with open(path, "wb") as f:
            f.write(b"x")
        code, _, err, _ = self.run_send("--body", "x", "--attach", path)
        self.assertEqual(code, 65, err)
        self.assertIn("line break", err)

    def test_missing_attachment_is_66(self):
        code, _, err, _ = self.run_send(
            "--body", "x", "--attach", os.path.join(self.dir, "none.pdf"))
        self.assertEqual(code, 66, err)
        self.assertIn("--attach", err)

    def test_inline_without_html_is_a_usage_error(self):
        path = os.path.join(self.dir, "i.png")
        with open(path, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n")
        code, _, err, _ = self.run_send("--body", "x", "--inline", path)
        self.assertEqual(code, 64, err)

    def test_attach_type_needs_an_attach_before_it(self):
        code, _, err, _ = self.run_send("--attach-type", "text/plain")
        self.assertEqual(code, 64, err)


if __name__ == "__main__":
    unittest.main()

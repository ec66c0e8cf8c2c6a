"""The message composer loaded only when a message is composed (issue 13,
item 1): `send --message`, `fetch`, `doctor` and `probe` never load GMime
or GLib (ld.so's own account, LD_DEBUG=files, lists every object it maps,
at start and by dlopen), while a composed send loads libmailwire-mime and
GMime through it; a composer that cannot be loaded is a clear error (exit
70, the module and the loader's reason named), not a crash.  Also: the CLI maps libedit only for `shell` and jansson
only for a JSON lines source (LazyEditorAndJson)."""

import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import fakesmtp  # noqa: E402
import mwtest  # noqa: E402

ALICE, BOB = "alice@example.test", "bob@example.test"
COMPOSER_LIBS = ("libgmime", "libglib", "libgobject", "libgio")


def has_module():
    """Whether this build loads the composer (not MW_MIME_BUILTIN=ON): its
    module sits next to the binary in a build tree."""
    import glob
    import shutil
    binary = shutil.which(mwtest.MAILWIRE) or mwtest.MAILWIRE
    return bool(glob.glob(os.path.join(os.path.dirname(
        os.path.realpath(binary)), "libmailwire-mime.so.*")))


BUILTIN = not has_module()


def loaded(stderr):
    """The objects ld.so mapped ("file=NAME [0];  needed by/dynamically
    loaded by ...")."""
    out = []
    for line in stderr.splitlines():
        if "file=" in line and ("needed by" in line or "loaded by" in line):
            out.append(line.split("file=", 1)[1].split()[0])
    return out


@unittest.skipIf(mwtest.WRAPPER, "LD_DEBUG would describe the wrapper")
@unittest.skipIf(BUILTIN, "the composer is built in (MW_MIME_BUILTIN)")
class LazyComposer(unittest.TestCase):
    def run_debug(self, args):
        code, out, err, _ = mwtest.run(args, env={"LD_DEBUG": "files"})
        return code, out, err, loaded(err)

    def test_message_fetch_doctor_probe_load_no_gmime(self):
        with tempfile.TemporaryDirectory() as d:
            msg = os.path.join(d, "m.eml")
            with open(msg, "wb") as f:
                f.write(b"From: alice@example.test\r\nTo: bob@example.test\r\n"
                        b"Subject: ready-made\r\n\r\nhello\r\n")
            with fakesmtp.FakeSMTP() as f:
                code, _, err, libs = self.run_debug(
                    ["send", "--server", "127.0.0.1:%d" % f.port, "--tls",
                     "none", "--from", ALICE, "--to", BOB, "--message", msg])
                self.assertEqual(code, 0, err[-2000:])
                self.assertEqual(len(f.sessions[0].data), 1)
            # Some objects were seen (the parse works), none of GMime's.
            self.assertTrue(any("libc.so" in l for l in libs), libs)
            self.assertFalse([l for l in libs
                              if l.rsplit("/", 1)[-1].startswith(
                                  COMPOSER_LIBS + ("libmailwire-mime",))],
                             libs)
            # Failing commands too: nothing listening on 127.0.0.1:1.
            for args in (["fetch", "--server", "imap://u@127.0.0.1:1/INBOX",
                          "--password-env", "MW_NO_SUCH", "--maildir",
                          os.path.join(d, "md")],
                         ["doctor", "127.0.0.1:1", "--tls", "none"],
                         ["probe", "127.0.0.1", "--ports", "1"]):
                code, _, err, libs = self.run_debug(args)
                self.assertNotEqual(code, 0)
                self.assertTrue(libs, args)
                self.assertFalse([l for l in libs if l.rsplit("/", 1)[-1]
                                  .startswith(COMPOSER_LIBS)], (args, libs))

    def test_composed_send_loads_the_module(self):
        with fakesmtp.FakeSMTP() as f:
            code, _, err, libs = self.run_debug(
                ["send", "--server", "127.0.0.1:%d" % f.port, "--tls",
                 "none", "--from", ALICE, "--to", BOB, "--subject", "s",
                 "--body", "composed"])
            self.assertEqual(code, 0, err[-2000:])
        names = [l.rsplit("/", 1)[-1] for l in libs]
        self.assertTrue(any(n.startswith("libmailwire-mime.so.")
                            for n in names), names)
        self.assertTrue(any(n.startswith("libgmime") for n in names), names)


@unittest.skipIf(BUILTIN, "the composer is built in (MW_MIME_BUILTIN)")
class MissingComposer(unittest.TestCase):
    def test_a_module_that_cannot_load_is_a_clear_error(self):
        with tempfile.TemporaryDirectory() as d:
            bogus = os.path.join(d, "libmailwire-mime.so.0")
            with open(bogus, "wb") as f:
                f.write(b"not an ELF file")
            for path in (os.path.join(d, "absent.so"), bogus):
                with fakesmtp.FakeSMTP() as f:
                    code, doc, err, _ = mwtest.run_json(
                        ["send", "--server", "127.0.0.1:%d" % f.port,
                         "--tls", "none", "--from", ALICE, "--to", BOB,
                         "--subject", "s", "--body", "b"],
                        env={"MAILWIRE_MIME_MODULE": path})
                    self.assertEqual(f.sessions, [])
                self.assertEqual(code, 70, err)
                self.assertEqual(doc["error"]["status"], "MW_E_INTERNAL")
                self.assertIn("message composer could not be loaded",
                              doc["error"]["message"])
                self.assertIn(path, doc["error"]["message"])


EDITOR_LIBS = ("libedit.so", "libtinfo.so", "libbsd.so", "libmd.so")
JSON_LIBS = ("libjansson.so",)


def names(libs):
    return [l.rsplit("/", 1)[-1] for l in libs]


@unittest.skipIf(mwtest.WRAPPER, "LD_DEBUG would describe the wrapper")
class LazyEditorAndJson(unittest.TestCase):
    """The line editor (libedit, with libtinfo, libbsd and libmd) is mapped
    only by `mailwire shell`, and jansson only when a JSON lines source is
    read: the other commands' memory does not pay for them (issue 11's
    peak-memory target for fetch)."""

    def run_debug(self, args, **kw):
        code, out, err, _ = mwtest.run(args, env={"LD_DEBUG": "files"}, **kw)
        return code, out, err, names(loaded(err))

    def assert_none_of(self, libs, prefixes, what):
        self.assertTrue(any(n.startswith("libc.so") for n in libs), libs)
        self.assertFalse([n for n in libs if n.startswith(prefixes)],
                         (what, libs))

    def test_fetch_send_version_map_neither(self):
        with tempfile.TemporaryDirectory() as d:
            msg = os.path.join(d, "m.eml")
            with open(msg, "wb") as f:
                f.write(b"From: alice@example.test\r\nTo: bob@example.test\r\n"
                        b"Subject: plain\r\n\r\nhello\r\n")
            runs = [(["--version"], 0),
                    (["fetch", "--server", "imap://u@127.0.0.1:1/INBOX",
                      "--password-env", "MW_NO_SUCH", "--maildir",
                      os.path.join(d, "md")], None),
                    (["fetch", "--server", "pop3://u@127.0.0.1:1",
                      "--password-env", "MW_NO_SUCH", "--maildir",
                      os.path.join(d, "md")], None)]
            for args, want in runs:
                code, _, err, libs = self.run_debug(args)
                if want is not None:
                    self.assertEqual(code, want, err[-2000:])
                else:
                    self.assertNotEqual(code, 0)
                self.assert_none_of(libs, EDITOR_LIBS + JSON_LIBS, args)
            with fakesmtp.FakeSMTP() as f:
                code, _, err, libs = self.run_debug(
                    ["send", "--server", "127.0.0.1:%d" % f.port, "--tls",
                     "none", "--from", ALICE, "--to", BOB, "--message", msg])
                self.assertEqual(code, 0, err[-2000:])
                self.assertEqual(len(f.sessions[0].data), 1)
            self.assert_none_of(libs, EDITOR_LIBS + JSON_LIBS, "send")

    def test_jsonl_source_maps_jansson_and_no_editor(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "m.eml"), "wb") as f:
                f.write(b"From: alice@example.test\r\nTo: bob@example.test\r\n"
                        b"Subject: listed\r\n\r\nhello\r\n")
            jl = os.path.join(d, "list.jsonl")
            with open(jl, "w") as f:
                f.write('{"file": "m.eml", "to": "bob@example.test"}\n')
            with fakesmtp.FakeSMTP() as f:
                code, _, err, libs = self.run_debug(
                    ["send", "--server", "127.0.0.1:%d" % f.port, "--tls",
                     "none", "--from", ALICE, "--messages", jl])
                self.assertEqual(code, 0, err[-2000:])
                self.assertEqual(len(f.sessions[0].data), 1)
        self.assertTrue(any(n.startswith(JSON_LIBS) for n in libs), libs)
        self.assert_none_of(libs, EDITOR_LIBS, "send --messages")

    def test_shell_maps_the_editor(self):
        with fakesmtp.FakeSMTP() as f:
            code, out, err, libs = self.run_debug(
                ["shell", "127.0.0.1:%d" % f.port, "--tls", "none",
                 "--no-history", "--script", "-"], input=b"QUIT\n")
            self.assertEqual(code, 0, out + err[-2000:])
        self.assertTrue(any(n.startswith("libedit.so") for n in libs), libs)
        self.assertFalse([n for n in libs if n.startswith(JSON_LIBS)], libs)


if __name__ == "__main__":
    unittest.main()

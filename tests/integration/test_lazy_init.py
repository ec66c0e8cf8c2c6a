"""Start only what the command needs (issue 13, item 1).

OpenSSL, GNU SASL and c-ares are set up on first use: a plaintext
`send --message` to a numeric address calls none of OPENSSL_init_ssl,
SSL_CTX_new, gsasl_init and ares_library_init (ld.so's own account of the
symbols it binds on first call, LD_DEBUG=bindings) and reads no
openssl.cnf (strace), while TLS, authentication and a host name do set
them up (the same checks, seen failing the other way).  Nothing is read
twice: the --message file is opened and read once, the CA file opened
once; `--version` opens no file but the shared libraries.  sendmail
without -t fixes the header up without the composer (no GMime mapped,
LD_DEBUG=files): Bcc removed, Date and Message-ID added; with -t GMime is
loaded for the address lists.  OpenSSL is the TLS module's
(libmailwire-tls): the binary does not link it (ldd), a plaintext send
never maps libssl or libcrypto (LD_DEBUG=files and /proc/PID/maps), a TLS
send loads the module and still verifies the certificate, and a module
that cannot be loaded fails TLS with a clear error while plaintext works
(LazyTls)."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import fakesmtp  # noqa: E402
import mwtest  # noqa: E402
from test_lazy_mime import BUILTIN  # noqa: E402

ALICE, BOB = "alice@example.test", "bob@example.test"
SETUP_SYMBOLS = ("OPENSSL_init_ssl", "SSL_CTX_new", "gsasl_init",
                 "ares_library_init")
STRACE = shutil.which("strace")
MESSAGE = (b"From: alice@example.test\r\nTo: bob@example.test\r\n"
           b"Subject: lazy\r\n\r\n" + b"line of the body\r\n" * 200)


def binary():
    return os.path.realpath(shutil.which(mwtest.MAILWIRE) or
                            mwtest.MAILWIRE)


def lazy_binding():
    """Whether ld.so binds functions on their first call (no BIND_NOW),
    which LD_DEBUG=bindings then shows as it happens."""
    p = subprocess.run(["readelf", "-d", binary()], capture_output=True,
                       text=True)
    return p.returncode == 0 and "BIND_NOW" not in p.stdout and \
        not re.search(r"FLAGS_1.*\bNOW\b", p.stdout)


def first_calls(stderr):
    """The set-up functions the program called into another object
    ("binding file A [0] to B [0]: normal symbol `NAME'", A not B)."""
    seen = set()
    for line in stderr.splitlines():
        m = re.search(r"binding file (\S+) \[\d+\] to (\S+) \[\d+\]: "
                      r"normal symbol `([^']+)'", line)
        if m and m.group(1) != m.group(2) and m.group(3) in SETUP_SYMBOLS:
            seen.add(m.group(3))
    return seen


def strace(args, out, env=None, input=None):
    """Run mailwire under strace (file, read and close calls, children
    followed) into out; return (exit code, stderr, trace lines)."""
    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                # LeakSanitizer cannot run under ptrace (sanitizer builds)
                "ASAN_OPTIONS": "detect_leaks=0"}
    full_env.update(env or {})
    p = subprocess.run(["strace", "-f", "-qq", "-o", out, "-e",
                        "trace=%file,read,pread64,close", "--", binary()] +
                       args, env=full_env, input=input, capture_output=True,
                       timeout=60)
    with open(out) as f:
        return p.returncode, p.stderr.decode("utf-8", "replace"), \
            f.read().splitlines()


def opens(trace, path):
    """The descriptors openat() gave for path (each opening)."""
    fds = []
    for line in trace:
        m = re.search(r'open(?:at)?\((?:AT_FDCWD, )?"([^"]*)".*\) = (\d+)$',
                      line)
        if m and m.group(1) == path:
            fds.append(int(m.group(2)))
    return fds


def bytes_read(trace, path):
    """Bytes read (read, pread64) from each opening of path, until that
    descriptor is closed."""
    total, live = 0, set()
    for line in trace:
        m = re.search(r'open(?:at)?\((?:AT_FDCWD, )?"([^"]*)".*\) = (\d+)$',
                      line)
        if m:
            fd = int(m.group(2))
            if m.group(1) == path:
                live.add(fd)
            else:
                live.discard(fd)
            continue
        m = re.search(r"\b(?:read|pread64)\((\d+), .*\) = (\d+)$", line)
        if m and int(m.group(1)) in live:
            total += int(m.group(2))
            continue
        m = re.search(r"\bclose\((\d+)\)", line)
        if m:
            live.discard(int(m.group(1)))
    return total


@unittest.skipIf(mwtest.WRAPPER, "strace and LD_DEBUG would see the wrapper")
class LazySetUp(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mw-lazy-init-")
        self.msg = os.path.join(self.dir, "m.eml")
        with open(self.msg, "wb") as f:
            f.write(MESSAGE)
        self.env = {"HOME": self.dir, "XDG_CONFIG_HOME": self.dir}

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def send(self, port, *extra, env=None, ld_debug=None):
        full = dict(self.env)
        full.update(env or {})
        if ld_debug:
            full["LD_DEBUG"] = ld_debug
        return mwtest.run(["send", "--server", port, "--from", ALICE,
                           "--to", BOB, "--message", self.msg] +
                          list(extra), env=full)

    @unittest.skipUnless(lazy_binding(), "the binary binds at start (NOW)")
    def test_plaintext_to_an_address_sets_up_nothing(self):
        with fakesmtp.FakeSMTP() as f:
            code, _, err, _ = self.send("127.0.0.1:%d" % f.port, "--tls",
                                        "none", ld_debug="bindings")
            self.assertEqual(code, 0, err[-2000:])
            self.assertEqual(len(f.sessions[0].data), 1)
        self.assertIn("binding file", err)  # LD_DEBUG did report
        self.assertEqual(first_calls(err), set())

    @unittest.skipUnless(lazy_binding(), "the binary binds at start (NOW)")
    def test_tls_auth_and_a_host_name_set_up_what_they_use(self):
        ca, cert, key = fakesmtp.make_test_certs(self.dir)
        with fakesmtp.FakeSMTP(cert=cert, key=key, implicit_tls=True) as f:
            code, _, err, _ = self.send(
                "127.0.0.1:%d" % f.port, "--tls", "implicit",
                "--tls-ca-file", ca, ld_debug="bindings")
            self.assertEqual(code, 0, err[-2000:])
        self.assertEqual(first_calls(err),
                         {"OPENSSL_init_ssl", "SSL_CTX_new"})
        with fakesmtp.FakeSMTP(auth="PLAIN") as f:
            code, _, err, _ = self.send(
                "127.0.0.1:%d" % f.port, "--tls", "none", "--user", "u",
                "--password-env", "MW_PW", "--allow-insecure-auth",
                env={"MW_PW": "secret"}, ld_debug="bindings")
            self.assertEqual(code, 0, err[-2000:])
            self.assertEqual(f.sessions[0].auth_mechanism, "PLAIN")
        self.assertEqual(first_calls(err), {"gsasl_init"})
        with fakesmtp.FakeSMTP() as f:
            code, _, err, _ = self.send("localhost:%d" % f.port, "--tls",
                                        "none", "-4",
                                        ld_debug="bindings")
            self.assertEqual(code, 0, err[-2000:])
        self.assertEqual(first_calls(err), {"ares_library_init"})

    @unittest.skipUnless(STRACE, "strace is not installed (scripts/setup.sh)")
    def test_plaintext_reads_the_message_once_and_no_openssl_cnf(self):
        with fakesmtp.FakeSMTP() as f:
            code, err, trace = strace(
                ["send", "--server", "127.0.0.1:%d" % f.port, "--tls",
                 "none", "--from", ALICE, "--to", BOB, "--message",
                 self.msg], os.path.join(self.dir, "trace"), env=self.env)
            self.assertEqual(code, 0, err[-2000:])
            self.assertEqual(len(f.sessions[0].data), 1)
        self.assertFalse([l for l in trace if "openssl.cnf" in l], trace[-40:])
        self.assertEqual(len(opens(trace, self.msg)), 1, trace[-40:])
        self.assertEqual(bytes_read(trace, self.msg), len(MESSAGE), trace[-40:])

    @unittest.skipUnless(STRACE, "strace is not installed (scripts/setup.sh)")
    def test_tls_opens_the_ca_file_once(self):
        ca, cert, key = fakesmtp.make_test_certs(self.dir)
        with fakesmtp.FakeSMTP(cert=cert, key=key, implicit_tls=True) as f:
            code, err, trace = strace(
                ["send", "--server", "127.0.0.1:%d" % f.port, "--tls",
                 "implicit", "--tls-ca-file", ca, "--from", ALICE, "--to",
                 BOB, "--message", self.msg],
                os.path.join(self.dir, "trace"), env=self.env)
            self.assertEqual(code, 0, err[-2000:])
        self.assertEqual(len(opens(trace, ca)), 1, trace[-40:])
        self.assertEqual(bytes_read(trace, ca), os.path.getsize(ca), trace[-40:])
        self.assertEqual(len(opens(trace, self.msg)), 1, trace[-40:])
        self.assertEqual(bytes_read(trace, self.msg), len(MESSAGE), trace[-40:])
        # A CA file that cannot be read is still refused before connecting.
        code, _, err, _ = mwtest.run(
            ["send", "--server", "127.0.0.1:1", "--tls", "implicit",
             "--tls-ca-file", os.path.join(self.dir, "absent.pem"),
             "--from", ALICE, "--to", BOB, "--message", self.msg],
            env=self.env)
        self.assertEqual(code, 66, err)
        self.assertIn("--tls-ca-file: cannot read", err)

    @unittest.skipUnless(STRACE, "strace is not installed (scripts/setup.sh)")
    def test_version_opens_nothing_but_libraries(self):
        code, err, trace = strace(["--version"],
                                  os.path.join(self.dir, "trace"),
                                  env=self.env)
        self.assertEqual(code, 0, err)
        opened = [m.group(1) for m in (re.search(r'open(?:at)?\((?:AT_FDCWD, )?'
                                                 r'"([^"]*)"', l)
                                       for l in trace) if m]
        self.assertTrue(opened)
        # (/proc: a sanitizer build's runtime reads its own maps there)
        self.assertEqual([p for p in opened if p != "/etc/ld.so.cache" and
                          ".so" not in os.path.basename(p) and
                          not p.startswith("/proc/")], [], opened)


@unittest.skipIf(mwtest.WRAPPER, "LD_DEBUG would describe the wrapper")
@unittest.skipIf(BUILTIN, "the composer is built in (MW_MIME_BUILTIN)")
class SendmailWithoutComposer(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mw-lazy-sendmail-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def sendmail(self, port, args, message):
        cfg = os.path.join(self.dir, "config")
        with open(cfg, "w") as f:
            f.write("defaults\ntls_mode none\n\naccount fake\n"
                    "host 127.0.0.1\nport %d\nfrom %s\n\n"
                    "account default : fake\n" % (port, ALICE))
        os.chmod(cfg, 0o600)
        code, out, err, _ = mwtest.run(
            ["sendmail"] + args, input=message,
            env={"MAILWIRE_CONFIG": cfg, "HOME": self.dir,
                 "XDG_STATE_HOME": self.dir, "LD_DEBUG": "files"})
        libs = [l.split("file=", 1)[1].split()[0] for l in err.splitlines()
                if "file=" in l and ("needed by" in l or "loaded by" in l)]
        return code, err, [l.rsplit("/", 1)[-1] for l in libs]

    def test_without_t_no_gmime_and_the_header_fixed_up(self):
        msg = (b"From: Alice <alice@example.test>\n"
               b"To: Bob <bob@example.test>\n"
               b"Bcc: carol@example.test,\n"
               b"  dave@example.test\n"
               b"Subject: no composer\n\nbody\n")
        with fakesmtp.FakeSMTP() as f:
            code, err, libs = self.sendmail(f.port, ["-i", BOB], msg)
            self.assertEqual(code, 0, err[-2000:])
            data = f.sessions[0].data[0]
        self.assertTrue(any(n.startswith("libc.so") for n in libs), libs)
        self.assertFalse([n for n in libs if n.startswith(
            ("libgmime", "libglib", "libmailwire-mime"))], libs)
        head = data.split(b"\r\n\r\n", 1)[0]
        self.assertNotIn(b"Bcc", data)
        self.assertNotIn(b"dave", data)  # the folded line went with it
        self.assertIn(b"\r\nTo: Bob <bob@example.test>\r\n", data)
        self.assertIn(b"\r\nSubject: no composer\r\n", data)
        self.assertRegex(head, rb"\r\nDate: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2}"
                               rb" \d{4} \d\d:\d\d:\d\d [+-]\d{4}(\r\n|$)")
        self.assertRegex(head, rb"\r\nMessage-ID: <[^<>@\s]+@example\.test>")
        self.assertTrue(data.endswith(b"\r\n\r\nbody\r\n"), data)

    def test_present_date_and_message_id_are_kept(self):
        msg = (b"Date: Mon, 01 Jan 2024 00:00:00 +0000\n"
               b"Message-ID: <kept@example.test>\nSubject: s\n\nb\n")
        with fakesmtp.FakeSMTP() as f:
            code, err, libs = self.sendmail(f.port, ["-f", ALICE, BOB], msg)
            self.assertEqual(code, 0, err[-2000:])
            data = f.sessions[0].data[0]
        self.assertEqual(data.count(b"Date:"), 1, data)
        self.assertEqual(data.count(b"Message-ID:"), 1, data)
        self.assertIn(b"<kept@example.test>", data)
        self.assertIn(b"\r\nFrom: alice@example.test\r\n", data)  # added
        self.assertFalse([n for n in libs if n.startswith("libgmime")], libs)

    def test_t_loads_the_composer(self):
        msg = b"From: alice@example.test\nTo: bob@example.test\n\nx\n"
        with fakesmtp.FakeSMTP() as f:
            code, err, libs = self.sendmail(f.port, ["-t"], msg)
            self.assertEqual(code, 0, err[-2000:])
            self.assertEqual(len(f.sessions[0].data), 1)
        self.assertTrue(any(n.startswith("libmailwire-mime") for n in libs),
                        libs)
        self.assertTrue(any(n.startswith("libgmime") for n in libs), libs)


OPENSSL_LIBS = ("libssl.so", "libcrypto.so")


def tls_module_built():
    """Whether this build loads OpenSSL as a module (not MW_TLS_BUILTIN=ON):
    it sits next to the binary in a build tree."""
    import glob
    return bool(glob.glob(os.path.join(os.path.dirname(binary()),
                                       "libmailwire-tls.so.*")))


def mapped_objects(stderr):
    """The base names of the objects ld.so mapped (LD_DEBUG=files: at
    start and by dlopen)."""
    return [l.split("file=", 1)[1].split()[0].rsplit("/", 1)[-1]
            for l in stderr.splitlines()
            if "file=" in l and ("needed by" in l or "loaded by" in l)]


@unittest.skipIf(mwtest.WRAPPER, "ldd and LD_DEBUG would see the wrapper")
@unittest.skipUnless(tls_module_built(),
                     "TLS is built in (MW_TLS_BUILTIN)")
class LazyTls(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mw-lazy-tls-")
        self.msg = os.path.join(self.dir, "m.eml")
        with open(self.msg, "wb") as f:
            f.write(MESSAGE)
        self.env = {"HOME": self.dir, "XDG_CONFIG_HOME": self.dir}

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def send(self, port, *extra, env=None):
        full = dict(self.env)
        full.update(env or {})
        return mwtest.run(["send", "--server", "127.0.0.1:%d" % port,
                           "--from", ALICE, "--to", BOB, "--message",
                           self.msg] + list(extra), env=full)

    def test_the_binary_does_not_link_openssl(self):
        p = subprocess.run(["ldd", binary()], capture_output=True,
                           text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("libc.so", p.stdout)
        self.assertFalse([l for l in p.stdout.splitlines()
                          if any(n in l for n in OPENSSL_LIBS)], p.stdout)

    def test_plaintext_maps_no_openssl_tls_loads_it(self):
        with fakesmtp.FakeSMTP() as f:
            code, _, err, _ = self.send(f.port, "--tls", "none",
                                        env={"LD_DEBUG": "files"})
            self.assertEqual(code, 0, err[-2000:])
            self.assertEqual(len(f.sessions[0].data), 1)
        libs = mapped_objects(err)
        self.assertTrue(any(n.startswith("libc.so") for n in libs), libs)
        self.assertFalse([n for n in libs if n.startswith(
            OPENSSL_LIBS + ("libmailwire-tls",))], libs)
        ca, cert, key = fakesmtp.make_test_certs(self.dir)
        with fakesmtp.FakeSMTP(cert=cert, key=key, implicit_tls=True) as f:
            code, out, err, _ = self.send(f.port, "--tls", "implicit",
                                          "--tls-ca-file", ca,
                                          env={"LD_DEBUG": "files"})
            self.assertEqual(code, 0, err[-2000:])
            self.assertEqual(len(f.sessions[0].data), 1)
        libs = mapped_objects(err)
        for prefix in ("libmailwire-tls.so.",) + OPENSSL_LIBS:
            self.assertTrue(any(n.startswith(prefix) for n in libs),
                            (prefix, libs))
        # Loaded as a module, the certificate is still checked: without
        # the CA the fake server's certificate is refused, nothing sent.
        with fakesmtp.FakeSMTP(cert=cert, key=key, implicit_tls=True) as f:
            code, doc, err, _ = mwtest.run_json(
                ["send", "--server", "127.0.0.1:%d" % f.port, "--tls",
                 "implicit", "--from", ALICE, "--to", BOB, "--message",
                 self.msg], env=self.env)
            self.assertEqual(code, 78, err)
            self.assertEqual(doc["error"]["status"], "MW_E_CERT")
            self.assertEqual([s.data for s in f.sessions if s.data], [])

    def test_plaintext_process_maps(self):
        """/proc/PID/maps of a plaintext send held at its EHLO:
        no OpenSSL object mapped."""
        with fakesmtp.FakeSMTP(ehlo_delay=1.5) as f:
            p = subprocess.Popen(
                mwtest.command(mwtest.MAILWIRE, "send", "--server",
                               "127.0.0.1:%d" % f.port, "--tls", "none",
                               "--from", ALICE, "--to", BOB, "--message",
                               self.msg),
                env=dict(self.env, PATH=os.environ.get("PATH", "/bin")),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            import time
            deadline = time.monotonic() + 10
            while not f.sessions and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.3)
            with open("/proc/%d/maps" % p.pid) as m:
                maps = m.read()
            out, err = p.communicate(timeout=30)
            self.assertEqual(p.returncode, 0, err[-2000:])
        self.assertIn("libc.so", maps)
        self.assertFalse([l for l in maps.splitlines()
                          if any(n in l for n in OPENSSL_LIBS)], maps)

    def test_a_missing_module_fails_tls_clearly_plaintext_works(self):
        bogus = os.path.join(self.dir, "libmailwire-tls.so.0")
        with open(bogus, "wb") as f:
            f.write(b"not an ELF file")
        ca, cert, key = fakesmtp.make_test_certs(self.dir)
        for path in (os.path.join(self.dir, "absent.so"), bogus):
            env = dict(self.env, MAILWIRE_TLS_MODULE=path)
            with fakesmtp.FakeSMTP(cert=cert, key=key,
                                   implicit_tls=True) as f:
                code, doc, err, _ = mwtest.run_json(
                    ["send", "--server", "127.0.0.1:%d" % f.port, "--tls",
                     "implicit", "--tls-ca-file", ca, "--from", ALICE,
                     "--to", BOB, "--message", self.msg], env=env)
                self.assertEqual([s.data for s in f.sessions if s.data], [])
            self.assertEqual(code, 78, err)
            self.assertEqual(doc["error"]["status"], "MW_E_TLS")
            self.assertIn("TLS module could not be loaded",
                          doc["error"]["message"])
            self.assertIn(path, doc["error"]["message"])
            with fakesmtp.FakeSMTP() as f:
                code, _, err, _ = self.send(f.port, "--tls", "none", env=env)
                self.assertEqual(code, 0, err[-2000:])
                self.assertEqual(len(f.sessions[0].data), 1)
            # doctor names the installation, not the server, for SMTP and
            # for an incoming protocol alike (exit 22: local config)
            for extra in ([], ["--protocol", "pop3"]):
                with fakesmtp.FakeSMTP(cert=cert, key=key,
                                       implicit_tls=True) as f:
                    code, doc, err, _ = mwtest.run_json(
                        ["doctor", "127.0.0.1:%d" % f.port, "--tls",
                         "implicit", "--tls-ca-file", ca] + extra, env=env)
                self.assertEqual(code, 22, (extra, err, doc))
                self.assertEqual(doc["diagnosis"]["id"], "tls_unavailable",
                                 doc)
                self.assertIn(path, doc["diagnosis"]["summary"])
                self.assertIn("MAILWIRE_TLS_MODULE", doc["diagnosis"]["fix"])


if __name__ == "__main__":
    unittest.main()

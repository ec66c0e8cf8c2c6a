"""mailwire as a user installs it (issue 14): `cmake --install` into a
temporary prefix, then the examples/ programs built against that prefix
three ways (pkg-config shared, pkg-config --static, find_package with the
shared and the static imported target) and run: the send examples against
the rig's Postfix (the message must arrive), diagnose and probe against the
rig, proxy through a private tinyproxy; each under valgrind memcheck (no
errors, no leaks) unless the build is sanitized (the sanitizers check it
then).  Also: the installed file layout (SONAME and links, static library,
header, mailwire.pc, CMake package, CLI), the version macros, and the
shared library's exported symbols: exactly the functions mailwire.h
declares.

Environment (tests/integration/CMakeLists.txt): MW_BUILD_DIR (the build
tree to install), MW_SOURCE_DIR, MW_EXAMPLE_CFLAGS (the build's C flags:
sanitizer flags must reach the examples too), MW_RIG_ENV."""

import glob
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import proxyrig
import rigutil

BUILD = os.environ.get("MW_BUILD_DIR", "")
SOURCE = os.environ.get("MW_SOURCE_DIR",
                        os.path.join(os.path.dirname(__file__), "..", ".."))
CFLAGS = os.environ.get("MW_EXAMPLE_CFLAGS", "").split()
SANITIZED = any(f.startswith("-fsanitize") for f in CFLAGS)
EXAMPLES = ["send", "send_many", "diagnose", "probe", "proxy"]
VALGRIND = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect",
            "--show-leak-kinds=definite,indirect"]
ALICE, BOB = "alice@example.test", "bob@example.test"

PREFIX = WORK = ENV = None
BUILT = {}  # (way, example) -> path of the executable


def run(args, env=None, timeout=300, check=True):
    full = dict(os.environ)
    full.update(env or {})
    p = subprocess.run(args, env=full, capture_output=True, timeout=timeout)
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    if check and p.returncode != 0:
        raise AssertionError("%s: exit %d\n%s\n%s"
                             % (" ".join(args), p.returncode, out, err))
    return p.returncode, out, err


def pkg_config(*args):
    env = {"PKG_CONFIG_PATH": os.path.join(PREFIX, "lib", "pkgconfig")}
    return run(["pkg-config"] + list(args) + ["mailwire"], env=env)[1].split()


def lib_env():
    env = {"LD_LIBRARY_PATH": os.path.join(PREFIX, "lib")}
    # A statically linked program looks for the composer module
    # (libmailwire-mime) next to itself, then in the libdir configured at
    # build time; this temporary prefix is neither, so it is named (the
    # documented MAILWIRE_MIME_MODULE).  Shared builds find it next to
    # libmailwire without help.
    import glob
    mods = glob.glob(os.path.join(PREFIX, "lib", "libmailwire-mime.so.*"))
    if mods:
        env["MAILWIRE_MIME_MODULE"] = mods[0]
    # The TLS module (libmailwire-tls) likewise.
    mods = glob.glob(os.path.join(PREFIX, "lib", "libmailwire-tls.so.*"))
    if mods:
        env["MAILWIRE_TLS_MODULE"] = mods[0]
    return env


def setUpModule():
    global PREFIX, WORK, ENV
    if not BUILD:
        raise unittest.SkipTest("MW_BUILD_DIR is not set (run through ctest)")
    path = os.environ.get("MW_RIG_ENV")
    if path and os.path.exists(path):
        ENV = rigutil.load_env(path)
    WORK = tempfile.mkdtemp(prefix="mw-install-")
    PREFIX = os.path.join(WORK, "prefix")
    run(["cmake", "--install", BUILD, "--prefix", PREFIX])
    examples = os.path.join(SOURCE, "examples")
    # pkg-config, shared: the library found at run time by LD_LIBRARY_PATH.
    flags = pkg_config("--cflags", "--libs")
    # pkg-config --static: every dependency's flags from Requires.private
    # and Libs.private; -l:libmailwire.a picks the archive where -lmailwire
    # would prefer the shared library beside it.
    static = ["-l:libmailwire.a" if f == "-lmailwire" else f
              for f in pkg_config("--static", "--cflags", "--libs")]
    for way, link in (("pc-shared", flags), ("pc-static", static)):
        os.makedirs(os.path.join(WORK, way))
        for ex in EXAMPLES:
            out = os.path.join(WORK, way, ex)
            run(["cc", "-std=c17", "-Wall", "-Wextra", "-Werror"] + CFLAGS +
                ["-o", out, os.path.join(examples, ex + ".c")] + link)
            BUILT[(way, ex)] = out
    # find_package(mailwire): examples/CMakeLists.txt, both targets.
    for way, static_on in (("cmake-shared", "OFF"), ("cmake-static", "ON")):
        bdir = os.path.join(WORK, way)
        run(["cmake", "-S", examples, "-B", bdir,
             "-DCMAKE_PREFIX_PATH=" + PREFIX,
             "-DCMAKE_C_FLAGS=" + " ".join(CFLAGS + ["-Werror"]),
             "-DMW_EXAMPLES_STATIC=" + static_on])
        run(["cmake", "--build", bdir])
        for ex in EXAMPLES:
            BUILT[(way, ex)] = os.path.join(bdir, ex)


def tearDownModule():
    if WORK:
        shutil.rmtree(WORK, ignore_errors=True)


def needed(path):
    """The DT_NEEDED entries of an executable or library."""
    out = run(["readelf", "-d", path])[1]
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


class Layout(unittest.TestCase):
    def test_shared_library_soname_and_links(self):
        lib = os.path.join(PREFIX, "lib")
        self.assertEqual(os.readlink(os.path.join(lib, "libmailwire.so")),
                         "libmailwire.so.0")
        self.assertEqual(os.readlink(os.path.join(lib, "libmailwire.so.0")),
                         "libmailwire.so.0.1.0")
        real = os.path.join(lib, "libmailwire.so.0.1.0")
        self.assertFalse(os.path.islink(real))
        out = run(["readelf", "-d", real])[1]
        self.assertIn("Library soname: [libmailwire.so.0]", out)

    def test_static_library_header_package_files_and_cli(self):
        for rel in ("lib/libmailwire.a", "include/mailwire.h",
                    "lib/pkgconfig/mailwire.pc",
                    "lib/cmake/mailwire/mailwire-config.cmake",
                    "lib/cmake/mailwire/mailwire-config-version.cmake",
                    "lib/cmake/mailwire/mailwire-targets.cmake",
                    "lib/cmake/mailwire/mailwire-static-targets.cmake",
                    "share/man/man1/mailwire.1",
                    "share/man/man5/mailwire-config.5",
                    "share/man/man3/libmailwire.3",
                    "share/bash-completion/completions/mailwire",
                    "share/zsh/site-functions/_mailwire"):
            self.assertTrue(os.path.isfile(os.path.join(PREFIX, rel)), rel)
        code, out, _ = run([os.path.join(PREFIX, "bin", "mailwire"),
                            "--version"])
        self.assertEqual(out.strip(), "mailwire 0.1.0")
        # The .pc file names the prefix installed to, not the configured one.
        self.assertEqual(pkg_config("--variable=prefix"), [PREFIX])
        self.assertIn("-I%s/include" % PREFIX, pkg_config("--cflags"))
        requires = run(["pkg-config", "--print-requires-private",
                        os.path.join(PREFIX, "lib/pkgconfig/mailwire.pc")])[1]
        for dep in ("libgsasl", "libcares", "gmime-3.0"):
            self.assertIn(dep, requires)
        # OpenSSL is the TLS module's, unless built in (MW_TLS_BUILTIN).
        tls_module = glob.glob(os.path.join(PREFIX, "lib",
                                            "libmailwire-tls.so.*"))
        self.assertEqual("openssl" in requires, not tls_module, requires)

    def test_man_finds_the_installed_pages(self):
        env = {"MANPATH": os.path.join(PREFIX, "share", "man"),
               "MANWIDTH": "80"}
        for page in (["1", "mailwire"], ["5", "mailwire-config"],
                     ["3", "libmailwire"]):
            code, out, err = run(["man", "--warnings"] + page, env=env)
            self.assertEqual(err, "")
            self.assertIn(page[1].upper() + "(" + page[0] + ")", out)

    def test_version_macros(self):
        src = os.path.join(WORK, "version.c")
        with open(src, "w") as f:
            f.write('#include <mailwire.h>\n#include <stdio.h>\n'
                    '#include <string.h>\n'
                    '_Static_assert(MW_VERSION_NUM == 0x000100, "num");\n'
                    '_Static_assert(MW_VERSION_NUM == MW_VERSION_AT('
                    'MW_VERSION_MAJOR, MW_VERSION_MINOR, MW_VERSION_PATCH),'
                    ' "at");\n'
                    '#if MW_VERSION_NUM < MW_VERSION_AT(0, 1, 0)\n'
                    '#error "usable in #if"\n#endif\n'
                    'int main(void) { puts(mw_version());\n'
                    '  return strcmp(mw_version(), MW_VERSION_STRING) != 0; }\n')
        exe = os.path.join(WORK, "version")
        run(["cc", "-std=c17", "-Werror"] + CFLAGS + ["-o", exe, src] +
            pkg_config("--cflags", "--libs"))
        self.assertEqual(run([exe], env=lib_env())[1].strip(), "0.1.0")


def header_functions(path):
    """Names of the functions mailwire.h declares (comments removed)."""
    with open(path) as f:
        text = f.read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"^\s*#.*$", " ", text, flags=re.M)
    text = re.sub(r"typedef[^;]*\([^;]*;", " ", text)  # function pointers
    return set(re.findall(r"\b(mw_[a-z0-9_]+)\s*\(", text))


class Symbols(unittest.TestCase):
    def test_exported_symbols_are_the_header_api(self):
        so = os.path.join(PREFIX, "lib", "libmailwire.so.0.1.0")
        out = run(["nm", "-D", "--defined-only", so])[1]
        exported = set()
        for line in out.splitlines():
            name = line.split()[-1]
            if name == "MAILWIRE_0":  # the version script's node
                continue
            exported.add(name.split("@")[0])
        declared = header_functions(os.path.join(PREFIX, "include",
                                                 "mailwire.h"))
        self.assertGreater(len(declared), 100)
        self.assertEqual(sorted(exported - declared), [],
                         "exported but not in mailwire.h")
        self.assertEqual(sorted(declared - exported), [],
                         "declared in mailwire.h but not exported")


class FreeFunctions(unittest.TestCase):
    def test_every_free_function_accepts_null(self):
        """Each void mw_*free(T *) of the header, called with NULL, in a
        program built against the installed library (under valgrind
        unless sanitized): a no-op, never a crash."""
        with open(os.path.join(PREFIX, "include", "mailwire.h")) as f:
            text = re.sub(r"/\*.*?\*/", " ", f.read(), flags=re.S)
        frees = re.findall(r"\bvoid\s+(mw_\w*free)\s*\(\s*(?:const\s+)?"
                           r"(\w+)\s*\*\s*\w*\s*\)\s*;", text)
        names = [n for n, _ in frees]
        for expected in ("mw_options_free", "mw_smtp_free", "mw_pop3_free",
                         "mw_imap_free", "mw_report_free", "mw_free"):
            self.assertIn(expected, names)
        src = os.path.join(WORK, "free_null.c")
        with open(src, "w") as f:
            f.write("#include <mailwire.h>\n#include <stdio.h>\n"
                    "int main(void) {\n")
            for name, typ in frees:
                f.write("  %s((%s *)NULL);\n" % (name, typ))
            f.write('  puts("%d"); return 0; }\n' % len(frees))
        exe = os.path.join(WORK, "free_null")
        run(["cc", "-std=c17", "-Wall", "-Werror"] + CFLAGS +
            ["-o", exe, src] + pkg_config("--cflags", "--libs"))
        wrapper = [] if SANITIZED else VALGRIND
        code, out, err = run(wrapper + [exe], env=lib_env(), check=False)
        self.assertEqual(code, 0, err)
        self.assertEqual(out.strip(), str(len(frees)))


class Builds(unittest.TestCase):
    def test_shared_builds_need_the_shared_library(self):
        for way in ("pc-shared", "cmake-shared"):
            for ex in EXAMPLES:
                self.assertIn("libmailwire.so.0", needed(BUILT[(way, ex)]),
                              "%s %s" % (way, ex))

    def test_static_builds_carry_the_library(self):
        for way in ("pc-static", "cmake-static"):
            for ex in EXAMPLES:
                libs = needed(BUILT[(way, ex)])
                self.assertFalse([l for l in libs if "mailwire" in l],
                                 "%s %s: %s" % (way, ex, libs))
                self.assertIn("libcares.so.2", libs)
                # OpenSSL is the TLS module's (libmailwire-tls, loaded
                # on first use) unless it is built in (MW_TLS_BUILTIN).
                self.assertEqual("libssl.so.3" in libs, not glob.glob(
                    os.path.join(PREFIX, "lib", "libmailwire-tls.so.*")),
                    "%s %s: %s" % (way, ex, libs))

    def test_usage_errors_exit_2(self):
        for way in ("pc-shared", "pc-static", "cmake-shared", "cmake-static"):
            for ex in EXAMPLES:
                code, _, err = run([BUILT[(way, ex)]], env=lib_env(),
                                   check=False)
                self.assertEqual(code, 2, "%s %s" % (way, ex))
                self.assertIn("usage: " + ex, err)


class Run(unittest.TestCase):
    """The examples against the rig, under valgrind memcheck."""

    def setUp(self):
        if ENV is None:
            self.skipTest("no rig: MW_RIG_ENV is not set (run through ctest)")
        rigutil.clear_mailbox(ENV, "bob")
        self.sub = "127.0.0.1:%s" % ENV["RIG_SUBMISSION_PORT"]
        self.ca = ENV["RIG_CA_FILE"]
        self.auth = {"MAILWIRE_USER": ALICE,
                     "MAILWIRE_PASSWORD": ENV["RIG_PASS1"]}

    def example(self, way, ex, *args, env=None, code=0):
        e = lib_env()
        e.update(env or {})
        wrapper = [] if SANITIZED else VALGRIND
        got, out, err = run(wrapper + [BUILT[(way, ex)]] + list(args), env=e,
                            check=False)
        self.assertEqual(got, code, "%s %s exit %d (99: valgrind found "
                         "errors or leaks)\n%s\n%s" % (way, ex, got, out, err))
        return out

    def test_send_delivers_with_each_build(self):
        for n, way in enumerate(("pc-shared", "pc-static", "cmake-shared",
                                 "cmake-static"), 1):
            out = self.example(way, "send", self.sub, ALICE, BOB, self.ca,
                               env=self.auth)
            self.assertRegex(out, r"^sent, queued as \w+")
            msgs = rigutil.wait_for_mail(ENV, "bob", count=n)
            self.assertEqual(len(msgs), n)
        headers, body = rigutil.split_message(msgs[0])
        self.assertIn(b"Subject: Hello from libmailwire", headers)
        self.assertIn(b"It works.", body)

    def test_send_many_uses_one_connection(self):
        out = self.example("pc-static", "send_many", self.sub, ALICE, BOB,
                           "3", self.ca, env=self.auth)
        self.assertIn("3 of 3 sent over one connection", out)
        self.assertEqual(len(rigutil.wait_for_mail(ENV, "bob", count=3)), 3)

    def test_send_without_the_ca_is_refused(self):
        # The system store does not trust the rig's CA: certificate error.
        e = lib_env()
        e.update(self.auth)
        code, out, err = run([BUILT[("pc-shared", "send")], self.sub, ALICE,
                              BOB], env=e, check=False)
        self.assertEqual(code, 1, out + err)
        self.assertIn("failed (MW_E_CERT)", err)

    def test_diagnose_names_cause_and_fix(self):
        out = self.example("pc-shared", "diagnose", self.sub, self.ca)
        self.assertIn("cause: healthy", out)
        self.assertRegex(out, r"(?m)^  certificate +ok ")
        # Without the rig's CA: the certificate is the cause, with a fix.
        out = self.example("cmake-static", "diagnose", self.sub, code=1)
        self.assertRegex(out, r"(?m)^cause: cert")
        self.assertRegex(out, r"(?m)^fix: .*mw_options_set_tls_ca_file")

    def test_probe_finds_the_secure_ports(self):
        ports = "%s,%s" % (ENV["RIG_SMTPS_PORT"], ENV["RIG_SUBMISSION_PORT"])
        out = self.example("cmake-shared", "probe", "127.0.0.1", ports,
                           self.ca)
        self.assertIn("best: 127.0.0.1 port %s, TLS mode implicit"
                      % ENV["RIG_SMTPS_PORT"], out)
        self.assertRegex(out, r"port %s starttls +works"
                         % ENV["RIG_SUBMISSION_PORT"])

    def test_proxy_connects_through_http_connect(self):
        port = int(ENV["RIG_SUBMISSION_PORT"])
        with proxyrig.TinyProxy([port]) as tiny:
            out = self.example("pc-static", "proxy",
                               "http://127.0.0.1:%d" % tiny.port, self.sub,
                               self.ca)
        self.assertIn("greeting: ", out)
        self.assertRegex(out, r"encrypted: TLSv1\.[23]")


if __name__ == "__main__":
    unittest.main()

"""The man pages and shell completions (issue 14), as built in the build
tree (cmake/docs.cmake, scripts/mkdocs.py).

mailwire(1) must say what --help says: the words of `mailwire --help` and
of `mailwire help CMD` for every command it lists appear, in order, in the
page as man renders it (so a page built from an older program, or a
converter that drops or reorders text, fails).  Each page renders with no
groff warning.  mailwire-config(5) documents every profile key of
src/profile.c; libmailwire(3) every function of mailwire.h.  The bash
completion is sourced and asked, as bash asks it (COMP_WORDS, COMP_CWORD,
then the function complete registered): commands, every option of a
command, TLS modes, files, account names from the profile file.

Environment (tests/integration/CMakeLists.txt): MAILWIRE_BIN, MW_DOCS_DIR,
MW_SOURCE_DIR."""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

MAILWIRE = os.environ.get("MAILWIRE_BIN", "")
DOCS = os.environ.get("MW_DOCS_DIR", "")
SOURCE = os.environ.get("MW_SOURCE_DIR",
                        os.path.join(os.path.dirname(__file__), "..", ".."))


def setUpModule():
    if not MAILWIRE or not DOCS:
        raise unittest.SkipTest("MAILWIRE_BIN and MW_DOCS_DIR are not set "
                                "(run through ctest)")


def render(page, width=80):
    env = dict(os.environ, MANWIDTH=str(width), LC_ALL="C.UTF-8",
               MAN_KEEP_FORMATTING="")
    p = subprocess.run(["man", "--warnings", "-l", os.path.join(DOCS, page)],
                       capture_output=True, env=env, timeout=60)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8")


def help_of(*args):
    p = subprocess.run([MAILWIRE] + list(args), capture_output=True,
                       timeout=30)
    out = p.stdout.decode("utf-8") or p.stderr.decode("utf-8")
    return p.returncode, out


def words(text):
    # Subsection titles drop the help's trailing colon ("Profile:").
    return [w.rstrip(":") for w in text.split()]


def find_run(needle, hay):
    """Index of needle as a contiguous run in hay, or -1."""
    n = len(needle)
    for i in range(len(hay) - n + 1):
        if hay[i] == needle[0] and hay[i:i + n] == needle:
            return i
    return -1


def commands():
    _, text = help_of("--help")
    cmds, under = [], False
    for line in text.split("\n"):
        if not line.strip():
            under = False
        elif line[0] != " ":
            under = line.endswith(":")
        elif under:
            cmds.append(line.split()[0])
    return cmds


class Pages(unittest.TestCase):
    def test_each_page_renders_without_warnings(self):
        for page in ("mailwire.1", "mailwire-config.5", "libmailwire.3"):
            with self.subTest(page):
                code, out, err = render(page)
                self.assertEqual(code, 0, err)
                self.assertEqual(err, "")
                self.assertGreater(len(out.splitlines()), 50)
                # Nothing escaped wrongly: no roff left in the text.
                self.assertNotRegex(out, r"\\f[BIR]|\\-|\\\(")

    def test_mailwire_1_says_what_help_says(self):
        _, page = render("mailwire.1", width=100)[:2]
        hay = words(page)
        cmds = commands()
        self.assertIn("send", cmds)
        self.assertIn("fetch", cmds)
        code, text = help_of("--help")
        self.assertEqual(code, 0)
        self.assertGreaterEqual(find_run(words(text), hay), 0,
                                "mailwire --help not in the page")
        for cmd in cmds:
            with self.subTest(cmd):
                code, text = help_of("help", cmd)
                self.assertEqual(code, 0)
                self.assertGreater(len(words(text)), 5)
                self.assertGreaterEqual(
                    find_run(words(text), hay), 0,
                    "the page does not hold `mailwire help %s` word for "
                    "word: rebuild (the page is generated), or fix "
                    "scripts/mkdocs.py" % cmd)
                self.assertIn("MAILWIRE %s" % cmd.upper(), page)

    def test_help_equals_dash_dash_help(self):
        # The page is made from `help CMD`; what users type is --help.
        for cmd in ("send", "doctor", "probe", "fetch", "explain"):
            self.assertEqual(help_of("help", cmd), help_of(cmd, "--help"))

    def test_every_option_is_a_bold_entry(self):
        with open(os.path.join(DOCS, "mailwire.1")) as f:
            roff = f.read()
        _, text = help_of("help", "send")
        opts = set(re.findall(r"^  (-[-\w]+)", text, re.M))
        self.assertIn("--tls", opts)
        for opt in opts:
            self.assertIn("\\fB%s\\fR" % opt.replace("-", "\\-"), roff, opt)

    def test_config_5_documents_every_profile_key(self):
        with open(os.path.join(SOURCE, "src", "profile.c")) as f:
            src = f.read()
        keys = []
        for table in ("known_keys", "ignored_keys"):
            body = re.search(table + r"\[\] = \{(.*?)\};", src, re.S).group(1)
            keys += re.findall(r'"(\w+)"', re.sub(r"/\*.*?\*/", "", body,
                                                  flags=re.S))
        self.assertIn("tls_trust_file", keys)
        page = render("mailwire-config.5", width=200)[1]
        for key in keys:
            self.assertRegex(page, r"\b%s\b" % key, key)
        self.assertNotIn("UNDOCUMENTED KEY", page,
                         "a profile key lacks a description: "
                         "scripts/mkdocs.py KEY_OPTION or KEY_NOTE")
        # A key that sets an option carries that option's help text.
        _, send = help_of("help", "send")
        self.assertIn("trust only the CAs in FILE", send)
        self.assertRegex(page, r"tls_trust_file\s+--tls-ca-file FILE: trust "
                               r"only the CAs in FILE")

    def test_libmailwire_3_lists_every_function(self):
        with open(os.path.join(SOURCE, "include", "mailwire.h")) as f:
            text = f.read()
        text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
        text = re.sub(r"typedef[^;]*\([^;]*;", " ", text)
        funcs = set(re.findall(r"\b(mw_[a-z0-9_]+)\s*\(", text))
        self.assertGreater(len(funcs), 100)
        page = render("libmailwire.3", width=200)[1]
        listed = set(re.findall(r"\b(mw_[a-z0-9_]+)\(", page))
        self.assertEqual(sorted(funcs - listed), [])
        self.assertIn("MW_VERSION_NUM", page)
        self.assertIn("pkg-config --static --cflags --libs mailwire", page)


BASH_DRIVER = r'''
source "$1"; shift
COMP_WORDS=("$@")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_LINE="${COMP_WORDS[*]}"
COMP_POINT=${#COMP_LINE}
fn=$(complete -p mailwire | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
"$fn" mailwire "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
'''


class Bash(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mw-compl-")
        self.profile = os.path.join(self.dir, "config")
        with open(self.profile, "w") as f:
            f.write("defaults\ntls_mode starttls\n\naccount work\n"
                    "host smtp.example.test\n\naccount personal : work\n"
                    "from me@example.test\n\naccount default : work\n")
        self.other = os.path.join(self.dir, "other")
        with open(self.other, "w") as f:
            f.write("account   spare\nhost x.example.test\n")
        self.env = dict(os.environ, MAILWIRE_CONFIG=self.profile,
                        HOME=self.dir)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def complete(self, *words):
        p = subprocess.run(["bash", "--norc", "--noprofile", "-c",
                            BASH_DRIVER, "driver",
                            os.path.join(DOCS, "mailwire.bash"), "mailwire"] +
                           list(words), capture_output=True, env=self.env,
                           timeout=30, cwd=self.dir)
        self.assertEqual(p.stderr.decode(), "")
        return sorted(l for l in p.stdout.decode().split("\n") if l)

    def test_commands(self):
        self.assertEqual(self.complete("se"), ["send", "sendmail"])
        every = self.complete("")
        for cmd in commands():
            self.assertIn(cmd, every)
        self.assertIn("--version", every)
        self.assertEqual(self.complete("help", "fo"), ["folders"])

    def test_every_option_of_a_command(self):
        for cmd in ("send", "doctor", "probe", "fetch", "watch", "sendmail"):
            _, text = help_of("help", cmd)
            opts = set()
            for m in re.finditer(r"^  (-[^ ,]+(?:, -[^ ,]+)*)", text, re.M):
                for o in m.group(1).split(", "):
                    opts.add(o.split()[0])
            got = set(self.complete(cmd, "-"))
            self.assertTrue(opts, cmd)
            self.assertEqual(sorted(opts - got), [], cmd)
        self.assertEqual(self.complete("send", "--tls-m"),
                         ["--tls-max", "--tls-min"])

    def test_values(self):
        self.assertEqual(self.complete("send", "--tls", ""),
                         sorted("auto implicit starttls starttls-optional "
                                "none detect".split()))
        self.assertEqual(self.complete("fetch", "--tls", "st"),
                         ["starttls", "starttls-optional"])
        self.assertEqual(self.complete("send", "--tls-min", ""),
                         ["1.2", "1.3"])
        self.assertEqual(self.complete("send", "--proxy-protocol", ""),
                         ["v1", "v2"])
        self.assertEqual(self.complete("send", "--tls-ca-file", "oth"),
                         ["other"])
        self.assertEqual(self.complete("queue", ""),
                         ["drop", "list", "run", "show"])

    def test_account_names_from_the_profile(self):
        self.assertEqual(self.complete("send", "--account", ""),
                         ["personal", "work"])
        self.assertEqual(self.complete("fetch", "--account", "p"),
                         ["personal"])
        # -C FILE on the line wins over $MAILWIRE_CONFIG.
        self.assertEqual(self.complete("send", "-C", self.other, "--account",
                                       ""), ["spare"])
        self.assertEqual(self.complete("sendmail", "-a", ""),
                         ["personal", "work"])
        # No file: no names, no error.
        os.unlink(self.profile)
        self.assertEqual(self.complete("send", "--account", ""), [])


class Zsh(unittest.TestCase):
    def test_zsh_completion_parses_and_lists_every_command(self):
        path = os.path.join(DOCS, "_mailwire")
        with open(path) as f:
            text = f.read()
        self.assertTrue(text.startswith("#compdef mailwire\n"))
        for cmd in commands():
            self.assertRegex(text, r"\n    '%s:" % cmd)
            self.assertRegex(text, r"\n    %s\) " % cmd)
        self.assertIn("starttls-optional", text)
        if not shutil.which("zsh"):
            self.skipTest("zsh is not installed (Debian package zsh)")
        p = subprocess.run(["zsh", "-n", path], capture_output=True)
        self.assertEqual(p.returncode, 0, p.stderr.decode())


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/env python3
"""mkdocs.py - the man pages and shell completions of mailwire, generated
from the one source the program itself prints: its --help texts.

SUMMARY
    mkdocs.py man1 MAILWIRE OUT              mailwire(1)
    mkdocs.py man5 MAILWIRE PROFILE_C OUT    mailwire-config(5)
    mkdocs.py man3 MAILWIRE_H OUT            libmailwire(3)
    mkdocs.py bash MAILWIRE OUT              bash completion
    mkdocs.py zsh MAILWIRE OUT               zsh completion
    mkdocs.py words MAILWIRE CMD             the help of CMD as the words
                                             the man page must show (tests)

DESCRIPTION
    Run at build time (CMakeLists.txt, cmake/docs.cmake) with the freshly
    built CLI: `mailwire --help` gives the commands (every indented
    "  NAME  text" line under a heading such as "Commands:"), and
    `mailwire help CMD` (else `mailwire CMD --help`) each command's usage,
    text, option groups and exit status.  Each help is turned into roff
    block by block, word for word, so mailwire(1) says exactly what
    --help says; a command or option added to the program (its option
    table, src/args.c, or its own help text) appears in the page and the
    completions at the next build with nothing else to edit.

    Help text grammar (what src/args_help.c and the commands print):
      "Usage: ..." and its indented continuation lines    synopsis
      "Title:" at column 0 followed by an indented line    subsection
      "  -x, --name ARG   text" (+ deeper continuations)   option
      "  term   text" (two or more spaces apart)           definition
      any other indented line                              literal line
      other lines at column 0                              paragraph

    mailwire-config(5): the file format (hand-written, short), then every
    key of src/profile.c's known_keys[] and ignored_keys[] tables; a key
    that maps to an option shows that option's help text (KEY_OPTION
    below); tests/integration/test_docs.py checks that every key of the
    tables is in the page.

    libmailwire(3): the header's section banners and every function
    prototype with the comment block before it, in header order.

DIAGNOSTICS
    Exits 1 with a message when the program's help cannot be read or a
    command listed by `mailwire --help` has no help of its own.
"""

import os
import re
import subprocess
import sys

# ---------------------------------------------------------------------------
# Reading the program's help


def run_help(binary, *args):
    p = subprocess.run([binary] + list(args), capture_output=True,
                       stdin=subprocess.DEVNULL,
                       timeout=30, env={"PATH": "/usr/bin:/bin",
                                        "LC_ALL": "C", "NO_COLOR": "1"})
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8")


def command_help(binary, cmd):
    for args in (["help", cmd], [cmd, "--help"]):
        code, out, err = run_help(binary, *args)
        if code == 0 and out.strip():
            return out
        if code == 0 and err.strip():
            return err
    sys.exit("mkdocs: `%s help %s` and `%s %s --help` print no help: every "
             "command listed by --help needs one (src/main.c)"
             % (binary, cmd, binary, cmd))


def main_help(binary):
    code, out, err = run_help(binary, "--help")
    if code != 0 or not out.strip():
        sys.exit("mkdocs: `%s --help` failed: %s" % (binary, err))
    return out


def indent(line):
    return len(line) - len(line.lstrip(" "))


def is_heading(lines, i):
    line = lines[i]
    return (line and line[0] != " " and line.endswith(":") and
            not line.lower().startswith("usage:") and i + 1 < len(lines) and
            lines[i + 1].startswith("  ") and lines[i + 1].strip())


def parse(text):
    """Blocks of a help text: (kind, data).  kinds: usage [lines], heading
    title, option (term, desc), item (term, desc), literal [lines],
    para text."""
    lines = text.rstrip("\n").split("\n")
    blocks, i = [], 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            blocks.append(("blank", None))
            i += 1
        elif line.lower().startswith("usage:"):
            usage = [line]
            i += 1
            while i < len(lines) and lines[i].startswith(" ") and \
                    lines[i].strip():
                usage.append(lines[i])
                i += 1
            blocks.append(("usage", usage))
        elif is_heading(lines, i):
            blocks.append(("heading", line[:-1]))
            i += 1
        elif indent(line) == 2:
            body = line[2:]
            i += 1
            cont = []
            while i < len(lines) and indent(lines[i]) > 2 and \
                    lines[i].strip():
                cont.append(lines[i].strip())
                i += 1
            m = re.match(r"(\S(?:.*?\S)?)(?: {2,}(.*))?$", body)
            term, first = m.group(1), m.group(2)
            desc = " ".join(([first] if first else []) + cont)
            if body.startswith("-"):
                blocks.append(("option", (term, desc)))
            elif first or cont:
                blocks.append(("item", (term, desc)))
            else:
                blocks.append(("literal", [body]))
        elif line.startswith(" "):
            blocks.append(("literal", [line.strip()]))
            i += 1
        else:
            para = [line.strip()]
            i += 1
            while i < len(lines) and lines[i].strip() and \
                    not lines[i].startswith(" ") and \
                    not is_heading(lines, i) and \
                    not lines[i].lower().startswith("usage:"):
                para.append(lines[i].strip())
                i += 1
            blocks.append(("para", " ".join(para)))
    return blocks


def commands_of(main_text):
    """[(name, description)] from the main help's headed lists."""
    out, under = [], False
    for line in main_text.split("\n"):
        if not line.strip():
            under = False
            continue
        if line[0] != " ":
            under = line.endswith(":") and not line.startswith("Usage")
            continue
        m = re.match(r"  ([a-z][a-z0-9-]*)\b(.*?) {2,}(\S.*)$", line)
        if under and m and m.group(1) != "help":
            out.append((m.group(1), m.group(3)))
    return out


OPTION_RE = re.compile(r"(--?[A-Za-z0-9][-A-Za-z0-9]*)")


def options_of(blocks):
    """{option name: argument placeholder or None} from a parsed help:
    option entries, and [--opt ARG] in the usage lines."""
    opts = {}
    for kind, data in blocks:
        if kind == "option":
            # "-a, --account NAME": every spelling takes the argument.
            parts = [p.split(" ", 1) for p in data[0].split(", ")]
            arg = parts[-1][1] if len(parts[-1]) > 1 else None
            for words in parts:
                if OPTION_RE.fullmatch(words[0]):
                    opts[words[0]] = words[1] if len(words) > 1 else arg
        elif kind == "usage":
            for line in data:
                for m in re.finditer(r"\[((?:--?[-\w]+\|?)+)(?: ([A-Z][A-Z_]*|"
                                     r"[a-z]+\|[a-z|]+))?\]", line):
                    for name in m.group(1).split("|"):
                        if OPTION_RE.fullmatch(name):
                            opts.setdefault(name, m.group(2))
    return opts


def subcommands_of(cmd, blocks):
    """Words after `mailwire CMD` in its usage lines that are sub-commands
    (lower case, not options): queue's list, run..., config's show."""
    subs = []
    for kind, data in blocks:
        if kind != "usage":
            continue
        for line in data:
            m = re.search(r"mailwire %s ([a-z][a-z-]*)\b" % re.escape(cmd),
                          line)
            if m and m.group(1) not in subs:
                subs.append(m.group(1))
    return subs


# ---------------------------------------------------------------------------
# roff


def esc(text):
    text = text.replace("\\", "\\e").replace("-", "\\-")
    text = text.replace("'", "\\(aq").replace("`", "\\(ga")
    if text.startswith("."):
        text = "\\&" + text
    return text


def term_roff(term):
    """"-H, --header 'Name: value'" with names bold, arguments italic."""
    out = []
    for part in term.split(", "):
        words = part.split(" ", 1)
        if words[0].startswith("-"):
            s = "\\fB%s\\fR" % esc(words[0])
            if len(words) > 1:
                s += " \\fI%s\\fR" % esc(words[1])
        else:
            s = esc(part)
        out.append(s)
    return ", ".join(out)


def blocks_roff(blocks, skip_usage=False):
    out, in_list = [], False
    for kind, data in blocks:
        if kind == "blank":
            continue
        if kind == "usage":
            if skip_usage:
                continue
            out += [".PP", ".nf"] + [esc(l) for l in data] + [".fi"]
        elif kind == "heading":
            out += [".SS %s" % esc(data)]
        elif kind in ("option", "item"):
            term, desc = data
            out += [".TP" if kind == "option" else ".TP 12",
                    term_roff(term) if kind == "option"
                    else "\\fB%s\\fR" % esc(term)]
            out += [esc(desc)] if desc else []
        elif kind == "literal":
            out += [".PP", ".RS 4", ".nf"] + [esc(l) for l in data] + \
                   [".fi", ".RE"]
        elif kind == "para":
            out += [".PP", esc(data)]
    # Consecutive literal lines: one block.
    text = "\n".join(out)
    text = text.replace(".fi\n.RE\n.PP\n.RS 4\n.nf\n", "")
    return text.split("\n")


def header(name, section, title):
    return ['.\\" Generated by scripts/mkdocs.py from the program\'s own '
            'help: do not edit.',
            '.TH %s %d "" "mailwire %s" "%s"' % (name, section, VERSION,
                                                  title),
            ".nh", ".ad l"]


VERSION = "0"


def man1(binary):
    main = main_help(binary)
    mblocks = parse(main)
    cmds = commands_of(main)
    out = header("MAILWIRE", 1, "User Commands")
    out += [".SH NAME",
            "mailwire \\- send, diagnose and fetch mail over SMTP, POP3 and "
            "IMAP", ".SH SYNOPSIS", ".nf"]
    helps = {}
    for cmd, _ in cmds:
        helps[cmd] = parse(command_help(binary, cmd))
        for kind, data in helps[cmd]:
            if kind == "usage":
                # "Usage: " off the first line, as many columns off the
                # continuation lines (their alignment kept).
                cut = len(re.match(r"[Uu]sage: *", data[0]).group(0))
                for n, line in enumerate(data):
                    line = line[cut:] if n == 0 or \
                        line[:cut].strip() == "" else line.strip()
                    out.append(esc(line.rstrip()))
    out += [".fi", ".SH DESCRIPTION"]
    out += blocks_roff(mblocks)
    for cmd, desc in cmds:
        out += [".SH \"MAILWIRE %s\"" % esc(cmd.upper()),
                ".PP", "\\fBmailwire %s\\fR \\- %s" % (esc(cmd), esc(desc))]
        out += blocks_roff(helps[cmd])
    out += [".SH ENVIRONMENT",
            ".TP", "\\fBMAILWIRE_CONFIG\\fR",
            "the profile file when \\fB\\-C\\fR is not given",
            ".TP", "\\fBXDG_CONFIG_HOME\\fR",
            "the profile file is \\fI$XDG_CONFIG_HOME/mailwire/config\\fR "
            "(default \\fI~/.config\\fR)",
            ".TP", "\\fBNO_COLOR\\fR", "no colour on a terminal",
            ".SH FILES",
            ".TP", "\\fI~/.config/mailwire/config\\fR",
            "account profiles: see \\fBmailwire\\-config\\fR(5)",
            ".SH SEE ALSO",
            "\\fBmailwire\\-config\\fR(5), \\fBlibmailwire\\fR(3), "
            "\\fBmsmtp\\fR(1), \\fBsendmail\\fR(8)"]
    return out


# ---------------------------------------------------------------------------
# mailwire-config(5)

# The profile keys that set an option: the page shows the option's help.
# (src/profile.c entry_words() holds the mapping the program uses.)
KEY_OPTION = {
    "user": "--user", "passwordeval": "--password-cmd", "from": "--from",
    "source_ip": "--bind", "bind": "--bind", "domain": "--helo",
    "tls_fingerprint": "--tls-fingerprint",
    "tls_host_override": "--tls-server-name", "tls_mode": "--tls",
    "proxy": "--proxy", "proxy_protocol": "--proxy-protocol",
    "dns_server": "--dns-server", "connect_timeout": "--connect-timeout",
    "greeting_timeout": "--greeting-timeout", "tls_min": "--tls-min",
    "tls_max": "--tls-max", "tls_ciphers": "--tls-ciphers",
    "oauth2_token_cmd": "--oauth2-token-cmd",
    "secret_cmd_timeout": "--secret-cmd-timeout",
    "max_message_size": "--max-message-size", "mailbox": "--mailbox",
    "mda": "--mda", "queue_dir": "--queue-dir",
    "tls_trust_file": "--tls-ca-file", "tls_cert_file": "--tls-cert",
    "tls_key_file": "--tls-key", "auth": "--auth", "timeout": "--timeout",
    "protocol": "--protocol", "maildir": "--maildir", "mbox": "--mbox",
    "state_dir": "--state-dir", "tls_crl_file": "--tls-crl-file",
    "dsn_return": "--dsn-ret",
}
# What a key does beyond its option, or what it is when it has none.
KEY_NOTE = {
    "host": "the server's host name or address (with \\fBport\\fR: "
            "\\fB\\-\\-server\\fR \\fIHOST:PORT\\fR)",
    "port": "the server's port (needs \\fBhost\\fR)",
    "tls": "on or off (msmtp): off is \\fB\\-\\-tls none\\fR; with "
           "\\fBtls_starttls\\fR off, implicit TLS",
    "tls_starttls": "on (default: STARTTLS) or off (implicit TLS)",
    "tls_certcheck": "off is \\fB\\-\\-insecure\\fR",
    "tls_min_proto": "tls1.2 or tls1.3 (msmtp's spelling of "
                     "\\fB\\-\\-tls\\-min\\fR)",
    "tls_strict": "on or off: \\fB\\-\\-tls\\-strict\\fR",
    "allow_insecure_auth": "on or off: \\fB\\-\\-allow\\-insecure\\-auth\\fR",
    "password": "the password itself; the file must then not be readable "
                "by others (prefer \\fBpasswordeval\\fR)",
    "proxy_host": "a SOCKS5 proxy (msmtp), as "
                  "\\fB\\-\\-proxy socks5h://\\fR\\fIHOST:PORT\\fR",
    "proxy_port": "its port (default 1080)",
    "ipv": "4 or 6: \\fB\\-4\\fR or \\fB\\-6\\fR",
    "keep": "on (\\fB\\-\\-keep\\fR) or off (\\fB\\-\\-delete\\fR)",
    "auth": "on or off (msmtp: by the credentials given), or a list of "
            "mechanisms",
    "timeout": "off, or",
    "protocol": "smtp or lmtp (msmtp: nothing to set), imap or pop3",
}


def c_string_array(source, name):
    m = re.search(r"%s\[\]\s*=\s*\{(.*?)\};" % re.escape(name), source, re.S)
    if not m:
        sys.exit("mkdocs: no %s[] in the profile source" % name)
    body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
    return re.findall(r'"([^"]+)"', body)


def option_texts(binary):
    """{option: (argument, help text)} over every command's help."""
    texts = {}
    for cmd, _ in commands_of(main_help(binary)):
        for kind, data in parse(command_help(binary, cmd)):
            if kind == "option":
                for part in data[0].split(", "):
                    words = part.split(" ", 1)
                    texts.setdefault(words[0], (words[1] if len(words) > 1
                                                else None, data[1]))
    return texts


def man5(binary, profile_c):
    with open(profile_c) as f:
        source = f.read()
    known = c_string_array(source, "known_keys")
    ignored = c_string_array(source, "ignored_keys")
    texts = option_texts(binary)
    out = header("MAILWIRE-CONFIG", 5, "File Formats")
    out += [".SH NAME",
            "mailwire\\-config \\- account profiles of mailwire",
            ".SH SYNOPSIS",
            "\\fI$MAILWIRE_CONFIG\\fR, "
            "\\fI$XDG_CONFIG_HOME/mailwire/config\\fR, "
            "\\fI~/.config/mailwire/config\\fR, or \\fB\\-C\\fR \\fIFILE\\fR",
            ".SH DESCRIPTION",
            ".PP",
            "The profile file names the accounts \\fBmailwire\\fR(1) sends "
            "and fetches mail with, in the syntax of \\fBmsmtp\\fR(1): an "
            "existing \\fI~/.msmtprc\\fR works unchanged.  Each command but "
            "explain reads it; \\fB\\-\\-account\\fR \\fINAME\\fR picks an "
            "account, and options given on the command line override it.",
            ".PP",
            "A line is \\fIkey value\\fR, a comment starting with \\fB#\\fR, "
            "or blank.  \\fBdefaults\\fR starts the settings every later "
            "account inherits; \\fBaccount\\fR \\fINAME\\fR starts an "
            "account; \\fBaccount\\fR \\fINAME\\fR \\fB:\\fR \\fIA\\fR, "
            "\\fIB\\fR also inherits from A, then B; \\fBaccount default "
            ":\\fR \\fINAME\\fR names the default account.  Values may be "
            "double\\-quoted, with \\e\" and \\e\\e escapes.  An unknown key "
            "is an error naming the file and line (with the key meant, for "
            "a typo), never ignored silently.",
            ".PP",
            "A file that holds a password (\\fBpassword\\fR, or a proxy URL "
            "with one) in any account is refused when others can read it.  "
            "`mailwire config show` prints the effective account, secrets "
            "redacted.",
            ".SH KEYS", ".PP",
            "Each key sets what the option named does; the option's text "
            "is the one of \\fBmailwire\\fR(1)."]
    for key in known:
        out += [".TP", "\\fB%s\\fR" % esc(key)]
        note = KEY_NOTE.get(key)
        opt = KEY_OPTION.get(key)
        line = []
        if note:
            line.append(note)
        if opt:
            arg, text = texts.get(opt, (None, None))
            if text is None:
                sys.exit("mkdocs: profile key %s: no option %s in the help"
                         % (key, opt))
            line.append("\\fB%s\\fR%s: %s" % (
                esc(opt), " \\fI%s\\fR" % esc(arg) if arg else "", esc(text)))
        if not line:
            # A new key named as its option ("queue_dir", --queue-dir).
            opt = "--" + key.replace("_", "-")
            if opt in texts:
                arg, text = texts[opt]
                line.append("\\fB%s\\fR%s: %s" % (
                    esc(opt), " \\fI%s\\fR" % esc(arg) if arg else "",
                    esc(text)))
            else:
                # Not fatal for the build; tests/integration/test_docs.py
                # fails on it.
                sys.stderr.write("mkdocs: profile key %s has no "
                                 "description: add it to KEY_OPTION or "
                                 "KEY_NOTE in scripts/mkdocs.py\n" % key)
                line.append("UNDOCUMENTED KEY")
        out.append(" ".join(line))
    out += [".SS Accepted and ignored", ".PP",
            "These msmtp keys (logging, local delivery, header rewriting) "
            "are accepted and set nothing: " +
            ", ".join("\\fB%s\\fR" % esc(k) for k in ignored) + "."]
    out += [".SH EXAMPLE", ".PP", ".nf",
            "defaults", "tls_mode starttls", "",
            "account work", "host smtp.example.com", "port 587",
            "from alice@example.com", "user alice@example.com",
            "passwordeval pass show mail/work", "",
            "account inbox : work", "protocol imap", "host imap.example.com",
            "maildir ~/Mail/work", "",
            "account default : work", ".fi",
            ".SH SEE ALSO", "\\fBmailwire\\fR(1), \\fBmsmtp\\fR(1)"]
    return out


# ---------------------------------------------------------------------------
# libmailwire(3)


def c_tokens(text):
    """(kind, text, blank line before, newline before) of a C header: comment, pp (a
    preprocessor line), decl (up to ; or a whole { } body)."""
    i, n, blank, nl = 0, len(text), False, False
    while i < n:
        c = text[i]
        if c == "\n":
            nl = True
            j = i + 1
            while j < n and text[j] in " \t":
                j += 1
            if j < n and text[j] == "\n":
                blank = True
            i += 1
        elif c in " \t" or c == "}":  # "}" closes extern "C"
            i += 1
        elif text.startswith('extern "C"', i):
            i = text.index("{", i) + 1
        elif text.startswith("/*", i):
            j = text.index("*/", i) + 2
            yield "comment", text[i:j], blank, nl
            blank, nl, i = False, False, j
        elif c == "#":
            j = i
            while True:
                j = text.find("\n", j)
                if j < 0:
                    j = n
                    break
                if text[j - 1] != "\\":
                    break
                j += 1
            yield "pp", text[i:j], blank, nl
            blank, nl, i = False, False, j
        else:
            j, depth = i, 0
            while j < n:
                if text.startswith("/*", j):
                    j = text.index("*/", j) + 2
                    continue
                if text[j] == "{":
                    depth += 1
                elif text[j] == "}":
                    depth -= 1
                elif text[j] == ";" and depth <= 0:
                    break
                j += 1
            yield "decl", text[i:j + 1], blank, nl
            blank, nl, i = False, False, j + 1


def comment_text(comment):
    # Doxygen's markers ("/**", "/**<") and commands (@since, @deprecated)
    # read as prose in the page.
    body = re.sub(r"^\*<? ?", "", comment[2:-2])
    body = re.sub(r"@since\b", "Since", body)
    body = re.sub(r"@deprecated\b", "Deprecated", body)
    lines = [re.sub(r"^\s*\* ?", "", l).rstrip() for l in body.split("\n")]
    return lines


def header_items(body):
    """("banner", [title, text...]) and ("decls", ([decl...], comment))."""
    items, pending, group = [], None, None
    prev_decl_line_end = last_define = False
    for kind, tok, blank, nl in c_tokens(body):
        if kind == "comment":
            if re.match(r"/\*\*\s*@[{}]\s*\*/$", tok):
                continue  # a Doxygen member group's bracket
            lines = comment_text(tok)
            if lines and re.match(r"^-{8,}", lines[0].strip()):
                title = [l.strip() for l in lines[1:]
                         if l.strip() and not re.match(r"^-{8,}", l.strip())]
                if title:
                    items.append(("banner", title))
                pending, group = None, None
                continue
            text = " ".join(l.strip() for l in lines if l.strip())
            if group is not None and prev_decl_line_end and not nl:
                # "decl; /* note */" on one line: the note of that decl.
                group[0][-1] += "  /* %s */" % text
                pending = None
            else:
                pending, group = text, None
            prev_decl_line_end = False
            continue
        if kind == "pp":
            if tok.startswith("#define MW_"):
                # Public macros verbatim; a run of them is one block.
                if last_define and not blank and pending is None:
                    code, note = items[-1][1]
                    items[-1] = ("type", (code + "\n" + tok, note))
                else:
                    items.append(("type", (tok, pending or "")))
            last_define = tok.startswith("#define MW_")
            pending, group, prev_decl_line_end = None, None, False
            continue
        last_define = False
        decl = " ".join(re.sub(r"/\*.*?\*/", " ", tok, flags=re.S).split())
        fm = re.search(r"\b(mw_[a-z0-9_]+)\s*\(", decl)
        is_function = fm and not decl.startswith("typedef") and "{" not in decl
        if not is_function:
            if tok.lstrip().startswith("typedef"):
                # Types verbatim, with their comments.
                items.append(("type", (tok.strip("\n"), pending or "")))
            pending, group, prev_decl_line_end = None, None, False
            continue
        if group is not None and not blank and pending is None:
            group[0].append(decl)
        else:
            group = [[decl], pending or ""]
            items.append(("decls", group))
        pending = None
        # whether the next token starts on this line
        prev_decl_line_end = True
    return [(k, tuple(v) if k == "decls" else v) for k, v in items]


def man3(header_path):
    with open(header_path) as f:
        text = f.read()
    out = header("LIBMAILWIRE", 3, "Library Functions")
    top = re.match(r"/\*(.*?)\*/", text, re.S).group(1)
    top_lines = [re.sub(r"^ ?\* ?", "", l) for l in top.split("\n")]
    out += [".SH NAME",
            "libmailwire \\- SMTP, POP3 and IMAP client library with "
            "connection diagnostics",
            ".SH SYNOPSIS", ".nf", "\\fB#include <mailwire.h>\\fR", "",
            "cc prog.c $(pkg\\-config \\-\\-cflags \\-\\-libs mailwire)",
            "cc prog.c $(pkg\\-config \\-\\-static \\-\\-cflags \\-\\-libs "
            "mailwire)",
            "find_package(mailwire) \\- mailwire::mailwire, mailwire::static",
            ".fi", ".SH DESCRIPTION", ".nf"]
    out += [esc(l) for l in top_lines[1:] if True]
    out += [".fi", ".SH FUNCTIONS"]
    # Walk the header: section banners, then each run of declarations
    # (no blank line between them) with the comment before it, or the
    # comment on the same line after it.
    body = text[text.index("#define MAILWIRE_H") + len("#define MAILWIRE_H"):]
    for kind, item in header_items(body):
        if kind == "banner":
            out += [".SS %s" % esc(item[0])]
            if len(item) > 1:
                out += [".PP", esc(" ".join(item[1:]))]
        elif kind == "type":
            code, comment = item
            if comment:
                out += [".PP", esc(comment)]
            out += [".PP", ".RS 4", ".nf"]
            out += [esc(l) if l.strip() else "" for l in code.split("\n")]
            out += [".fi", ".RE"]
        else:
            decls, comment = item
            out += [".PP", ".nf"] + ["\\fB%s\\fR" % esc(d) for d in decls]
            out += [".fi"]
            if comment:
                out += [".RS 4", esc(comment), ".RE"]
    out += [".SH SEE ALSO", "\\fBmailwire\\fR(1), "
            "\\fBmailwire\\-config\\fR(5), the examples/ directory of the "
            "source"]
    return out


# ---------------------------------------------------------------------------
# Completions

# Values of options, by option name, where the help's placeholder does not
# say enough; the rest go by placeholder (FILE, DIR, NAME of --account, a
# choice written a|b).
TLS_MODES = "auto implicit starttls starttls-optional none detect"
VALUES = {
    "--tls": TLS_MODES,
    "--tls-min": "1.2 1.3", "--tls-max": "1.2 1.3",
    "--protocol": "smtp imap pop3",
    "--auth": "SCRAM-SHA-256 SCRAM-SHA-1 PLAIN LOGIN CRAM-MD5 XOAUTH2 "
              "OAUTHBEARER EXTERNAL",
}
FILE_ARGS = {"FILE", "FILE|-", "PATH"}
DIR_ARGS = {"DIR"}


def completion_model(binary):
    """[(cmd, subcommands, {opt: kind})] kind: None (no value), "file",
    "dir", "account", "words:a b c", "any"."""
    model = []
    for cmd, _ in commands_of(main_help(binary)):
        blocks = parse(command_help(binary, cmd))
        opts = {}
        for name, arg in sorted(options_of(blocks).items()):
            if arg is None:
                kind = None
            elif name in VALUES:
                kind = "words:" + VALUES[name]
            elif name == "--account" or (arg == "NAME" and name == "-a"):
                kind = "account"
            elif arg in FILE_ARGS:
                kind = "file"
            elif arg in DIR_ARGS:
                kind = "dir"
            elif re.fullmatch(r"[a-z0-9.]+(\|[a-z0-9.]+)+", arg):
                kind = "words:" + arg.replace("|", " ")
            else:
                kind = "any"
            opts[name] = kind
        model.append((cmd, subcommands_of(cmd, blocks), opts))
    return model


ACCOUNTS_SH = r'''
# Account names from the profile file: -C/--config FILE on the line, else
# $MAILWIRE_CONFIG, else $XDG_CONFIG_HOME/mailwire/config.
_mailwire_accounts()
{
    local file="" i
    for ((i = 1; i < ${#COMP_WORDS[@]}; i++)); do
        case ${COMP_WORDS[i]} in
            -C|--config) file=${COMP_WORDS[i+1]} ;;
            --config=*) file=${COMP_WORDS[i]#--config=} ;;
        esac
    done
    [[ -z $file ]] && file=${MAILWIRE_CONFIG:-${XDG_CONFIG_HOME:-$HOME/.config}/mailwire/config}
    file=${file/#\~/$HOME}
    [[ -r $file ]] || return 0
    local key name rest
    while read -r key name rest; do
        [[ $key == account && -n $name && $name != default ]] && printf '%s\n' "$name"
    done < "$file"
}
'''


def bash(binary):
    model = completion_model(binary)
    cmds = " ".join(c for c, _, _ in model) + " help"
    out = ["# bash completion for mailwire -*- shell-script -*-",
           "# Generated by scripts/mkdocs.py from `mailwire --help` and each "
           "command's help: do not edit.",
           ACCOUNTS_SH.strip("\n"), "",
           "_mailwire()", "{",
           "    local cur=${COMP_WORDS[COMP_CWORD]}",
           "    local prev=${COMP_WORDS[COMP_CWORD-1]}",
           "    COMPREPLY=()",
           "    if ((COMP_CWORD == 1)); then",
           "        COMPREPLY=($(compgen -W '%s --help --version' -- \"$cur\"))"
           % cmds,
           "        return 0", "    fi",
           "    local cmd=${COMP_WORDS[1]} opts='' subs=''",
           "    case $cmd in",
           "        help) ((COMP_CWORD == 2)) && COMPREPLY=($(compgen -W "
           "'%s' -- \"$cur\")); return 0 ;;" % cmds.replace(" help", "")]
    for cmd, subs, opts in model:
        out.append("        %s)" % cmd)
        out.append("            opts='%s'" % " ".join(sorted(opts)))
        if subs:
            out.append("            subs='%s'" % " ".join(subs))
        # Values of the options that take one.
        cases = {}
        for name, kind in opts.items():
            if kind:
                cases.setdefault(kind, []).append(name)
        if cases:
            out.append("            case $prev in")
            for kind, names in sorted(cases.items()):
                pat = "|".join(sorted(names))
                if kind == "file":
                    act = "compopt -o filenames 2>/dev/null; " \
                          "COMPREPLY=($(compgen -f -- \"$cur\"))"
                elif kind == "dir":
                    act = "compopt -o filenames 2>/dev/null; " \
                          "COMPREPLY=($(compgen -d -- \"$cur\"))"
                elif kind == "account":
                    act = "COMPREPLY=($(compgen -W \"$(_mailwire_accounts)\"" \
                          " -- \"$cur\"))"
                elif kind.startswith("words:"):
                    act = "COMPREPLY=($(compgen -W '%s' -- \"$cur\"))" % \
                          kind[6:]
                else:
                    act = ":"
                out.append("                %s) %s; return 0 ;;" % (pat, act))
            out.append("            esac")
        out.append("            ;;")
    out += ["        *) return 0 ;;", "    esac",
            "    if [[ -n $subs ]] && ((COMP_CWORD == 2)); then",
            "        COMPREPLY=($(compgen -W \"$subs\" -- \"$cur\"))",
            "        return 0", "    fi",
            "    if [[ $cur == -* ]]; then",
            "        COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))",
            "    else",
            "        compopt -o filenames 2>/dev/null",
            "        COMPREPLY=($(compgen -f -- \"$cur\"))",
            "    fi", "}",
            "complete -F _mailwire mailwire"]
    return out


def zsh(binary):
    model = completion_model(binary)
    main = commands_of(main_help(binary))
    out = ["#compdef mailwire",
           "# zsh completion for mailwire.  Generated by scripts/mkdocs.py "
           "from `mailwire --help` and each command's help: do not edit.",
           "",
           "_mailwire_accounts() {",
           "  local file=${MAILWIRE_CONFIG:-${XDG_CONFIG_HOME:-$HOME/.config}"
           "/mailwire/config}",
           "  local i",
           "  for ((i = 1; i < $#words; i++)); do",
           "    [[ $words[i] == (-C|--config) ]] && file=$words[i+1]",
           "  done",
           "  file=${~file}",
           "  [[ -r $file ]] || return 1",
           "  local -a names",
           "  names=(${${(M)${(f)\"$(<$file)\"}:#account[[:space:]]##[^[:space:]]##*}"
           "})",
           "  names=(${${names#account[[:space:]]##}%%[[:space:]]*})",
           "  names=(${names:#default})",
           "  compadd -a names",
           "}", "",
           "_mailwire() {",
           "  local -a commands",
           "  commands=("]
    for cmd, desc in main:
        out.append("    '%s:%s'" % (cmd, desc.replace("'", "'\\''")))
    out += ["    'help:show the help of a command'", "  )",
            "  if (( CURRENT == 2 )); then",
            "    _describe -t commands 'mailwire command' commands",
            "    _arguments '--help[show the help]' '--version[show the "
            "version]'",
            "    return", "  fi",
            "  local cmd=$words[2]",
            "  case $cmd in",
            "    help) (( CURRENT == 3 )) && _describe -t commands "
            "'command' commands ;;"]
    for cmd, subs, opts in model:
        specs = []
        for name, kind in sorted(opts.items()):
            if kind is None:
                specs.append("'%s'" % name)
                continue
            action = {"file": "_files", "dir": "_files -/",
                      "account": "_mailwire_accounts",
                      "any": " "}.get(kind)
            if kind.startswith("words:"):
                action = "(%s)" % kind[6:]
            specs.append("'%s:value:%s'" % (name, action))
        if subs:
            specs.append("'1:subcommand:(%s)'" % " ".join(subs))
        specs.append("'*:file:_files'")
        out.append("    %s) shift words; (( CURRENT-- )); _arguments -S %s ;;"
                   % (cmd, " ".join(specs)))
    out += ["  esac", "}", "", "_mailwire \"$@\""]
    return out


# ---------------------------------------------------------------------------


def words(binary, cmd):
    """The words of `mailwire help CMD` as they must appear in the page."""
    text = command_help(binary, cmd) if cmd != "-" else main_help(binary)
    return [w.rstrip(":") for w in text.split()]


def main(argv):
    global VERSION
    if len(argv) < 3:
        sys.exit(__doc__)
    mode = argv[1]
    if mode == "man3":
        with open(argv[2]) as f:
            m = re.search(r'#define MW_VERSION_STRING "([^"]+)"', f.read())
        VERSION = m.group(1)
        lines = man3(argv[2])
    else:
        binary = os.path.abspath(argv[2])
        v = run_help(binary, "--version")[1].split()
        VERSION = v[-1] if v else "0"
        if mode == "man1":
            lines = man1(binary)
        elif mode == "man5":
            lines = man5(binary, argv[3])
            argv = argv[:3] + argv[4:]
        elif mode == "bash":
            lines = bash(binary)
        elif mode == "zsh":
            lines = zsh(binary)
        elif mode == "words":
            print("\n".join(words(binary, argv[3])))
            return
        else:
            sys.exit("mkdocs: unknown mode %s" % mode)
    out = argv[3] if len(argv) > 3 else None
    text = "\n".join(lines) + "\n"
    if out:
        tmp = out + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, out)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main(sys.argv)

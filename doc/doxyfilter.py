#!/usr/bin/env python3
"""doxyfilter.py - Doxygen's INPUT_FILTER for include/mailwire.h.

The header's comments are plain prose meant to be read in the header:
e-mail addresses ("alice@example.org"), placeholders ("<redacted>",
"Name <addr>") and HTML in examples.  Doxygen would read "@example" as a
command and "<redacted>" as an HTML tag, so inside /** */ comments this
escapes every '@' that does not start one of the commands the header uses,
every '<' and '>' (but the "/**<" marker) and '#', outside quoted
strings.  Nothing else changes: line numbers stay those of the header.
"""
import re
import sys

COMMANDS = ("since", "deprecated", "file", "{", "}")


def escape_outside_quotes(text):
    text = re.sub(r"@(?!(?:%s)(?![A-Za-z]))" %
                  "|".join(re.escape(c) for c in COMMANDS), r"\\@", text)
    text = text.replace("<", "\\<").replace(">", "\\>")
    return text.replace("#", "\\#")  # "#if" is not a link request


def escape(comment):
    head = "/**<" if comment.startswith("/**<") else "/**"
    body = comment[len(head):-2]
    # Doxygen takes text in double quotes as it is (an escape there would
    # show), so only the text between quoted strings is escaped; a quote
    # does not run past the end of its line.
    out = []
    for line in body.split("\n"):
        parts = re.split(r'(?<!\\)"', line)  # \" is not a quote
        if len(parts) % 2 == 0:  # an unbalanced quote: not a string
            parts = [line]
        out.append('"'.join(p if i % 2 else escape_outside_quotes(p)
                            for i, p in enumerate(parts)))
    return head + "\n".join(out) + "*/"


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    sys.stdout.write(re.sub(r"/\*\*.*?\*/", lambda m: escape(m.group(0)),
                            text, flags=re.S))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""doxyfilter.py - Doxygen's INPUT_FILTER for include/mailwire.h.

The header's comments are plain prose meant to be read in the header:
e-mail addresses ("alice@example.org"), placeholders ("<redacted>",
"Name <addr>") and HTML in examples.  Doxygen would read "@example" as a
command and "<redacted>" as an HTML tag, so inside /** */ comments this
escapes every '@' that does not start one of the commands the header uses,
and every '<' and '>' (but the "/**<" marker).  Nothing else changes: line
numbers stay those of the header.
"""
import re
import sys

COMMANDS = ("since", "deprecated", "file", "{", "}")


def escape(comment):
    head = "/**<" if comment.startswith("/**<") else "/**"
    body = comment[len(head):-2]
    body = re.sub(r"@(?!(?:%s)(?![A-Za-z]))" %
                  "|".join(re.escape(c) for c in COMMANDS), r"\\@", body)
    body = body.replace("<", "\\<").replace(">", "\\>")
    return head + body + "*/"


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    sys.stdout.write(re.sub(r"/\*\*.*?\*/", lambda m: escape(m.group(0)),
                            text, flags=re.S))


if __name__ == "__main__":
    main()

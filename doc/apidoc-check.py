#!/usr/bin/env python3
"""apidoc-check.py DOXYGEN DOXYFILE HEADER WORKDIR - the docs.api test.

Runs Doxygen with the API reference's configuration (output in WORKDIR)
and fails on any warning (an undocumented function, a broken command),
then checks in its XML output that every function HEADER declares is
documented and carries @since, that each one returning mw_status names
its statuses, and each one returning a pointer says whose it is.  Exits 77 (skipped) when DOXYGEN is empty:
scripts/setup.sh installs doxygen, so CI runs it.
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET


def header_functions(path):
    with open(path) as f:
        text = f.read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"^\s*#.*$", " ", text, flags=re.M)
    text = re.sub(r'MW_DEPRECATED\("[^"]*"\)', " ", text)
    text = re.sub(r"typedef[^;]*\([^;]*;", " ", text)
    return set(re.findall(r"\b(mw_[a-z0-9_]+)\s*\(", text))


def main(argv):
    doxygen, doxyfile, header, work = argv[1:5]
    if not doxygen:
        print("SKIPPED: doxygen is not installed (scripts/setup.sh "
              "installs it); the API reference was not checked")
        return 77
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    log = os.path.join(work, "warnings.log")
    with open(doxyfile) as f:
        config = f.read()
    config += "\nOUTPUT_DIRECTORY = %s\nWARN_LOGFILE = %s\n" % (work, log)
    proc = subprocess.run([doxygen, "-"], input=config, text=True,
                          capture_output=True)
    warnings = open(log).read().strip() if os.path.exists(log) else ""
    sys.stdout.write(proc.stdout + proc.stderr)
    if warnings:
        print("doxygen warnings:\n" + warnings)
    if proc.returncode != 0 or warnings:
        print("FAIL: doxygen exited %d with %d warning line(s)" %
              (proc.returncode, len(warnings.splitlines())))
        return 1
    documented, since = set(), set()
    no_errors, no_ownership = [], []
    for xml in glob.glob(os.path.join(work, "xml", "*.xml")):
        for m in ET.parse(xml).iter("memberdef"):
            if m.get("kind") != "function":
                continue
            name = m.findtext("name")
            desc = "".join(m.find("briefdescription").itertext()) + \
                "".join(m.find("detaileddescription").itertext())
            if desc.strip():
                documented.add(name)
            for s in m.iter("simplesect"):
                if s.get("kind") == "since":
                    since.add(name)
            rtype = "".join(m.find("type").itertext())
            # Error behaviour: a function returning mw_status names the
            # statuses it returns; ownership: one returning a pointer says
            # whose it is and for how long.
            if "mw_status" in rtype and not re.search(r"MW_(OK|E_)", desc):
                no_errors.append(name)
            if "*" in rtype and not re.search(
                    r"[Bb]orrowed|static|[Ff]ree|owned|[Oo]wnership|until|"
                    r"NULL", desc):
                no_ownership.append(name)
    declared = header_functions(header)
    missing = sorted(declared - documented)
    no_since = sorted(declared - since)
    print("%d functions declared, %d documented, %d with @since" %
          (len(declared), len(declared & documented), len(declared & since)))
    if len(declared) < 100 or missing or no_since:
        print("FAIL: undocumented: %s; without @since: %s" %
              (missing, no_since))
        return 1
    if no_errors or no_ownership:
        print("FAIL: no statuses named: %s; no ownership said: %s" %
              (sorted(no_errors), sorted(no_ownership)))
        return 1
    print("OK: %s" % os.path.join(work, "html", "index.html"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

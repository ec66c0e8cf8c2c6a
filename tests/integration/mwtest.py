"""Shared helpers for mailwire's integration tests: find the binary, run
it, parse its JSON."""

import json
import os
import subprocess
import time

import shlex

MAILWIRE = os.environ.get("MAILWIRE_BIN", "mailwire")
# MW_WRAPPER runs every binary under a tool (the valgrind pass of
# scripts/test.sh); MW_TIME_SCALE stretches the few time bounds the tests
# check (a deadline that must hold), since such tools slow everything down.
WRAPPER = shlex.split(os.environ.get("MW_WRAPPER", ""))
TIME_SCALE = float(os.environ.get("MW_TIME_SCALE", "1"))


def bound(seconds):
    """An upper time bound, scaled for slow runs."""
    return seconds * TIME_SCALE


def command(binary, *args):
    return WRAPPER + [binary] + list(args)


def run(args, env=None, input=None, timeout=60):
    """Run `mailwire ARGS`; return (exit code, stdout, stderr, seconds)."""
    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    if env:
        full_env.update(env)
    t0 = time.monotonic()
    p = subprocess.run(command(MAILWIRE, *args), env=full_env, input=input,
                       capture_output=True, timeout=timeout)
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"), time.monotonic() - t0)


def run_json(args, **kw):
    code, out, err, secs = run(list(args) + ["--json"], **kw)
    try:
        doc = json.loads(out)
    except ValueError:
        raise AssertionError("no JSON on stdout (exit %d)\nstdout: %s\n"
                             "stderr: %s" % (code, out, err))
    return code, doc, err, secs

#!/usr/bin/env python3
"""incoming.py - one-way download of N small messages from the rig's
Dovecot into a Maildir: mailwire fetch against fetchmail, getmail6 and
mbsync, as ratios, in one run.

Driven by bench/run.sh (which starts the rig and builds mailwire):

    python3 bench/incoming.py --rig-env DIR/rig.env --mailwire BUILD/mailwire \
        --work WORKDIR [--messages 5000] [--protocols imaps,pop3s] \
        [--out bench/results/incoming.json]

For every protocol and tool: the rig's bulk@ mailbox is emptied and
filled with the same N messages (rigutil.fill_maildir), Dovecot indexes
them (untimed), then the tool runs alone, as an unprivileged user
(nobody: getmail refuses to deliver as root, fetchmail warns), into an
empty Maildir of its own, under GNU time for the peak RSS.  Afterwards
the Maildir must hold exactly the N messages, each once (by Message-ID),
or the row is INVALID.  Same durability for all, at least: every
message's data is on disk before it is linked into new/ (mailwire also
fsyncs new/ and its state before it counts a batch; see
bench/README.md).  Everything
talks to 127.0.0.1 only.  It only reports; nothing here asserts a timing.
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import rigutil  # noqa: E402

GNU_TIME = "/usr/bin/time"
SAFECAT = "/usr/bin/safecat"
NOBODY = 65534
PW_ENV = "MW_BENCH_PASSWORD"

TOOLS = {"imaps": ("mailwire", "fetchmail", "getmail", "mbsync"),
         "pop3s": ("mailwire", "fetchmail", "fetchmail-uidl", "getmail")}


def log(msg=""):
    print(msg, flush=True)


def first_line(argv):
    try:
        p = subprocess.run(argv, capture_output=True, timeout=10)
        out = (p.stdout or p.stderr).decode("utf-8", "replace").strip()
        lines = [l for l in out.splitlines() if "WARNING" not in l]
        return lines[0] if lines else ""
    except (OSError, subprocess.TimeoutExpired):
        return "not found"


def mailwire_has_fetch(mailwire):
    """True when this mailwire build has the fetch command."""
    try:
        p = subprocess.run([mailwire, "fetch", "--help"],
                           capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return p.returncode == 0


def own(path):
    """Hand a path (recursively) to the unprivileged user the tools run
    as."""
    if os.geteuid() != 0:
        return
    for dirpath, dirnames, filenames in os.walk(path):
        os.chown(dirpath, NOBODY, NOBODY)
        for n in filenames:
            os.chown(os.path.join(dirpath, n), NOBODY, NOBODY)


def write_private(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


class Setup:
    """One tool's run: its command, files and environment."""

    def __init__(self, argv, env=None, note="", files=()):
        self.argv = argv
        self.env = env or {}
        self.note = note
        self.files = files      # (path, text) of config files to show


def setup_tool(tool, proto, rig, home, maildir, mailwire):
    e = rig
    port = int(e["RIG_IMAPS_PORT"] if proto == "imaps"
               else e["RIG_POP3S_PORT"])
    user, password = e["RIG_USER4"], e["RIG_PASS4"]
    ca = e["RIG_CA_FILE"]
    # The rig's certificate names localhost and 127.0.0.1; mbsync checks
    # only DNS names, so the peers all connect to "localhost" (which
    # resolves to 127.0.0.1 only here) and mailwire to 127.0.0.1.
    if tool == "mailwire":
        url = "%s://%s@127.0.0.1:%d%s" % (
            proto, user.replace("@", "%40"), port,
            "/INBOX" if proto == "imaps" else "")
        # A fresh fetch state for each run, as every peer starts afresh.
        state = os.path.join(home, "state")
        os.makedirs(state, exist_ok=True)
        return Setup([mailwire, "fetch", "--server", url, "--maildir",
                      maildir, "--password-env", PW_ENV, "--tls-ca-file",
                      ca], env={PW_ENV: password, "XDG_STATE_HOME": state},
                     note="fetch state in $XDG_STATE_HOME (empty); "
                          "durability is not an option: files synced, "
                          "renamed into new/, new/ fsync'ed, then the "
                          "state fdatasync'ed, per batch of 200")
    if tool in ("fetchmail", "fetchmail-uidl"):
        # fetchmail: "keep fetchall" downloads everything and records
        # nothing, so its next run would download everything again.
        # fetchmail-uidl (POP3): "uidl" records each message's UIDL in
        # .fetchids, so the next run gets only new mail: the job mailwire
        # (its fetch state), getmail (oldmail) and mbsync (sync state) do.
        uidl = tool == "fetchmail-uidl"
        rc = os.path.join(home, "fetchmailrc")
        text = ("set no syslog\n"
                "poll localhost protocol %s port %d timeout 120%s\n"
                "  user \"%s\" password \"%s\"\n"
                "  ssl sslcertck sslcertfile \"%s\"\n"
                "  %s\n"
                "  mda \"%s %s/tmp %s/new\"\n"
                % ("IMAP" if proto == "imaps" else "POP3", port,
                   " uidl" if uidl else "", user, password, ca,
                   "keep" if uidl else "keep fetchall", SAFECAT, maildir,
                   maildir))
        write_private(rc, text)
        return Setup(["fetchmail", "-f", rc, "--nodetach", "--nosyslog",
                      "--silent"],
                     env={"FETCHMAILHOME": home},
                     note="MDA safecat (DJB's maildir algorithm: tmp/, "
                          "fsync, link into new/), one process per message"
                          + ("; UIDLs recorded in .fetchids" if uidl else
                             "; nothing recorded: a second run downloads "
                             "everything again"),
                     files=((rc, text),))
    if tool == "getmail":
        rc = os.path.join(home, "getmailrc")
        if proto == "imaps":
            retr = ("type = SimpleIMAPSSLRetriever\n"
                    "mailboxes = (\"INBOX\",)\n")
        else:
            retr = "type = SimplePOP3SSLRetriever\n"
        text = ("[retriever]\n%s"
                "server = localhost\nport = %d\n"
                "username = %s\npassword = %s\nca_certs = %s\n\n"
                "[destination]\ntype = Maildir\npath = %s/\n\n"
                "[options]\nread_all = true\ndelete = false\nverbose = 0\n"
                "message_log_syslog = false\n"
                % (retr, port, user, password, ca, maildir))
        write_private(rc, text)
        return Setup(["getmail", "--getmaildir", home, "--rcfile", rc],
                     note="Maildir destination (fsync of each file; "
                          "one delivery child per message)",
                     files=((rc, text),))
    if tool == "mbsync":
        rc = os.path.join(home, "mbsyncrc")
        state = os.path.join(home, "state") + "/"
        os.makedirs(state, exist_ok=True)
        text = ("FSync yes\n\n"
                "IMAPAccount rig\nHost localhost\nPort %d\nUser %s\n"
                "Pass %s\nSSLType IMAPS\nCertificateFile %s\n"
                "AuthMechs PLAIN\n\n"
                "IMAPStore remote\nAccount rig\n\n"
                "MaildirStore local\nPath %s/\nInbox %s/\n\n"
                "Channel inbox\nFar :remote:INBOX\nNear :local:\n"
                "Sync Pull\nCreate Near\nExpunge None\nSyncState %s\n"
                % (port, user, password, ca, maildir, maildir, state))
        write_private(rc, text)
        return Setup(["mbsync", "-c", rc, "-q", "inbox"],
                     note="Sync Pull, FSync yes", files=((rc, text),))
    raise ValueError(tool)


def prepare_server(env, msgs):
    """bulk@'s INBOX holds exactly msgs, indexed by Dovecot (untimed)."""
    local = env["RIG_USER4"].split("@")[0]
    rigutil.clear_mailbox(env, local)
    rigutil.fill_maildir(env, local, msgs)
    n = rigutil.server_count(env, env["RIG_USER4"], env["RIG_PASS4"])
    # POP3 needs the messages' sizes with CRLF: let Dovecot work them out
    # now rather than in the first POP3 tool's time.
    p = rigutil._Pop3(env["RIG_HOST"], int(env["RIG_POP3S_PORT"]),
                      rigutil._client_context(env), 60)
    try:
        p.cmd("USER " + env["RIG_USER4"])
        p.cmd("PASS " + env["RIG_PASS4"])
        p.cmd("STAT")
        p.multiline("LIST")
    finally:
        p.close()
    return n


def run_one(setup, workdir, timeout):
    """Run the tool as nobody under GNU time: (exit, peak RSS KiB,
    seconds, stderr tail)."""
    tfile = os.path.join(workdir, "time.out")
    argv = [GNU_TIME, "-f", "%M", "-o", tfile] + setup.argv
    if os.geteuid() == 0:
        argv = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                "--clear-groups"] + argv
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": workdir,
           "LANG": "C.UTF-8"}
    env.update(setup.env)
    t0 = time.monotonic()
    try:
        p = subprocess.run(argv, env=env, capture_output=True,
                           timeout=timeout, cwd=workdir)
        code, err = p.returncode, p.stderr
    except subprocess.TimeoutExpired as ex:
        code, err = -1, (ex.stderr or b"") + b" [killed after %d s]" % \
            timeout
    wall = time.monotonic() - t0
    rss = 0
    try:
        with open(tfile) as f:
            for line in f:
                if line.strip().isdigit():
                    rss = int(line)
    except OSError:
        pass
    return code, rss, wall, err.decode("utf-8", "replace")


def bench(args):
    env = rigutil.load_env(args.rig_env)
    msgs = rigutil.make_messages(args.messages, size=args.size,
                                 tag="bench")
    total_bytes = sum(len(m) for m in msgs)
    have_fetch = mailwire_has_fetch(args.mailwire)
    res = {"messages": args.messages, "rounds": args.rounds,
           "message_bytes_avg":
           round(total_bytes / max(1, len(msgs))), "protocols": {}}
    os.chmod(args.work, 0o755)   # nobody must reach its directories
    for proto in args.protocols:
        rows = []
        for tool in args.tools:
            if tool not in TOOLS[proto]:
                continue
            log("\n%s, %s:" % (proto, tool))
            row = {"tool": tool}
            if tool == "mailwire" and not have_fetch:
                log("  mailwire: fetch not available (%s fetch --help "
                    "fails)" % args.mailwire)
                row.update(available=False, valid=False)
                rows.append(row)
                continue
            if tool.startswith("fetchmail") and \
                    not os.access(SAFECAT, os.X_OK):
                log("  fetchmail: %s missing (package safecat)" % SAFECAT)
                row.update(available=False, valid=False)
                rows.append(row)
                continue
            home = os.path.join(args.work, "%s-%s" % (proto, tool))
            shutil.rmtree(home, ignore_errors=True)
            maildir = os.path.join(home, "Maildir")
            for sub in ("cur", "new", "tmp"):
                os.makedirs(os.path.join(maildir, sub))
            setup = setup_tool(tool, proto, env, home, maildir,
                               args.mailwire)
            own(home)
            for path, text in setup.files:
                log("  %s:" % path)
                for line in text.rstrip("\n").splitlines():
                    if "password" in line.lower() or \
                            line.startswith("Pass "):
                        line = line.replace(env["RIG_PASS4"], "********")
                    log("    | " + line)
            shown = [a if a != env["RIG_PASS4"] else "********"
                     for a in setup.argv]
            log("  $ %s%s%s" % (
                "".join("%s=%s " % (k, "..." if k == PW_ENV else v)
                        for k, v in setup.env.items()), shlex.join(shown),
                ("   # " + setup.note) if setup.note else ""))
            # Each round: the same mailbox, an empty Maildir, a fresh
            # state.  The row is the median round (by rate; peak RSS is
            # the median of its own): GNU time's maximum RSS comes from
            # the kernel's per-CPU RSS counters, which lag the page
            # tables by up to 32 pages a CPU for each kind of page, so one
            # run can read a few hundred KiB high or low on 2 CPUs.
            rounds = []
            for k in range(args.rounds):
                if k:  # afresh: each tool's state (UIDLs, sync state) too
                    shutil.rmtree(home, ignore_errors=True)
                    for sub in ("cur", "new", "tmp"):
                        os.makedirs(os.path.join(maildir, sub))
                    setup = setup_tool(tool, proto, env, home, maildir,
                                       args.mailwire)
                    own(home)
                n = prepare_server(env, msgs)
                if n != len(msgs):
                    log("  server holds %d messages, not %d" % (n,
                                                                len(msgs)))
                code, rss, wall, err = run_one(setup, home, args.timeout)
                got = rigutil.read_maildir(maildir)
                problems = rigutil.maildir_problems(maildir, expected=msgs)
                left_tmp = len(os.listdir(os.path.join(maildir, "tmp")))
                valid = code == 0 and len(got) == len(msgs) and \
                    not problems
                rate = len(got) / wall if wall > 0 else 0.0
                rounds.append({"exit": code, "seconds": round(wall, 2),
                               "delivered": len(got),
                               "msgs_per_s": round(rate, 1),
                               "peak_rss_kib": rss, "valid": bool(valid),
                               "problems": problems[:5],
                               "tmp_left": left_tmp, "stderr": err})
                log("  round %d: exit %d, %.2f s, %.1f msg/s, peak RSS %d "
                    "KiB, delivered %d/%d%s" % (
                        k + 1, code, wall, rate, rss, len(got), len(msgs),
                        "" if valid else "  ** INVALID **"))
                for p in problems[:5]:
                    log("  problem: " + p)
                if code:
                    log("  stderr: %s" % err.strip()[-400:].replace(
                        "\n", " | "))
            by_rate = sorted(rounds, key=lambda r: r["msgs_per_s"])
            mid = by_rate[len(by_rate) // 2]
            rss_sorted = sorted(r["peak_rss_kib"] for r in rounds)
            row.update(available=True, cmd=shlex.join(shown),
                       exit=mid["exit"], seconds=mid["seconds"],
                       delivered=mid["delivered"],
                       msgs_per_s=mid["msgs_per_s"],
                       peak_rss_kib=rss_sorted[len(rss_sorted) // 2],
                       problems=[p for r in rounds for p in r["problems"]][:5],
                       tmp_left=max(r["tmp_left"] for r in rounds),
                       valid=all(r["valid"] for r in rounds),
                       rounds=[{k: v for k, v in r.items() if k != "stderr"}
                               for r in rounds])
            if len(rounds) > 1:
                log("  median: %.1f msg/s, peak RSS %d KiB (%s)" % (
                    row["msgs_per_s"], row["peak_rss_kib"],
                    ", ".join("%d" % r["peak_rss_kib"] for r in rounds)))
            rows.append(row)
            if not args.keep:
                shutil.rmtree(home, ignore_errors=True)
        base = next((r for r in rows if r["tool"] == "mailwire"), None)
        for r in rows:
            ok = base is not None and base.get("valid") and r.get("valid")
            r["rate_ratio_vs_mailwire"] = round(
                r["msgs_per_s"] / base["msgs_per_s"], 2) if ok and \
                base["msgs_per_s"] else None
            r["rss_ratio_vs_mailwire"] = round(
                r["peak_rss_kib"] / base["peak_rss_kib"], 2) if ok and \
                base["peak_rss_kib"] else None
        res["protocols"][proto] = rows
    local = env["RIG_USER4"].split("@")[0]
    rigutil.clear_mailbox(env, local)
    return res


def fmt(x, spec="%.2f"):
    return spec % x if x is not None else "n/a"


def print_table(res):
    log("\n" + "=" * 78)
    log("INCOMING: one-way download of %d messages (~%d bytes each) into "
        "a Maildir," % (res["messages"], res["message_bytes_avg"]))
    log("each message's data on disk before it is linked into new/ "
        "(bench/README.md);")
    log("each row is the median of %d runs (rate, and peak RSS apart);"
        % res.get("rounds", 1))
    log("ratios are peer / mailwire (rate above 1: the peer was faster; "
        "RSS above 1:")
    log("the peer used more memory)")
    log("=" * 78)
    for proto, rows in res["protocols"].items():
        log("\n  %s (%s)" % (proto, "IMAP over TLS, port 993 style"
                             if proto == "imaps" else
                             "POP3 over TLS, port 995 style"))
        log("   %-15s %8s %9s %10s %12s %9s %9s" % (
            "tool", "seconds", "msg/s", "delivered", "peak RSS KiB",
            "rate x", "RSS x"))
        for r in rows:
            if not r.get("available"):
                log("   %-15s %s" % (r["tool"], "fetch not available"
                                     if r["tool"] == "mailwire"
                                     else "not available"))
                continue
            log("   %-15s %8.2f %9.1f %10s %12d %9s %9s%s" % (
                r["tool"], r["seconds"], r["msgs_per_s"],
                "%d/%d" % (r["delivered"], res["messages"]),
                r["peak_rss_kib"], fmt(r["rate_ratio_vs_mailwire"]),
                fmt(r["rss_ratio_vs_mailwire"]),
                "" if r["valid"] else "  INVALID"))
    bad = ["%s/%s" % (p, r["tool"]) for p, rows in res["protocols"].items()
           for r in rows if r.get("available") and not r["valid"]]
    log("\nINVALID incoming measurements (not exactly %d distinct messages "
        "delivered, or exit != 0): %s" % (res["messages"],
                                          ", ".join(bad) if bad else "none"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rig-env", required=True)
    ap.add_argument("--mailwire", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", default=os.path.join(HERE, "results",
                                                  "incoming.json"))
    ap.add_argument("--messages", type=int, default=int(
        os.environ.get("BENCH_INCOMING_MESSAGES", "5000")))
    ap.add_argument("--size", type=int, default=600,
                    help="approximate bytes per message")
    ap.add_argument("--protocols", default=os.environ.get(
        "BENCH_INCOMING_PROTOCOLS", "imaps,pop3s"))
    ap.add_argument("--tools", default=os.environ.get(
        "BENCH_INCOMING_TOOLS", "mailwire,fetchmail,fetchmail-uidl,getmail,mbsync"))
    ap.add_argument("--timeout", type=int, default=int(
        os.environ.get("BENCH_INCOMING_TIMEOUT", "900")),
        help="seconds before a tool's run is killed (and INVALID)")
    ap.add_argument("--rounds", type=int, default=int(
        os.environ.get("BENCH_INCOMING_ROUNDS", "3")),
        help="runs per tool and protocol; the row is the median")
    ap.add_argument("--keep", action="store_true",
                    help="keep each tool's Maildir and config in --work")
    args = ap.parse_args()
    args.protocols = [p for p in args.protocols.split(",") if p]
    args.tools = [t for t in args.tools.split(",") if t]
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")
    for p in args.protocols:
        if p not in TOOLS:
            ap.error("unknown protocol %s (imaps, pop3s)" % p)
    args.mailwire = os.path.abspath(args.mailwire)
    started = time.monotonic()
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec="seconds"), "host": platform.node(),
        "kernel": platform.release(), "cpus": os.cpu_count(),
        "versions": {
            "mailwire": first_line([args.mailwire, "--version"]),
            "fetchmail": first_line(["fetchmail", "--version"]),
            "getmail": first_line(["getmail", "--version"]),
            "mbsync": first_line(["mbsync", "--version"]),
            "safecat": "dpkg " + first_line(
                ["dpkg-query", "-W", "-f=${Version}", "safecat"]),
            "dovecot": first_line(["dovecot", "--version"])}}
    log("mailwire incoming benchmark: %s" % meta["date"])
    for k, v in meta["versions"].items():
        log("  %-12s %s" % (k, v))
    res = bench(args)
    res["meta"] = meta
    res["meta"]["seconds"] = round(time.monotonic() - started, 1)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")
    print_table(res)
    log("\nincoming benchmark took %.0f s; JSON: %s" % (
        res["meta"]["seconds"], args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""bench/attach_bench.py - peak memory of `mailwire send --attach` with a
large attachment (issue 12: a 1 GiB attachment under 32 MiB of peak
resident memory), against Postfix's smtp-sink on loopback.

For each size (default 64 MiB and 1 GiB) it writes a file of that size
(each MiB distinct), starts `smtp-sink -c` on a free 127.0.0.1 port (the
sink reads and discards the data and counts every message), and runs

    /usr/bin/time -f "%M %e" mailwire send --server 127.0.0.1:PORT
        --tls none --from ... --to ... --subject ... --body ...
        --attach FILE --json

A run counts only when mailwire exits 0, the sink counted the message
(its `mesg=` counter) and the bytes mailwire reports sending are at least
4/3 of the file (base64).  Reported: peak RSS (KiB, GNU time's %M), wall
seconds, bytes on the wire, and the ratio of the peak RSS of the largest
size to the smallest (1.00: memory does not grow with the attachment).
The composer writes the encoded message to an unlinked file in $TMPDIR
first (lib/mime/compose_parts.c), so the run needs about 2.4 times the
largest size free there (the file and the encoded copy).

Usage: attach_bench.py --mailwire BUILD/mailwire [--sizes-mib 64,1024]
                       [--work DIR] [--out JSON]
"""

import argparse
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time

GNU_TIME = "/usr/bin/time"
SINK = "/usr/sbin/smtp-sink"
LIMIT_KIB = 32 * 1024


def log(msg=""):
    print(msg, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_file(path, size):
    block = os.urandom(1024 * 1024)
    with open(path, "wb") as f:
        left, i = size, 0
        while left > 0:
            chunk = (i.to_bytes(8, "big") + block[8:])[:left]
            f.write(chunk)
            left -= len(chunk)
            i += 1


class Sink:
    """smtp-sink on 127.0.0.1:port, its counters in a file."""

    def __init__(self, work):
        self.port = free_port()
        self.log_path = os.path.join(work, "sink-%d.log" % self.port)
        argv = [SINK, "-c"]
        if os.geteuid() == 0:
            argv += ["-u", "nobody"]
        argv += ["127.0.0.1:%d" % self.port, "64"]
        self.argv = argv
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            self.stop()
            raise SystemExit("smtp-sink did not start on port %d" % self.port)

    def messages(self):
        with open(self.log_path, "rb") as f:
            counts = re.findall(rb"mesg=(\d+)", f.read())
        return int(counts[-1]) if counts else 0

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def run_one(mailwire, sink, path, size):
    argv = [mailwire, "send", "--server", "127.0.0.1:%d" % sink.port,
            "--tls", "none", "--from", "bench@example.test", "--to",
            "sink@example.test", "--subject", "attachment bench",
            "--body", "the attachment follows", "--attach", path, "--json"]
    log("$ %s %s" % (shlex.join([GNU_TIME, "-f", "%M %e"]),
                     shlex.join(argv)))
    before = sink.messages()
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        t0 = time.monotonic()
        p = subprocess.run([GNU_TIME, "-f", "%M %e", "-o", tf.name] + argv,
                           capture_output=True, timeout=3600)
        wall = time.monotonic() - t0
        fields = open(tf.name).read().split()
    rss = int(fields[-2]) if len(fields) >= 2 else 0
    sent = 0
    try:
        sent = json.loads(p.stdout)["message"]["bytes_sent"]
    except (ValueError, KeyError, TypeError):
        pass
    time.sleep(0.2)  # the sink's counter line follows the final reply
    got = sink.messages() - before
    valid = p.returncode == 0 and got == 1 and sent >= size * 4 // 3
    row = {"attachment_bytes": size, "exit": p.returncode,
           "peak_rss_kib": rss, "seconds": round(wall, 2),
           "bytes_sent": sent, "sink_messages": got, "valid": valid,
           "under_32_mib": valid and rss < LIMIT_KIB,
           "cmd": shlex.join(argv)}
    log("  exit %d, peak RSS %d KiB (%.1f MiB), %.2f s, %d bytes sent, "
        "sink counted %d%s" % (p.returncode, rss, rss / 1024.0, wall, sent,
                               got, "" if valid else "  ** INVALID **"))
    if p.returncode:
        log("  stderr: %s" % p.stderr.decode("utf-8", "replace")[-300:])
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mailwire", required=True)
    ap.add_argument("--sizes-mib", default=os.environ.get(
        "BENCH_ATTACH_MIB", "64,1024"))
    ap.add_argument("--work", default=None)
    ap.add_argument("--out", default=os.environ.get(
        "BENCH_ATTACH_OUT", "bench/results/attach.json"))
    args = ap.parse_args()
    for tool in (GNU_TIME, SINK):
        if not os.path.exists(tool):
            raise SystemExit("attach_bench: %s missing (packages time, "
                             "postfix)" % tool)
    sizes = [int(x) * 1024 * 1024 for x in args.sizes_mib.split(",") if x]
    work = args.work or tempfile.mkdtemp(prefix="mwbench-attach.")
    own_work = args.work is None
    log("== attachment streaming: peak RSS of mailwire send --attach, "
        "smtp-sink on 127.0.0.1 ==")
    res = {"runs": [], "limit_kib": LIMIT_KIB,
           "mailwire_version": subprocess.run(
               [args.mailwire, "--version"], capture_output=True,
               text=True).stdout.strip(),
           "sink": None, "tmpdir": os.environ.get("TMPDIR", "/tmp")}
    sink = Sink(work)
    res["sink"] = shlex.join(sink.argv)
    log("$ %s" % res["sink"])
    try:
        for size in sizes:
            path = os.path.join(work, "attach-%d.bin" % size)
            make_file(path, size)
            log("-- attachment %s: %d bytes (%.0f MiB) --" %
                (path, size, size / 1048576.0))
            res["runs"].append(run_one(args.mailwire, sink, path, size))
            os.unlink(path)
    finally:
        sink.stop()
        if own_work:
            shutil.rmtree(work, ignore_errors=True)
    ok = [r for r in res["runs"] if r["valid"]]
    if len(ok) >= 2 and ok[0]["peak_rss_kib"]:
        res["rss_growth_largest_vs_smallest"] = round(
            ok[-1]["peak_rss_kib"] / ok[0]["peak_rss_kib"], 2)
    log("\n%-14s %12s %10s %16s  %s" % ("attachment", "peak RSS", "seconds",
                                         "bytes on wire", "verdict"))
    for r in res["runs"]:
        verdict = ("INVALID" if not r["valid"] else
                   "under 32 MiB" if r["under_32_mib"] else "OVER 32 MiB")
        log("%10.0f MiB %8.1f MiB %10.2f %16d  %s" % (
            r["attachment_bytes"] / 1048576.0, r["peak_rss_kib"] / 1024.0,
            r["seconds"], r["bytes_sent"], verdict))
    if "rss_growth_largest_vs_smallest" in res:
        log("peak RSS growth from the smallest to the largest attachment: "
            "%.2fx" % res["rss_growth_largest_vs_smallest"])
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(res, f, indent=2)
    log("written %s" % args.out)
    return 0 if ok and len(ok) == len(res["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())

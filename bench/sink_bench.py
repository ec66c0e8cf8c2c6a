#!/usr/bin/env python3
"""sink_bench.py - mailwire against its peers, against Postfix's smtp-sink.

The primary figure of bench/ (issue 13): the server is smtp-sink, which
reads each message and throws it away, so the client is what is measured
(against the rig's Postfix, in bench/bench.py, the server is the
bottleneck).  Python 3 standard library only; driven by bench/run.sh
(BENCH_ONLY=sink, and by default), or directly:

    python3 bench/sink_bench.py --mailwire BUILD/mailwire --bulk BUILD/mw_bulk \\
        [--work DIR] [--out bench/results/sink.json] [--profile]

- smtp-sink on 127.0.0.1 (a free high port), `-c` so it counts every
  message, pinned with `taskset -c 1`; for TLS an stunnel (implicit TLS,
  its own port, a certificate made by openssl in the work directory) in
  front of it, pinned with it; every client pinned with `taskset -c 0`.
- 10 KB messages; N (BENCH_SINK_MESSAGES, 2000) over one connection, M
  (BENCH_SINK_PROCESSES, 300) for one process per message (a /bin/sh loop,
  shown as run), and a loop of /bin/true as the spawn floor.
- A row counts when the client exits 0, says it sent every message, and the
  sink counted exactly that many; otherwise it is INVALID.
- Contention: /proc/stat and every process's CPU time are read before and
  after each row; CPU used by anything that is not ours (this harness and
  its children, the sink, stunnel, kernel threads) above
  BENCH_SINK_MAX_OTHER cores (0.10) throws the row out and it is run again,
  at most BENCH_SINK_TRIES (3) times, then recorded as contended.
- Peak RSS of one send (GNU time -v), the issue's targets as ratios
  (printed as met / not met), JSON in bench/results/sink.json.
- --profile: where the time goes (perf record, else callgrind) for one
  `mailwire send --message` process and for mw_bulk over one connection,
  into bench/results/profile-*.txt.

It only reports: nothing here asserts a timing.
"""

import os
import sys

FROM = "bench@example.test"
TO = "sink@example.test"
HELO_NAME = "bench.test"


def smtplib_client(argv):
    """`sink_bench.py smtplib-client HOST PORT N FILE`: N copies of FILE
    over one connection with Python's smtplib (the peer row); prints
    "sent N".  Kept free of the harness's imports so it starts like a
    plain smtplib script."""
    import smtplib
    host, port, n, path = argv[0], int(argv[1]), int(argv[2]), argv[3]
    with open(path, "rb") as f:
        data = f.read()
    sent = 0
    with smtplib.SMTP(host, port, local_hostname=HELO_NAME,
                      timeout=60) as c:
        for _ in range(n):
            c.sendmail(FROM, [TO], data)   # raises on any refusal
            sent += 1
    print("sent %d" % sent)
    return 0


if __name__ == "__main__" and len(sys.argv) > 1 and \
        sys.argv[1] == "smtplib-client":
    sys.exit(smtplib_client(sys.argv[2:]))

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import shlex  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

sys.dont_write_bytecode = True   # no __pycache__ in bench/ or tests/
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import bench  # noqa: E402  (log, show_cmd, first_line, make_small_message)
from fakesmtp import make_test_certs  # noqa: E402  (bench put it on the path)

log, show_cmd, first_line = bench.log, bench.show_cmd, bench.first_line
SINK = "/usr/sbin/smtp-sink"
SMTP_SOURCE = bench.SMTP_SOURCE
GNU_TIME = bench.GNU_TIME
HELO = bench.HELO
TASKSET = shutil.which("taskset") or "/usr/bin/taskset"
CLK = os.sysconf("SC_CLK_TCK")
MSG_BYTES = 10 * 1024


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("sink_bench: %s exited (%d) before listening"
                             % (what, proc.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("sink_bench: %s does not listen on %d" % (what, port))


def stop(proc):
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# ---------------------------------------------------------------------------
# CPU accounting

def pid_stat(pid):
    """(utime+stime ticks, comm, ppid) of a process (all its threads), or
    None when it is gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            s = f.read().decode("latin-1")
    except OSError:
        return None
    lp, rp = s.find("("), s.rfind(")")
    rest = s[rp + 2:].split()
    # rest[0] is field 3 (state); utime and stime are fields 14 and 15.
    return int(rest[11]) + int(rest[12]), s[lp + 1:rp], int(rest[1])


def all_pids():
    out = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = pid_stat(int(name))
            if st:
                out[int(name)] = st
    return out


def system_ticks():
    """Ticks of every CPU from /proc/stat's first line: time spent running
    tasks (user+nice+system; guest is inside user), in interrupts, and
    stolen by the hypervisor."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    v += [0] * (8 - len(v))
    return {"task": v[0] + v[1] + v[2], "irq": v[5] + v[6], "steal": v[7]}


class CpuWatch:
    """CPU used during one row, split into ours and everybody else's."""

    def __init__(self, own_pids):
        self.own = set(own_pids) | {os.getpid()}

    def _ours(self):
        t = os.times()
        ticks = (t.user + t.system + t.children_user + t.children_system) \
            * CLK
        per = {}
        for pid in self.own - {os.getpid()}:
            st = pid_stat(pid)
            per[pid] = st[0] if st else 0
        return ticks + sum(per.values()), per

    def start(self):
        self.pids0 = all_pids()     # outside the timed window
        self.sys0 = system_ticks()
        self.ours0, self.per0 = self._ours()

    def stop(self, wall):
        sys1 = system_ticks()
        ours1, per1 = self._ours()
        pids1 = all_pids()
        kthreads, others = 0, []
        for pid, (ticks, comm, ppid) in pids1.items():
            if pid in self.own or pid not in self.pids0:
                continue
            d = ticks - self.pids0[pid][0]
            if d <= 0:
                continue
            if pid == 2 or ppid == 2:      # kernel threads (ksoftirqd...)
                kthreads += d
            else:
                others.append((d, comm, pid))
        others.sort(reverse=True)
        task = sys1["task"] - self.sys0["task"]
        ours = ours1 - self.ours0
        other = max(0, task - ours - kthreads)
        sec = max(wall, 1e-6) * CLK
        return {
            "other_cores": round(other / sec, 3),
            "kernel_threads_cores": round(kthreads / sec, 3),
            "irq_cores": round((sys1["irq"] - self.sys0["irq"]) / sec, 3),
            "steal_cores": round((sys1["steal"] - self.sys0["steal"]) / sec,
                                 3),
            "ours_cores": round(ours / sec, 3),
            "own_process_cores": {str(p): round((per1[p] - self.per0[p])
                                                / sec, 3) for p in per1},
            "top_others": ["%s[%d] %.2f s" % (c, p, d / CLK)
                           for d, c, p in others[:3]],
        }


# ---------------------------------------------------------------------------
# The sink and its TLS front

class Sink:
    """smtp-sink -c on 127.0.0.1, pinned; its counters in a file."""

    def __init__(self, work, cpu):
        self.port = free_port()
        self.log_path = os.path.join(work, "sink.log")
        argv = [TASKSET, "-c", str(cpu), SINK, "-c"]
        if os.geteuid() == 0:
            argv += ["-u", "nobody"]       # required when run as root
        argv += ["127.0.0.1:%d" % self.port, "256"]
        self.argv = argv
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        wait_port(self.port, self.proc, "smtp-sink")

    def messages(self):
        with open(self.log_path, "rb") as f:
            f.seek(max(0, os.path.getsize(self.log_path) - 512))
            counts = re.findall(rb"mesg=(\d+)", f.read())
        return int(counts[-1]) if counts else 0

    def settle(self, expected, timeout=5.0):
        """The counter once it reaches `expected` (the sink prints it as
        each final dot arrives) or stops moving."""
        deadline = time.monotonic() + timeout
        last, since = -1, time.monotonic()
        while True:
            n = self.messages()
            if n >= expected:
                return n
            if n != last:
                last, since = n, time.monotonic()
            if time.monotonic() > deadline or \
                    time.monotonic() - since > 1.0:
                return n
            time.sleep(0.02)

    def ehlo(self):
        with socket.create_connection(("127.0.0.1", self.port), 5) as s:
            f = s.makefile("rwb")
            f.readline()
            f.write(b"EHLO " + HELO.encode() + b"\r\n")
            f.flush()
            lines = []
            while True:
                line = f.readline().decode("latin-1").rstrip("\r\n")
                lines.append(line[4:])
                if len(line) < 4 or line[3] != "-":
                    break
            f.write(b"QUIT\r\n")
            f.flush()
            f.readline()
            return [ln for ln in lines[1:] if ln]

    def stop(self):
        stop(self.proc)
        self.log.close()


class TlsFront:
    """stunnel: implicit TLS on its own port, forwarding to the sink."""

    def __init__(self, work, sink_port, cpu, stunnel):
        certdir = os.path.join(work, "certs")
        os.makedirs(certdir, exist_ok=True)
        self.ca, cert, key = make_test_certs(certdir, "localhost")
        self.name = "localhost"
        self.port = free_port()
        self.conf_path = os.path.join(work, "stunnel.conf")
        self.conf = ("foreground = yes\npid =\ndebug = 3\noutput = %s\n"
                     "[smtps]\naccept = 127.0.0.1:%d\nconnect = 127.0.0.1:%d\n"
                     "cert = %s\nkey = %s\nsslVersionMin = TLSv1.2\n"
                     % (os.path.join(work, "stunnel.log"), self.port,
                        sink_port, cert, key))
        with open(self.conf_path, "w") as f:
            f.write(self.conf)
        self.argv = [TASKSET, "-c", str(cpu), stunnel, self.conf_path]
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_port(self.port, self.proc, "stunnel")

    def stop(self):
        stop(self.proc)


# ---------------------------------------------------------------------------
# Rows

class Row:
    """One measured client.  style: "conn" (one process, many messages),
    "proc" (a /bin/sh loop, one process per message) or "floor"."""

    def __init__(self, key, label, style, tls, argv, n, claim, shown=None,
                 note="", stdin=None, expect_sink=None):
        self.key, self.label, self.style, self.tls = key, label, style, tls
        self.argv, self.n, self.claim = argv, n, claim
        self.shown = shown or argv
        self.note, self.stdin = note, stdin
        self.expect_sink = n if expect_sink is None else expect_sink


def claim_regex(pattern):
    def parse(out, rc):
        m = re.findall(pattern, out)
        return int(m[-1]) if m else 0
    return parse


def claim_count(pattern):
    def parse(out, rc):
        return len(re.findall(pattern, out, re.M))
    return parse


def claim_smtp_source(out, rc):
    # -c prints a running counter of completed DATA commands.
    m = re.findall(r"\d+", out)
    return int(m[-1]) if m else 0


def proc_loop(cmd, n, stdin, cpu):
    """argv of a /bin/sh loop running cmd n times, one process each,
    counting the ones that exit 0 (printed "ok=N")."""
    redir = "<" + shlex.quote(stdin) if stdin else "</dev/null"
    script = ('ok=0; i=0; while [ "$i" -lt %d ]; do %s %s >/dev/null && '
              'ok=$((ok+1)); i=$((i+1)); done; echo "ok=$ok"'
              % (n, shlex.join(cmd), redir))
    return [TASKSET, "-c", str(cpu), "/bin/sh", "-c", script]


def build_rows(a, sink, front, msg, bulk_dir, cpu):
    mw, bulk = a.mailwire, a.bulk
    N, M = a.messages, a.processes
    P = sink.port
    pin = [TASKSET, "-c", str(cpu)]
    rows = []
    ok_claim = claim_regex(r"ok=(\d+)")

    def mw_send(tls):
        if tls:
            srv = ["--server", "127.0.0.1:%d" % front.port, "--tls",
                   "implicit", "--tls-ca-file", front.ca,
                   "--tls-server-name", front.name]
        else:
            srv = ["--server", "127.0.0.1:%d" % P, "--tls", "none"]
        return [mw, "send"] + srv + ["--helo", HELO, "--from", FROM,
                                     "--to", TO]

    def curl_base(tls):
        if tls:
            url = "smtps://%s:%d/%s" % (front.name, front.port, HELO)
            extra = ["--resolve", "%s:%d:127.0.0.1" % (front.name,
                                                       front.port),
                     "--cacert", front.ca]
        else:
            url, extra = "smtp://127.0.0.1:%d/%s" % (P, HELO), []
        return url, extra

    def msmtp(tls):
        if tls:
            return ["msmtp", "--host=127.0.0.1", "--port=%d" % front.port,
                    "--tls=on", "--tls-starttls=off",
                    "--tls-trust-file=" + front.ca,
                    "--tls-host-override=" + front.name, "--auth=off",
                    "--domain=" + HELO, "--from=" + FROM, TO]
        return ["msmtp", "--host=127.0.0.1", "--port=%d" % P, "--tls=off",
                "--auth=off", "--domain=" + HELO, "--from=" + FROM, TO]

    def curl_reuse(tls):
        url, extra = curl_base(tls)
        argv = pin + ["curl", "-sS", "-w", "%{response_code}\\n"] + extra + \
            ["--mail-from", FROM, "--mail-rcpt", TO]
        head = list(argv)
        for _ in range(N):
            argv += [url, "-T", msg]
        return argv, head + [url, "-T", msg, "..."]

    tls_modes = [False] + ([True] if front else [])
    for tls in tls_modes:
        t = "tls" if tls else "plain"
        if tls:
            argv = pin + [bulk, "127.0.0.1:%d" % front.port, "implicit",
                          FROM, TO, str(N), msg, front.ca, front.name]
        else:
            argv = pin + [bulk, "127.0.0.1:%d" % P, "none", FROM, TO,
                          str(N), msg]
        rows.append(Row("lib-%s" % t, "mailwire library (mw_bulk)", "conn",
                        tls, argv, N, claim_regex(r"sent (\d+)"),
                        note="libmailwire: mw_smtp_connect once, "
                        "mw_smtp_send_buffer N times"))
        if not tls:
            cli = pin + mw_send(False) + ["--messages", bulk_dir]
            rows.append(Row("cli-bulk-plain", "mailwire send --messages",
                            "conn", False, cli, N,
                            claim_count(r"^\[\d+/\d+\] .*: delivered\b"),
                            note="the CLI's bulk mode, %d files" % N))
            rows.append(Row("cli-bulk4-plain",
                            "mailwire send --messages -c 4", "conn4", False,
                            cli + ["--connections", "4"], N,
                            claim_count(r"^\[\d+/\d+\] .*: delivered\b"),
                            note="4 connections"))
            for s in (1, 4):
                rows.append(Row(
                    "smtp-source-s%d" % s, "smtp-source -s%d" % s,
                    "conn" if s == 1 else "conn4", False,
                    pin + [SMTP_SOURCE, "-c", "-d", "-s", str(s), "-m",
                           str(N), "-F", msg + ".lf", "-M", HELO, "-f",
                           FROM, "-t", TO, "127.0.0.1:%d" % P], N,
                    claim_smtp_source,
                    note="Postfix's load generator, %d session%s, no "
                    "disconnect between messages; -F gets LF lines (it "
                    "adds CR)" % (s, "s" if s > 1 else "")))
            rows.append(Row("smtplib-plain", "Python smtplib", "conn", False,
                            pin + [sys.executable,
                                   os.path.abspath(__file__),
                                   "smtplib-client", "127.0.0.1", str(P),
                                   str(N), msg], N,
                            claim_regex(r"sent (\d+)"),
                            note="smtplib.SMTP.sendmail N times on one "
                            "connection (no pipelining)"))
        argv, shown = curl_reuse(tls)
        rows.append(Row("curl-reuse-%s" % t, "curl (reused connection)",
                        "conn", tls, argv, N, claim_count(r"^250$"),
                        shown=shown,
                        note="the pair URL -T FILE %d times in one process: "
                        "curl reuses the connection; -w prints each "
                        "transfer's last reply code" % N))
        # One process per message.
        rows.append(Row("mw-proc-%s" % t, "mailwire send --message", "proc",
                        tls, proc_loop(mw_send(tls) + ["--message", msg], M,
                                       None, cpu), M, ok_claim))
        url, extra = curl_base(tls)
        rows.append(Row("curl-proc-%s" % t, "curl", "proc", tls,
                        proc_loop(["curl", "-sS", url] + extra +
                                  ["--mail-from", FROM, "--mail-rcpt", TO,
                                   "-T", msg], M, None, cpu), M, ok_claim))
        rows.append(Row("msmtp-proc-%s" % t, "msmtp", "proc", tls,
                        proc_loop(msmtp(tls), M, msg, cpu), M, ok_claim,
                        note="message on standard input"))
        if not tls:
            rows.append(Row("swaks-proc-plain", "swaks", "proc", False,
                            proc_loop(["swaks", "--server", "127.0.0.1",
                                       "--port", str(P), "--helo", HELO,
                                       "--from", FROM, "--to", TO,
                                       "--data", "@" + msg, "--silent", "2"],
                                      M, None, cpu), M, ok_claim))
            rows.append(Row("floor", "/bin/true (spawn floor)", "floor",
                            False, proc_loop(["/bin/true"], M, None, cpu), M,
                            ok_claim, expect_sink=0,
                            note="the same loop, nothing sent"))
    return rows


def run_row(row, sink, watch, work, max_other, tries):
    log("%s (%s, %s):" % (row.label, {"conn": "1 connection",
                                      "conn4": "4 connections",
                                      "proc": "one process per message",
                                      "floor": "spawn floor"}[row.style],
                          "implicit TLS via stunnel" if row.tls
                          else "plaintext"))
    show_cmd(row.label, row.shown, row.note)
    out_path = os.path.join(work, "row.out")
    err_path = os.path.join(work, "row.err")
    attempts = []
    for attempt in range(1, tries + 1):
        before = sink.messages()
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            watch.start()
            t0 = time.monotonic()
            p = subprocess.Popen(row.argv, stdin=subprocess.DEVNULL,
                                 stdout=out, stderr=err)
            # A blocking wait: Popen.wait(timeout=...) polls with sleeps of
            # up to 50 ms, which would round every row's time up.
            killer = threading.Timer(1800, p.kill)
            killer.start()
            rc = p.wait()
            wall = time.monotonic() - t0
            killer.cancel()
            cpu = watch.stop(wall)
        got = sink.settle(before + row.expect_sink) - before
        with open(out_path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        with open(err_path, "rb") as f:
            errtext = f.read().decode("utf-8", "replace")
        claimed = row.claim(text, rc)
        valid = rc == 0 and claimed == row.n and got == row.expect_sink
        contended = cpu["other_cores"] > max_other
        sink_cpu = cpu["own_process_cores"].get(str(sink.proc.pid))
        a = {"attempt": attempt, "seconds": round(wall, 3),
             "msgs_per_s": round(row.n / wall, 1) if wall else 0.0,
             "exit": rc, "claimed": claimed, "sink_counted": got,
             "valid": valid, "contended": contended,
             "sink_cores": sink_cpu, "cpu": cpu}
        attempts.append(a)
        log("  try %d: %.3f s, %.1f msg/s, exit %d, client says %d, sink "
            "counted %d, other CPU %.2f cores%s%s" % (
                attempt, wall, a["msgs_per_s"], rc, claimed, got,
                cpu["other_cores"],
                (" (%s)" % ", ".join(cpu["top_others"]))
                if cpu["top_others"] and contended else "",
                "" if valid else "  ** INVALID **"))
        if not valid and errtext.strip():
            log("  stderr: %s" % errtext.strip()[-400:].replace("\n", " | "))
        if not contended:
            break
        if attempt < tries:
            log("  contended (other CPU above %.2f cores): thrown out, "
                "repeating in 4 s" % max_other)
            time.sleep(4)   # bursts from elsewhere often pass
    last = attempts[-1]
    res = {"key": row.key, "tool": row.label, "style": row.style,
           "tls": "implicit (stunnel)" if row.tls else "none",
           "messages": row.n, "cmd": shlex.join(row.shown),
           "note": row.note, "attempts": attempts}
    res.update({k: last[k] for k in ("seconds", "msgs_per_s", "exit",
                                      "claimed", "sink_counted", "valid",
                                      "contended", "sink_cores")})
    res["ms_per_msg"] = round(1000.0 * last["seconds"] / row.n, 3)
    res["other_cores"] = last["cpu"]["other_cores"]
    res["steal_cores"] = last["cpu"]["steal_cores"]
    res["ours_cores"] = last["cpu"]["ours_cores"]
    if res["contended"]:
        log("  CONTENDED after %d tries: recorded as contended" % tries)
    return res


# ---------------------------------------------------------------------------
# Peak RSS of one send

def rss_rows(a, sink, front, msg):
    P = sink.port
    rows = [("mailwire send --message", False,
             [a.mailwire, "send", "--server", "127.0.0.1:%d" % P, "--tls",
              "none", "--helo", HELO, "--from", FROM, "--to", TO,
              "--message", msg], None),
            ("msmtp", False,
             ["msmtp", "--host=127.0.0.1", "--port=%d" % P, "--tls=off",
              "--auth=off", "--domain=" + HELO, "--from=" + FROM, TO], msg),
            ("curl", False,
             ["curl", "-sS", "smtp://127.0.0.1:%d/%s" % (P, HELO),
              "--mail-from", FROM, "--mail-rcpt", TO, "-T", msg], None),
            ("swaks", False,
             ["swaks", "--server", "127.0.0.1", "--port", str(P), "--helo",
              HELO, "--from", FROM, "--to", TO, "--data", "@" + msg,
              "--silent", "2"], None)]
    if front:
        T = front.port
        rows += [("mailwire send --message", True,
                  [a.mailwire, "send", "--server", "127.0.0.1:%d" % T,
                   "--tls", "implicit", "--tls-ca-file", front.ca,
                   "--tls-server-name", front.name, "--helo", HELO,
                   "--from", FROM, "--to", TO, "--message", msg], None),
                 ("msmtp", True,
                  ["msmtp", "--host=127.0.0.1", "--port=%d" % T, "--tls=on",
                   "--tls-starttls=off", "--tls-trust-file=" + front.ca,
                   "--tls-host-override=" + front.name, "--auth=off",
                   "--domain=" + HELO, "--from=" + FROM, TO], msg),
                 ("curl", True,
                  ["curl", "-sS", "smtps://%s:%d/%s" % (front.name, T, HELO),
                   "--resolve", "%s:%d:127.0.0.1" % (front.name, T),
                   "--cacert", front.ca, "--mail-from", FROM, "--mail-rcpt",
                   TO, "-T", msg], None)]
    out = []
    log("\n== peak RSS of one send (GNU time -v, 10 KB message) ==")
    for label, tls, argv, stdin in rows:
        full = [GNU_TIME, "-v"] + argv
        show_cmd(label, full, "< " + stdin if stdin else "")
        before = sink.messages()
        fin = open(stdin, "rb") if stdin else subprocess.DEVNULL
        try:
            p = subprocess.run(full, stdin=fin, capture_output=True,
                               timeout=120)
        finally:
            if stdin:
                fin.close()
        err = p.stderr.decode("utf-8", "replace")
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
        rss = int(m.group(1)) if m else 0
        got = sink.settle(before + 1) - before
        valid = p.returncode == 0 and got == 1 and rss > 0
        log("  exit %d, peak RSS %d KiB (%.1f MiB), sink counted %d%s" % (
            p.returncode, rss, rss / 1024.0, got,
            "" if valid else "  ** INVALID **"))
        out.append({"tool": label, "tls": "implicit (stunnel)" if tls
                    else "none", "cmd": shlex.join(full) +
                    (" < " + stdin if stdin else ""), "exit": p.returncode,
                    "peak_rss_kib": rss, "sink_counted": got,
                    "valid": valid})
    return out


# ---------------------------------------------------------------------------
# Targets (issue 13), as ratios of this run

def find(rows, key):
    for r in rows:
        if r["key"] == key:
            return r
    return None


def rate_ratio(rows, a, b):
    ra, rb = find(rows, a), find(rows, b)
    if not ra or not rb:
        return None, "row missing"
    if not (ra["valid"] and rb["valid"]) or not rb["msgs_per_s"]:
        return None, "a row is INVALID"
    note = "contended" if (ra["contended"] or rb["contended"]) else ""
    return ra["msgs_per_s"] / rb["msgs_per_s"], note


def targets(rows, rss, attach_json):
    out = []

    def add(text, need, ratio, note, how):
        met = None if ratio is None else ratio >= need
        out.append({"target": text, "needs": need, "ratio":
                    None if ratio is None else round(ratio, 2),
                    "met": met, "note": note, "ratio_is": how})

    for text, a, b, need in (
            ("one process per message, plaintext: send --message >= 3x curl",
             "mw-proc-plain", "curl-proc-plain", 3.0),
            ("one process per message, plaintext: send --message >= 10x "
             "msmtp", "mw-proc-plain", "msmtp-proc-plain", 10.0),
            ("one process per message, implicit TLS: send --message >= 2x "
             "curl", "mw-proc-tls", "curl-proc-tls", 2.0),
            ("one connection: library >= 2x smtp-source -s1",
             "lib-plain", "smtp-source-s1", 2.0),
            ("one connection: library >= 2.5x Python smtplib",
             "lib-plain", "smtplib-plain", 2.5),
            ("one connection, implicit TLS: library >= 2x curl reusing its "
             "connection", "lib-tls", "curl-reuse-tls", 2.0),
            ("bulk --connections 4 >= smtp-source -s4 (the sink's ceiling)",
             "cli-bulk4-plain", "smtp-source-s4", 1.0)):
        r, note = rate_ratio(rows, a, b)
        add(text, need, r, note, "msg/s %s / msg/s %s" % (a, b))
    mw = [x for x in rss if x["tool"].startswith("mailwire")
          and x["tls"] == "none"]
    ms = [x for x in rss if x["tool"] == "msmtp" and x["tls"] == "none"]
    if mw and ms and mw[0]["valid"] and ms[0]["valid"]:
        add("peak RSS of one send (plaintext) no higher than msmtp's", 1.0,
            ms[0]["peak_rss_kib"] / mw[0]["peak_rss_kib"], "",
            "msmtp peak RSS / mailwire peak RSS")
    else:
        add("peak RSS of one send (plaintext) no higher than msmtp's", 1.0,
            None, "a send is INVALID", "msmtp peak RSS / mailwire peak RSS")
    # The 1 GiB attachment is bench/attach_bench.py's (BENCH_ONLY=attach);
    # shown from its last JSON when there is one, labelled as such.
    gib = None
    try:
        with open(attach_json) as f:
            for r in json.load(f).get("runs", []):
                if r.get("attachment_bytes") == 1 << 30 and r.get("valid"):
                    gib = r
    except (OSError, ValueError):
        pass
    if gib:
        add("a 1 GiB attachment under 32 MiB of peak memory", 1.0,
            32768.0 / gib["peak_rss_kib"],
            "from %s (%d KiB), not this run" % (attach_json,
                                                  gib["peak_rss_kib"]),
            "32 MiB / peak RSS")
    else:
        add("a 1 GiB attachment under 32 MiB of peak memory", 1.0, None,
            "measured by bench/attach_bench.py (BENCH_ONLY=attach)",
            "32 MiB / peak RSS")
    return out


# ---------------------------------------------------------------------------
# Where the time goes (--profile)

def perf_works(work):
    data = os.path.join(work, "perf-check.data")
    p = subprocess.run(["perf", "record", "-e", "cpu-clock", "-o", data,
                        "--", "/bin/true"], capture_output=True)
    ok = p.returncode == 0 and os.path.exists(data)
    return ok, p.stderr.decode("utf-8", "replace")[-300:]


def run_cmd(argv, outfile=None, **kw):
    show_cmd("", argv, ("> " + outfile) if outfile else "")
    p = subprocess.run(argv, capture_output=True, **kw)
    text = p.stdout.decode("utf-8", "replace")
    if outfile:
        with open(outfile, "w") as f:
            f.write(text)
    return p.returncode, text, p.stderr.decode("utf-8", "replace")


def head(text, n):
    return "\n".join(text.splitlines()[:n])


def perf_tables(data, comm, resdir, name):
    """perf report by shared object and by symbol, the top entries kept."""
    tables = {}
    for sort in ("comm,dso", "dso,sym"):
        argv = ["perf", "report", "-i", data, "--stdio", "--no-children",
                "--sort", sort, "--percent-limit", "0.5"]
        if sort == "dso,sym":
            argv[5:5] = ["--comm", comm]
        rc, text, err = run_cmd(argv)
        lines = [ln for ln in text.splitlines()
                 if ln.strip() and not ln.startswith("#")]
        tables[sort] = {"cmd": shlex.join(argv), "top": lines[:40]}
    path = os.path.join(resdir, "profile-%s.txt" % name)
    with open(path, "w") as f:
        for sort, t in tables.items():
            f.write("$ %s\n%s\n\n" % (t["cmd"], "\n".join(t["top"])))
    log("  top entries written to %s" % path)
    for sort, t in tables.items():
        log("  -- by %s --" % sort)
        for ln in t["top"][:15]:
            log("    " + ln)
    return {"file": path, **tables}


def callgrind_tables(argv, work, resdir, name, inclusive=False):
    out = os.path.join(work, "callgrind.%s" % name)
    run_cmd(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out]
            + argv)
    rc, text, _ = run_cmd(["callgrind_annotate"] +
                          (["--inclusive=yes"] if inclusive else []) + [out])
    path = os.path.join(resdir, "profile-%s.txt" % name)
    with open(path, "w") as f:
        f.write(head(text, 90) + "\n")
    log("  top entries written to %s" % path)
    body = [ln for ln in text.splitlines() if re.match(r"\s*[\d,]+ \(", ln)]
    for ln in body[:25]:
        log("    " + ln)
    return {"file": path, "tool": "callgrind", "top": body[:60]}


def strace_summary(argv, work, name, per=1):
    """Syscall counts (strace -f -c) and the files a run opens."""
    out = os.path.join(work, "strace-%s.txt" % name)
    opens = os.path.join(work, "strace-open-%s.txt" % name)
    run_cmd(["strace", "-f", "-c", "-o", out] + argv)
    with open(out) as f:
        counts = f.read()
    calls = {}
    for ln in counts.splitlines():
        parts = ln.split()
        if len(parts) >= 5 and parts[-1].isidentifier() and \
                parts[3].isdigit():
            calls[parts[-1]] = int(parts[3])
    res = {"syscalls": calls, "per": per, "table": counts}
    if per == 1:
        run_cmd(["strace", "-f", "-e", "trace=openat,open", "-e",
                 "status=successful", "-o", opens] + argv)
        files = []
        with open(opens) as f:
            for ln in f:
                m = re.search(r'open(?:at)?\(.*?"([^"]*)"', ln)
                if m:
                    files.append(m.group(1))
        res["files_opened"] = files
    return res


def profile(a, sink, front, msg, work, resdir, cpu):
    log("\n== where the time goes (--profile) ==")
    res = {}
    ok, why = perf_works(work)
    res["tool"] = "perf" if ok else "callgrind"
    if not ok:
        log("  perf cannot record here (%s): using callgrind" % why.strip())
    procs = a.profile_processes
    send = [a.mailwire, "send", "--server", "127.0.0.1:%d" % sink.port,
            "--tls", "none", "--helo", HELO, "--from", FROM, "--to", TO,
            "--message", msg]
    bulk_n = a.profile_messages
    bulk = [a.bulk, "127.0.0.1:%d" % sink.port, "none", FROM, TO,
            str(bulk_n), msg]
    jobs = [("send-plain", "mailwire", send, procs),
            ("bulk-plain", "mw_bulk", bulk, 1)]
    if front:
        send_tls = [a.mailwire, "send", "--server",
                    "127.0.0.1:%d" % front.port, "--tls", "implicit",
                    "--tls-ca-file", front.ca, "--tls-server-name",
                    front.name, "--helo", HELO, "--from", FROM, "--to", TO,
                    "--message", msg]
        jobs.insert(1, ("send-tls", "mailwire", send_tls, procs))
    for name, comm, argv, reps in jobs:
        log("-- %s: %s --" % (name, "%d processes" % reps if reps > 1
                               else "one process, %d messages" % bulk_n))
        entry = {"cmd": shlex.join(argv), "processes": reps}
        if ok:
            data = os.path.join(work, "perf-%s.data" % name)
            target = proc_loop(argv, reps, None, cpu) if reps > 1 else \
                [TASKSET, "-c", str(cpu)] + argv
            rc, _, err = run_cmd(["perf", "record", "-e", "cpu-clock",
                                  "-F", "10000", "-o", data, "--"] + target)
            entry["record_exit"] = rc
            entry.update(perf_tables(data, comm, resdir, name))
        else:
            entry.update(callgrind_tables(argv, work, resdir, name))
        if ok and reps > 1 and shutil.which("valgrind"):
            # One process under callgrind too: instructions by function,
            # inclusive, so start-up (dynamic linking, library set-up) can
            # be told from the send itself.
            entry["callgrind"] = callgrind_tables(argv, work, resdir,
                                                  name + "-callgrind",
                                                  inclusive=True)
        if shutil.which("strace"):
            sargv, per = argv, 1
            if reps == 1:   # the bulk run: fewer messages under strace
                per = min(bulk_n, 2000)
                sargv = argv[:5] + [str(per)] + argv[6:]
            entry["strace"] = strace_summary(sargv, work, name, per=per)
            calls = entry["strace"]["syscalls"]
            per = entry["strace"]["per"]
            log("  system calls%s: %s" % (
                " per message" if per > 1 else "",
                ", ".join("%s %.1f" % (k, v / per) for k, v in sorted(
                    calls.items(), key=lambda kv: -kv[1])[:10])))
            if "files_opened" in entry["strace"]:
                fo = entry["strace"]["files_opened"]
                log("  files opened (%d): %s" % (len(fo), " ".join(fo)))
        res[name] = entry
    with open(os.path.join(resdir, "profile.json"), "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")
    return res


# ---------------------------------------------------------------------------
# Output

def machine():
    model = ""
    with open("/proc/cpuinfo") as f:
        for ln in f:
            if ln.startswith("model name"):
                model = ln.split(":", 1)[1].strip()
                break
    mem = ""
    with open("/proc/meminfo") as f:
        mem = f.readline().split(":", 1)[1].strip()
    virt = first_line(["systemd-detect-virt"]) if shutil.which(
        "systemd-detect-virt") else ""
    return {"nproc": os.cpu_count(), "cpu_model": model,
            "kernel": platform.release(), "kernel_build": platform.version(),
            "memory": mem, "virtualization": virt, "host": platform.node()}


def stunnel_version(stunnel):
    """stunnel -version prints its version among other lines (stderr)."""
    p = subprocess.run([stunnel, "-version"], capture_output=True,
                       timeout=10)
    for ln in (p.stdout + p.stderr).decode("utf-8", "replace").splitlines():
        if ln.startswith("stunnel "):
            return ln.strip()
    return "unknown"


def versions(a, stunnel):
    v = {"mailwire": first_line([a.mailwire, "--version"]),
         "postfix (smtp-sink, smtp-source)":
             first_line(["postconf", "-h", "-d", "mail_version"]),
         "msmtp": first_line(["msmtp", "--version"]),
         "swaks": first_line(["swaks", "--version"]),
         "curl": first_line(["curl", "--version"]),
         "python (smtplib)": platform.python_version(),
         "openssl": first_line(["openssl", "version"]),
         "stunnel": stunnel_version(stunnel) if stunnel
         else "not installed"}
    return v


def fmt(x, spec="%.2f"):
    return spec % x if x is not None else "n/a"


def print_table(res):
    w = log
    w("\n" + "=" * 100)
    w("RESULTS against smtp-sink (one run, loopback, sink on CPU %d, clients "
      "on CPU %d; %d-byte messages)" % (res["meta"]["sink_cpu"],
                                        res["meta"]["client_cpu"],
                                        res["meta"]["message_bytes"]))
    w("=" * 100)
    w("%-32s %-14s %-8s %6s %8s %9s %8s %7s %6s %6s  %s" % (
        "tool", "style", "TLS", "N", "seconds", "msg/s", "ms/msg",
        "counted", "sink%", "other", "status"))
    styles = {"conn": "1 connection", "conn4": "4 connections",
              "proc": "process/msg", "floor": "process/msg"}
    for r in res["rows"]:
        status = "ok" if r["valid"] else "INVALID"
        if r["contended"]:
            status += ", CONTENDED"
        if len(r["attempts"]) > 1:
            status += " (try %d)" % len(r["attempts"])
        w("%-32s %-14s %-8s %6d %8.3f %9.1f %8.3f %7s %6s %6.2f  %s" % (
            r["tool"], styles[r["style"]],
            "implicit" if r["tls"] != "none" else "none", r["messages"],
            r["seconds"], r["msgs_per_s"], r["ms_per_msg"],
            "%d/%d" % (r["sink_counted"], r["messages"]
                       if r["style"] != "floor" else 0),
            fmt(100 * r["sink_cores"] if r["sink_cores"] is not None
                else None, "%.0f"), r["other_cores"], status))
    w("  (ms/msg = seconds / N; sink%% = the sink's CPU over the row; "
      "other = cores used by anything else, threshold %.2f)" %
      res["meta"]["max_other_cores"])
    floor = find(res["rows"], "floor")
    if floor and floor["valid"]:
        for k in ("mw-proc-plain", "curl-proc-plain", "msmtp-proc-plain",
                  "swaks-proc-plain", "mw-proc-tls", "curl-proc-tls",
                  "msmtp-proc-tls"):
            r = find(res["rows"], k)
            if r and r["valid"]:
                w("  %-44s %.3f ms per message above the /bin/true floor "
                  "(%.3f ms)" % (r["tool"] + (" (TLS)" if r["tls"] != "none"
                                              else ""),
                                 r["ms_per_msg"] - floor["ms_per_msg"],
                                 floor["ms_per_msg"]))
    if res.get("rss"):
        w("\nPeak RSS of one send (GNU time -v)")
        for r in res["rss"]:
            w("  %-28s %-8s %8d KiB %6.1f MiB%s" % (
                r["tool"], "implicit" if r["tls"] != "none" else "none",
                r["peak_rss_kib"], r["peak_rss_kib"] / 1024.0,
                "" if r["valid"] else "  INVALID"))
    w("\nTargets (issue 13; ratios of this run, not asserted anywhere)")
    for t in res["targets"]:
        verdict = "n/a" if t["met"] is None else (
            "met" if t["met"] else "NOT met")
        w("  %-72s needs %5.2f  measured %6s  %s%s" % (
            t["target"], t["needs"], fmt(t["ratio"]), verdict,
            ("  (%s)" % t["note"]) if t["note"] else ""))
    bad = [r["key"] for r in res["rows"] if not r["valid"]]
    cont = [r["key"] for r in res["rows"] if r["contended"]]
    w("\nINVALID rows: %s" % (", ".join(bad) if bad else "none"))
    w("CONTENDED rows (other CPU above the threshold in every try): %s" %
      (", ".join(cont) if cont else "none"))


def main():
    env = os.environ.get
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mailwire", required=True)
    ap.add_argument("--bulk", required=True, help="mw_bulk as built")
    ap.add_argument("--work", default=None)
    ap.add_argument("--out", default=env("BENCH_SINK_OUT", os.path.join(
        HERE, "results", "sink.json")))
    ap.add_argument("--attach-json", default=env(
        "BENCH_ATTACH_OUT", os.path.join(HERE, "results", "attach.json")))
    ap.add_argument("--messages", type=int,
                    default=int(env("BENCH_SINK_MESSAGES", "2000")),
                    help="messages of each one-connection row")
    ap.add_argument("--processes", type=int,
                    default=int(env("BENCH_SINK_PROCESSES", "300")),
                    help="messages (processes) of each process-per-message "
                    "row")
    ap.add_argument("--max-other", type=float,
                    default=float(env("BENCH_SINK_MAX_OTHER", "0.10")),
                    help="cores used by anything else that make a row "
                    "contended")
    ap.add_argument("--tries", type=int,
                    default=int(env("BENCH_SINK_TRIES", "3")))
    ap.add_argument("--sink-cpu", type=int, default=1)
    ap.add_argument("--client-cpu", type=int, default=0)
    ap.add_argument("--rows", default=env("BENCH_SINK_ROWS", ""),
                    help="only the rows whose key matches this regex")
    ap.add_argument("--no-tls", action="store_true",
                    help="skip the rows through the TLS front")
    ap.add_argument("--profile", action="store_true",
                    help="only: where the time goes (perf or callgrind)")
    ap.add_argument("--profile-processes", type=int, default=200)
    ap.add_argument("--profile-messages", type=int, default=20000)
    a = ap.parse_args()
    a.mailwire = os.path.abspath(a.mailwire)
    a.bulk = os.path.abspath(a.bulk)
    for tool in (SINK, SMTP_SOURCE, GNU_TIME, TASKSET):
        if not os.path.exists(tool):
            raise SystemExit("sink_bench: %s missing (packages postfix, time, "
                             "util-linux)" % tool)
    ncpu = len(os.sched_getaffinity(0))
    if ncpu < 2:
        log("sink_bench: only %d CPU: sink and clients share it" % ncpu)
        a.sink_cpu = a.client_cpu = min(os.sched_getaffinity(0))
    stunnel = shutil.which("stunnel4") or shutil.which("stunnel")
    if not stunnel and not a.no_tls:
        log("sink_bench: stunnel4 not installed: TLS rows skipped")
    work = a.work and os.path.join(a.work, "sink")
    if work:
        os.makedirs(work, exist_ok=True)
    else:
        work = tempfile.mkdtemp(prefix="mwbench-sink.")
    resdir = os.path.dirname(os.path.abspath(a.out))
    os.makedirs(resdir, exist_ok=True)

    class Who:   # what make_small_message wants of a rig
        user1, user2 = FROM, TO
    msg = os.path.join(work, "msg10k.eml")
    size = bench.make_small_message(msg, Who, MSG_BYTES)

    started = time.monotonic()
    sink = front = None
    # SIGTERM (run.sh's trap, kill) unwinds like Ctrl-C, so the finally
    # below stops the sink and stunnel.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        sink = Sink(work, a.sink_cpu)
        if stunnel and not a.no_tls:
            front = TlsFront(work, sink.port, a.sink_cpu, stunnel)
        meta = {
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec="seconds"),
            "machine": machine(), "versions": versions(a, stunnel),
            "message_bytes": size, "messages_per_connection": a.messages,
            "processes_per_row": a.processes, "sink_cpu": a.sink_cpu,
            "client_cpu": a.client_cpu, "max_other_cores": a.max_other,
            "tries": a.tries, "clock_ticks": CLK,
            "sink_cmd": shlex.join(sink.argv), "sink_ehlo": sink.ehlo(),
            "stunnel_cmd": shlex.join(front.argv) if front else None,
            "stunnel_conf": front.conf if front else None,
        }
        log("mailwire against smtp-sink: %s" % meta["date"])
        m = meta["machine"]
        log("  machine: %d CPUs, %s, Linux %s, %s%s" % (
            m["nproc"], m["cpu_model"], m["kernel"], m["memory"],
            (", " + m["virtualization"]) if m["virtualization"] else ""))
        for k, v in meta["versions"].items():
            log("  %-34s %s" % (k, v))
        log("sink:")
        show_cmd("sink", sink.argv, "counters in %s" % sink.log_path)
        log("  EHLO: %s" % ", ".join(meta["sink_ehlo"]))
        if front:
            log("TLS front:")
            show_cmd("stunnel", front.argv)
            for ln in front.conf.splitlines():
                log("    " + ln)
        log("message: %s, %d bytes, CRLF (smtp-source gets %s.lf)" %
            (msg, size, msg))
        if a.profile:
            res = {"meta": meta, "profile": profile(a, sink, front, msg,
                                                    work, resdir,
                                                    a.client_cpu)}
            res["meta"]["seconds"] = round(time.monotonic() - started, 1)
            log("\nprofile took %.0f s; JSON: %s" % (
                res["meta"]["seconds"],
                os.path.join(resdir, "profile.json")))
            return 0

        bulk_dir = os.path.join(work, "bulk")
        os.makedirs(bulk_dir, exist_ok=True)
        with open(msg, "rb") as f:
            body = f.read()
        for i in range(a.messages):
            with open(os.path.join(bulk_dir, "%05d.eml" % i), "wb") as f:
                f.write(body)
        rows = build_rows(a, sink, front, msg, bulk_dir, a.client_cpu)
        if a.rows:
            rows = [r for r in rows if re.search(a.rows, r.key)]
        own = [sink.proc.pid] + ([front.proc.pid] if front else [])
        watch = CpuWatch(own)
        # Untimed warm-up: every binary once (page cache, the sink's first
        # session), before any row is measured.
        log("\nwarm-up (untimed): one message with each client (page "
            "cache, the sink's and stunnel's first sessions)")
        warm = [([a.bulk, "127.0.0.1:%d" % sink.port, "none", FROM, TO, "1",
                  msg], None),
                ([a.mailwire, "send", "--server", "127.0.0.1:%d" % sink.port,
                  "--tls", "none", "--from", FROM, "--to", TO, "--message",
                  msg], None),
                (["curl", "-sS", "smtp://127.0.0.1:%d/%s" % (sink.port, HELO),
                  "--mail-from", FROM, "--mail-rcpt", TO, "-T", msg], None),
                (["msmtp", "--host=127.0.0.1", "--port=%d" % sink.port,
                  "--tls=off", "--auth=off", "--from=" + FROM, TO], msg),
                (["swaks", "--server", "127.0.0.1", "--port",
                  str(sink.port), "--from", FROM, "--to", TO, "--data",
                  "@" + msg, "--silent", "2"], None),
                ([SMTP_SOURCE, "-m", "1", "-F", msg + ".lf", "-f", FROM,
                  "-t", TO, "127.0.0.1:%d" % sink.port], None),
                ([sys.executable, os.path.abspath(__file__),
                  "smtplib-client", "127.0.0.1", str(sink.port), "1", msg],
                 None)]
        if front:
            warm.append(([a.mailwire, "send", "--server",
                          "127.0.0.1:%d" % front.port, "--tls", "implicit",
                          "--tls-ca-file", front.ca, "--tls-server-name",
                          front.name, "--from", FROM, "--to", TO,
                          "--message", msg], None))
        for argv, stdin in warm:
            fin = open(stdin, "rb") if stdin else subprocess.DEVNULL
            try:
                p = subprocess.run(argv, stdin=fin, capture_output=True,
                                   timeout=60)
            finally:
                if stdin:
                    fin.close()
            if p.returncode:
                log("  warm-up: %s exited %d: %s" % (
                    os.path.basename(argv[0]), p.returncode,
                    p.stderr.decode("utf-8", "replace").strip()[-300:]))
        results = []
        log("\n== rows ==")
        for row in rows:
            results.append(run_row(row, sink, watch, work, a.max_other,
                                   a.tries))
        rss = rss_rows(a, sink, front, msg)
        res = {"meta": meta, "rows": results, "rss": rss}
        res["targets"] = targets(results, rss, a.attach_json)
        res["meta"]["seconds"] = round(time.monotonic() - started, 1)
        with open(a.out, "w") as f:
            json.dump(res, f, indent=2)
            f.write("\n")
        print_table(res)
        log("\nsink benchmark took %.0f s; JSON: %s" % (
            res["meta"]["seconds"], a.out))
        return 0 if all(r["valid"] for r in results) else 1
    finally:
        if front:
            front.stop()
        if sink:
            sink.stop()
        if not a.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

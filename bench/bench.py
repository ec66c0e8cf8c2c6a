#!/usr/bin/env python3
"""bench.py - mailwire against its peers, as ratios, in one run.

Driven by bench/run.sh, which builds mailwire, compiles bench/mw_bulk.c,
starts a private Postfix + Dovecot rig (tests/rig/rig.sh) and stops it
afterwards.  Everything talks to 127.0.0.1 only.  Python 3 standard
library only.

    python3 bench/bench.py --rig-env DIR/rig.env --mailwire build-bench/mailwire \
        --bulk build-bench/mw_bulk --work WORKDIR [--out bench/results/latest.json]

Benchmarks (see bench/README.md):
  1. probe    - `mailwire probe` (every port and mode at once) against a
                sequential "automatic mode" search over the same fake servers.
  2. throughput - N ~2 KB messages, plaintext port and STARTTLS + AUTH PLAIN.
  3. memory   - peak RSS and wall time for one ~9 MiB message (and 18 MiB).

It only reports; nothing here asserts a timing.  A run whose messages were
not all delivered into the rig's Maildir is marked INVALID.
"""

import argparse
import base64
import datetime
import json
import os
import platform
import random
import shlex
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True   # leave no __pycache__ in tests/
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import fakesmtp  # noqa: E402
import rigutil  # noqa: E402

SMTP_SOURCE = "/usr/sbin/smtp-source"
GNU_TIME = "/usr/bin/time"
HELO = "bench.test"


def log(msg=""):
    print(msg, flush=True)


def show_cmd(label, argv, note=""):
    log("  $ %s%s" % (shlex.join(argv), ("   # " + note) if note else ""))


def first_line(argv):
    try:
        p = subprocess.run(argv, capture_output=True, timeout=10)
        out = (p.stdout or p.stderr).decode("utf-8", "replace").strip()
        return out.splitlines()[0] if out else ""
    except (OSError, subprocess.TimeoutExpired):
        return "not found"


# ---------------------------------------------------------------------------
# The rig's Maildir and queue

class Rig:
    def __init__(self, env_file):
        self.env = rigutil.load_env(env_file)
        e = self.env
        self.dir = e["RIG_DIR"]
        self.pf = os.path.join(self.dir, "pf")
        self.plain = int(e["RIG_PLAIN_PORT"])
        self.submission = int(e["RIG_SUBMISSION_PORT"])
        self.ca = e["RIG_CA_FILE"]
        self.name = e["RIG_SERVER_NAME"]
        self.user1, self.pass1 = e["RIG_USER1"], e["RIG_PASS1"]
        self.user2 = e["RIG_USER2"]
        local, _, domain = self.user2.partition("@")
        self.box = rigutil.mailbox_dir(e, local, domain)
        self.size_limit = int(e["RIG_MESSAGE_SIZE_LIMIT"])

    def delivered(self):
        n = 0
        for sub in ("new", "cur"):
            try:
                n += len(os.listdir(os.path.join(self.box, sub)))
            except FileNotFoundError:
                pass
        return n

    def delivered_sizes(self):
        sizes = []
        for sub in ("new", "cur"):
            d = os.path.join(self.box, sub)
            try:
                sizes += [os.path.getsize(os.path.join(d, f))
                          for f in os.listdir(d)]
            except FileNotFoundError:
                pass
        return sizes

    def count_tags(self, tags):
        """How many delivered messages carry each X-Bench-Tool value."""
        counts = dict.fromkeys(tags, 0)
        for sub in ("new", "cur"):
            d = os.path.join(self.box, sub)
            try:
                names = os.listdir(d)
            except FileNotFoundError:
                continue
            for name in names:
                with open(os.path.join(d, name), "rb") as f:
                    head = f.read(4096)
                for line in head.split(b"\n"):
                    if line.startswith(b"X-Bench-Tool: "):
                        tag = line[14:].strip().decode("ascii", "replace")
                        if tag in counts:
                            counts[tag] += 1
                        break
        return counts

    def clear(self):
        for sub in ("new", "cur", "tmp"):
            d = os.path.join(self.box, sub)
            try:
                for f in os.listdir(d):
                    os.unlink(os.path.join(d, f))
            except FileNotFoundError:
                pass

    def queue_empty(self):
        p = subprocess.run(["postqueue", "-c", self.pf, "-p"],
                           capture_output=True, timeout=30)
        return b"Mail queue is empty" in p.stdout

    def settle(self, expected, max_wait=90.0):
        """Wait until the queue is empty and `expected` messages are in the
        mailbox (or nothing changes any more); return the count found."""
        deadline = time.monotonic() + max_wait
        last, last_change = -1, time.monotonic()
        while time.monotonic() < deadline:
            n = self.delivered()
            if n != last:
                last, last_change = n, time.monotonic()
            if n >= expected and self.queue_empty():
                return n
            if time.monotonic() - last_change > 15 and self.queue_empty():
                return n
            time.sleep(0.1)
        return self.delivered()

    def ehlo_size(self):
        with socket.create_connection(("127.0.0.1", self.plain), 5) as s:
            f = s.makefile("rwb")
            f.readline()
            f.write(b"EHLO " + HELO.encode() + b"\r\n")
            f.flush()
            size = None
            while True:
                line = f.readline().decode()
                if line[4:].upper().startswith("SIZE "):
                    size = int(line[9:].strip())
                if len(line) < 4 or line[3] != "-":
                    break
            f.write(b"QUIT\r\n")
            f.flush()
            return size

    def raise_size_limit(self, limit):
        subprocess.run(["postconf", "-c", self.pf, "-e",
                        "message_size_limit=%d" % limit], check=True)
        subprocess.run(["postfix", "-c", self.pf, "reload"], check=True,
                       capture_output=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if self.ehlo_size() == limit:
                    return True
            except OSError:
                pass
            time.sleep(0.2)
        return False


# ---------------------------------------------------------------------------
# 1. Parallel probe against a sequential search

def _read_reply(f):
    """One SMTP reply (all lines) from a binary file object; the code."""
    lines = []
    while True:
        line = f.readline()
        if not line:
            raise ConnectionError("closed")
        lines.append(line.decode("latin-1").rstrip("\r\n"))
        if len(line) < 4 or line[3:4] != b"-":
            return int(lines[-1][:3]), lines


def _smtp_dialogue(sock, deadline):
    """Greeting and EHLO on sock within the deadline; returns (sock, the
    EHLO reply lines)."""
    def left():
        t = deadline - time.monotonic()
        if t <= 0:
            raise socket.timeout("attempt budget spent")
        return t
    sock.settimeout(left())
    f = sock.makefile("rwb")
    code, _ = _read_reply(f)
    if code != 220:
        raise ConnectionError("greeting %d" % code)
    sock.settimeout(left())
    f.write(b"EHLO " + HELO.encode() + b"\r\n")
    f.flush()
    code, lines = _read_reply(f)
    if code != 250:
        raise ConnectionError("EHLO %d" % code)
    return sock, lines


def _outcome(exc):
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timeout"
    if isinstance(exc, ssl.SSLError):
        return "tls_failed"
    return "failed"


def seq_attempt(port, mode, ctx, timeout):
    """One connection of the sequential search, bounded like one probe
    connection: connect to last EHLO within `timeout` seconds.
    mode "implicit": TLS at the first byte, greeting, EHLO.
    mode "plain": greeting, EHLO, then STARTTLS when offered.
    Returns (rows, seconds) with rows [(mode, outcome)]."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    rows = []
    sock = None
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if mode == "implicit":
            tls = ctx.wrap_socket(sock, server_hostname="localhost",
                                  do_handshake_on_connect=False)
            sock = tls
            tls.settimeout(max(0.001, deadline - time.monotonic()))
            tls.do_handshake()
            sock, _ = _smtp_dialogue(tls, deadline)
            rows.append(("implicit", "works"))
        else:
            try:
                sock, lines = _smtp_dialogue(sock, deadline)
            except Exception as e:  # noqa: BLE001
                rows += [("plain", _outcome(e)), ("starttls", _outcome(e))]
                raise
            rows.append(("plain", "works"))
            if any(l[4:].upper().startswith("STARTTLS") for l in lines):
                try:
                    sock, _ = _smtp_dialogue_after_ehlo(sock, deadline, ctx)
                    rows.append(("starttls", "works"))
                except Exception as e:  # noqa: BLE001
                    rows.append(("starttls", _outcome(e)))
            else:
                rows.append(("starttls", "no_starttls"))
    except Exception as e:  # noqa: BLE001
        if not rows:
            rows.append((mode, _outcome(e)))
            if mode == "plain":
                rows.append(("starttls", _outcome(e)))
    finally:
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass
    return rows, time.monotonic() - t0


def _smtp_dialogue_after_ehlo(sock, deadline, ctx):
    """STARTTLS on a socket that has already had its greeting and EHLO."""
    sock.settimeout(max(0.001, deadline - time.monotonic()))
    f = sock.makefile("rwb")
    f.write(b"STARTTLS\r\n")
    f.flush()
    code, _ = _read_reply(f)
    if code != 220:
        raise ConnectionError("STARTTLS %d" % code)
    tls = ctx.wrap_socket(sock, server_hostname="localhost",
                          do_handshake_on_connect=False)
    tls.settimeout(max(0.001, deadline - time.monotonic()))
    tls.do_handshake()
    tls.settimeout(max(0.001, deadline - time.monotonic()))
    f = tls.makefile("rwb")
    f.write(b"EHLO " + HELO.encode() + b"\r\n")
    f.flush()
    code, _ = _read_reply(f)
    if code != 250:
        raise ConnectionError("EHLO after TLS %d" % code)
    return tls, None


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def bench_probe(mailwire, timeout_s=2):
    log("\n== 1. probe: every port and mode at once vs a sequential search ==")
    certdir, (ca, cert, key) = fakesmtp.temp_certs()
    servers = {
        "silent-1": fakesmtp.FakeSMTP(cert=cert, key=key, silent=True),
        "implicit": fakesmtp.FakeSMTP(cert=cert, key=key, implicit_tls=True,
                                      starttls=False),
        "silent-2": fakesmtp.FakeSMTP(cert=cert, key=key, silent=True),
        "starttls": fakesmtp.FakeSMTP(cert=cert, key=key),
    }
    ports = {}
    for name, srv in servers.items():
        ports[name] = srv.start()
    ports["closed"] = closed_port()
    # The usual order of an "automatic mode" (587, 465, 25, 2525), played by
    # the fake servers: "587" is silent, "465" speaks implicit TLS, "25" is
    # silent, "2525" speaks STARTTLS, and one port is closed.
    order = [("587", "silent-1"), ("465", "implicit"), ("25", "silent-2"),
             ("2525", "starttls"), ("-", "closed")]
    for role, name in order:
        log("  fake server %-9s on 127.0.0.1:%d  (plays port %s)"
            % (name, ports[name], role))
    port_list = [ports[name] for _, name in order]
    result = {"greeting_timeout_s": timeout_s,
              "servers": {n: ports[n] for _, n in order}}
    try:
        argv = [mailwire, "probe", "127.0.0.1", "--ports",
                ",".join(str(p) for p in port_list),
                "--greeting-timeout", "%ds" % timeout_s,
                "--tls-ca-file", ca, "--tls-server-name", "localhost",
                "--json"]
        log("mailwire (parallel probe):")
        show_cmd("mailwire", argv)
        t0 = time.monotonic()
        p = subprocess.run(argv, capture_output=True, timeout=120)
        probe_s = time.monotonic() - t0
        doc = json.loads(p.stdout.decode())
        probe_rows = {(r["port"], r["mode"]): r["outcome"]
                      for r in doc["results"]}
        rec = doc.get("recommended") or {}
        log("  exit %d, %.2f s wall (total_ms %.0f), %d combinations, "
            "recommended %s:%s %s" % (p.returncode, probe_s,
                                       doc.get("total_ms", -1),
                                       len(doc["results"]), rec.get("host"),
                                       rec.get("port"), rec.get("mode")))

        log("sequential search (Python, same %d s budget per connection, "
            "for each port: implicit TLS, then plaintext + STARTTLS):"
            % timeout_s)
        ctx = ssl.create_default_context(cafile=ca)
        seq_rows = {}
        t0 = time.monotonic()
        first_working = None
        attempts = []
        for role, name in order:
            port = ports[name]
            for mode in ("implicit", "plain"):
                rows, secs = seq_attempt(port, mode, ctx, timeout_s)
                attempts.append({"port": port, "plays": role, "try": mode,
                                 "seconds": round(secs, 3), "rows": rows})
                for m, outcome in rows:
                    seq_rows[(port, m)] = outcome
                    if first_working is None and outcome == "works" \
                            and m != "plain":
                        first_working = (time.monotonic() - t0, port, m)
                log("  127.0.0.1:%-5d (%-4s) %-8s %5.2f s  %s"
                    % (port, role, mode, secs,
                       ", ".join("%s %s" % r for r in rows)))
        seq_all_s = time.monotonic() - t0
        # Agreement on which combinations work.
        works_probe = sorted(k for k, v in probe_rows.items() if v == "works")
        works_seq = sorted(k for k, v in seq_rows.items() if v == "works")
        agree = works_probe == works_seq
        result.update({
            "mailwire_cmd": shlex.join(argv),
            "mailwire_exit": p.returncode,
            "probe_wall_s": round(probe_s, 3),
            "probe_total_ms": doc.get("total_ms"),
            "probe_rows": [{"port": k[0], "mode": k[1], "outcome": v}
                           for k, v in sorted(probe_rows.items())],
            "sequential_all_s": round(seq_all_s, 3),
            "sequential_first_secure_s":
                round(first_working[0], 3) if first_working else None,
            "sequential_first_secure": (
                {"port": first_working[1], "mode": first_working[2]}
                if first_working else None),
            "sequential_attempts": attempts,
            "ratio_all": round(seq_all_s / probe_s, 2),
            "ratio_first": (round(first_working[0] / probe_s, 2)
                            if first_working else None),
            "working_combinations_agree": agree,
            "working_probe": ["%d/%s" % k for k in works_probe],
            "working_sequential": ["%d/%s" % k for k in works_seq],
        })
        log("  all %d combinations: %.2f s; first secure one (%s) after "
            "%.2f s" % (len(seq_rows), seq_all_s,
                        "%d %s" % first_working[1:] if first_working
                        else "none", first_working[0] if first_working
                        else float("nan")))
        if not agree:
            log("  NOTE: probe and sequential search disagree on what works:"
                " probe %s, sequential %s" % (result["working_probe"],
                                              result["working_sequential"]))
    finally:
        for srv in servers.values():
            srv.stop()
        subprocess.run(["rm", "-rf", certdir])
    return result


# ---------------------------------------------------------------------------
# 2. Throughput

def make_small_message(path, rig, size=2048):
    hdr = ["From: %s" % rig.user1, "To: %s" % rig.user2,
           "Subject: mailwire benchmark", "Date: %s" % time.strftime(
               "%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
           "Message-ID: <bench.%d@bench.test>" % os.getpid(),
           "MIME-Version: 1.0", "Content-Type: text/plain; charset=us-ascii",
           ""]
    body = []
    while sum(len(x) + 2 for x in hdr + body) < size:
        body.append("The quick brown fox jumps over the lazy dog; line %03d."
                    % len(body))
    data = "\r\n".join(hdr + body) + "\r\n"
    with open(path, "w", newline="") as f:
        f.write(data)
    # smtp-source -F appends CRLF to each line itself: give it LF lines.
    with open(path + ".lf", "w", newline="") as f:
        f.write(data.replace("\r\n", "\n"))
    return len(data)


def warm_up(rig, msg, tls, count=5):
    """A few untimed messages through the port about to be measured (with
    Python's smtplib, a neutral client), so that the first tool measured
    does not pay for the server's cold start (smtpd, cleanup, TLS cache)."""
    import smtplib
    with open(msg, "rb") as f:
        data = f.read()
    port = rig.submission if tls else rig.plain
    with smtplib.SMTP("127.0.0.1", port, local_hostname=HELO,
                      timeout=30) as c:
        if tls:
            c.starttls(context=ssl.create_default_context(cafile=rig.ca))
            c.login(rig.user1, rig.pass1)
        for _ in range(count):
            c.sendmail(rig.user1, [rig.user2], data)
    rig.settle(count, max_wait=30)
    rig.clear()


def run_one_process(argv, count, stdin_file=None, env=None):
    """argv once; returns (seconds, failures, stderr tail)."""
    t0 = time.monotonic()
    stdin = open(stdin_file, "rb") if stdin_file else subprocess.DEVNULL
    try:
        p = subprocess.run(argv, stdin=stdin, capture_output=True, env=env,
                           timeout=600)
    finally:
        if stdin_file:
            stdin.close()
    secs = time.monotonic() - t0
    return secs, (0 if p.returncode == 0 else count), \
        (p.stderr.decode("utf-8", "replace")[-300:] if p.returncode else "")


def run_per_message(argv, count, stdin_file=None, env=None):
    """argv `count` times, one process per message, one after the other."""
    failures, err = 0, ""
    t0 = time.monotonic()
    for _ in range(count):
        stdin = open(stdin_file, "rb") if stdin_file else subprocess.DEVNULL
        try:
            p = subprocess.run(argv, stdin=stdin, capture_output=True,
                               env=env, timeout=120)
        finally:
            if stdin_file:
                stdin.close()
        if p.returncode != 0:
            failures += 1
            err = p.stderr.decode("utf-8", "replace")[-300:]
    return time.monotonic() - t0, failures, err


def bench_throughput(rig, tools, work, n, rounds=3):
    log("\n== 2. throughput: %d messages of ~2 KB from %s to %s ==" %
        (n, rig.user1, rig.user2))
    msg = os.path.join(work, "small.eml")
    size = make_small_message(msg, rig)
    log("  message: %s, %d bytes, CRLF (smtp-source gets %s.lf; the "
        "process-per-message tools get copies with an X-Bench-Tool header, "
        "+24 bytes)" % (msg, size, msg))
    env_pw = dict(os.environ, MW_PASSWORD=rig.pass1)

    # msmtp's settings for the STARTTLS run come from a profile (the
    # password has no command-line option; passwordeval would add a shell
    # per message).  0600 or msmtp refuses it.
    msmtprc = os.path.join(work, "msmtprc")
    with open(msmtprc, "w") as f:
        f.write("account bench\nhost 127.0.0.1\nport %d\ntls on\n"
                "tls_starttls on\ntls_trust_file %s\ntls_host_override %s\n"
                "auth plain\nuser %s\npassword %s\nfrom %s\ndomain %s\n"
                % (rig.submission, rig.ca, rig.name, rig.user1, rig.pass1,
                   rig.user1, HELO))
    os.chmod(msmtprc, 0o600)

    mw, bulk = tools["mailwire"], tools["bulk"]
    P, S = rig.plain, rig.submission
    u1, u2 = rig.user1, rig.user2
    curl_tls = ["--resolve", "%s:%d:127.0.0.1" % (rig.name, S),
                "--ssl-reqd", "--cacert", rig.ca,
                "--user", "%s:%s" % (u1, rig.pass1),
                "--login-options", "AUTH=PLAIN"]
    curl_url_plain = "smtp://127.0.0.1:%d/%s" % (P, HELO)
    curl_url_tls = "smtp://%s:%d/%s" % (rig.name, S, HELO)

    def curl_reuse(url, extra):
        argv = ["curl", "-sS"] + extra + ["--mail-from", u1,
                                          "--mail-rcpt", u2]
        for _ in range(n):
            argv += [url, "-T", msg]
        shown = argv[:len(argv) - 3 * n] + [url, "-T", msg, "..."]
        return argv, shown

    reuse_note = ("the pair URL -T FILE %d times in one process: curl "
                  "reuses the connection (no pipelining)" % n)

    plain, tls = [], []
    # (label, connection style, baseline key, argv, how, stdin, env, note)
    plain.append(("mailwire lib (mw_bulk)", "1 connection", "mw-conn",
                  [bulk, "127.0.0.1:%d" % P, "none", u1, u2, str(n), msg],
                  "once", None, None, "libmailwire, pipelining"))
    plain.append(("smtp-source", "1 connection", "mw-conn",
                  [SMTP_SOURCE, "-d", "-s", "1", "-m", str(n), "-F",
                   msg + ".lf", "-M", HELO, "-f", u1, "-t", u2,
                   "127.0.0.1:%d" % P],
                  "once", None, None, "postfix's load generator"))
    argv, shown = curl_reuse(curl_url_plain, [])
    plain.append(("curl (reused conn)", "1 connection", "mw-conn", argv,
                  "once", None, None, (shown, reuse_note)))
    # The CLI's bulk mode (issue 12): a directory of n copies, one
    # connection and then four, BDAT when the server offers CHUNKING
    # (Postfix does), against smtp-source with 1 and 4 sessions.
    bulk_dir = os.path.join(work, "bulk-dir")
    os.makedirs(bulk_dir, exist_ok=True)
    with open(msg, "rb") as f:
        body = f.read()
    for i in range(n):
        with open(os.path.join(bulk_dir, "%05d.eml" % i), "wb") as f:
            f.write(body)
    cli_bulk = [mw, "send", "--server", "127.0.0.1:%d" % P, "--tls", "none",
                "--helo", HELO, "--from", u1, "--to", u2,
                "--messages", bulk_dir]
    plain.append(("mailwire send --messages", "1 connection", "mw-conn",
                  cli_bulk, "once", None, None,
                  "the CLI's bulk mode, %d files, BDAT" % n))
    plain.append(("mailwire send --messages -c4", "4 connections",
                  "mw-conn4", cli_bulk + ["--connections", "4"], "once",
                  None, None, "the CLI's bulk mode, 4 connections, BDAT"))
    plain.append(("smtp-source -s4", "4 connections", "mw-conn4",
                  [SMTP_SOURCE, "-d", "-s", "4", "-m", str(n), "-F",
                   msg + ".lf", "-M", HELO, "-f", u1, "-t", u2,
                   "127.0.0.1:%d" % P],
                  "once", None, None, "postfix's load generator, 4 sessions"))
    plain.append(("mailwire send", "process/msg", "mw-proc",
                  [mw, "send", "--server", "127.0.0.1:%d" % P, "--tls",
                   "none", "--helo", HELO, "--from", u1, "--to", u2,
                   "--message", msg], "each", None, None, ""))
    plain.append(("msmtp", "process/msg", "mw-proc",
                  ["msmtp", "--host=127.0.0.1", "--port=%d" % P, "--tls=off",
                   "--auth=off", "--domain=" + HELO, "--from=" + u1, u2],
                  "each", msg, None, ""))
    plain.append(("swaks", "process/msg", "mw-proc",
                  ["swaks", "--server", "127.0.0.1", "--port", str(P),
                   "--helo", HELO, "--from", u1, "--to", u2,
                   "--data", "@" + msg, "--silent", "2"],
                  "each", None, None, ""))
    plain.append(("curl", "process/msg", "mw-proc",
                  ["curl", "-sS", curl_url_plain, "--mail-from", u1,
                   "--mail-rcpt", u2, "-T", msg], "each", None, None, ""))

    tls.append(("mailwire lib (mw_bulk)", "1 connection", "mw-conn",
                [bulk, "127.0.0.1:%d" % S, "starttls", u1, u2, str(n), msg,
                 rig.ca, rig.name, u1],
                "once", None, env_pw, "MW_PASSWORD in the environment"))
    argv, shown = curl_reuse(curl_url_tls, curl_tls)
    tls.append(("curl (reused conn)", "1 connection", "mw-conn", argv,
                "once", None, None, (shown, reuse_note)))
    if tools.get("multi_send"):
        # The project's own example, as it is: STARTTLS, the strongest
        # mechanism (SCRAM-SHA-256), its own ~110-byte messages.  Shown for
        # information; not a baseline and no ratio (other message size).
        tls.append(("multi_send (example)", "1 connection", "info",
                    [tools["multi_send"], "127.0.0.1:%d" % S, rig.ca, u1,
                     u1, u2, str(n)], "once", None, env_pw,
                    "tests/integration/multi_send.c as built; its own "
                    "~110-byte messages, SCRAM-SHA-256; no ratio"))
    tls.append(("mailwire send", "process/msg", "mw-proc",
                [mw, "send", "--server", "127.0.0.1:%d" % S, "--tls",
                 "starttls", "--tls-ca-file", rig.ca, "--tls-server-name",
                 rig.name, "--user", u1, "--password-env", "MW_PASSWORD",
                 "--auth", "PLAIN", "--helo", HELO, "--from", u1,
                 "--to", u2, "--message", msg],
                "each", None, env_pw, "MW_PASSWORD in the environment"))
    tls.append(("msmtp", "process/msg", "mw-proc",
                ["msmtp", "-C", msmtprc, "-a", "bench", u2],
                "each", msg, None, "profile %s" % msmtprc))
    tls.append(("swaks", "process/msg", "mw-proc",
                ["swaks", "--server", "127.0.0.1", "--port", str(S),
                 "--helo", HELO, "--from", u1, "--to", u2,
                 "--data", "@" + msg, "--tls", "--tls-verify",
                 "--tls-ca-path", rig.ca, "--tls-sni", rig.name,
                 "--auth", "PLAIN", "--auth-user", u1,
                 "--auth-password", rig.pass1, "--silent", "2"],
                "each", None, None, ""))
    tls.append(("curl", "process/msg", "mw-proc",
                ["curl", "-sS", curl_url_tls] + curl_tls +
                ["--mail-from", u1, "--mail-rcpt", u2, "-T", msg],
                "each", None, None, ""))

    out = {"messages": n, "message_bytes": size}
    for section, rows, port in (("plain", plain, P), ("starttls", tls, S)):
        log("-- %s: 127.0.0.1:%d %s --" % (
            section, port, "(no TLS, no AUTH)" if section == "plain" else
            "(STARTTLS, certificate verified against RIG_CA_FILE, "
            "AUTH PLAIN)"))
        if section == "starttls":
            log("  msmtp profile %s:" % msmtprc)
            with open(msmtprc) as f:
                for line in f:
                    log("    " + line.rstrip())
        results = []
        warm_up(rig, msg, section == "starttls")

        def describe(row, extra=""):
            label, style, base, argv, how, stdin, env, note = row
            shown = argv
            if isinstance(note, tuple):
                shown, note = note
            log("%s (%s):" % (label, style))
            notes = [extra] if extra else []
            if stdin:
                notes.append("< " + stdin)
            if isinstance(note, str) and note:
                notes.append(note)
            show_cmd(label, shown, "; ".join(notes))
            return shown

        def record(row, shown, secs, fails, got, expect, extra=None):
            label, style, base, argv, how, stdin, env, note = row
            valid = got == expect and fails == 0
            rate = n / secs if secs > 0 else 0.0
            r = {"tool": label, "style": style, "baseline": base,
                 "cmd": shlex.join(shown) + (
                     "" if how == "once" else "  # x %d processes" % n),
                 "seconds": round(secs, 3), "msgs_per_s": round(rate, 1),
                 "failures": fails, "delivered": got, "expected": expect,
                 "valid": valid}
            if extra:
                r.update(extra)
            results.append(r)
            return r

        # One-connection tools: each alone (one process), `rounds` times
        # in turn; the median round counts.  The rig's queue is empty and
        # the Maildir cleared before each.
        once = [r for r in rows if r[4] == "once"]
        shown_of = {r[0]: describe(r, "median of %d rounds" % rounds)
                    for r in once}
        times = {r[0]: [] for r in once}
        bad = {r[0]: (0, n) for r in once}   # worst (fails, delivered)
        for rnd in range(rounds):
            for row in once:
                label, argv, stdin, env = row[0], row[3], row[5], row[6]
                rig.clear()
                secs, fails, err = run_one_process(argv, n, stdin, env)
                got = rig.settle(n)
                times[label].append(secs)
                if fails or got != n:
                    bad[label] = (fails, got)
                log("  round %d %-24s %.2f s, %.1f msg/s, delivered %d/%d%s"
                    % (rnd + 1, label, secs, n / secs, got, n,
                       "" if (got == n and not fails) else
                       "  ** INVALID **"))
                if err:
                    log("  last error: %s" % err.strip().replace("\n", " | "))
        for row in once:
            ts = sorted(times[row[0]])
            fails, got = bad[row[0]]
            record(row, shown_of[row[0]], ts[len(ts) // 2], fails, got, n,
                   {"rounds_s": [round(t, 3) for t in times[row[0]]]})

        # Process-per-message tools: interleaved (message i of every tool,
        # then message i+1, in a rotating order) so that the server's
        # background work (queue manager, delivery) weighs on all of them
        # alike.  Each tool sends its own copy of the message, tagged with
        # an X-Bench-Tool header, and its deliveries are counted by tag.
        each = [r for r in rows if r[4] == "each"]
        tagged = []
        with open(msg, "rb") as f:
            body = f.read()
        for k, row in enumerate(each):
            tag = "%s-%d" % (section, k)
            path = os.path.join(work, "small-%s.eml" % tag)
            with open(path, "wb") as f:
                f.write(b"X-Bench-Tool: " + tag.encode() + b"\r\n" + body)
            argv = [path if a == msg else ("@" + path if a == "@" + msg
                                           else a) for a in row[3]]
            stdin = path if row[5] == msg else row[5]
            row = row[:3] + (argv, row[4], stdin) + row[6:]
            tagged.append((row, tag, argv, stdin))
        shown_each = [describe(row, "x %d, one process per message, "
                               "interleaved with the others" % n)
                      for row, _, _, _ in tagged]
        rig.clear()
        secs = [0.0] * len(tagged)
        fails = [0] * len(tagged)
        errs = [""] * len(tagged)
        k = len(tagged)
        for i in range(n):
            for j in range(k):
                idx = (i + j) % k
                row, tag, argv, stdin = tagged[idx]
                t, f_, e = run_per_message(argv, 1, stdin, row[6])
                secs[idx] += t
                fails[idx] += f_
                errs[idx] = e or errs[idx]
        total = rig.settle(n * k, max_wait=120)
        counts = rig.count_tags([t for _, t, _, _ in tagged])
        for idx, (row, tag, argv, stdin) in enumerate(tagged):
            got = counts.get(tag, 0)
            r = record(row, shown_each[idx], secs[idx], fails[idx], got, n)
            log("  %-24s %.2f s, %.1f msg/s, exit failures %d, delivered "
                "%d/%d%s" % (row[0], r["seconds"], r["msgs_per_s"],
                             fails[idx], got, n,
                             "" if r["valid"] else "  ** INVALID **"))
            if errs[idx]:
                log("  last error: %s" %
                    errs[idx].strip().replace("\n", " | "))
        log("  (%d messages in the Maildir in all)" % total)
        bases = {r["baseline"]: r for r in results
                 if r["tool"].startswith("mailwire")}
        for r in results:
            b = bases.get(r["baseline"])
            r["ratio_vs_mailwire"] = (
                round(r["msgs_per_s"] / b["msgs_per_s"], 2)
                if b and b["msgs_per_s"] and b["valid"] and r["valid"]
                else None)
            r["mailwire_baseline"] = (b["tool"] if b else
                                      "(information only)")
        out[section] = results
    rig.clear()
    return out


# ---------------------------------------------------------------------------
# 3. Memory: one large message

def make_big_message(path, rig, target):
    """A multipart message with one base64 attachment, `target` bytes."""
    head = ("From: %s\r\nTo: %s\r\nSubject: mailwire benchmark, large "
            "attachment\r\nDate: %s\r\nMessage-ID: <big.%d.%d@bench.test>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
            "boundary=\"=-bench-boundary\"\r\n\r\n--=-bench-boundary\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
            "A large attachment follows.\r\n\r\n--=-bench-boundary\r\n"
            "Content-Type: application/octet-stream; name=\"blob.bin\"\r\n"
            "Content-Disposition: attachment; filename=\"blob.bin\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n"
            % (rig.user1, rig.user2, time.strftime(
                "%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
               os.getpid(), target))
    tail = "\r\n--=-bench-boundary--\r\n"
    b64_bytes = target - len(head) - len(tail)
    # 76 base64 characters + CRLF per line, 57 raw bytes per line.
    lines = b64_bytes // 78
    rnd = random.Random(target)
    with open(path, "wb") as f:
        f.write(head.encode())
        chunk = 57 * 1024
        left = lines * 57
        while left > 0:
            raw = rnd.randbytes(min(chunk, left))
            left -= len(raw)
            enc = base64.encodebytes(raw)  # 76-char lines, LF
            f.write(enc.replace(b"\n", b"\r\n"))
        f.write(tail.encode())
    size = os.path.getsize(path)
    # The Maildir copy has LF line endings: one byte less per line.
    lf_size = size - (len(head.encode()) - len(head.replace("\r\n", "\n"))
                      ) - lines - 2
    return size, lf_size


def timed_rss(argv, stdin_file=None, env=None):
    """Run argv under GNU time: (exit code, peak RSS KiB, wall s, stderr)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        full = [GNU_TIME, "-f", "%M %e", "-o", tf.name] + argv
        stdin = open(stdin_file, "rb") if stdin_file else subprocess.DEVNULL
        try:
            t0 = time.monotonic()
            p = subprocess.run(full, stdin=stdin, capture_output=True,
                               env=env, timeout=600)
            wall = time.monotonic() - t0
        finally:
            if stdin_file:
                stdin.close()
        fields = open(tf.name).read().split()
        rss = int(fields[-2]) if len(fields) >= 2 else 0
    return p.returncode, rss, wall, p.stderr.decode("utf-8", "replace")


def bench_memory(rig, tools, work, mib, double):
    log("\n== 3. memory: one large message (base64 attachment), plaintext "
        "port 127.0.0.1:%d ==" % rig.plain)
    mw = tools["mailwire"]
    P, u1, u2 = rig.plain, rig.user1, rig.user2
    sizes = [int(mib * 1024 * 1024)]
    out = {"runs": [], "size_limit": rig.size_limit}
    if double:
        sizes.append(2 * sizes[0])
    for target in sizes:
        if target + 512 * 1024 > rig.size_limit:
            new_limit = max(2 * target, 64 * 1024 * 1024)
            log("raising the bench rig's message_size_limit to %d:" %
                new_limit)
            show_cmd("postconf", ["postconf", "-c", rig.pf, "-e",
                                  "message_size_limit=%d" % new_limit])
            if not rig.raise_size_limit(new_limit):
                log("  could not raise the limit (EHLO SIZE unchanged): "
                    "skipping %d bytes" % target)
                out["runs"].append({"bytes": target, "skipped":
                                    "message_size_limit not raised"})
                continue
            rig.size_limit = new_limit
            out["size_limit"] = new_limit
        path = os.path.join(work, "big-%d.eml" % target)
        size, lf_size = make_big_message(path, rig, target)
        log("-- message %s: %d bytes (%.1f MiB) --" %
            (path, size, size / 1048576.0))
        rows = [
            ("mailwire send --message FILE",
             [mw, "send", "--server", "127.0.0.1:%d" % P, "--tls", "none",
              "--helo", HELO, "--from", u1, "--to", u2, "--message", path],
             None),
            ("mailwire send --message - (stdin)",
             [mw, "send", "--server", "127.0.0.1:%d" % P, "--tls", "none",
              "--helo", HELO, "--from", u1, "--to", u2, "--message", "-"],
             path),
            ("msmtp (stdin)",
             ["msmtp", "--host=127.0.0.1", "--port=%d" % P, "--tls=off",
              "--auth=off", "--domain=" + HELO, "--from=" + u1, u2], path),
            ("swaks --data @FILE",
             ["swaks", "--server", "127.0.0.1", "--port", str(P), "--helo",
              HELO, "--from", u1, "--to", u2, "--data", "@" + path,
              "--silent", "2"], None),
            ("curl -T FILE",
             ["curl", "-sS", "smtp://127.0.0.1:%d/%s" % (P, HELO),
              "--mail-from", u1, "--mail-rcpt", u2, "-T", path], None),
        ]
        run = {"bytes": size, "file": path, "tools": []}
        for label, argv, stdin in rows:
            rig.clear()
            log("%s:" % label)
            show_cmd(label, argv, "< " + stdin if stdin else "")
            code, rss, wall, err = timed_rss(argv, stdin)
            got = rig.settle(1, max_wait=60)
            dsizes = rig.delivered_sizes()
            valid = code == 0 and got == 1 and dsizes and \
                dsizes[0] >= lf_size
            log("  exit %d, peak RSS %d KiB, %.2f s, delivered %d%s%s" % (
                code, rss, wall, got,
                (" (%d bytes)" % dsizes[0]) if dsizes else "",
                "" if valid else "  ** INVALID **"))
            if code:
                log("  stderr: %s" % err.strip()[-300:].replace("\n", " | "))
            run["tools"].append({
                "tool": label, "cmd": shlex.join(argv) + (
                    " < " + stdin if stdin else ""),
                "exit": code, "peak_rss_kib": rss,
                "seconds": round(wall, 3), "delivered": got,
                "valid": bool(valid)})
        base = run["tools"][0]
        for t in run["tools"]:
            t["rss_ratio_vs_mailwire"] = (
                round(t["peak_rss_kib"] / base["peak_rss_kib"], 2)
                if base["peak_rss_kib"] and t["valid"] and base["valid"]
                else None)
        out["runs"].append(run)
        os.unlink(path)
        rig.clear()
    runs = [r for r in out["runs"] if "tools" in r]
    if len(runs) == 2:
        a = runs[0]["tools"][0]["peak_rss_kib"]
        b = runs[1]["tools"][0]["peak_rss_kib"]
        out["mailwire_rss_growth_when_doubled"] = round(b / a, 2) if a else None
    return out


# ---------------------------------------------------------------------------
# Table

def fmt_ratio(x):
    return "%.2f" % x if x is not None else "n/a"


def print_tables(res):
    w = log
    w("\n" + "=" * 78)
    w("RESULTS  (one run, loopback only, this machine; ratios are "
      "peer / mailwire)")
    w("=" * 78)
    p = res.get("probe")
    if p and "probe_wall_s" in p:
        w("\n1. Port/TLS-mode detection over 5 fake ports (%d s greeting "
          "timeout)" % p["greeting_timeout_s"])
        w("   %-48s %9s %9s" % ("", "seconds", "x probe"))
        w("   %-48s %9.2f %9s" % ("mailwire probe (all combinations at once)",
                                  p["probe_wall_s"], "1.00"))
        w("   %-48s %9.2f %9s" % ("sequential search, all combinations",
                                  p["sequential_all_s"],
                                  fmt_ratio(p["ratio_all"])))
        if p["sequential_first_secure_s"] is not None:
            w("   %-48s %9.2f %9s" % (
                "sequential search, until first secure one works",
                p["sequential_first_secure_s"], fmt_ratio(p["ratio_first"])))
        w("   ratio sequential/probe (all combinations): %s   working "
          "combinations agree: %s" % (fmt_ratio(p["ratio_all"]),
                                      "yes" if p["working_combinations_agree"]
                                      else "NO"))
    t = res.get("throughput")
    if t:
        for section, title in (("plain", "plaintext port, no AUTH"),
                               ("starttls",
                                "STARTTLS + AUTH PLAIN, verified certificate")):
            w("\n2. Throughput, %d x %d-byte messages, %s" %
              (t["messages"], t["message_bytes"], title))
            w("   %-24s %-13s %8s %9s %10s %9s  %s" % (
                "tool", "style", "seconds", "msg/s", "delivered",
                "x mailwire", "vs"))
            for r in t[section]:
                w("   %-24s %-13s %8.2f %9.1f %10s %9s  %s%s" % (
                    r["tool"], r["style"], r["seconds"], r["msgs_per_s"],
                    "%d/%d" % (r["delivered"], t["messages"]),
                    fmt_ratio(r["ratio_vs_mailwire"]),
                    r["mailwire_baseline"] or "",
                    "" if r["valid"] else "  INVALID"))
    m = res.get("memory")
    if m:
        for run in m["runs"]:
            if "tools" not in run:
                w("\n3. Memory, %d bytes: skipped (%s)" %
                  (run["bytes"], run["skipped"]))
                continue
            w("\n3. Memory, one message of %d bytes (%.1f MiB)" %
              (run["bytes"], run["bytes"] / 1048576.0))
            w("   %-36s %12s %8s %10s" % ("tool", "peak RSS KiB", "seconds",
                                          "x mailwire"))
            for r in run["tools"]:
                w("   %-36s %12d %8.2f %10s%s" % (
                    r["tool"], r["peak_rss_kib"], r["seconds"],
                    fmt_ratio(r["rss_ratio_vs_mailwire"]),
                    "" if r["valid"] else "  INVALID"))
        g = m.get("mailwire_rss_growth_when_doubled")
        if g is not None:
            w("   mailwire send --message FILE: peak RSS x%.2f when the "
              "message doubles (1.00 = constant memory)" % g)
    bad = res.get("invalid", [])
    w("\nINVALID measurements (messages not all delivered or exit != 0): %s"
      % (", ".join(bad) if bad else "none"))


def collect_invalid(res):
    bad = []
    t = res.get("throughput") or {}
    for section in ("plain", "starttls"):
        for r in t.get(section, []):
            if not r["valid"]:
                bad.append("throughput/%s/%s" % (section, r["tool"]))
    for run in (res.get("memory") or {}).get("runs", []):
        for r in run.get("tools", []):
            if not r["valid"]:
                bad.append("memory/%d/%s" % (run["bytes"], r["tool"]))
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rig-env", required=True)
    ap.add_argument("--mailwire", required=True)
    ap.add_argument("--bulk", required=True)
    ap.add_argument("--multi-send", default="",
                    help="tests/integration/multi_send as built (optional)")
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", default=os.path.join(HERE, "results",
                                                  "latest.json"))
    ap.add_argument("--messages", type=int,
                    default=int(os.environ.get("BENCH_MESSAGES", "200")))
    ap.add_argument("--rounds", type=int,
                    default=int(os.environ.get("BENCH_ROUNDS", "3")),
                    help="rounds of the one-connection runs (median)")
    ap.add_argument("--big-mib", type=float,
                    default=float(os.environ.get("BENCH_BIG_MIB", "9")))
    ap.add_argument("--no-double", action="store_true",
                    default=os.environ.get("BENCH_NO_DOUBLE") == "1")
    ap.add_argument("--only", default=os.environ.get("BENCH_ONLY", ""),
                    help="comma list of probe,throughput,memory")
    args = ap.parse_args()
    only = set(filter(None, args.only.split(","))) or {
        "probe", "throughput", "memory"}

    rig = Rig(args.rig_env)
    tools = {"mailwire": os.path.abspath(args.mailwire),
             "bulk": os.path.abspath(args.bulk),
             "multi_send": (os.path.abspath(args.multi_send)
                            if args.multi_send and
                            os.access(args.multi_send, os.X_OK) else "")}
    started = time.monotonic()
    res = {"meta": {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"),
        "host": platform.node(), "kernel": platform.release(),
        "cpus": os.cpu_count(), "python": platform.python_version(),
        "messages": args.messages,
        "versions": {
            "mailwire": first_line([tools["mailwire"], "--version"]),
            "msmtp": first_line(["msmtp", "--version"]),
            "swaks": first_line(["swaks", "--version"]),
            "curl": first_line(["curl", "--version"]),
            "postfix (smtp-source, server)":
                first_line(["postconf", "-h", "-d", "mail_version"]),
            "dovecot": first_line(["dovecot", "--version"]),
        },
        "rig": {"plain_port": rig.plain, "submission_port": rig.submission,
                "dir": rig.dir},
    }}
    log("mailwire benchmark: %s" % res["meta"]["date"])
    for k, v in res["meta"]["versions"].items():
        log("  %-30s %s" % (k, v))

    if "probe" in only:
        res["probe"] = bench_probe(tools["mailwire"])
    if "throughput" in only:
        res["throughput"] = bench_throughput(rig, tools, args.work,
                                             args.messages, args.rounds)
    if "memory" in only:
        res["memory"] = bench_memory(rig, tools, args.work, args.big_mib,
                                     not args.no_double)
    res["invalid"] = collect_invalid(res)
    res["meta"]["seconds"] = round(time.monotonic() - started, 1)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")
    print_tables(res)
    log("\nbenchmarks took %.0f s; JSON: %s" % (res["meta"]["seconds"],
                                                 args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

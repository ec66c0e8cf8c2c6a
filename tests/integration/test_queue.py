"""The outbox (issue 12 item 6): `send --queue`, sendmail mode on a
temporary failure, `mailwire queue list|run|show|drop`, against
fakesmtp (a closed port, 421, 5xx, a hang-up after the final dot) and
SIGKILL at random points: every message delivered once or still queued,
never lost, never twice."""

import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import mwtest  # noqa: E402
from fakesmtp import FakeSMTP  # noqa: E402


class Run:
    def __init__(self, t):
        self.returncode, self.stdout, self.stderr = t[0], t[1], t[2]


def run(args, env=None, input=None):
    return Run(mwtest.run(args, env=env, input=input))


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def message(mid):
    return ("From: a@example.test\r\nTo: b@example.test\r\n"
            "Subject: q\r\nMessage-ID: <%s@example.test>\r\n\r\nbody %s\r\n"
            % (mid, mid)).encode()


def deliveries(fake, mid):
    tag = ("<%s@example.test>" % mid).encode()
    return sum(1 for s in fake.sessions for d in s.data if tag in d)


class Queue(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = os.path.join(self.tmp.name, "spool", "queue")
        self.env = {"XDG_STATE_HOME": os.path.join(self.tmp.name, "state"),
                    "MAILWIRE_CONFIG": os.path.join(self.tmp.name, "none")}

    def tearDown(self):
        self.tmp.cleanup()

    def send(self, port, mid, *extra):
        path = os.path.join(self.tmp.name, mid + ".eml")
        with open(path, "wb") as f:
            f.write(message(mid))
        return run(["send", "--server", "127.0.0.1:%d" % port,
                           "--tls", "none", "--from", "a@example.test",
                           "--to", "b@example.test", "--message", path,
                           "--connect-timeout", "3s",
                           "--queue", "--queue-dir", self.dir, *extra],
                          env=self.env)

    def queue(self, *args):
        return run(["queue", *args, "--queue-dir", self.dir],
                          env=self.env)

    def entries(self):
        p = self.queue("list", "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout)

    def no_partial_files(self):
        self.assertEqual(os.listdir(os.path.join(self.dir, "tmp")), [])
        for e in self.entries():
            self.assertTrue(os.path.exists(
                os.path.join(self.dir, e["id"] + ".msg")))

    def test_three_queued_then_delivered_once(self):
        port = closed_port()
        for mid in ("m1", "m2", "m3"):
            p = self.send(port, mid)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("queued as", p.stdout)
        self.assertEqual(len(self.entries()), 3)
        # a 421 server: still queued, attempts counted
        with FakeSMTP(greeting="421 4.3.2 busy") as fake:
            p = self.queue("run", "--now")
            self.assertEqual(p.returncode, 75, p.stdout + p.stderr)
            self.assertEqual(p.stdout.count("deferred"), 3, p.stdout)
        es = self.entries()
        self.assertEqual(len(es), 3)
        self.assertTrue(all(e["attempts"] == 2 for e in es), es)
        # not due yet: nothing sent without --now
        with FakeSMTP() as fake:
            for e in es:
                pass
            p = self.queue("run")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(len(fake.sessions), 0)
        with FakeSMTP() as fake:
            self.retarget(fake.port)
            p = self.queue("run", "--now", "--json")
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            lines = [json.loads(x) for x in p.stdout.splitlines()]
            self.assertEqual([x["result"] for x in lines], ["delivered"] * 3)
            for mid in ("m1", "m2", "m3"):
                self.assertEqual(deliveries(fake, mid), 1, mid)
            p = self.queue("run", "--now")
            self.assertEqual(p.returncode, 0)
            for mid in ("m1", "m2", "m3"):
                self.assertEqual(deliveries(fake, mid), 1, mid)
        self.assertEqual(self.entries(), [])
        self.no_partial_files()

    def retarget(self, port):
        """Entries name the server of the first send (a closed port):
        point them at the fake server (as a changed profile would)."""
        for name in os.listdir(self.dir):
            if not name.endswith(".env"):
                continue
            path = os.path.join(self.dir, name)
            with open(path) as f:
                text = f.read()
            import re
            text = re.sub(r"arg 127\.0\.0\.1:\d+", "arg 127.0.0.1:%d" % port,
                          text)
            with open(path, "w") as f:
                f.write(text)

    def test_permanent_failure_goes_to_failed(self):
        self.send(closed_port(), "p1")
        with FakeSMTP(mail_reply="550 5.7.1 no such sender") as fake:
            self.retarget(fake.port)
            p = self.queue("run", "--now")
            self.assertEqual(p.returncode, 69, p.stdout + p.stderr)
            self.assertIn("failed", p.stdout)
        self.assertEqual(self.entries(), [])
        failed = os.listdir(os.path.join(self.dir, "failed"))
        self.assertEqual(len(failed), 2, failed)
        env = [f for f in failed if f.endswith(".env")][0]
        with open(os.path.join(self.dir, "failed", env)) as f:
            text = f.read()
        self.assertIn("state failed", text)
        self.assertIn("550", text)

    def test_no_secret_in_the_spool(self):
        p = self.send(closed_port(), "x1", "--proxy",
                      "socks5://u:s3cret@127.0.0.1:1")
        self.assertEqual(p.returncode, 64, p.stderr)
        self.assertIn("--proxy URL holds a password", p.stderr)
        pw = os.path.join(self.tmp.name, "pw")
        with open(pw, "w") as f:
            f.write("s3cret\n")
        p = self.send(closed_port(), "x2", "--user", "u", "--password-file",
                      pw, "--allow-insecure-auth")
        self.assertEqual(p.returncode, 0, p.stderr)
        for root, _, files in os.walk(self.dir):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    self.assertNotIn(b"s3cret", f.read(), name)

    def test_partly_delivered_is_set_aside_not_resent(self):
        self.send(closed_port(), "r1", "--to", "c@example.test")
        with FakeSMTP(rcpt_replies={"c@example.test":
                                    "450 4.2.0 greylisted"}) as fake:
            self.retarget(fake.port)
            p = self.queue("run", "--now")
            self.assertEqual(p.returncode, 69, p.stdout + p.stderr)
            self.assertIn("partly delivered", p.stdout)
            self.assertIn("c@example.test (450)", p.stdout)
            p = self.queue("run", "--now", "--resend-unknown")
            self.assertEqual(deliveries(fake, "r1"), 1)
        self.assertEqual(self.entries(), [])
        self.assertEqual(len(os.listdir(os.path.join(self.dir, "failed"))),
                         2)

    def test_delivery_unknown_kept_not_resent(self):
        with FakeSMTP(hangup_at="dot") as fake:
            p = self.send(fake.port, "u1")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("queued as", p.stdout)
        es = self.entries()
        self.assertEqual([e["state"] for e in es], ["unknown"])
        with FakeSMTP() as fake:
            self.retarget(fake.port)
            p = self.queue("run", "--now")
            self.assertEqual(p.returncode, 75)
            self.assertIn("unknown, not resent", p.stdout)
            self.assertEqual(deliveries(fake, "u1"), 0)
            p = self.queue("run", "--resend-unknown")
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertEqual(deliveries(fake, "u1"), 1)
        self.assertEqual(self.entries(), [])

    def test_lock_keeps_two_runs_apart(self):
        for mid in ("c1", "c2", "c3", "c4"):
            self.send(closed_port(), mid)
        with FakeSMTP(ehlo_delay=0.5) as fake:
            self.retarget(fake.port)
            # the lock held by another process: run refuses, sends nothing
            import fcntl
            with open(os.path.join(self.dir, "lock"), "a+") as lk:
                fcntl.lockf(lk, fcntl.LOCK_EX | fcntl.LOCK_NB)
                p = self.queue("run", "--now")
                self.assertEqual(p.returncode, 75, p.stderr)
                self.assertIn("holds", p.stderr)
                p = self.queue("drop", self.entries()[0]["id"])
                self.assertEqual(p.returncode, 75, p.stderr)
                fcntl.lockf(lk, fcntl.LOCK_UN)
            self.assertEqual(len(fake.sessions), 0)
            self.assertEqual(len(self.entries()), 4)
            cmd = mwtest.command(mwtest.MAILWIRE, "queue", "run", "--now",
                                 "--queue-dir", self.dir)
            env = dict(os.environ, **self.env)
            procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE)
                     for _ in range(2)]
            outs = [p.communicate(timeout=60) for p in procs]
            codes = sorted(p.returncode for p in procs)
            # the second waits for nobody: it finds the lock held (75), or
            # (a slow start, e.g. under valgrind) an empty queue (0)
            self.assertIn(codes, ([0, 75], [0, 0]), outs)
            for mid in ("c1", "c2", "c3", "c4"):
                self.assertEqual(deliveries(fake, mid), 1, mid)
        self.assertEqual(self.entries(), [])

    def test_corrupt_entry_is_named(self):
        self.send(closed_port(), "k1")
        bad = os.path.join(self.dir, "0bad.env")
        with open(bad, "w") as f:
            f.write("mailwire-queue 1\nid 0bad\nstate queued\nnext x\n")
        p = self.queue("list")
        self.assertEqual(p.returncode, 74)
        self.assertIn(bad, p.stderr)
        self.assertIn("k1" if False else "queued", p.stdout)
        with open(bad, "wb") as f:
            f.write(os.urandom(300))
        p = self.queue("run")
        self.assertIn(bad, p.stderr)
        self.assertLess(p.returncode, 128)
        good = "mailwire-queue 1\nid 0bad\nstate queued\nnext 1\nend\n"
        variants = [
            b"",                                        # empty
            good[:-4].encode(),                         # no end
            good.replace("end\n", "end").encode(),      # cut line
            good.replace("next 1", "next -1").encode(),
            good.replace("next 1", "next 99999999999999999999").encode(),
            good.replace("state queued", "state gone").encode(),
            good.replace("id 0bad", "id ../x").encode(),
            (good[:-4] + "arg %4\nend\n").encode(),     # bad escape
            (good[:-4] + "arg %00\nend\n").encode(),    # NUL
            (good[:-4] + "bogus 1\nend\n").encode(),
            (good + "more\n").encode(),
            good.replace("mailwire-queue 1", "mailwire-queue 2").encode(),
            b"mailwire-queue 1\n" + b"x" * 70000 + b"\nend\n",
        ]
        for v in variants:
            with open(bad, "wb") as f:
                f.write(v)
            for sub in (["list"], ["show", "0bad"], ["run", "--now"]):
                p = self.queue(*sub)
                self.assertIn(bad, p.stderr, (v[:60], sub))
                self.assertIn("corrupt outbox entry", p.stderr)
                self.assertEqual(p.returncode, 74, (v[:60], sub, p.stderr))
        with open(bad, "wb") as f:
            f.write(good.encode())
        p = self.queue("show", "0bad")
        self.assertNotIn("corrupt", p.stderr)  # the good form parses

    def test_sigkill_never_loses_or_doubles(self):
        mids = ["k%02d" % i for i in range(6)]
        for mid in mids:
            self.send(closed_port(), mid)
        rnd = random.Random(12)
        with FakeSMTP(ehlo_delay=0.05) as fake:
            self.retarget(fake.port)
            env = dict(os.environ, **self.env)
            for i in range(20):
                # send --queue against a server that says 421, killed too
                if i % 4 == 0:
                    mid = "s%02d" % i
                    path = os.path.join(self.tmp.name, mid + ".eml")
                    with open(path, "wb") as f:
                        f.write(message(mid))
                    cmd = mwtest.command(
                        mwtest.MAILWIRE, "send", "--server",
                        "127.0.0.1:%d" % closed_port(), "--tls", "none",
                        "--from", "a@example.test", "--to", "b@example.test",
                        "--message", path, "--queue", "--queue-dir", self.dir)
                else:
                    cmd = mwtest.command(mwtest.MAILWIRE, "queue", "run",
                                         "--now", "--queue-dir", self.dir)
                p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
                time.sleep(rnd.uniform(0.0, 0.15))
                p.send_signal(signal.SIGKILL)
                p.communicate(timeout=30)
                if i % 4 == 0 and p.returncode == 0:
                    mids.append(mid)  # it said queued: it must not be lost
            self.retarget(fake.port)  # the send --queue entries too
            p = self.queue("run", "--now")
            self.assertIn(p.returncode, (0, 75), p.stdout + p.stderr)
            queued = {e["id"]: e for e in self.entries()}
            # after a whole run nothing is left "sending", nor "queued"
            # (all were due): what is left is flagged unknown
            self.assertEqual({e["state"] for e in queued.values()} -
                             {"unknown"}, set(), queued)
            # which entry holds which Message-ID
            held = {}
            for eid in queued:
                with open(os.path.join(self.dir, eid + ".msg"), "rb") as f:
                    body = f.read()
                for mid in mids:
                    if ("<%s@" % mid).encode() in body:
                        held[mid] = eid
            delivered = [m for m in mids if deliveries(fake, m) == 1]
            if os.environ.get("MW_QUEUE_VERBOSE"):
                print("\nSIGKILL loop: %d messages, %d delivered once, %d "
                      "entries left (%s)" % (
                          len(mids), len(delivered), len(queued),
                          ", ".join(sorted(e["state"]
                                           for e in queued.values()))))
            for mid in mids:
                n = deliveries(fake, mid)
                self.assertLessEqual(n, 1, mid)
                if n == 0:
                    self.assertIn(mid, held, "lost: " + mid)
            # tmp/ holds nothing but leftovers of killed sends, never an
            # entry; every entry has its message
            for eid in queued:
                self.assertTrue(os.path.exists(
                    os.path.join(self.dir, eid + ".msg")))

    def test_sendmail_queues_on_temporary_failure(self):
        cfg = os.path.join(self.tmp.name, "config")
        with FakeSMTP(greeting="421 4.3.2 busy") as fake:
            with open(cfg, "w") as f:
                f.write("account default\nhost 127.0.0.1\nport %d\n"
                        "tls off\nfrom a@example.test\nqueue_dir %s\n"
                        % (fake.port, self.dir))
            p = run(["sendmail", "-C", cfg, "b@example.test"],
                           env=self.env, input=message("sm1"))
            self.assertEqual(p.returncode, 0, p.stderr)
        es = self.entries()
        self.assertEqual(len(es), 1)
        with FakeSMTP() as fake:
            with open(cfg, "w") as f:
                f.write("account default\nhost 127.0.0.1\nport %d\n"
                        "tls off\nfrom a@example.test\nqueue_dir %s\n"
                        % (fake.port, self.dir))
            p = run(["queue", "run", "--now", "-C", cfg],
                           env=self.env)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertEqual(deliveries(fake, "sm1"), 1)
        self.assertEqual(self.entries(), [])


if __name__ == "__main__":
    unittest.main()

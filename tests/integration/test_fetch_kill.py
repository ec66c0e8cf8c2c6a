"""The kill test: `mailwire fetch` of a few hundred messages from the rig's
real Dovecot (user bulk@example.test), killed with SIGKILL at random
moments in a bounded loop and rerun each time until a run completes.  At
the end every message is in the Maildir exactly once (by Message-ID, and
byte for byte), and new/ holds no partial file.  Over IMAP, over POP3,
and over POP3 with --delete (where a message must never be deleted on the
server before it is durable in the Maildir: at the end the server is
empty and the Maildir complete)."""

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import mwtest  # noqa: E402
import rigutil  # noqa: E402

ENV = None
USER = "bulk@example.test"
# Fewer under valgrind (MW_TIME_SCALE > 1), where each run is much slower.
COUNT = int(os.environ.get("MW_KILL_MESSAGES",
                           "300" if mwtest.TIME_SCALE <= 1 else "60"))
MAX_KILLS = 30


def setUpModule():
    global ENV
    path = os.environ.get("MW_RIG_ENV")
    if not path or not os.path.exists(path):
        raise unittest.SkipTest("no rig: MW_RIG_ENV is not set (run through "
                                "ctest, which starts the rig)")
    ENV = rigutil.load_env(path)


class KillTest(unittest.TestCase):
    def setUp(self):
        rigutil.clear_mailbox(ENV, "bulk")
        self.tmp = tempfile.mkdtemp(prefix="mwkill")
        self.rng = random.Random(os.environ.get("MW_KILL_SEED"))

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def args(self, url, *extra):
        return mwtest.command(
            mwtest.MAILWIRE, "fetch", "--server", url, "--password-env",
            "PW", "--tls-ca-file", ENV["RIG_CA_FILE"], "--maildir",
            os.path.join(self.tmp, "md"), "--state-dir",
            os.path.join(self.tmp, "state"), "--json", *extra)

    def env(self):
        e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
             "PW": ENV["RIG_PASS4"]}
        return e

    def partial_files_in_new(self, md):
        """Files in new/ that are not a complete expected message: their
        Message-ID unknown or their bytes differing (maildir_problems
        names both); tmp/ may hold leftovers of a killed run."""
        return rigutil.maildir_problems(md, self.messages, True)

    def count_new(self, md):
        try:
            return len(os.listdir(os.path.join(md, "new")))
        except FileNotFoundError:
            return 0

    def wait_ms(self, p, ms):
        """True when p still runs after ms milliseconds."""
        try:
            p.wait(timeout=ms / 1000.0)
            return False
        except subprocess.TimeoutExpired:
            return True

    def wait_stored(self, p, md, target):
        """Polls new/ until it holds target files; False if p ended."""
        while self.count_new(md) < target:
            if p.poll() is not None:
                return False
            time.sleep(0.002)
        return True

    def run_killed(self, url, *extra):
        self.messages = rigutil.make_messages(COUNT, tag="kill")
        md = os.path.join(self.tmp, "md")
        # A run may finish before the first kill (a fast disk, this
        # process descheduled): then the whole round starts again, with
        # the mailbox filled anew and an empty Maildir and state.
        for _ in range(5):
            rigutil.clear_mailbox(ENV, "bulk")
            rigutil.fill_maildir(ENV, "bulk", self.messages)
            shutil.rmtree(md, ignore_errors=True)
            shutil.rmtree(os.path.join(self.tmp, "state"), ignore_errors=True)
            kills = self.kill_loop(url, md, *extra)
            if kills:
                break
        self.assertGreater(kills, 0, "no run was killed: the loop tested "
                                     "nothing")
        return kills

    def kill_loop(self, url, md, *extra):
        # Where to kill: mostly while messages are being stored (once new/
        # has grown by a random number of files, plus a random few ms, so
        # the kill lands anywhere in a message's store, record, delete);
        # sometimes after a random delay from the start (connect, login,
        # search, the first batch).  Every such kill leaves the run some
        # progress, so the loop ends with a run that completes.
        kills = completed = 0
        points = []
        for attempt in range(MAX_KILLS + 1):
            before = self.count_new(md)
            p = subprocess.Popen(self.args(url, *extra), env=self.env(),
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
            if attempt < MAX_KILLS and before < COUNT:
                if self.rng.random() < 0.2:
                    point = "%.0f ms" % (1000 * self.rng.uniform(
                        0.0, mwtest.bound(0.3)))
                    alive = self.wait_ms(p, float(point.split()[0]))
                else:
                    target = before + self.rng.randint(
                        1, max(1, (COUNT - before) // 3))
                    point = "%d stored" % target
                    alive = self.wait_stored(p, md, target)
                    if alive:
                        alive = self.wait_ms(p, self.rng.uniform(0, 15))
                if alive:
                    p.send_signal(signal.SIGKILL)
                    p.wait()
                    kills += 1
                    points.append(point)
                    p.stdout.close()
                    p.stderr.close()
                    # What is in new/ must be whole at every moment.
                    problems = [x for x in self.partial_files_in_new(md)
                                if " missing, e.g. " not in x]
                    self.assertEqual(problems, [], "after kill %d" % kills)
                    continue
            out, err = p.communicate(timeout=mwtest.bound(300))
            self.assertEqual(p.returncode, 0, err.decode())
            completed += 1
            break
        self.assertEqual(completed, 1)
        if not kills:
            return 0
        # Killed runs may leave work: run until one finds nothing new.
        for _ in range(3):
            p = subprocess.run(self.args(url, *extra), env=self.env(),
                               capture_output=True,
                               timeout=mwtest.bound(300))
            self.assertEqual(p.returncode, 0, p.stderr.decode())
            if b'"fetched":0' in p.stdout:
                break
        self.assertIn(b'"fetched":0', p.stdout)
        self.assertEqual(self.partial_files_in_new(md), [])
        self.assertEqual(len(rigutil.read_maildir(md)), COUNT)
        sys.stderr.write("\n  %s %s: %d kills (at %s) then a complete "
                         "run\n" % (url.split(":")[0], " ".join(extra),
                                    kills, ", ".join(points)))
        return kills

    def test_imap(self):
        self.run_killed("imaps://%s@127.0.0.1:%s/INBOX" %
                        (USER, ENV["RIG_IMAPS_PORT"]))

    def test_pop3(self):
        self.run_killed("pop3s://%s@127.0.0.1:%s" %
                        (USER, ENV["RIG_POP3S_PORT"]))

    def test_pop3_delete(self):
        self.run_killed("pop3s://%s@127.0.0.1:%s" %
                        (USER, ENV["RIG_POP3S_PORT"]), "--delete")
        self.assertEqual(rigutil.server_count(ENV, USER, ENV["RIG_PASS4"]), 0)

    def test_imap_delete(self):
        self.run_killed("imaps://%s@127.0.0.1:%s/INBOX" %
                        (USER, ENV["RIG_IMAPS_PORT"]), "--delete")
        self.assertEqual(rigutil.server_count(ENV, USER, ENV["RIG_PASS4"]), 0)


if __name__ == "__main__":
    unittest.main()

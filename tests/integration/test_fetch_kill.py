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
# perf11: at least this many kills before a run may complete (else the
# whole loop starts afresh with shorter delays; see run_killed).
MIN_KILLS = 3


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

    def run_killed(self, url, *extra):
        self.messages = rigutil.make_messages(COUNT, tag="kill")
        rigutil.fill_maildir(ENV, "bulk", self.messages)
        md = os.path.join(self.tmp, "md")
        # Random delays up to a horizon.  perf11: a fetch may now finish
        # before the first kill (a few hundred messages take a fraction of
        # a second): then everything starts afresh (Maildir, state, the
        # server's mailbox) with a horizon half as long, a bounded number
        # of times, until a loop has killed at least MIN_KILLS runs.
        horizon = mwtest.bound(1.0)
        for fresh in range(8):
            kills, completed, delays = self.kill_loop(url, md, horizon,
                                                      *extra)
            if kills >= MIN_KILLS:
                break
            horizon /= 2
            shutil.rmtree(md, ignore_errors=True)
            shutil.rmtree(os.path.join(self.tmp, "state"),
                          ignore_errors=True)
            rigutil.clear_mailbox(ENV, "bulk")
            rigutil.fill_maildir(ENV, "bulk", self.messages)
        self.assertEqual(completed, 1)
        self.finish(url, md, kills, delays, *extra)
        return kills

    def kill_loop(self, url, md, horizon, *extra):
        """Runs fetch, killing it after a random delay, until one run
        completes (the last attempt is never killed)."""
        kills = completed = 0
        delays = []
        for attempt in range(MAX_KILLS + 1):
            p = subprocess.Popen(self.args(url, *extra), env=self.env(),
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
            if attempt < MAX_KILLS:
                delay = self.rng.uniform(0.0, horizon)
                try:
                    p.wait(timeout=delay)
                except subprocess.TimeoutExpired:
                    p.send_signal(signal.SIGKILL)
                    p.wait()
                    kills += 1
                    delays.append(delay)
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
        return kills, completed, delays

    def finish(self, url, md, kills, delays, *extra):
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
        self.assertGreaterEqual(kills, MIN_KILLS,
                                "too few runs were killed: the loop "
                                "tested little")
        sys.stderr.write("\n  %s: %d kills (delays %.3f-%.3f s) then a "
                         "complete run\n" % (url.split(":")[0], kills,
                                             min(delays), max(delays)))
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

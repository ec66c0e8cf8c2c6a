"""Kill test of the local store (lib/store) and the fetch state.

tests/integration/store_kill.c stores COUNT messages as `mailwire fetch`
will (store, then record as fetched); this test kills it with SIGKILL at
random moments in a bounded loop, reruns it each time, and at the end
checks that every message is in the Maildir (or the mbox) exactly once,
byte for byte, and that no partial file ever sits in new/.  The Maildir
runs twice: one message at a time, and with the batch API
(mw_store_set_batch, mw_store_sync, mw_fetch_state_add_many).
"""
import os
import random
import re
import shlex
import signal
import subprocess
import tempfile
import time
import unittest

BIN = os.environ.get("MW_STORE_KILL", "")
# The valgrind pass (tests/valgrind.sh) wraps the final, uninterrupted run
# only: a process killed by SIGKILL never gets to report.
WRAPPER = shlex.split(os.environ.get("MW_WRAPPER", ""))
COUNT = 300
KILLS = 40


def expected(i):
    """Message i as stored: LF line ends (mirror of store_kill.c)."""
    out = ["Message-Id: <%d@kill.test>\n" % i, "X-Key: %d\n" % i,
           "Subject: message %d\n" % i, "\n"]
    for j in range((i * 37) % 1000):
        out.append("From line %d of %d\n" % (j, i) if j % 50 == 7
                   else "line %d of message %d\n" % (j, i))
    return "".join(out).encode()


def mboxrd_quote(body):
    return re.sub(rb"(?m)^(>*From )", rb">\1", body)


@unittest.skipUnless(BIN, "MW_STORE_KILL not set (run through ctest)")
class StoreKill(unittest.TestCase):
    def run_killed(self, kind, target, state):
        """Runs store_kill, killing it at random points, then to the end."""
        rng = random.Random(int(os.environ.get("MW_KILL_SEED", "0")) or None)
        kills = 0
        for _ in range(KILLS):
            p = subprocess.Popen([BIN, kind, target, state, str(COUNT)],
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
            time.sleep(rng.uniform(0.002, 0.03))
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                kills += 1
            out, err = p.communicate(timeout=60)
            if p.returncode == 0:
                break
            self.assertEqual(p.returncode, -signal.SIGKILL, err.decode())
            if kind == "maildir":
                self.check_new(target)
        p = subprocess.run(WRAPPER + [BIN, kind, target, state, str(COUNT)],
                           capture_output=True, timeout=600)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        self.assertEqual(p.stdout, b"done\n")
        self.assertGreater(kills, 0, "the helper was never killed")
        return kills

    def check_new(self, md):
        """Every file in new/ is a whole message; returns key -> count."""
        seen = {}
        if not os.path.isdir(os.path.join(md, "new")):
            return seen  # killed before the Maildir was made
        for name in os.listdir(os.path.join(md, "new")):
            with open(os.path.join(md, "new", name), "rb") as f:
                data = f.read()
            m = re.search(rb"^X-Key: (\d+)$", data, re.M)
            self.assertIsNotNone(m, "partial file in new/: %s" % name)
            i = int(m.group(1))
            self.assertEqual(data, expected(i), "partial or wrong: %s" % name)
            self.assertIn(",MW=", name)
            seen[i] = seen.get(i, 0) + 1
        return seen

    def test_maildir(self):
        with tempfile.TemporaryDirectory() as d:
            md, state = os.path.join(d, "Maildir"), os.path.join(d, "state")
            kills = self.run_killed("maildir", md, state)
            seen = self.check_new(md)
            self.assertEqual(sorted(seen), list(range(COUNT)))
            dups = [i for i, n in seen.items() if n != 1]
            self.assertEqual(dups, [], "stored more than once")
            self.assertEqual(os.listdir(os.path.join(md, "cur")), [])
            print("maildir: %d kills, %d messages, %d leftovers in tmp/"
                  % (kills, len(seen), len(os.listdir(os.path.join(md, "tmp")))))

    def test_maildir_batch(self):
        """The batch API (store sync, then the batch's ids recorded at
        once): the same guarantees as one message at a time."""
        with tempfile.TemporaryDirectory() as d:
            md, state = os.path.join(d, "Maildir"), os.path.join(d, "state")
            kills = self.run_killed("maildir-batch", md, state)
            seen = self.check_new(md)
            self.assertEqual(sorted(seen), list(range(COUNT)))
            dups = [i for i, n in seen.items() if n != 1]
            self.assertEqual(dups, [], "stored more than once")
            self.assertEqual(os.listdir(os.path.join(md, "cur")), [])
            print("maildir-batch: %d kills, %d messages, %d leftovers in "
                  "tmp/" % (kills, len(seen),
                            len(os.listdir(os.path.join(md, "tmp")))))

    def test_mbox(self):
        with tempfile.TemporaryDirectory() as d:
            mb, state = os.path.join(d, "mbox"), os.path.join(d, "state")
            kills = self.run_killed("mbox", mb, state)
            with open(mb, "rb") as f:
                data = f.read()
            # Split at separator lines: "From " at a line start that is
            # preceded by a blank line (quoted body lines start with '>').
            parts = re.split(rb"(?m)^From kill@test [^\n]*\n", data)
            self.assertEqual(parts[0], b"")
            seen = {}
            for part in parts[1:]:
                self.assertTrue(part.endswith(b"\n\n"), part[-80:])
                body = part[:-1]
                m = re.search(rb"^X-Key: (\d+)$", body, re.M)
                self.assertIsNotNone(m)
                i = int(m.group(1))
                self.assertEqual(body, mboxrd_quote(expected(i)))
                seen[i] = seen.get(i, 0) + 1
            self.assertEqual(sorted(seen), list(range(COUNT)))
            self.assertEqual([i for i, n in seen.items() if n != 1], [])
            print("mbox: %d kills, %d messages" % (kills, len(seen)))


    def test_mda(self):
        """At least once: every message reaches the command whole."""
        with tempfile.TemporaryDirectory() as d:
            out, state = os.path.join(d, "out"), os.path.join(d, "state")
            os.mkdir(out)
            # One file per key, written under a temporary name first: a
            # command killed half-way leaves no file with the final name.
            cmd = ('f="%s/$(printf %%s "$MAILWIRE_KEY" | tr : _)"; '
                   'cat > "$f.$$" && mv "$f.$$" "$f" && '
                   'test "$(wc -c < "$f")" -eq "$MAILWIRE_SIZE"' % out)
            kills = self.run_killed("mda", cmd, state)
            seen = set()
            for name in os.listdir(out):
                if "." in name:
                    continue  # a copy cut short by the kill
                i = int(name.rsplit("m", 1)[1])
                with open(os.path.join(out, name), "rb") as f:
                    self.assertEqual(f.read(), expected(i))
                seen.add(i)
            self.assertEqual(sorted(seen), list(range(COUNT)))
            print("mda: %d kills, %d messages" % (kills, len(seen)))


if __name__ == "__main__":
    unittest.main()

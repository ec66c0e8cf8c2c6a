"""The outbox against the real Postfix of the rig (issue 12, must show):
with the server unreachable (the account points at a port nobody listens
on: the rig "stopped"), three messages are queued (send --queue and
sendmail mode, exit 0); once the account points at the rig's Postfix
(the rig "started"), `queue run` delivers each exactly once, counted by
Message-ID in the delivered mailbox, and the queue is empty; a second
run sends nothing more.  The profile is read again at run time (nothing
about the server or a password is frozen in the spool but the words)."""

import email
import email.policy
import os
import shutil
import socket
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import mwtest  # noqa: E402
import rigutil  # noqa: E402

ENV = None
ALICE, BOB = "alice@example.test", "bob@example.test"


def setUpModule():
    global ENV
    path = os.environ.get("MW_RIG_ENV")
    if not path or not os.path.exists(path):
        raise unittest.SkipTest("no rig: MW_RIG_ENV is not set (run through "
                                "ctest, which starts the rig)")
    ENV = rigutil.load_env(path)


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class QueueRig(unittest.TestCase):
    def setUp(self):
        rigutil.wait_queue_empty(ENV)
        rigutil.clear_mailbox(ENV, "bob")
        self.dir = tempfile.mkdtemp(prefix="mw-queue-")
        self.qdir = os.path.join(self.dir, "outbox")
        self.profile = os.path.join(self.dir, "config")
        self.env = {"MAILWIRE_CONFIG": self.profile,
                    "XDG_STATE_HOME": os.path.join(self.dir, "state")}

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write_profile(self, port):
        with open(self.profile, "w") as f:
            f.write("defaults\ntls_mode none\n\naccount rig\n"
                    "host 127.0.0.1\nport %s\nfrom %s\nqueue_dir %s\n\n"
                    "account default : rig\n" % (port, ALICE, self.qdir))
        os.chmod(self.profile, 0o600)

    def test_queued_while_down_then_delivered_once(self):
        self.write_profile(closed_port())
        mids = []
        for i in range(3):
            mid = "<queue-rig-%d-%d@example.test>" % (i, os.getpid())
            mids.append(mid)
            msg = ("From: %s\nTo: %s\nSubject: outbox %d\nMessage-ID: %s\n"
                   "\nbody %d\n" % (ALICE, BOB, i, mid, i)).encode()
            if i < 2:
                code, out, err, _ = mwtest.run(
                    ["sendmail", "-t", "-i"], input=msg, env=self.env)
            else:
                path = os.path.join(self.dir, "m.eml")
                with open(path, "wb") as f:
                    f.write(msg)
                code, out, err, _ = mwtest.run(
                    ["send", "--to", BOB, "--message", path, "--queue"],
                    env=self.env)
                self.assertIn("queued as", out)
            self.assertEqual(code, 0, err)
        code, out, err, _ = mwtest.run(["queue", "list"], env=self.env)
        self.assertEqual(code, 0, err)
        self.assertEqual(out.count("queued"), 3, out)
        self.write_profile(ENV["RIG_PLAIN_PORT"])
        code, out, err, _ = mwtest.run(["queue", "run", "--now"],
                                       env=self.env)
        self.assertEqual(code, 0, out + err)
        self.assertEqual(out.count("delivered"), 3, out)
        code, out, err, _ = mwtest.run(["queue", "run", "--now"],
                                       env=self.env)
        self.assertEqual(code, 0, out + err)
        self.assertNotIn("delivered", out)
        raws = rigutil.wait_for_mail(ENV, "bob", count=3, timeout=15)
        rigutil.wait_queue_empty(ENV)
        time.sleep(0.5)
        raws = rigutil.wait_for_mail(ENV, "bob", count=3, timeout=1)
        got = [email.message_from_bytes(r, policy=email.policy.default)
               ["message-id"] for r in raws]
        self.assertEqual(sorted(got), sorted(mids))
        self.assertEqual(
            [n for n in os.listdir(self.qdir) if n.endswith((".env", ".msg"))],
            [])


if __name__ == "__main__":
    unittest.main()

"""Bulk sending (issue 12) against the rig's real Postfix.  Must show:
1,000 messages over one connection all arrive, each once (counted by
Message-ID in the delivered Maildir); and --connections 4 delivers each
message of a batch exactly once.  The faults (421 every 100 messages, a
connection lost before or after the dot) are test_bulk.py's, against the
scriptable server."""

import email
import email.policy
import json
import os
import shutil
import sys
import tempfile
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


def delivered_ids(raws):
    out = []
    for raw in raws:
        m = email.message_from_bytes(raw, policy=email.policy.default)
        out.append(str(m["message-id"]).strip("<>"))
    return out


class BulkRig(unittest.TestCase):
    def setUp(self):
        rigutil.clear_mailbox(ENV, "bob")
        self.dir = tempfile.mkdtemp(prefix="mw-bulkrig-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        rigutil.clear_mailbox(ENV, "bob")

    def write(self, n, tag):
        d = os.path.join(self.dir, tag)
        os.makedirs(d)
        for i in range(1, n + 1):
            with open(os.path.join(d, "%05d.eml" % i), "wb") as f:
                f.write(("From: Alice <%s>\nTo: Bob <%s>\nSubject: %s %d\n"
                         "Message-ID: <%s-%d@example.test>\n\nmessage %d of "
                         "%d\n" % (ALICE, BOB, tag, i, tag, i, i, n))
                        .encode())
        return d

    def send(self, d, *extra):
        return mwtest.run(["send", "--server", "127.0.0.1:%s"
                           % ENV["RIG_PLAIN_PORT"], "--tls", "none",
                           "--messages", d, "--json"] + list(extra),
                          timeout=600)

    def check(self, out, n, tag, connections=None):
        lines = [json.loads(x) for x in out.splitlines() if x.strip()]
        per = [x for x in lines if "summary" not in x]
        summary = [x for x in lines if "summary" in x][0]
        self.assertEqual(len(per), n)
        self.assertTrue(all(r["result"] == "delivered" for r in per))
        # Postfix's queue id, from "250 2.0.0 Ok: queued as 4XyZ..."
        self.assertTrue(all(r["queue_id"] for r in per))
        self.assertEqual(len({r["queue_id"] for r in per}), n)
        self.assertEqual(summary["delivered"], n)
        if connections is not None:
            self.assertEqual(summary["connections"], connections)
        raws = rigutil.wait_for_mail(ENV, "bob", count=n,
                                     timeout=mwtest.bound(240))
        ids = delivered_ids(raws)
        self.assertEqual(len(ids), n)  # none twice
        self.assertEqual(set(ids),
                         {"%s-%d@example.test" % (tag, i)
                          for i in range(1, n + 1)})
        return summary

    def test_1000_messages_over_one_connection_all_arrive_once(self):
        """Must show: 1,000 messages over one connection (RSET between
        them) all arrive, each once."""
        d = self.write(1000, "rig1k")
        code, out, err, _ = self.send(d)
        self.assertEqual(code, 0, err + out[-2000:])
        self.check(out, 1000, "rig1k", connections=1)

    def test_four_connections_each_message_once(self):
        d = self.write(200, "rig4c")
        code, out, err, _ = self.send(d, "--connections", "4")
        self.assertEqual(code, 0, err + out[-2000:])
        summary = self.check(out, 200, "rig4c", connections=4)
        self.assertEqual(summary["total"], 200)


if __name__ == "__main__":
    unittest.main()

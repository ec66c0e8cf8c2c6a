"""The rig helpers of the incoming-mail tests (rigutil.fill_maildir,
imap_append, imap_*, pop3_uidls, maildir_problems) against the rig's
real Dovecot: what they put in is what IMAP and POP3 give back, so tests
of mailwire fetch built on them compare against the truth."""

import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import rigutil  # noqa: E402

ENV = None


def setUpModule():
    global ENV
    ENV = rigutil.load_env(os.environ.get("MW_RIG_ENV", "rig.env"))


def crlf(data):
    return data.replace(b"\n", b"\r\n")


class RigMail(unittest.TestCase):
    def setUp(self):
        self.user, self.pw = ENV["RIG_USER3"], ENV["RIG_PASS3"]
        self.local = self.user.split("@")[0]
        rigutil.clear_mailbox(ENV, self.local)

    def tearDown(self):
        rigutil.clear_mailbox(ENV, self.local)

    def test_fill_maildir_is_what_imap_and_pop3_serve(self):
        msgs = rigutil.make_messages(300, tag="fill")
        rigutil.fill_maildir(ENV, self.local, msgs)
        self.assertEqual(rigutil.server_count(ENV, self.user, self.pw), 300)
        got = rigutil.imap_fetch_all(ENV, self.user, self.pw)
        # UIDs follow the order the files were written in.
        self.assertEqual([got[u] for u in sorted(got)],
                         [crlf(m) for m in msgs])
        uidls = rigutil.pop3_uidls(ENV, self.user, self.pw)
        self.assertEqual(len(uidls), 300)
        self.assertEqual(len({u for _, u in uidls}), 300)
        popped = rigutil.pop3_fetch_all(ENV, self.user, self.pw)
        self.assertEqual(popped, [crlf(m) for m in msgs])

    def test_flags_from_fill_and_store_and_expunge(self):
        msgs = rigutil.make_messages(3, tag="flags")
        rigutil.fill_maildir(ENV, self.local, msgs, flags="S")
        flags = rigutil.imap_flags(ENV, self.user, self.pw)
        self.assertTrue(all("\\Seen" in f for f in flags.values()), flags)
        rigutil.imap_store_flags(ENV, self.user, self.pw, [2],
                                 "\\Flagged")
        rigutil.imap_store_flags(ENV, self.user, self.pw, [3], "\\Seen",
                                 add=False)
        flags = rigutil.imap_flags(ENV, self.user, self.pw)
        self.assertIn("\\Flagged", flags[2])
        self.assertNotIn("\\Flagged", flags[1])
        self.assertNotIn("\\Seen", flags[3])
        self.assertEqual(rigutil.imap_uids(ENV, self.user, self.pw,
                                           criteria="UNSEEN"), [3])
        rigutil.imap_expunge_all(ENV, self.user, self.pw)
        self.assertEqual(rigutil.server_count(ENV, self.user, self.pw), 0)

    def test_imap_append_round_trip(self):
        msgs = rigutil.make_messages(450, tag="append")
        uids = rigutil.imap_append(ENV, self.user, self.pw, msgs,
                                   batch=200)
        self.assertEqual(uids, list(range(1, 451)))
        got = rigutil.imap_fetch_all(ENV, self.user, self.pw)
        self.assertEqual([got[u] for u in uids], [crlf(m) for m in msgs])

    def test_maildir_problems_finds_duplicates_missing_and_changes(self):
        msgs = rigutil.make_messages(4, tag="check")
        d = tempfile.mkdtemp(prefix="mw-rigmail-")
        self.addCleanup(shutil.rmtree, d, True)
        for sub in ("cur", "new", "tmp"):
            os.mkdir(os.path.join(d, sub))

        def put(name, data):
            with open(os.path.join(d, "new", name), "wb") as f:
                f.write(data)
        for i, m in enumerate(msgs[:3]):
            put("m%d" % i, crlf(m))
        self.assertEqual(rigutil.maildir_problems(d, expected=msgs[:3],
                                                  compare_bytes=True), [])
        probs = rigutil.maildir_problems(d, expected=msgs)
        self.assertEqual(len(probs), 1)
        self.assertIn("1 missing", probs[0])
        put("dup", msgs[0])
        put("changed", msgs[3].replace(b"Message 4.", b"Message X."))
        probs = rigutil.maildir_problems(d, expected=msgs,
                                         compare_bytes=True)
        self.assertTrue(any(p.startswith("duplicate <check-1@") for p in
                            probs), probs)
        self.assertTrue(any("<check-4@example.test> differs" in p
                            for p in probs), probs)
        # A partial file in tmp/ is not counted; one in new/ is caught.
        with open(os.path.join(d, "tmp", "partial"), "wb") as f:
            f.write(b"Subject: half")
        put("partial", b"Subject: half")
        probs = rigutil.maildir_problems(d)
        self.assertTrue(any("new/partial: no Message-ID" in p
                            for p in probs), probs)


if __name__ == "__main__":
    unittest.main()

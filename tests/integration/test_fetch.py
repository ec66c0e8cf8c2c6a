"""mailwire fetch, watch, folders and append against the rig's real Dovecot
(CTest fixture `rig`), as the fetch@example.test user, whose mailbox no
other test touches.

What is compared: a message sent through the rig's Postfix lands in
Dovecot's Maildir as a file with LF line endings; Dovecot serves it with
CRLF; mailwire's store writes LF again (its documented convention).  So
the Maildir file, the mbox entry (after mboxrd unquoting) and what the MDA
reads must equal Dovecot's file byte for byte."""

import json
import os
import re
import shutil
import stat
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
USER = "fetch@example.test"


def setUpModule():
    global ENV
    path = os.environ.get("MW_RIG_ENV")
    if not path or not os.path.exists(path):
        raise unittest.SkipTest("no rig: MW_RIG_ENV is not set (run through "
                                "ctest, which starts the rig)")
    ENV = rigutil.load_env(path)


def port(name):
    return int(ENV["RIG_%s_PORT" % name])


# The four security modes: the URL scheme decides (s: implicit TLS; the
# others STARTTLS/STLS, required).
MODES = {
    "imaps": lambda: "imaps://%s@127.0.0.1:%d/INBOX" % (USER, port("IMAPS")),
    "imap": lambda: "imap://%s@127.0.0.1:%d/INBOX" % (USER, port("IMAP")),
    "pop3s": lambda: "pop3s://%s@127.0.0.1:%d" % (USER, port("POP3S")),
    "pop3": lambda: "pop3://%s@127.0.0.1:%d" % (USER, port("POP3")),
}


def pw_env():
    return {"PW": ENV["RIG_PASS3"]}


def mboxrd_messages(data):
    """The messages of an mboxrd file: "From " lines dropped, ">From"
    quoting undone, the blank line that ends each entry removed."""
    out, cur = [], None
    for line in data.split(b"\n")[:-1] if data.endswith(b"\n") else \
            data.split(b"\n"):
        if line.startswith(b"From "):
            if cur is not None:
                out.append(cur)
            cur = []
            continue
        if re.match(rb"^>+From ", line):
            line = line[1:]
        cur.append(line)
    if cur is not None:
        out.append(cur)
    msgs = []
    for lines in out:
        if lines and lines[-1] == b"":
            lines = lines[:-1]  # the separator mbox adds
        msgs.append(b"\n".join(lines) + b"\n")
    return msgs


def message_ids(blobs):
    ids = []
    for b in blobs:
        m = re.search(rb"(?im)^Message-ID:\s*(<[^>]+>)", b)
        ids.append(m.group(1) if m else None)
    return ids


class FetchTest(unittest.TestCase):
    def setUp(self):
        rigutil.wait_queue_empty(ENV)
        rigutil.clear_mailbox(ENV, "fetch")
        self.tmp = tempfile.mkdtemp(prefix="mwfetch")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, *names):
        return os.path.join(self.tmp, *names)

    def common(self):
        return ["--password-env", "PW", "--tls-ca-file", ENV["RIG_CA_FILE"]]

    def fetch(self, mode, *extra, state="state", code=0):
        args = ["fetch", "--server", MODES[mode](), "--state-dir",
                self.path(state)] + self.common() + list(extra)
        rc, doc, err, _ = mwtest.run_json(args, env=pw_env())
        if code is not None:
            self.assertEqual(rc, code, "%s\n%s" % (doc, err))
        self.assertEqual(doc["exit_code"], rc)
        return doc

    def send_to_fetch(self, subject):
        """A message through the rig's Postfix (submission, STARTTLS, AUTH
        as alice), then its file as Dovecot holds it (LF endings)."""
        body = (b"first line\n.starts with a dot\n..two dots\n.\n"
                b"From the start of a line\n>From quoted\nlast line\n")
        raw = (b"From: alice@example.test\nTo: " + USER.encode() +
               b"\nSubject: " + subject.encode() + b"\n\n" + body)
        msg = self.path("send.eml")
        with open(msg, "wb") as f:
            f.write(raw)
        rc, out, err, _ = mwtest.run(
            ["send", "--server", "127.0.0.1:%d" % port("SUBMISSION"),
             "--tls-ca-file", ENV["RIG_CA_FILE"], "--from",
             "alice@example.test", "--to", USER, "--user",
             ENV["RIG_USER1"], "--password-env", "PW", "--message", msg],
            env={"PW": ENV["RIG_PASS1"]})
        self.assertEqual(rc, 0, out + err)
        deadline = time.monotonic() + 10
        while True:
            found = [m for m in rigutil.wait_for_mail(ENV, "fetch")
                     if b"\nSubject: " + subject.encode() + b"\n" in m]
            if found or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(len(found), 1)
        return found[0]

    def maildir_files(self, d):
        return list(rigutil.read_maildir(d).values())


class FetchEveryMode(FetchTest):
    def test_sent_message_fetched_identical_in_each_mode_and_store(self):
        disk = self.send_to_fetch("fetch every mode")
        self.assertIn(b"Subject: fetch every mode", disk)
        for mode in MODES:
            with self.subTest(mode=mode):
                st = "state-" + mode
                # Maildir
                md = self.path("md-" + mode)
                doc = self.fetch(mode, "--maildir", md, state=st + "-md")
                self.assertEqual(doc["fetched"], 1)
                self.assertEqual(doc["protocol"], mode.rstrip("s"))
                self.assertEqual(self.maildir_files(md), [disk])
                new = os.listdir(os.path.join(md, "new"))
                self.assertEqual(len(new), 1)
                self.assertEqual(os.listdir(os.path.join(md, "tmp")), [])
                # a second fetch gets nothing
                doc = self.fetch(mode, "--maildir", md, state=st + "-md")
                self.assertEqual((doc["fetched"], doc["skipped"]), (0, 0))
                self.assertEqual(self.maildir_files(md), [disk])
                # mbox (mboxrd)
                mb = self.path("mbox-" + mode)
                doc = self.fetch(mode, "--mbox", mb, state=st + "-mbox")
                self.assertEqual(doc["fetched"], 1)
                with open(mb, "rb") as f:
                    data = f.read()
                self.assertTrue(data.startswith(b"From "))
                self.assertIn(b"\n>From the start of a line\n", data)
                self.assertIn(b"\n>>From quoted\n", data)
                self.assertEqual(mboxrd_messages(data), [disk])
                doc = self.fetch(mode, "--mbox", mb, state=st + "-mbox")
                self.assertEqual(doc["fetched"], 0)
                # MDA: the message on its standard input
                out = self.path("mda-" + mode)
                os.mkdir(out)
                mda = "cat > %s/msg.$$" % out
                doc = self.fetch(mode, "--mda", mda, state=st + "-mda")
                self.assertEqual(doc["fetched"], 1)
                got = []
                for n in os.listdir(out):
                    with open(os.path.join(out, n), "rb") as f:
                        got.append(f.read())
                self.assertEqual(got, [disk])
                doc = self.fetch(mode, "--mda", mda, state=st + "-mda")
                self.assertEqual(doc["fetched"], 0)
                self.assertEqual(len(os.listdir(out)), 1)
        # keep is the default: the message is still on the server
        self.assertEqual(rigutil.server_count(ENV, USER, ENV["RIG_PASS3"]), 1)

    def test_fresh_account_gets_its_state_directory(self):
        """A fresh account has no ~/.local/state: the default state
        directory is created with its parents (mode 0700, the XDG base
        directory rule), and a second run finds what the first stored."""
        self.send_to_fetch("fresh-home-%d" % os.getpid())
        home = self.path("home")
        os.mkdir(home)
        env = dict(pw_env(), HOME=home)
        args = ["fetch", "--server", MODES["imaps"](), "--maildir",
                self.path("md")] + self.common()
        rc, doc, err, _ = mwtest.run_json(args, env=env)
        self.assertEqual(rc, 0, "%s\n%s" % (doc, err))
        self.assertEqual(doc["fetched"], 1, doc)
        for sub in (".local", ".local/state", ".local/state/mailwire"):
            st = os.stat(os.path.join(home, sub))
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o700, sub)
        rc, doc, err, _ = mwtest.run_json(args, env=env)
        self.assertEqual(rc, 0, "%s\n%s" % (doc, err))
        self.assertEqual(doc["fetched"], 0, doc)

    def test_human_summary_and_no_progress_bar_off_a_terminal(self):
        rigutil.fill_maildir(ENV, "fetch", rigutil.make_messages(3, tag="h"))
        rc, out, err, _ = mwtest.run(
            ["fetch", "--server", MODES["imaps"](), "--state-dir",
             self.path("s"), "--maildir", self.path("md")] + self.common(),
            env=pw_env())
        self.assertEqual(rc, 0, err)
        self.assertIn("3 fetched", out)
        self.assertNotIn("[#", err)  # stderr is not a terminal

    def test_wrong_password_exit_77_and_nothing_stored(self):
        rigutil.fill_maildir(ENV, "fetch", rigutil.make_messages(1, tag="w"))
        for mode in ("imaps", "pop3s"):
            with self.subTest(mode=mode):
                args = ["fetch", "--server", MODES[mode](), "--state-dir",
                        self.path("s"), "--maildir", self.path("md")] + \
                    self.common()
                rc, doc, err, _ = mwtest.run_json(args, env={"PW": "nope"})
                self.assertEqual(rc, 77, err)
                self.assertEqual(doc["status"], "failed")
                self.assertEqual(doc["error"]["status"], "MW_E_AUTH")
                self.assertNotIn("nope", json.dumps(doc) + err)
                self.assertEqual(self.maildir_files(self.path("md")), [])


class Delete(FetchTest):
    def check_delete(self, mode):
        msgs = rigutil.make_messages(3, tag="del-" + mode)
        rigutil.fill_maildir(ENV, "fetch", msgs)
        md = self.path("md")
        doc = self.fetch(mode, "--maildir", md, "--delete")
        self.assertEqual((doc["fetched"], doc["deleted"]), (3, 3))
        self.assertEqual(rigutil.maildir_problems(md, msgs, True), [])
        self.assertEqual(rigutil.server_count(ENV, USER, ENV["RIG_PASS3"]), 0)

    def test_delete_imap(self):
        self.check_delete("imaps")

    def test_delete_pop3(self):
        self.check_delete("pop3s")

    def check_store_failure_keeps_messages(self, mode):
        """--delete deletes only what the store made durable: an MDA that
        fails on the second message stops the run there; the first is
        deleted, the second and third stay on the server."""
        msgs = rigutil.make_messages(3, tag="keep-" + mode)
        rigutil.fill_maildir(ENV, "fetch", msgs)
        out = self.path("mda")
        os.mkdir(out)
        mda = ("m=$(cat); case \"$m\" in *'keep-%s message 2'*) exit 75;; "
               "esac; printf '%%s\\n' \"$m\" > %s/msg.$$" % (mode, out))
        doc = self.fetch(mode, "--mda", mda, "--delete", code=75)
        self.assertEqual(doc["fetched"], 1)
        self.assertEqual(len(os.listdir(out)), 1)
        # A run that failed deletes nothing (POP3: no QUIT; IMAP: the
        # batch was cut short), not even the message it stored: that one is
        # recorded, and the next run deletes it without fetching it again.
        left = rigutil.server_count(ENV, USER, ENV["RIG_PASS3"])
        self.assertEqual((doc["deleted"], left), (0, 3))
        # the next run, with a working MDA, takes the rest exactly once
        doc = self.fetch(mode, "--mda", "cat > %s/msg.$$" % out, "--delete")
        self.assertEqual((doc["fetched"], doc["deleted"]), (2, 3))
        self.assertEqual(rigutil.server_count(ENV, USER, ENV["RIG_PASS3"]), 0)
        got = []
        for n in os.listdir(out):
            with open(os.path.join(out, n), "rb") as f:
                got.append(f.read())
        self.assertEqual(sorted(message_ids(got)),
                         sorted(message_ids(msgs)))

    def test_store_failure_keeps_messages_imap(self):
        self.check_store_failure_keeps_messages("imaps")

    def test_store_failure_keeps_messages_pop3(self):
        self.check_store_failure_keeps_messages("pop3s")

    def test_mbox_in_a_missing_directory_deletes_nothing(self):
        rigutil.fill_maildir(ENV, "fetch", rigutil.make_messages(2, tag="nd"))
        doc = self.fetch("imaps", "--mbox", self.path("no", "such", "mbox"),
                         "--delete", code=74)
        self.assertEqual(doc["status"], "failed")
        self.assertEqual(rigutil.server_count(ENV, USER, ENV["RIG_PASS3"]), 2)


class AppendAndFlags(FetchTest):
    def test_append_then_fetch_round_trips_and_flags_read_back(self):
        raw = (b"From: bob@example.test\nTo: " + USER.encode() +
               b"\nSubject: appended copy\nMessage-ID: <app-1@example.test>"
               b"\n\nline one\n.dot line\nFrom inside\n")
        src = self.path("app.eml")
        with open(src, "wb") as f:
            f.write(raw)
        rc, doc, err, _ = mwtest.run_json(
            ["append", "--server", MODES["imap"](), "--mailbox", "INBOX",
             "--flags", "\\Flagged", src] + self.common(), env=pw_env())
        self.assertEqual(rc, 0, err)
        uid = doc["uid"]
        self.assertGreater(uid, 0)  # Dovecot has UIDPLUS
        flags = rigutil.imap_flags(ENV, USER, ENV["RIG_PASS3"])
        self.assertIn("\\Flagged", flags[uid])
        self.assertNotIn("\\Seen", flags[uid])
        # fetch reads it back byte for byte (LF, as it was given)
        md = self.path("md")
        doc = self.fetch("imaps", "--maildir", md)
        self.assertEqual(doc["fetched"], 1)
        self.assertEqual(self.maildir_files(md), [raw])
        # BODY.PEEK[]: fetching does not set \Seen, the \Flagged stays
        flags = rigutil.imap_flags(ENV, USER, ENV["RIG_PASS3"])
        self.assertEqual({f for f in flags[uid] if f != "\\Recent"},
                         {"\\Flagged"})

    def test_unseen_follows_the_seen_flag(self):
        msgs = rigutil.make_messages(3, tag="seen")
        uids = rigutil.imap_append(ENV, USER, ENV["RIG_PASS3"], msgs)
        rigutil.imap_store_flags(ENV, USER, ENV["RIG_PASS3"], uids[:2],
                                 "\\Seen")
        md = self.path("md")
        doc = self.fetch("imaps", "--maildir", md, "--unseen")
        self.assertEqual(doc["fetched"], 1)
        self.assertEqual(message_ids(self.maildir_files(md)),
                         message_ids(msgs[2:]))
        # --since today takes all three (--all: also the one fetched)
        today = time.strftime("%Y-%m-%d")
        doc = self.fetch("imaps", "--maildir", self.path("md2"), "--since",
                         today, state="state2")
        self.assertEqual(doc["fetched"], 3)

    def test_folders_lists_counts(self):
        rigutil.imap_append(ENV, USER, ENV["RIG_PASS3"],
                            rigutil.make_messages(2, tag="fo"))
        rc, doc, err, _ = mwtest.run_json(
            ["folders", "--server", MODES["imaps"]()] + self.common(),
            env=pw_env())
        self.assertEqual(rc, 0, err)
        inbox = [f for f in doc["folders"] if f["name"] == "INBOX"]
        self.assertEqual(len(inbox), 1)
        self.assertEqual(inbox[0]["messages"], 2)
        self.assertEqual(inbox[0]["unseen"], 2)
        self.assertGreater(inbox[0]["uidvalidity"], 0)


class Profile(FetchTest):
    def test_incoming_account_in_a_profile(self):
        msgs = rigutil.make_messages(2, tag="prof")
        rigutil.fill_maildir(ENV, "fetch", msgs)
        conf = self.path("config")
        with open(conf, "w") as f:
            f.write("defaults\ntls on\ntls_trust_file %s\n\n"
                    "account out\nhost 127.0.0.1\nport %d\n"
                    "from alice@example.test\n\n"
                    "account in\nprotocol imap\nhost 127.0.0.1\nport %d\n"
                    "tls_starttls off\nuser %s\npasswordeval printf %%s %s\n"
                    "maildir %s\nstate_dir %s\nkeep off\nmailbox INBOX\n"
                    % (ENV["RIG_CA_FILE"], port("SUBMISSION"), port("IMAPS"),
                       USER, ENV["RIG_PASS3"], self.path("md"),
                       self.path("st")))
        os.chmod(conf, 0o600)
        rc, doc, err, _ = mwtest.run_json(["fetch", "-C", conf, "--account",
                                           "in"])
        self.assertEqual(rc, 0, err)
        self.assertEqual((doc["fetched"], doc["deleted"]), (2, 2))  # keep off
        self.assertEqual(rigutil.maildir_problems(self.path("md"), msgs,
                                                  True), [])
        # the command line's store wins over the profile's
        rigutil.fill_maildir(ENV, "fetch", rigutil.make_messages(1, tag="p2"))
        rc, doc, err, _ = mwtest.run_json(["fetch", "-C", conf, "--account",
                                           "in", "--mbox", self.path("mb"),
                                           "--keep"])
        self.assertEqual((rc, doc["fetched"], doc["deleted"]), (0, 1, 0), err)
        self.assertTrue(os.path.exists(self.path("mb")))
        # an incoming account is not one to send with
        rc, out, err, _ = mwtest.run(["send", "-C", conf, "--account", "in",
                                      "--to", USER, "--body", "x"])
        self.assertEqual(rc, 78, err)
        self.assertIn("mailwire fetch", err)
        self.assertNotIn(ENV["RIG_PASS3"], out + err)


class Watch(FetchTest):
    def start_watch(self, *extra):
        args = mwtest.command(mwtest.MAILWIRE, "watch", "--server",
                              MODES["imaps"](), "--idle-interval", "20s",
                              *(self.common() + list(extra)))
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        env.update(pw_env())
        p = subprocess.Popen(args, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        # wait until it watches (its stderr says so)
        line = p.stderr.readline().decode()
        self.assertIn("watching INBOX (IDLE)", line)
        return p

    def stop(self, p):
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=mwtest.bound(10))
        self.assertEqual(p.returncode, 0, err)
        return out.decode(), err.decode()

    def test_watch_sees_a_message_delivered_while_it_waits(self):
        rigutil.imap_append(ENV, USER, ENV["RIG_PASS3"],
                            rigutil.make_messages(1, tag="before"))
        p = self.start_watch()
        try:
            self.send_to_fetch("arrived while watching")
            deadline = time.monotonic() + mwtest.bound(15)
            line = ""
            while time.monotonic() < deadline and not line:
                line = p.stdout.readline().decode()
            self.assertRegex(line, r"^\d+\talice@example.test\t"
                                   r"arrived while watching\n$")
        finally:
            out, err = self.stop(p)
        self.assertNotIn("before", out)  # already there: not new

    def test_watch_stores_like_fetch(self):
        md = self.path("md")
        first = rigutil.make_messages(1, tag="wa")
        rigutil.imap_append(ENV, USER, ENV["RIG_PASS3"], first)
        p = self.start_watch("--maildir", md, "--state-dir", self.path("s"))
        try:
            later = rigutil.make_messages(1, tag="wb")
            rigutil.imap_append(ENV, USER, ENV["RIG_PASS3"], later)
            deadline = time.monotonic() + mwtest.bound(15)
            while time.monotonic() < deadline and \
                    len(self.maildir_files(md)) < 2:
                time.sleep(0.1)
        finally:
            self.stop(p)
        self.assertEqual(rigutil.maildir_problems(md, first + later, True),
                         [])
        # the same state: fetch finds nothing new
        doc = self.fetch("imaps", "--maildir", md, state="s")
        self.assertEqual(doc["fetched"], 0)

    def test_watch_polls_and_reconnects_after_a_drop(self):
        """The server's connection is killed under it (doveadm kick):
        watch reconnects and still reports what arrived meanwhile."""
        if not shutil.which("doveadm"):
            self.skipTest("no doveadm")
        p = self.start_watch()
        try:
            conf = os.path.join(ENV["RIG_DIR"], "dc", "dovecot.conf")
            kick = subprocess.run(["doveadm", "-c", conf, "kick", USER],
                                  capture_output=True, timeout=10)
            self.assertEqual(kick.returncode, 0, kick.stderr)
            rigutil.imap_append(ENV, USER, ENV["RIG_PASS3"],
                                rigutil.make_messages(1, tag="kicked"))
            deadline = time.monotonic() + mwtest.bound(20)
            line = ""
            while time.monotonic() < deadline and not line:
                line = p.stdout.readline().decode()
            self.assertIn("kicked message 1", line)
        finally:
            out, err = self.stop(p)
        self.assertIn("reconnecting in 1 s", err)
        self.assertEqual(err.count("watching INBOX (IDLE)"), 1)  # 2nd


if __name__ == "__main__":
    unittest.main()

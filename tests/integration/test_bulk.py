"""Bulk sending (issue 12: `mailwire send --messages`, repeated --message)
against the scriptable server (fakesmtp.py): RSET between messages; a
server that says 421 after every 100 messages still gets all 1,000, each
once; a connection lost before the final dot is resumed (the message sent
again), one lost after it is reported "unknown" and never sent again;
--connections 4 sends each message exactly once; --rate spaces the
messages; the sources (a directory, an mbox, JSON lines) and their errors.

The rig test (test_bulk_rig.py) proves the 1,000 arrive through Postfix."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import fakesmtp  # noqa: E402
import mwtest  # noqa: E402

ALICE, BOB = "alice@example.org", "bob@example.org"


def message(i, tag="bulk", to=BOB, extra=""):
    return ("From: Alice <%s>\nTo: %s\n%sSubject: %s %d\n"
            "Message-ID: <%s-%d@example.org>\n\nmessage %d\n"
            % (ALICE, to, extra, tag, i, tag, i, i)).encode()


def message_ids(sessions):
    """Every Message-ID the server received in complete message data."""
    ids = []
    for s in sessions:
        for raw in s.data:
            for line in raw.split(b"\r\n"):
                if line.lower().startswith(b"message-id:"):
                    ids.append(line.split(b":", 1)[1].strip().strip(b"<>").decode())
                    break
    return ids


def verbs(sess):
    return [line.split(" ", 1)[0].upper() for line in sess.lines]


def results(out):
    """The JSON lines of a --json run: (per-message list, summary)."""
    lines = [json.loads(x) for x in out.splitlines() if x.strip()]
    return [x for x in lines if "summary" not in x], \
        [x for x in lines if "summary" in x][0]


class Bulk(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mw-bulk-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write_dir(self, n, tag="bulk", name="msgs"):
        d = os.path.join(self.dir, name)
        os.makedirs(d, exist_ok=True)
        for i in range(1, n + 1):
            with open(os.path.join(d, "m%05d.eml" % i), "wb") as f:
                f.write(message(i, tag))
        return d

    def send(self, port, *extra, timeout=300):
        args = ["send", "--server", "127.0.0.1:%d" % port, "--tls", "none",
                "--json"] + list(extra)
        return mwtest.run(args, timeout=timeout)

    # -- the Must-show ---------------------------------------------------
    def test_421_after_every_100_messages_all_1000_arrive_once(self):
        """Must show: a server that sends 421 after every 100 messages
        still gets all 1,000, each once: the client connects again and
        goes on with the message the 421 stopped."""
        d = self.write_dir(1000, tag="m421")
        with fakesmtp.FakeSMTP(starttls=False, close_every=100,
                               final_reply="250 2.0.0 Ok: queued as Q{n}") \
                as f:
            code, out, err, _ = self.send(f.port, "--messages", d)
            sessions = list(f.sessions)
        self.assertEqual(code, 0, err + out[-2000:])
        ids = message_ids(sessions)
        self.assertEqual(len(ids), 1000)
        self.assertEqual(sorted(set(ids)),
                         sorted("m421-%d@example.org" % i
                                for i in range(1, 1001)))
        # Ten connections, each closed by the 421 after its 100 (the last
        # ends with QUIT).
        self.assertEqual(len(sessions), 10)
        self.assertTrue(all(len(s.data) == 100 for s in sessions))
        per, summary = results(out)
        self.assertEqual(len(per), 1000)
        self.assertEqual(sorted(r["n"] for r in per), list(range(1, 1001)))
        self.assertTrue(all(r["result"] == "delivered" for r in per))
        # The 421s came to the RSET that led the 101st message's batch
        # (RSET, MAIL, RCPT, DATA in one write, RFC 2920): the server never
        # read that MAIL, and the message went again, once, on the next
        # connection; every other message was sent once.
        again = [r["n"] for r in per if r["tries"] != 1]
        self.assertEqual(len(again), 9, again)
        self.assertTrue(all(r["tries"] == 2 for r in per
                            if r["n"] in again))
        self.assertEqual(summary["delivered"], 1000)
        self.assertEqual(summary["connections"], 10)
        # each line carries the server's queue id
        self.assertTrue(all(r["queue_id"].startswith("Q") for r in per))

    @unittest.skipIf(mwtest.WRAPPER, "peak memory is the wrapper's")
    def test_memory_does_not_grow_with_the_mbox(self):
        """A 64 MB mbox of 1,000 messages is streamed, never loaded: the
        sender's peak resident memory stays far below the mbox's size."""
        with open(mwtest.MAILWIRE, "rb") as b:
            if b"__asan_init" in b.read():
                self.skipTest("AddressSanitizer's quarantine and shadow "
                              "memory make the peak its own")
        mb = os.path.join(self.dir, "big.mbox")
        filler = (b"y" * 76 + b"\n") * 840  # 64 KiB a message
        with open(mb, "wb") as f:
            for i in range(1, 1001):
                f.write(b"From alice@example.org Mon Jan  1 00:00:00 2026\n"
                        + message(i, "mem") + filler + b"\n")
        self.assertGreater(os.path.getsize(mb), 64 * 1000 * 1000)
        probe = ("import resource, subprocess, sys\n"
                 "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
                 "print(p.returncode, resource.getrusage("
                 "resource.RUSAGE_CHILDREN).ru_maxrss)\n")
        with fakesmtp.FakeSMTP(starttls=False) as f:
            p = subprocess.run(
                [sys.executable, "-c", probe, mwtest.MAILWIRE, "send",
                 "--server", "127.0.0.1:%d" % f.port, "--tls", "none",
                 "--messages", mb], capture_output=True, timeout=600)
            sessions = list(f.sessions)
        code, kib = (int(x) for x in p.stdout.split())
        self.assertEqual(code, 0, p.stderr)
        self.assertEqual(len(message_ids(sessions)), 1000)
        self.assertLess(kib, 32 * 1024)  # the mbox is over 64 MB

    def test_rset_between_messages(self):
        d = self.write_dir(3)
        with fakesmtp.FakeSMTP(starttls=False) as f:
            code, out, err, _ = self.send(f.port, "--messages", d)
            sessions = list(f.sessions)
        self.assertEqual(code, 0, err)
        self.assertEqual(len(sessions), 1)
        v = [x for x in verbs(sessions[0]) if x in ("MAIL", "RSET", "QUIT")]
        self.assertEqual(v, ["MAIL", "RSET", "MAIL", "RSET", "MAIL", "QUIT"])

    def test_connection_lost_before_the_dot_resends_that_message(self):
        """Hung up on DATA (3rd transaction) and on MAIL (5th): nothing of
        those messages reached the server, so each goes again on a new
        connection; every message arrives exactly once."""
        d = self.write_dir(6, tag="drop")
        with fakesmtp.FakeSMTP(starttls=False,
                               message_faults={3: "data", 5: "mail"}) as f:
            code, out, err, _ = self.send(f.port, "--messages", d)
            sessions = list(f.sessions)
        self.assertEqual(code, 0, err + out)
        ids = message_ids(sessions)
        self.assertEqual(sorted(ids),
                         sorted("drop-%d@example.org" % i for i in range(1, 7)))
        self.assertEqual(len(sessions), 3)
        per, summary = results(out)
        tries = {r["n"]: r["tries"] for r in per}
        self.assertEqual(tries, {1: 1, 2: 1, 3: 2, 4: 2, 5: 1, 6: 1})
        self.assertEqual(summary["connections"], 3)

    def test_connection_lost_in_the_middle_of_the_data_resends(self):
        """The server hangs up (a reset: it leaves the data unread) once
        the first bytes of the 2nd message's data arrive, while the client
        is still writing it (48 MB, more than the socket buffers hold): no
        final dot was sent, so that message goes again, and arrives once
        whole."""
        d = os.path.join(self.dir, "big")
        os.makedirs(d)
        line = b"x" * 98 + b"\n"
        for i in (1, 2, 3):
            with open(os.path.join(d, "m%d.eml" % i), "wb") as f:
                f.write(message(i, "big"))
                if i == 2:
                    f.write(line * (48 * 1024 * 1024 // len(line)))
        with fakesmtp.FakeSMTP(starttls=False,
                               capabilities=("PIPELINING", "8BITMIME"),
                               message_faults={2: "body"}) as f:
            code, out, err, _ = self.send(f.port, "--messages", d)
            sessions = list(f.sessions)
        self.assertEqual(code, 0, err + out)
        self.assertEqual(sorted(message_ids(sessions)),
                         ["big-%d@example.org" % i for i in (1, 2, 3)])
        per, summary = results(out)
        tries = {r["n"]: r["tries"] for r in per}
        self.assertEqual((tries[1], tries[3]), (1, 1), tries)
        # Sent again after the reset.  Under valgrind on a loaded machine
        # one more try was seen once (a second attempt that also failed
        # before its final dot); what must hold is that it arrives once.
        self.assertGreaterEqual(tries[2], 2, tries)
        self.assertLessEqual(tries[2], 2 if not mwtest.WRAPPER else 3, tries)
        self.assertEqual(summary["connections"], tries[2], summary)
        big = [x for s in sessions for x in s.data if len(x) > 1000000]
        self.assertEqual(len(big), 1)
        self.assertGreater(len(big[0]), 48 * 1024 * 1024)

    def test_connection_lost_after_the_dot_is_unknown_and_not_resent(self):
        """Never twice without being told: the 2nd message's data with its
        final dot reached the server, which hung up before its reply.  It
        may have been delivered: result "unknown", not sent again, exit
        81; the others go on over a new connection."""
        d = self.write_dir(4, tag="unk")
        with fakesmtp.FakeSMTP(starttls=False,
                               message_faults={2: "dot"}) as f:
            code, out, err, _ = self.send(f.port, "--messages", d)
            sessions = list(f.sessions)
        self.assertEqual(code, 81, err + out)
        ids = message_ids(sessions)
        self.assertEqual(sorted(ids),
                         sorted("unk-%d@example.org" % i for i in range(1, 5)))
        per, summary = results(out)
        by_n = {r["n"]: r for r in per}
        self.assertEqual(by_n[2]["result"], "unknown")
        self.assertIn("not sent again", by_n[2]["reason"])
        self.assertEqual(by_n[2]["tries"], 1)
        for n in (1, 3, 4):
            self.assertEqual(by_n[n]["result"], "delivered")
        self.assertEqual(summary["unknown"], 1)
        self.assertEqual(summary["delivered"], 3)

    def test_unknown_in_text_output(self):
        d = self.write_dir(2, tag="unkt")
        with fakesmtp.FakeSMTP(starttls=False,
                               message_faults={1: "dot"}) as f:
            code, out, err, _ = mwtest.run(
                ["send", "--server", "127.0.0.1:%d" % f.port, "--tls",
                 "none", "--messages", d])
        self.assertEqual(code, 81, err)
        lines = out.splitlines()
        self.assertTrue(lines[0].startswith("[1/2] "), out)
        self.assertIn(": unknown: ", lines[0])
        self.assertIn("queued as FAKE42", lines[1])
        self.assertIn("1 of 2 delivered", lines[-1])

    def test_four_connections_send_every_message_once(self):
        d = self.write_dir(40, tag="par")
        with fakesmtp.FakeSMTP(starttls=False, close_every=7) as f:
            code, out, err, _ = self.send(f.port, "--messages", d,
                                          "--connections", "4")
            sessions = list(f.sessions)
        self.assertEqual(code, 0, err + out)
        ids = message_ids(sessions)
        self.assertEqual(sorted(ids),
                         sorted("par-%d@example.org" % i
                                for i in range(1, 41)))
        per, summary = results(out)
        self.assertEqual(sorted(r["n"] for r in per), list(range(1, 41)))
        self.assertEqual({r["connection"] for r in per}, {1, 2, 3, 4})
        # 40 messages, at most 7 a connection: at least 6 connections
        self.assertGreaterEqual(summary["connections"], 6)

    def test_a_connection_refused_gives_its_message_back(self):
        """--connections 2 to a server that takes one connection at a time
        (a 421 greeting for the second): the second worker tries 5 times,
        gives the message it holds back and stops; the first (kept busy by
        --rate 2/s for 8 s) sends every message of the mbox, each once."""
        n = 16
        mb = os.path.join(self.dir, "back.mbox")
        with open(mb, "wb") as f:
            for i in range(1, n + 1):
                f.write(b"From alice@example.org Mon Jan  1 00:00:00 2026\n"
                        + message(i, "back") + b"\n")
        with fakesmtp.FakeSMTP(starttls=False, max_sessions=1) as f:
            code, out, err, _ = self.send(f.port, "--messages", mb,
                                          "--connections", "2", "--rate",
                                          "2/s")
            sessions = list(f.sessions)
        self.assertEqual(code, 0, err + out)
        self.assertEqual(sorted(message_ids(sessions)),
                         sorted("back-%d@example.org" % i
                                for i in range(1, n + 1)))
        per, summary = results(out)
        self.assertEqual(sorted(r["n"] for r in per),
                         list(range(1, n + 1)))
        self.assertTrue(all(r["result"] == "delivered" for r in per))
        self.assertEqual(summary["connections"], 1)
        refused = [s for s in sessions if not s.lines]
        self.assertEqual(len(refused), 5)
        self.assertEqual(len({r["connection"] for r in per}), 1)

    def test_rate_spaces_the_messages(self):
        """--rate 5/s: 6 messages cannot start within less than a second
        (a lower bound only: a slow machine makes it longer, never
        shorter)."""
        d = self.write_dir(6, tag="rate")
        with fakesmtp.FakeSMTP(starttls=False) as f:
            code, out, err, secs = self.send(f.port, "--messages", d,
                                             "--rate", "5/s")
        self.assertEqual(code, 0, err)
        self.assertGreaterEqual(secs, 0.95)

    def test_refusals_are_per_message(self):
        """A 550 for one message's only recipient fails that message (exit
        81), the session goes on (one connection)."""
        d = os.path.join(self.dir, "r")
        os.makedirs(d)
        for i, to in enumerate(["bob@example.org", "nobody@example.org",
                                "bob@example.org"], 1):
            with open(os.path.join(d, "m%d.eml" % i), "wb") as f:
                f.write(message(i, "ref", to=to))
        with fakesmtp.FakeSMTP(starttls=False, rcpt_replies={
                "nobody@example.org": "550 5.1.1 no such user"}) as f:
            code, out, err, _ = self.send(f.port, "--messages", d)
            sessions = list(f.sessions)
        self.assertEqual(code, 81, err)
        per, summary = results(out)
        self.assertEqual([r["result"] for r in sorted(per, key=lambda r:
                                                      r["n"])],
                         ["delivered", "failed", "delivered"])
        self.assertEqual(len(sessions), 1)
        self.assertEqual(summary["failed"], 1)

    def test_no_server_every_message_still_gets_a_line(self):
        d = self.write_dir(3)
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()  # nobody listens there
        code, out, err, _ = self.send(port, "--messages", d)
        per, summary = results(out)
        self.assertEqual(len(per), 3)
        self.assertTrue(all(r["result"] == "deferred" for r in per), out)
        self.assertEqual(code, 75)  # the connect failure's code
        self.assertEqual(summary["connections"], 0)

    # -- the envelope ------------------------------------------------------
    def test_header_recipients_bcc_removed(self):
        d = os.path.join(self.dir, "h")
        os.makedirs(d)
        with open(os.path.join(d, "a.eml"), "wb") as f:
            f.write(message(1, "hdr", extra="Cc: carol@example.org\n"
                                            "Bcc: dave@example.org\n"))
        with fakesmtp.FakeSMTP(starttls=False) as f:
            code, out, err, _ = self.send(f.port, "--messages", d)
            sessions = list(f.sessions)
        self.assertEqual(code, 0, err)
        lines = sessions[0].lines
        self.assertIn("MAIL FROM:<alice@example.org>",
                      [x.split(" SIZE")[0] for x in lines])
        rcpts = [x for x in lines if x.startswith("RCPT")]
        self.assertEqual([r.split(">")[0] for r in rcpts],
                         ["RCPT TO:<bob@example.org",
                          "RCPT TO:<carol@example.org",
                          "RCPT TO:<dave@example.org"])
        self.assertNotIn(b"Bcc:", sessions[0].data[0])

    def test_command_line_envelope_and_repeated_message(self):
        """Two --message files with --from/--to: sent as they are (the Bcc
        header stays: the file is not rewritten), to --to only."""
        a = os.path.join(self.dir, "a.eml")
        b = os.path.join(self.dir, "b.eml")
        with open(a, "wb") as f:
            f.write(message(1, "cl", extra="Bcc: dave@example.org\n"))
        with open(b, "wb") as f:
            f.write(message(2, "cl"))
        with fakesmtp.FakeSMTP(starttls=False) as f:
            code, out, err, _ = self.send(
                f.port, "--message", a, "--message", b, "--from",
                "bounce@example.org", "--to", "zed@example.org")
            sessions = list(f.sessions)
        self.assertEqual(code, 0, err)
        rcpts = [x for x in sessions[0].lines if x.startswith("RCPT")]
        self.assertEqual(rcpts, ["RCPT TO:<zed@example.org>"] * 2)
        self.assertIn(b"Bcc: dave@example.org", sessions[0].data[0])
        self.assertEqual(message_ids(sessions),
                         ["cl-1@example.org", "cl-2@example.org"])

    def test_jsonl_source(self):
        for i in (1, 2):
            with open(os.path.join(self.dir, "j%d.eml" % i), "wb") as f:
                f.write(message(i, "js"))
        jl = os.path.join(self.dir, "list.jsonl")
        with open(jl, "w") as f:
            f.write('{"from": "x@example.org", "to": ["p@example.org", '
                    '"q@example.org"], "file": "j1.eml"}\n\n'
                    '{"to": "r@example.org", "file": "%s"}\n'
                    % os.path.join(self.dir, "j2.eml"))
        with fakesmtp.FakeSMTP(starttls=False) as f:
            code, out, err, _ = self.send(f.port, "--messages", jl)
            sessions = list(f.sessions)
        self.assertEqual(code, 0, err)
        lines = [x.split(" SIZE")[0] for x in sessions[0].lines
                 if x.startswith(("MAIL", "RCPT"))]
        self.assertEqual(lines, ["MAIL FROM:<x@example.org>",
                                 "RCPT TO:<p@example.org>",
                                 "RCPT TO:<q@example.org>",
                                 "MAIL FROM:<alice@example.org>",
                                 "RCPT TO:<r@example.org>"])
        per, _ = results(out)
        self.assertIn("list.jsonl:3", per[1]["message"])

    def test_bad_json_line_names_the_line_and_sends_nothing(self):
        with open(os.path.join(self.dir, "ok.eml"), "wb") as f:
            f.write(message(1))
        jl = os.path.join(self.dir, "bad.jsonl")
        with open(jl, "w") as f:
            f.write('{"file": "ok.eml"}\n{"file": "ok.eml", "to": [1]}\n')
        with fakesmtp.FakeSMTP(starttls=False) as f:
            code, out, err, _ = mwtest.run(
                ["send", "--server", "127.0.0.1:%d" % f.port, "--tls",
                 "none", "--messages", jl])
            sessions = list(f.sessions)
        self.assertEqual(code, 65)
        self.assertIn("bad.jsonl line 2", err)
        self.assertEqual(sessions, [])  # nothing sent, not even connected
        with open(jl, "w") as f:
            f.write('{"file": "ok.eml"}\n{"file": "ok.eml",\n')
        code, out, err, _ = mwtest.run(
            ["send", "--server", "127.0.0.1:9", "--tls", "none",
             "--messages", jl])
        self.assertEqual(code, 65)
        self.assertIn("bad.jsonl line 2 is not JSON", err)

    def test_missing_file_in_jsonl(self):
        jl = os.path.join(self.dir, "m.jsonl")
        with open(jl, "w") as f:
            f.write('{"file": "nowhere.eml"}\n')
        code, out, err, _ = mwtest.run(
            ["send", "--server", "127.0.0.1:9", "--tls", "none",
             "--messages", jl])
        self.assertEqual(code, 66)
        self.assertIn("m.jsonl line 1", err)

    def test_mbox_source(self):
        mb = os.path.join(self.dir, "box.mbox")
        with open(mb, "wb") as f:
            for i in (1, 2, 3):
                body = message(i, "mb")
                if i == 2:
                    body += b">From the quoted line\n"
                f.write(b"From alice@example.org Mon Jan  1 00:00:00 2026\n"
                        + body + b"\n")
        with fakesmtp.FakeSMTP(starttls=False) as f:
            code, out, err, _ = self.send(f.port, "--messages", mb)
            sessions = list(f.sessions)
        self.assertEqual(code, 0, err)
        data = sessions[0].data
        self.assertEqual(len(data), 3)
        self.assertEqual(message_ids(sessions),
                         ["mb-%d@example.org" % i for i in (1, 2, 3)])
        # mboxrd unquoted; the format's empty line is not the message's
        self.assertIn(b"\r\nFrom the quoted line\r\n", data[1])
        self.assertTrue(data[0].endswith(b"message 1\r\n"), data[0])
        per, _ = results(out)
        self.assertEqual(per[2]["message"], mb + " #3")

    def test_not_a_source(self):
        p = os.path.join(self.dir, "x.txt")
        with open(p, "w") as f:
            f.write("hello\n")
        code, out, err, _ = mwtest.run(
            ["send", "--server", "127.0.0.1:9", "--messages", p])
        self.assertEqual(code, 65)
        self.assertIn("neither a directory, an mbox", err)

    def test_usage(self):
        d = self.write_dir(1)
        for extra, words in (
                (["--body", "x"], "do not apply"),
                (["--queue"], "--queue"),
                (["--connections", "0"], "--connections"),
                (["--rate", "fast"], "--rate")):
            code, out, err, _ = mwtest.run(
                ["send", "--server", "127.0.0.1:9", "--messages", d]
                + extra)
            self.assertEqual(code, 64, extra)
            self.assertIn(words, err)
        code, out, err, _ = mwtest.run(
            ["send", "--server", "127.0.0.1:9", "--from", ALICE, "--to",
             BOB, "--body", "x", "--connections", "2"])
        self.assertEqual(code, 64)
        self.assertIn("many messages", err)


if __name__ == "__main__":
    unittest.main()

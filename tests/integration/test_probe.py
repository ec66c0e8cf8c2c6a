"""mailwire probe: every port in every TLS mode at once.

Against the real Postfix rig every port comes out as what it is; against
the misbehaving server the silent and mismatched ports are named as such,
and the whole probe ends within the greeting timeout plus one second while
several attempts hang (a sequential search would take their sum).  In a
network namespace the default ports 465/587/25/2525 are probed for real,
with port 25 filtered.  SRV (RFC 6186) and MX discovery against a private
dnsmasq."""

import json
import os
import shutil
import socket
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import dnsrig  # noqa: E402
import fakesmtp  # noqa: E402
import mwtest  # noqa: E402
import netnsrig  # noqa: E402
import rigutil  # noqa: E402

CERT_DIR = CA = CERT = KEY = None
BAD = {}
# The greeting timeout of the probes, stretched under valgrind (a TLS
# handshake there takes a good part of a second); the bound checked is
# always "this timeout plus one (scaled) second".
T = int(2 * mwtest.TIME_SCALE)


def setUpModule():
    global CERT_DIR, CA, CERT, KEY, BAD
    CERT_DIR, (CA, CERT, KEY) = fakesmtp.temp_certs()
    BAD = fakesmtp.make_bad_certs(CERT_DIR, CA,
                                  os.path.join(CERT_DIR, "fake-ca.key"))


def tearDownModule():
    shutil.rmtree(CERT_DIR, ignore_errors=True)


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def probe(target, *extra, ports=None, timeout="%ds" % T, ca=True):
    args = ["probe", target, "--greeting-timeout", timeout,
            "--tls-server-name", "localhost"]
    if ports:
        args += ["--ports", ",".join(str(p) for p in ports)]
    if ca:
        args += ["--tls-ca-file", CA]
    return mwtest.run_json(args + list(extra))


def rows(doc):
    """{(port, mode): row}"""
    return {(r["port"], r["mode"]): r for r in doc["results"]}


class FakeServers(unittest.TestCase):
    def test_parallel_probe_names_each_port_within_one_timeout(self):
        """Three ports hang (two silent servers, one implicit-TLS server
        that a plaintext client waits on forever), one is refused; the
        probe still ends within greeting timeout + 1 s."""
        silent1 = fakesmtp.FakeSMTP(cert=CERT, key=KEY, silent=True)
        silent2 = fakesmtp.FakeSMTP(cert=CERT, key=KEY, silent=True)
        implicit = fakesmtp.FakeSMTP(cert=CERT, key=KEY, implicit_tls=True,
                                     starttls=False, auth="PLAIN LOGIN")
        starttls = fakesmtp.FakeSMTP(cert=CERT, key=KEY,
                                     auth_after_tls_only=True,
                                     auth="PLAIN")
        servers = [silent1, silent2, implicit, starttls]
        for s in servers:
            s.start()
        try:
            refused = closed_port()
            ports = [silent1.port, silent2.port, implicit.port,
                     starttls.port, refused]
            code, doc, err, secs = probe("127.0.0.1", ports=ports)
        finally:
            for s in servers:
                s.stop()
        r = rows(doc)
        self.assertEqual(code, 0, doc)
        # Silent servers: nothing in any mode.
        for port in (silent1.port, silent2.port):
            self.assertEqual(r[(port, "implicit")]["outcome"], "silent")
            self.assertEqual(r[(port, "plain")]["outcome"], "silent")
            self.assertIn("no greeting within %.1f s" % T,
                          r[(port, "plain")]["detail"])
        # The implicit-TLS server: works in its mode, a mismatch in the
        # other (the plaintext client heard nothing).
        self.assertEqual(r[(implicit.port, "implicit")]["outcome"], "works")
        self.assertEqual(r[(implicit.port, "implicit")]["cert"], "verified")
        self.assertEqual(r[(implicit.port, "implicit")]["auth"],
                         "PLAIN LOGIN")
        self.assertEqual(r[(implicit.port, "plain")]["outcome"], "mismatch")
        self.assertIn("implicit TLS", r[(implicit.port, "plain")]["detail"])
        # The STARTTLS server: plaintext speaks, STARTTLS works and offers
        # AUTH only after TLS; implicit TLS is a mismatch.
        self.assertEqual(r[(starttls.port, "starttls")]["outcome"], "works")
        self.assertEqual(r[(starttls.port, "starttls")]["auth"], "PLAIN")
        self.assertEqual(r[(starttls.port, "plain")]["outcome"], "works")
        self.assertEqual(r[(starttls.port, "plain")]["auth"], "")
        self.assertEqual(r[(starttls.port, "plain")]["rank"], 0)
        self.assertEqual(r[(starttls.port, "implicit")]["outcome"],
                         "mismatch")
        self.assertIn("plaintext", r[(starttls.port, "implicit")]["detail"])
        self.assertEqual(r[(refused, "implicit")]["outcome"], "refused")
        # Ranking: implicit before STARTTLS on ports other than 465/587.
        self.assertEqual(r[(implicit.port, "implicit")]["rank"], 1)
        self.assertEqual(r[(starttls.port, "starttls")]["rank"], 2)
        self.assertEqual(doc["recommended"]["port"], implicit.port)
        self.assertEqual(doc["recommended"]["mode"], "implicit")
        self.assertIn("--server 127.0.0.1:%d --tls implicit" % implicit.port,
                      doc["recommended"]["send_flags"])
        # Hangs overlap: one greeting timeout (plus the probe's own busy
        # time, which extends the deadlines: probe_loop.c), not the sum of
        # six.
        self.assertLess(secs, 2 * T, doc)
        self.assertGreaterEqual(secs, T * 0.95)

    def test_plaintext_only_is_never_recommended(self):
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY, starttls=False,
                               auth="PLAIN") as f:
            code, doc, _, _ = probe("127.0.0.1", ports=[f.port])
            code2, out, _, _ = mwtest.run(
                ["probe", "127.0.0.1", "--ports", str(f.port),
                 "--greeting-timeout", "%ds" % T])
        r = rows(doc)
        self.assertEqual(r[(f.port, "plain")]["outcome"], "works")
        self.assertEqual(r[(f.port, "plain")]["rank"], 0)
        self.assertEqual(r[(f.port, "starttls")]["outcome"], "no_starttls")
        self.assertIsNone(doc["recommended"])
        self.assertEqual(code, 78)
        self.assertEqual(code2, 78)
        self.assertIn("Only plaintext answered", out)
        self.assertNotIn("send flags", out)

    def test_untrusted_certificate_is_ranked_with_the_fix_first(self):
        cert, key = BAD["selfsigned"]
        with fakesmtp.FakeSMTP(cert=cert, key=key, implicit_tls=True,
                               starttls=False) as f:
            code, doc, _, _ = probe("127.0.0.1", ports=[f.port])
        r = rows(doc)[(f.port, "implicit")]
        self.assertEqual(r["outcome"], "works")
        self.assertEqual(r["cert"], "self_signed")
        self.assertEqual(r["rank"], 1)
        self.assertEqual(code, 78)
        self.assertIn("--tls-ca-file", doc["recommended"]["fix_first"])

    def test_nothing_answers(self):
        code, doc, _, _ = probe("127.0.0.1", ports=[closed_port()])
        self.assertEqual(code, 69)
        self.assertIsNone(doc["recommended"])
        self.assertTrue(all(r["outcome"] == "refused"
                            for r in doc["results"]), doc)

    def test_greeting_refused_and_broken_replies(self):
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY,
                               greeting="554 5.7.1 go away") as f, \
                fakesmtp.FakeSMTP(cert=CERT, key=KEY,
                                  raw_ehlo_reply=b"250-x\r\nXYZ\r\n") as g:
            code, doc, _, _ = probe("127.0.0.1", ports=[f.port, g.port])
        r = rows(doc)
        self.assertEqual(r[(f.port, "plain")]["outcome"], "rejected")
        self.assertIn("554", r[(f.port, "plain")]["detail"])
        self.assertEqual(r[(g.port, "plain")]["outcome"], "protocol")
        self.assertEqual(code, 69)

    def test_hostile_servers(self):
        """What a hostile or broken server does is named, never a hang."""
        cases = [
            (dict(raw_ehlo_reply=b"250-" + b"x" * 5000 + b"\r\n"),
             "plain", "protocol", "too long"),
            (dict(inject_after_starttls=b"250 injected\r\n"),
             "starttls", "protocol", "injection"),
            (dict(trickle=1.0), "plain", "timeout",
             "did not complete"),
            (dict(starttls_garbage=True), "starttls", "tls_failed", ""),
        ]
        for settings, mode, outcome, needle in cases:
            with self.subTest(settings=list(settings)), \
                    fakesmtp.FakeSMTP(cert=CERT, key=KEY, **settings) as f:
                code, doc, err, secs = probe("127.0.0.1", ports=[f.port])
                r = rows(doc)[(f.port, mode)]
                if outcome == "tls_failed":
                    self.assertIn(r["outcome"], ("tls_failed", "timeout",
                                                 "closed"), doc)
                else:
                    self.assertEqual(r["outcome"], outcome, doc)
                self.assertIn(needle, r["detail"])
                self.assertLess(secs, T + mwtest.bound(1))
                self.assertIsNone(doc["recommended"])

    def test_helo_only_server(self):
        """EHLO refused with 5xx: an RFC 821 server that takes mail with
        HELO, so plaintext works and STARTTLS cannot exist."""
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY,
                               ehlo_reply="502 5.5.1 EHLO not known") as f:
            code, doc, _, _ = probe("127.0.0.1", ports=[f.port])
        r = rows(doc)
        self.assertEqual(r[(f.port, "plain")]["outcome"], "works", doc)
        self.assertIn("HELO only", r[(f.port, "plain")]["detail"])
        self.assertEqual(r[(f.port, "starttls")]["outcome"], "no_starttls")
        self.assertEqual(code, 78)

    def test_profile_block_and_flags_work_for_send(self):
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY, implicit_tls=True,
                               starttls=False) as f:
            code, doc, _, secs = probe("127.0.0.1", ports=[f.port])
            self.assertEqual(code, 0, doc)
            # Implicit TLS answered: its silent plaintext twin is not
            # waited for until the greeting timeout.
            self.assertEqual(rows(doc)[(f.port, "plain")]["outcome"],
                             "mismatch")
            self.assertLess(secs, T)
            d = tempfile.mkdtemp()
            try:
                path = os.path.join(d, "config")
                with open(path, "w") as fh:
                    fh.write(doc["recommended"]["profile"])
                os.chmod(path, 0o600)
                code, out, err, _ = mwtest.run(["config", "show", "-C", path])
                self.assertEqual(code, 0, err)
                self.assertIn("127.0.0.1:%d" % f.port, out)
                self.assertIn("implicit", out)
                # The printed flags deliver a message as they are.
                flags = doc["recommended"]["send_flags"].split()
                code, out, err, _ = mwtest.run(
                    ["send"] + flags + ["--from", "a@example.org", "--to",
                                        "b@example.org", "--body", "hi"])
                self.assertEqual(code, 0, out + err)
            finally:
                shutil.rmtree(d, ignore_errors=True)

    def test_account_profile_gives_host_port_and_tls_settings(self):
        """probe --account takes the host, its port and the TLS keys of
        an account; its sender and credentials do not apply and are
        skipped, not refused."""
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY, implicit_tls=True,
                               starttls=False) as f:
            d = tempfile.mkdtemp()
            try:
                path = os.path.join(d, "config")
                with open(path, "w") as fh:
                    fh.write("account work\nhost 127.0.0.1\nport %d\n"
                             "tls on\ntls_starttls off\ntls_trust_file %s\n"
                             "tls_host_override localhost\n"
                             "from a@example.org\nauth on\nuser alice\n"
                             "password s3cret-Profile\n" % (f.port, CA))
                os.chmod(path, 0o600)
                code, doc, err, _ = mwtest.run_json(
                    ["probe", "-C", path, "--account", "work",
                     "--greeting-timeout", "%ds" % T])
            finally:
                shutil.rmtree(d, ignore_errors=True)
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["target"], "127.0.0.1")
        self.assertEqual(doc["recommended"]["port"], f.port)
        self.assertNotIn("s3cret-Profile", json.dumps(doc) + err)

    def test_usage_errors(self):
        # Each must fail before any DNS query (the target "x" would go to
        # the system resolver).
        for args in (["probe"], ["probe", "x", "--ports", "0"],
                     ["probe", "x", "--ports", "25,abc"],
                     ["probe", "x", "--ports",
                      ",".join(str(p) for p in range(1, 18))],
                     ["probe", "x", "--from", "a@b"],
                     ["probe", "x", "--user", "u"],
                     ["probe", "a b"]):
            with self.subTest(args):
                code, out, err, _ = mwtest.run(args)
                self.assertEqual(code, 64, err)
                self.assertTrue(err.startswith("mailwire probe: "), err)


class Rig(unittest.TestCase):
    """Every port of the real Postfix, probed at once, is what it is."""

    @classmethod
    def setUpClass(cls):
        path = os.environ.get("MW_RIG_ENV")
        if not path or not os.path.exists(path):
            raise unittest.SkipTest("no rig (run through ctest)")
        cls.env = rigutil.load_env(path)

    def test_every_rig_port(self):
        e = self.env
        port = {n: int(e["RIG_%s_PORT" % n]) for n in
                ("SUBMISSION", "SMTPS", "PLAIN", "PLAINAUTH", "OPTTLS",
                 "HAPROXY")}
        code, doc, err, secs = mwtest.run_json(
            ["probe", "127.0.0.1", "--ports",
             ",".join(str(p) for p in port.values()), "--greeting-timeout",
             "%ds" % (T + 1), "--tls-ca-file", e["RIG_CA_FILE"], "--tls-server-name",
             e["RIG_SERVER_NAME"]])
        self.assertEqual(code, 0, doc)
        r = rows(doc)
        sub, smtps = port["SUBMISSION"], port["SMTPS"]
        self.assertEqual(r[(sub, "starttls")]["outcome"], "works")
        self.assertEqual(r[(sub, "starttls")]["cert"], "verified")
        self.assertTrue(r[(sub, "starttls")]["tls_version"].startswith("TLS"))
        self.assertIn("SCRAM-SHA-256", r[(sub, "starttls")]["auth"])
        self.assertEqual(r[(sub, "plain")]["auth"], "")  # no AUTH in clear
        self.assertEqual(r[(sub, "implicit")]["outcome"], "mismatch")
        self.assertEqual(r[(smtps, "implicit")]["outcome"], "works")
        self.assertIn("PLAIN", r[(smtps, "implicit")]["auth"])
        self.assertEqual(r[(smtps, "plain")]["outcome"], "mismatch")
        self.assertEqual(r[(port["PLAIN"], "plain")]["outcome"], "works")
        self.assertEqual(r[(port["PLAIN"], "starttls")]["outcome"],
                         "no_starttls")
        self.assertIn("PLAIN", r[(port["PLAINAUTH"], "plain")]["auth"])
        self.assertEqual(r[(port["PLAINAUTH"], "plain")]["rank"], 0)
        self.assertEqual(r[(port["OPTTLS"], "starttls")]["outcome"], "works")
        # The PROXY-protocol port waits for a header a client never sends
        # (Postfix gives up after smtpd_upstream_proxy_timeout, 5 s, with
        # a 421: a longer greeting timeout sees that).
        self.assertIn(r[(port["HAPROXY"], "plain")]["outcome"],
                      ("silent", "rejected"))
        self.assertEqual(doc["recommended"]["port"], smtps)
        self.assertEqual(doc["recommended"]["mode"], "implicit")
        self.assertLess(secs, 2 * T + 1)


class Detect(unittest.TestCase):
    """send --tls detect: the same probe, then the best secure mode."""

    def send(self, port, *extra):
        return mwtest.run_json(
            ["send", "--server", "127.0.0.1:%d" % port, "--tls", "detect",
             "--tls-ca-file", CA, "--tls-server-name", "localhost",
             "--greeting-timeout", "%ds" % T, "--from", "a@example.org",
             "--to", "b@example.org", "--body", "hi"] + list(extra))

    def test_detects_implicit_and_starttls(self):
        for implicit in (True, False):
            with self.subTest(implicit=implicit), \
                    fakesmtp.FakeSMTP(cert=CERT, key=KEY,
                                      implicit_tls=implicit,
                                      starttls=not implicit) as f:
                code, doc, err, _ = self.send(f.port, "--trace")
                self.assertEqual(code, 0, err)
                mode = "implicit" if implicit else "starttls"
                self.assertEqual(doc["server"]["tls_mode"], mode)
                self.assertEqual(doc["server"]["port"], f.port)
                self.assertIn("--tls detect: port %d, TLS mode %s"
                              % (f.port, mode), err)
                self.assertTrue(f.sessions[-1].tls)
                self.assertEqual(len(f.sessions[-1].data), 1)

    def test_plaintext_only_is_refused(self):
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY, starttls=False) as f:
            code, doc, err, _ = self.send(f.port)
        self.assertEqual(code, 78, doc)
        self.assertEqual(doc["error"]["status"], "MW_E_NO_STARTTLS")
        self.assertIn("only plaintext answered", doc["error"]["message"])
        self.assertFalse(any(sess.data for sess in f.sessions))

    def test_untrusted_certificate_is_refused(self):
        cert, key = BAD["selfsigned"]
        with fakesmtp.FakeSMTP(cert=cert, key=key) as f:
            code, doc, err, _ = self.send(f.port)
        self.assertEqual(code, 78, doc)
        self.assertEqual(doc["error"]["status"], "MW_E_CERT")
        self.assertIn("self_signed", doc["error"]["message"])
        self.assertFalse(any(sess.data for sess in f.sessions))

    def test_nothing_answers(self):
        code, doc, err, _ = self.send(closed_port())
        self.assertEqual(code, 75, doc)
        self.assertIn("no port answered", doc["error"]["message"])

    def test_rig_submission_and_smtps(self):
        path = os.environ.get("MW_RIG_ENV")
        if not path or not os.path.exists(path):
            self.skipTest("no rig (run through ctest)")
        e = rigutil.load_env(path)
        for name, mode in (("SMTPS", "implicit"), ("SUBMISSION", "starttls")):
            with self.subTest(name):
                code, doc, err, _ = mwtest.run_json(
                    ["send", "--server", "127.0.0.1:%s" % e["RIG_%s_PORT"
                                                            % name],
                     "--tls", "detect", "--tls-ca-file", e["RIG_CA_FILE"],
                     "--tls-server-name", e["RIG_SERVER_NAME"],
                     "--greeting-timeout", "%ds" % T, "--user",
                     e["RIG_USER1"], "--password-env", "PW", "--from",
                     e["RIG_USER1"], "--to", e["RIG_USER1"], "--subject",
                     "detect " + name, "--body", "hi"],
                    env={"PW": e["RIG_PASS1"]})
                self.assertEqual(code, 0, err)
                self.assertEqual(doc["server"]["tls_mode"], mode)
                self.assertIsNotNone(doc["server"]["auth_mechanism"])


class Discovery(unittest.TestCase):
    """SRV (RFC 6186) and MX records from a private dnsmasq: their hosts
    are probed too, SRV hosts on their SRV port."""

    def test_address_finds_srv_and_mx_hosts(self):
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY, implicit_tls=True,
                               starttls=False, auth="PLAIN") as imp, \
                fakesmtp.FakeSMTP(cert=CERT, key=KEY) as sub:
            records = [
                "host-record=submit.example.test,127.0.0.1",
                "host-record=relay.example.test,127.0.0.1",
                "srv-host=_submissions._tcp.example.test,submit.example.test,"
                "%d,0,1" % imp.port,
                "srv-host=_submission._tcp.example.test,submit.example.test,"
                "%d,0,1" % sub.port,
                "mx-host=example.test,relay.example.test,10"]
            with dnsrig.DnsRig(records) as d:
                code, doc, err, _ = probe(
                    "alice@example.test", "--dns-server", d.server,
                    ports=[sub.port])
        hosts = {h["name"]: h["source"] for h in doc["hosts"]}
        self.assertEqual(hosts["submit.example.test"],
                         "srv _submissions._tcp", doc)
        self.assertEqual(hosts["relay.example.test"], "mx 10")
        self.assertIn("example.test", hosts)
        r = {(x["host"], x["port"], x["mode"]): x for x in doc["results"]}
        self.assertEqual(
            r[("submit.example.test", imp.port, "implicit")]["outcome"],
            "works")
        self.assertEqual(
            r[("submit.example.test", sub.port, "starttls")]["outcome"],
            "works")
        self.assertEqual(
            r[("relay.example.test", sub.port, "starttls")]["outcome"],
            "works")
        # The bare domain has no address here.
        self.assertEqual(r[("example.test", sub.port, "plain")]["outcome"],
                         "dns")
        self.assertEqual(doc["recommended"]["host"], "submit.example.test")
        self.assertEqual(doc["recommended"]["port"], imp.port)
        self.assertEqual(code, 0)

    def test_resolver_down_is_temporary(self):
        """No DNS answer at all (nothing listens on the resolver's port):
        retry later (75), not "no such host" (68)."""
        dead = dnsrig.free_udp_port()
        code, doc, _, _ = probe("mail.example.test", "--dns-server",
                                "127.0.0.1:%d" % dead, ports=[587])
        self.assertEqual(code, 75, doc)
        self.assertTrue(doc["dns_note"])

    def test_host_port_is_probed_first(self):
        with fakesmtp.FakeSMTP(cert=CERT, key=KEY, implicit_tls=True,
                               starttls=False) as f:
            code, doc, _, _ = probe("127.0.0.1:%d" % f.port,
                                    ports=[closed_port()])
        self.assertEqual(doc["results"][0]["port"], f.port)
        self.assertEqual(doc["recommended"]["port"], f.port)
        self.assertEqual(code, 0)

    def test_unknown_name(self):
        with dnsrig.DnsRig([]) as d:
            code, doc, _, _ = probe("nosuch.example.test", "--dns-server",
                                    d.server, ports=[587])
        self.assertEqual(code, 68, doc)
        self.assertTrue(all(r["outcome"] == "dns" for r in doc["results"]))


class DefaultPorts(unittest.TestCase):
    """The real ports, in a network namespace of our own: 465 implicit TLS,
    587 silent, 25 filtered (SYN dropped by nftables), 2525 STARTTLS."""

    @classmethod
    def setUpClass(cls):
        why = netnsrig.Namespace.unavailable()
        if why:
            raise unittest.SkipTest(why)
        cls.ns = netnsrig.Namespace("mwprobe", drop_ports=[25]).start()
        try:
            cls.ns.serve(465, CERT, KEY, "--implicit")
            cls.ns.serve(2525, CERT, KEY)
            cls.ns.serve(587, CERT, KEY, "--silent")
        except Exception:
            cls.ns.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.ns.stop()

    def test_default_ports(self):
        import time
        t0 = time.monotonic()
        code, out = self.ns.run(
            mwtest.command(mwtest.MAILWIRE, "probe", "127.0.0.1", "--json",
                           "--greeting-timeout", "%ds" % T, "--tls-ca-file",
                           CA, "--tls-server-name", "localhost"))
        secs = time.monotonic() - t0
        doc = json.loads(out)
        r = rows(doc)
        self.assertEqual(r[(465, "implicit")]["outcome"], "works", doc)
        self.assertEqual(r[(2525, "starttls")]["outcome"], "works")
        self.assertEqual(r[(587, "plain")]["outcome"], "silent")
        self.assertEqual(r[(25, "implicit")]["outcome"], "timeout")
        self.assertIn("filtered", r[(25, "plain")]["detail"])
        self.assertEqual(r[(465, "implicit")]["rank"], 1)
        self.assertEqual(doc["recommended"]["send_flags"].split()[:4],
                         ["--server", "127.0.0.1:465", "--tls", "implicit"])
        self.assertEqual(code, 0)
        # Filtered, silent: all overlapped.  One after the other they
        # would take at least three greeting timeouts; the bound leaves
        # room for the probe's own busy time (TLS set-up under valgrind),
        # which extends the waiting connections' deadlines (probe_loop.c).
        self.assertLess(secs, 2 * T)


if __name__ == "__main__":
    unittest.main()

"""mailwire probe --incoming: IMAP and POP3 ports and TLS modes.

Against the rig's real Dovecot each incoming port (IMAP STARTTLS, IMAPS,
POP3 STLS, POP3S) comes out as what it is, and the recommendation is
implicit TLS (RFC 8314).  Against the misbehaving fake servers each
scenario is named by its own outcome (table-driven).  RFC 6186 SRV
discovery against a private dnsmasq: SRV targets probed on their SRV port
in priority order, a "." target read as "not offered", the certificate
checked against the SRV target's own name."""

import os
import shutil
import socket
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import dnsrig  # noqa: E402
import fakeimap  # noqa: E402
import fakemail  # noqa: E402
import fakepop3  # noqa: E402
import mwtest  # noqa: E402
import rigutil  # noqa: E402

CERT_DIR = CA = CERT = KEY = None
T = int(2 * mwtest.TIME_SCALE)


def setUpModule():
    global CERT_DIR, CA, CERT, KEY
    CERT_DIR, (CA, CERT, KEY) = fakemail.temp_certs()


def tearDownModule():
    shutil.rmtree(CERT_DIR, ignore_errors=True)


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def probe(target, *extra, ca=True, timeout=None):
    """ca: True for the fake servers' CA, a path, or None for none."""
    args = ["probe", target, "--greeting-timeout", "%ds" % (timeout or T)]
    if ca is True:
        ca = CA
    if ca:
        args += ["--tls-ca-file", ca]
    return mwtest.run_json(args + list(extra))


def rows(doc):
    """{(protocol, port, mode): row}"""
    return {(r["protocol"], r["port"], r["mode"]): r for r in doc["results"]}


class Rig(unittest.TestCase):
    """Every incoming port of the real Dovecot, as what it is."""

    @classmethod
    def setUpClass(cls):
        path = os.environ.get("MW_RIG_ENV")
        if not path or not os.path.exists(path):
            raise unittest.SkipTest("no rig (run through ctest)")
        cls.env = rigutil.load_env(path)

    def test_every_incoming_rig_port(self):
        e = self.env
        port = {n: int(e["RIG_%s_PORT" % n])
                for n in ("IMAP", "IMAPS", "POP3", "POP3S")}
        code, doc, err, secs = probe(
            "127.0.0.1", "--incoming", "--ports",
            ",".join(str(p) for p in port.values()), "--tls-server-name",
            e["RIG_SERVER_NAME"], ca=e["RIG_CA_FILE"], timeout=T + 1)
        self.assertEqual(code, 0, doc)
        self.assertEqual(doc["protocols"], ["imap", "pop3"])
        r = rows(doc)
        imap, imaps = port["IMAP"], port["IMAPS"]
        pop3, pop3s = port["POP3"], port["POP3S"]
        # IMAP on 143-style: plaintext answers, STARTTLS upgrades
        self.assertEqual(r[("imap", imap, "implicit")]["outcome"], "mismatch")
        self.assertEqual(r[("imap", imap, "plain")]["outcome"], "works")
        self.assertEqual(r[("imap", imap, "plain")]["rank"], 0)
        st = r[("imap", imap, "starttls")]
        self.assertEqual(st["outcome"], "works", st)
        self.assertEqual(st["cert"], "verified")
        self.assertTrue(st["tls_version"].startswith("TLS"))
        self.assertIn("IMAP4REV1", st["capabilities"])
        self.assertNotIn("STARTTLS", st["capabilities"])  # asked again
        self.assertIn("STARTTLS", r[("imap", imap, "plain")]["capabilities"])
        # IMAPS: implicit TLS, not tried in plaintext
        im = r[("imap", imaps, "implicit")]
        self.assertEqual(im["outcome"], "works")
        self.assertEqual(im["cert"], "verified")
        self.assertIn("PLAIN", im["auth"])
        self.assertIn("IDLE", im["detail"])
        self.assertEqual(r[("imap", imaps, "plain")]["outcome"], "mismatch")
        # POP3 ports spoken to as IMAP: the wrong protocol, named
        self.assertEqual(r[("imap", pop3, "plain")]["outcome"],
                         "wrong_protocol")
        self.assertIn("POP3", r[("imap", pop3, "plain")]["detail"])
        self.assertEqual(r[("imap", pop3s, "implicit")]["outcome"],
                         "wrong_protocol")
        # POP3: STLS and POP3S
        self.assertEqual(r[("pop3", pop3, "plain")]["outcome"], "works")
        self.assertIn("STLS", r[("pop3", pop3, "plain")]["capabilities"])
        ps = r[("pop3", pop3, "starttls")]
        self.assertEqual(ps["outcome"], "works", ps)
        self.assertEqual(ps["cert"], "verified")
        self.assertIn("UIDL", ps["capabilities"])
        p3 = r[("pop3", pop3s, "implicit")]
        self.assertEqual(p3["outcome"], "works")
        self.assertIn("USER", p3["capabilities"])
        self.assertEqual(r[("pop3", imaps, "implicit")]["outcome"],
                         "wrong_protocol")
        # ranking: implicit TLS first, then STARTTLS / STLS
        self.assertEqual(im["rank"], 1)
        self.assertEqual(st["rank"], 2)
        self.assertEqual(p3["rank"], 1)
        self.assertEqual(ps["rank"], 2)
        rec = doc["recommended"]
        self.assertEqual(rec["imap"]["port"], imaps)
        self.assertEqual(rec["imap"]["mode"], "implicit")
        self.assertIn("--server imaps://127.0.0.1:%d" % imaps,
                      rec["imap"]["fetch_flags"])
        self.assertIn("protocol imap\n", rec["imap"]["profile"])
        self.assertIn("port %d\n" % imaps, rec["imap"]["profile"])
        self.assertIn("tls_starttls off\n", rec["imap"]["profile"])
        self.assertEqual(rec["pop3"]["port"], pop3s)
        self.assertIn("--server pop3s://127.0.0.1:%d" % pop3s,
                      rec["pop3"]["fetch_flags"])
        self.assertLess(secs, mwtest.bound(8))

    def test_recommended_profile_and_flags_work(self):
        """The printed profile block and fetch flags are accepted by the
        incoming commands and reach the server they name."""
        e = self.env
        imaps = int(e["RIG_IMAPS_PORT"])
        code, doc, _, _ = probe(
            "127.0.0.1", "--protocol", "imap", "--ports", str(imaps),
            "--tls-server-name", e["RIG_SERVER_NAME"], ca=e["RIG_CA_FILE"])
        self.assertEqual(code, 0, doc)
        self.assertEqual(doc["protocols"], ["imap"])
        self.assertTrue(all(r["protocol"] == "imap" for r in doc["results"]))
        rec = doc["recommended"]["imap"]
        d = tempfile.mkdtemp(prefix="mw-probe-in-")
        try:
            conf = os.path.join(d, "config")
            with open(conf, "w") as f:
                f.write(rec["profile"])
                f.write("user %s\n" % e["RIG_USER1"])
            os.chmod(conf, 0o600)
            account = rec["profile"].split("\n")[0].split(" ", 1)[1]
            code, out, err, _ = mwtest.run(
                ["doctor", "--config", conf, "--account", account,
                 "--password-env", "PW", "--json"],
                env={"PW": e["RIG_PASS1"]})
            self.assertEqual(code, 0, out + err)
            self.assertIn('"protocol":"imap"', out.replace(" ", ""))
            flags = rec["fetch_flags"].split()
            code, out, err, _ = mwtest.run(
                ["folders"] + flags + ["--user", e["RIG_USER1"],
                                       "--password-env", "PW"],
                env={"PW": e["RIG_PASS1"]})
            self.assertEqual(code, 0, out + err)
            self.assertIn("INBOX", out)
        finally:
            shutil.rmtree(d, ignore_errors=True)


    def test_through_a_proxy(self):
        """Each dialogue goes through the proxy as a session would; the
        proxy's password is never printed."""
        import proxyrig
        e = self.env
        imaps, pop3 = int(e["RIG_IMAPS_PORT"]), int(e["RIG_POP3_PORT"])
        try:
            dante = proxyrig.Dante()
            tiny = proxyrig.TinyProxy([imaps, pop3], "proxyuser", "proxy-pw")
        except Exception as ex:  # not installed here
            raise unittest.SkipTest("no proxies: %s" % ex)
        with dante, tiny:
            for url in ("socks5://127.0.0.1:%d" % dante.port,
                        "http://proxyuser:proxy-pw@127.0.0.1:%d" % tiny.port):
                with self.subTest(url):
                    code, doc, err, _ = probe(
                        "127.0.0.1", "--incoming", "--ports",
                        "%d,%d" % (imaps, pop3), "--proxy", url,
                        "--tls-server-name", e["RIG_SERVER_NAME"],
                        ca=e["RIG_CA_FILE"], timeout=int(mwtest.bound(3)))
                    self.assertEqual(code, 0, doc)
                    r = rows(doc)
                    self.assertEqual(r[("imap", imaps, "implicit")]["outcome"],
                                     "works", doc)
                    self.assertTrue(r[("imap", imaps, "implicit")]["address"]
                                    .startswith("via proxy 127.0.0.1:"))
                    self.assertEqual(r[("pop3", pop3, "starttls")]["outcome"],
                                     "works", doc)
                    self.assertEqual(doc["recommended"]["pop3"]["mode"],
                                     "starttls")
                    self.assertIn("--proxy", doc["recommended"]["imap"]
                                  ["fetch_flags"])
                    self.assertNotIn("proxy-pw", str(doc) + err)


IMAP, POP3 = fakeimap.FakeIMAP, fakepop3.FakePOP3

# (name, server, settings, protocol, {mode: outcome}, detail has)
SCENARIOS = [
    ("IMAP healthy (STARTTLS)", IMAP, {}, "imap",
     {"implicit": "mismatch", "plain": "works", "starttls": "works"}, None),
    ("IMAP implicit TLS", IMAP, {"implicit_tls": True}, "imap",
     {"implicit": "works", "plain": "mismatch", "starttls": "mismatch"},
     None),
    ("an SMTP banner on an IMAP port", IMAP, {"greeting": "smtp"}, "imap",
     {"plain": "wrong_protocol", "starttls": "wrong_protocol"}, "SMTP"),
    ("a POP3 +OK where IMAP was expected", IMAP, {"greeting": "pop3"},
     "imap", {"plain": "wrong_protocol"}, "POP3"),
    ("an IMAP greeting where POP3 was expected", POP3, {"greeting": "imap"},
     "pop3", {"plain": "wrong_protocol"}, "IMAP"),
    ("an SMTP banner on a POP3 port", POP3, {"greeting": "smtp"}, "pop3",
     {"plain": "wrong_protocol"}, "SMTP"),
    ("IMAP BYE greeting", IMAP, {"greeting": "bye"}, "imap",
     {"plain": "rejected", "starttls": "rejected"}, None),
    ("POP3 -ERR greeting", POP3, {"greeting": "err"}, "pop3",
     {"plain": "rejected"}, "SYS/TEMP"),
    ("no STARTTLS", IMAP, {"starttls": False}, "imap",
     {"plain": "works", "starttls": "no_starttls"}, None),
    ("no STLS", POP3, {"stls": False}, "pop3",
     {"plain": "works", "starttls": "no_starttls"}, None),
    ("STARTTLS response injection", IMAP,
     {"inject_after_starttls": b"* OK injected\r\n"}, "imap",
     {"plain": "works", "starttls": "protocol"}, "injected"),
    ("STLS response injection", POP3,
     {"inject_after_stls": b"+OK injected\r\n"}, "pop3",
     {"plain": "works", "starttls": "protocol"}, "injected"),
    ("PREAUTH where TLS was to start", IMAP, {"greeting": "preauth"},
     "imap", {"plain": "works", "starttls": "preauth"}, "PREAUTH"),
    ("LOGINDISABLED before TLS", IMAP, {"logindisabled": True}, "imap",
     {"plain": "works", "starttls": "works"}, None),
    ("silent server", IMAP, {"silent": True}, "imap",
     {"implicit": "silent", "plain": "silent"}, None),
    ("silent POP3 server", POP3, {"silent": True}, "pop3",
     {"implicit": "silent", "plain": "silent"}, None),
    ("hang-up before the greeting", POP3, {"hangup_at": "greeting"}, "pop3",
     {"plain": "closed"}, None),
]


class Scenarios(unittest.TestCase):
    def test_table(self):
        for name, server, settings, proto, want, detail_has in SCENARIOS:
            with self.subTest(name):
                with server(cert=CERT, key=KEY, **settings) as f:
                    code, doc, err, secs = probe(
                        "127.0.0.1", "--protocol", proto, "--ports",
                        str(f.port))
                r = {x["mode"]: x for x in doc["results"]}
                self.assertEqual(len(r), 3, doc)
                for mode, outcome in want.items():
                    self.assertEqual(r[mode]["outcome"], outcome,
                                     "%s: %s\n%s" % (mode, r[mode], err))
                if detail_has:
                    self.assertTrue(
                        any(detail_has in x["detail"] for x in r.values()),
                        doc)
                works = [x for x in r.values() if x["outcome"] == "works"
                         and x["mode"] != "plain"]
                self.assertEqual(code, 0 if works else
                                 78 if r["plain"]["outcome"] == "works"
                                 else 69, doc)
                # each attempt within the greeting timeout, and a silent
                # port waited for once
                self.assertLess(secs, T + mwtest.bound(2), doc)

    def test_logindisabled_is_shown_before_tls_only(self):
        with IMAP(cert=CERT, key=KEY, logindisabled=True) as f:
            code, doc, _, _ = probe("127.0.0.1", "--protocol", "imap",
                                    "--ports", str(f.port))
        r = {x["mode"]: x for x in doc["results"]}
        self.assertIn("LOGINDISABLED", r["plain"]["capabilities"])
        self.assertIn("LOGINDISABLED", r["plain"]["detail"])
        self.assertNotIn("LOGINDISABLED", r["starttls"]["capabilities"])
        self.assertEqual(r["starttls"]["rank"], 1)
        self.assertEqual(code, 0)

    def test_untrusted_certificate_is_ranked_with_the_fix_first(self):
        with IMAP(cert=CERT, key=KEY, implicit_tls=True) as f:
            code, doc, _, _ = probe("127.0.0.1", "--protocol", "imap",
                                    "--ports", str(f.port), ca=None)
        self.assertEqual(code, 78, doc)
        r = {x["mode"]: x for x in doc["results"]}
        self.assertEqual(r["implicit"]["outcome"], "works")
        self.assertNotEqual(r["implicit"]["cert"], "verified")
        self.assertTrue(doc["recommended"]["imap"]["fix_first"])

    def test_nothing_answers(self):
        code, doc, _, _ = probe("127.0.0.1", "--incoming", "--ports",
                                str(closed_port()))
        self.assertEqual(code, 69, doc)
        self.assertTrue(all(r["outcome"] == "refused"
                            for r in doc["results"]), doc)
        self.assertEqual(doc["recommended"], {"imap": None, "pop3": None})

    def test_human_output_has_sections(self):
        with IMAP(cert=CERT, key=KEY, implicit_tls=True) as i, \
                POP3(cert=CERT, key=KEY, implicit_tls=True) as p:
            code, out, err, _ = mwtest.run(
                ["probe", "127.0.0.1", "--incoming", "--ports",
                 "%d,%d" % (i.port, p.port), "--tls-ca-file", CA,
                 "--greeting-timeout", "%ds" % T])
        self.assertEqual(code, 0, out + err)
        self.assertIn("\nIMAP\n", out)
        self.assertIn("\nPOP3\n", out)
        self.assertIn("fetch flags: --server imaps://127.0.0.1:%d" % i.port,
                      out)
        self.assertIn("fetch flags: --server pop3s://127.0.0.1:%d" % p.port,
                      out)
        self.assertIn("  protocol pop3\n", out)

    def test_smtp_output_is_unchanged_without_incoming(self):
        code, doc, _, _ = probe("127.0.0.1", "--ports", str(closed_port()))
        self.assertNotIn("protocols", doc)
        self.assertNotIn("protocol", doc["results"][0])
        self.assertIsInstance(doc["recommended"], (dict, type(None)))

    def test_url_target_names_protocol_and_port(self):
        with POP3(cert=CERT, key=KEY, implicit_tls=True) as f:
            code, doc, _, _ = probe("pop3s://bob@127.0.0.1:%d" % f.port,
                                    "--ports", str(closed_port()))
        self.assertEqual(doc["protocols"], ["pop3"], doc)
        self.assertEqual(doc["results"][0]["port"], f.port)
        self.assertEqual(doc["results"][0]["outcome"], "works")
        self.assertEqual(doc["recommended"]["pop3"]["port"], f.port)
        self.assertEqual(code, 0)

    def test_usage_errors(self):
        code, doc, _, _ = mwtest.run_json(
            ["probe", "127.0.0.1", "--incoming", "--protocol", "smtp"])
        self.assertEqual(code, 64, doc)
        code, doc, _, _ = mwtest.run_json(
            ["probe", "127.0.0.1", "--protocol", "nntp"])
        self.assertEqual(code, 64, doc)
        for url, extra in (("ftp://127.0.0.1", ()), ("imaps://", ()),
                           ("imaps://127.0.0.1:1", ("--protocol", "pop3"))):
            code, doc, _, _ = mwtest.run_json(["probe", url] + list(extra))
            self.assertEqual(code, 64, (url, doc))


class Discovery(unittest.TestCase):
    """RFC 6186 SRV records from a private dnsmasq."""

    def test_srv_targets_in_priority_order_on_their_ports(self):
        dead = closed_port()
        with IMAP(cert=CERT, key=KEY, implicit_tls=True) as imaps, \
                IMAP(cert=CERT, key=KEY) as imap, \
                POP3(cert=CERT, key=KEY, implicit_tls=True) as pop3s:
            records = [
                "host-record=localhost.example.test,127.0.0.1",
                "host-record=other.example.test,127.0.0.1",
                "host-record=backup.example.test,127.0.0.1",
                # priority 10 (used second) and 0 (first)
                "srv-host=_imaps._tcp.example.test,backup.example.test,"
                "%d,10,1" % dead,
                "srv-host=_imaps._tcp.example.test,localhost.example.test,"
                "%d,0,1" % imaps.port,
                "srv-host=_imap._tcp.example.test,other.example.test,%d,0,1"
                % imap.port,
                "srv-host=_pop3s._tcp.example.test,localhost.example.test,"
                "%d,0,1" % pop3s.port,
                # RFC 6186 section 3.4: "." = not offered
                "srv-host=_pop3._tcp.example.test"]
            with dnsrig.DnsRig(records) as d:
                code, doc, err, _ = probe(
                    "alice@example.test", "--incoming", "--dns-server",
                    d.server, "--ports", str(dead), "--tls-server-name",
                    "localhost")
        hosts = [(h["name"], h["source"]) for h in doc["hosts"]]
        self.assertEqual(hosts[0], ("localhost.example.test",
                                    "srv _imaps._tcp"), doc)
        self.assertEqual(hosts[1], ("backup.example.test",
                                    "srv _imaps._tcp"))
        self.assertIn(("other.example.test", "srv _imap._tcp"), hosts)
        self.assertIn(("example.test", "domain"), hosts)
        self.assertIn("_pop3._tcp.example.test says the service is not "
                      "offered", doc["dns_note"])
        r = {(x["protocol"], x["host"], x["port"], x["mode"]): x
             for x in doc["results"]}
        self.assertEqual(r[("imap", "localhost.example.test", imaps.port,
                            "implicit")]["outcome"], "works")
        self.assertEqual(r[("imap", "other.example.test", imap.port,
                            "starttls")]["outcome"], "works")
        self.assertEqual(r[("imap", "backup.example.test", dead,
                            "implicit")]["outcome"], "refused")
        self.assertEqual(r[("pop3", "localhost.example.test", pop3s.port,
                            "implicit")]["outcome"], "works")
        # the SRV results come first, in priority order
        first = doc["results"][0]
        self.assertEqual((first["host"], first["port"]),
                         ("localhost.example.test", imaps.port))
        self.assertEqual(doc["recommended"]["imap"]["host"],
                         "localhost.example.test")
        self.assertEqual(doc["recommended"]["imap"]["port"], imaps.port)
        self.assertEqual(doc["recommended"]["pop3"]["port"], pop3s.port)
        self.assertEqual(code, 0, doc)

    def test_certificate_is_checked_against_the_srv_target(self):
        """An SRV target is a name from DNS: its certificate must name the
        target itself, not the user's domain."""
        with IMAP(cert=CERT, key=KEY, implicit_tls=True) as imaps:
            records = [
                "host-record=imap.elsewhere.test,127.0.0.1",
                "srv-host=_imaps._tcp.example.test,imap.elsewhere.test,"
                "%d,0,1" % imaps.port]
            with dnsrig.DnsRig(records,
                               zones=("example.test", "elsewhere.test")) as d:
                code, doc, _, _ = probe(
                    "example.test", "--protocol", "imap", "--dns-server",
                    d.server, "--ports", str(closed_port()))
        r = [x for x in doc["results"] if x["host"] == "imap.elsewhere.test"
             and x["mode"] == "implicit"][0]
        self.assertEqual(r["outcome"], "works")
        self.assertEqual(r["cert"], "hostname", doc)
        self.assertEqual(code, 78, doc)
        self.assertTrue(doc["recommended"]["imap"]["fix_first"])

    def test_dot_target_means_no_guessed_names(self):
        records = ["host-record=mail.example.test,127.0.0.1",
                   "host-record=pop.example.test,127.0.0.1",
                   "srv-host=_pop3s._tcp.example.test",
                   "srv-host=_pop3._tcp.example.test"]
        with dnsrig.DnsRig(records) as d:
            code, doc, _, _ = probe(
                "bob@example.test", "--protocol", "pop3", "--dns-server",
                d.server, "--ports", str(closed_port()))
        names = [h["name"] for h in doc["hosts"]]
        self.assertNotIn("pop.example.test", names, doc)
        self.assertNotIn("mail.example.test", names, doc)
        self.assertIn("_pop3s._tcp.example.test says the service is not "
                      "offered", doc["dns_note"])
        self.assertEqual(code, 68, doc)

    def test_usual_names_are_probed_and_guesses_without_address_dropped(
            self):
        with POP3(cert=CERT, key=KEY, implicit_tls=True) as f:
            records = ["host-record=pop.example.test,127.0.0.1"]
            with dnsrig.DnsRig(records) as d:
                code, doc, _, _ = probe(
                    "example.test", "--protocol", "pop3", "--dns-server",
                    d.server, "--ports", str(f.port), "--tls-server-name",
                    "localhost")
        hosts = {h["name"]: h["source"] for h in doc["hosts"]}
        self.assertEqual(hosts["pop.example.test"], "usual name")
        self.assertEqual(hosts["mail.example.test"],
                         "usual name, no address")
        self.assertFalse([x for x in doc["results"]
                          if x["host"] == "mail.example.test"])
        self.assertEqual(doc["recommended"]["pop3"]["host"],
                         "pop.example.test")
        self.assertEqual(code, 0, doc)


if __name__ == "__main__":
    unittest.main()

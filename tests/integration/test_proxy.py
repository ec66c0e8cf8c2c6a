"""mailwire send through real proxies on loopback: Dante for SOCKS4 and
SOCKS5 (client- and proxy-side name resolution), tinyproxy for HTTP
CONNECT with Basic authentication, to the real Postfix rig; SOCKS5 with
user/password (RFC 1929) through a Dante whose users exist only in its own
mount namespace (proxyrig.py); SOCKS4a (which Dante refuses) and a second
SOCKS5 implementation through OpenSSH's dynamic forwarding (ssh -D into a
private sshd); and every proxy failure named with its own error
(MW_E_PROXY, category proxy)."""

import json
import os
import pwd
import socket
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
import mwtest  # noqa: E402
import proxyrig  # noqa: E402
import rigutil  # noqa: E402

ENV = None


def setUpModule():
    global ENV
    path = os.environ.get("MW_RIG_ENV")
    if not path or not os.path.exists(path):
        raise unittest.SkipTest("no rig (run through ctest)")
    ENV = rigutil.load_env(path)


def send(proxy, *extra, port_name="SUBMISSION", host="127.0.0.1"):
    return mwtest.run_json(
        ["send", "--server", "%s:%s" % (host, ENV["RIG_%s_PORT" % port_name]),
         "--tls-ca-file", ENV["RIG_CA_FILE"], "--tls-server-name",
         "mail.example.test", "--user", ENV["RIG_USER1"], "--password-env",
         "PW", "--from", ENV["RIG_USER1"], "--to", ENV["RIG_USER2"],
         "--subject", "via " + proxy.split(":")[0], "--body", "tunnelled",
         "--proxy", proxy] + list(extra), env={"PW": ENV["RIG_PASS1"]})


class Delivery(unittest.TestCase):
    def setUp(self):
        rigutil.clear_mailbox(ENV, "bob")

    def test_every_proxy_kind_delivers(self):
        sub = int(ENV["RIG_SUBMISSION_PORT"])
        with proxyrig.Dante() as dante, \
                proxyrig.TinyProxy([sub], "proxyuser", "proxy-pw") as tiny:
            urls = ["socks5://127.0.0.1:%d" % dante.port,
                    "socks5h://127.0.0.1:%d" % dante.port,
                    "socks4://127.0.0.1:%d" % dante.port,
                    "http://proxyuser:proxy-pw@127.0.0.1:%d" % tiny.port]
            for url in urls:
                with self.subTest(url):
                    code, doc, err, _ = send(url, "--trace")
                    self.assertEqual(code, 0, err)
                    self.assertIn("proxy tunnel to 127.0.0.1", err)
                    self.assertNotIn("proxy-pw", err + str(doc))
            # socks5h and http: the proxy resolves the server's name.
            for url in urls[1:2]:
                code, doc, err, _ = send(url, host="localhost")
                self.assertEqual(code, 0, err)
        msgs = rigutil.wait_for_mail(ENV, "bob", count=5)
        self.assertEqual(len(msgs), 5)


class Probe(unittest.TestCase):
    """mailwire probe through each proxy kind finds the rig's modes."""

    def test_probe_through_each_proxy(self):
        sub = int(ENV["RIG_SUBMISSION_PORT"])
        smtps = int(ENV["RIG_SMTPS_PORT"])
        with proxyrig.Dante() as dante, \
                proxyrig.TinyProxy([sub, smtps], "proxyuser",
                                   "proxy-pw") as tiny:
            for url in ("socks5://127.0.0.1:%d" % dante.port,
                        "socks4://127.0.0.1:%d" % dante.port,
                        "http://proxyuser:proxy-pw@127.0.0.1:%d" % tiny.port):
                with self.subTest(url):
                    code, doc, err, _ = mwtest.run_json(
                        ["probe", "127.0.0.1", "--ports",
                         "%d,%d" % (sub, smtps), "--proxy", url,
                         # stretched under valgrind: a TLS handshake
                         # and a thread per connection are slow there
                         "--greeting-timeout",
                         "%ds" % int(mwtest.bound(3)), "--tls-ca-file",
                         ENV["RIG_CA_FILE"], "--tls-server-name",
                         "mail.example.test"])
                    self.assertEqual(code, 0, doc)
                    rows = {(r["port"], r["mode"]): r for r in doc["results"]}
                    self.assertEqual(rows[(sub, "starttls")]["outcome"],
                                     "works", doc)
                    self.assertEqual(rows[(smtps, "implicit")]["outcome"],
                                     "works")
                    self.assertEqual(rows[(sub, "implicit")]["outcome"],
                                     "mismatch")
                    self.assertEqual(doc["recommended"]["port"], smtps)
                    self.assertNotIn("proxy-pw", json.dumps(doc) + err)

    def test_probe_through_a_proxy_is_parallel_too(self):
        """Through SOCKS5, hanging servers still cost one greeting timeout
        in all: each connection's proxy handshake runs in the probe's one
        event loop."""
        import fakesmtp
        cert_dir, (ca, cert, key) = fakesmtp.temp_certs()
        t = int(mwtest.bound(2))
        try:
            with proxyrig.Dante() as dante, \
                    fakesmtp.FakeSMTP(cert=cert, key=key, silent=True) as s1, \
                    fakesmtp.FakeSMTP(cert=cert, key=key, silent=True) as s2, \
                    fakesmtp.FakeSMTP(cert=cert, key=key, implicit_tls=True,
                                      starttls=False) as imp:
                code, doc, err, secs = mwtest.run_json(
                    ["probe", "127.0.0.1", "--ports",
                     "%d,%d,%d" % (s1.port, s2.port, imp.port), "--proxy",
                     "socks5://127.0.0.1:%d" % dante.port,
                     "--greeting-timeout", "%ds" % t, "--tls-ca-file", ca,
                     "--tls-server-name", "localhost"])
        finally:
            import shutil
            shutil.rmtree(cert_dir, ignore_errors=True)
        rows = {(r["port"], r["mode"]): r for r in doc["results"]}
        self.assertEqual(code, 0, doc)
        for port in (s1.port, s2.port):
            self.assertEqual(rows[(port, "plain")]["outcome"], "silent", doc)
            self.assertEqual(rows[(port, "implicit")]["outcome"], "silent")
        self.assertEqual(rows[(imp.port, "implicit")]["outcome"], "works")
        self.assertTrue(rows[(imp.port, "implicit")]["address"]
                        .startswith("via proxy 127.0.0.1:"))
        self.assertLess(secs, t + mwtest.bound(1))

    def test_probe_proxy_refusals_are_named(self):
        why = proxyrig.userauth_unavailable()
        if why:
            self.skipTest(why)
        sub = int(ENV["RIG_SUBMISSION_PORT"])
        with proxyrig.Dante(users={SOCKS_USER: SOCKS_PASS}) as dante:
            code, doc, err, _ = mwtest.run_json(
                ["probe", "127.0.0.1", "--ports", str(sub), "--proxy",
                 "socks5://%s:%s@127.0.0.1:%d" % (SOCKS_USER, SOCKS_WRONG,
                                                  dante.port),
                 "--greeting-timeout", "%ds" % int(mwtest.bound(2))])
        self.assertEqual(code, 69, doc)
        for r in doc["results"]:
            self.assertEqual(r["outcome"], "proxy", doc)
            self.assertIn("authentication failed", r["detail"])
        self.assertNotIn(SOCKS_WRONG, json.dumps(doc) + err)

    def test_probe_proxy_unreachable(self):
        code, doc, err, _ = mwtest.run_json(
            ["probe", "127.0.0.1", "--ports", "587", "--proxy",
             "socks5://127.0.0.1:%d" % proxyrig.free_port(),
             "--greeting-timeout", "2s"])
        self.assertEqual(code, 69, doc)
        self.assertTrue(all(r["outcome"] == "proxy" for r in doc["results"]))
        self.assertIn("proxy", doc["results"][0]["detail"])


# Dante's users (RFC 1929), known only inside its mount namespace.  The
# second password needs percent-encoding in a URL.
SOCKS_USER, SOCKS_PASS = "mw-socks-user", "dante-pw-4u7q"
SOCKS_USER2, SOCKS_PASS2 = "mw-socks-enc", "S5:p@ss w0rd%/x"
SOCKS_WRONG = "not-the-dante-pw"
SECRETS = (SOCKS_PASS, SOCKS_PASS2, urllib.parse.quote(SOCKS_PASS2, safe=""),
           SOCKS_WRONG)


class Socks5UserPassword(unittest.TestCase):
    """socks5:// and socks5h:// with user:password in the URL against a
    real Dante requiring the username method: delivery, a refused
    password named as such (send and doctor), and no password in any
    output."""

    @classmethod
    def setUpClass(cls):
        why = proxyrig.userauth_unavailable()
        if why:
            raise unittest.SkipTest(why)
        cls.dante = proxyrig.Dante(users={SOCKS_USER: SOCKS_PASS,
                                          SOCKS_USER2: SOCKS_PASS2})
        cls.dante.__enter__()
        cls.addClassCleanup(cls.dante.stop)

    def url(self, scheme="socks5", user=SOCKS_USER, password=SOCKS_PASS):
        cred = ""
        if user:
            cred = urllib.parse.quote(user, safe="")
            if password is not None:
                cred += ":" + urllib.parse.quote(password, safe="")
            cred += "@"
        return "%s://%s127.0.0.1:%d" % (scheme, cred, self.dante.port)

    def assertNoSecret(self, *outputs):
        text = "".join(o if isinstance(o, str) else json.dumps(o)
                       for o in outputs)
        for secret in SECRETS:
            self.assertNotIn(secret, text)

    def doctor(self, proxy, *extra):
        return mwtest.run_json(
            ["doctor", "127.0.0.1:%s" % ENV["RIG_SUBMISSION_PORT"],
             "--tls-ca-file", ENV["RIG_CA_FILE"], "--proxy", proxy] +
            list(extra))

    def test_users_exist_only_in_the_proxys_namespace(self):
        for user in (SOCKS_USER, SOCKS_USER2):
            with self.assertRaises(KeyError):
                pwd.getpwnam(user)
            with open("/etc/shadow") as f:
                self.assertNotIn("\n%s:" % user, "\n" + f.read())

    def delivers(self, url, user, host="127.0.0.1"):
        rigutil.clear_mailbox(ENV, "bob")
        before = len(self.dante.connections_by(user))
        code, doc, err, _ = send(url, "--trace", host=host)
        self.assertEqual(code, 0, err)
        self.assertIn("proxy tunnel to %s" % host, err)
        self.assertNoSecret(err, doc)
        msgs = rigutil.wait_for_mail(ENV, "bob", count=1)
        self.assertEqual(len(msgs), 1)
        self.assertIn(b"Subject: via " + url.split(":")[0].encode() +
                      b"\n", msgs[0])
        self.assertIn(b"tunnelled", msgs[0])
        # Dante logged the connection as authenticated by this user.
        self.assertEqual(len(self.dante.connections_by(user)), before + 1,
                         proxyrig._tail(self.dante.log))

    def test_socks5_user_password_delivers(self):
        self.delivers(self.url("socks5"), SOCKS_USER)

    def test_socks5h_user_password_delivers(self):
        # The proxy resolves the name; the password needs percent-encoding.
        self.delivers(self.url("socks5h", SOCKS_USER2, SOCKS_PASS2),
                      SOCKS_USER2, host="localhost")

    def test_send_refused_credentials_are_named(self):
        cases = [
            (self.url("socks5", SOCKS_USER, SOCKS_WRONG),
             "user '%s' refused" % SOCKS_USER),
            (self.url("socks5h", SOCKS_USER2, SOCKS_PASS),
             "user '%s' refused" % SOCKS_USER2),
            (self.url("socks5", "mw-no-such-user", SOCKS_WRONG),
             "user 'mw-no-such-user' refused"),
            (self.url("socks5", SOCKS_USER, None),
             "user '%s' refused" % SOCKS_USER),
            (self.url("socks5", None),
             "accepts none of the offered methods"),
        ]
        def passed():
            return (len(self.dante.connections_by(SOCKS_USER)) +
                    len(self.dante.connections_by(SOCKS_USER2)))
        before = passed()
        for url, why in cases:
            with self.subTest(why):
                for extra in ((), ("--trace",)):
                    code, doc, err, _ = send(url, *extra)
                    self.assertEqual(code, 69, err)
                    self.assertEqual(doc["error"]["status"], "MW_E_PROXY")
                    self.assertEqual(doc["error"]["category"], "proxy")
                    msg = doc["error"]["message"]
                    self.assertIn("SOCKS5 proxy authentication failed", msg)
                    self.assertIn(why, msg)
                    self.assertNoSecret(err, doc)
        # Dante let none of them through.
        self.assertEqual(passed(), before)

    def test_doctor_names_a_wrong_password(self):
        for extra in ((), ("--trace",)):
            code, doc, err, _ = self.doctor(
                self.url("socks5", SOCKS_USER, SOCKS_WRONG), *extra)
            self.assertEqual(doc["diagnosis"]["id"], "proxy_auth_failed",
                             doc)
            self.assertEqual(code, 21)
            self.assertEqual(doc["diagnosis"]["exit_code"], 21)
            proxy = [c for c in doc["checks"] if c["layer"] == "proxy"]
            self.assertEqual(len(proxy), 1, doc)
            self.assertEqual(proxy[0]["status"], "fail")
            self.assertIn("SOCKS5 proxy authentication failed: user '%s' "
                          "refused" % SOCKS_USER, proxy[0]["evidence"])
            self.assertNoSecret(err, doc)
        # No credentials at all: the same cause.
        code, doc, err, _ = self.doctor(self.url("socks5", None))
        self.assertEqual(doc["diagnosis"]["id"], "proxy_auth_failed", doc)
        self.assertEqual(code, 21)

    def test_doctor_healthy_with_the_right_password(self):
        for url in (self.url("socks5"),
                    self.url("socks5h", SOCKS_USER2, SOCKS_PASS2)):
            with self.subTest(url.split(":")[0]):
                code, doc, err, _ = self.doctor(url, "--trace")
                self.assertEqual(doc["diagnosis"]["id"], "healthy", doc)
                self.assertEqual(code, 0)
                self.assertNoSecret(err, doc)


class OpenSshDynamicForwarding(unittest.TestCase):
    """OpenSSH's ssh -D as the proxy (proxyrig.OpenSsh): SOCKS4a, where
    the proxy resolves the server's name (Dante 1.4.2 refuses SOCKS4a
    requests, so this is the only real SOCKS4a server here), and SOCKS5
    from a second real implementation.  sshd's log shows what it was asked
    for: the name itself with socks4a:// and socks5h://.

    A target ssh -D cannot reach gets no SOCKS failure reply (no SOCKS4
    91, no SOCKS5 error code): OpenSSH replies only once sshd has opened
    the channel and otherwise closes the connection; mailwire names the
    target in that message and doctor reads it as proxy_refused_target."""

    UNRESOLVABLE = "nosuch.invalid"

    @classmethod
    def setUpClass(cls):
        why = proxyrig.openssh_unavailable()
        if why:
            raise unittest.SkipTest(why)
        # nosuch.invalid is permitted so that sshd tries to resolve it.
        cls.ssh = proxyrig.OpenSsh(permit_open=(
            "localhost:*", "127.0.0.1:*", "%s:*" % cls.UNRESOLVABLE))
        cls.ssh.__enter__()
        cls.addClassCleanup(cls.ssh.stop)

    def url(self, scheme):
        return "%s://127.0.0.1:%d" % (scheme, self.ssh.port)

    def sshd_asked_for(self, host, port):
        """sshd's log names host:port as a target it was asked for."""
        return self.ssh.wait_for_log(
            "sshd", "target %s port %d" % (host, port))

    def doctor(self, server, proxy, *extra):
        return mwtest.run_json(
            ["doctor", server, "--tls-ca-file", ENV["RIG_CA_FILE"],
             "--proxy", proxy] + list(extra))

    def delivers(self, scheme, host):
        sub = int(ENV["RIG_SUBMISSION_PORT"])
        rigutil.clear_mailbox(ENV, "bob")
        code, doc, err, _ = send(self.url(scheme), "--trace", host=host)
        self.assertEqual(code, 0, err)
        # The only connection mailwire makes is to the proxy.
        self.assertIn("== connecting to 127.0.0.1:%d\n" % self.ssh.port,
                      err)
        self.assertIn("%s proxy 127.0.0.1:%d: connecting to %s:%d"
                      % (scheme, self.ssh.port, host, sub), err)
        self.assertIn("proxy tunnel to %s:%d open" % (host, sub), err)
        self.assertEqual(doc["status"], "sent", doc)
        msgs = rigutil.wait_for_mail(ENV, "bob", count=1)
        self.assertEqual(len(msgs), 1)
        self.assertIn(b"Subject: via " + scheme.encode() + b"\n", msgs[0])
        self.assertIn(b"tunnelled", msgs[0])
        # What sshd was asked to connect to: the name itself when the
        # proxy resolves it.
        self.assertTrue(self.sshd_asked_for(host, sub),
                        self.ssh.sshd_log()[-3000:])

    def test_socks4a_delivers_with_the_proxy_resolving(self):
        self.delivers("socks4a", "localhost")

    def test_socks5h_delivers_with_the_proxy_resolving(self):
        self.delivers("socks5h", "localhost")

    def test_socks4_and_socks5_deliver(self):
        for scheme in ("socks4", "socks5"):
            with self.subTest(scheme):
                self.delivers(scheme, "127.0.0.1")

    def test_doctor_healthy(self):
        sub = int(ENV["RIG_SUBMISSION_PORT"])
        for scheme in ("socks4a", "socks5h"):
            with self.subTest(scheme):
                code, doc, err, _ = self.doctor("localhost:%d" % sub,
                                                self.url(scheme))
                self.assertEqual(doc["diagnosis"]["id"], "healthy", doc)
                self.assertEqual(code, 0)
                proxy = [c for c in doc["checks"] if c["layer"] == "proxy"]
                self.assertEqual(proxy[0]["status"], "ok", doc)
                self.assertIn("tunnel to localhost port %d open" % sub,
                              proxy[0]["evidence"])

    def test_unresolvable_name_is_a_refused_target(self):
        sub = int(ENV["RIG_SUBMISSION_PORT"])
        name = self.UNRESOLVABLE
        for scheme, proto in (("socks4a", "SOCKS4"), ("socks5h", "SOCKS5")):
            with self.subTest(scheme):
                why = ("the %s proxy closed the connection without replying "
                       "to the request to connect to %s:%d" % (proto, name,
                                                              sub))
                code, doc, err, _ = self.doctor("%s:%d" % (name, sub),
                                                self.url(scheme))
                self.assertEqual(doc["diagnosis"]["id"],
                                 "proxy_refused_target", doc)
                self.assertEqual(code, 21)
                self.assertEqual(doc["diagnosis"]["exit_code"], 21)
                proxy = [c for c in doc["checks"] if c["layer"] == "proxy"]
                self.assertEqual(len(proxy), 1, doc)
                self.assertEqual(proxy[0]["status"], "fail")
                self.assertIn(why, proxy[0]["evidence"])
                self.assertIn(why, doc["diagnosis"]["summary"])
                # send: the same error; a close is not a refusal (it may
                # be transient), so it stays temporary (EX_TEMPFAIL).
                code, doc, err, _ = send(self.url(scheme), host=name)
                self.assertEqual(code, 75, err)
                self.assertEqual(doc["error"]["status"], "MW_E_PROXY")
                self.assertEqual(doc["error"]["category"], "proxy")
                self.assertIn(why, doc["error"]["message"])
        # sshd was asked for the name, and could not resolve it; ssh
        # closed the SOCKS connections on the channel's open failure.
        self.assertTrue(self.sshd_asked_for(name, sub))
        self.assertTrue(self.ssh.wait_for_log(
            "sshd", "connect_to %s: unknown host" % name),
            self.ssh.sshd_log()[-3000:])
        self.assertTrue(self.ssh.wait_for_log(
            "ssh", "open failed: connect failed"), self.ssh.ssh_log())

    def test_target_not_permitted_is_a_refused_target(self):
        # 127.0.0.2 is outside sshd's PermitOpen: "administratively
        # prohibited", again without a SOCKS reply.
        sub = int(ENV["RIG_SUBMISSION_PORT"])
        code, doc, err, _ = self.doctor("127.0.0.2:%d" % sub,
                                        self.url("socks5"))
        self.assertEqual(doc["diagnosis"]["id"], "proxy_refused_target",
                         doc)
        self.assertEqual(code, 21)
        self.assertIn("the SOCKS5 proxy closed the connection without "
                      "replying to the request to connect to 127.0.0.2:%d"
                      % sub, doc["diagnosis"]["summary"])
        self.assertTrue(self.ssh.wait_for_log(
            "sshd", "to connect to host 127.0.0.2 port %d, but the request "
            "was denied." % sub), self.ssh.sshd_log()[-3000:])


class Failures(unittest.TestCase):
    def test_proxy_unreachable(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
        s.close()
        code, doc, err, _ = send("socks5://127.0.0.1:%d" % dead)
        self.assertEqual(code, 75)
        self.assertEqual(doc["error"]["status"], "MW_E_PROXY")
        self.assertEqual(doc["error"]["category"], "proxy")
        self.assertIn("cannot reach the socks5 proxy", doc["error"]["message"])

    def test_socks_proxy_refuses_the_target(self):
        sub = int(ENV["RIG_SUBMISSION_PORT"])
        with proxyrig.Dante(blocked_port=sub) as dante:
            code, doc, err, _ = send("socks5://127.0.0.1:%d" % dante.port)
        self.assertEqual(code, 69)
        self.assertEqual(doc["error"]["status"], "MW_E_PROXY")
        self.assertIn("reply 2, connection not allowed by ruleset",
                      doc["error"]["message"])

    def test_http_proxy_authentication_failed(self):
        sub = int(ENV["RIG_SUBMISSION_PORT"])
        with proxyrig.TinyProxy([sub], "proxyuser", "proxy-pw") as tiny:
            code, doc, err, _ = send(
                "http://proxyuser:wrong@127.0.0.1:%d" % tiny.port)
            self.assertEqual(code, 69)
            self.assertIn("proxy authentication", doc["error"]["message"])
            self.assertNotIn("wrong", doc["error"]["message"])
            code, doc, err, _ = send("http://127.0.0.1:%d" % tiny.port)
            self.assertEqual(code, 69)
            self.assertEqual(doc["error"]["status"], "MW_E_PROXY")

    def test_http_proxy_refuses_the_port(self):
        with proxyrig.TinyProxy([1]) as tiny:
            code, doc, err, _ = send("http://127.0.0.1:%d" % tiny.port)
        self.assertEqual(code, 69)
        self.assertIn("refused CONNECT", doc["error"]["message"])

    def test_bad_proxy_url_is_a_usage_error(self):
        code, out, err, _ = mwtest.run(
            ["send", "--server", "h", "--from", "a@b.c", "--to", "d@e.f",
             "--proxy", "ftp://h"])
        self.assertEqual(code, 64)
        self.assertIn("--proxy", err)


class Doctor(unittest.TestCase):
    """doctor names each proxy failure (and passes through a good one)."""

    def doctor(self, proxy, *extra):
        return mwtest.run_json(
            ["doctor", "127.0.0.1:%s" % ENV["RIG_SUBMISSION_PORT"],
             "--tls-ca-file", ENV["RIG_CA_FILE"], "--proxy", proxy] +
            list(extra))

    def test_healthy_through_each_proxy(self):
        sub = int(ENV["RIG_SUBMISSION_PORT"])
        with proxyrig.Dante() as dante, \
                proxyrig.TinyProxy([sub], "proxyuser", "proxy-pw") as tiny:
            for url in ("socks5h://127.0.0.1:%d" % dante.port,
                        "http://proxyuser:proxy-pw@127.0.0.1:%d" % tiny.port):
                code, doc, err, _ = self.doctor(url)
                self.assertEqual(doc["diagnosis"]["id"], "healthy", doc)
                self.assertEqual(code, 0)
                self.assertNotIn("proxy-pw", str(doc))

    def test_each_proxy_failure_named(self):
        sub = int(ENV["RIG_SUBMISSION_PORT"])
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
        s.close()
        with proxyrig.Dante(blocked_port=sub) as dante, \
                proxyrig.TinyProxy([sub], "proxyuser", "proxy-pw") as tiny:
            cases = [
                ("socks5://127.0.0.1:%d" % dead, "proxy_unreachable"),
                ("socks5h://127.0.0.1:%d" % dante.port,
                 "proxy_refused_target"),
                ("http://proxyuser:wrong@127.0.0.1:%d" % tiny.port,
                 "proxy_auth_failed"),
                ("http://127.0.0.1:%d" % tiny.port, "proxy_auth_failed"),
            ]
            for url, cause in cases:
                with self.subTest(url):
                    code, doc, err, _ = self.doctor(url)
                    self.assertEqual(doc["diagnosis"]["id"], cause, doc)
                    self.assertEqual(code, 21)
                    self.assertNotIn("wrong", str(doc))


if __name__ == "__main__":
    unittest.main(verbosity=2)

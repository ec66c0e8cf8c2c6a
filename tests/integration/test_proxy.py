"""mailwire send through real proxies on loopback: Dante for SOCKS4 and
SOCKS5 (client- and proxy-side name resolution), tinyproxy for HTTP
CONNECT with Basic authentication, to the real Postfix rig; and every
proxy failure named with its own error (MW_E_PROXY, category proxy)."""

import os
import socket
import sys
import unittest

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

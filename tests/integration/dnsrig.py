"""A private dnsmasq on 127.0.0.1 for the DNS side of mailwire's tests:
A/MX/TXT records of a test zone, NXDOMAIN for everything else under it.
Nothing is forwarded anywhere (--no-resolv, no upstream servers)."""

import os
import socket
import subprocess
import tempfile
import time


def free_udp_port():
    """A port free for both UDP and TCP on 127.0.0.1 (dnsmasq binds both)."""
    for _ in range(50):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()
    raise RuntimeError("no free port for dnsmasq")


class DnsRig:
    """records: list of dnsmasq options without the leading dashes, e.g.
    "host-record=mail.example.test,127.0.0.1",
    "mx-host=example.test,mail.example.test,10",
    "txt-record=example.test,v=spf1 -all".  zones: domains answered
    locally only (NXDOMAIN for unknown names in them)."""

    def __init__(self, records, zones=("example.test",)):
        self.records = list(records)
        self.zones = list(zones)
        self.proc = None

    def start(self):
        self.port = free_udp_port()
        self.dir = tempfile.mkdtemp(prefix="mw-dns-")
        self.log = os.path.join(self.dir, "dnsmasq.log")
        args = ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null",
                "--no-resolv", "--no-hosts", "--no-poll",
                "--listen-address=127.0.0.1", "--bind-interfaces",
                "--port=%d" % self.port, "--pid-file=",
                "--user=nobody", "--log-facility=" + self.log,
                "--log-queries"]
        args += ["--local=/%s/" % z for z in self.zones]
        args += ["--" + r for r in self.records]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        # Ready when it answers a query (any answer).
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("dnsmasq exited: %s" %
                                   self.proc.stderr.read().decode())
            if self._answers():
                return self.port
            time.sleep(0.05)
        raise RuntimeError("dnsmasq did not answer on port %d" % self.port)

    def _answers(self):
        q = (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
             b"\x05probe\x04test\x00\x00\x01\x00\x01")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.2)
        try:
            s.sendto(q, ("127.0.0.1", self.port))
            s.recvfrom(512)
            return True
        except OSError:
            return False
        finally:
            s.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and self.proc.stderr:
            self.proc.stderr.close()

    @property
    def server(self):
        return "127.0.0.1:%d" % self.port

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

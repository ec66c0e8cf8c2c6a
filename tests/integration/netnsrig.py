"""netnsrig - a network namespace of the tests' own, for what loopback in
the host namespace cannot show: the real mail ports (25, 465, 587, 2525)
without touching the host's, and ports whose SYNs a firewall drops.

    with netnsrig.Namespace("mwx", drop_ports=[25]) as ns:
        ns.serve(465, cert, key, "--implicit")   # fakesmtp.py inside
        code, out = ns.run(["mailwire", "probe", "127.0.0.1"])

Only the namespace's own loopback is up; nothing leaves it.  Needs root,
iproute2 and nft (Namespace.unavailable() says why not)."""

import os
import shutil
import subprocess
import sys


class Namespace:
    def __init__(self, name, drop_ports=(), addresses=()):
        """addresses: extra addresses for the namespace's loopback, e.g.
        IPv6 ones ("fd00:6d77::1") for tests that need two of a family."""
        self.name = "%s%d" % (name, os.getpid())
        self.drop_ports = list(drop_ports)
        self.addresses = list(addresses)
        self.procs = []

    @staticmethod
    def unavailable():
        """A reason the namespace cannot be made here, or None."""
        if os.geteuid() != 0:
            return "needs root"
        for tool in ("ip", "nft"):
            if not shutil.which(tool):
                return "needs %s" % tool
        return None

    def _run(self, *args, **kw):
        return subprocess.run(args, check=True, capture_output=True, **kw)

    def start(self):
        self._run("ip", "netns", "add", self.name)
        try:
            self._run("ip", "netns", "exec", self.name, "ip", "link", "set",
                      "lo", "up")
            for a in self.addresses:
                six = ":" in a
                self._run("ip", "netns", "exec", self.name, "ip",
                          "-6" if six else "-4", "addr", "add",
                          a + ("/128" if six else "/32"), "dev", "lo",
                          *(["nodad"] if six else []))
            if self.drop_ports:
                ports = ", ".join(str(p) for p in self.drop_ports)
                rules = ("table inet mw {\n chain input {\n  type filter hook "
                         "input priority 0;\n  tcp dport { %s } drop\n }\n}\n"
                         % ports)
                self._run("ip", "netns", "exec", self.name, "nft", "-f", "-",
                          input=rules.encode())
        except Exception:
            self.stop()
            raise
        return self

    def serve(self, port, cert, key, *extra):
        """fakesmtp.py on 127.0.0.1:port inside the namespace (extra: its
        command-line flags, e.g. --implicit, --silent, --host ADDR)."""
        here = os.path.dirname(os.path.abspath(__file__))
        p = subprocess.Popen(
            ["ip", "netns", "exec", self.name, sys.executable,
             os.path.join(here, "fakesmtp.py"), "--port", str(port),
             "--cert", cert, "--key", key] + list(extra),
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        if p.stdout.readline().strip() != b"ready":
            raise RuntimeError("fakesmtp.py did not start on port %d" % port)

    def run(self, argv, timeout=120):
        """argv inside the namespace: (exit code, stdout bytes)."""
        code, out, _ = self.run_full(argv, timeout)
        return code, out

    def run_full(self, argv, timeout=120):
        """argv inside the namespace: (exit code, stdout, stderr) bytes."""
        p = subprocess.run(["ip", "netns", "exec", self.name] + list(argv),
                           capture_output=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def stop(self):
        for p in self.procs:
            p.terminate()
            p.wait(timeout=10)
            p.stdout.close()
        self.procs = []
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

"""Real proxies on loopback for mailwire's tests: Dante (SOCKS4/4a/5) and
tinyproxy (HTTP CONNECT), each started in the foreground from a config in
a temporary directory, and stopped by the test.  Both only accept clients
from 127.0.0.0/8 and only connect to 127.0.0.0/8."""

import os
import shutil
import socket
import subprocess
import tempfile
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_listening(port, proc, log, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("proxy exited: %s" % _tail(log))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("proxy not listening on %d: %s" % (port, _tail(log)))


def _tail(path):
    try:
        with open(path) as f:
            return f.read()[-2000:]
    except OSError:
        return "(no log)"


class _Proc:
    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


class Dante(_Proc):
    """blocked_port: a destination port the proxy refuses (a "socks block"
    rule), to test how a refused target is reported."""

    def __init__(self, blocked_port=None):
        self.blocked_port = blocked_port
        self.proc = None

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="mw-dante-")
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.log = os.path.join(self.dir, "danted.log")
        conf = os.path.join(self.dir, "danted.conf")
        block = ""
        if self.blocked_port:
            block = ("socks block {\n  from: 127.0.0.0/8 to: 127.0.0.0/8 "
                     "port = %d\n  log: error\n}\n" % self.blocked_port)
        with open(conf, "w") as f:
            f.write(
                "logoutput: %s\n"
                "internal: 127.0.0.1 port = %d\n"
                "external: 127.0.0.1\n"
                "clientmethod: none\n"
                "socksmethod: none\n"
                "user.privileged: root\n"
                "user.unprivileged: nobody\n"
                "client pass {\n  from: 127.0.0.0/8 to: 0.0.0.0/0\n}\n"
                "%s"
                "socks pass {\n  from: 127.0.0.0/8 to: 127.0.0.0/8\n"
                "  command: connect\n  protocol: tcp\n}\n"
                "socks block {\n  from: 0.0.0.0/0 to: 0.0.0.0/0\n}\n"
                % (self.log, self.port, block))
        self.proc = subprocess.Popen(
            ["danted", "-f", conf, "-p", os.path.join(self.dir, "pid"),
             "-N", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_listening(self.port, self.proc, self.log)
        return self.port


class TinyProxy(_Proc):
    def __init__(self, allowed_ports, user=None, password=None):
        self.allowed_ports = list(allowed_ports)
        self.user, self.password = user, password
        self.proc = None

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="mw-tinyproxy-")
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.log = os.path.join(self.dir, "tinyproxy.log")
        open(self.log, "w").close()
        os.chmod(self.log, 0o666)
        conf = os.path.join(self.dir, "tinyproxy.conf")
        lines = ["Port %d" % self.port, "Listen 127.0.0.1",
                 "Timeout 60", "Allow 127.0.0.1", "LogFile \"%s\"" % self.log,
                 "LogLevel Info", "MaxClients 20", "User nobody",
                 "Group nogroup", "DisableViaHeader Yes"]
        lines += ["ConnectPort %d" % p for p in self.allowed_ports]
        if self.user:
            lines.append("BasicAuth %s %s" % (self.user, self.password))
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = subprocess.Popen(["tinyproxy", "-d", "-c", conf],
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_listening(self.port, self.proc, self.log)
        return self.port

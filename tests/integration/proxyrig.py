"""Real proxies on loopback for mailwire's tests: Dante (SOCKS4/4a/5) and
tinyproxy (HTTP CONNECT), each started in the foreground from a config in
a temporary directory, and stopped by the test.  Both only accept clients
from 127.0.0.0/8 and only connect to 127.0.0.0/8.

SOCKS5 user/password (RFC 1929): Dante's "username" method checks the
credentials against the system password database (getpwnam, getspnam,
crypt).  Rather than add users to this machine, a Dante with users runs in
a private mount namespace of its own (unshare --mount, propagation
private) where /etc/passwd and /etc/shadow are bind-mounted copies with
the test users added; the real files are only read, and the namespace goes
away with the Dante processes.  That takes root (and mount namespaces):
userauth_unavailable() says why not when it cannot be done."""

import os
import shutil
import socket
import subprocess
import tempfile
import time
import warnings


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_listening(port, proc, log, timeout=5.0, errlog=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("proxy exited: %s%s" % (
                _tail(log), " " + _tail(errlog) if errlog else ""))
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


_USERAUTH_WHY = []


def userauth_unavailable():
    """None when a Dante with its own users (Dante(users=...)) can run
    here, else the reason it cannot (to skip with)."""
    if not _USERAUTH_WHY:
        _USERAUTH_WHY.append(_probe_userauth())
    return _USERAUTH_WHY[0]


def _probe_userauth():
    if os.geteuid() != 0:
        return ("SOCKS5 user/password through Dante needs root (Dante reads "
                "/etc/shadow; its test users live in a private mount "
                "namespace)")
    if not shutil.which("unshare"):
        return "unshare (util-linux) is not installed"
    if not os.path.exists("/etc/shadow"):
        return "no /etc/shadow to copy"
    try:
        p = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             'mount --bind "$1" "$1"', "sh", "/etc/passwd"],
            capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "cannot run unshare: %s" % e
    if p.returncode != 0:
        return ("cannot bind-mount in a private mount namespace (unshare "
                "--mount): %s" % p.stderr.decode("utf-8", "replace").strip())
    try:
        _hash_password("probe")
    except RuntimeError as e:
        return str(e)
    return None


def _hash_password(password):
    """A crypt(3) SHA-512 hash of password, as /etc/shadow holds it."""
    if shutil.which("openssl"):
        p = subprocess.run(["openssl", "passwd", "-6", "-stdin"],
                           input=password.encode(), capture_output=True)
        if p.returncode == 0 and p.stdout.startswith(b"$6$"):
            return p.stdout.decode().strip()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt
        h = crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))
        if h and h.startswith("$6$"):
            return h
    except ImportError:
        pass
    raise RuntimeError("cannot hash a password (neither `openssl passwd -6` "
                       "nor python's crypt module)")


def _write_like(src, dst, text):
    """Writes text to dst with the mode and owner of src."""
    with open(dst, "w") as f:
        f.write(text)
    st = os.stat(src)
    os.chown(dst, st.st_uid, st.st_gid)
    os.chmod(dst, st.st_mode & 0o7777)


def _user_database(dirpath, users):
    """Copies of /etc/passwd and /etc/shadow in dirpath with users
    ({name: password}) added: no home, no shell, the nogroup group.
    Returns the two paths."""
    with open("/etc/passwd") as f:
        passwd = [l for l in f.read().splitlines()
                  if l and l.split(":", 1)[0] not in users]
    with open("/etc/shadow") as f:
        shadow = [l for l in f.read().splitlines()
                  if l and l.split(":", 1)[0] not in users]
    taken = set()
    for line in passwd:
        fields = line.split(":")
        if len(fields) > 2 and fields[2].isdigit():
            taken.add(int(fields[2]))
    uid = 64900
    for name, password in sorted(users.items()):
        while uid in taken:
            uid += 1
        taken.add(uid)
        passwd.append("%s:x:%d:65534:mailwire proxy test:/nonexistent:"
                      "/usr/sbin/nologin" % (name, uid))
        shadow.append("%s:%s:19000:0:99999:7:::"
                      % (name, _hash_password(password)))
    paths = (os.path.join(dirpath, "passwd"), os.path.join(dirpath, "shadow"))
    _write_like("/etc/passwd", paths[0], "\n".join(passwd) + "\n")
    _write_like("/etc/shadow", paths[1], "\n".join(shadow) + "\n")
    return paths


class _Proc:
    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "dir", None):
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()


class Dante(_Proc):
    """blocked_port: a destination port the proxy refuses (a "socks block"
    rule), to test how a refused target is reported.

    users ({name: password}): SOCKS5 clients must then authenticate with
    one of them (method "username" only: no anonymous access, no SOCKS4);
    Dante runs in its own mount namespace with those users (see above).
    Every connection it passes is logged with the authenticated user
    (connections_by() reads them back)."""

    def __init__(self, blocked_port=None, users=None):
        self.blocked_port = blocked_port
        self.users = dict(users or {})
        self.proc = None

    def start(self):
        if self.users and userauth_unavailable():
            raise RuntimeError(userauth_unavailable())
        self.dir = tempfile.mkdtemp(prefix="mw-dante-")
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.log = os.path.join(self.dir, "danted.log")
        conf = os.path.join(self.dir, "danted.conf")
        block = ""
        if self.blocked_port:
            block = ("socks block {\n  from: 127.0.0.0/8 to: 127.0.0.0/8 "
                     "port = %d\n  log: error\n}\n" % self.blocked_port)
        method = "username" if self.users else "none"
        # With users: the password is checked by a privileged (root)
        # process, which is why user.privileged is root.
        rule_extra = ("  socksmethod: username\n  log: connect error\n"
                      if self.users else "")
        with open(conf, "w") as f:
            f.write(
                "logoutput: %s\n"
                "internal: 127.0.0.1 port = %d\n"
                "external: 127.0.0.1\n"
                "clientmethod: none\n"
                "socksmethod: %s\n"
                "user.privileged: root\n"
                "user.unprivileged: nobody\n"
                "client pass {\n  from: 127.0.0.0/8 to: 0.0.0.0/0\n}\n"
                "%s"
                "socks pass {\n  from: 127.0.0.0/8 to: 127.0.0.0/8\n"
                "  command: connect\n  protocol: tcp\n%s}\n"
                "socks block {\n  from: 0.0.0.0/0 to: 0.0.0.0/0\n}\n"
                % (self.log, self.port, method, block, rule_extra))
        cmd = ["danted", "-f", conf, "-p", os.path.join(self.dir, "pid"),
               "-N", "1"]
        errlog = None
        if self.users:
            passwd, shadow = _user_database(self.dir, self.users)
            # unshare execs sh, which execs danted: self.proc is danted
            # itself, and the namespace ends with its last process.
            cmd = ["unshare", "--mount", "--propagation", "private",
                   "sh", "-c",
                   'mount --bind "$1" /etc/passwd && '
                   'mount --bind "$2" /etc/shadow && '
                   'shift 2 && exec "$@"', "sh", passwd, shadow] + cmd
            errlog = os.path.join(self.dir, "namespace.err")
        with open(errlog or os.devnull, "w") as err:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                         stderr=err)
        wait_listening(self.port, self.proc, self.log, errlog=errlog)
        return self.port

    def connections_by(self, user):
        """The log lines of the connections Dante opened for user: the
        "[" line (written before any data is relayed; the "]" line comes
        when the session ends) naming the username method's
        "username%USER@client"."""
        needle = "tcp/connect [: username%%%s@" % user
        try:
            with open(self.log) as f:
                return [l for l in f if needle in l]
        except OSError:
            return []


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

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
userauth_unavailable() says why not when it cannot be done.

OpenSSH's dynamic forwarding (ssh -D, SOCKS4, SOCKS4a and SOCKS5 with
client- or proxy-side names): a private sshd on 127.0.0.1 (its own
config, host key, authorized key and pid file in a temporary directory;
the system's sshd and ssh configuration are never used or touched) and
an ssh -D logged into it with a key made for the run.  See OpenSsh."""

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
    if not os.path.exists("/etc/shadow"):
        return "no /etc/shadow to copy"
    why = _mount_namespace_why("/etc/passwd")
    if why:
        return why
    try:
        _hash_password("probe")
    except RuntimeError as e:
        return str(e)
    return None


def _mount_namespace_why(path):
    """None when a file (path) can be bind-mounted over in a private mount
    namespace (unshare --mount) here, else why not."""
    if os.geteuid() != 0:
        return "a private mount namespace needs root"
    if not shutil.which("unshare"):
        return "unshare (util-linux) is not installed"
    try:
        p = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             'mount --bind "$1" "$1"', "sh", path],
            capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "cannot run unshare: %s" % e
    if p.returncode != 0:
        return ("cannot bind-mount in a private mount namespace (unshare "
                "--mount): %s" % p.stderr.decode("utf-8", "replace").strip())
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


SSHD = "/usr/sbin/sshd"  # sshd re-executes itself: an absolute path


def openssh_unavailable():
    """None when OpenSsh can run here, else the reason it cannot."""
    if os.geteuid() != 0:
        return ("a private sshd for ssh -D needs root (it logs root in with "
                "a key made for the run)")
    if not os.access(SSHD, os.X_OK):
        return "%s is not installed (Debian package openssh-server)" % SSHD
    for tool in ("ssh", "ssh-keygen"):
        if not shutil.which(tool):
            return "%s is not installed (Debian package openssh-client)" % tool
    return None


def _descendants(pid):
    """The pids of pid's descendants (from /proc), deepest last."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(0), []):
            out.append(child)
            todo.append(child)
    return out


class OpenSsh(_Proc):
    """OpenSSH's dynamic port forwarding as a SOCKS4/4a/5 proxy: a private
    sshd on 127.0.0.1 and `ssh -N -D 127.0.0.1:PORT` logged into it as
    root with a key made for the run (self.port is the SOCKS port).

    Everything lives in a temporary directory: sshd_config (no PAM, keys
    only, the authorized key file and the pid file in the directory,
    forwarding to permit_open only), the host key (pinned in the client's
    own known_hosts: no host key prompt, no ~/.ssh), the client key and
    both logs.  ssh runs with -F none: no system or user ssh config.

    permit_open: the targets sshd forwards to (sshd_config PermitOpen,
    "host:port", "*" for any port); by default the loopback names.  A
    target outside it is refused ("administratively prohibited").

    The names sshd resolves for SOCKS4a and SOCKS5 with names: when a
    private mount namespace is possible (root, unshare), sshd runs in one
    where /etc/nsswitch.conf is a copy with "hosts: files", so a name
    outside /etc/hosts fails at once without any DNS query leaving the
    machine; otherwise the system resolver answers, bounded by
    RES_OPTIONS=timeout:1 attempts:1.

    OpenSSH sends its SOCKS reply only once sshd has opened the channel
    to the target; when sshd cannot (a name it cannot resolve, a target
    it may not forward to, a refused connection) ssh closes the client's
    connection without any SOCKS reply (no SOCKS4 91, no SOCKS5 error
    code).  sshd_log() then holds sshd's reason ("connect_to NAME: unknown
    host", "but the request was denied"), and ssh_log() the client's
    ("open failed: ...").  sshd logs at DEBUG1, which names each target
    it is asked for ("target localhost port 587")."""

    def __init__(self, permit_open=("localhost:*", "127.0.0.1:*")):
        self.permit_open = list(permit_open)
        self.proc = self.ssh = None

    def start(self):
        why = openssh_unavailable()
        if why:
            raise RuntimeError(why)
        self.dir = tempfile.mkdtemp(prefix="mw-sshd-")  # 0700, root's
        # sshd's privilege separation directory (the unprivileged child
        # chroots there); the package normally makes it at boot.
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        d = self.dir
        host_key = os.path.join(d, "host_ed25519")
        client_key = os.path.join(d, "client_ed25519")
        for key, comment in ((host_key, "mailwire test sshd"),
                             (client_key, "mailwire test ssh -D")):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "",
                            "-C", comment, "-f", key], check=True,
                           stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL)
        # The key may forward ports and nothing else.
        authorized = os.path.join(d, "authorized_keys")
        with open(client_key + ".pub") as f:
            client_pub = f.read().strip()
        with open(authorized, "w") as f:
            f.write("restrict,port-forwarding %s\n" % client_pub)
        self.sshd_port = free_port()
        self.port = free_port()
        while self.port == self.sshd_port:
            self.port = free_port()
        self.sshd_log_path = os.path.join(d, "sshd.log")
        self.ssh_log_path = os.path.join(d, "ssh.log")
        conf = os.path.join(d, "sshd_config")
        with open(conf, "w") as f:
            # StrictModes no: the directory is root's and 0700, but sshd
            # would also check its parents, and /tmp is world-writable.
            f.write(
                "ListenAddress 127.0.0.1\n"
                "HostKey %s\n"
                "PidFile %s\n"
                "AuthorizedKeysFile %s\n"
                "PermitRootLogin prohibit-password\n"
                "PubkeyAuthentication yes\n"
                "PasswordAuthentication no\n"
                "KbdInteractiveAuthentication no\n"
                "UsePAM no\n"
                "StrictModes no\n"
                "UseDNS no\n"
                "AllowTcpForwarding local\n"
                "PermitOpen %s\n"
                "GatewayPorts no\n"
                "AllowAgentForwarding no\n"
                "AllowStreamLocalForwarding no\n"
                "X11Forwarding no\n"
                "PermitTTY no\n"
                "PermitTunnel no\n"
                "PrintMotd no\n"
                "LogLevel DEBUG1\n"
                % (host_key, os.path.join(d, "sshd.pid"), authorized,
                   " ".join(self.permit_open)))
        cmd = [SSHD, "-D", "-e", "-f", conf, "-p", str(self.sshd_port)]
        env = dict(os.environ, RES_OPTIONS="timeout:1 attempts:1")
        self.private_hosts = False
        if (os.path.exists("/etc/nsswitch.conf") and
                not _mount_namespace_why("/etc/nsswitch.conf")):
            nss = os.path.join(d, "nsswitch.conf")
            with open("/etc/nsswitch.conf") as f:
                lines = [l for l in f.read().splitlines()
                         if not l.lstrip().startswith("hosts:")]
            with open(nss, "w") as f:
                f.write("\n".join(lines + ["hosts: files"]) + "\n")
            os.chmod(nss, 0o644)
            # unshare execs sh, which execs sshd: self.proc is sshd.
            cmd = ["unshare", "--mount", "--propagation", "private",
                   "sh", "-c",
                   'mount --bind "$1" /etc/nsswitch.conf && shift && '
                   'exec "$@"', "sh", nss] + cmd
            self.private_hosts = True
        with open(self.sshd_log_path, "w") as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log, env=env)
        self._wait_for_log("Server listening on 127.0.0.1 port %d."
                           % self.sshd_port)
        known_hosts = os.path.join(d, "known_hosts")
        with open(host_key + ".pub") as f:
            key_type, key = f.read().split()[:2]
        with open(known_hosts, "w") as f:
            f.write("[127.0.0.1]:%d %s %s\n" % (self.sshd_port, key_type,
                                                 key))
        with open(self.ssh_log_path, "w") as log:
            self.ssh = subprocess.Popen(
                ["ssh", "-F", "none", "-N",
                 "-D", "127.0.0.1:%d" % self.port,
                 "-i", client_key, "-p", str(self.sshd_port),
                 "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
                 "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes",
                 "-o", "StrictHostKeyChecking=yes",
                 "-o", "UserKnownHostsFile=" + known_hosts,
                 "-o", "GlobalKnownHostsFile=/dev/null",
                 "-o", "UpdateHostKeys=no", "-o", "ConnectTimeout=10",
                 "-o", "ServerAliveInterval=0",
                 "root@127.0.0.1"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        wait_listening(self.port, self.ssh, self.ssh_log_path, timeout=15,
                       errlog=self.sshd_log_path)
        return self.port

    def _wait_for_log(self, needle, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.sshd_log():
                return
            if self.proc.poll() is not None:
                raise RuntimeError("sshd exited: %s" % self.sshd_log()[-2000:])
            time.sleep(0.05)
        raise RuntimeError("sshd did not start: %s" % self.sshd_log()[-2000:])

    def sshd_log(self):
        return _read(getattr(self, "sshd_log_path", None))

    def ssh_log(self):
        return _read(getattr(self, "ssh_log_path", None))

    def wait_for_log(self, which, needle, timeout=5.0):
        """True once needle is in sshd's ("sshd") or ssh's ("ssh") log
        (lines about a request may come a moment after the client's
        answer)."""
        read = self.sshd_log if which == "sshd" else self.ssh_log
        deadline = time.monotonic() + timeout
        while needle not in read():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def stop(self):
        # The client first: its session ends, and with it sshd's
        # per-connection processes (forked by the listener and reaped by
        # it); then the listener.  Any left over are ended by pid.
        session = _descendants(self.proc.pid) if self.proc else []
        for proc in (self.ssh, self.proc):
            if proc and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        deadline = time.monotonic() + 5
        for pid in session:
            while _running(pid):
                if time.monotonic() > deadline:
                    try:
                        if "sshd" in _read("/proc/%d/cmdline" % pid):
                            os.kill(pid, 9)
                    except OSError:
                        pass
                    break
                time.sleep(0.05)
        self.ssh = self.proc = None
        if getattr(self, "dir", None):
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


def _running(pid):
    """pid exists and is not a zombie (an exited sshd child whose parent
    has gone is left to init to reap)."""
    stat = _read("/proc/%d/stat" % pid)
    return bool(stat) and stat.rsplit(")", 1)[1].split()[0] != "Z"


def _read(path):
    if not path:
        return ""
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""

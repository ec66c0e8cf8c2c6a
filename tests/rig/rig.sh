#!/usr/bin/env bash
#
# rig.sh - private Postfix + Dovecot test rig for mailwire's integration tests
#
# SYNOPSIS
#   rig.sh start  DIR [BASE_PORT]   (BASE_PORT defaults to 22500)
#   rig.sh stop   DIR
#   rig.sh status DIR
#
# DESCRIPTION
#   "start" builds everything under DIR (created if missing): a test CA and a
#   server certificate, a self-contained Dovecot instance (IMAP/POP3 and the
#   SASL auth socket Postfix uses), and a private Postfix instance that only
#   delivers into DIR/mail.  Every listener is bound to 127.0.0.1; relaying is
#   impossible (default_transport and relay_transport are "error:").  The
#   system-wide daemons and /etc are never touched.  When all ports listen,
#   DIR/rig.env is written (KEY=value lines; see tests/rig/README.md).
#
#   "stop" kills only the two master processes whose PID files live in DIR
#   (after checking that the PIDs really belong to this rig), waits for them
#   and their children to exit, then removes DIR.
#
#   Must run as root: "postfix -c" is reserved for the superuser and both
#   daemons drop privileges to their own system users.
#
# DIAGNOSTICS
#   On a failed start: DIR/start.log, DIR/postfix.log and DIR/dovecot.log are
#   printed to stderr, then "postfix check" is re-run on a pseudo-TTY (when
#   stderr is not a TTY, Postfix writes errors only to its maillog_file, and
#   errors found before logging is set up go nowhere at all).  Whatever was
#   started is stopped, DIR is kept for inspection, and the exit status is 1.
#
set -euo pipefail

PROG=${0##*/}
MARKER=.mailwire-rig             # only directories holding this are rm -rf'ed
SERVER_NAME=mail.example.test
DOMAIN=example.test
USER1=alice@example.test
PASS1=alice-Secret-1
USER2=bob@example.test
PASS2=bob-Secret-2
# Mailboxes of the incoming-mail tests (fetch, watch, append): nobody
# sends to them but the tests that read them back, so they never race the
# SMTP tests on alice's and bob's mailboxes.  USER4 is for big mailboxes
# (thousands of messages, rigutil.fill_maildir).
USER3=fetch@example.test
PASS3=fetch-Secret-3
USER4=bulk@example.test
PASS4=bulk-Secret-4
# Subject CN of the TLS client certificate the rig's CA signs for tests
# (--tls-cert); the submission port asks for it and names it in the
# Received header.
CLIENT_CN="mailwire rig client"
MESSAGE_SIZE_LIMIT=10485760
# Every mechanism listed here was checked end to end through Postfix
# (see tests/rig/README.md).
AUTH_MECHS="PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256"
# Token mechanisms, validated locally by Dovecot's oauth2 passdb (HS256 JWT,
# minted with tests/rig/mkjwt.py).
OAUTH_MECHS="XOAUTH2 OAUTHBEARER"
WAIT_SECS=10

die() { echo "$PROG: $*" >&2; exit 1; }
log() { echo "$PROG: $*" >&2; }

usage() {
  cat >&2 <<EOF
usage: $PROG start DIR [BASE_PORT]
       $PROG stop DIR
       $PROG status DIR
EOF
  exit 2
}

# ---------------------------------------------------------------------------
# Helpers

abspath() {
  # realpath -m works for paths that do not exist yet.
  realpath -m -- "$1"
}

set_paths() {
  DIR=$(abspath "$1")
  case $DIR in
    /|/etc|/etc/*|/usr|/usr/*|/var|/var/lib|/var/spool|/var/spool/*|/root|/home)
      die "refusing to use $DIR as a rig directory";;
  esac
  # Unix sockets live as deep as DIR/dc/run/token-login/imap-urlauth and
  # sun_path holds 107 bytes.
  (( ${#DIR} <= 70 )) || die "DIR path too long for unix sockets (max 70 chars): $DIR"
  PF=$DIR/pf
  SPOOL=$DIR/spool
  PFDATA=$DIR/pfdata
  DC=$DIR/dc
  DC_RUN=$DC/run
  CERTS=$DIR/certs
  MAIL=$DIR/mail
  PF_PIDFILE=$SPOOL/pid/master.pid
  DC_PIDFILE=$DC_RUN/master.pid
  PF_LOG=$DIR/postfix.log
  START_LOG=$DIR/start.log        # stdout/stderr of the start commands
  DC_LOG=$DIR/dovecot.log
}

set_ports() {
  local base=$1
  [[ $base =~ ^[0-9]+$ ]] || die "BASE_PORT must be a number: $base"
  (( base >= 1024 && base + 13 <= 65535 )) || die "BASE_PORT out of range: $base"
  SUBMISSION_PORT=$((base + 0))
  SMTPS_PORT=$((base + 1))
  PLAIN_PORT=$((base + 2))
  PLAINAUTH_PORT=$((base + 3))
  OPTTLS_PORT=$((base + 4))
  HAPROXY_PORT=$((base + 5))
  IMAP_PORT=$((base + 10))
  IMAPS_PORT=$((base + 11))
  POP3_PORT=$((base + 12))
  POP3S_PORT=$((base + 13))
  ALL_PORTS="$SUBMISSION_PORT $SMTPS_PORT $PLAIN_PORT $PLAINAUTH_PORT $OPTTLS_PORT"
  ALL_PORTS+=" $HAPROXY_PORT"
  ALL_PORTS+=" $IMAP_PORT $IMAPS_PORT $POP3_PORT $POP3S_PORT"
}

# Print the PID in FILE if it is a live process; Postfix pads it with spaces.
read_pid() {
  local file=$1 pid
  [[ -r $file ]] || return 1
  pid=$(tr -d ' \n\t' < "$file")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  echo "$pid"
}

# Does PID belong to this rig?  A stale PID file could name an unrelated
# process that got the same number, so check before killing anything.
pid_is_postfix_rig() {
  local pid=$1
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == master ]] || return 1
  # postfix-script starts master with MAIL_CONFIG pointing at our config dir.
  tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -qxF "MAIL_CONFIG=$PF"
}

pid_is_dovecot_rig() {
  local pid=$1
  tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | grep -qxF "$DC/dovecot.conf"
}

# Start time (field 22 of /proc/PID/stat) identifies a process instance,
# so a recycled PID is never killed by mistake.
pid_starttime() {
  local stat
  { read -r stat < "/proc/$1/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }   # drop "pid (comm) ", comm may hold spaces
  # shellcheck disable=SC2086
  set -- $stat
  echo "${20}"
}

# All live descendants of PID as "pid:starttime" words.
descendants() {
  local root=$1 pid ppid cur c
  local -A children=()
  while read -r pid ppid; do
    children[$ppid]+=" $pid"
  done < <(ps -e -o pid= -o ppid=)
  local queue=("$root") out=()
  while ((${#queue[@]})); do
    cur=${queue[0]}
    queue=("${queue[@]:1}")
    for c in ${children[$cur]:-}; do
      out+=("$c:$(pid_starttime "$c" || echo 0)")
      queue+=("$c")
    done
  done
  echo "${out[@]:-}"
}

port_listening() {
  # -H: no header.  Only our own address counts.
  ss -Hltn "sport = :$1" 2>/dev/null | grep -q "127.0.0.1:$1\b"
}

dump_logs() {
  local f
  for f in "$START_LOG" "$PF_LOG" "$DC_LOG"; do
    echo "----- $f -----" >&2
    if [[ -f $f ]]; then tail -n 60 "$f" >&2; else echo "(missing)" >&2; fi
  done
}

fail_start() {
  trap - ERR
  log "start failed: $*"
  dump_logs
  # Some fatal errors (e.g. a bad main.cf value) reach neither the log file
  # nor a non-TTY stderr; "postfix check" under a pseudo-TTY shows them.
  if [[ -f $PF/main.cf ]] && ! read_pid "$PF_PIDFILE" >/dev/null \
     && command -v script >/dev/null; then
    echo "----- postfix -c $PF check (on a pseudo-tty) -----" >&2
    timeout 20 script -qec "postfix -c '$PF' check" /dev/null </dev/null >&2 || true
  fi
  # Do not leave half a rig running; keep DIR so the logs can be read.
  stop_daemons || true
  log "logs kept in $DIR; remove it with: $PROG stop $DIR"
  exit 1
}

# ---------------------------------------------------------------------------
# Certificates

make_certs() {
  mkdir -p "$CERTS"
  local ossl="openssl"
  (
    trap - ERR        # failures are reported once, by the caller
    set -e
    cd "$CERTS"
    umask 077
    # Test CA.
    $ossl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
      -keyout ca.key -out ca.crt -subj "/O=mailwire test rig/CN=mailwire rig CA" \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -addext "subjectKeyIdentifier=hash" 2>/dev/null
    # Server certificate signed by it.
    $ossl req -new -newkey rsa:2048 -nodes -sha256 \
      -keyout server.key -out server.csr \
      -subj "/O=mailwire test rig/CN=$SERVER_NAME" 2>/dev/null
    cat > server.ext <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:$SERVER_NAME,DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid,issuer
EOF
    $ossl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -set_serial "0x$($ossl rand -hex 8)" \
      -sha256 -days 3650 -extfile server.ext -out server.crt 2>/dev/null
    # A second, unrelated CA: tests use it to prove a wrong trust anchor is refused.
    $ossl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
      -keyout other-ca.key -out other-ca.crt -subj "/O=mailwire test rig/CN=mailwire rig OTHER CA" \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -addext "subjectKeyIdentifier=hash" 2>/dev/null
    # A TLS client certificate signed by the test CA (tests present it
    # with --tls-cert; Postfix trusts the CA through smtpd_tls_CAfile).
    $ossl req -new -newkey rsa:2048 -nodes -sha256 \
      -keyout client.key -out client.csr \
      -subj "/O=mailwire test rig/CN=$CLIENT_CN" 2>/dev/null
    cat > client.ext <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid,issuer
EOF
    $ossl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -set_serial "0x$($ossl rand -hex 8)" \
      -sha256 -days 3650 -extfile client.ext -out client.crt 2>/dev/null
    rm -f server.csr client.csr
    $ossl verify -CAfile ca.crt server.crt >/dev/null
    $ossl verify -CAfile ca.crt -purpose sslclient client.crt >/dev/null
    # Public parts are world-readable; keys stay root-only (both daemons
    # read them before dropping privileges; the tests run as root).
    chmod 644 ca.crt other-ca.crt server.crt server.ext client.crt client.ext
    chmod 600 ca.key other-ca.key server.key client.key
  ) || fail_start "certificate generation failed"
}

# ---------------------------------------------------------------------------
# Dovecot

write_dovecot_conf() {
  mkdir -p "$DC" "$DC/state"
  cat > "$DC/users" <<EOF
$USER1:{PLAIN}$PASS1
$USER2:{PLAIN}$PASS2
$USER3:{PLAIN}$PASS3
$USER4:{PLAIN}$PASS4
EOF
  chmod 644 "$DC/users"   # read by the auth process running as "dovecot"

  # JWT signing key.  Dovecot looks it up in the dict under
  # shared/<azp>/<alg>/<kid> ("default" when the token has no azp/kid), and
  # the fs dict maps shared/X to <prefix>X.  The value is base64, no newline.
  OAUTH_KEY_B64=$(openssl rand -base64 32)
  mkdir -p "$DC/oauth-keys/default/HS256"
  printf '%s' "$OAUTH_KEY_B64" > "$DC/oauth-keys/default/HS256/default"
  chown -R dovecot "$DC/oauth-keys"          # the auth process reads it
  chmod -R go-rwx "$DC/oauth-keys"
  cat > "$DC/oauth2.conf.ext" <<EOF
introspection_mode = local
local_validation_key_dict = fs:posix:prefix=$DC/oauth-keys/
username_attribute = sub
EOF
  chmod 644 "$DC/oauth2.conf.ext"

  cat > "$DC/dovecot.conf" <<EOF
# Generated by tests/rig/rig.sh; self-contained (no system conf.d).
instance_name = mwrig-$SUBMISSION_PORT
base_dir = $DC_RUN
state_dir = $DC/state
log_path = $DC_LOG
info_log_path = $DC_LOG
debug_log_path = $DC_LOG

protocols = imap pop3
listen = 127.0.0.1
default_internal_user = dovecot
default_login_user = dovenull

ssl = yes
ssl_cert = <$CERTS/server.crt
ssl_key = <$CERTS/server.key

# Plaintext passwords so that every mechanism (incl. CRAM-MD5, DIGEST-MD5
# and SCRAM) can be computed from them.
disable_plaintext_auth = yes
auth_mechanisms = plain login cram-md5 digest-md5 scram-sha-1 scram-sha-256 xoauth2 oauthbearer
auth_verbose = yes
auth_failure_delay = 0
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $DC/users
  mechanisms = plain login cram-md5 digest-md5 scram-sha-1 scram-sha-256
}
# Bearer tokens: JWTs checked locally (no HTTP) against an HS256 key.
passdb {
  driver = oauth2
  args = $DC/oauth2.conf.ext
  mechanisms = xoauth2 oauthbearer
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home=$MAIL/%d/%n
}
first_valid_uid = 100
mail_location = maildir:~
namespace inbox {
  inbox = yes
  separator = /
}

service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_PORT
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $POP3_PORT
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = $POP3S_PORT
    ssl = yes
  }
}
# SASL socket for Postfix (smtpd_sasl_path = private/auth, relative to
# Postfix's queue_directory).
service auth {
  unix_listener $SPOOL/private/auth {
    mode = 0660
    user = postfix
    group = postfix
  }
  unix_listener auth-userdb {
    mode = 0600
  }
}
# No brute-force penalty: after one failed login Dovecot would otherwise
# delay every later auth from 127.0.0.1 by 2, 4, 8 ... 15 s.
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
protocol pop3 {
  pop3_uidl_format = %08Xu%08Xv
}
EOF
  doveconf -c "$DC/dovecot.conf" -n >/dev/null 2>"$DIR/doveconf.err" \
    || { cat "$DIR/doveconf.err" >&2; fail_start "doveconf rejected $DC/dovecot.conf"; }
  rm -f "$DIR/doveconf.err"
}

# ---------------------------------------------------------------------------
# Postfix

write_postfix_conf() {
  mkdir -p "$PF" "$SPOOL" "$PFDATA"
  chown postfix "$PFDATA"          # mail_owner must own data_directory
  mkdir -p "$MAIL"
  chown 65534:65534 "$MAIL"        # virtual(8) runs as 65534 and makes the Maildirs
  chmod 755 "$MAIL"

  cat > "$PF/vmailbox" <<EOF
$USER1 $DOMAIN/${USER1%@*}/
$USER2 $DOMAIN/${USER2%@*}/
$USER3 $DOMAIN/${USER3%@*}/
$USER4 $DOMAIN/${USER4%@*}/
EOF

  cat > "$PF/main.cf" <<EOF
# Generated by tests/rig/rig.sh: private instance, delivers only into $MAIL.
compatibility_level = 3.6
queue_directory = $SPOOL
data_directory = $PFDATA
mail_owner = postfix
setgid_group = postdrop
syslog_name = postfix-rig
maillog_file = $PF_LOG
maillog_file_prefixes = $DIR
myhostname = $SERVER_NAME
mydomain = $DOMAIN
myorigin = \$mydomain
smtpd_banner = \$myhostname ESMTP mailwire-rig
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
biff = no
append_dot_mydomain = no
readme_directory = no
smtputf8_enable = yes
message_size_limit = $MESSAGE_SIZE_LIMIT
mailbox_size_limit = 0
virtual_mailbox_limit = 0

# No local delivery at all.
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
local_transport = error:local delivery disabled in the mailwire rig

# Virtual mailboxes = the only destination.
virtual_mailbox_domains = $DOMAIN
virtual_mailbox_base = $MAIL
virtual_mailbox_maps = texthash:$PF/vmailbox
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534

# Nothing may ever leave this machine.
relayhost =
default_transport = error:outbound mail disabled in the mailwire rig
relay_transport = error:outbound mail disabled in the mailwire rig
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination

# Shared TLS and SASL settings; each port overrides them in master.cf.
smtpd_tls_chain_files = $CERTS/server.key, $CERTS/server.crt
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
# CAs trusted for client certificates (and named in the certificate
# request) on the ports that ask for one (smtpd_tls_ask_ccert).
smtpd_tls_CAfile = $CERTS/ca.crt
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
smtpd_sasl_auth_enable = no
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = noanonymous

# Fast failures for tests.
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 100
smtpd_hard_error_limit = 200
smtpd_client_connection_rate_limit = 0
queue_run_delay = 10s
minimal_backoff_time = 10s
maximal_backoff_time = 60s
EOF

  local common_auth="-o smtpd_sasl_auth_enable=yes"
  common_auth+=" -o smtpd_relay_restrictions=permit_sasl_authenticated,reject"
  common_auth+=" -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject"

  cat > "$PF/master.cf" <<EOF
# Generated by tests/rig/rig.sh.  chroot = n everywhere.
# service type  private unpriv  chroot  wakeup  maxproc command + args
# SUBMISSION: STARTTLS required, AUTH only after TLS, mail needs AUTH.
# Asks for (does not require) a client certificate and records it in the
# Received header: (Client CN "...", Issuer "..." (verified OK)).
127.0.0.1:$SUBMISSION_PORT inet n - n - - smtpd
  -o syslog_name=postfix-rig/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_auth_only=yes
  -o smtpd_tls_ask_ccert=yes
  -o smtpd_tls_received_header=yes
  $common_auth
# SMTPS: implicit TLS, mail needs AUTH.
127.0.0.1:$SMTPS_PORT inet n - n - - smtpd
  -o syslog_name=postfix-rig/smtps
  -o smtpd_tls_wrappermode=yes
  -o smtpd_tls_security_level=encrypt
  $common_auth
# PLAIN: no TLS, no AUTH; accepts mail for $DOMAIN only.
127.0.0.1:$PLAIN_PORT inet n - n - - smtpd
  -o syslog_name=postfix-rig/plain
  -o smtpd_tls_security_level=none
  -o smtpd_sasl_auth_enable=no
  -o smtpd_relay_restrictions=reject_unauth_destination
# PLAINAUTH: no TLS, AUTH offered in clear, mail needs AUTH.
127.0.0.1:$PLAINAUTH_PORT inet n - n - - smtpd
  -o syslog_name=postfix-rig/plainauth
  -o smtpd_tls_security_level=none
  -o smtpd_tls_auth_only=no
  $common_auth
# OPTTLS: STARTTLS optional, AUTH only after TLS, no AUTH needed for $DOMAIN.
127.0.0.1:$OPTTLS_PORT inet n - n - - smtpd
  -o syslog_name=postfix-rig/opttls
  -o smtpd_tls_security_level=may
  -o smtpd_tls_auth_only=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject_unauth_destination
# HAPROXY: like PLAIN, behind a load balancer: each connection must start
# with a HAProxy PROXY protocol header (v1 or v2).
127.0.0.1:$HAPROXY_PORT inet n - n - - smtpd
  -o syslog_name=postfix-rig/haproxy
  -o smtpd_upstream_proxy_protocol=haproxy
  -o smtpd_upstream_proxy_timeout=5s
  -o smtpd_tls_security_level=none
  -o smtpd_sasl_auth_enable=no
  -o smtpd_relay_restrictions=reject_unauth_destination
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

# ---------------------------------------------------------------------------
# Commands

write_env() {
  local tmp=$DIR/rig.env.tmp
  cat > "$tmp" <<EOF
RIG_DIR=$DIR
RIG_HOST=127.0.0.1
RIG_SERVER_NAME=$SERVER_NAME
RIG_DOMAIN=$DOMAIN
RIG_SUBMISSION_PORT=$SUBMISSION_PORT
RIG_SMTPS_PORT=$SMTPS_PORT
RIG_PLAIN_PORT=$PLAIN_PORT
RIG_PLAINAUTH_PORT=$PLAINAUTH_PORT
RIG_OPTTLS_PORT=$OPTTLS_PORT
RIG_HAPROXY_PORT=$HAPROXY_PORT
RIG_IMAP_PORT=$IMAP_PORT
RIG_IMAPS_PORT=$IMAPS_PORT
RIG_POP3_PORT=$POP3_PORT
RIG_POP3S_PORT=$POP3S_PORT
RIG_CA_FILE=$CERTS/ca.crt
RIG_OTHER_CA_FILE=$CERTS/other-ca.crt
RIG_SERVER_CERT=$CERTS/server.crt
RIG_CLIENT_CERT=$CERTS/client.crt
RIG_CLIENT_KEY=$CERTS/client.key
RIG_CLIENT_CN="$CLIENT_CN"
RIG_MAILDIR=$MAIL
RIG_USER1=$USER1
RIG_PASS1=$PASS1
RIG_USER2=$USER2
RIG_PASS2=$PASS2
RIG_USER3=$USER3
RIG_PASS3=$PASS3
RIG_USER4=$USER4
RIG_PASS4=$PASS4
RIG_AUTH_MECHS="$AUTH_MECHS"
RIG_OAUTH_MECHS="$OAUTH_MECHS"
RIG_OAUTH_KEY_B64=$OAUTH_KEY_B64
RIG_OAUTH_ALG=HS256
RIG_MESSAGE_SIZE_LIMIT=$MESSAGE_SIZE_LIMIT
RIG_POSTFIX_LOG=$PF_LOG
RIG_DOVECOT_LOG=$DC_LOG
EOF
  mv "$tmp" "$DIR/rig.env"
  chmod 644 "$DIR/rig.env"
}

cmd_start() {
  [[ $(id -u) == 0 ]] || die "must run as root (postfix -c is reserved for the superuser)"
  set_paths "$1"
  set_ports "${2:-22500}"

  local u
  for u in postfix dovecot dovenull; do
    id "$u" >/dev/null 2>&1 || die "system user '$u' is missing (install postfix/dovecot-core)"
  done
  getent group postdrop >/dev/null || die "group 'postdrop' is missing"
  for u in postfix dovecot doveconf openssl ss; do
    command -v "$u" >/dev/null || die "'$u' not found in PATH"
  done

  # Idempotent: an old rig in DIR is stopped (and DIR removed) first.
  if [[ -e $DIR/$MARKER ]]; then
    log "stopping the rig already in $DIR"
    cmd_stop "$DIR"
    set_paths "$1"
    set_ports "${2:-22500}"
  elif [[ -e $DIR ]] && [[ -n $(ls -A "$DIR" 2>/dev/null) ]]; then
    die "$DIR exists, is not empty and is not a rig directory"
  fi

  local p
  for p in $ALL_PORTS; do
    port_listening "$p" && die "port 127.0.0.1:$p is already in use"
  done

  mkdir -p "$DIR"
  chmod 755 "$DIR"     # the daemons drop root and must traverse it
  set -E               # from here on, any failing command ends in fail_start
  trap 'fail_start "command failed (line $LINENO): $BASH_COMMAND"' ERR
  echo "$SUBMISSION_PORT" > "$DIR/$MARKER"

  make_certs
  write_postfix_conf
  write_dovecot_conf

  # Dovecot puts Postfix's SASL socket into the queue's private/ directory,
  # so create it now with the owner and mode from postfix-files; "postfix
  # start" creates the other queue directories ("postfix check" would too,
  # but takes ~2 s).
  install -d -o postfix -m 700 "$SPOOL/private"
  # Postfix re-reads a config file (main.cf, texthash maps) until its mtime
  # is at least a second or two in the past, in case it is being edited.
  # Backdating the freshly written files saves ~2 s per start.
  touch -d '-1 minute' "$PF/main.cf" "$PF/master.cf" "$PF/vmailbox"

  # Dovecot first: its auth socket serves Postfix's SASL.  Neither daemon
  # may inherit our stdout/stderr: a caller reading them through a pipe
  # (subprocess, $(...), | tee) would otherwise block until the rig stops.
  dovecot -c "$DC/dovecot.conf" </dev/null >>"$START_LOG" 2>&1 \
    || fail_start "dovecot did not start"
  postfix -c "$PF" start </dev/null >>"$START_LOG" 2>&1 \
    || fail_start "postfix did not start"

  local deadline=$((SECONDS + WAIT_SECS)) missing
  while :; do
    missing=""
    for p in $ALL_PORTS; do
      port_listening "$p" || missing+=" $p"
    done
    [[ -z $missing ]] && break
    (( SECONDS < deadline )) || fail_start "ports not listening after ${WAIT_SECS}s:$missing"
    sleep 0.05
  done
  # The SASL socket must exist too, or the first AUTH fails.
  [[ -S $SPOOL/private/auth ]] || fail_start "Dovecot auth socket $SPOOL/private/auth missing"

  write_env
  trap - ERR
  echo "rig started in $DIR (env: $DIR/rig.env)"
}

# Is PID a live (non-zombie) process with the given start time?  Processes
# whose parent died are reparented to PID 1, which in some containers reaps
# them only seconds later, so a zombie counts as gone (its sockets are closed).
alive() {
  local pid=$1 start=${2:-} stat
  { read -r stat < "/proc/$pid/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  # shellcheck disable=SC2086
  set -- "$start" $stat
  [[ $2 != Z && $2 != X ]] || return 1
  [[ -z $1 || $1 == "${21}" ]]
}

# Stop the masters given as "name:pid" words: remember their descendants
# (pid:starttime), SIGTERM the masters together, wait up to WAIT_SECS for
# them and their children, then SIGKILL whatever is left.
stop_masters() {
  local m name pid k procs=() left deadline
  for m in "$@"; do
    pid=${m#*:}
    procs+=("$pid:$(pid_starttime "$pid" || echo 0)")
    for k in $(descendants "$pid"); do procs+=("$k"); done
  done
  for m in "$@"; do
    name=${m%%:*} pid=${m#*:}
    kill -TERM "$pid" 2>/dev/null || log "could not signal $name master $pid"
  done
  deadline=$((SECONDS + WAIT_SECS))
  while :; do
    left=()
    for k in "${procs[@]}"; do alive "${k%%:*}" "${k#*:}" && left+=("$k"); done
    ((${#left[@]})) || return 0
    (( SECONDS < deadline )) || break
    sleep 0.05
  done
  for k in "${left[@]}"; do
    log "process ${k%%:*} ($(cat "/proc/${k%%:*}/comm" 2>/dev/null)) did not exit after ${WAIT_SECS}s; sending SIGKILL"
    kill -KILL "${k%%:*}" 2>/dev/null || true
  done
  sleep 0.1
}

# Stop the daemons recorded in DIR (only if their PIDs really belong to this
# rig) and wait until the rig's ports are free.  Needs set_paths/set_ports.
stop_daemons() {
  local pid masters=()
  if pid=$(read_pid "$PF_PIDFILE"); then
    if pid_is_postfix_rig "$pid"; then
      masters+=("postfix:$pid")
    else
      log "PID $pid in $PF_PIDFILE is not this rig's Postfix master; not killing it"
    fi
  fi
  if pid=$(read_pid "$DC_PIDFILE"); then
    if pid_is_dovecot_rig "$pid"; then
      masters+=("dovecot:$pid")
    else
      log "PID $pid in $DC_PIDFILE is not this rig's Dovecot master; not killing it"
    fi
  fi
  if ((${#masters[@]})); then
    stop_masters "${masters[@]}"
  fi

  # Wait until the rig's ports are free so the next start can bind them.
  if [[ -n ${ALL_PORTS:-} ]]; then
    local deadline=$((SECONDS + WAIT_SECS)) busy p
    while :; do
      busy=""
      for p in $ALL_PORTS; do
        if port_listening "$p"; then busy+=" $p"; fi
      done
      [[ -z $busy ]] && break
      if (( SECONDS >= deadline )); then
        log "ports still listening:$busy"
        return 1
      fi
      sleep 0.05
    done
  fi
  return 0
}

cmd_stop() {
  [[ $(id -u) == 0 ]] || die "must run as root"
  set_paths "$1"
  if [[ ! -e $DIR ]]; then
    echo "no rig in $DIR"
    return 0
  fi
  [[ -e $DIR/$MARKER ]] || die "$DIR is not a rig directory (no $MARKER); not touching it"

  local base
  base=$(tr -d ' \n' < "$DIR/$MARKER")
  if [[ $base =~ ^[0-9]+$ ]]; then
    set_ports "$base"
  else
    ALL_PORTS=""
  fi
  stop_daemons || die "could not stop the rig in $DIR; not removing it"
  rm -rf -- "$DIR"
  echo "rig in $DIR stopped and removed"
}

cmd_status() {
  set_paths "$1"
  [[ -e $DIR/$MARKER ]] || { echo "no rig in $DIR"; return 1; }
  local base pid rc=0 p
  base=$(tr -d ' \n' < "$DIR/$MARKER")
  set_ports "$base"
  if pid=$(read_pid "$PF_PIDFILE") && pid_is_postfix_rig "$pid"; then
    echo "postfix: running (pid $pid)"
  else
    echo "postfix: not running"; rc=1
  fi
  if pid=$(read_pid "$DC_PIDFILE") && pid_is_dovecot_rig "$pid"; then
    echo "dovecot: running (pid $pid)"
  else
    echo "dovecot: not running"; rc=1
  fi
  local names=(submission smtps plain plainauth opttls haproxy imap imaps pop3 pop3s) i=0
  for p in $ALL_PORTS; do
    if port_listening "$p"; then
      echo "${names[$i]}: 127.0.0.1:$p listening"
    else
      echo "${names[$i]}: 127.0.0.1:$p NOT listening"; rc=1
    fi
    i=$((i + 1))
  done
  [[ -f $DIR/rig.env ]] && echo "env: $DIR/rig.env"
  return $rc
}

case ${1:-} in
  start)  [[ $# -eq 2 || $# -eq 3 ]] || usage; cmd_start "$2" "${3:-22500}";;
  stop)   [[ $# -eq 2 ]] || usage; cmd_stop "$2";;
  status) [[ $# -eq 2 ]] || usage; cmd_status "$2";;
  *) usage;;
esac

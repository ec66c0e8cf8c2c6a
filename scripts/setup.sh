#!/usr/bin/env bash
# setup.sh - install every Debian package mailwire's build, demo and tests
# need.  Idempotent and non-interactive; run as root on Debian 12.
# It never starts or configures the system-wide mail daemons: the tests run
# private Postfix and Dovecot instances of their own (tests/rig/rig.sh).
set -euo pipefail

PACKAGES=(
  # build
  gcc make cmake pkg-config
  libssl-dev libgsasl-dev libc-ares-dev libgmime-3.0-dev libcmocka-dev
  libjansson-dev
  libedit-dev
  # sanitizers, fuzzing (clang's libFuzzer runtime), memcheck
  clang libclang-rt-14-dev valgrind
  # test rig and tests
  postfix dovecot-core dovecot-imapd dovecot-pop3d openssl ca-certificates
  dnsmasq-base dante-server tinyproxy nftables
  openssh-server openssh-client
  python3 iproute2 procps
  # incoming-mail peers for bench/ (fetchmail, getmail6, mbsync); fetchmail
  # ships a system daemon, kept from starting like the others below
  fetchmail getmail6 isync
  # issue 14: static linking through `pkg-config --static mailwire` needs
  # every private dependency's development files (GMime's names gpgme);
  # man pages rendered and checked (man -l, groff)
  libgpgme-dev man-db groff-base
  # issue 14: the zsh completion is checked with zsh -n
  zsh
  # issue 14: the API reference (cmake --build build --target apidoc) and
  # its test docs.api
  doxygen
  # issue 13: test_lazy_init.py checks what send opens and reads (strace;
  # readelf from binutils, with gcc)
  strace
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

if [[ $(id -u) != 0 ]]; then
  echo "setup: missing packages: ${missing[*]}" >&2
  echo "setup: run as root (or: sudo $0)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Postfix: install the binaries only; no system mail configuration.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections

# Daemons whose packages start a system-wide instance on a normal host;
# mailwire's tests run private instances, so new system ones are stopped.
declare -A service_of=([dovecot-core]=dovecot [tinyproxy]=tinyproxy [dante-server]=danted
                       [openssh-server]=ssh [fetchmail]=fetchmail)
newly_installed=()
for p in "${!service_of[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || newly_installed+=("$p")
done

echo "setup: installing ${missing[*]}"
# No package may start its system-wide daemon while installing (the usual
# Debian way: a policy-rc.d that denies; only ours is removed afterwards).
policy=/usr/sbin/policy-rc.d
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  trap 'rm -f "$policy"' EXIT  # also when apt-get fails
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

# In case a daemon started anyway (an init system ignoring policy-rc.d).
if command -v service >/dev/null 2>&1; then
  for p in "${newly_installed[@]}"; do
    service "${service_of[$p]}" stop >/dev/null 2>&1 || true
  done
fi
echo "setup: done"

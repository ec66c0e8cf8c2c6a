#!/usr/bin/env bash
# bench/run.sh - run mailwire's benchmark harness in one command (fresh
# Debian 12, as root): install what is missing, build, start a private
# Postfix + Dovecot rig on 127.0.0.1, run bench/bench.py, stop the rig.
#
# Environment:
#   BUILD_DIR          build directory (default build-bench)
#   BENCH_BASE_PORT    the rig's base port (default 25600; uses BASE..BASE+13)
#   BENCH_MESSAGES     messages per throughput run (default 200)
#   BENCH_ROUNDS       rounds of the one-connection runs, median (default 3)
#   BENCH_BIG_MIB      size of the large message in MiB (default 9)
#   BENCH_NO_DOUBLE=1  skip the doubled (18 MiB) large message
#   BENCH_ONLY         comma list of probe,throughput,memory,incoming
#                      (default all)
#   BENCH_OUT          JSON output (default bench/results/latest.json)
#   BENCH_INCOMING_MESSAGES   messages of the incoming download (default 5000)
#   BENCH_INCOMING_PROTOCOLS  imaps,pop3s (default both)
#   BENCH_INCOMING_OUT JSON of the incoming run (default bench/results/incoming.json)
#   BENCH_ATTACH_MIB   attachment sizes in MiB for the attach run (default 64,1024)
#   BENCH_ATTACH_OUT   JSON of the attach run (default bench/results/attach.json)
#   (BENCH_ONLY also takes attach; it runs by default)
# Extra arguments are passed on to bench.py.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

[[ $(id -u) == 0 ]] || { echo "bench: run as root (the rig's Postfix needs it)" >&2; exit 1; }

# 1. Packages: the project's own, then the peers (Debian packages only).
bash scripts/setup.sh
BENCH_PACKAGES=(msmtp swaks curl time)
# Incoming peers (fetchmail, getmail6, isync come with scripts/setup.sh);
# safecat is fetchmail's Maildir MDA here (see bench/README.md).
BENCH_PACKAGES+=(fetchmail getmail6 isync safecat)
missing=()
for p in "${BENCH_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "bench: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[[ -x /usr/sbin/smtp-source ]] || { echo "bench: /usr/sbin/smtp-source missing (package postfix)" >&2; exit 1; }

# 2. Build mailwire and the benchmark's library client.
export BUILD_DIR=${BUILD_DIR:-build-bench}
bash scripts/build.sh >/dev/null
BUILD_ABS=$(realpath -m -- "$BUILD_DIR")
cc -std=c17 -O2 -Wall -Wextra -Wpedantic -Werror -I"$ROOT/include" \
  bench/mw_bulk.c -L"$BUILD_ABS" -lmailwire \
  -Wl,-rpath,"$BUILD_ABS" -o "$BUILD_ABS/mw_bulk"

# 3. A private rig and a work directory, both removed on exit.
RIG_DIR=$(mktemp -d /tmp/mwbench-rig.XXXXXX)
WORK_DIR=$(mktemp -d /tmp/mwbench-work.XXXXXX)
cleanup() {
  bash "$ROOT/tests/rig/rig.sh" stop "$RIG_DIR" >/dev/null 2>&1 || \
    echo "bench: could not stop the rig in $RIG_DIR" >&2
  rmdir -- "$RIG_DIR" 2>/dev/null || true   # left empty if start failed early
  rm -rf -- "$WORK_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
bash tests/rig/rig.sh start "$RIG_DIR" "${BENCH_BASE_PORT:-25600}"

# 4. The benchmarks.  BENCH_ONLY=incoming skips bench.py's own set.
only=",${BENCH_ONLY:-probe,throughput,memory,incoming},"
if [[ $only == *,probe,* || $only == *,throughput,* || $only == *,memory,* ]]; then
  python3 bench/bench.py --rig-env "$RIG_DIR/rig.env" \
    --mailwire "$BUILD_ABS/mailwire" --bulk "$BUILD_ABS/mw_bulk" \
    --multi-send "$BUILD_ABS/tests/integration/multi_send" \
    --work "$WORK_DIR" --out "${BENCH_OUT:-bench/results/latest.json}" "$@"
fi
# 4b. A large attachment's peak memory against smtp-sink
# (bench/attach_bench.py; BENCH_ATTACH_MIB, default 64,1024).
if [[ -z ${BENCH_ONLY:-} || $only == *,attach,* ]]; then
  python3 bench/attach_bench.py --mailwire "$BUILD_ABS/mailwire" \
    --work "$WORK_DIR" --out "${BENCH_ATTACH_OUT:-bench/results/attach.json}"
fi
# 5. Incoming: a one-way download of 5,000 messages (bench/incoming.py).
if [[ $only == *,incoming,* ]]; then
  python3 bench/incoming.py --rig-env "$RIG_DIR/rig.env" \
    --mailwire "$BUILD_ABS/mailwire" --work "$WORK_DIR" \
    --out "${BENCH_INCOMING_OUT:-bench/results/incoming.json}"
fi

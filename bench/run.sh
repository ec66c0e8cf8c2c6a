#!/usr/bin/env bash
# bench/run.sh - run mailwire's benchmark harness in one command (fresh
# Debian 12, as root): install what is missing, build, run
# bench/sink_bench.py against Postfix's smtp-sink (the primary figure),
# start a private Postfix + Dovecot rig on 127.0.0.1, run bench/bench.py
# and the others against it, stop the rig.
#
# Environment:
#   BUILD_DIR          build directory (default build-bench)
#   BENCH_BASE_PORT    the rig's base port (default 25600; uses BASE..BASE+13)
#   BENCH_MESSAGES     messages per throughput run (default 200)
#   BENCH_ROUNDS       rounds of the one-connection runs, median (default 3)
#   BENCH_BIG_MIB      size of the large message in MiB (default 9)
#   BENCH_NO_DOUBLE=1  skip the doubled (18 MiB) large message
#   BENCH_ONLY         comma list of sink,probe,throughput,memory,incoming,
#                      attach,profile (default all but profile)
#   BENCH_OUT          JSON output (default bench/results/latest.json)
#   BENCH_INCOMING_MESSAGES   messages of the incoming download (default 5000)
#   BENCH_INCOMING_PROTOCOLS  imaps,pop3s (default both)
#   BENCH_INCOMING_OUT JSON of the incoming run (default bench/results/incoming.json)
#   BENCH_ATTACH_MIB   attachment sizes in MiB for the attach run (default 64,1024)
#   BENCH_ATTACH_OUT   JSON of the attach run (default bench/results/attach.json)
#   (BENCH_ONLY also takes attach; it runs by default)
#   BENCH_SINK_MESSAGES   messages of each one-connection row of the sink
#                      bench (default 2000)
#   BENCH_SINK_PROCESSES  messages of each one-process-per-message row
#                      (default 300)
#   BENCH_SINK_MAX_OTHER  cores used by anything else that make a row
#                      contended (default 0.10); BENCH_SINK_TRIES (3)
#   BENCH_SINK_OUT     JSON of the sink run (default bench/results/sink.json)
#   BENCH_ONLY=profile where the time goes (perf, else callgrind), into
#                      bench/results/profile-*.txt (not run by default)
# Extra arguments are passed on to bench.py.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

[[ $(id -u) == 0 ]] || { echo "bench: run as root (the rig's Postfix needs it)" >&2; exit 1; }

# 1. Packages: the project's own, then the peers (Debian packages only).
bash scripts/setup.sh
BENCH_PACKAGES=(msmtp swaks curl time)
# The sink bench's TLS front (implicit TLS before smtp-sink) and taskset;
# perf, strace and valgrind (callgrind) only for BENCH_ONLY=profile.
BENCH_PACKAGES+=(stunnel4 util-linux)
only=",${BENCH_ONLY:-sink,probe,throughput,memory,incoming},"
[[ $only == *,profile,* ]] && BENCH_PACKAGES+=(linux-perf strace valgrind)
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

# 3. A work directory and, when a benchmark needs it, a private rig; both
# removed on exit.
WORK_DIR=$(mktemp -d /tmp/mwbench-work.XXXXXX)
RIG_DIR=
cleanup() {
  if [[ -n $RIG_DIR ]]; then
    bash "$ROOT/tests/rig/rig.sh" stop "$RIG_DIR" >/dev/null 2>&1 || \
      echo "bench: could not stop the rig in $RIG_DIR" >&2
    rmdir -- "$RIG_DIR" 2>/dev/null || true  # left empty if start failed early
  fi
  rm -rf -- "$WORK_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 4a. The primary figure: every client against Postfix's smtp-sink (no rig;
# bench/sink_bench.py), and where the time goes (BENCH_ONLY=profile).
status=0
if [[ $only == *,sink,* ]]; then
  python3 bench/sink_bench.py --mailwire "$BUILD_ABS/mailwire" \
    --bulk "$BUILD_ABS/mw_bulk" --work "$WORK_DIR" \
    --out "${BENCH_SINK_OUT:-bench/results/sink.json}" || status=$?
fi
if [[ $only == *,profile,* ]]; then
  python3 bench/sink_bench.py --profile --mailwire "$BUILD_ABS/mailwire" \
    --bulk "$BUILD_ABS/mw_bulk" --work "$WORK_DIR" \
    --out "${BENCH_SINK_OUT:-bench/results/sink.json}" || status=$?
fi

if [[ $only == *,probe,* || $only == *,throughput,* || \
      $only == *,memory,* || $only == *,incoming,* ]]; then
  RIG_DIR=$(mktemp -d /tmp/mwbench-rig.XXXXXX)
  bash tests/rig/rig.sh start "$RIG_DIR" "${BENCH_BASE_PORT:-25600}"
fi

# 4b. Against the rig.  BENCH_ONLY=incoming skips bench.py's own set.
if [[ $only == *,probe,* || $only == *,throughput,* || $only == *,memory,* ]]; then
  python3 bench/bench.py --rig-env "$RIG_DIR/rig.env" \
    --mailwire "$BUILD_ABS/mailwire" --bulk "$BUILD_ABS/mw_bulk" \
    --multi-send "$BUILD_ABS/tests/integration/multi_send" \
    --work "$WORK_DIR" --out "${BENCH_OUT:-bench/results/latest.json}" "$@"
fi
# 4c. A large attachment's peak memory against smtp-sink
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
exit $status

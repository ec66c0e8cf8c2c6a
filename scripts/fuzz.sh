#!/usr/bin/env bash
# fuzz.sh - build the libFuzzer targets (fuzz/) into ./build-fuzz and run
# each for a while on a scratch copy of its seed corpus.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# SECONDS_PER_TARGET defaults to 10; TARGET defaults to all five.  Exits
# non-zero when a target finds a crash, a leak, a timeout, an out-of-memory
# or a violated invariant (its reproducer is kept under
# build-fuzz/artifacts/TARGET/).  No TTY needed; nothing leaves this
# machine.
#
# Environment:
#   FUZZ_BUILD_DIR  build directory (default build-fuzz, in the repo root)
#   FUZZ_JOBS       targets run at the same time (default: CPUs, up to 5)
#   CC              compiler (default clang; libFuzzer needs clang)
#   MW_FUZZ_RUNS    run each target this many times from seed MW_FUZZ_SEED
#                   (default 1) instead of for SECONDS: repeatable (CI)
#   MW_FUZZ_KNOWN   checks of reported, still open bugs to skip (see
#                   fuzz/README.md)
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-10}
if ! [[ $secs =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]" >&2
  exit 64
fi
shift $(( $# > 0 ? 1 : 0 ))
all_targets=(fuzz_reply fuzz_capa fuzz_sasl fuzz_address fuzz_data fuzz_profile
             fuzz_proxy fuzz_render fuzz_session fuzz_store
             fuzz_imap
             fuzz_imap_session)
all_targets+=(fuzz_pop3)
if (( $# )); then targets=("$@"); else targets=("${all_targets[@]}"); fi
for t in "${targets[@]}"; do
  [[ " ${all_targets[*]} " == *" $t "* ]] || {
    echo "fuzz: unknown target $t (known: ${all_targets[*]})" >&2
    exit 64
  }
done

bdir=${FUZZ_BUILD_DIR:-build-fuzz}
cc=${CC:-clang}
command -v "$cc" >/dev/null || {
  echo "fuzz: $cc not found (apt-get install clang libclang-rt-14-dev)" >&2
  exit 69
}
ncpu=$(nproc 2>/dev/null || echo 1)
jobs=${FUZZ_JOBS:-$(( ncpu < 5 ? ncpu : 5 ))}
(( jobs >= 1 )) || jobs=1

start=$(date +%s)
mkdir -p "$bdir"
echo "fuzz: building in $bdir"
if ! cmake -S fuzz -B "$bdir" -DCMAKE_C_COMPILER="$cc" \
     >"$bdir/configure.log" 2>&1; then
  cat "$bdir/configure.log" >&2
  echo "fuzz: configure failed" >&2
  exit 1
fi
if ! cmake --build "$bdir" -j"$ncpu" >"$bdir/build.log" 2>&1; then
  cat "$bdir/build.log" >&2
  echo "fuzz: build failed" >&2
  exit 1
fi
echo "fuzz: built in $(( $(date +%s) - start ))s; ${#targets[@]} target(s)," \
     "${secs}s each, $jobs at a time"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# One target: its scratch corpus (seeds added, earlier finds kept), its
# own artifact directory, its log; the exit status in a file.
run_target() {
  local t=$1
  local corpus="$bdir/corpus/$t" art="$bdir/artifacts/$t" log="$bdir/logs/$t.log"
  mkdir -p "$corpus" "$art" "$(dirname "$log")"
  cp fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true
  local rc=0
  # MW_FUZZ_RUNS: a fixed number of runs from a fixed seed, so that a CI
  # smoke run is repeatable (a time budget explores differently each run).
  local budget=(-max_total_time="$secs")
  [[ -n ${MW_FUZZ_RUNS:-} ]] && budget+=(-runs="$MW_FUZZ_RUNS" -seed="${MW_FUZZ_SEED:-1}")
  "$bdir/$t" "${budget[@]}" -rss_limit_mb=2048 -timeout=10 \
    -dict=fuzz/mailwire.dict -artifact_prefix="$art/" -print_final_stats=1 \
    "$corpus" >"$log" 2>&1 </dev/null || rc=$?
  echo "$rc" >"$bdir/logs/$t.rc"
}

rm -f "$bdir"/logs/*.rc
running=0
for t in "${targets[@]}"; do
  if (( running >= jobs )); then
    wait -n || true
    running=$(( running - 1 ))
  fi
  run_target "$t" &
  running=$(( running + 1 ))
done
wait || true

passed=0
failed=0
for t in "${targets[@]}"; do
  log="$bdir/logs/$t.log"
  rc=$(cat "$bdir/logs/$t.rc" 2>/dev/null || echo 1)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  stats=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$stats")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$stats")
  corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$stats")
  if [[ -n $cov ]]; then
    line="runs ${runs:-0}, cov $cov, ft $ft, corpus $corp"
  else
    line="runs ${runs:-0}, stopped while running the seeds"
  fi
  if [[ $rc == 0 ]] && grep -q '^Done [0-9]* runs' "$log"; then
    passed=$(( passed + 1 ))
    printf 'fuzz: %-13s ok      %s\n' "$t" "$line"
  else
    failed=$(( failed + 1 ))
    why=$(grep -m1 -E 'invariant violated|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$log" \
          | sed 's/^==[0-9]*== *//' || true)
    art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    printf 'fuzz: %-13s FAILED  %s\n' "$t" "$line"
    printf 'fuzz: %-13s         %s\n' "" "${why:-exit status $rc}"
    [[ -n $art ]] && printf 'fuzz: %-13s         reproduce: %s %s\n' "" "$bdir/$t" "$art"
    printf 'fuzz: %-13s         log: %s\n' "" "$log"
  fi
done
echo "fuzz: $passed passed, $failed failed ($(( $(date +%s) - start ))s)"
(( failed == 0 ))

#!/usr/bin/env bash
# test.sh - set up, build and run every test; this is what .ci/run runs.
#   1. the layer check (../shared/tools/layer-check.py), then the normal
#      build (gcc, warnings as errors): unit tests, and the
#      integration tests against a private Postfix + Dovecot rig and the
#      misbehaving test server, all on 127.0.0.1;
#   2. the same suite built with AddressSanitizer + UndefinedBehaviorSanitizer;
#   3. the integration tests once more with every mailwire process under
#      valgrind memcheck (no errors, no leaks);
#   4. each libFuzzer target for a short smoke run (scripts/fuzz.sh).
# MW_QUICK=1 runs step 1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "== 1/4 build and test"
# The architecture check (issue 10): no include cycle among lib/ folders,
# core/ a leaf, OpenSSL only in lib/tls, sockets only in net/io/tls, no
# decision on an error message's words, no library file over 1,000 lines.
# It lives in the workplace's shared/ beside the checkout.
layer_check=../shared/tools/layer-check.py
if [[ -f $layer_check ]]; then
  python3 "$layer_check"
else
  echo "layer check: $layer_check not found; skipped"
fi
bash scripts/build.sh
(cd build && ctest --output-on-failure -j2 --timeout 900)
[[ ${MW_QUICK:-0} == 1 ]] && exit 0

echo "== 2/4 AddressSanitizer + UndefinedBehaviorSanitizer"
# The composer is linked in here (MW_MIME_BUILTIN): with it loaded by
# dlopen() (libmailwire-mime, GLib), LeakSanitizer's own tracer crashed at
# exit ("Tracer caught signal 11") in some runs (a send with --body whose
# AUTH failed, depending on the password's length), while valgrind finds
# nothing in the same run: a sanitizer limitation, not a memory error.
# The loaded module is covered by stage 1 and by valgrind in stage 3;
# test_lazy_mime skips its module checks in a builtin build.
# The TLS module (libmailwire-tls, OpenSSL) stays a loaded module here:
# LeakSanitizer ran the whole suite with it without trouble (no
# MW_TLS_BUILTIN needed).
BUILD_DIR=build-asan BUILD_TYPE=Debug MW_EXTRA_CMAKE_ARGS=-DMW_MIME_BUILTIN=ON \
  MW_EXTRA_C_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
  bash scripts/build.sh
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
  ctest --output-on-failure -j2 --timeout 900)

echo "== 3/4 valgrind memcheck on the integration tests"
bash tests/valgrind.sh build

echo "== 4/4 fuzz smoke run (fixed seed and run count: repeatable)"
MW_FUZZ_RUNS=${MW_FUZZ_RUNS:-20000} bash scripts/fuzz.sh "${MW_FUZZ_SECONDS:-60}"
echo "== all test stages passed"

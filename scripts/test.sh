#!/usr/bin/env bash
# test.sh - set up, build and run every test (unit tests, and integration
# tests against a private Postfix + Dovecot rig and the misbehaving test
# server, all on 127.0.0.1).  This is what .ci/run runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j2 --timeout 900

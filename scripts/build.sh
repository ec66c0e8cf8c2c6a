#!/usr/bin/env bash
# build.sh - configure and build mailwire (warnings are errors) in ./build.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} -DMW_WERROR=ON >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"

#!/usr/bin/env bash
# build.sh - configure and build mailwire (warnings are errors).
# BUILD_DIR (default build), BUILD_TYPE (default RelWithDebInfo) and
# MW_EXTRA_C_FLAGS (for example sanitizer flags) and MW_EXTRA_CMAKE_ARGS
# (more -D settings, split on spaces) may be set.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" \
  -DMW_WERROR=ON -DCMAKE_C_FLAGS="${MW_EXTRA_C_FLAGS:-}" \
  ${MW_EXTRA_CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"

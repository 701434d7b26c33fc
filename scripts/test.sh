#!/usr/bin/env bash
# Fresh Debian 12 machine → every test: unit and integration tests on the
# normal build, then the unit tests and short fuzz runs under ASan+UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

jobs=$(nproc)
export CTEST_OUTPUT_ON_FAILURE=1

echo "== build (RelWithDebInfo, gcc)"
scripts/build.sh
echo "== tests"
ctest --test-dir build -j"$jobs" --timeout 300

echo "== build (ASan+UBSan, clang, fuzzers)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DWSD_SANITIZE=address -DWSD_FUZZ=ON -DWSD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"
echo "== tests under ASan+UBSan, and bounded fuzz runs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan -j"$jobs" --timeout 300

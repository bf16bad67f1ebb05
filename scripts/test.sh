#!/usr/bin/env bash
# Builds and runs the whole test suite:
#   1. build/      RelWithDebInfo: every unit and integration test (real Xvnc, real viewer);
#   2. build-asan/ AddressSanitizer + UndefinedBehaviorSanitizer: every unit test.
# Run scripts/install-deps.sh (as root) first. JOBS=N overrides the build parallelism.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-2}

echo "== build (RelWithDebInfo)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"

echo "== unit tests"
ctest --test-dir build -L unit -j"$jobs" --output-on-failure
echo "== integration tests"
ctest --test-dir build -L integration --output-on-failure

echo "== build (ASan + UBSan)"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DVHM_SANITIZE=ON -DVHM_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs" --target unit_tests
echo "== unit tests under ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan -L unit -j"$jobs" --output-on-failure

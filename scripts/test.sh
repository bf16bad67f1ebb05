#!/usr/bin/env bash
# Builds and runs the whole test suite, compiled once with AddressSanitizer and
# UndefinedBehaviorSanitizer (build-test/):
#   1. unit tests (Catch2, leak checking on);
#   2. every libFuzzer target briefly on its corpus (build-fuzz/, clang; scripts/fuzz.sh);
#   3. integration tests: that sanitized proxy between real Xvnc and real
#      viewers on loopback, JOBS + 1 test files at a time (INTEGRATION_JOBS=N overrides).
# Run scripts/install-deps.sh (as root) first. JOBS=N overrides the parallelism;
# BUILD_DIR=DIR another build directory. Times per phase: docs/building.md.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-2}
build=${BUILD_DIR:-build-test}

phase_start=$SECONDS
phase() {
  if [ -n "${phase_name:-}" ]; then echo "== $phase_name: $((SECONDS - phase_start)) s"; fi
  phase_name=$1
  phase_start=$SECONDS
  [ -n "$1" ] && echo "== $1"
  return 0
}

phase "build (ASan + UBSan)"
# Unity batches of 12 files: a build from scratch does a tenth less work than
# with the default 6 (docs/building.md); UNITY_BATCH=6 suits edit-and-rebuild.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DVHM_SANITIZE=ON -DVHM_BUILD_TESTS=ON \
  -DVHM_BUILD_BENCH=OFF -DVHM_UNITY_BATCH="${UNITY_BATCH:-12}" >/dev/null
cmake --build "$build" -j"$jobs"

phase "unit tests under ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$build" -L unit -j"$jobs" --output-on-failure

phase "fuzzing (short runs of every target)"
scripts/fuzz.sh --ci

phase "integration tests (sanitized proxy, real Xvnc and viewers)"
# One more than the cores: the tests mostly wait on real peers (docs/building.md).
ctest --test-dir "$build" -L integration -j"${INTEGRATION_JOBS:-$((jobs + 1))}" --output-on-failure
phase ""

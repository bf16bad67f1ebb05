#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, -DVHM_FUZZ=ON, in build-fuzz/) and runs
# each on a scratch copy of its corpus, fuzz/corpus/<target>/ (docs/fuzzing.md).
#
#   scripts/fuzz.sh [--ci] [--seconds N] [--jobs N] [--update-corpus] [TARGET...]
#
#   --seconds N       fuzzing time per target (default 300)
#   --jobs N          targets run at once (default: the number of cores)
#   --ci              a short bounded run: 3 s per target, 2 at a time, built at -O0
#   --update-corpus   afterwards, merge what the run found and the seeds
#                     (fuzz/make_seeds.py) into fuzz/corpus/ (-merge=1, minimized)
#   TARGET...         only these targets (default: all, see build-fuzz/fuzz/targets.txt)
#
# A finding (crash, sanitizer report, failed check, leak, timeout, out of
# memory) fails the target: its reproducer is left in
# build-fuzz/findings/<target>/ and printed, with the end of the log
# (build-fuzz/fuzz-logs/<target>.log). Exit status 1 if any target failed.
# Without --update-corpus the repository's corpus is never written to.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${VHM_FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=300 jobs=$(nproc) update_corpus=0 seconds_given=0 jobs_given=0 ci=0
selected=()
while (($#)); do
  case $1 in
    --seconds) seconds=$2 seconds_given=1; shift 2 ;;
    --jobs) jobs=$2 jobs_given=1; shift 2 ;;
    --ci) ci=1; shift ;;
    --update-corpus) update_corpus=1; shift ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz: unknown option $1" >&2; exit 2 ;;
    *) selected+=("$1"); shift ;;
  esac
done
if ((ci)); then
  ((seconds_given)) || seconds=3
  ((jobs_given)) || jobs=2
fi

# --- build --------------------------------------------------------------------
# --ci compiles at -O0 (half the build time; seconds of fuzzing need coverage,
# not speed), real runs at -O1: switching rebuilds.
optimization=-O1
((ci)) && optimization=-O0
mkdir -p "$build"
if [ ! -f "$build/CMakeCache.txt" ]; then
  export CC=clang CXX=clang++
fi
cmake -S "$root" -B "$build" -G Ninja -DVHM_FUZZ=ON -DVHM_BUILD_TESTS=OFF -DVHM_BUILD_BENCH=OFF \
  -DVHM_UNITY_BATCH="${UNITY_BATCH:-12}" -DVHM_FUZZ_OPT="$optimization" >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log" >&2; exit 1; }
cmake --build "$build" --target vhm_fuzzers -j "$(nproc)"

# name max_len dictionary, one line per target (fuzz/CMakeLists.txt)
declare -A max_len dict
targets=()
while read -r name len dictionary; do
  [[ -z $name || $name == \#* ]] && continue
  targets+=("$name") max_len[$name]=$len dict[$name]=$dictionary
done <"$build/fuzz/targets.txt"
if ((${#selected[@]})); then
  for name in "${selected[@]}"; do
    [[ -n ${max_len[$name]:-} ]] || { echo "fuzz: no target $name (have: ${targets[*]})" >&2; exit 2; }
  done
  targets=("${selected[@]}")
fi

# --- run ----------------------------------------------------------------------
logs=$build/fuzz-logs scratch=$build/fuzz-corpus
mkdir -p "$logs" "$scratch"

run_target() {
  local name=$1 corpus=$scratch/$1 findings=$build/findings/$1 rc=0
  rm -rf "$corpus" "$findings" "$logs/$name".*
  mkdir -p "$corpus" "$findings"
  # A scratch copy: libFuzzer writes new inputs into its first corpus directory.
  if [ -d "$root/fuzz/corpus/$name" ]; then cp -r "$root/fuzz/corpus/$name/." "$corpus/"; fi
  local args=(-max_total_time="$seconds" -print_final_stats=1 -max_len="${max_len[$name]}" -rss_limit_mb=2048
              -timeout=10 -artifact_prefix="$findings/")
  [ "${dict[$name]}" = - ] || args+=(-dict="$root/fuzz/dict/${dict[$name]}")
  "$build/fuzz/fuzz_$name" "${args[@]}" "$corpus" </dev/null >"$logs/$name.log" 2>&1 || rc=$?
  echo "$rc" >"$logs/$name.rc"
}

start=$SECONDS
for name in "${targets[@]}"; do
  while (($(jobs -rp | wc -l) >= jobs)); do wait -n || true; done
  run_target "$name" &
done
wait

passed=0 failed=0
for name in "${targets[@]}"; do
  log=$logs/$name.log rc=$(cat "$logs/$name.rc" 2>/dev/null || echo "?")
  # libFuzzer 14 calls the final count number_of_executed_units (later: _runs).
  execs=$(sed -En 's/^stat::number_of_executed_(runs|units): *//p' "$log" | tail -n 1)
  corpus_size=$(find "$scratch/$name" -type f | wc -l)
  reproducers=$(find "$build/findings/$name" -type f | sort)
  if [ "$rc" = 0 ] && [ -z "$reproducers" ]; then
    passed=$((passed + 1))
    echo "fuzz: $name: ok, ${execs:-?} executions, corpus $corpus_size inputs"
  else
    failed=$((failed + 1))
    echo "fuzz: $name: FAILED (exit $rc), ${execs:-?} executions; log: $log"
    tail -n 40 "$log" | sed 's/^/  | /'
    for file in $reproducers; do echo "fuzz: $name: reproducer: $file"; done
    echo "fuzz: $name: replay: $build/fuzz/fuzz_$name ${reproducers%%$'\n'*}"
  fi
done
echo "fuzz: $((SECONDS - start)) s of fuzzing, ${seconds} s per target, $jobs at a time"

# --- corpus upkeep ------------------------------------------------------------
if ((update_corpus)); then
  python3 "$root/fuzz/make_seeds.py" "$build/seeds" >/dev/null
  for name in "${targets[@]}"; do
    merged=$build/fuzz-merged/$name repo=$root/fuzz/corpus/$name
    rm -rf "$merged" && mkdir -p "$merged" "$repo" "$build/seeds/$name"
    # -use_counters=0: one input per edge, not per hit count, keeps the corpus
    # small (a tenth of the size); a run finds the counts again in seconds.
    "$build/fuzz/fuzz_$name" -merge=1 -use_counters=0 -max_len="${max_len[$name]}" -rss_limit_mb=2048 -timeout=10 \
      "$merged" "$scratch/$name" "$build/seeds/$name" </dev/null >"$logs/$name.merge.log" 2>&1
    # Reproducers of past findings stay whatever their coverage (docs/fuzzing.md);
    # merged files are named by their SHA-1, so a copy of one is easy to drop.
    find "$repo" -type f ! -name 'regression-*' -delete
    for file in "$repo"/regression-*; do
      if [ -f "$file" ]; then rm -f "$merged/$(sha1sum "$file" | cut -d' ' -f1)"; fi
    done
    cp "$merged"/* "$repo"/ 2>/dev/null || true
    echo "fuzz: $name: corpus $(find "$repo" -type f | wc -l) inputs, $(cat "$repo"/* | wc -c) bytes"
  done
fi

echo "fuzz: $passed passed, $failed failed"
((failed == 0))

#!/usr/bin/env bash
# Fuzzes each target under libFuzzer with AddressSanitizer and
# UndefinedBehaviorSanitizer for a bounded number of inputs, the two
# targets side by side (one core each), and prints how many inputs each
# ran and how long it took:
#
#   frame_fuzz      every message type through framing and verification
#   scheduler_fuzz  random command sequences against the scheduling core
#   ring_fuzz       a hostile peer against the shared-memory ring's ends
#                   (after frame_fuzz, on the same core)
#
# Builds them with clang in build-fuzz/ (libFuzzer needs clang). Each run
# starts from the target's checked-in corpus (tests/fuzz/corpus/frame,
# tests/fuzz/corpus/scheduler, tests/fuzz/corpus/ring; never written) with
# a fixed seed, so a run is repeatable; what it finds new goes to
# build-fuzz/corpus/<target>, emptied first. A failing input is saved as
# build-fuzz/<target>-crash-* and the script fails; replay it with
# build-fuzz/tests/fuzz/<target> FILE (BOCD_FUZZ_TRACE=1 prints
# scheduler_fuzz's commands).
#
#   tools/fuzz.sh                    the default number of inputs
#   BOCD_FUZZ_RUNS=N tools/fuzz.sh   N inputs per target
#
# Defaults: 200000 inputs of frame_fuzz (seconds); 100000 of
# scheduler_fuzz, whose inputs are whole command sequences checked after
# every step (a few minutes on one core); 100000 of ring_fuzz (about
# half a minute).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build-fuzz
frame_runs=${BOCD_FUZZ_RUNS:-200000}
scheduler_runs=${BOCD_FUZZ_RUNS:-100000}
ring_runs=${BOCD_FUZZ_RUNS:-100000}

bash tools/deps.sh
CXX=clang++ cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DBOCD_SANITIZE=address,undefined -DBOCD_LIBFUZZER=ON \
  -DBOCD_BUILD_BENCH=OFF >/dev/null
cmake --build "$dir" -j "$(nproc)" --target frame_fuzz scheduler_fuzz \
  ring_fuzz

# run NAME CORPUS RUNS MAX_LEN: fuzzes NAME from tests/fuzz/corpus/CORPUS,
# its log in $dir/NAME.log.
run() {
  local name=$1 corpus=$2 runs=$3 max_len=$4
  rm -rf "$dir/corpus/$name" "$dir/$name.runs"  # so each run starts alike
  mkdir -p "$dir/corpus/$name"
  local start=$SECONDS
  # -len_control=0: inputs reach max_len at once instead of growing
  # slowly (a scheduler input's length is how many commands it plays).
  if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
     UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     "$dir/tests/fuzz/$name" -seed=1 -runs="$runs" -max_len="$max_len" \
       -len_control=0 -print_final_stats=1 \
       -artifact_prefix="$dir/$name-" \
       "$dir/corpus/$name" "tests/fuzz/corpus/$corpus" \
       >"$dir/$name.log" 2>&1; then
    local done_runs
    done_runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$dir/$name.log")
    echo "fuzz: $name: ${done_runs:-?} inputs in $((SECONDS - start)) s, no failure"
    echo "${done_runs:-0}" >"$dir/$name.runs"
  else
    tail -n 40 "$dir/$name.log"
    echo "fuzz: $name FAILED after $((SECONDS - start)) s (log $dir/$name.log)"
    return 1
  fi
}

# The two short targets share one core, the long one has the other.
short_targets() {
  local s=0
  run frame_fuzz frame "$frame_runs" 4096 || s=1
  run ring_fuzz ring "$ring_runs" 16384 || s=1
  return "$s"
}
short_targets & frame=$!
run scheduler_fuzz scheduler "$scheduler_runs" 1024 & scheduler=$!
status=0
wait "$frame" || status=1
wait "$scheduler" || status=1
total=0
for name in frame_fuzz scheduler_fuzz ring_fuzz; do
  [ -f "$dir/$name.runs" ] && total=$((total + $(cat "$dir/$name.runs")))
done
echo "fuzz: $total inputs in all"
exit "$status"

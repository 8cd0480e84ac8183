#!/usr/bin/env bash
# Runs every test: builds and runs the C++ suite (unit, property,
# integration against the real daemon, fuzz corpus replay, layering) and
# its integration tests again over the socket transport, installs the
# Python package into .venv and runs its pytest suite against the real
# daemon (on shared-memory rings, then on the socket) and mypy --strict
# over it, runs the suite again on the
# oldest and newest other CPython >= 3.10 present, then builds the C++
# tests again with AddressSanitizer and UndefinedBehaviorSanitizer and runs
# them, fuzzes each fuzz target under those sanitizers for a bounded number
# of inputs (tools/fuzz.sh; BOCD_FUZZ_RUNS sets it), and runs the C++
# client's multithreaded tests against the real daemon with
# ThreadSanitizer, and the shared-memory ring's tests under it.
# Fails if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

echo "== build (RelWithDebInfo)"
bash tools/build.sh build
echo "== tests"
ctest --test-dir build --output-on-failure -j "$jobs"
# Programs and workers take shared-memory rings by default; the socket
# transport stays a supported choice (BOCD_TRANSPORT=socket), so the
# integration tests run on it too.
echo "== integration tests over the socket (BOCD_TRANSPORT=socket)"
BOCD_TRANSPORT=socket ctest --test-dir build --output-on-failure -j "$jobs" \
  -E '^(Scheduler|CownTable|Terminator|FlatIndex|BlobTable|Ring|Segment|FdPassing|scheduler_fuzz|frame_fuzz|ring_fuzz|install_|layering)'

echo "== Python package (.venv)"
bash tools/venv.sh
# The Ray executor's tests (tests/python/test_ray.py) run in this venv
# only: Ray is large, one interpreter's run shows the bridge works. Where
# it cannot be installed they skip and say so.
.venv/bin/python -m pip install -q "ray>=2.9" ||
  echo "Ray could not be installed: tests/python/test_ray.py skips"
# "Any CPython >= 3.10": the oldest and the newest other interpreter the
# machine has (tools/pythons.sh) get a venv each; ccache makes each
# package build compile only its extension module. The main suite runs
# programs on them against its daemon; then each runs the suite itself.
others=()
for python in $(bash tools/pythons.sh .venv/bin/python); do
  v=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  echo "== Python $v package (.venv-$v)"
  BOCD_VENV=".venv-$v" PYTHON="$python" bash tools/venv.sh
  others+=("$PWD/.venv-$v/bin/python")
done
export BOCD_TEST_PYTHONS="${others[*]}"
echo "== Python tests"
.venv/bin/python -m pytest tests/python -q
echo "== Python tests over the socket (BOCD_TRANSPORT=socket)"
BOCD_TRANSPORT=socket .venv/bin/python -m pytest tests/python -q \
  --ignore=tests/python/test_ray.py  # the bridge is a worker like any other
echo "== Python types (mypy --strict)"
.venv/bin/mypy --strict -p bocd
.venv/bin/mypy --strict tests/typing
for python in "${others[@]}"; do
  echo "== Python tests on $("$python" --version)"
  # Its "other" interpreters are the rest, the main one among them.
  rest=("$PWD/.venv/bin/python")
  for o in "${others[@]}"; do [ "$o" = "$python" ] || rest+=("$o"); done
  BOCD_TEST_PYTHONS="${rest[*]}" "$python" -m pytest tests/python -q
done

echo "== build (AddressSanitizer + UndefinedBehaviorSanitizer)"
bash tools/build.sh build-asan -DCMAKE_BUILD_TYPE=Debug \
  -DBOCD_SANITIZE=address,undefined -DBOCD_BUILD_BENCH=OFF
echo "== tests under ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j "$jobs"

echo "== fuzzing under ASan + UBSan (libFuzzer)"
bash tools/fuzz.sh

# The C++ client runs its IO thread (and its watchdog) beside the calling
# threads: these suites drive it from several threads against the real
# daemon, all of it (tests, client library, daemon, test workers) built
# with TSan. A race report aborts the process that saw it, which fails the
# test. The shared-memory ring's tests run too (the stress test drives
# two threads through one ring): TSan checks the ring's memory orders.
# Only those are built: the rest of the C++ suite has run under ASan
# already.
echo "== build (ThreadSanitizer)"
bash tools/deps.sh
cmake -S . -B build-tsan -G Ninja -DBOCD_SANITIZE=thread \
  -DBOCD_BUILD_BENCH=OFF >/dev/null
cmake --build build-tsan -j "$jobs" --target integration_tests proto_tests
echo "== client and ring tests under TSan"
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  ctest --test-dir build-tsan --output-on-failure -j "$jobs" \
  -R '^(Client|ClientReview|Acquire|Mail|MailBoard|MailLifetime|MailLimits|MailStream|MailWorker|Pinned|Output|TakeBack|WorkerPool|CownLifetime|Blob|Ring|RingStress|RingPeerDeath)\.'

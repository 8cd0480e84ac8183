#!/usr/bin/env bash
# Installs the build tree ($1) into a temporary prefix, builds the consumer
# project ($2) against it with find_package(bocd), starts the installed
# daemon and runs the consumer on it. $3: the cmake to use; $4: the
# sanitizers the build tree was built with, if any (the consumer must link
# their runtimes too).
set -euo pipefail
build=$1 source=$2 cmake=$3 sanitize=${4:-}
flags=()
if [ -n "$sanitize" ]; then
  flags=(-DCMAKE_CXX_FLAGS="-fsanitize=$sanitize")
fi
tmp=$(mktemp -d /tmp/bocd-consumer-XXXXXX)
socket=$tmp/run/bocd.sock
cleanup() {
  "$tmp/prefix/bin/bocd" stop --socket "$socket" --timeout 10 >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
"$cmake" --install "$build" --prefix "$tmp/prefix" >/dev/null
if ! "$cmake" -S "$source" -B "$tmp/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
    "${flags[@]}" > "$tmp/configure.log" 2>&1; then
  cat "$tmp/configure.log"
  exit 1
fi
"$cmake" --build "$tmp/build"
# Returns once the daemon listens (it reports through a pipe), then
# detaches.
"$tmp/prefix/bin/bocd" serve --socket "$socket" --workers 0 \
  --log-file "$tmp/bocd.log"
out=$("$tmp/build/consumer" "$socket")
echo "consumer printed: $out"
if [ "$out" != "42" ]; then
  echo "FAIL: expected 42; daemon log:"
  cat "$tmp/bocd.log"
  exit 1
fi

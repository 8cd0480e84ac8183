#!/usr/bin/env bash
# Configures and builds bocd into build/ (or $1), with extra CMake args
# after it. Uses every core the machine has.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
bash tools/deps.sh
cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
cmake --build "$dir" -j "$(nproc)"

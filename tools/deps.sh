#!/usr/bin/env bash
# Installs the Debian packages bocd builds with, when missing. As root it
# runs apt-get; otherwise it prints the exact command to run and fails.
set -euo pipefail

PACKAGES=(
  cmake ninja-build g++ ccache python3 python3-venv python3-dev
  libboost-dev flatbuffers-compiler libflatbuffers-dev
  libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # tools/fuzz.sh: libFuzzer needs clang; its runtime (libclang_rt.fuzzer,
  # the sanitizers') is only a recommendation of clang-14, not installed
  # with --no-install-recommends.
  clang libclang-rt-14-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "deps: missing Debian packages; run:" >&2
  echo "  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

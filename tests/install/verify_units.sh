#!/usr/bin/env bash
# Installs the build tree ($1) into a temporary prefix and checks the
# systemd units it installed with `systemd-analyze verify`: unknown
# directives, bad values and an ExecStart that does not exist all fail
# (verify's warnings count as failures: it exits 0 on some of them).
set -euo pipefail
build=$1
if ! command -v systemd-analyze >/dev/null; then
  echo "skipped: systemd-analyze not found (Debian package systemd)"
  exit 77
fi
tmp=$(mktemp -d /tmp/bocd-units-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null

check() {  # check [--user] UNIT...
  local out rc=0
  out=$(systemd-analyze "$@" 2>&1) || rc=$?
  if [ $rc -ne 0 ] || [ -n "$out" ]; then
    echo "FAIL: systemd-analyze $* (exit $rc):"
    echo "$out"
    return 1
  fi
  echo "ok: systemd-analyze $*"
}

units=$prefix/lib/systemd
grep -q "ExecStart=$prefix/bin/bocd " "$units/system/bocd.service" \
  || { echo "FAIL: system unit does not run $prefix/bin/bocd"; exit 1; }
grep -q "ExecStart=$prefix/bin/bocd " "$units/user/bocd.service" \
  || { echo "FAIL: user unit does not run $prefix/bin/bocd"; exit 1; }
check verify "$units/system/bocd.socket" "$units/system/bocd.service"
# A user manager needs a runtime directory of its own (%t).
mkdir -m 0700 "$tmp/xdg"
XDG_RUNTIME_DIR=$tmp/xdg check --user verify "$units/user/bocd.socket" \
  "$units/user/bocd.service"

#!/usr/bin/env bash
# Builds everything (the daemon and the Python package, installed into
# .venv) and starts the daemon on the default socket ($BOCD_SOCKET, else
# $XDG_RUNTIME_DIR/bocd/bocd.sock, else /tmp/bocd-$UID/bocd.sock) with the
# package's Python as its workers' interpreter and one worker per core
# (or $BOCD_WORKERS, or --workers N among the arguments). Extra arguments go
# to `bocd serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh
bash tools/venv.sh
workers=(--workers "${BOCD_WORKERS:-$(nproc)}")
for arg in "$@"; do
  case "$arg" in --workers|--workers=*) workers=() ;; esac
done
.venv/bin/bocd serve --python "$PWD/.venv/bin/python" "${workers[@]}" "$@"
.venv/bin/bocd status

#!/usr/bin/env bash
# Builds everything (the daemon and the Python package, installed into
# .venv) and starts the daemon on the default socket ($BOCD_SOCKET, else
# $XDG_RUNTIME_DIR/bocd/bocd.sock, else /tmp/bocd-$UID/bocd.sock) with the
# package's Python as its workers' interpreter and the daemon's default
# workers (one per physical core; $BOCD_WORKERS, or --workers N among the
# arguments, chooses). Extra arguments go to `bocd serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh
bash tools/venv.sh
workers=()
[ -n "${BOCD_WORKERS:-}" ] && workers=(--workers "$BOCD_WORKERS")
for arg in "$@"; do
  case "$arg" in --workers|--workers=*) workers=() ;; esac
done
.venv/bin/bocd serve --python "$PWD/.venv/bin/python" "${workers[@]}" "$@"
.venv/bin/bocd status

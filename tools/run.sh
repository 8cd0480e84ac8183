#!/usr/bin/env bash
# Builds everything and starts the daemon on the default socket
# ($BOCD_SOCKET, else $XDG_RUNTIME_DIR/bocd/bocd.sock, else
# /tmp/bocd-$UID/bocd.sock). Extra arguments go to `bocd serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/build.sh build
build/daemon/bocd serve "$@"
build/daemon/bocd status

#!/usr/bin/env bash
# Builds and installs the Python package (the extension, the `bocd` daemon
# binary and the `bocd` command) into the virtual environment .venv (or
# $BOCD_VENV), creating it with $PYTHON (default python3) first, with the
# build and test tools from PyPI. Compiles through ccache (its cache in
# .ccache/), so a package for a second interpreter compiles only what
# differs: the extension module.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${BOCD_VENV:-.venv}
python=${PYTHON:-python3}
if command -v ccache >/dev/null; then
  export CMAKE_CXX_COMPILER_LAUNCHER=ccache
  # Paths under the checkout hash as relative ones, so each interpreter's
  # build directory (build-py/<tag>/) finds the others' objects.
  export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
  export CCACHE_DIR=${CCACHE_DIR:-$PWD/.ccache}
fi
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q \
  "scikit-build-core>=0.10" "pybind11>=2.12" "cloudpickle>=3.0" \
  "pytest>=7" hypothesis numpy mypy typing_extensions
# No build isolation: the tools above are the build's, and a rebuild reuses
# build-py/ instead of starting from nothing.
"$venv/bin/python" -m pip install -q --no-build-isolation .

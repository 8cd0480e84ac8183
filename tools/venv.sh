#!/usr/bin/env bash
# Builds and installs the Python package (the extension, the `bocd` daemon
# binary and the `bocd` command) into the virtual environment .venv (or
# $BOCD_VENV), creating it first, with the build and test tools from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${BOCD_VENV:-.venv}
python=${PYTHON:-python3}
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q \
  "scikit-build-core>=0.10" "pybind11>=2.12" "cloudpickle>=3.0" \
  "pytest>=7" hypothesis numpy
# No build isolation: the tools above are the build's, and a rebuild reuses
# build-py/ instead of starting from nothing.
"$venv/bin/python" -m pip install -q --no-build-isolation .

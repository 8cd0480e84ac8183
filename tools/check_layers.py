#!/usr/bin/env python3
"""Enforces the layering of shared/STYLE.md: which layer may include what.

Each layer lists the include prefixes it may use; anything else in a quoted
or angled include that names one of our layers or a third-party library is
a violation. Run by ctest as the `layering` test.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)

# Include prefixes that identify a layer or library.
KINDS = {
    "core/": "core",
    "server/": "server",
    "app/": "app",
    "shm/": "shm",
    "bocd/proto/": "proto",
    "bocd/client/": "client",
    "boost/asio": "asio",
    "boost/interprocess": "interprocess",
    "boost/": "boost",
    "flatbuffers/": "flatbuffers",
    "spdlog/": "spdlog",
    "fmt/": "spdlog",
    "CLI/": "cli11",
    "pybind11/": "pybind11",
    "nanobind/": "pybind11",
}
OS_HEADERS = re.compile(r"^(unistd|fcntl|pwd|grp|sys/.*|netinet/.*|pthread)\.h$")
BANNED_IN_CORE_STD = {"thread", "mutex", "iostream", "fstream", "chrono",
                      "random", "filesystem", "atomic", "condition_variable"}

ALLOWED = {
    "proto": {"proto", "flatbuffers", "os"},
    "core": set(),
    "shm": {"proto", "interprocess", "boost", "os"},
    "server": {"core", "proto", "shm", "asio", "boost", "spdlog", "server",
               "os"},
    "app": {"core", "proto", "shm", "server", "asio", "boost", "spdlog",
            "cli11", "client", "app", "os"},
    "client": {"proto", "asio", "interprocess", "boost", "client", "os"},
    "python": {"client", "pybind11"},
}
LAYER_DIRS = {
    "proto": "proto",
    "daemon/core": "core",
    "daemon/shm": "shm",
    "daemon/server": "server",
    "daemon/app": "app",
    "client-cpp": "client",
    "client-python": "python",
}


def kind_of(header):
    for prefix, kind in KINDS.items():
        if header.startswith(prefix):
            return kind
    if OS_HEADERS.match(header):
        return "os"
    return None


def main():
    errors = []
    for rel, layer in LAYER_DIRS.items():
        base = ROOT / rel
        if not base.exists():
            continue
        for path in sorted(base.rglob("*")):
            if path.suffix not in {".h", ".cc", ".hpp", ".cpp"}:
                continue
            text = path.read_text(errors="replace")
            for header in INCLUDE.findall(text):
                if layer == "core":
                    local = "/" not in header and (path.parent / header).exists()
                    if local:
                        continue
                    if header in BANNED_IN_CORE_STD or kind_of(header):
                        errors.append(f"{path}: core may not include <{header}>")
                    continue
                kind = kind_of(header)
                if kind and kind not in ALLOWED[layer] | {layer}:
                    errors.append(f"{path}: {layer} may not include {header}")
    for e in errors:
        print(e)
    print(f"layering: {len(errors)} violation(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

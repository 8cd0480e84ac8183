#!/usr/bin/env python3
"""Enforces the layering of docs/architecture.md: which layer may include
what.

Each layer lists the include prefixes it may use; anything else in a quoted
or angled include that names one of our layers or a third-party library is
a violation. In the Python package, the modules' imports of one another
(function-level ones too) must form no cycle, and no module may import the
package itself (``from . import name`` of a name that is not a module).
Run by ctest as the `layering` test.
"""
import ast
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
    "nlohmann/": "json",
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
            "cli11", "json", "client", "app", "os"},
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


PACKAGE = "client-python/bocd"


def package_imports(path, modules):
    """The sibling modules `path` imports, and names it takes from the
    package itself."""
    out, upward = set(), []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                out.add(node.module.split(".")[0])
                continue
            for alias in node.names:
                if alias.name in modules:
                    out.add(alias.name)
                else:
                    upward.append(alias.name)
        elif isinstance(node, ast.ImportFrom) and node.level > 1:
            upward.append("." * node.level + (node.module or ""))
    return out, upward


def python_cycles():
    """Import cycles and upward imports among the package's modules."""
    base = ROOT / PACKAGE
    if not base.exists():
        return []
    paths = {p.stem: p for p in sorted(base.glob("*.py"))
             if p.stem != "__init__"}
    modules = set(paths) | {p.stem for p in base.glob("*.pyi")}
    graph, errors = {}, []
    for name, path in paths.items():
        graph[name], upward = package_imports(path, modules)
        for what in upward:
            errors.append(f"{path}: imports {what!r} from the package itself")
    state = {}

    def visit(name, stack):
        state[name] = "open"
        for dep in sorted(graph.get(name, ())):
            if state.get(dep) == "open":
                cycle = stack[stack.index(dep):] + [dep]
                errors.append(f"{base}: import cycle {' -> '.join(cycle)}")
            elif dep not in state:
                visit(dep, stack + [dep])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    return errors


def main():
    errors = python_cycles()
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

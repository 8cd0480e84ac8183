#!/usr/bin/env bash
# Prints the interpreters the test command also runs the Python suite on:
# the oldest and the newest CPython >= 3.10 found on PATH (python3.N) or
# under pyenv, leaving out the version of $1 (the main suite's, which runs
# anyway). Prints nothing when there are none. One path per line.
set -euo pipefail
main=$("${1:-python3}" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
declare -A found=()
candidates=("${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.*/bin/python3)
for n in $(seq 10 30); do
  p=$(command -v "python3.$n" 2>/dev/null || true)
  [ -n "$p" ] && [[ "$p" != */shims/* ]] && candidates+=("$p")
done
for p in "${candidates[@]}"; do
  [ -x "$p" ] || continue
  v=$("$p" -c 'import sys; print("%d.%d" % sys.version_info[:2] if sys.version_info >= (3, 10) and sys.implementation.name == "cpython" else "-")' 2>/dev/null) || continue
  if [ -z "$v" ] || [ "$v" = "-" ] || [ "$v" = "$main" ]; then continue; fi
  [ -n "${found[$v]:-}" ] || found[$v]=$p
done
[ ${#found[@]} -eq 0 ] && exit 0
versions=$(printf '%s\n' "${!found[@]}" | sort -t. -k1,1n -k2,2n)
oldest=$(head -1 <<<"$versions")
newest=$(tail -1 <<<"$versions")
echo "${found[$oldest]}"
[ "$newest" != "$oldest" ] && echo "${found[$newest]}"
exit 0

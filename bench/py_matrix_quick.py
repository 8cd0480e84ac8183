"""Quick comparison of bocd.Matrix with bocpy 0.14's Matrix, op by op.

Both types run in one interpreter, alternately, so a busy machine slows
both alike. bocpy needs Python 3.13 here; bocd must be importable by the
same interpreter, for instance from a 3.13 virtual environment made with
`BOCD_VENV=.venv-3.13 PYTHON=python3.13 bash tools/venv.sh`:

    bench/.venv-bocpy/bin/python bench/py_matrix_quick.py \
        --bocd-site .venv-3.13/lib/python3.13/site-packages

Prints, for sizes 4x4, 100x100 and 1000x1000, the best time per call of:
element-wise add and multiply, @ (not at 1000), sum(axis=0),
normalize(axis=1), take and put of every other row, and a boids-style
step on an (n*n/2)x2 batch (mean, broadcast subtract, in-place add,
row normalize).
"""
from __future__ import annotations

import argparse
import sys
import timeit


def boids_step(pos, vel, dt=0.01):
    center = pos.mean(axis=0)
    vel += (center - pos) * 0.01
    vel = vel.normalize(axis=1)
    pos += vel * dt
    return pos, vel


def operations(matrix, n):
    matrix.seed(1)
    a, b = matrix.uniform(0, 1, (n, n)), matrix.uniform(0, 1, (n, n))
    rows = list(range(0, n, 2))
    value = matrix.uniform(0, 1, (len(rows), n))
    batch = (n * n // 2 if n > 4 else 8, 2)
    pos, vel = matrix.uniform(0, 1, batch), matrix.uniform(-1, 1, batch)
    ops = {"add": lambda: a + b, "multiply": lambda: a * b,
           "matmul": lambda: a @ b, "sum0": lambda: a.sum(axis=0),
           "normalize": lambda: a.normalize(axis=1),
           "take": lambda: a.take(rows), "put": lambda: a.put(rows, value),
           "boids": lambda: boids_step(pos, vel)}
    if n >= 1000:
        del ops["matmul"]
    return ops


def best(call) -> float:
    timer = timeit.Timer(call)
    number, _ = timer.autorange()
    return min(min(timer.repeat(3, number)) for _ in range(2)) / number


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bocd-site", help="a site-packages with bocd")
    args = parser.parse_args()
    if args.bocd_site:
        sys.path.append(args.bocd_site)
    import bocd
    import bocpy
    for n in (4, 100, 1000):
        theirs = operations(bocpy.Matrix, n)
        ours = operations(bocd.Matrix, n)
        for name in theirs:
            t_bocpy, t_bocd = best(theirs[name]), best(ours[name])
            print(f"{n:5} {name:10} bocpy {t_bocpy * 1e6:10.2f} us   "
                  f"bocd {t_bocd * 1e6:10.2f} us   bocd/bocpy "
                  f"{t_bocd / t_bocpy:5.2f}", flush=True)


if __name__ == "__main__":
    main()

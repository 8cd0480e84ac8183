"""Fibonacci by nested behaviors: each behavior schedules its two halves.

``fib(n)`` schedules a behavior that, from inside its body, schedules
``fib(n - 1)`` and ``fib(n - 2)``, down to a threshold where a leaf computes
its small Fibonacci number directly and adds it into one ``total`` cown
(fib(n) is the sum of the leaves). The splitting behaviors hold no cown, so
they spread over the workers; only the additions queue on ``total``.
quiesce() covers the whole tree, since a nested behavior is counted before its
parent finishes.

    python examples/fibonacci.py [n] [--threshold 12]
"""

import argparse

from bocd import Cown, quiesce, wait, when


def sequential(n: int) -> int:
    """Compute Fibonacci iteratively."""
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def fib(n: int, total: Cown, threshold: int):
    """Schedule the computation of fib(n), to be added into ``total``."""
    @when()
    def split(n=n, total=total, threshold=threshold):
        if n > threshold:
            fib(n - 1, total, threshold)
            fib(n - 2, total, threshold)
            return
        part = sequential(n)

        @when(total)
        def add(total: Cown, part=part):
            total.value += part


def main():
    """Compute fib(n) in parallel and compare with the sequential result."""
    parser = argparse.ArgumentParser("Fibonacci")
    parser.add_argument("n", type=int, nargs="?", default=22)
    parser.add_argument("--threshold", type=int, default=12)
    args = parser.parse_args()

    result = Cown(0)
    fib(args.n, result, args.threshold)
    quiesce()
    with result as value:
        parallel = value
    wait()

    expected = sequential(args.n)
    if parallel != expected:
        print(f"fib({args.n}) = {parallel}, expected {expected}")
        raise SystemExit(1)
    print(f"fib({args.n}) = {parallel}")


if __name__ == "__main__":
    main()

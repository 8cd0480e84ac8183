"""Factor several numbers at once, one chain of behaviors per number.

Each number lives in its own cown. A behavior on it finds the smallest prime
factor of what is left, records it, and (from inside its body) schedules the
next step on the same cown. Chains on different numbers run in parallel;
steps of one chain run in order, since they share the cown.

    python examples/prime_factorization.py [--count 12] [--seed 7]
"""

import argparse
import math
import random

from bocd import Cown, quiesce, wait, when


class Factoring:
    """A number being factored: what is left of it and the factors so far."""

    def __init__(self, number: int):
        """Start factoring ``number``."""
        self.number = number
        self.rest = number
        self.factors = []


def smallest_factor(n: int) -> int:
    """Return the smallest prime factor of ``n`` (n >= 2) by trial division."""
    if n % 2 == 0:
        return 2
    for d in range(3, math.isqrt(n) + 1, 2):
        if n % d == 0:
            return d
    return n


def factor_step(entry: Cown):
    """Schedule one step: split off the smallest factor, then continue."""
    @when(entry)
    def step(entry: Cown):
        job = entry.value
        if job.rest == 1:
            return
        p = smallest_factor(job.rest)
        job.factors.append(p)
        job.rest //= p
        if job.rest > 1:
            factor_step(entry)


def make_numbers(count: int, seed: int) -> list:
    """Return ``count`` numbers, mostly products of a few primes near 10**5."""
    rng = random.Random(seed)
    primes = [p for p in range(100_003, 101_000, 2) if smallest_factor(p) == p]
    numbers = []
    for i in range(count):
        factors = rng.sample(primes, 2) + [rng.choice([2, 3, 5, 7])] * (i % 3)
        numbers.append(math.prod(factors))
    return numbers


def main():
    """Factor the numbers in parallel and check every factorization."""
    parser = argparse.ArgumentParser("Prime factorization")
    parser.add_argument("--count", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    jobs = [Cown(Factoring(n)) for n in make_numbers(args.count, args.seed)]
    for job in jobs:
        factor_step(job)

    quiesce()
    correct = 0
    for job in jobs:
        with job as j:
            print(f"{j.number} = {' x '.join(map(str, j.factors))}")
            prime = all(smallest_factor(p) == p for p in j.factors)
            if math.prod(j.factors) == j.number and prime and j.rest == 1:
                correct += 1
    wait()

    if correct != len(jobs):
        print(f"only {correct} of {len(jobs)} factorizations check")
        raise SystemExit(1)
    print(f"factored {len(jobs)} numbers, all products check")


if __name__ == "__main__":
    main()

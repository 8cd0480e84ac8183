"""Count the primes below a limit, one behavior per block of numbers.

The blocks need no shared state, so each runs as a zero-cown behavior on any
free worker. A final behavior over the group of their result cowns adds the
counts: listing a result cown in a request set orders the reader after the
behavior that produces it.

    python examples/primes.py [--limit 100000] [--blocks 16]
"""

import argparse
import math

from bocd import quiesce, wait, when


def small_primes(limit: int) -> list:
    """Return the primes up to ``limit`` (a plain sieve of Eratosthenes)."""
    if limit < 2:
        return []
    sieve = bytearray([1]) * (limit + 1)
    sieve[0] = sieve[1] = 0
    for p in range(2, math.isqrt(limit) + 1):
        if sieve[p]:
            sieve[p * p::p] = bytes(len(range(p * p, limit + 1, p)))
    return [p for p in range(limit + 1) if sieve[p]]


def count_primes(lo: int, hi: int, divisors: list) -> int:
    """Count the primes in [lo, hi) by trial division by ``divisors``."""
    count = 0
    for n in range(max(lo, 2), hi):
        root = math.isqrt(n)
        for p in divisors:
            if p > root:
                count += 1
                break
            if n % p == 0:
                break
        else:
            count += 1
    return count


def main():
    """Split [0, limit) into blocks, count each in parallel, add them up."""
    parser = argparse.ArgumentParser("Primes")
    parser.add_argument("--limit", type=int, default=100_000)
    parser.add_argument("--blocks", type=int, default=16)
    args = parser.parse_args()

    divisors = small_primes(math.isqrt(args.limit))
    step = -(-args.limit // args.blocks)
    counts = []
    for lo in range(0, args.limit, step):
        hi = min(lo + step, args.limit)

        @when()
        def block(lo=lo, hi=hi, divisors=divisors):
            return count_primes(lo, hi, divisors)

        counts.append(block)

    @when(counts)
    def total(counts: list):
        return sum(c.value for c in counts)

    quiesce()
    found = total.unwrap()
    wait()

    expected = len(small_primes(args.limit - 1))
    if found != expected:
        print(f"{found} primes below {args.limit}, expected {expected}")
        raise SystemExit(1)
    print(f"{found} primes below {args.limit}")


if __name__ == "__main__":
    main()

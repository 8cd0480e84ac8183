"""Atomic transfers between bank accounts: the total balance is conserved.

Each transfer is one behavior over two account cowns, so it holds both
accounts for its whole body: no other transfer (and no audit) can see money
that has left one account and not yet reached the other. An audit scheduled
half-way through, over every account at once, sees the same total as the end.

    python examples/bank.py [--accounts 10] [--transfers 500] [--seed 1]
"""

import argparse
import random

from bocd import Cown, quiesce, wait, when


class Account:
    """A named account with a balance."""

    def __init__(self, name: str, balance: int):
        """Open an account holding ``balance``."""
        self.name = name
        self.balance = balance

    def __repr__(self) -> str:
        """Return a readable representation for debugging."""
        return f"Account(name={self.name!r}, balance={self.balance})"


def transfer(src: Cown, dst: Cown, amount: int) -> Cown:
    """Move ``amount`` from ``src`` to ``dst`` if ``src`` can cover it.

    Returns the result cown: True when the money moved, False when refused.
    """
    @when(src, dst)
    def do_transfer(src: Cown, dst: Cown, amount=amount):
        if src.value.balance < amount:
            return False
        src.value.balance -= amount
        dst.value.balance += amount
        return True

    return do_transfer


def audit(accounts: list) -> Cown:
    """Sum every balance in one atomic step over all the accounts."""
    @when(accounts)
    def do_audit(accounts: list):
        return sum(a.value.balance for a in accounts)

    return do_audit


def main():
    """Open accounts, run random transfers and an audit, check the total."""
    parser = argparse.ArgumentParser("Bank transfers")
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--transfers", type=int, default=500)
    parser.add_argument("--balance", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    accounts = [Cown(Account(f"acct{i}", args.balance))
                for i in range(args.accounts)]
    expected = args.accounts * args.balance

    results = []
    mid_audit = None
    for k in range(args.transfers):
        if k == args.transfers // 2:
            mid_audit = audit(accounts)
        src, dst = rng.sample(range(args.accounts), 2)
        results.append(transfer(accounts[src], accounts[dst],
                                rng.randint(1, args.balance)))

    quiesce()
    moved = sum(1 for r in results if r.unwrap())
    seen_mid_way = mid_audit.unwrap()
    total = 0
    for account in accounts:
        with account as a:
            total += a.balance
    wait()

    print(f"{moved} of {args.transfers} transfers went through")
    print(f"audit half-way saw total {seen_mid_way}")
    if total != expected or seen_mid_way != expected:
        print(f"total {total} NOT conserved (expected {expected})")
        raise SystemExit(1)
    print(f"total {total} conserved")


if __name__ == "__main__":
    main()

"""Dining philosophers: each bite takes both forks at once, so none deadlock.

A bite is one behavior over the philosopher's left fork, right fork and
hunger. The runtime acquires the whole set in one global order, so the classic
circular wait cannot happen. A philosopher who is still hungry schedules the
next bite from inside the current one.

    python examples/dining_philosophers.py [--philosophers 5] [--hunger 4]
"""

import argparse

from bocd import Cown, quiesce, wait, when


class Fork:
    """A fork that counts how often it was used, and by whom."""

    def __init__(self):
        """Create an unused fork."""
        self.uses = 0
        self.users = set()

    def use(self, philosopher: int):
        """Record one bite taken with this fork."""
        self.uses += 1
        self.users.add(philosopher)


def eat(index: int, left: Cown, right: Cown, hunger: Cown):
    """Schedule one bite for philosopher ``index``; it reschedules itself."""
    @when(left, right, hunger)
    def take_bite(left: Cown, right: Cown, hunger: Cown, index=index):
        left.value.use(index)
        right.value.use(index)
        hunger.value -= 1
        if hunger.value > 0:
            eat(index, left, right, hunger)


def main():
    """Seat the philosophers, let them eat, then inspect the forks."""
    parser = argparse.ArgumentParser("Dining philosophers")
    parser.add_argument("--philosophers", "-p", type=int, default=5)
    parser.add_argument("--hunger", "-g", type=int, default=4)
    args = parser.parse_args()

    count = args.philosophers
    forks = [Cown(Fork()) for _ in range(count)]
    hungers = [Cown(args.hunger) for _ in range(count)]
    for i in range(count):
        eat(i, forks[i - 1], forks[i], hungers[i])

    quiesce()
    bites = 0
    ok = True
    for i, fork in enumerate(forks):
        with fork as f:
            print(f"fork {i}: {f.uses} uses by philosophers {sorted(f.users)}")
            bites += f.uses
            ok = ok and f.uses == 2 * args.hunger
    for hunger in hungers:
        with hunger as h:
            ok = ok and h == 0
    wait()

    bites //= 2  # every bite uses two forks
    if not ok:
        print(f"philosophers NOT all full after {bites} bites")
        raise SystemExit(1)
    print(f"all {count} philosophers full after {bites} bites")


if __name__ == "__main__":
    main()

"""A Tk window whose counter lives in a PinnedCown, fed by the workers.

Tk may be touched only from the thread that made the window. The counter
(its Tk variables) goes into a PinnedCown, so every behavior on it runs on
the main thread, when the program pumps. Worker behaviors add up the squares
of a chunk of numbers each; each then schedules, from inside its body, a
behavior on the counter that adds its chunk's sum. Tk's own loop drives the
pump: ``root.after(TICK_MS, tick)`` calls ``pump(deadline_ms=...)`` so that
the window stays responsive however much work waits.

    python examples/tk_counter.py [--updates 40] [--chunk 100000]
    python examples/tk_counter.py --headless

The window needs tkinter, which comes with CPython but not with every
build of it (on Debian it is the python3-tk package). ``--headless`` makes
no window (there may be no display) and needs no tkinter: the counter is a
plain object and a small timer loop stands in for Tk's, with the same
after(), mainloop() and quit(), the same tick and the same pinned flow.
"""

import argparse
import heapq
import threading
import time

import bocd
from bocd import PinnedCown, pump, when

TICK_MS = 20    # how often the loop pumps
PUMP_MS = 10    # of which the pump may take, so the window stays responsive


class Tally:
    """The counter: a running sum and the number of chunks in it. Notes
    any update made from another thread than the one that made it."""

    def __init__(self):
        """Start at zero, owned by the calling thread."""
        self.total = 0
        self.updates = 0
        self.off_thread = 0
        self.owner = threading.get_ident()

    def add(self, amount: int):
        """Add one chunk's sum and show it."""
        if threading.get_ident() != self.owner:
            self.off_thread += 1
        self.total += amount
        self.updates += 1
        self.show()

    def show(self):
        """Show the counter (nowhere, without a window)."""


class TkTally(Tally):
    """The counter shown in a Tk window, through Tk variables."""

    def __init__(self, root, tk, expected: int):
        """Lay out the counter's labels in ``root``."""
        super().__init__()
        self.expected = expected
        self.count = tk.StringVar(root)
        self.sum = tk.StringVar(root)
        for var in (self.count, self.sum):
            tk.Label(root, textvariable=var, font=("TkFixedFont", 14),
                     padx=16, pady=6).pack(anchor="w")
        self.show()

    def show(self):
        """Show the counter: Tk variables, so only on Tk's thread."""
        self.count.set(f"updates: {self.updates} of {self.expected}")
        self.sum.set(f"sum of squares: {self.total:,}")


class HeadlessRoot:
    """Tk's after(), mainloop() and quit(), without a window: a timer queue."""

    def __init__(self):
        """Make an empty loop."""
        self.timers = []
        self.made = 0
        self.running = False

    def after(self, ms: int, func):
        """Call ``func`` once, ``ms`` milliseconds from now."""
        self.made += 1  # ties keep their order; functions never compare
        heapq.heappush(self.timers, (time.monotonic() + ms / 1000,
                                     self.made, func))

    def mainloop(self):
        """Run the timers in order until quit() or none is left."""
        self.running = True
        while self.running and self.timers:
            due, _, func = heapq.heappop(self.timers)
            time.sleep(max(0.0, due - time.monotonic()))
            func()

    def quit(self):
        """Return from mainloop() once the running timer is done."""
        self.running = False


def sum_of_squares(lo: int, hi: int) -> int:
    """Return the sum of n * n for n in [lo, hi)."""
    return sum(n * n for n in range(lo, hi))


def count_chunk(tally: PinnedCown, lo: int, hi: int):
    """Sum the squares in [lo, hi) on a worker, then add the sum into
    ``tally`` on the main thread."""
    @when()
    def compute(tally=tally, lo=lo, hi=hi):
        amount = sum_of_squares(lo, hi)

        @when(tally)
        def show(tally: PinnedCown, amount=amount):
            tally.value.add(amount)

        return amount


def keep_pumping(root, tally: PinnedCown, updates: int, close_when_done: bool):
    """Pump every TICK_MS from ``root``'s loop; quit it once ``updates``
    chunks are in, if ``close_when_done``."""
    def tick():
        pump(deadline_ms=PUMP_MS)
        if close_when_done and tally.value.updates >= updates:
            root.quit()
            return
        root.after(TICK_MS, tick)

    root.after(TICK_MS, tick)


def make_window(updates: int):
    """Return a Tk root with the counter's labels and its tally."""
    import tkinter as tk  # only here: a headless run needs no display

    root = tk.Tk()
    root.title("bocd counter")
    tally = TkTally(root, tk, updates)
    # Closing the window leaves the loop but keeps the window's variables
    # alive until the last pinned behaviors have run.
    root.protocol("WM_DELETE_WINDOW", root.quit)
    return root, tally


def main():
    """Count chunks on the workers into a counter on the main thread."""
    parser = argparse.ArgumentParser("Tk counter")
    parser.add_argument("--updates", type=int, default=40,
                        help="chunks, each one update of the counter")
    parser.add_argument("--chunk", type=int, default=100_000)
    parser.add_argument("--headless", action="store_true",
                        help="no window: a plain counter and a timer loop")
    parser.add_argument("--close-when-done", action="store_true",
                        help="close the window once every update is in")
    args = parser.parse_args()

    if args.headless:
        root, value = HeadlessRoot(), Tally()
    else:
        root, value = make_window(args.updates)
    tally = PinnedCown(value)
    for k in range(args.updates):
        count_chunk(tally, k * args.chunk, (k + 1) * args.chunk)
    keep_pumping(root, tally, args.updates, args.headless or
                 args.close_when_done)
    root.mainloop()
    bocd.wait()  # pumps whatever a closed window left
    if not args.headless:
        root.destroy()

    m = args.updates * args.chunk
    expected = (m - 1) * m * (2 * m - 1) // 6
    if value.total != expected or value.updates != args.updates or \
            value.off_thread:
        print(f"counter {value.total} after {value.updates} updates "
              f"({value.off_thread} off the main thread), expected {expected}")
        raise SystemExit(1)
    print(f"tk_counter: {value.updates} updates, all on the main thread, "
          f"sum of squares below {m} = {value.total}")


if __name__ == "__main__":
    main()

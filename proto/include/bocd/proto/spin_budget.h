// SpinBudget: how long a ring reader watches its idle ring before it parks,
// adapted to how long its idle spells last. Spinning pays only when work
// comes back within the spin: then it saves the peer a wake-up syscall and
// this side a sleep and a wake (about 19 us each way across two CPUs of a
// small VM). When work comes back later, every spin is a core taken from
// the peers for nothing, which on a machine with more processes than cores
// slows them down.
//
// So the reader reports each idle spell (from its last work to its next,
// whether the work came while it spun or woke it from a park), and the
// budget follows a moving estimate of a typical spell: twice the estimate
// (a spin that catches a typical spell and some longer ones) while that
// fits under the cap, and 0 (park at once) when spells are longer than the
// cap. Parked spells keep being measured, so a reader that stopped
// spinning starts again when its peer becomes quick again. A cap of 0
// never spins (a program's and a worker's by default: the daemon's
// `--peer-spin-us`).
//
// Pure: the caller measures time with its own clock. Not thread-safe; one
// per reader.
#pragma once

#include <algorithm>
#include <chrono>

namespace bocd::proto {

class SpinBudget {
 public:
  using ns = std::chrono::nanoseconds;

  explicit SpinBudget(ns cap) : cap_(cap), typical_(cap / 2) {}

  // How long to watch the ring before parking, now.
  ns current() const {
    ns twice = 2 * typical_;
    return twice <= cap_ ? twice : ns{0};
  }

  // An idle spell ended after `spell`: the time from the reader's last
  // work until its next (spun through or parked through).
  void idle_spell(ns spell) {
    if (cap_.count() == 0) return;
    // Spells far past the cap all say the same (park); bounding them lets
    // a few short ones bring the spin back quickly.
    spell = std::min(spell, 2 * cap_);
    typical_ = (3 * typical_ + spell) / 4;
  }

  ns cap() const { return cap_; }

 private:
  ns cap_;
  ns typical_;
};

}  // namespace bocd::proto

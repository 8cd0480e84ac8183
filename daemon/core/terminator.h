// Terminator: the in-flight count of a set of behaviors and the waiters that
// want to hear when it reaches zero (seastar's gate, bocpy's terminator).
//
// Lifecycle. Every behavior is counted from the moment it is accepted until
// it completes, is cancelled or is aborted, so a nested behavior is counted
// before its parent finishes and waiting covers the whole tree.
//
//   state   | who moves it                      | to
//   --------+-----------------------------------+---------------------------
//   OPEN    | try_enter() ok / leave()          | OPEN  (count +1 / -1)
//   OPEN    | close() (daemon stopping)         | CLOSED
//   CLOSED  | try_enter() -> false              | CLOSED (nothing counted)
//   CLOSED  | leave()                           | CLOSED (count -1)
//
// Quiesce is a checkpoint, not a state: wait(token) records a waiter; the
// next time the count is zero (at once if it already is) the waiter is
// handed back by leave()/wait() and forgotten. Nothing is torn down.
// wait(token, level) is the same for a count of at most `level` (room for
// a program that holds its submits near its limit).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace bocd::core {

class Terminator {
 public:
  // False when closed: the caller must refuse the new behavior.
  bool try_enter() {
    if (closed_) return false;
    ++count_;
    return true;
  }

  // One counted behavior is done. Appends to `fired` every waiter released
  // because the count reached zero.
  void leave(std::vector<std::uint64_t>& fired) {
    --count_;
    if (!waiters_.empty() && count_ <= highest_level_) take_waiters(fired);
  }

  // Registers a waiter for the next time the count is at most `level`
  // (zero: quiescence); fires it at once if it is.
  void wait(std::uint64_t token, std::vector<std::uint64_t>& fired,
            std::uint64_t level = 0) {
    waiters_.push_back(Waiter{token, level});
    highest_level_ = std::max(highest_level_, level);
    if (count_ <= level) take_waiters(fired);
  }

  // Drops a waiter that no longer wants to hear (its session closed).
  void forget(std::uint64_t token) {
    std::erase_if(waiters_, [&](const Waiter& w) { return w.token == token; });
  }

  void close() { closed_ = true; }
  bool closed() const { return closed_; }
  std::uint64_t count() const { return count_; }
  std::size_t waiter_count() const { return waiters_.size(); }

 private:
  struct Waiter {
    std::uint64_t token;
    std::uint64_t level;
  };

  // Fires the waiters whose level the count has reached.
  void take_waiters(std::vector<std::uint64_t>& fired) {
    highest_level_ = 0;
    std::erase_if(waiters_, [&](const Waiter& w) {
      if (count_ <= w.level) {
        fired.push_back(w.token);
        return true;
      }
      highest_level_ = std::max(highest_level_, w.level);
      return false;
    });
  }

  std::uint64_t count_ = 0;
  bool closed_ = false;
  std::vector<Waiter> waiters_;
  // The highest level any waiter waits for: leave() looks no further
  // while the count is above it (the hot path has no waiter at all).
  std::uint64_t highest_level_ = 0;
};

}  // namespace bocd::core

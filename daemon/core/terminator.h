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
    if (count_ == 0) take_waiters(fired);
  }

  // Registers a waiter for the next zero; fires it at once if idle.
  void wait(std::uint64_t token, std::vector<std::uint64_t>& fired) {
    waiters_.push_back(token);
    if (count_ == 0) take_waiters(fired);
  }

  // Drops a waiter that no longer wants to hear (its session closed).
  void forget(std::uint64_t token) {
    waiters_.erase(std::remove(waiters_.begin(), waiters_.end(), token),
                   waiters_.end());
  }

  void close() { closed_ = true; }
  bool closed() const { return closed_; }
  std::uint64_t count() const { return count_; }
  std::size_t waiter_count() const { return waiters_.size(); }

 private:
  void take_waiters(std::vector<std::uint64_t>& fired) {
    fired.insert(fired.end(), waiters_.begin(), waiters_.end());
    waiters_.clear();
  }

  std::uint64_t count_ = 0;
  bool closed_ = false;
  std::vector<std::uint64_t> waiters_;
};

}  // namespace bocd::core

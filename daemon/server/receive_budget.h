// ReceiveBudget: a daemon-wide bound on the memory of frames still being
// received. A connection claims a large frame's whole length once its
// header has arrived and before it reads the body; a claim that does not
// fit waits until others release theirs. A granted claim covers the whole
// frame, so its holder can always finish: waiting never deadlocks.
//
// Pure bookkeeping, no I/O. Thread: the io_context thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>

namespace bocd::server {

class ReceiveBudget {
 public:
  explicit ReceiveBudget(std::size_t limit) : limit_(limit) {}

  // Claims `n` bytes (n <= limit()). True: granted now. False: `granted`
  // runs once it is (from a later release()); the receiver of that call
  // owns the bytes and must release them, even if it no longer wants them.
  bool claim(std::size_t n, std::function<void()> granted);
  void release(std::size_t n);

  std::size_t limit() const { return limit_; }
  std::size_t used() const { return used_; }
  std::size_t waiting() const { return waiting_.size(); }

 private:
  struct Waiter {
    std::size_t n;
    std::function<void()> granted;
  };
  std::size_t limit_;
  std::size_t used_ = 0;
  std::deque<Waiter> waiting_;
};

}  // namespace bocd::server

// Waking a process parked on a ring: the eventfd each side parks on, and
// SpinThenPark, a small blocking helper for tests and simple callers that
// spins a bounded time before parking. Event loops (Asio) do not use
// SpinThenPark: they wait for the eventfd's readability themselves and use
// the ring's non-blocking calls (ring.h).
//
// On a machine with more processes than cores, spinning steals the core the
// peer needs to make progress, so the budget is a parameter (0 = park at
// once).
#pragma once

#include <chrono>
#include <cstdint>

#include "bocd/proto/ring.h"
#include "bocd/proto/unique_fd.h"

namespace bocd::proto {

// A new non-blocking, close-on-exec eventfd with count 0. Throws
// std::system_error when the OS refuses.
UniqueFd make_wake_fd();

// Reads the eventfd's count to zero (non-blocking); a peer's wake-ups that
// were already acted on should not wake the next park.
void drain_wake_fd(int fd);

enum class WaitStatus {
  ready,        // the condition holds (or the ring is in error: check it)
  timed_out,    // `park_timeout` passed while parked; check for EOF and retry
  interrupted,  // a signal arrived while parked (EINTR); check, then retry
};

// Spins up to `spin` (a CPU pause each round, the clock read only every
// SPIN_CHECK_EVERY rounds; no sched_yield, see wake.cc),
// then parks in poll() on `own_wake_fd` for at most `park_timeout` per
// call (a negative one: until woken, for callers with nothing else to
// watch). One instance per waiting thread; holds no resources. Parking
// drains `own_wake_fd`, so no other thread may wait on the same eventfd
// at the same time (it could take the wake-up meant for that thread): a
// side that reads and writes from two threads needs an eventfd for each.
class SpinThenPark {
 public:
  static constexpr int SPIN_CHECK_EVERY = 64;

  explicit SpinThenPark(std::chrono::nanoseconds spin,
                        std::chrono::milliseconds park_timeout =
                            std::chrono::milliseconds(100))
      : spin_(spin), park_timeout_(park_timeout) {}

  // Until the reader has data (or an error). `own_wake_fd` is the eventfd
  // the reader's peer signals.
  WaitStatus wait_readable(RingReader& reader, int own_wake_fd) const;
  // Until the writer has room (or an error).
  WaitStatus wait_writable(RingWriter& writer, int own_wake_fd) const;

  // How many waits ended parked vs spinning, for benchmarks.
  struct Counts {
    std::uint64_t spun = 0;
    std::uint64_t parked = 0;
  };
  const Counts& counts() const { return counts_; }

 private:
  template <class Ready, class Announce>
  WaitStatus wait(Ready ready, Announce announce, int own_wake_fd) const;

  std::chrono::nanoseconds spin_;
  std::chrono::milliseconds park_timeout_;
  mutable Counts counts_;
};

}  // namespace bocd::proto

#include "bocd/proto/wake.h"

#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <system_error>

namespace bocd::proto {

namespace {

inline void cpu_pause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace

UniqueFd make_wake_fd() {
  int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) {
    throw std::system_error(errno, std::generic_category(), "eventfd");
  }
  return UniqueFd(fd);
}

void drain_wake_fd(int fd) {
  std::uint64_t count;
  while (::read(fd, &count, sizeof count) < 0 && errno == EINTR) {
  }
}

template <class Ready, class Announce>
WaitStatus SpinThenPark::wait(Ready ready, Announce announce,
                              int own_wake_fd) const {
  if (ready()) return WaitStatus::ready;
  if (spin_.count() > 0) {
    auto deadline = std::chrono::steady_clock::now() + spin_;
    for (int round = 1;; ++round) {
      cpu_pause();
      if (ready()) {
        ++counts_.spun;
        return WaitStatus::ready;
      }
      // No sched_yield here: measured with bench/ring_bench on 2 cores
      // with 4 busy processes, yielding while spinning handed the core to
      // a busy process for a whole time slice (one-way p50 of 7-9 ms for
      // 5-50 us budgets, against 11-26 us without it); a bounded spin
      // that then parks costs at most its budget.
      if (round % SPIN_CHECK_EVERY == 0 &&
          std::chrono::steady_clock::now() >= deadline) {
        break;
      }
    }
  }
  ++counts_.parked;
  using clock = std::chrono::steady_clock;
  const bool forever = park_timeout_.count() < 0;
  auto deadline = clock::now() + park_timeout_;
  for (;;) {
    // A wake-up already pending may be for bytes (or room) dealt with
    // already; the announce re-checks the ring after the flag is up, so
    // dropping it loses nothing.
    drain_wake_fd(own_wake_fd);
    if (!announce()) return WaitStatus::ready;
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline -
                                                             clock::now());
    if (!forever && left.count() <= 0) return WaitStatus::timed_out;
    pollfd p{own_wake_fd, POLLIN, 0};
    int n = ::poll(&p, 1, forever ? -1 : static_cast<int>(left.count()));
    if (n < 0) {
      if (errno == EINTR) return WaitStatus::interrupted;
      throw std::system_error(errno, std::generic_category(), "poll(eventfd)");
    }
    if (ready()) return WaitStatus::ready;
    if (n == 0) return WaitStatus::timed_out;
    // A stale wake-up (meant for an earlier park): park again.
  }
}

WaitStatus SpinThenPark::wait_readable(RingReader& reader,
                                       int own_wake_fd) const {
  return wait(
      [&] {
        return reader.available_bytes() > 0 ||
               reader.error() != RingError::none;
      },
      [&] { return reader.announce_parking(); }, own_wake_fd);
}

WaitStatus SpinThenPark::wait_writable(RingWriter& writer,
                                       int own_wake_fd) const {
  return wait(
      [&] {
        return writer.free_bytes() > 0 || writer.error() != RingError::none;
      },
      [&] { return writer.announce_parking(); }, own_wake_fd);
}

}  // namespace bocd::proto

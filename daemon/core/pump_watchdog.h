// PumpWatchdog: which programs have left pinned work waiting too long with
// none of it completed (docs/protocol.md, Pinned cowns). A program's pinned behaviors run only
// when its main thread pumps; one that never pumps stalls every behavior
// queued behind them.
//
// Pure, like the rest of the core: the caller passes the time (in
// milliseconds from any fixed origin) and the queues the scheduler reports
// (Scheduler::pinned_queues), at whatever period it likes; the age it
// reports is as fine as that period.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "ids.h"
#include "scheduler.h"

namespace bocd::core {

struct PumpAlert {
  SessionId session;
  // Since the session's last pinned completion, or since its queue became
  // non-empty if none completed since.
  std::int64_t age_ms = 0;
  std::uint32_t depth = 0;
};

class PumpWatchdog {
 public:
  // `warn_ms`: how long a queue may stay non-empty; zero disables.
  explicit PumpWatchdog(std::int64_t warn_ms) : warn_ms_(warn_ms) {}

  // `queues`: every session whose pinned queue is non-empty now. Returns
  // one alert per stall: a session whose PinnedQueue::progress has not
  // moved for `warn_ms` (a session first seen, or seen with new progress,
  // at this call starts its clock now). It alerts again only after new
  // progress. Sessions not listed are forgotten.
  std::vector<PumpAlert> check(std::int64_t now_ms,
                               std::span<const PinnedQueue> queues);

  bool enabled() const { return warn_ms_ > 0; }

 private:
  struct Seen {
    std::uint64_t progress = 0;
    std::int64_t since_ms = 0;
    bool warned = false;
  };
  std::int64_t warn_ms_;
  std::unordered_map<SessionId, Seen> seen_;
};

}  // namespace bocd::core

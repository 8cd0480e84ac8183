#include "pump_watchdog.h"

namespace bocd::core {

std::vector<PumpAlert> PumpWatchdog::check(
    std::int64_t now_ms, std::span<const PinnedQueue> queues) {
  std::vector<PumpAlert> alerts;
  if (!enabled()) return alerts;
  std::unordered_map<SessionId, Seen> seen;
  seen.reserve(queues.size());
  for (const PinnedQueue& q : queues) {
    Seen s{q.progress, now_ms, false};
    auto it = seen_.find(q.session);
    if (it != seen_.end() && it->second.progress == q.progress) s = it->second;
    std::int64_t age = now_ms - s.since_ms;
    if (!s.warned && age >= warn_ms_) {
      alerts.push_back(PumpAlert{q.session, age, q.depth});
      s.warned = true;
    }
    seen.emplace(q.session, s);
  }
  seen_.swap(seen);
  return alerts;
}

}  // namespace bocd::core

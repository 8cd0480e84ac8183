#include "log_limit.h"

namespace bocd::server {

LogLimiter::LogLimiter(Clock now, std::uint32_t burst,
                       std::chrono::milliseconds window)
    : now_(std::move(now)), burst_(burst > 0 ? burst : 1), window_(window) {}

LogLimiter::Verdict LogLimiter::admit(std::string_view key) {
  auto t = now_();
  auto [it, fresh] = kinds_.try_emplace(std::string(key));
  Kind& k = it->second;
  Verdict v;
  if (fresh || t - k.window_start >= window_) {
    v.suppressed = k.suppressed;
    k = Kind{t, 0, 0};
  }
  if (k.logged < burst_) {
    ++k.logged;
    v.log = true;
  } else {
    ++k.suppressed;  // reported with a later line of this kind, or drain()
  }
  return v;
}

std::vector<std::pair<std::string, std::uint64_t>> LogLimiter::drain(
    bool all) {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  auto t = now_();
  for (auto it = kinds_.begin(); it != kinds_.end();) {
    Kind& k = it->second;
    bool ended = t - k.window_start >= window_;
    if (k.suppressed > 0 && (all || ended)) {
      out.emplace_back(it->first, k.suppressed);
      k.suppressed = 0;
    }
    // A kind quiet for a whole window is forgotten: the map stays as
    // small as the kinds of line recently seen.
    if (ended || all) {
      it = kinds_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

}  // namespace bocd::server

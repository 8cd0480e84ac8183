// LogLimiter: keeps a misbehaving peer (or a flood of connections) from
// filling the disk with one repeated log line. Each kind of line (a key)
// may be logged `burst` times per `window`; later ones in that window are
// counted, and the count is reported once, when that kind is next logged
// after the window, or when the owner drains it (a session closing, the
// daemon's housekeeping).
//
// Time is injected so tests can drive it. Thread: the io_context thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace bocd::server {

class LogLimiter {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  explicit LogLimiter(Clock now, std::uint32_t burst = 10,
                      std::chrono::milliseconds window =
                          std::chrono::seconds(10));

  struct Verdict {
    bool log = false;  // log this line
    // Lines of this kind suppressed in an earlier window and not yet
    // reported: say so with this line.
    std::uint64_t suppressed = 0;
  };
  Verdict admit(std::string_view key);

  // Unreported suppressed counts of every kind whose window has ended
  // (all kinds when `all`), cleared as they are returned.
  std::vector<std::pair<std::string, std::uint64_t>> drain(bool all);

 private:
  struct Kind {
    std::chrono::steady_clock::time_point window_start;
    std::uint32_t logged = 0;
    std::uint64_t suppressed = 0;
  };
  Clock now_;
  std::uint32_t burst_;
  std::chrono::milliseconds window_;
  std::unordered_map<std::string, Kind> kinds_;
};

}  // namespace bocd::server

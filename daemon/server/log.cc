#include "log.h"

namespace bocd::server {

spdlog::logger& log() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto l = spdlog::get("server");
    if (!l) {
      l = spdlog::default_logger()->clone("server");
      spdlog::register_logger(l);
    }
    return l;
  }();
  return *logger;
}

void log_limited(LogLimiter& limiter, std::string_view key,
                 spdlog::level::level_enum level, const std::string& line) {
  LogLimiter::Verdict v = limiter.admit(key);
  if (!v.log) return;
  if (v.suppressed > 0) {
    log().log(level, "{} (suppressed {} similar lines before this)", line,
              v.suppressed);
  } else {
    log().log(level, "{}", line);
  }
}

void log_suppressed(LogLimiter& limiter, bool all, std::string_view who) {
  for (const auto& [key, n] : limiter.drain(all)) {
    log().warn("{}: suppressed {} similar lines: {}", who, n, key);
  }
}

}  // namespace bocd::server

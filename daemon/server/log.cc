#include "log.h"

namespace bocd::server {
namespace {

thread_local std::span<const LogField> fields_now;

}  // namespace

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

std::span<const LogField> current_log_fields() { return fields_now; }

namespace detail {

void log_with_fields(spdlog::level::level_enum level,
                     std::span<const LogField> fields,
                     std::string_view sentence) {
  fields_now = fields;
  try {
    log().log(level, sentence);
  } catch (...) {
    fields_now = {};
    throw;
  }
  fields_now = {};
}

}  // namespace detail
}  // namespace bocd::server

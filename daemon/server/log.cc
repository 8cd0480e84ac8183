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

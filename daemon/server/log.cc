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

}  // namespace bocd::server

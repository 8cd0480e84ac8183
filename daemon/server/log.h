// The server layer's logger, named "server". The app configures sinks
// before the server starts; if it has not (unit tests), spdlog's default
// sink is used.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "log_limit.h"

namespace bocd::server {

spdlog::logger& log();

// Logs `line` unless `limiter` suppresses lines of kind `key` now; the
// first line of a kind after some were suppressed says how many.
void log_limited(LogLimiter& limiter, std::string_view key,
                 spdlog::level::level_enum level, const std::string& line);
// One summary line per kind `limiter` drains (see LogLimiter::drain),
// prefixed with `who` ("session 3", "daemon").
void log_suppressed(LogLimiter& limiter, bool all, std::string_view who);

}  // namespace bocd::server

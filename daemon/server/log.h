// The server layer's logger, named "server". The app configures sinks
// before the server starts; if it has not (unit tests), spdlog's default
// sink is used.
#pragma once

#include <memory>

#include <spdlog/spdlog.h>

namespace bocd::server {

spdlog::logger& log();

}  // namespace bocd::server

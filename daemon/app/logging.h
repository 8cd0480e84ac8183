// Log sinks of the daemon (docs/service.md, Logs): one named spdlog logger
// per layer ("app", "server"), text or JSON lines, to stderr or a file that
// rotates by size and that SIGHUP reopens (for logrotate). Sinks are
// configured here only.
#pragma once

#include <cstddef>
#include <string>

namespace bocd::app {

struct LogConfig {
  std::string level = "info";
  std::string format = "text";  // text | json
  std::string file;             // empty: stderr
  std::size_t max_bytes = 16u << 20;  // > 0: rotate `file` at this size
  std::size_t max_files = 5;          // rotated files kept
};

// Creates the layer loggers with the configured sink. Throws
// spdlog::spdlog_ex naming the file if it cannot be opened, or safely
// (see LogFileSink: no symlink, a directory only the daemon's user may
// write).
void setup_logging(const LogConfig& config);

// Reopens the log file (after rotation). No-op when logging to stderr.
void reopen_log_file();

}  // namespace bocd::app

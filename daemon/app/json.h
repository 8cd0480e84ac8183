// Minimal JSON string escaping for the daemon's JSON log lines and the
// CLI's --json output: both only emit flat objects of numbers and strings,
// which does not warrant another library dependency.
#pragma once

#include <string>
#include <string_view>

namespace bocd::app {

// Appends `s` as a quoted JSON string.
void append_json_string(std::string& out, std::string_view s);

inline std::string json_string(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

}  // namespace bocd::app

// hex(): how the core's error messages print ids (cown and behavior ids
// carry a session prefix in their high bits, which hex keeps readable).
#pragma once

#include <cstdint>
#include <string>

namespace bocd::core {

inline std::string hex(std::uint64_t v) {
  static const char* digits = "0123456789abcdef";
  std::string s = "0x";
  bool started = false;
  for (int shift = 60; shift >= 0; shift -= 4) {
    unsigned d = (v >> shift) & 0xF;
    if (d != 0 || started || shift == 0) {
      s.push_back(digits[d]);
      started = true;
    }
  }
  return s;
}

}  // namespace bocd::core

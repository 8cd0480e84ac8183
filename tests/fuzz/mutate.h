// The byte mutations the replay drivers apply to seed inputs where
// libFuzzer is not linked: a bit flip, a random byte, an insertion, a
// deletion, a truncation, or a 32-bit value that tends to sit on a
// boundary of a length or an offset.
#pragma once

#include <cstdint>
#include <iterator>
#include <random>
#include <vector>

namespace bocd::fuzz {

inline std::uint32_t interesting(std::mt19937_64& rng, std::size_t size) {
  const std::uint32_t values[] = {0, 1, 3, 4, 7, 8, 0x7F, 0xFF, 0xFFFF,
                                  0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
                                  static_cast<std::uint32_t>(size),
                                  static_cast<std::uint32_t>(size - 4)};
  return values[rng() % std::size(values)];
}

inline void mutate_once(std::vector<std::uint8_t>& b, std::mt19937_64& rng) {
  if (b.empty()) {
    b.push_back(static_cast<std::uint8_t>(rng()));
    return;
  }
  std::size_t at = rng() % b.size();
  switch (rng() % 6) {
    case 0: b[at] ^= static_cast<std::uint8_t>(1u << (rng() % 8)); break;
    case 1: b[at] = static_cast<std::uint8_t>(rng()); break;
    case 2: b.insert(b.begin() + at, static_cast<std::uint8_t>(rng())); break;
    case 3: b.erase(b.begin() + at); break;
    case 4: b.resize(at); break;
    default: {
      std::uint32_t v = interesting(rng, b.size());
      for (std::size_t k = 0; k < 4 && at + k < b.size(); ++k) {
        b[at + k] = static_cast<std::uint8_t>(v >> (8 * k));
      }
    }
  }
}

}  // namespace bocd::fuzz

// Strong id types used across the scheduling core. Ids never travel as bare
// integers through an API, so a CownId cannot be passed where a SessionId is
// meant.
#pragma once

#include <cstdint>
#include <functional>

namespace bocd::core {

template <class Tag>
struct Id {
  std::uint64_t value = 0;

  constexpr Id() = default;
  constexpr explicit Id(std::uint64_t v) : value(v) {}
  constexpr explicit operator bool() const { return value != 0; }
  friend constexpr bool operator==(Id a, Id b) { return a.value == b.value; }
  friend constexpr bool operator!=(Id a, Id b) { return a.value != b.value; }
  friend constexpr bool operator<(Id a, Id b) { return a.value < b.value; }
};

using CownId = Id<struct CownTag>;
using BehaviorId = Id<struct BehaviorTag>;
using SessionId = Id<struct SessionTag>;

}  // namespace bocd::core

template <class Tag>
struct std::hash<bocd::core::Id<Tag>> {
  std::size_t operator()(bocd::core::Id<Tag> id) const noexcept {
    // Cown ids are prefix<<32 | counter; mixing keeps buckets spread.
    std::uint64_t x = id.value * 0x9E3779B97F4A7C15ull;
    return static_cast<std::size_t>(x ^ (x >> 32));
  }
};

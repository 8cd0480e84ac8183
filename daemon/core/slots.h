// take_slot: the free-list allocation shared by the core's slabs (cowns,
// behaviors, sessions). Slots are reused, never shrunk, so indices stay
// valid and steady state allocates nothing.
#pragma once

#include <cstdint>
#include <vector>

namespace bocd::core {

// Returns a free slot index of `slots`, growing it if none is free. The
// slot keeps whatever its last occupant left; the caller resets it.
template <class T>
std::uint32_t take_slot(std::vector<T>& slots,
                        std::vector<std::uint32_t>& free) {
  if (free.empty()) {
    slots.emplace_back();
    return static_cast<std::uint32_t>(slots.size() - 1);
  }
  std::uint32_t index = free.back();
  free.pop_back();
  return index;
}

}  // namespace bocd::core

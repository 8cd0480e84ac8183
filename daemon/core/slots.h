// Slab and take_slot: the storage and free-list allocation of the core's
// slot tables (cowns, behaviors, sessions). Slots are reused, never
// shrunk, so indices stay valid and steady state allocates nothing.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace bocd::core {

// Slots in chunks that never move: chunk k holds FIRST << k slots, so a
// table grows by doubling as a vector does, without copying. A vector of
// a million behaviors copies every slot when it doubles: a stall of a
// tenth of a second in the daemon's one thread, which every other program
// sees as a late reply while one program floods it. A chunk is allocated
// whole (default-constructed slots) when the table first reaches it.
template <class T>
class Slab {
 public:
  T& operator[](std::size_t i) {
    auto [k, offset] = place(i);
    return chunks_[k][offset];
  }
  const T& operator[](std::size_t i) const {
    auto [k, offset] = place(i);
    return chunks_[k][offset];
  }
  std::size_t size() const { return size_; }
  // Appends a default-constructed slot.
  void emplace_back() {
    if (size_ == capacity_) {
      std::size_t n = FIRST << chunks_.size();
      chunks_.push_back(std::make_unique<T[]>(n));
      capacity_ += n;
    }
    ++size_;
  }

 private:
  static constexpr std::size_t FIRST = 64;  // a power of two

  // Chunk k starts at FIRST * (2^k - 1).
  static std::pair<std::size_t, std::size_t> place(std::size_t i) {
    std::size_t k = std::bit_width(i / FIRST + 1) - 1;
    return {k, i - FIRST * ((std::size_t{1} << k) - 1)};
  }

  std::vector<std::unique_ptr<T[]>> chunks_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

// Returns a free slot index of `slots` (a vector or a Slab), growing it if
// none is free. The slot keeps whatever its last occupant left; the caller
// resets it.
template <class Slots>
std::uint32_t take_slot(Slots& slots, std::vector<std::uint32_t>& free) {
  if (free.empty()) {
    slots.emplace_back();
    return static_cast<std::uint32_t>(slots.size() - 1);
  }
  std::uint32_t index = free.back();
  free.pop_back();
  return index;
}

}  // namespace bocd::core

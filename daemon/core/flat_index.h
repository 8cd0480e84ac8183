// FlatIndex: an open-addressing map from a 64-bit id to a 32-bit slot
// index, for the cown table's hot path (one probe sequence in one array, no
// node allocation). Hand-written because the core is std-only
// (docs/architecture.md, Layers) and std::unordered_map's node-per-entry
// layout cost a fifth of the core's time in bench/core_bench. Linear
// probing with backward-shift deletion, so there are no tombstones to clean
// up. Key 0 is reserved as "empty" (no id is 0).
#pragma once

#include <cstdint>
#include <vector>

namespace bocd::core {

class FlatIndex {
 public:
  static constexpr std::uint32_t MISSING = 0xFFFFFFFFu;

  std::uint32_t find(std::uint64_t key) const {
    // 0 marks empty buckets, so it must never match one.
    if (keys_.empty() || key == 0) return MISSING;
    for (std::size_t i = home(key);; i = (i + 1) & mask_) {
      if (keys_[i] == key) return values_[i];
      if (keys_[i] == 0) return MISSING;
    }
  }

  // Inserts a key that is not present.
  void insert(std::uint64_t key, std::uint32_t value) {
    // At most half full: most finds on the submit path are misses (a
    // result cown's id is checked to be fresh), and a miss probes to the
    // next empty bucket: about 2.5 probes at one half, 8.5 at three
    // quarters.
    if ((size_ + 1) * 2 > keys_.size()) grow();
    std::size_t i = home(key);
    while (keys_[i] != 0) i = (i + 1) & mask_;
    keys_[i] = key;
    values_[i] = value;
    ++size_;
  }

  void erase(std::uint64_t key) {
    if (keys_.empty() || key == 0) return;
    std::size_t i = home(key);
    while (keys_[i] != key) {
      if (keys_[i] == 0) return;
      i = (i + 1) & mask_;
    }
    // Backward shift: pull later entries of the run into the hole when
    // their home position allows it.
    for (std::size_t j = (i + 1) & mask_;; j = (j + 1) & mask_) {
      if (keys_[j] == 0) break;
      std::size_t h = home(keys_[j]);
      bool movable = (i <= j) ? (h <= i || h > j) : (h <= i && h > j);
      if (movable) {
        keys_[i] = keys_[j];
        values_[i] = values_[j];
        i = j;
      }
    }
    keys_[i] = 0;
    --size_;
  }

  std::size_t size() const { return size_; }

 private:
  std::size_t home(std::uint64_t key) const {
    std::uint64_t x = key * 0x9E3779B97F4A7C15ull;
    return static_cast<std::size_t>(x >> 32) & mask_;
  }

  void grow() {
    std::vector<std::uint64_t> old_keys;
    std::vector<std::uint32_t> old_values;
    old_keys.swap(keys_);
    old_values.swap(values_);
    std::size_t n = old_keys.empty() ? 64 : old_keys.size() * 2;
    keys_.assign(n, 0);
    values_.assign(n, 0);
    mask_ = n - 1;
    size_ = 0;
    for (std::size_t i = 0; i < old_keys.size(); ++i) {
      if (old_keys[i] != 0) insert(old_keys[i], old_values[i]);
    }
  }

  std::vector<std::uint64_t> keys_;
  std::vector<std::uint32_t> values_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

}  // namespace bocd::core

// BlobTable counts the references to shared-memory blobs (docs/protocol.md,
// Shared-memory blobs): one per entry of a stored value's `blobs` and of a
// live behavior's payload blobs. The core never maps or names blobs beyond
// these strings; a blob whose count falls to zero is reported (take_freed)
// for the host to unlink.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace bocd::core {

class BlobTable {
 public:
  void add(const std::vector<std::string>& names) {
    for (const std::string& n : names) ++counts_[n];
  }
  void release(const std::vector<std::string>& names) {
    for (const std::string& n : names) {
      auto it = counts_.find(n);
      if (it == counts_.end()) continue;
      if (--it->second == 0) {
        freed_.push_back(n);
        counts_.erase(it);
      }
    }
  }
  // Names whose last reference went since the last call.
  std::vector<std::string> take_freed() {
    std::vector<std::string> out;
    out.swap(freed_);
    return out;
  }
  bool has_freed() const { return !freed_.empty(); }
  std::size_t size() const { return counts_.size(); }
  std::uint32_t count(const std::string& name) const {
    auto it = counts_.find(name);
    return it == counts_.end() ? 0 : it->second;
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    out.reserve(counts_.size());
    for (const auto& [n, c] : counts_) out.push_back(n);
    return out;
  }

 private:
  std::unordered_map<std::string, std::uint32_t> counts_;
  std::vector<std::string> freed_;
};

}  // namespace bocd::core

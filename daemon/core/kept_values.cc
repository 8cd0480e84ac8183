#include "kept_values.h"

#include <algorithm>
#include <utility>

namespace bocd::core {

bool KeptValues::dispatch(CownId id, std::uint64_t version,
                          std::uint64_t bytes, bool keepable, bool& keep) {
  keep = false;
  if (budget_ == 0) return false;
  if (!keepable) {
    forget(id);
    bytes_sent += bytes;
    return false;
  }
  auto it = entries_.find(id);
  if (it != entries_.end()) {
    Entry& e = it->second;
    touch(id, e);
    ++e.in_use;
    if (e.version == version) {
      ++hits;
      return true;
    }
    // A stale version: the value is sent and replaces it.
    bytes_ = bytes_ - e.bytes + bytes;
    e.version = version;
    e.bytes = bytes;
    keep = true;
  } else if (bytes <= budget_) {
    Entry& e = entries_[id];
    e = Entry{version, bytes, 1, 0};
    touch(id, e);
    bytes_ += bytes;
    keep = true;
  }
  bytes_sent += bytes;
  evict();
  // An entry just kept that the budget cannot hold with the ones in use
  // stays until its behavior ends; the next dispatch forgets it then.
  return false;
}

void KeptValues::wrote(CownId id, std::uint64_t version,
                       std::uint64_t bytes) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  bytes_ = bytes_ - it->second.bytes + bytes;
  it->second.version = version;
  it->second.bytes = bytes;
}

void KeptValues::release(CownId id) {
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second.in_use == 0) return;
  --it->second.in_use;
  evict();
}

void KeptValues::dropped(CownId id) { erase(id); }

void KeptValues::forget(CownId id) {
  if (entries_.count(id) == 0) return;
  erase(id);
  forget_.push_back(id);
}

void KeptValues::forget_passed(CownId id) {
  if (budget_ == 0 || entries_.count(id) != 0) return;
  if (std::find(forget_.begin(), forget_.end(), id) == forget_.end()) {
    forget_.push_back(id);
  }
}

void KeptValues::touch(CownId id, Entry& e) {
  if (e.used != 0) lru_.erase(e.used);
  e.used = ++uses_;
  lru_.emplace(e.used, id);
}

void KeptValues::reset() {
  entries_.clear();
  lru_.clear();
  bytes_ = 0;
  forget_.clear();
  reset_ = true;
}

std::vector<CownId> KeptValues::take_forget() {
  std::vector<CownId> out;
  out.swap(forget_);
  return out;
}

bool KeptValues::take_reset() { return std::exchange(reset_, false); }

bool KeptValues::holds(CownId id, std::uint64_t version) const {
  auto it = entries_.find(id);
  return it != entries_.end() && it->second.version == version;
}

void KeptValues::erase(CownId id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  bytes_ -= it->second.bytes;
  lru_.erase(it->second.used);
  entries_.erase(it);
}

void KeptValues::evict() {
  for (auto at = lru_.begin(); bytes_ > budget_ && at != lru_.end();) {
    CownId id = (at++)->second;  // forget() erases the one `at` left
    if (entries_.at(id).in_use == 0) forget(id);
  }
}

}  // namespace bocd::core

#include "behavior_pool.h"

#include "slots.h"

namespace bocd::core {

std::uint32_t BehaviorPool::allocate() {
  std::uint32_t index = take_slot(slots_, free_);
  Behavior& b = slots_[index];
  b.state = BehaviorState::WAITING;
  b.cancelled = false;
  b.pinned = false;
  b.running_on = SessionId{};
  b.requests.clear();
  b.payload.clear();
  b.refs.clear();
  b.versions.clear();
  b.held.clear();
  b.inherit.clear();
  b.tainted = Errc::none;
  b.forget.clear();
  b.forget_all = false;
  b.code_len = 0;
  b.code_held = b.code_keep = false;
  b.forget_code.clear();
  return index;
}

void BehaviorPool::release(std::uint32_t index) {
  Behavior& b = slots_[index];
  b.state = BehaviorState::FREE;
  // Skips 0 on wrap-around: a live BehaviorId is never 0 ("no parent").
  if (++b.generation == 0) b.generation = 1;
  free_.push_back(index);
}

std::uint32_t BehaviorPool::find(BehaviorId id) const {
  auto index = static_cast<std::uint32_t>(id.value & 0xFFFFFFFFu);
  auto generation = static_cast<std::uint32_t>(id.value >> 32);
  if (index >= slots_.size()) return NONE;
  const Behavior& b = slots_[index];
  if (b.state == BehaviorState::FREE || b.generation != generation) {
    return NONE;
  }
  return index;
}

BehaviorId BehaviorPool::id_of(std::uint32_t index) const {
  return BehaviorId{(std::uint64_t{slots_[index].generation} << 32) | index};
}

}  // namespace bocd::core

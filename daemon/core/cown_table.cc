#include "cown_table.h"

#include "slots.h"

namespace bocd::core {

std::uint32_t CownTable::find(CownId id) const {
  return index_.find(id.value);
}

std::uint32_t CownTable::insert(CownId id, Value value, SessionId owner,
                                bool pinned) {
  std::uint32_t index = take_slot(slots_, free_);
  Cown& c = slots_[index];
  c.id = id;
  c.value = std::move(value);
  c.owner = owner;
  c.owner_handle = true;
  c.pinned = pinned;
  c.last_behavior = NONE;
  c.live = true;
  index_.insert(id.value, index);
  link(index, owner);
  return index;
}

bool CownTable::free_if_unreferenced(std::uint32_t index) {
  Cown& c = slots_[index];
  if (c.owner_handle || c.last_behavior != NONE) return false;
  index_.erase(c.id.value);
  c.value = Value{};
  c.live = false;
  free_.push_back(index);
  return true;
}

void CownTable::drop_handle(std::uint32_t index) {
  unlink(index);
  slots_[index].owner_handle = false;
  free_if_unreferenced(index);
}

void CownTable::drop_owner(SessionId owner) {
  auto head = heads_.find(owner);
  if (head == heads_.end()) return;
  std::uint32_t i = head->second;
  heads_.erase(head);
  while (i != NONE) {
    Cown& c = slots_[i];
    std::uint32_t next = c.next;
    c.prev = c.next = NONE;
    c.owner_handle = false;
    free_if_unreferenced(i);
    i = next;
  }
}

void CownTable::link(std::uint32_t index, SessionId owner) {
  Cown& c = slots_[index];
  auto [it, fresh] = heads_.try_emplace(owner, index);
  c.prev = NONE;
  c.next = fresh ? NONE : it->second;
  if (!fresh) {
    slots_[it->second].prev = index;
    it->second = index;
  }
}

void CownTable::unlink(std::uint32_t index) {
  Cown& c = slots_[index];
  if (c.prev != NONE) {
    slots_[c.prev].next = c.next;
  } else {
    auto it = heads_.find(c.owner);
    if (c.next == NONE) {
      heads_.erase(it);
    } else {
      it->second = c.next;
    }
  }
  if (c.next != NONE) slots_[c.next].prev = c.prev;
  c.prev = c.next = NONE;
}

}  // namespace bocd::core

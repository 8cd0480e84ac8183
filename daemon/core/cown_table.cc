#include "cown_table.h"

#include <utility>

#include "slots.h"

namespace bocd::core {

std::uint32_t CownTable::find(CownId id) const {
  return index_.find(id.value);
}

bool CownTable::all_live(const std::vector<CownId>& ids,
                         CownId& missing) const {
  for (CownId id : ids) {
    if (find(id) == NONE) {
      missing = id;
      return false;
    }
  }
  return true;
}

std::uint32_t CownTable::insert(CownId id, Value value, SessionId owner,
                                bool pinned, SessionId payer) {
  add_refs(value.refs);
  blobs_.add(value.blobs);
  std::uint32_t index = take_slot(slots_, free_);
  Cown& c = slots_[index];
  c.id = id;
  charge(payer, value.bytes(), 0);
  c.value = std::move(value);
  c.version = ++last_version_;
  c.ran_on = SessionId{};
  c.owner = owner;
  c.payer = payer;
  c.program = payer;  // the Scheduler sets the program it belongs to
  c.owner_handle = true;
  c.pinned = pinned;
  c.refs = 0;
  c.last_behavior = NONE;
  c.live = true;
  index_.insert(id.value, index);
  link(index, owner);
  return index;
}

Value CownTable::replace_value(std::uint32_t index, Value value) {
  Cown& c = slots_[index];
  charge(c.payer, value.bytes(), c.value.bytes());
  c.version = ++last_version_;
  return std::exchange(c.value, std::move(value));
}

void CownTable::charge(SessionId payer, std::uint64_t add,
                       std::uint64_t remove) {
  if (add == remove) return;
  std::uint64_t& n = bytes_[payer];
  n = n + add - remove;
  if (n == 0) bytes_.erase(payer);
}

void CownTable::add_refs(const std::vector<CownId>& ids) {
  for (CownId id : ids) ++slots_[find(id)].refs;
}

void CownTable::release_refs(const std::vector<CownId>& ids) {
  for (CownId id : ids) released_.push_back(find(id));
  drain_released();
}

void CownTable::release_ref(std::uint32_t index) {
  released_.push_back(index);
  drain_released();
}

bool CownTable::free_if_unreferenced(std::uint32_t index) {
  if (referenced(slots_[index])) return false;
  free_slot(index);
  drain_released();
  return true;
}

void CownTable::free_slot(std::uint32_t index) {
  Cown& c = slots_[index];
  // Still live: each holds a count from this value until drained.
  for (CownId id : c.value.refs) released_.push_back(find(id));
  blobs_.release(c.value.blobs);
  charge(c.payer, 0, c.value.bytes());  // before its data moves below
  if (c.pinned) freed_pinned_.emplace_back(c.owner, c.id);
  if (c.report_to && c.value.exception) {
    bool whole = c.value.refs.empty() && c.value.blobs.empty();
    unhandled_.push_back(Unhandled{
        c.report_to, c.id,
        Value{whole ? std::move(c.value.data) : std::string(), true,
              c.value.error, {}, {}}});
  }
  index_.erase(c.id.value);
  c.value = Value{};
  c.live = false;
  free_.push_back(index);
}

void CownTable::drain_released() {
  // A worklist, not recursion: a chain of a million cowns, each embedded
  // in the previous one's value, must not overflow the stack.
  while (!released_.empty()) {
    std::uint32_t index = released_.back();
    released_.pop_back();
    Cown& c = slots_[index];
    if (--c.refs == 0 && !referenced(c)) free_slot(index);
  }
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
  // A cascade from one cown cannot free a later one of this list: their
  // owner handles are still set.
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

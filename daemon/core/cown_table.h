// CownTable owns every cown the daemon knows: its value, its owner, and the
// tail of its request queue. Cowns live in a slab addressed by a dense index
// (what behaviors hold, so the hot path never hashes twice); a FlatIndex
// maps wire ids to slots. Each owner session's cowns form an intrusive list
// so that dropping a session's handles needs no allocation per cown.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "flat_index.h"
#include "ids.h"
#include "value.h"

namespace bocd::core {

inline constexpr std::uint32_t NONE = 0xFFFFFFFFu;

struct Cown {
  CownId id;
  Value value;
  SessionId owner;          // the session whose handle keeps it alive
  bool owner_handle = false;  // the owner has not dropped its handle yet
  bool pinned = false;      // behaviors on it run on the owner (DESIGN D8)
  // Tail of the request queue: the behavior slot and its request position
  // that were enqueued last on this cown. NONE when no behavior wants it.
  std::uint32_t last_behavior = NONE;
  std::uint32_t last_request = 0;
  // Owner's intrusive list.
  std::uint32_t prev = NONE;
  std::uint32_t next = NONE;
  bool live = false;
};

class CownTable {
 public:
  // Index of a live cown, or NONE.
  std::uint32_t find(CownId id) const;

  // Creates a cown; the caller has checked the id is free.
  std::uint32_t insert(CownId id, Value value, SessionId owner, bool pinned);

  Cown& at(std::uint32_t index) { return slots_[index]; }
  const Cown& at(std::uint32_t index) const { return slots_[index]; }

  // Frees the cown if nothing refers to it: no owner handle, no queue.
  // Returns whether it was freed.
  bool free_if_unreferenced(std::uint32_t index);

  // The owner drops its handle; frees the cown if nothing else refers to it.
  void drop_handle(std::uint32_t index);

  // Clears the owner handle of every cown `owner` owns, freeing the idle
  // ones. Cowns with queued behaviors survive until their queue empties.
  void drop_owner(SessionId owner);

  std::size_t size() const { return index_.size(); }
  std::size_t capacity() const { return slots_.size(); }

 private:
  void link(std::uint32_t index, SessionId owner);
  void unlink(std::uint32_t index);

  std::vector<Cown> slots_;
  std::vector<std::uint32_t> free_;
  FlatIndex index_;
  // Head of each owner's intrusive list.
  std::unordered_map<SessionId, std::uint32_t> heads_;
};

}  // namespace bocd::core

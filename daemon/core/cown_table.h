// CownTable owns every cown the daemon knows: its value, its owner, its
// reference count, and the tail of its request queue. Cowns live in a slab
// addressed by a dense index (what behaviors hold, so the hot path never
// hashes twice); a FlatIndex maps wire ids to slots. Each owner session's
// cowns form an intrusive list so that dropping a session's handles needs
// no allocation per cown.
//
// Lifetime (docs/protocol.md, Cown lifetime): a cown lives while its owner
// handle is held, a behavior is queued on it, or its reference count is
// above zero. The count is one per entry of a stored value's `refs` naming
// it, per entry of a live behavior's payload refs, and per session holding
// it (HoldCown); the table keeps the first kind itself, the Scheduler the
// other two through add_ref/release_ref. Freeing a cown releases its
// value's refs, which may free more cowns: a cascade, run with a worklist,
// never by recursion.
//
// Known limit: counts do not see cycles. Cowns whose values embed each
// other (A's value refs B, B's refs A; or A refs itself) keep each other
// alive after every handle is dropped, until the daemon stops.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

#include "blob_table.h"
#include "flat_index.h"
#include "ids.h"
#include "slots.h"
#include "value.h"

namespace bocd::core {

inline constexpr std::uint32_t NONE = 0xFFFFFFFFu;

struct Cown {
  CownId id;
  Value value;
  // Changes with every value stored (replace_value), daemon-wide unique:
  // a worker keeps a decoded value under (id, version), so a version once
  // seen never names another value, even of a later cown with this id.
  std::uint64_t version = 0;
  // The worker a pool behavior holding it ran on last (0: none yet): the
  // pool prefers it for the next, which finds the value kept there.
  SessionId ran_on;
  SessionId owner;          // the session whose owner handle it is
  // The program whose byte cap its value counts against (the owner, or
  // the program a worker owner was started for).
  SessionId payer;
  // The program whose sessions may name it (Scheduler::may_name): the
  // process that made it, or the program a worker made it for.
  SessionId program;
  bool owner_handle = false;  // the owner has not dropped its handle yet
  bool pinned = false;      // behaviors on it run on the owner
  // A result cown's program: told if the cown is freed still holding an
  // exception nobody took (0: nobody is told).
  SessionId report_to;
  // Stored values and live payloads naming it, and sessions holding it.
  std::uint64_t refs = 0;
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
  // Whether every id names a live cown; else sets `missing` to the first
  // that does not.
  bool all_live(const std::vector<CownId>& ids, CownId& missing) const;

  // Creates a cown and counts its value's refs. The caller has checked
  // the id is free and every ref names a live cown.
  std::uint32_t insert(CownId id, Value value, SessionId owner, bool pinned,
                       SessionId payer);

  // Stores `value` in cown `index` and returns the old one, whose refs and
  // blobs are still counted (the caller releases them, after counting the
  // new value's). Every change of a stored value goes through here, so
  // the bytes per payer and the versions stay true.
  Value replace_value(std::uint32_t index, Value value);

  // Bytes of the values stored in cowns that `payer` pays for (Value::
  // bytes; a blob named by two values counts twice).
  std::uint64_t bytes_of(SessionId payer) const {
    auto it = bytes_.find(payer);
    return it == bytes_.end() ? 0 : it->second;
  }

  Cown& at(std::uint32_t index) { return slots_[index]; }
  const Cown& at(std::uint32_t index) const { return slots_[index]; }

  // One more reference to each cown named in `ids` (all live, repeats
  // count once each): a value about to be stored.
  void add_refs(const std::vector<CownId>& ids);
  // One reference fewer to each; frees those left unreferenced (cascade).
  void release_refs(const std::vector<CownId>& ids);
  void add_ref(std::uint32_t index) { ++slots_[index].refs; }
  void release_ref(std::uint32_t index);

  // Frees the cown if nothing refers to it: no owner handle, no queue, no
  // count. Returns whether it was freed.
  bool free_if_unreferenced(std::uint32_t index);

  // The owner drops its handle; frees the cown if nothing else refers to it.
  void drop_handle(std::uint32_t index);

  // Clears the owner handle of every cown `owner` owns, freeing the idle
  // ones. Cowns with queued behaviors or references survive.
  void drop_owner(SessionId owner);

  std::size_t size() const { return index_.size(); }
  std::size_t capacity() const { return slots_.size(); }

  // The blobs stored values and live behaviors name (docs/protocol.md,
  // Shared-memory blobs). Values entering or leaving the table count theirs
  // here; the scheduler counts replaced values' and payloads'.
  BlobTable& blobs() { return blobs_; }
  const BlobTable& blobs() const { return blobs_; }

  // Pinned cowns freed since the last call, with their owners: the owner
  // keeps their values and may drop them now.
  std::vector<std::pair<SessionId, CownId>> take_freed_pinned() {
    std::vector<std::pair<SessionId, CownId>> out;
    out.swap(freed_pinned_);
    return out;
  }

  // Cowns freed since the last call that held an exception with its flag
  // still set, for their report_to session: the value when it names no
  // cown or blob (those go with it), else empty data.
  struct Unhandled {
    SessionId to;
    CownId id;
    Value value;
  };
  std::vector<Unhandled> take_unhandled() {
    std::vector<Unhandled> out;
    out.swap(unhandled_);
    return out;
  }

 private:
  bool referenced(const Cown& c) const {
    return c.owner_handle || c.last_behavior != NONE || c.refs != 0;
  }
  // Frees one unreferenced cown, queueing its value's refs on released_.
  void free_slot(std::uint32_t index);
  // Drops one reference per entry of released_, freeing as counts reach
  // zero, until the cascade ends.
  void drain_released();
  void link(std::uint32_t index, SessionId owner);
  void charge(SessionId payer, std::uint64_t add, std::uint64_t remove);
  void unlink(std::uint32_t index);

  Slab<Cown> slots_;
  std::vector<std::uint32_t> free_;
  FlatIndex index_;
  // Head of each owner's intrusive list.
  std::unordered_map<SessionId, std::uint32_t> heads_;
  // Stored bytes per payer (no entry: none).
  std::unordered_map<SessionId, std::uint64_t> bytes_;
  std::vector<std::uint32_t> released_;  // the cascade's worklist
  BlobTable blobs_;
  std::vector<std::pair<SessionId, CownId>> freed_pinned_;
  std::vector<Unhandled> unhandled_;
  std::uint64_t last_version_ = 0;  // Cown::version
};

}  // namespace bocd::core

// KeptValues: the cown values one worker keeps decoded between behaviors,
// as the daemon models them, so a dispatch to that worker can leave out
// the bytes of a value it already holds (docs/protocol.md, Kept values).
//
// The daemon decides, the worker follows: every change to what the worker
// keeps is named in the dispatch stream it reads in order (a value sent
// with a version is kept; `forget` drops), or made by the worker in the
// completion of the behavior holding that cown (it drops what a raising
// body may have half-changed). Neither side evicts on its own, so the two
// never disagree about a dispatch already on the wire; that is why the
// LRU runs here and not in the worker.
//
// Budget: bytes of the values' stored form (Value::bytes), least recently
// used first. Values a behavior running on the worker holds are never
// evicted (the worker may be writing them back).
#pragma once

#include <cstdint>
#include <map>
#include <unordered_map>
#include <vector>

#include "ids.h"

namespace bocd::core {

class KeptValues {
 public:
  KeptValues() = default;
  explicit KeptValues(std::uint64_t budget) : budget_(budget) {}

  std::uint64_t budget() const { return budget_; }

  // A dispatch carries cown `id` at `version` (`bytes` stored). Returns
  // true when the worker holds that version already (no bytes to send).
  // Otherwise the value goes with the dispatch, and `keep` says whether
  // the worker must keep it: it fits the budget and is `keepable`. A
  // value that embeds cown handles is not: kept, its handles would keep
  // those cowns alive in the worker. Either way the cown is in use until
  // release().
  bool dispatch(CownId id, std::uint64_t version, std::uint64_t bytes,
                bool keepable, bool& keep);
  // The behavior that held `id` wrote a new value (`version`, `bytes`):
  // the worker keeps the object it wrote, when it was keeping the cown.
  void wrote(CownId id, std::uint64_t version, std::uint64_t bytes);
  // The behavior holding `id` ended (completed or aborted).
  void release(CownId id);
  // The worker dropped `id` itself (its body raised): no forget to send.
  void dropped(CownId id);
  // The worker must drop `id` (its value moved on elsewhere, or its
  // completion was refused): it is named in the next dispatch's forget.
  void forget(CownId id);
  // A pipelined behavior could still have been sent `id` to inherit from
  // the behavior that just ended, and cannot be now: the worker drops what
  // it left of it, unless it keeps it as a kept value (docs/protocol.md,
  // Pipelined dispatch).
  void forget_passed(CownId id);
  // The worker may have lost track (it dropped dispatches it was sent):
  // the next dispatch tells it to drop everything, and nothing is held.
  void reset();

  // What the next dispatch must tell the worker to drop first, and
  // whether to drop everything; cleared by the call.
  std::vector<CownId> take_forget();
  bool take_reset();

  bool holds(CownId id, std::uint64_t version) const;
  std::uint64_t bytes() const { return bytes_; }
  std::size_t size() const { return entries_.size(); }
  // Counters (status): value bytes sent in dispatches, values the worker
  // already held (sent without bytes).
  std::uint64_t bytes_sent = 0;
  std::uint64_t hits = 0;

 private:
  struct Entry {
    std::uint64_t version = 0;
    std::uint64_t bytes = 0;
    std::uint32_t in_use = 0;
    std::uint64_t used = 0;  // its key in lru_
  };
  void erase(CownId id);
  void touch(CownId id, Entry& e);
  // Evicts unused entries, oldest use first, down to the budget.
  void evict();

  std::uint64_t budget_;
  std::uint64_t bytes_ = 0;
  std::unordered_map<CownId, Entry> entries_;
  // Entries by last use, least recent first. Keyed by a use count, not
  // list iterators: a Session (and this with it) is copied when the
  // scheduler's session vector grows.
  std::map<std::uint64_t, CownId> lru_;
  std::uint64_t uses_ = 0;
  std::vector<CownId> forget_;
  bool reset_ = false;
};

}  // namespace bocd::core

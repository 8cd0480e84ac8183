// BehaviorPool owns behavior slots. A BehaviorId is (generation << 32 |
// slot index), so an id from a completed behavior never names the slot's
// next occupant. Freed slots keep their vectors' capacity: in steady state
// the hot path allocates nothing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cown_table.h"
#include "errc.h"
#include "ids.h"
#include "slots.h"

namespace bocd::core {

// One entry of a behavior's request set: the cown and the behavior queued
// after this one on it (NONE while this one is the queue's tail).
struct Request {
  std::uint32_t cown = NONE;
  std::uint32_t next = NONE;
  // The behavior queued before this one on the cown, NONE once this one
  // heads the queue (pipelined dispatch checks where it runs).
  std::uint32_t prev = NONE;
};

// States of a behavior slot. Every transition is made by Scheduler:
//
//   FREE    -> WAITING  submit(): accepted and enqueued on every cown of its
//                       set in one step (the 2PL order: queues are FIFO).
//   WAITING -> READY    the last predecessor on its cowns finished (pending
//                       reached 0) or it headed every queue at submit.
//   READY   -> RUNNING  dispatched: to a worker when one has credit, else
//                       at once to its executor session.
//   READY   -> FREE     it was cancelled (its session closed) or its
//                       executor session is gone: finished without running.
//   WAITING -> RUNNING  pipelined (Limits::chain_depth): every cown it does
//                       not head is held by a behavior dispatched to the
//                       same worker, which runs them in order. `pending`
//                       stays until they finish.
//   RUNNING -> FREE     complete() from the executor, or the executor's
//                       session closed (aborted; values stay as committed).
//   RUNNING -> READY    taken back or bounced (pending 0), or
//   RUNNING -> WAITING  taken back while still pipelined (pending > 0).
//
// WAITING behaviors may be marked cancelled; they go READY -> FREE later,
// preserving the queue order of everyone else.
enum class BehaviorState : std::uint8_t { FREE, WAITING, READY, RUNNING };

struct Behavior {
  std::uint32_t generation = 1;  // never 0, so no live id is 0
  BehaviorState state = BehaviorState::FREE;
  bool cancelled = false;
  SessionId session;       // whose terminator counts it
  SessionId submitter;     // who sent the Submit
  SessionId executor;      // 0: the worker pool; else this session runs it
  SessionId running_on;    // set while RUNNING
  bool pinned = false;     // runs on its pinned cown's owner
  std::uint64_t tag = 0;
  std::uint32_t pending = 0;  // queues this behavior does not head yet
  CownId result;
  std::vector<Request> requests;  // sorted by cown id; result cown included
  std::string payload;
  // Cown slots the payload embeds, each counted once in its cown's refs
  // until finish().
  std::vector<std::uint32_t> refs;
  // Shared-memory blobs the payload names, counted in the BlobTable.
  std::vector<std::string> blobs;
  // Dispatched to a session that keeps values (KeptValues), per cown of
  // its set but the result: the version the session keeps it under (0:
  // not kept) and whether it held it already (sent without bytes); and
  // what the session drops before it runs this one.
  std::vector<std::uint64_t> versions;
  std::vector<bool> held;
  // Pipelined: per cown of its set but the result, whether its value is
  // the one its predecessor leaves on the worker (empty: none is).
  std::vector<bool> inherit;
  // A predecessor it inherits from was refused its completion (with this
  // code; none: it was not): the value it ran over was never stored, so
  // neither is anything it writes.
  Errc tainted = Errc::none;
  std::vector<CownId> forget;
  bool forget_all = false;
  // Its payload's code (SubmitRequest::code_at, code_len, code_key), and
  // as dispatched to a session that keeps values: whether it was left out
  // or is to be kept, and the codes the session drops first.
  std::uint32_t code_at = 0;
  std::uint32_t code_len = 0;
  std::uint64_t code_key = 0;
  bool code_held = false;
  bool code_keep = false;
  std::vector<CownId> forget_code;
};

class BehaviorPool {
 public:
  std::uint32_t allocate();
  void release(std::uint32_t index);

  // The slot of a live behavior, or NONE for a stale or unknown id.
  std::uint32_t find(BehaviorId id) const;
  BehaviorId id_of(std::uint32_t index) const;

  Behavior& at(std::uint32_t index) { return slots_[index]; }
  const Behavior& at(std::uint32_t index) const { return slots_[index]; }
  std::size_t capacity() const { return slots_.size(); }
  std::size_t live() const { return slots_.size() - free_.size(); }

 private:
  Slab<Behavior> slots_;
  std::vector<std::uint32_t> free_;
};

}  // namespace bocd::core

// Scheduler: pipelined dispatch (docs/protocol.md, Pipelined dispatch).
// A chain of behaviors on one cown would otherwise pay a round trip per
// behavior: the worker's completion to the daemon, then the successor's
// dispatch back. A pool behavior whose every cown is granted to it or held
// by a behavior dispatched to one worker (it being directly next on that
// cown) cannot run anywhere before those complete, and that worker runs
// its dispatches in order: so it is sent there at once, marked to take
// those values from what its predecessors leave on the worker. Its
// `pending` count stays until they complete; complete() refuses it before.
//
// Only to workers that keep values (they honour `inherit` and may bounce
// a behavior whose inherited value they lack), never to bridges (they
// complete out of order) or to a worker whose body blocks, and never for
// pinned work or behaviors run by their submitter.
#include <algorithm>
#include <utility>

#include "hex.h"
#include "scheduler.h"

namespace bocd::core {

Scheduler::Session* Scheduler::chain_worker(std::uint32_t b) {
  const Behavior& bh = behaviors_.at(b);
  if (limits_.chain_depth == 0 || bh.state != BehaviorState::WAITING ||
      bh.cancelled || bh.executor || bh.pinned) {
    return nullptr;
  }
  Session* w = nullptr;
  for (const Request& r : bh.requests) {
    if (r.prev == NONE) continue;  // granted
    const Behavior& p = behaviors_.at(r.prev);
    if (p.state != BehaviorState::RUNNING || p.executor ||
        (w != nullptr && w->id != p.running_on)) {
      return nullptr;
    }
    // A result cown's value is the completion's, not an object the worker
    // holds: nothing to inherit.
    if (p.result == cowns_.at(r.cown).id) return nullptr;
    w = find_session(p.running_on);
  }
  if (w == nullptr || w->closed || w->retiring || w->role != Role::worker ||
      w->slots || w->kept.budget() == 0) {
    return nullptr;
  }
  // As for work sent ahead: not behind a body that has run long, or on a
  // worker whose bodies do (or that has run none yet). One that blocks or
  // runs long gives back what waits behind it (take_back), and with it
  // what its worker keeps: a big value would travel again.
  if (!takes_chains(*w)) {
    w->chain_refused = true;  // pipeline_on tries again
    return nullptr;
  }
  if (!serves(*find_session(bh.session), w->id) ||
      dispatch_bytes(b) > limits_.max_dispatch_bytes) {
    return nullptr;  // too large: it fails once READY (run_ready)
  }
  // A chain would keep the worker, and its place, for its program: while
  // another program waits for it, the next step waits its turn instead
  // (dispatch_to_workers), as work sent ahead does, so a flood of chains
  // cannot keep a light program's behavior waiting.
  if (others_wait_for(bh.session, w->id)) {
    w->chain_refused = true;  // pipeline_on tries again
    return nullptr;
  }
  return w;
}

bool Scheduler::serves(const Session& p, SessionId w) const {
  return std::find(p.workers.begin(), p.workers.end(), w) !=
             p.workers.end() ||
         (!p.own_workers && std::find(unbound_workers_.begin(),
                                      unbound_workers_.end(),
                                      w) != unbound_workers_.end());
}

bool Scheduler::others_wait_for(SessionId p, SessionId w) const {
  // Waiting for this worker, or for any place while every place is taken
  // (a program whose own worker is idle waits for a body to end
  // somewhere: a chain would start the next at once).
  bool no_place = !may_start_body();
  if (!no_place && !w) return false;
  return std::any_of(waiting_programs_.begin(), waiting_programs_.end(),
                     [&](SessionId q) {
                       return q != p &&
                              (no_place || (w && serves(*find_session(q), w)));
                     });
}

bool Scheduler::takes_chains(const Session& w) const {
  return w.stalled_on == NONE && w.pool_running <= limits_.chain_depth &&
         pipelines(w);
}

void Scheduler::try_pipeline(std::uint32_t b) {
  Session* w = chain_worker(b);
  if (w == nullptr) return;
  Behavior& bh = behaviors_.at(b);
  std::size_t n = bh.requests.size() - (bh.result ? 1 : 0);
  bh.inherit.assign(n, false);
  for (std::size_t k = 0; k < n; ++k) {
    bh.inherit[k] = bh.requests[k].prev != NONE;
  }
  send_to_worker(b, *w);  // and what waits behind it may follow
}

void Scheduler::pipeline_on(SessionId id) {
  Session* w = find_session(id);
  if (w == nullptr || w->kept.budget() == 0 || limits_.chain_depth == 0 ||
      !std::exchange(w->chain_refused, false)) {
    return;  // what waits behind its chain was refused for itself, if at
             // all: each was tried when it or its predecessor changed
  }
  // By index: try_pipeline appends to pool_order. A worker that takes no
  // more refuses every one of them for itself: they wait for the next
  // change on it (so a deep backlog costs no walk per completion).
  for (std::size_t i = 0; i < w->pool_order.size(); ++i) {
    for (const Request& r : behaviors_.at(w->pool_order[i]).requests) {
      if (!takes_chains(*w)) {
        w->chain_refused = true;
        return;
      }
      if (r.next != NONE) try_pipeline(r.next);
    }
  }
}

void Scheduler::taint_successors(std::uint32_t b, Errc code) {
  for (const Request& r : behaviors_.at(b).requests) {
    if (r.next == NONE) continue;
    Behavior& n = behaviors_.at(r.next);
    // Running already while `b` holds the cown: pipelined behind it.
    if (n.state == BehaviorState::RUNNING && n.tainted == Errc::none) {
      n.tainted = code;
    }
  }
}

void Scheduler::passed_on(Session& w, const Behavior& bh,
                          const std::vector<CownId>& dropped) {
  if (w.kept.budget() == 0) return;
  std::size_t n = bh.requests.size() - (bh.result ? 1 : 0);
  for (std::size_t k = 0; k < n; ++k) {
    const Request& r = bh.requests[k];
    CownId id = cowns_.at(r.cown).id;
    // Pipelined behind it: that one takes it. Dropped: gone already.
    if ((r.next != NONE &&
         behaviors_.at(r.next).state == BehaviorState::RUNNING) ||
        std::find(dropped.begin(), dropped.end(), id) != dropped.end()) {
      continue;
    }
    w.kept.forget_passed(id);
  }
}

void Scheduler::refuse(std::uint32_t b, Session& executor, Errc code,
                       std::string message) {
  // Nothing it wrote is stored: what it kept of its cowns is not theirs.
  forget_values(executor, behaviors_.at(b));
  passed_on(executor, behaviors_.at(b), {});
  taint_successors(b, code);
  abort(b, code, std::move(message));
}

Status Scheduler::bounce(SessionId executor, BehaviorId id) {
  Result<std::uint32_t> running = running_slot(executor, id);
  if (!running) return running.error();
  std::uint32_t b = running.value();
  Behavior& bh = behaviors_.at(b);
  Session& w = *find_session(executor);
  // It ran nothing: it kept nothing of this dispatch, code included.
  release_values(w, bh);
  forget_values(w, bh);
  if (bh.code_keep) w.kept_code.forget(CownId{bh.code_key});
  --w.running;
  if (w.running == 0) {
    w.busy_us += static_cast<std::uint64_t>(now_us_ - w.busy_since_us);
  }
  left_worker(w, b);
  bh.running_on = SessionId{};
  bh.inherit.clear();
  bh.tainted = Errc::none;  // it ran over nothing
  Session& p = *find_session(bh.session);
  if (bh.pending > 0) {
    // Pipelined behind one that bounced in turn (the worker bounces what
    // would inherit from a behavior it did not run): it waits again.
    bh.state = BehaviorState::WAITING;
  } else if (p.closed && p.own_workers) {
    bh.state = BehaviorState::READY;
    bh.cancelled = true;  // as take_back does: nobody else may run it
    ready_.push_back(b);
  } else {
    // The oldest of its program's work: first in its queue.
    bh.state = BehaviorState::READY;
    p.pool_queue.push_front(b);
    ++pool_queued_;
    if (!p.waiting) {
      p.waiting = true;
      waiting_programs_.push_front(p.id);
    }
  }
  pipeline_on(executor);
  // Waiting again, it may follow its predecessor (sent again) at once.
  if (behaviors_.at(b).state == BehaviorState::WAITING) try_pipeline(b);
  run_ready();
  return Ok{};
}

}  // namespace bocd::core

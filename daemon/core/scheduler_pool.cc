// Scheduler: the worker pool. READY behaviors that no pinned cown or
// submitter claims wait in their program's queue; programs with work are
// served in turn, one behavior at a time, so a program that floods the
// pool does not keep another's behaviors waiting behind its own.
//
// Workers are of two kinds. A bound worker was started for one program
// (the host answers a SpawnWorkerEvent), serves that program only and is
// retired with it: programs never share a worker's interpreter state. An
// unbound worker connected on its own and serves every program that has
// no workers of its own. Bound workers run at most Limits::max_busy_workers
// bodies at once; when that many are busy and several programs wait, no
// worker is sent work ahead of its completions (pipelining), so busy
// workers drain and their turns go round the waiting programs.
//
// A program may also have an executor bridge (Limits::bridge_slots): a
// worker that hands behaviors on to another engine and has that many
// places, completed in any order. It takes what no idle local worker
// does, and counts in neither the busy nor the process bound.
#include <algorithm>
#include <string>

#include "scheduler.h"

namespace bocd::core {

namespace {

constexpr std::int64_t FIRST_RETRY_US = 100'000;
constexpr std::int64_t LAST_RETRY_US = 5'000'000;

}  // namespace

bool Scheduler::pipelines(const Session& s) const {
  if (s.stalled_on != NONE) return false;  // its body blocks
  if (limits_.pipeline_below_us < 0) return true;
  // Its recent behaviors ran short, and so far the one it runs now has:
  // a body that blocks must not have others queued behind it. And what
  // is queued there already would run, at their average, within the bound
  // too: the depth follows the bodies' length, so tiny bodies queue deep
  // (one wake-up feeds the worker many) while 100 us ones queue two.
  // While several programs are active, the bound counts what each
  // behavior costs the worker (cost_us: the body and the worker's own
  // work around it), so another program's behavior that must wait for
  // the place this worker holds waits about the bound, not the bodies of
  // a deep queue plus a worker's overhead for each.
  std::int64_t cost = several_active() ? std::max(s.run_us, s.cost_us)
                                       : s.run_us;
  return s.run_us >= 0 && s.run_us < limits_.pipeline_below_us &&
         now_us_ - s.started_us < limits_.pipeline_below_us &&
         cost * static_cast<std::int64_t>(s.pool_running) <
             limits_.pipeline_below_us;
}

void Scheduler::note_submitter(SessionId p) {
  if (recent_[0].program != p) recent_[1] = recent_[0];
  recent_[0] = Submitted{p, now_us_};
}

bool Scheduler::several_active() const {
  // A program that submits once a round trip, say, keeps within it.
  constexpr std::int64_t ACTIVE_WINDOW_US = 50'000;
  return recent_[1].program && now_us_ - recent_[1].at_us < ACTIVE_WINDOW_US;
}

void Scheduler::queue_for_workers(std::uint32_t b) {
  Session* p = find_session(behaviors_.at(b).session);
  p->pool_queue.push_back(b);
  ++pool_queued_;
  if (!p->waiting) {
    p->waiting = true;
    waiting_programs_.push_back(p->id);
  }
}

bool Scheduler::may_start_body() const {
  return limits_.max_busy_workers == 0 ||
         busy_workers_ < limits_.max_busy_workers;
}

bool Scheduler::has_its_share(const Session& p) const {
  // Places are shared out among the programs with work waiting: a flood
  // from one keeps at most its share busy, so another's next behavior
  // finds one free instead of waiting for the flood's to drain.
  std::size_t sharing = waiting_programs_.size();
  if (limits_.max_busy_workers == 0 || sharing < 2) return false;
  std::uint32_t share = std::max<std::uint32_t>(
      1, limits_.max_busy_workers / static_cast<std::uint32_t>(sharing));
  return p.busy >= share;
}

void Scheduler::dispatch_to_workers() {
  // One behavior per waiting program per turn: a program served goes to
  // the back; one that can get no worker now keeps its place.
  std::size_t i = 0;
  while (i < waiting_programs_.size()) {
    SessionId id = waiting_programs_[i];
    // All slots taken and others waiting: nobody is sent work ahead.
    bool contended = others_wait_for(id, SessionId{});
    Session& p = *find_session(id);  // its queued behaviors keep it alive
    SessionId w =
        pick_worker(p, !contended, preferred_worker(p.pool_queue.front()));
    if (!w) {
      ++i;
      continue;
    }
    std::uint32_t b = p.pool_queue.front();
    p.pool_queue.pop_front();
    --pool_queued_;
    waiting_programs_.erase(waiting_programs_.begin() +
                            static_cast<std::ptrdiff_t>(i));
    if (p.pool_queue.empty()) {
      p.waiting = false;
    } else {
      waiting_programs_.push_back(id);
    }
    send_to_worker(b, *find_session(w));
  }
  ask_for_workers();
}

SessionId Scheduler::preferred_worker(std::uint32_t b) const {
  // Where its biggest value was last used: the most bytes not to send.
  const Behavior& bh = behaviors_.at(b);
  SessionId best;
  std::uint64_t most = 0;
  for (const Request& r : bh.requests) {
    const Cown& c = cowns_.at(r.cown);
    if (c.ran_on && (!best || c.value.bytes() > most)) {
      best = c.ran_on;
      most = c.value.bytes();
    }
  }
  return best;
}

SessionId Scheduler::pick_worker(const Session& p, bool may_pipeline,
                                 SessionId prefer) {
  // Its own workers first; the unbound ones too for a program that may
  // use them. An idle worker before a busy one, so behaviors spread before
  // any is pipelined behind another.
  const std::vector<SessionId>* pools[] = {&p.workers, &unbound_workers_};
  std::size_t n = p.own_workers ? 1 : 2;
  bool may_start = may_start_body() && !has_its_share(p);
  // The worker that just ran the behavior before it on a cown keeps that
  // value (KeptValues): it comes first, among idle workers and among
  // those that may be sent more, but never ahead of an idle one.
  bool preferred = prefer && serves(p, prefer);
  if (preferred) {
    const Session& w = *find_session(prefer);
    if (w.pool_running == 0 && (!w.bound_to || may_start)) return prefer;
  }
  for (std::size_t k = 0; k < n; ++k) {
    for (SessionId id : *pools[k]) {
      const Session& w = *find_session(id);
      if (w.pool_running == 0 && (!w.bound_to || may_start)) return id;
    }
  }
  if (p.bridge) {
    const Session& b = *find_session(p.bridge);
    if (b.pool_running < b.slots && b.stalled_on == NONE) return p.bridge;
  }
  if (!may_pipeline) return SessionId{};
  if (preferred) {
    const Session& w = *find_session(prefer);
    if (w.pool_running > 0 && w.pool_running < limits_.worker_pipeline &&
        pipelines(w)) {
      return prefer;
    }
  }
  for (std::size_t k = 0; k < n; ++k) {
    for (SessionId id : *pools[k]) {
      const Session& w = *find_session(id);
      if (w.pool_running > 0 && w.pool_running < limits_.worker_pipeline &&
          pipelines(w)) {
        return id;
      }
    }
  }
  return SessionId{};
}

void Scheduler::send_to_worker(std::uint32_t b, Session& w) {
  if (w.pool_running++ == 0 && w.bound_to && !w.slots) {
    ++busy_workers_;
    if (Session* p = find_session(w.bound_to)) ++p->busy;
  }
  w.pool_order.push_back(b);
  dispatch(b, w.id);
  // What waits behind it may follow it there (scheduler_chain.cc; at most
  // chain_depth deep, so this recursion is as shallow). Unless the worker
  // itself takes no more: then each would be refused for that, and is
  // tried when that changes (pipeline_on); with a deep backlog, looking
  // at each cost a cache miss per dispatch.
  if (w.kept.budget() != 0 && limits_.chain_depth != 0 && !takes_chains(w)) {
    w.chain_refused = true;
    return;
  }
  for (const Request& r : behaviors_.at(b).requests) {
    if (r.next != NONE) try_pipeline(r.next);
  }
}

void Scheduler::left_worker(Session& w, std::uint32_t b) {
  w.pool_order.erase(std::find(w.pool_order.begin(), w.pool_order.end(), b));
  if (w.stalled_on == b) w.stalled_on = NONE;
  if (--w.pool_running == 0) {
    w.idle_since_us = now_us_;
    if (w.bound_to && !w.slots) {
      --busy_workers_;
      if (Session* p = find_session(w.bound_to)) --p->busy;
    }
  }
}

void Scheduler::ask_for_bridge(Session& p) {
  if (limits_.bridge_slots == 0 || !p.own_workers || p.bridge ||
      p.bridge_spawning || now_us_ < p.next_bridge_us) {
    return;
  }
  events_.push_back(SpawnWorkerEvent{p.id, true});
  p.bridge_spawning = true;
}

void Scheduler::bridge_lost(Session& p) {
  p.bridge = SessionId{};
  p.bridge_backoff_us = std::clamp(2 * p.bridge_backoff_us, FIRST_RETRY_US,
                                   LAST_RETRY_US);
  p.next_bridge_us = now_us_ + p.bridge_backoff_us;
}

void Scheduler::ask_for_workers() {
  std::uint32_t per_program = limits_.max_busy_workers != 0
                                  ? limits_.max_busy_workers
                                  : limits_.max_worker_processes;
  for (SessionId id : waiting_programs_) {
    Session& p = *find_session(id);
    if (p.closed) continue;
    ask_for_bridge(p);
    if (limits_.max_worker_processes == 0 || now_us_ < p.next_spawn_us) {
      continue;
    }
    // Unbound workers serve a program without its own environment.
    if (!p.own_workers && !unbound_workers_.empty()) continue;
    bool has_idle = std::any_of(p.workers.begin(), p.workers.end(),
                                [this](SessionId w) {
                                  return find_session(w)->pool_running == 0;
                                });
    if (has_idle) continue;  // it waits for a turn, not for a worker
    if (p.bridge && find_session(p.bridge)->pool_running <
                        find_session(p.bridge)->slots) {
      continue;  // its bridge has room
    }
    // As many workers as it has behaviors to run at once, within bounds.
    std::size_t have = p.workers.size() + p.spawning;
    std::size_t want = std::min<std::size_t>(
        per_program, p.workers.size() + p.pool_queue.size());
    while (have < want) {
      if (bound_workers_ + spawning_ >= limits_.max_worker_processes &&
          !retire_longest_idle(id)) {
        return;  // every place is busy: it waits for one to end
      }
      events_.push_back(SpawnWorkerEvent{id});
      ++p.spawning;
      ++spawning_;
      ++have;
    }
  }
}

bool Scheduler::retire_longest_idle(SessionId except) {
  Session* oldest = nullptr;
  for (Session& s : sessions_) {
    if (!s.id || s.closed || !s.bound_to || s.retiring || s.slots ||
        s.bound_to == except || s.pool_running > 0) {
      continue;
    }
    if (oldest == nullptr || s.idle_since_us < oldest->idle_since_us) {
      oldest = &s;
    }
  }
  if (oldest == nullptr) return false;
  retire(*oldest);
  return true;
}

void Scheduler::retire(Session& w) {
  if (w.retiring || w.closed) return;
  w.retiring = true;
  if (w.slots) {
    Session* p = find_session(w.bound_to);
    if (p != nullptr && p->bridge == w.id) p->bridge = SessionId{};
  } else if (w.bound_to) {
    --bound_workers_;
    if (Session* p = find_session(w.bound_to)) std::erase(p->workers, w.id);
  } else {
    std::erase(unbound_workers_, w.id);
  }
  events_.push_back(RetireWorkerEvent{w.id});
}

void Scheduler::join_pool(Session& s, const SessionOptions& options) {
  s.own_workers = options.own_workers;
  if (s.role != Role::worker) return;
  s.bound_to = options.bound_to;
  if (options.bridge && s.bound_to) return join_as_bridge(s);
  if (!s.bound_to) {
    unbound_workers_.push_back(s.id);
    dispatch_to_workers();
    return;
  }
  Session* p = find_session(s.bound_to);
  if (spawning_ > 0) --spawning_;
  if (p != nullptr && p->spawning > 0) --p->spawning;
  ++bound_workers_;
  if (p == nullptr || p->closed) {  // its program went while it started
    retire(s);
    return;
  }
  p->workers.push_back(s.id);
  p->worker_problem.clear();
  p->spawn_backoff_us = 0;
  s.idle_since_us = now_us_;
  dispatch_to_workers();
}

void Scheduler::join_as_bridge(Session& s) {
  // Marked a bridge even when none was asked for, so retiring it leaves
  // the local workers' counts alone.
  s.slots = std::max<std::uint32_t>(1, limits_.bridge_slots);
  Session* p = find_session(s.bound_to);
  if (p != nullptr) p->bridge_spawning = false;
  if (limits_.bridge_slots == 0 || p == nullptr || p->closed || p->bridge) {
    retire(s);  // not asked for, or its program went while it started
    return;
  }
  p->bridge = s.id;
  p->worker_problem.clear();
  s.idle_since_us = now_us_;
  dispatch_to_workers();
}

void Scheduler::leave_pool(Session& s) {
  if (s.role == Role::worker) {
    if (!s.retiring) {
      if (s.slots) {
        // A bridge that died: the next is started after a delay.
        if (Session* p = find_session(s.bound_to)) bridge_lost(*p);
      } else if (s.bound_to) {
        --bound_workers_;
        if (Session* p = find_session(s.bound_to)) std::erase(p->workers, s.id);
      } else {
        std::erase(unbound_workers_, s.id);
      }
    }
    // Its running behaviors are aborted next; they leave it then.
    return;
  }
  // A program: its workers go with it (they served it alone).
  std::vector<SessionId> workers = s.workers;
  if (s.bridge) workers.push_back(s.bridge);
  for (SessionId w : workers) retire(*find_session(w));
}

Result<std::vector<BehaviorId>> Scheduler::take_back(SessionId worker,
                                                     BehaviorId behavior) {
  Session* s = open_session_ptr(worker);
  if (s == nullptr || s->role != Role::worker) {
    return fail(Errc::not_permitted, "only a worker's behaviors are taken back");
  }
  std::vector<BehaviorId> back;
  std::uint32_t b = behaviors_.find(behavior);
  auto at = std::find(s->pool_order.begin(), s->pool_order.end(), b);
  if (b == NONE || at == s->pool_order.end()) return back;
  s->stalled_on = b;
  // The worker drops the dispatches taken back unread, with what they
  // told it to keep or forget: it starts its kept values afresh.
  if (at + 1 != s->pool_order.end() && s->kept.budget() > 0) {
    s->kept.reset();
    s->kept_code.reset();
  }
  // Back to the head of each one's program queue, in their order.
  for (auto it = s->pool_order.end(); it != at + 1;) {
    --it;
    Behavior& later = behaviors_.at(*it);
    later.running_on = SessionId{};
    later.inherit.clear();
    later.tainted = Errc::none;  // it will run afresh
    --s->running;
    --s->pool_running;
    if (later.pending > 0) {
      // Pipelined, its predecessor not done: it waits for its cowns again
      // (and may be pipelined again once the worker's body ends).
      later.state = BehaviorState::WAITING;
      continue;
    }
    later.state = BehaviorState::READY;
    Session* p = find_session(later.session);
    if (p->closed && p->own_workers) {
      // Its program has gone, and with it the only workers that may run
      // its behaviors (its close cancelled what was queued, not this,
      // which was running then): it ends here, or it would wait forever.
      later.cancelled = true;
      ready_.push_back(*it);
      continue;
    }
    p->pool_queue.push_front(*it);
    ++pool_queued_;
    if (!p->waiting) {
      p->waiting = true;
      waiting_programs_.push_front(p->id);
    }
  }
  for (auto it = at + 1; it != s->pool_order.end(); ++it) {
    back.push_back(behaviors_.id_of(*it));
  }
  s->pool_order.erase(at + 1, s->pool_order.end());
  run_ready();  // ends the cancelled ones, then dispatches
  return back;
}

std::size_t Scheduler::fail_unserved(std::int64_t grace_us,
                                     const std::string& why) {
  std::size_t failed = 0;
  std::vector<SessionId> programs(waiting_programs_.begin(),
                                  waiting_programs_.end());
  for (SessionId id : programs) {
    Session* p = find_session(id);
    if (p == nullptr || p->pool_queue.empty()) continue;
    // Served, or a worker is on its way: it waits.
    // A bridge serves, or will (starting, or after the back-off of one
    // that died), unless the last one failed to start.
    bool bridged = limits_.bridge_slots != 0 && p->own_workers &&
                   p->worker_problem.empty();
    bool served = !p->workers.empty() || p->spawning > 0 || p->bridge ||
                  bridged ||
                  (!p->own_workers && !unbound_workers_.empty());
    const std::string& reason = p->worker_problem.empty() ? why
                                                          : p->worker_problem;
    if (served || reason.empty()) {
      p->unserved_since_us = -1;
      continue;
    }
    if (p->unserved_since_us < 0) p->unserved_since_us = now_us_;
    if (now_us_ - p->unserved_since_us < grace_us) continue;
    std::string message = "behavior not run: no worker can run it: " + reason;
    std::deque<std::uint32_t> failing;
    failing.swap(p->pool_queue);
    pool_queued_ -= failing.size();
    p->waiting = false;
    std::erase(waiting_programs_, id);
    for (std::uint32_t b : failing) {
      const Behavior& bh = behaviors_.at(b);
      if (open_session_ptr(bh.submitter) != nullptr) {
        events_.push_back(
            FailedEvent{bh.submitter, bh.tag, Errc::no_workers, message});
      }
      abort(b, Errc::no_workers, message);
      ++failed;
    }
  }
  if (failed > 0) run_ready();  // what they held may let others in
  return failed;
}

void Scheduler::worker_failed(SessionId program, std::string why,
                              bool bridge) {
  Session* p = find_session(program);
  if (bridge) {
    if (p == nullptr) return;
    p->bridge_spawning = false;
    p->worker_problem = std::move(why);
    bridge_lost(*p);
    return;
  }
  if (spawning_ > 0) --spawning_;
  if (p == nullptr) return;
  if (p->spawning > 0) --p->spawning;
  p->worker_problem = std::move(why);
  p->spawn_backoff_us = std::clamp(2 * p->spawn_backoff_us, FIRST_RETRY_US,
                                   LAST_RETRY_US);
  p->next_spawn_us = now_us_ + p->spawn_backoff_us;
}

std::size_t Scheduler::ask_for_lost_bridges() {
  std::size_t n = 0;
  for (SessionId id : waiting_programs_) {
    Session& p = *find_session(id);
    if (p.closed || p.bridge || p.bridge_spawning) continue;
    ask_for_bridge(p);
    n += p.bridge_spawning ? 1 : 0;
  }
  return n;
}

std::size_t Scheduler::retire_idle_workers(std::int64_t idle_us) {
  std::size_t n = 0;
  for (Session& s : sessions_) {
    if (s.id && !s.closed && s.bound_to && !s.retiring && !s.slots &&
        s.pool_running == 0 && now_us_ - s.idle_since_us >= idle_us) {
      retire(s);
      ++n;
    }
  }
  return n;
}

}  // namespace bocd::core

// Scheduler: sessions and their terminators (open, close, quiesce,
// leave). The behavior and cown commands are in scheduler.cc.
#include <algorithm>
#include <string>

#include "scheduler.h"
#include "slots.h"

namespace bocd::core {
namespace {

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

std::uint32_t Scheduler::next_prefix() {
  for (;;) {
    std::uint64_t bits = limits_.random ? limits_.random() : splitmix64(rng_);
    auto p = static_cast<std::uint32_t>(bits >> 32);
    if (p != 0 && prefixes_.find(p) == prefixes_.end()) return p;
  }
}

SessionGrant Scheduler::open_session(Role role, std::int32_t pid,
                                     std::string program,
                                     SessionOptions options) {
  SessionId id{next_session_++};
  std::uint32_t slot = take_slot(sessions_, free_sessions_);
  session_index_.insert(id.value, slot);
  Session& s = sessions_[slot];
  s = Session{};
  s.id = id;
  s.role = role;
  s.pid = pid;
  s.program = std::move(program);
  s.streams = options.streams;
  s.prefix = next_prefix();
  prefixes_.insert(s.prefix);
  Process& process = processes_[pid];
  if (process.open++ == 0) process.acts_for = id;
  s.acts_for = process.acts_for;
  if (const Session* p = options.bound_to ? find_session(options.bound_to)
                                          : nullptr) {
    s.acts_for = p->acts_for;
    if (process.open == 1) process.acts_for = s.acts_for;
  } else if (role == Role::worker && !process.shared_worker) {
    process.shared_worker = id;
  }
  if (role == Role::worker && options.keep_values > 0) {
    s.kept = KeptValues(options.keep_values);
    s.kept_code = KeptValues(options.keep_values);
    keepers_.push_back(id);
  }
  join_pool(s, options);
  return SessionGrant{id, std::uint64_t{s.prefix} << 32,
                      std::uint64_t{1} << 32};
}

std::uint64_t Scheduler::accepted(SessionId session) const {
  const Session* s = find_session(session);
  if (s == nullptr) return 0;
  return s->role == Role::admin ? accepted_ : s->accepted;
}

Scheduler::Session* Scheduler::find_session(SessionId id) {
  std::uint32_t slot = session_index_.find(id.value);
  return slot == FlatIndex::MISSING ? nullptr : &sessions_[slot];
}

const Scheduler::Session* Scheduler::find_session(SessionId id) const {
  std::uint32_t slot = session_index_.find(id.value);
  return slot == FlatIndex::MISSING ? nullptr : &sessions_[slot];
}

Scheduler::Session* Scheduler::open_session_ptr(SessionId id) {
  Session* s = find_session(id);
  return s == nullptr || s->closed ? nullptr : s;
}

void Scheduler::erase_session(Session& s) {
  std::uint32_t slot = session_index_.find(s.id.value);
  session_index_.erase(s.id.value);
  s = Session{};
  free_sessions_.push_back(slot);
}

void Scheduler::close_session(SessionId id) {
  Session* s = open_session_ptr(id);
  if (s == nullptr) return;
  s->closed = true;
  s->terminator.close();
  prefixes_.erase(s->prefix);
  if (auto p = processes_.find(s->pid); p != processes_.end()) {
    if (p->second.shared_worker == id) p->second.shared_worker = {};
    if (--p->second.open == 0) processes_.erase(p);
  }
  release_holds(*s);
  close_mail(id);
  leave_pool(*s);
  std::erase(keepers_, id);
  for (auto it = global_waiters_.begin(); it != global_waiters_.end();) {
    if (it->second.first == id) {
      all_.forget(it->first);
      it = global_waiters_.erase(it);
    } else {
      ++it;
    }
  }

  const std::string reason = "behavior aborted: session " +
                             std::to_string(id.value) + " (pid " +
                             std::to_string(s->pid) + ", " + s->program +
                             ") that was running it disconnected";
  // A worker's pool behaviors in the order it was sent them: one pipelined
  // behind another (scheduler_chain.cc) ends after it, as it would have
  // run, so each one ends heading its cowns' queues.
  std::vector<std::uint32_t> to_abort(s->pool_order.begin(),
                                      s->pool_order.end());
  for (std::uint32_t i = 0; i < behaviors_.capacity(); ++i) {
    Behavior& b = behaviors_.at(i);
    if (b.state == BehaviorState::RUNNING && b.running_on == id) {
      if (!b.executor) continue;  // in pool_order
      to_abort.push_back(i);
    } else if (b.state != BehaviorState::FREE &&
               b.state != BehaviorState::RUNNING && b.session == id) {
      b.cancelled = true;
    }
  }
  // `s` may be erased by these (its count reaching zero); not used after.
  for (std::uint32_t i : to_abort) abort(i, Errc::executor_lost, reason);
  // Its behaviors queued for the worker pool leave now (cancelled).
  if (Session* p = find_session(id); p != nullptr && !p->pool_queue.empty()) {
    pool_queued_ -= p->pool_queue.size();
    ready_.insert(ready_.end(), p->pool_queue.begin(), p->pool_queue.end());
    p->pool_queue.clear();
    p->waiting = false;
    std::erase(waiting_programs_, id);
  }
  cowns_.drop_owner(id);
  run_ready();
  Session* left = find_session(id);
  if (left != nullptr && left->terminator.count() == 0) erase_session(*left);
}

void Scheduler::leave(SessionId session) {
  // What the finished behavior freed is told before any Quiesced it fires:
  // a program that sees quiescence has heard of its freed pinned cowns.
  note_freed();
  fired_.clear();
  all_.leave(fired_);
  for (std::uint64_t token : fired_) {
    auto it = global_waiters_.find(token);
    events_.push_back(QuiescedEvent{it->second.first, it->second.second});
    global_waiters_.erase(it);
  }
  Session& s = *find_session(session);
  fired_.clear();
  s.terminator.leave(fired_);
  for (std::uint64_t request : fired_) {
    events_.push_back(QuiescedEvent{session, request});
  }
  // Not while behaviors still run on it (close_session is aborting them,
  // its own first perhaps): their ending updates its counts and, for a
  // worker, the pool's. close_session erases it once they have ended.
  if (s.closed && s.terminator.count() == 0 && s.running == 0) {
    erase_session(s);
  }
}

void Scheduler::quiesce(SessionId session, std::uint64_t request,
                        std::uint64_t below) {
  Session* s = open_session_ptr(session);
  if (s == nullptr) return;
  fired_.clear();
  if (s->role == Role::admin) {
    std::uint64_t token = next_token_++;
    global_waiters_.emplace(token, std::make_pair(session, request));
    all_.wait(token, fired_);
    for (std::uint64_t t : fired_) {
      auto it = global_waiters_.find(t);
      events_.push_back(QuiescedEvent{it->second.first, it->second.second});
      global_waiters_.erase(it);
    }
  } else {
    s->terminator.wait(request, fired_, below);
    for (std::uint64_t r : fired_) events_.push_back(QuiescedEvent{session, r});
  }
}

std::uint64_t Scheduler::in_flight(SessionId session) const {
  const Session* s = find_session(session);
  return s == nullptr ? 0 : s->terminator.count();
}

std::uint32_t Scheduler::pinned_waiting(SessionId session) const {
  const Session* s = find_session(session);
  return s == nullptr ? 0 : s->pinned_waiting;
}

std::vector<PinnedQueue> Scheduler::pinned_queues() const {
  std::vector<PinnedQueue> out;
  for (const Session& s : sessions_) {
    if (!s.id || s.closed || s.pinned_running == 0) continue;
    out.push_back(PinnedQueue{s.id, s.pinned_running, s.pinned_progress});
  }
  return out;
}

std::vector<SessionSummary> Scheduler::sessions() const {
  std::vector<SessionSummary> out;
  for (const Session& s : sessions_) {
    if (!s.id || s.closed) continue;
    std::uint64_t busy = s.busy_us;
    if (s.running > 0) {
      busy += static_cast<std::uint64_t>(now_us_ - s.busy_since_us);
    }
    out.push_back(SessionSummary{s.id, s.role, s.pid, s.program,
                                 s.terminator.count(), s.ran, s.running,
                                 busy, s.pinned_dispatched,
                                 s.pinned_running, s.run_us, s.bound_to,
                                 s.kept.bytes_sent, s.kept.hits,
                                 s.value_bytes_back, s.kept_code.hits});
  }
  std::sort(out.begin(), out.end(),
            [](const SessionSummary& a, const SessionSummary& b) {
              return a.id < b.id;
            });
  return out;
}

}  // namespace bocd::core

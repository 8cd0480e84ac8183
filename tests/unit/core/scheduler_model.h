// The reference model of the Scheduler property test: what the scheduler
// must do, written as plainly as possible. Per cown, the FIFO of behaviors
// in submission order; a behavior may run only when it heads every queue of
// its set. Knows nothing of slots, links or credits. A cown is freed when
// no handle, hold, queue, live payload or live cown's value names it,
// found by recounting until nothing changes: so a cycle stays, as it does
// with the daemon's counts.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/scheduler.h"

namespace bocd::core::model {

enum class Fate { live, completed, aborted, cancelled };

struct Session {
  SessionGrant grant;
  Role role = Role::client;
  bool open = true;
  std::uint64_t next_id = 1;           // next fresh cown id: base + next_id
  std::uint32_t pool_running = 0;      // workers: pool behaviors it runs
  std::vector<BehaviorId> order;       // ... in dispatch order
  BehaviorId stalled;                  // take_back's: sent nothing until done
  std::vector<std::uint64_t> waiters;  // quiesce requests not yet fired
  // A worker that keeps values (SessionOptions::keep_values): what it
  // keeps, as a real worker would by following its dispatches: the value
  // it read, or the one it wrote.
  bool keeps = false;
  std::map<CownId, std::pair<Value, Errc>> kept;
};

struct Behavior {
  BehaviorId id;
  SessionId session, submitter;
  SessionId executor;  // 0: the worker pool
  CownId result;
  std::vector<CownId> cowns;  // sorted, unique, then the result if any
  std::uint64_t tag = 0;
  std::string payload;
  std::vector<CownId> refs;  // cowns the payload embeds
  bool running = false, cancelled = false;
  SessionId running_on;
  Fate fate = Fate::live;
  // Pipelined (running before it is granted): the cowns it inherits that
  // its worker keeps afterwards, as the value it leaves.
  std::vector<CownId> inherited_kept;
};

struct Cown {
  SessionId owner;
  bool handle = true, pinned = false;
  std::deque<std::size_t> queue;  // behavior indexes, submission order
  Value value;
  Errc daemon_error = Errc::none;  // set: the daemon wrote the value
  std::set<SessionId> holders;     // sessions that took a handle (hold)
};

class Model {
 public:
  std::vector<SessionId> open_sessions(bool with_admin) const {
    std::vector<SessionId> out;
    for (const auto& [id, s] : sessions) {
      if (s.open && (with_admin || s.role != Role::admin)) {
        out.push_back(SessionId{id});
      }
    }
    return out;
  }

  std::map<std::uint64_t, std::uint64_t> counts() const {
    std::map<std::uint64_t, std::uint64_t> out;
    for (std::size_t i : live) ++out[behaviors[i].session.value];
    return out;
  }
  std::uint64_t count(SessionId s) const {
    auto c = counts();
    return c.count(s.value) ? c[s.value] : 0;
  }

  bool granted(std::size_t i) const {
    for (CownId c : behaviors[i].cowns) {
      if (cowns.at(c).queue.front() != i) return false;
    }
    return true;
  }

  // The behavior queued just before `i` on `c` (i must not head it).
  std::size_t before(std::size_t i, CownId c) const {
    const auto& q = cowns.at(c).queue;
    auto at = std::find(q.begin(), q.end(), i);
    return *(at - 1);
  }

  std::vector<std::size_t> running_on(SessionId s) const {
    std::vector<std::size_t> out;
    for (std::size_t i : live) {
      if (behaviors[i].running && behaviors[i].running_on == s) {
        out.push_back(i);
      }
    }
    return out;
  }

  // Enqueues an accepted behavior on every cown of its set, result last.
  void accept(Behavior b) {
    std::sort(b.cowns.begin(), b.cowns.end());
    b.cowns.erase(std::unique(b.cowns.begin(), b.cowns.end()), b.cowns.end());
    if (b.result) {
      // The submitter's handle: the object for it lives in that process.
      cowns[b.result] = Cown{b.submitter, true, false, {}, Value{},
                             Errc::none, {}};
      b.cowns.push_back(b.result);
    }
    std::size_t i = behaviors.size();
    note(by_id.count(b.id.value) == 0, "behavior id reused");
    by_id[b.id.value] = i;
    for (CownId c : b.cowns) cowns.at(c).queue.push_back(i);
    behaviors.push_back(std::move(b));
    live.insert(i);
  }

  // A behavior leaves. It heads all its queues, so it pops their fronts;
  // `error` is what the daemon writes to its result (none: completed).
  void finish(std::size_t i, Fate fate, Errc error) {
    Behavior& b = behaviors[i];
    note(b.fate == Fate::live, "behavior finished twice");
    b.fate = fate;
    live.erase(i);
    if (b.running && !b.executor) {
      Session& w = sessions[b.running_on.value];
      --w.pool_running;
      std::erase(w.order, b.id);
      if (w.stalled == b.id) w.stalled = BehaviorId{};
    }
    b.running = false;
    if (b.result && error != Errc::none) {
      cowns.at(b.result).value = Value{};
      cowns.at(b.result).daemon_error = error;
    }
    for (CownId c : b.cowns) {
      note(cowns.at(c).queue.front() == i, "finished behavior not at head");
      cowns.at(c).queue.pop_front();
    }
  }

  // Queued behaviors that reach the head but can never run leave at once.
  void settle() {
    for (bool changed = true; changed;) {
      changed = false;
      for (std::size_t i : std::vector<std::size_t>(live.begin(), live.end())) {
        const Behavior& b = behaviors[i];
        if (b.running || !granted(i)) continue;
        if (b.cancelled) {
          finish(i, Fate::cancelled, Errc::session_closed);
        } else if (b.executor && !sessions[b.executor.value].open) {
          finish(i, Fate::aborted, Errc::executor_lost);
        } else {
          continue;
        }
        changed = true;
      }
    }
  }

  // Cancels the session's queued behaviors, aborts those running on it,
  // drops its handles. Its own quiesce waiters still fire when its count
  // drains; a closed admin stops waiting.
  void close(SessionId s) {
    sessions[s.value].open = false;
    for (std::size_t i : live) {
      Behavior& b = behaviors[i];
      if (!b.running && b.session == s) b.cancelled = true;
    }
    for (std::size_t i : running_on(s)) {
      finish(i, Fate::aborted, Errc::executor_lost);
    }
    for (auto& [id, c] : cowns) {
      if (c.owner == s) c.handle = false;
      c.holders.erase(s);
    }
    std::erase_if(admin_waiters, [s](auto& w) { return w.first == s; });
  }

  // Session `s` gives up its handle on `c`, whichever kind it is.
  void drop(CownId c, SessionId s) {
    Cown& m = cowns.at(c);
    if (m.owner == s && m.handle) {
      m.handle = false;
    } else {
      m.holders.erase(s);
    }
  }

  // Session `s` takes a handle on `c` unless it has one.
  void hold(CownId c, SessionId s) {
    Cown& m = cowns.at(c);
    if (m.owner != s || !m.handle) m.holders.insert(s);
  }

  // Frees every cown nothing names, again until none is left: what the
  // daemon's counts free, cascades included.
  void collect() {
    for (bool changed = true; changed;) {
      std::set<CownId> named;
      for (const auto& [id, c] : cowns) {
        named.insert(c.value.refs.begin(), c.value.refs.end());
      }
      for (std::size_t i : live) {
        named.insert(behaviors[i].refs.begin(), behaviors[i].refs.end());
      }
      changed = std::erase_if(cowns, [&](const auto& e) {
        const Cown& c = e.second;
        bool gone = !c.handle && c.holders.empty() && c.queue.empty() &&
                    !named.count(e.first);
        // Its owner hears of a freed pinned cown while it is open.
        if (gone && c.pinned && sessions[c.owner.value].open) {
          pinned_freed.insert(e.first.value);
        }
        return gone;
      }) != 0;
    }
  }

  // Whether `got` is what the model holds for cown `m`. A daemon-written
  // value is compared by its flags: its text is for people.
  static bool same(const Value& got, const Cown& m) {
    if (m.daemon_error == Errc::none) return got == m.value;
    return got.exception && got.error == m.daemon_error;
  }

  // The quiesce events due now, as sorted (session, request) pairs; the
  // fired waiters are forgotten.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> take_quiesced() {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> due;
    auto per_session = counts();
    for (auto& [id, s] : sessions) {
      if (per_session.count(id)) continue;
      for (std::uint64_t r : s.waiters) due.emplace_back(id, r);
      s.waiters.clear();
    }
    if (live.empty()) {
      for (auto& [s, r] : admin_waiters) due.emplace_back(s.value, r);
      admin_waiters.clear();
    }
    std::sort(due.begin(), due.end());
    return due;
  }

  std::map<std::uint64_t, Session> sessions;
  std::set<std::uint64_t> pinned_freed;  // since the last check
  std::vector<Behavior> behaviors;  // every accepted behavior, by index
  std::map<std::uint64_t, std::size_t> by_id;
  std::set<std::size_t> live;
  std::map<CownId, Cown> cowns;  // live cowns only
  std::vector<std::pair<SessionId, std::uint64_t>> admin_waiters;
  std::string error;  // first inconsistency the model itself noticed

 private:
  void note(bool ok, const char* what) {
    if (!ok && error.empty()) error = what;
  }
};

}  // namespace bocd::core::model

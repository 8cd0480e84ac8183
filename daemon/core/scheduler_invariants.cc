// Scheduler::check_invariants: the structural checks every core test ends
// with. Walks every queue from its head, so it is O(state) and test-only in
// spirit, but it is always compiled so that fuzzers and the daemon's debug
// command can call it.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "scheduler.h"

namespace bocd::core {

// The worker pool's bookkeeping against the sessions and behaviors.
std::string Scheduler::check_pool() const {
  std::uint32_t busy = 0, bound = 0, spawning = 0;
  std::size_t queued = 0, waiting = 0;
  for (const Session& s : sessions_) {
    if (!s.id) continue;
    spawning += s.spawning;
    queued += s.pool_queue.size();
    if (s.waiting != !s.pool_queue.empty()) return "a program's turn drifted";
    if (s.waiting) ++waiting;
    for (std::uint32_t b : s.pool_queue) {
      const Behavior& bh = behaviors_.at(b);
      if (bh.state != BehaviorState::READY || bh.session != s.id ||
          bh.executor) {
        return "a pool queue holds a behavior not ready for it";
      }
    }
    for (SessionId w : s.workers) {
      const Session* ws = find_session(w);
      if (ws == nullptr || ws->closed || ws->retiring || ws->bound_to != s.id) {
        return "a program lists a worker that is not its own";
      }
    }
    std::uint32_t own_busy = 0;
    for (const Session& w : sessions_) {
      if (w.id && !w.closed && w.bound_to == s.id && w.pool_running > 0 &&
          !w.slots) {
        ++own_busy;
      }
    }
    if (own_busy != s.busy) return "a program's busy worker count drifted";
    if (s.bridge) {
      const Session* bs = find_session(s.bridge);
      if (bs == nullptr || bs->closed || bs->retiring || !bs->slots ||
          bs->bound_to != s.id || bs->pool_running > bs->slots) {
        return "a program's bridge is not its own";
      }
    }
    if (s.role != Role::worker || s.closed || !s.bound_to || s.slots) continue;
    if (s.pool_running > 0) ++busy;
    if (!s.retiring) ++bound;
  }
  if (busy != busy_workers_) return "busy worker count drifted";
  if (bound != bound_workers_) return "bound worker count drifted";
  if (spawning > spawning_) return "spawning count drifted";
  if (queued != pool_queued_) return "queued pool behavior count drifted";
  if (waiting != waiting_programs_.size()) return "turn order drifted";
  for (SessionId w : unbound_workers_) {
    const Session* ws = find_session(w);
    if (ws == nullptr || ws->closed || ws->bound_to || ws->retiring) {
      return "an unbound worker is listed wrongly";
    }
  }
  return "";
}

std::string Scheduler::check_invariants() const {
  // Every (behavior, request position) waiting on each cown.
  std::map<std::uint32_t, std::vector<std::pair<std::uint32_t, std::uint32_t>>>
      entries;
  std::map<SessionId, std::uint64_t> per_session;
  std::uint64_t live = 0;
  std::map<SessionId, std::uint32_t> running_on_worker;
  std::map<SessionId, std::uint32_t> pinned_running;
  std::map<SessionId, std::uint32_t> pinned_waiting;
  std::map<SessionId, std::uint32_t> running_on;
  for (std::uint32_t b = 0; b < behaviors_.capacity(); ++b) {
    const Behavior& bh = behaviors_.at(b);
    if (bh.state == BehaviorState::FREE) continue;
    ++live;
    ++per_session[bh.session];
    if (bh.state == BehaviorState::RUNNING && !bh.executor) {
      ++running_on_worker[bh.running_on];
    }
    if (bh.state == BehaviorState::RUNNING) ++running_on[bh.running_on];
    if (bh.state == BehaviorState::RUNNING && bh.pinned) {
      ++pinned_running[bh.running_on];
    } else if (bh.pinned) {
      ++pinned_waiting[bh.executor];
    }
    for (std::uint32_t k = 0; k < bh.requests.size(); ++k) {
      const Request& r = bh.requests[k];
      if (!cowns_.at(r.cown).live) return "behavior holds a freed cown";
      entries[r.cown].emplace_back(b, k);
    }
  }
  if (live != all_.count()) return "daemon in-flight count drifted";
  for (const Session& s : sessions_) {
    if (!s.id) continue;
    SessionId id = s.id;
    auto it = per_session.find(id);
    std::uint64_t n = it == per_session.end() ? 0 : it->second;
    if (n != s.terminator.count()) return "session in-flight count drifted";
    if (s.closed && n == 0) return "closed idle session not erased";
    if (s.pinned_running != pinned_running[id]) {
      return "pinned work count drifted";
    }
    if (s.pinned_waiting != pinned_waiting[id]) {
      return "waiting pinned work count drifted";
    }
    if (s.running != running_on[id]) return "running count drifted";
    if (s.pool_running != running_on_worker[id] ||
        s.pool_running >
            (s.slots ? s.slots
                     : std::max(limits_.worker_pipeline,
                                s.kept.budget() > 0 ? limits_.chain_depth + 1
                                                    : 0))) {
      return "worker credits drifted";
    }
    if (s.pool_order.size() != running_on_worker[id]) {
      return "a worker's dispatch order drifted";
    }
    for (std::uint32_t b : s.pool_order) {
      const Behavior& bh = behaviors_.at(b);
      if (bh.state != BehaviorState::RUNNING || bh.running_on != id ||
          bh.executor) {
        return "a worker's dispatch order names a behavior not running there";
      }
    }
    if (s.stalled_on != NONE &&
        std::find(s.pool_order.begin(), s.pool_order.end(), s.stalled_on) ==
            s.pool_order.end()) {
      return "a worker is stalled on a behavior it does not run";
    }
  }
  for (const auto& [id, n] : per_session) {
    if (find_session(id) == nullptr) return "behavior of no session";
  }
  if (std::string broken = check_pool(); !broken.empty()) return broken;

  std::map<std::uint32_t, std::uint32_t> heads_of;  // behavior -> queues headed
  for (const auto& [c, list] : entries) {
    std::set<std::pair<std::uint32_t, std::uint32_t>> pointed;
    for (auto [b, k] : list) {
      std::uint32_t n = behaviors_.at(b).requests[k].next;
      if (n == NONE) continue;
      const auto& nreq = behaviors_.at(n).requests;
      std::uint32_t nk = 0;
      while (nk < nreq.size() && nreq[nk].cown != c) ++nk;
      if (nk == nreq.size()) return "queue link to a behavior not on the cown";
      pointed.emplace(n, nk);
    }
    std::uint32_t head = NONE, length = 0, b = NONE, k = 0;
    for (auto e : list) {
      if (pointed.count(e) == 0) {
        if (head != NONE) return "a cown queue has two heads";
        head = e.first;
        b = e.first;
        k = e.second;
      }
    }
    if (head == NONE) return "a cown queue has no head";
    ++heads_of[head];
    if (behaviors_.at(b).requests[k].prev != NONE) {
      return "a cown queue's head names a behavior before it";
    }
    for (;;) {
      ++length;
      std::uint32_t n = behaviors_.at(b).requests[k].next;
      if (n == NONE) break;
      const auto& nreq = behaviors_.at(n).requests;
      k = 0;
      while (nreq[k].cown != c) ++k;
      if (nreq[k].prev != b) return "a queue's back link drifted";
      b = n;
    }
    if (length != list.size()) return "a cown queue is not one chain";
    const Cown& cown = cowns_.at(c);
    if (cown.last_behavior != b || cown.last_request != k) {
      return "a cown's tail is not its queue's last behavior";
    }
  }
  for (std::uint32_t b = 0; b < behaviors_.capacity(); ++b) {
    const Behavior& bh = behaviors_.at(b);
    if (bh.state == BehaviorState::FREE) continue;
    std::uint32_t headed = heads_of.count(b) ? heads_of[b] : 0;
    if (bh.pending != bh.requests.size() - headed) return "pending drifted";
    bool granted = bh.state == BehaviorState::READY ||
                   bh.state == BehaviorState::RUNNING;
    if (bh.state == BehaviorState::RUNNING && bh.pending > 0) {
      // Pipelined: every cown it lacks is held by a pool behavior sent
      // before it to the same worker, which keeps values; or by one that
      // worker bounced, which it bounces too (Scheduler::bounce).
      const Session* w = find_session(bh.running_on);
      if (bh.executor || bh.pinned || w == nullptr ||
          w->kept.budget() == 0) {
        return "a behavior runs without every cown, not pipelined";
      }
      auto at = std::find(w->pool_order.begin(), w->pool_order.end(), b);
      for (const Request& r : bh.requests) {
        if (r.prev == NONE) continue;
        const Behavior& p = behaviors_.at(r.prev);
        if (p.state != BehaviorState::RUNNING) continue;  // bounced
        if (p.running_on != bh.running_on ||
            std::find(w->pool_order.begin(), at, r.prev) == at) {
          return "a pipelined behavior's predecessor is not before it there";
        }
      }
      continue;
    }
    if (!bh.inherit.empty() && bh.state != BehaviorState::RUNNING) {
      return "a behavior not dispatched inherits values";
    }
    if (granted != (bh.pending == 0)) return "granted without every cown";
  }
  std::string refs = check_ref_counts();
  if (!refs.empty()) return refs;
  for (std::uint32_t c = 0; c < cowns_.capacity(); ++c) {
    const Cown& cown = cowns_.at(c);
    if (!cown.live) continue;
    if (cown.last_behavior == NONE && !cown.owner_handle && cown.refs == 0) {
      return "unreferenced cown not freed";
    }
    if (cown.last_behavior != NONE && entries.count(c) == 0) {
      return "cown tail names no queued behavior";
    }
  }
  if (!ready_.empty()) return "ready behaviors left unrouted";
  return "";
}

std::string Scheduler::check_ref_counts() const {
  // Recounted from scratch: stored values, live payloads, held handles.
  std::vector<std::uint64_t> counted(cowns_.capacity(), 0);  // by slot
  for (std::uint32_t c = 0; c < cowns_.capacity(); ++c) {
    const Cown& cown = cowns_.at(c);
    if (!cown.live) continue;
    for (CownId id : cown.value.refs) {
      std::uint32_t r = cowns_.find(id);
      if (r == NONE) return "a stored value embeds a freed cown";
      ++counted[r];
    }
  }
  for (std::uint32_t b = 0; b < behaviors_.capacity(); ++b) {
    const Behavior& bh = behaviors_.at(b);
    if (bh.state == BehaviorState::FREE) continue;
    for (std::uint32_t r : bh.refs) {
      if (!cowns_.at(r).live) return "a payload embeds a freed cown";
      ++counted[r];
    }
  }
  for (const Session& s : sessions_) {
    if (s.closed && !s.held.empty()) return "a closed session holds cowns";
    for (std::uint32_t r : s.held) {
      const Cown& cown = cowns_.at(r);
      if (!cown.live) return "a session holds a freed cown";
      if (cown.owner == s.id && cown.owner_handle) {
        return "a session holds two handles on one cown";
      }
      ++counted[r];
    }
  }
  auto count_message = [&](const Value& v) {
    for (CownId id : v.refs) {
      std::uint32_t r = cowns_.find(id);
      if (r == NONE) return false;
      ++counted[r];
    }
    return true;
  };
  for (const auto& [program, m] : mailboxes_) {
    if (find_session(program) == nullptr) return "a mailbox of no session";
    if (m.board) {
      std::uint32_t r = cowns_.find(m.board);
      if (r == NONE) return "a noticeboard is a freed cown";
      ++counted[r];
    }
    for (const auto& q : m.queues()) {
      for (const Value& v : q) {
        if (!count_message(v)) return "a queued message embeds a freed cown";
      }
    }
    for (const Mailbox::Batch& b : m.batches()) {
      const Session* h = find_session(b.holder);
      if (h == nullptr || h->closed) return "a batch is lent to no session";
      for (const Value& v : b.values) {
        if (!v.refs.empty() || !v.blobs.empty()) {
          return "a lent message names cowns or blobs";
        }
      }
      for (const Mailbox::Batch& other : m.batches()) {
        if (&other != &b && other.tag == b.tag) return "two batches of a tag";
      }
    }
    for (std::size_t q = 0; q < m.queues().size(); ++q) {
      const Mailbox::Ahead& a = m.ahead(static_cast<int>(q));
      for (const auto& [who, n] : a.holders) {
        const Session* h = find_session(who);
        if (h == nullptr || h->closed) return "credit held by no session";
        if (n == 0) return "a holder of no credit is listed";
      }
    }
    for (const Mailbox::Waiter& w : m.waiters()) {
      if (m.blocked(w)) continue;
      if (w.poll) return "a poll waits with no batch to wait for";
      for (const std::string& tag : w.tags) {
        int q = m.find(tag);
        if (q != Mailbox::NONE && !m.queues()[q].empty()) {
          return "a parked receive could take a queued message";
        }
      }
    }
  }
  for (const auto& [key, l] : leases_) {
    if (!count_message(l.value)) return "a leased message embeds a freed cown";
  }
  if (std::string blobs = check_blob_counts(); !blobs.empty()) return blobs;
  std::map<SessionId, std::uint64_t> bytes;
  for (std::uint32_t c = 0; c < cowns_.capacity(); ++c) {
    const Cown& cown = cowns_.at(c);
    if (!cown.live) continue;
    if (cown.refs != counted[c]) return "a cown's reference count drifted";
    bytes[cown.payer] += cown.value.bytes();
  }
  for (const auto& [payer, n] : bytes) {
    if (cowns_.bytes_of(payer) != n) return "a program's stored bytes drifted";
  }
  return "";
}

// Blob references recounted from scratch: stored values, live behaviors'
// payloads, queued and leased messages. A blob counted too low would be
// unlinked while still named; too high, never.
std::string Scheduler::check_blob_counts() const {
  std::map<std::string, std::uint32_t> counted;
  auto count = [&](const std::vector<std::string>& names) {
    for (const std::string& n : names) ++counted[n];
  };
  for (std::uint32_t c = 0; c < cowns_.capacity(); ++c) {
    if (cowns_.at(c).live) count(cowns_.at(c).value.blobs);
  }
  for (std::uint32_t b = 0; b < behaviors_.capacity(); ++b) {
    const Behavior& bh = behaviors_.at(b);
    if (bh.state != BehaviorState::FREE) count(bh.blobs);
  }
  for (const auto& [program, m] : mailboxes_) {
    for (const auto& q : m.queues()) {
      for (const Value& v : q) count(v.blobs);
    }
  }
  for (const auto& [key, l] : leases_) count(l.value.blobs);
  if (counted.size() != cowns_.blobs().size()) {
    return "the number of counted blobs drifted";
  }
  for (const auto& [name, n] : counted) {
    if (cowns_.blobs().count(name) != n) return "a blob's count drifted";
  }
  return "";
}

}  // namespace bocd::core

// Helpers shared by the Scheduler unit tests: cown id arithmetic, event
// draining and short submit builders, so each test reads as its scenario.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/core.h"

namespace bocd::core::test {

// The n-th new cown id of a session (n >= 1; n == 0 is outside the range).
inline CownId cown(const SessionGrant& g, std::uint64_t n) {
  return CownId{g.id_base + n};
}

inline Value val(std::string data) { return Value{std::move(data)}; }

struct Drained {
  std::vector<DispatchEvent> dispatched;
  std::vector<QuiescedEvent> quiesced;
  std::vector<FailedEvent> failed;
  std::vector<std::string> freed;  // BlobFreedEvent names
  std::vector<PinnedFreedEvent> pinned_freed;
  std::vector<MailEvent> mail;
  std::vector<UnhandledEvent> unhandled;
  std::vector<SessionId> spawn_for;  // SpawnWorkerEvent programs
  std::vector<SessionId> bridge_for;  // those with SpawnWorkerEvent::bridge
  std::vector<SessionId> retired;    // RetireWorkerEvent workers
};

inline Drained drain(Scheduler& s) {
  Drained d;
  for (Event& e : s.take_events()) {
    if (auto* dispatch = std::get_if<DispatchEvent>(&e)) {
      d.dispatched.push_back(*dispatch);
    } else if (auto* q = std::get_if<QuiescedEvent>(&e)) {
      d.quiesced.push_back(*q);
    } else if (auto* f = std::get_if<FailedEvent>(&e)) {
      d.failed.push_back(*f);
    } else if (auto* p = std::get_if<PinnedFreedEvent>(&e)) {
      d.pinned_freed.push_back(*p);
    } else if (auto* m = std::get_if<MailEvent>(&e)) {
      d.mail.push_back(*m);
    } else if (auto* u = std::get_if<UnhandledEvent>(&e)) {
      d.unhandled.push_back(*u);
    } else if (auto* sp = std::get_if<SpawnWorkerEvent>(&e)) {
      (sp->bridge ? d.bridge_for : d.spawn_for).push_back(sp->program);
    } else if (auto* r = std::get_if<RetireWorkerEvent>(&e)) {
      d.retired.push_back(r->worker);
    } else {
      d.freed.push_back(std::get<BlobFreedEvent>(e).name);
    }
  }
  return d;
}

// The behaviors dispatched since the last drain, in event order; fails the
// test if any went to another session than `to`.
inline std::vector<BehaviorId> dispatched_to(Scheduler& s, SessionId to) {
  std::vector<BehaviorId> out;
  for (const DispatchEvent& e : drain(s).dispatched) {
    EXPECT_EQ(e.to, to) << "behavior " << e.behavior.value;
    out.push_back(e.behavior);
  }
  return out;
}

// A request on `cowns` that the submitting session runs itself.
inline SubmitRequest on(std::vector<CownId> cowns, CownId result = {}) {
  SubmitRequest r;
  r.cowns = std::move(cowns);
  r.result = result;
  r.run_on_submitter = true;
  return r;
}

// The same request, for the worker pool.
inline SubmitRequest pooled(std::vector<CownId> cowns, CownId result = {}) {
  SubmitRequest r = on(std::move(cowns), result);
  r.run_on_submitter = false;
  return r;
}

// `r` submitted from inside the running behavior `parent` (a nested behavior).
inline SubmitRequest nested_in(BehaviorId parent, SubmitRequest r) {
  r.parent = parent;
  return r;
}

// `r` whose payload embeds the cowns `refs`.
inline SubmitRequest with_refs(SubmitRequest r, std::vector<CownId> refs) {
  r.refs = std::move(refs);
  return r;
}

// `r` whose payload names the shared-memory blobs `blobs`.
inline SubmitRequest with_blobs(SubmitRequest r,
                                std::vector<std::string> blobs) {
  r.blobs = std::move(blobs);
  return r;
}

inline BehaviorId submit_ok(Scheduler& s, SessionId submitter,
                            SubmitRequest r) {
  Result<BehaviorId> b = s.submit(submitter, std::move(r));
  EXPECT_TRUE(b.ok()) << b.error().message;
  return b.ok() ? b.value() : BehaviorId{};
}

inline Status complete(Scheduler& s, SessionId executor, BehaviorId b,
                       std::vector<CownUpdate> updates = {}) {
  return s.complete(executor, b, updates);
}

inline void complete_ok(Scheduler& s, SessionId executor, BehaviorId b,
                        std::vector<CownUpdate> updates = {}) {
  Status st = complete(s, executor, b, std::move(updates));
  EXPECT_TRUE(st.ok()) << st.error().message;
}

// The cown ids a RUNNING behavior was dispatched with (sorted, no result).
inline std::vector<CownId> cowns_of(const Scheduler& s, BehaviorId b) {
  DispatchView v;
  std::vector<CownId> out;
  if (!s.view(b, v)) return out;
  for (const auto& [id, value] : v.cowns) out.push_back(id);
  return out;
}

inline bool running(const Scheduler& s, BehaviorId b) {
  DispatchView v;
  return s.view(b, v);
}

// The end state of a scenario that drained everything: no behavior left,
// `cowns` cowns alive, and the scheduler's invariants hold.
inline void expect_idle(const Scheduler& s, std::size_t cowns) {
  EXPECT_EQ(s.in_flight(), 0u);
  EXPECT_EQ(s.live_behaviors(), 0u);
  EXPECT_EQ(s.cown_count(), cowns);
  EXPECT_EQ(s.check_invariants(), "");
}

// A scheduler `s` with client session `a` (connection 1): how most
// scenarios start. A suite takes it under its own name,
// `using FooTest = SchedulerWithClient;`, and opens any other session
// (worker, second client) in the test itself.
// Limits whose messaging neither credits sends nor lends messages, so a
// test speaks the plain request/answer protocol (scheduler_lend_test.cc
// tests those two rules).
inline Limits plain_mail() {
  Limits l;
  l.mail.credit = 0;
  l.mail.lend = 0;
  return l;
}

class SchedulerWithClient : public ::testing::Test {
 protected:
  Scheduler s{plain_mail()};
  SessionGrant a = s.open_session(Role::client, 1, "a");
};

// A client that takes send credit and lent messages (Hello.streams).
constexpr SessionOptions STREAMS{.streams = true};

// A worker that keeps up to 1 MiB of values.
constexpr SessionOptions KEEPS{.keep_values = 1 << 20};

// What behavior `b`'s dispatch carries (it must be one).
inline DispatchView view_of(const Scheduler& s, BehaviorId b) {
  DispatchView v;
  EXPECT_TRUE(s.view(b, v));
  return v;
}

}  // namespace bocd::core::test

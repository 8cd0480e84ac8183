// Kept values (scheduler_kept.cc) and the worker pool's affinity: a
// worker that keeps values is sent a value's bytes once per version, is
// told what to drop, and a chain on one cown stays where its value is
// kept, but never waits for it while another worker is idle.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "core/scheduler.h"
#include "scheduler_test_util.h"

namespace bocd::core {
namespace {

using namespace test;  // NOLINT: the helpers are the test vocabulary

SessionSummary summary_of(const Scheduler& s, SessionId id) {
  for (const SessionSummary& x : s.sessions()) {
    if (x.id == id) return x;
  }
  ADD_FAILURE() << "no session " << id.value;
  return {};
}

bool forgets(const DispatchView& v, CownId id) {
  return std::find(v.forget.begin(), v.forget.end(), id) != v.forget.end();
}

class SchedulerKeptTest : public ::testing::Test {
 protected:
  // Chains wait for their completions here: pipelined dispatch has its
  // own tests (scheduler_chain_test.cc).
  Scheduler s{Limits{.worker_pipeline = 1, .chain_depth = 0}};
  SessionGrant p = s.open_session(Role::client, 1, "p");
  CownId x = cown(p, 1);
  const std::string big = std::string(2000, 'x');  // over keep_min_bytes

  void SetUp() override {
    ASSERT_TRUE(s.create_cown(p.id, x, val(big), false));
  }
  // Runs one pool behavior on `cowns` and returns it, dispatched to `w`.
  BehaviorId run_on(SessionId w, std::vector<CownId> cowns) {
    BehaviorId b = submit_ok(s, p.id, pooled(std::move(cowns)));
    EXPECT_EQ(dispatched_to(s, w), std::vector<BehaviorId>{b});
    return b;
  }
};

TEST_F(SchedulerKeptTest, AChainOnOneCownSendsItsValueOnce) {
  SessionGrant w = s.open_session(Role::worker, 2, "w", KEEPS);
  for (int i = 0; i < 100; ++i) {
    BehaviorId b = run_on(w.id, {x});
    DispatchView v = view_of(s, b);
    ASSERT_EQ(v.versions.size(), 1u);
    EXPECT_NE(v.versions[0], 0u) << "kept under its version";
    EXPECT_EQ(v.held[0], i > 0) << "held from the second behavior on";
    complete_ok(s, w.id, b);  // read only: nothing written back
  }
  SessionSummary sum = summary_of(s, w.id);
  EXPECT_EQ(sum.value_bytes_sent, big.size());
  EXPECT_EQ(sum.values_held, 99u);
  EXPECT_EQ(sum.value_bytes_back, 0u);
  expect_idle(s, 1);
}

TEST_F(SchedulerKeptTest, AWorkerThatKeepsNothingIsSentEveryValue) {
  SessionGrant w = s.open_session(Role::worker, 2, "w");
  for (int i = 0; i < 3; ++i) {
    BehaviorId b = run_on(w.id, {x});
    EXPECT_TRUE(view_of(s, b).versions.empty());
    complete_ok(s, w.id, b);
  }
  EXPECT_EQ(summary_of(s, w.id).values_held, 0u);
}

TEST_F(SchedulerKeptTest, WhatAWorkerWritesItHoldsAtTheNewVersion) {
  SessionGrant w = s.open_session(Role::worker, 2, "w", KEEPS);
  BehaviorId b1 = run_on(w.id, {x});
  std::uint64_t v1 = view_of(s, b1).versions[0];
  complete_ok(s, w.id, b1, {CownUpdate{x, val(std::string(2000, 'n'))}});
  BehaviorId b2 = run_on(w.id, {x});
  DispatchView v = view_of(s, b2);
  EXPECT_TRUE(v.held[0]) << "it keeps the object it wrote";
  EXPECT_NE(v.versions[0], v1) << "under the version the write made";
  complete_ok(s, w.id, b2);
  EXPECT_EQ(summary_of(s, w.id).value_bytes_back, 2000u);
}

TEST_F(SchedulerKeptTest, ASmallValueIsSentEachTimeNotKept) {
  SessionGrant w = s.open_session(Role::worker, 2, "w", KEEPS);
  CownId y = cown(p, 2);
  ASSERT_TRUE(s.create_cown(p.id, y, val("small"), false));
  for (int i = 0; i < 2; ++i) {
    BehaviorId b = run_on(w.id, {y});
    EXPECT_EQ(view_of(s, b).versions[0], 0u) << "under keep_min_bytes";
    complete_ok(s, w.id, b);
  }
  EXPECT_EQ(summary_of(s, w.id).values_held, 0u);
}

TEST_F(SchedulerKeptTest, AWriteElsewhereMakesTheOtherCopyStaleAndForgotten) {
  SessionGrant w1 = s.open_session(Role::worker, 2, "w1", KEEPS);
  SessionGrant w2 = s.open_session(Role::worker, 3, "w2", KEEPS);
  CownId y = cown(p, 2);
  ASSERT_TRUE(s.create_cown(p.id, y, val("y"), false));
  BehaviorId b1 = run_on(w1.id, {x});
  complete_ok(s, w1.id, b1);  // w1 keeps x
  BehaviorId busy = run_on(w1.id, {y});
  BehaviorId b2 = run_on(w2.id, {x});  // w1 is busy: w2, idle, takes it
  EXPECT_FALSE(view_of(s, b2).held[0]);
  complete_ok(s, w2.id, b2, {CownUpdate{x, val(std::string(2000, 'w'))}});
  complete_ok(s, w1.id, busy);
  // w2 holds x now; w1 is told to drop its copy with its next dispatch.
  BehaviorId b3 = run_on(w2.id, {x});
  EXPECT_TRUE(view_of(s, b3).held[0]);
  BehaviorId on_y = run_on(w1.id, {y});
  EXPECT_TRUE(forgets(view_of(s, on_y), x));
  complete_ok(s, w2.id, b3);
  complete_ok(s, w1.id, on_y);
  EXPECT_EQ(s.check_invariants(), "");
}

TEST_F(SchedulerKeptTest, WhatTheWorkerDroppedIsSentAgain) {
  SessionGrant w = s.open_session(Role::worker, 2, "w", KEEPS);
  BehaviorId b1 = run_on(w.id, {x});
  std::vector<CownUpdate> none;
  ASSERT_TRUE(s.complete(w.id, b1, none, std::nullopt, {x}));  // it raised
  BehaviorId b2 = run_on(w.id, {x});
  DispatchView v = view_of(s, b2);
  EXPECT_FALSE(v.held[0]);
  EXPECT_FALSE(forgets(v, x)) << "it dropped it itself";
  complete_ok(s, w.id, b2);
  EXPECT_EQ(summary_of(s, w.id).value_bytes_sent, 2 * big.size());
}

TEST_F(SchedulerKeptTest, ARefusedCompletionMakesTheWorkerDropItsObjects) {
  SessionGrant w = s.open_session(Role::worker, 2, "w", KEEPS);
  BehaviorId b1 = run_on(w.id, {x});
  EXPECT_TRUE(s.fail_running(w.id, b1, Errc::not_permitted, "refused"));
  BehaviorId b2 = run_on(w.id, {x});
  DispatchView v = view_of(s, b2);
  EXPECT_FALSE(v.held[0]) << "the committed value is sent again";
  EXPECT_TRUE(forgets(v, x)) << "its objects may hold what was refused";
  complete_ok(s, w.id, b2);
}

TEST_F(SchedulerKeptTest, TakingDispatchesBackStartsTheWorkerAfresh) {
  Scheduler t{Limits{.worker_pipeline = 2, .pipeline_below_us = -1,
                     .chain_depth = 0}};
  SessionGrant q = t.open_session(Role::client, 1, "q");
  SessionGrant w = t.open_session(Role::worker, 2, "w", KEEPS);
  ASSERT_TRUE(t.create_cown(q.id, cown(q, 1), val("a"), false));
  ASSERT_TRUE(t.create_cown(q.id, cown(q, 2), val("b"), false));
  BehaviorId b1 = submit_ok(t, q.id, pooled({cown(q, 1)}));
  BehaviorId b2 = submit_ok(t, q.id, pooled({cown(q, 2)}));
  EXPECT_EQ(dispatched_to(t, w.id), (std::vector<BehaviorId>{b1, b2}));
  auto back = t.take_back(w.id, b1);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back.value(), std::vector<BehaviorId>{b2});
  complete_ok(t, w.id, b1);
  EXPECT_EQ(dispatched_to(t, w.id), std::vector<BehaviorId>{b2});
  DispatchView v = view_of(t, b2);
  EXPECT_TRUE(v.forget_all) << "it dropped b2's dispatch unread";
  EXPECT_FALSE(v.held[0]);
  complete_ok(t, w.id, b2);
  EXPECT_EQ(t.check_invariants(), "");
}

TEST_F(SchedulerKeptTest, AValueThatEmbedsCownsIsNotKept) {
  SessionGrant w = s.open_session(Role::worker, 2, "w", KEEPS);
  CownId y = cown(p, 2);
  ASSERT_TRUE(s.create_cown(p.id, y, Value{"has x", false, Errc::none, {x}},
                            false));
  BehaviorId b = run_on(w.id, {y});
  EXPECT_EQ(view_of(s, b).versions[0], 0u);
  complete_ok(s, w.id, b);
}

TEST_F(SchedulerKeptTest, ACodeIsSentOnceThenLeftOut) {
  SessionGrant w = s.open_session(Role::worker, 2, "w", KEEPS);
  auto with_code = [](std::string payload) {
    SubmitRequest r = pooled({});
    r.payload = std::move(payload);
    r.code_at = 3;
    r.code_len = 4;
    r.code_key = 42;
    return r;
  };
  BehaviorId b1 = submit_ok(s, p.id, with_code("hdrCODEtail"));
  EXPECT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{b1});
  DispatchView v1 = view_of(s, b1);
  EXPECT_FALSE(v1.code_held);
  EXPECT_TRUE(v1.code_keep) << "sent, and to be kept";
  complete_ok(s, w.id, b1);
  BehaviorId b2 = submit_ok(s, p.id, with_code("HDRCODEtwo"));
  EXPECT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{b2});
  DispatchView v2 = view_of(s, b2);
  EXPECT_TRUE(v2.code_held) << "the worker keeps code 42: left out";
  EXPECT_EQ(v2.code_at, 3u);
  EXPECT_EQ(v2.code_len, 4u);
  complete_ok(s, w.id, b2);
  EXPECT_EQ(summary_of(s, w.id).codes_held, 1u);
  SubmitRequest bad = with_code("short");
  auto refused = s.submit(p.id, bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::not_permitted);
  EXPECT_NE(refused.error().message.find("outside the payload"),
            std::string::npos);
}

// Affinity: the next behavior of a chain goes where the last one ran.
TEST_F(SchedulerKeptTest, AChainStaysOnTheWorkerThatHoldsItsValue) {
  SessionGrant w1 = s.open_session(Role::worker, 2, "w1", KEEPS);
  SessionGrant w2 = s.open_session(Role::worker, 3, "w2", KEEPS);
  CownId y = cown(p, 2);
  ASSERT_TRUE(s.create_cown(p.id, y, val("y"), false));
  BehaviorId other = run_on(w1.id, {y});
  BehaviorId b1 = run_on(w2.id, {x});
  BehaviorId b2 = submit_ok(s, p.id, pooled({x}));
  complete_ok(s, w1.id, other);  // w1, first in line, is idle now
  EXPECT_TRUE(drain(s).dispatched.empty());
  complete_ok(s, w2.id, b1);
  EXPECT_EQ(dispatched_to(s, w2.id), std::vector<BehaviorId>{b2})
      << "where x's value is kept, though w1 comes first";
  EXPECT_TRUE(view_of(s, b2).held[0]);
  complete_ok(s, w2.id, b2);
  expect_idle(s, 2);
}

TEST_F(SchedulerKeptTest, ReadyWorkNeverWaitsForTheBusyWorkerItPrefers) {
  Scheduler t{Limits{.worker_pipeline = 2, .pipeline_below_us = -1,
                     .chain_depth = 0}};
  SessionGrant q = t.open_session(Role::client, 1, "q");
  SessionGrant w1 = t.open_session(Role::worker, 2, "w1", KEEPS);
  SessionGrant w2 = t.open_session(Role::worker, 3, "w2", KEEPS);
  CownId a = cown(q, 1), b = cown(q, 2), c = cown(q, 3);
  for (CownId id : {a, b, c}) {
    ASSERT_TRUE(t.create_cown(q.id, id, val("v"), false));
  }
  BehaviorId on_a = submit_ok(t, q.id, pooled({a}));
  EXPECT_EQ(dispatched_to(t, w1.id), std::vector<BehaviorId>{on_a});
  BehaviorId on_b = submit_ok(t, q.id, pooled({b}));
  EXPECT_EQ(dispatched_to(t, w2.id), std::vector<BehaviorId>{on_b});
  BehaviorId on_c = submit_ok(t, q.id, pooled({c}));
  EXPECT_EQ(dispatched_to(t, w1.id), std::vector<BehaviorId>{on_c})
      << "pipelined behind on_a";
  BehaviorId next_a = submit_ok(t, q.id, pooled({a}));
  EXPECT_TRUE(drain(t).dispatched.empty()) << "it waits for on_a";
  complete_ok(t, w2.id, on_b);  // w2 idle, nothing ready
  EXPECT_TRUE(drain(t).dispatched.empty());
  complete_ok(t, w1.id, on_a);  // next_a prefers w1, which still runs on_c
  EXPECT_EQ(dispatched_to(t, w2.id), std::vector<BehaviorId>{next_a})
      << "not queued behind on_c while w2 is idle";
  complete_ok(t, w1.id, on_c);
  complete_ok(t, w2.id, next_a);
  expect_idle(t, 3);
}

}  // namespace
}  // namespace bocd::core

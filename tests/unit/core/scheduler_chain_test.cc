// Pipelined dispatch (scheduler_chain.cc): a behavior whose cowns are held
// by behaviors dispatched to one worker that keeps values is sent there
// before they complete, to inherit their values; within a depth bound,
// never across workers, and with BOC semantics when a body raises, a
// completion is refused, a body blocks or the worker dies.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/scheduler.h"
#include "scheduler_test_util.h"

namespace bocd::core {
namespace {

using namespace test;  // NOLINT: the helpers are the test vocabulary

class SchedulerChainTest : public ::testing::Test {
 protected:
  // Every body counts as short (pipeline_below_us), so chains pipeline
  // from a worker's first body on.
  Scheduler s{Limits{
      .worker_pipeline = 1, .pipeline_below_us = -1, .chain_depth = 3}};
  SessionGrant p = s.open_session(Role::client, 1, "p");
  CownId x = cown(p, 1);
  CownId y = cown(p, 2);

  void SetUp() override {
    ASSERT_TRUE(s.create_cown(p.id, x, val("x0"), false));
    ASSERT_TRUE(s.create_cown(p.id, y, val("y0"), false));
  }
  std::vector<BehaviorId> submit_n(int n, std::vector<CownId> cowns,
                                   int first_result = 0) {
    std::vector<BehaviorId> out;
    for (int i = 0; i < n; ++i) {
      CownId r = first_result ? cown(p, first_result + i) : CownId{};
      out.push_back(submit_ok(s, p.id, pooled(cowns, r)));
    }
    return out;
  }
  std::string value(CownId c) { return s.value_of(c)->data; }
};

TEST_F(SchedulerChainTest, AChainOnOneCownGoesToItsWorkerAheadOfCompletions) {
  SessionGrant w = s.open_session(Role::worker, 2, "w", KEEPS);
  std::vector<BehaviorId> b = submit_n(4, {x});
  // The head with its value; the rest behind it at once, inheriting x.
  EXPECT_EQ(dispatched_to(s, w.id), b);
  EXPECT_TRUE(view_of(s, b[0]).inherit.empty());
  for (int i = 1; i < 4; ++i) {
    DispatchView v = view_of(s, b[i]);
    ASSERT_EQ(v.inherit.size(), 1u);
    EXPECT_TRUE(v.inherit[0]);
    EXPECT_FALSE(v.held[0]);
  }
  EXPECT_EQ(s.check_invariants(), "");
  // The worker runs them in order; each completion commits its write.
  for (int i = 0; i < 4; ++i) {
    complete_ok(s, w.id, b[i], {{x, val("x" + std::to_string(i + 1))}});
    EXPECT_EQ(value(x), "x" + std::to_string(i + 1));
    EXPECT_EQ(s.check_invariants(), "");
  }
  expect_idle(s, 2);
}

TEST_F(SchedulerChainTest, AtMostTheDepthWaitsBehindTheRunningOne) {
  SessionGrant w = s.open_session(Role::worker, 2, "w", KEEPS);
  std::vector<BehaviorId> b = submit_n(8, {x});
  // chain_depth 3: the running one and three behind it.
  EXPECT_EQ(dispatched_to(s, w.id),
            (std::vector<BehaviorId>{b[0], b[1], b[2], b[3]}));
  for (int i = 0; i < 8; ++i) {
    complete_ok(s, w.id, b[i]);
    std::vector<BehaviorId> next = dispatched_to(s, w.id);
    if (i + 4 < 8) {
      EXPECT_EQ(next, std::vector<BehaviorId>{b[i + 4]}) << i;
    } else {
      EXPECT_TRUE(next.empty()) << i;
    }
    EXPECT_EQ(s.check_invariants(), "");
  }
  expect_idle(s, 2);
}

TEST_F(SchedulerChainTest, NotWhileACownIsHeldOnAnotherWorker) {
  SessionGrant w1 = s.open_session(Role::worker, 2, "w1", KEEPS);
  SessionGrant w2 = s.open_session(Role::worker, 3, "w2", KEEPS);
  BehaviorId bx = submit_ok(s, p.id, pooled({x}));
  BehaviorId by = submit_ok(s, p.id, pooled({y}));
  Drained d = drain(s);
  ASSERT_EQ(d.dispatched.size(), 2u);
  SessionId on_x = d.dispatched[0].to;
  SessionId on_y = d.dispatched[1].to;
  ASSERT_NE(on_x, on_y);
  BehaviorId both = submit_ok(s, p.id, pooled({x, y}));
  EXPECT_TRUE(drain(s).dispatched.empty())
      << "its cowns are held on two workers: it waits";
  EXPECT_EQ(s.check_invariants(), "");
  // x is free now: behind `by` alone, it goes to y's worker, sent x's
  // value and inheriting y's.
  complete_ok(s, on_x, bx, {{x, val("x1")}});
  EXPECT_EQ(dispatched_to(s, on_y), std::vector<BehaviorId>{both});
  DispatchView v = view_of(s, both);
  EXPECT_EQ(v.inherit, (std::vector<bool>{false, true}));
  EXPECT_EQ(v.cowns[0].second->data, "x1");
  complete_ok(s, on_y, by);
  complete_ok(s, on_y, both);
  expect_idle(s, 2);
  (void)w1;
  (void)w2;
}

TEST_F(SchedulerChainTest, NotWhileAnotherProgramWaitsForThatWorker) {
  // One worker; p's chain on x holds it. Once q's behavior waits for a
  // place, p's next steps wait their turn: q's runs after p's current one,
  // not after the whole chain.
  SessionGrant w = s.open_session(Role::worker, 2, "w", KEEPS);
  SessionGrant q = s.open_session(Role::client, 3, "q");
  CownId z = cown(q, 1);
  ASSERT_TRUE(s.create_cown(q.id, z, val("z0"), false));
  BehaviorId first = submit_ok(s, p.id, pooled({x}));
  EXPECT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{first});
  BehaviorId light = submit_ok(s, q.id, pooled({z}));
  EXPECT_TRUE(dispatched_to(s, w.id).empty()) << "the worker is busy";
  std::vector<BehaviorId> rest = submit_n(2, {x});
  EXPECT_TRUE(dispatched_to(s, w.id).empty())
      << "q waits for the worker: p's chain does not grow";
  EXPECT_EQ(s.check_invariants(), "");
  complete_ok(s, w.id, first, {{x, val("x1")}});
  EXPECT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{light});
  // Nobody else waits now: p's steps chain again, behind q's.
  complete_ok(s, w.id, light);
  std::vector<BehaviorId> sent = dispatched_to(s, w.id);
  EXPECT_EQ(sent, rest);
  for (BehaviorId b : sent) complete_ok(s, w.id, b);
  EXPECT_EQ(value(x), "x1");
  expect_idle(s, 3);
}

TEST(SchedulerChainPlacesTest, NotWhileAnotherProgramWaitsForAPlace) {
  // One place; p's chain holds it on p's worker. q's own worker is idle,
  // but q waits for the place: p's next steps wait their turn.
  Scheduler s(Limits{.worker_pipeline = 1, .pipeline_below_us = -1,
                     .max_busy_workers = 1, .max_worker_processes = 4,
                     .chain_depth = 3});
  SessionGrant p = s.open_session(Role::client, 1, "p",
                                  SessionOptions{.own_workers = true});
  SessionGrant q = s.open_session(Role::client, 2, "q",
                                  SessionOptions{.own_workers = true});
  SessionOptions keeps_for_p = KEEPS;
  keeps_for_p.bound_to = p.id;
  SessionOptions keeps_for_q = KEEPS;
  keeps_for_q.bound_to = q.id;
  SessionGrant wp = s.open_session(Role::worker, 3, "wp", keeps_for_p);
  SessionGrant wq = s.open_session(Role::worker, 4, "wq", keeps_for_q);
  CownId x = cown(p, 1);
  CownId z = cown(q, 1);
  ASSERT_TRUE(s.create_cown(p.id, x, val("x0"), false));
  ASSERT_TRUE(s.create_cown(q.id, z, val("z0"), false));
  BehaviorId first = submit_ok(s, p.id, pooled({x}));
  EXPECT_EQ(dispatched_to(s, wp.id), std::vector<BehaviorId>{first});
  BehaviorId light = submit_ok(s, q.id, pooled({z}));
  EXPECT_TRUE(dispatched_to(s, wq.id).empty()) << "the one place is taken";
  BehaviorId next = submit_ok(s, p.id, pooled({x}));
  EXPECT_TRUE(dispatched_to(s, wp.id).empty())
      << "q waits for the place: p's chain does not grow";
  EXPECT_EQ(s.check_invariants(), "");
  complete_ok(s, wp.id, first);
  EXPECT_EQ(dispatched_to(s, wq.id), std::vector<BehaviorId>{light});
  complete_ok(s, wq.id, light);
  EXPECT_EQ(dispatched_to(s, wp.id), std::vector<BehaviorId>{next});
  complete_ok(s, wp.id, next);
  EXPECT_EQ(s.check_invariants(), "");
}

TEST_F(SchedulerChainTest, NeverToAWorkerThatKeepsNoValues) {
  SessionGrant w = s.open_session(Role::worker, 2, "w");
  std::vector<BehaviorId> b = submit_n(3, {x});
  EXPECT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{b[0]});
  complete_ok(s, w.id, b[0]);
  EXPECT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{b[1]});
  complete_ok(s, w.id, b[1]);
  complete_ok(s, w.id, b[2]);
  expect_idle(s, 2);
}

TEST_F(SchedulerChainTest, NeverForWorkRunByItsSubmitter) {
  SessionGrant w = s.open_session(Role::worker, 2, "w", KEEPS);
  BehaviorId a = submit_ok(s, p.id, pooled({x}));
  BehaviorId own = submit_ok(s, p.id, on({x}));
  EXPECT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{a});
  complete_ok(s, w.id, a);
  EXPECT_EQ(dispatched_to(s, p.id), std::vector<BehaviorId>{own});
  EXPECT_TRUE(view_of(s, own).inherit.empty());
  complete_ok(s, p.id, own);
  expect_idle(s, 2);
}

TEST_F(SchedulerChainTest, NotCompletedBeforeItsPredecessor) {
  SessionGrant w = s.open_session(Role::worker, 2, "w", KEEPS);
  std::vector<BehaviorId> b = submit_n(2, {x});
  drain(s);
  Status st = complete(s, w.id, b[1], {{x, val("early")}});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::not_permitted);
  EXPECT_FALSE(s.fail_running(w.id, b[1], Errc::not_permitted, "no"));
  EXPECT_EQ(value(x), "x0");
  complete_ok(s, w.id, b[0]);
  complete_ok(s, w.id, b[1]);
  expect_idle(s, 2);
}

TEST_F(SchedulerChainTest, ABouncedBehaviorGoesOutAgainWithItsValues) {
  // The head raised: the worker dropped what it left, so the next one
  // bounces and is sent again over the committed value.
  SessionGrant w = s.open_session(Role::worker, 2, "w", KEEPS);
  std::vector<BehaviorId> b = submit_n(3, {x}, 10);
  EXPECT_EQ(dispatched_to(s, w.id), b);
  // Raised after writing x: the write is committed, as in bocpy.
  std::vector<CownUpdate> raised = {{x, val("half")},
                                    {cown(p, 10), Value{"boom", true}}};
  ASSERT_TRUE(s.complete(w.id, b[0], raised, std::nullopt, {x}).ok());
  ASSERT_TRUE(s.bounce(w.id, b[1]).ok());
  EXPECT_TRUE(drain(s).dispatched.empty())
      << "the worker still has b[2], which it bounces too";
  EXPECT_EQ(s.check_invariants(), "");
  ASSERT_TRUE(s.bounce(w.id, b[2]).ok());
  // b[1] goes out again over the committed value, b[2] pipelined behind.
  EXPECT_EQ(dispatched_to(s, w.id), (std::vector<BehaviorId>{b[1], b[2]}));
  DispatchView v = view_of(s, b[1]);
  EXPECT_TRUE(v.inherit.empty());
  EXPECT_EQ(v.cowns[0].second->data, "half");
  EXPECT_EQ(view_of(s, b[2]).inherit, std::vector<bool>{true});
  EXPECT_EQ(s.check_invariants(), "");
  complete_ok(s, w.id, b[1], {{x, val("x2")}});
  complete_ok(s, w.id, b[2], {{x, val("x3")}});
  EXPECT_EQ(value(x), "x3");
  EXPECT_FALSE(s.bounce(w.id, b[2]).ok()) << "it has ended";
  for (int r = 10; r < 13; ++r) ASSERT_TRUE(s.drop_cown(p.id, cown(p, r)));
  expect_idle(s, 2);
}

// As above, but the worker may take more: b[1] goes out again while the
// worker still holds b[2]; b[2], bounced in turn, follows it at once.
TEST(SchedulerChainDeepTest, ABehaviorBouncedAfterItsPredecessorWentOutFollowsIt) {
  Scheduler s{Limits{
      .worker_pipeline = 4, .pipeline_below_us = -1, .chain_depth = 3}};
  SessionGrant p = s.open_session(Role::client, 1, "p");
  CownId x = cown(p, 1);
  ASSERT_TRUE(s.create_cown(p.id, x, val("x0"), false));
  SessionGrant w = s.open_session(Role::worker, 2, "w", KEEPS);
  std::vector<BehaviorId> b;
  for (int i = 0; i < 3; ++i) b.push_back(submit_ok(s, p.id, pooled({x})));
  EXPECT_EQ(dispatched_to(s, w.id), b);
  std::vector<CownUpdate> half = {{x, val("half")}};
  ASSERT_TRUE(s.complete(w.id, b[0], half, std::nullopt, {x}).ok());
  ASSERT_TRUE(s.bounce(w.id, b[1]).ok());
  EXPECT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{b[1]})
      << "sent again at once: the worker may take more";
  ASSERT_TRUE(s.bounce(w.id, b[2]).ok());
  EXPECT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{b[2]})
      << "waiting again, behind b[1] on the same worker";
  EXPECT_EQ(view_of(s, b[2]).inherit, std::vector<bool>{true});
  EXPECT_EQ(s.check_invariants(), "");
  complete_ok(s, w.id, b[1], {{x, val("x2")}});
  complete_ok(s, w.id, b[2], {{x, val("x3")}});
  EXPECT_EQ(s.value_of(x)->data, "x3");
  expect_idle(s, 1);
}

TEST_F(SchedulerChainTest, ALostWorkerLosesItsChainAsItLosesOneBehavior) {
  SessionGrant w = s.open_session(Role::worker, 2, "w", KEEPS);
  std::vector<BehaviorId> b = submit_n(6, {x}, 10);  // 4 sent, 2 wait
  EXPECT_EQ(dispatched_to(s, w.id).size(), 4u);
  s.quiesce(p.id, 7);
  s.close_session(w.id);
  // Each sent one ends as a lost behavior does; x keeps its value.
  for (int i = 0; i < 4; ++i) {
    const Value* r = s.value_of(cown(p, 10 + i));
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->error, Errc::executor_lost) << i;
  }
  EXPECT_EQ(value(x), "x0");
  EXPECT_EQ(s.in_flight(p.id), 2u);
  EXPECT_EQ(s.check_invariants(), "");
  // The two that waited run on the next worker, in order.
  SessionGrant w2 = s.open_session(Role::worker, 3, "w2", KEEPS);
  std::vector<BehaviorId> next = dispatched_to(s, w2.id);
  ASSERT_EQ(next, (std::vector<BehaviorId>{b[4], b[5]}));
  EXPECT_TRUE(view_of(s, b[4]).inherit.empty());
  complete_ok(s, w2.id, b[4], {{x, val("x5")}});
  complete_ok(s, w2.id, b[5], {{x, val("x6")}});
  EXPECT_EQ(value(x), "x6");
  Drained d = drain(s);
  ASSERT_EQ(d.quiesced.size(), 1u);
  for (int r = 10; r < 16; ++r) ASSERT_TRUE(s.drop_cown(p.id, cown(p, r)));
  expect_idle(s, 2);
}

TEST_F(SchedulerChainTest, ARefusedCompletionFailsWhatRanOverItsValues) {
  SessionGrant w = s.open_session(Role::worker, 2, "w", KEEPS);
  std::vector<BehaviorId> b = submit_n(3, {x}, 10);
  drain(s);
  ASSERT_TRUE(s.fail_running(w.id, b[0], Errc::not_permitted, "bad refs"));
  // b[1] ran over b[0]'s unstored value: its writes are not stored either,
  // nor those of b[2], which ran over b[1]'s.
  complete_ok(s, w.id, b[1], {{x, val("from-unstored")}});
  complete_ok(s, w.id, b[2], {{x, val("from-unstored-too")}});
  EXPECT_EQ(value(x), "x0");
  for (int i = 0; i < 3; ++i) {
    const Value* r = s.value_of(cown(p, 10 + i));
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->error, Errc::not_permitted) << i;
  }
  // And the next one is sent x's stored value, told to drop what it has.
  BehaviorId after = submit_ok(s, p.id, pooled({x}));
  EXPECT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{after});
  DispatchView v = view_of(s, after);
  EXPECT_TRUE(v.inherit.empty());
  EXPECT_EQ(v.cowns[0].second->data, "x0");
  EXPECT_NE(std::find(v.forget.begin(), v.forget.end(), x), v.forget.end());
  complete_ok(s, w.id, after);
  for (int r = 10; r < 13; ++r) ASSERT_TRUE(s.drop_cown(p.id, cown(p, r)));
  expect_idle(s, 2);
}

TEST_F(SchedulerChainTest, ABlockingBodyGivesBackWhatWaitsBehindIt) {
  SessionGrant w = s.open_session(Role::worker, 2, "w", KEEPS);
  std::vector<BehaviorId> b = submit_n(3, {x});
  drain(s);
  auto back = s.take_back(w.id, b[0]);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back.value(), (std::vector<BehaviorId>{b[1], b[2]}));
  EXPECT_TRUE(drain(s).dispatched.empty()) << "they still wait for x";
  EXPECT_FALSE(running(s, b[1]));
  EXPECT_EQ(s.check_invariants(), "");
  // Its body ends: they go out again, the first with x's value.
  complete_ok(s, w.id, b[0], {{x, val("x1")}});
  std::vector<BehaviorId> again = dispatched_to(s, w.id);
  ASSERT_EQ(again, (std::vector<BehaviorId>{b[1], b[2]}));
  EXPECT_TRUE(view_of(s, b[1]).inherit.empty());
  EXPECT_EQ(view_of(s, b[2]).inherit, std::vector<bool>{true});
  complete_ok(s, w.id, b[1]);
  complete_ok(s, w.id, b[2]);
  expect_idle(s, 2);
}

TEST_F(SchedulerChainTest, WhatAChainLeavesIsDroppedWhenItEnds) {
  // A small value (not a kept one) that nothing more is pipelined to
  // inherit: the worker is told to drop it with its next dispatch.
  SessionGrant w = s.open_session(Role::worker, 2, "w", KEEPS);
  std::vector<BehaviorId> b = submit_n(2, {x});
  drain(s);
  complete_ok(s, w.id, b[0]);
  complete_ok(s, w.id, b[1]);
  BehaviorId other = submit_ok(s, p.id, pooled({y}));
  EXPECT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{other});
  DispatchView v = view_of(s, other);
  EXPECT_EQ(v.forget, std::vector<CownId>{x});
  complete_ok(s, w.id, other);
  expect_idle(s, 2);
}

}  // namespace
}  // namespace bocd::core

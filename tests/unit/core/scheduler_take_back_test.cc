// Taking back what was pipelined to a worker whose body blocks
// (Scheduler::take_back): the later behaviors go to other workers, in
// order, and the stalled worker gets nothing until its body ends.
#include <gtest/gtest.h>

#include "core/scheduler.h"
#include "scheduler_test_util.h"

namespace bocd::core {
namespace {

using namespace test;  // NOLINT: the helpers are the test vocabulary

// Always pipelines (no clock), up to three behaviors a worker.
Limits pipelined() {
  return Limits{.worker_pipeline = 3, .pipeline_below_us = -1};
}

TEST(SchedulerTakeBackTest, LaterBehaviorsGoToAnIdleWorkerInOrder) {
  Scheduler s(pipelined());
  SessionGrant a = s.open_session(Role::client, 1, "a");
  SessionGrant w1 = s.open_session(Role::worker, 2, "w1");
  BehaviorId b1 = submit_ok(s, a.id, pooled({}));
  BehaviorId b2 = submit_ok(s, a.id, pooled({}));
  BehaviorId b3 = submit_ok(s, a.id, pooled({}));
  ASSERT_EQ(dispatched_to(s, w1.id), (std::vector<BehaviorId>{b1, b2, b3}));
  Result<std::vector<BehaviorId>> back = s.take_back(w1.id, b1);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back.value(), (std::vector<BehaviorId>{b2, b3}));
  EXPECT_TRUE(drain(s).dispatched.empty()) << "no other worker yet";
  EXPECT_EQ(s.queued_for_workers(), 2u);
  EXPECT_EQ(s.check_invariants(), "");
  SessionGrant w2 = s.open_session(Role::worker, 3, "w2");
  EXPECT_EQ(dispatched_to(s, w2.id), (std::vector<BehaviorId>{b2, b3}));
  BehaviorId b4 = submit_ok(s, a.id, pooled({}));
  EXPECT_EQ(dispatched_to(s, w2.id), std::vector<BehaviorId>{b4})
      << "the stalled worker is sent nothing";
  complete_ok(s, w2.id, b2);
  complete_ok(s, w2.id, b3);
  complete_ok(s, w2.id, b4);
  complete_ok(s, w1.id, b1);
  BehaviorId b5 = submit_ok(s, a.id, pooled({}));
  EXPECT_EQ(drain(s).dispatched.size(), 1u) << "b5 goes out at once";
  (void)b5;
  EXPECT_EQ(s.check_invariants(), "");
}

TEST(SchedulerTakeBackTest, AStalledWorkerRunsWhatItGaveBackOnceItsBodyEnds) {
  Scheduler s(pipelined());
  SessionGrant a = s.open_session(Role::client, 1, "a");
  SessionGrant w = s.open_session(Role::worker, 2, "w");
  BehaviorId b1 = submit_ok(s, a.id, pooled({}));
  BehaviorId b2 = submit_ok(s, a.id, pooled({}));
  drain(s);
  ASSERT_EQ(s.take_back(w.id, b1).value(), std::vector<BehaviorId>{b2});
  EXPECT_TRUE(drain(s).dispatched.empty()) << "its only worker is stalled";
  complete_ok(s, w.id, b1);
  EXPECT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{b2})
      << "sent again: the worker dropped the first dispatch";
  complete_ok(s, w.id, b2);
  expect_idle(s, 0);
}

TEST(SchedulerTakeBackTest, NothingIsTakenBackOnceTheBodyHasEnded) {
  // The worker may have started what followed: it stays where it is.
  Scheduler s(pipelined());
  SessionGrant a = s.open_session(Role::client, 1, "a");
  SessionGrant w = s.open_session(Role::worker, 2, "w");
  BehaviorId b1 = submit_ok(s, a.id, pooled({}));
  BehaviorId b2 = submit_ok(s, a.id, pooled({}));
  drain(s);
  complete_ok(s, w.id, b1);
  Result<std::vector<BehaviorId>> back = s.take_back(w.id, b1);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back.value().empty());
  EXPECT_TRUE(running(s, b2));
  Result<std::vector<BehaviorId>> last = s.take_back(w.id, b2);
  ASSERT_TRUE(last.ok());
  EXPECT_TRUE(last.value().empty()) << "nothing after the last";
  complete_ok(s, w.id, b2);
  expect_idle(s, 0);
}

TEST(SchedulerTakeBackTest, OnlyAWorkerMayGiveBehaviorsBack) {
  Scheduler s(pipelined());
  SessionGrant a = s.open_session(Role::client, 1, "a");
  CownId p = cown(a, 1);
  ASSERT_TRUE(s.create_cown(a.id, p, Value{}, true));
  BehaviorId pinned = submit_ok(s, a.id, pooled({p}));
  Result<std::vector<BehaviorId>> back = s.take_back(a.id, pinned);
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.error().code, Errc::not_permitted);
  complete_ok(s, a.id, pinned);
  expect_idle(s, 1);
}

TEST(SchedulerTakeBackTest, ClosingAStalledWorkerFailsOnlyItsOwnBody) {
  Scheduler s(pipelined());
  SessionGrant a = s.open_session(Role::client, 1, "a");
  SessionGrant w1 = s.open_session(Role::worker, 2, "w1");
  BehaviorId b1 = submit_ok(s, a.id, pooled({}, cown(a, 1)));
  BehaviorId b2 = submit_ok(s, a.id, pooled({}, cown(a, 2)));
  drain(s);
  ASSERT_EQ(s.take_back(w1.id, b1).value(), std::vector<BehaviorId>{b2});
  s.close_session(w1.id);
  EXPECT_EQ(s.value_of(cown(a, 1))->error, Errc::executor_lost);
  SessionGrant w2 = s.open_session(Role::worker, 3, "w2");
  EXPECT_EQ(dispatched_to(s, w2.id), std::vector<BehaviorId>{b2});
  complete_ok(s, w2.id, b2);
  EXPECT_EQ(s.check_invariants(), "");
}

}  // namespace
}  // namespace bocd::core

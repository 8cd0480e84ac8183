// Executor statistics (SessionSummary): behaviors ran, outstanding, busy
// time in injected host microseconds, pinned dispatches. What `bocd status`
// and quiesce(stats=True) report per worker.
#include "scheduler_test_util.h"

namespace bocd::core::test {
namespace {

using SchedulerStatsTest = SchedulerWithClient;

SessionSummary summary_of(const std::vector<SessionSummary>& all,
                                 SessionId id) {
  for (const SessionSummary& x : all) {
    if (x.id == id) return x;
  }
  throw std::runtime_error("no summary for session");
}

TEST_F(SchedulerStatsTest, BusyTimeCountsWhileAWorkerHoldsWork) {
  SessionGrant w = s.open_session(Role::worker, 3, "w");
  CownId c = cown(a, 1);
  ASSERT_TRUE(s.create_cown(a.id, c, Value{}, false));
  s.set_time(1'000);
  BehaviorId first = submit_ok(s, a.id, pooled({c}));
  drain(s);
  s.set_time(1'400);
  SessionSummary mid = summary_of(s.sessions(), w.id);
  EXPECT_EQ(mid.running, 1u);
  EXPECT_EQ(mid.ran, 0u);
  EXPECT_EQ(mid.mean_run_us, -1) << "no body has finished there yet";
  EXPECT_EQ(mid.busy_us, 400u) << "a running behavior counts up to now";
  s.set_time(1'500);
  complete_ok(s, w.id, first);
  s.set_time(9'000);  // idle time is not busy time
  BehaviorId second = submit_ok(s, a.id, pooled({c}));
  drain(s);
  s.set_time(9'250);
  complete_ok(s, w.id, second);
  SessionSummary end = summary_of(s.sessions(), w.id);
  // 500 us, then 250 us: the moving average weighs the new one by 1/8.
  EXPECT_EQ(end.mean_run_us, (7 * 500 + 250) / 8);
  EXPECT_EQ(end.ran, 2u);
  EXPECT_EQ(end.running, 0u);
  EXPECT_EQ(end.busy_us, 750u);
  EXPECT_EQ(end.pinned_dispatched, 0u);
  EXPECT_EQ(s.queued_for_workers(), 0u);
  EXPECT_EQ(s.check_invariants(), "");
}

TEST_F(SchedulerStatsTest, CountsPinnedDispatchesOnTheOwner) {
  SessionGrant b = s.open_session(Role::client, 1, "b");
  CownId p = cown(a, 1);
  ASSERT_TRUE(s.create_cown(a.id, p, Value{}, true));
  BehaviorId first = submit_ok(s, b.id, pooled({p}));
  BehaviorId second = submit_ok(s, b.id, pooled({p}));
  drain(s);
  SessionSummary owner = summary_of(s.sessions(), a.id);
  EXPECT_EQ(owner.pinned_dispatched, 1u) << "the second waits for the first";
  EXPECT_EQ(owner.pinned_depth, 1u);
  complete_ok(s, a.id, first);
  complete_ok(s, a.id, second);
  SessionSummary after = summary_of(s.sessions(), a.id);
  EXPECT_EQ(after.pinned_dispatched, 2u);
  EXPECT_EQ(after.pinned_depth, 0u);
  EXPECT_EQ(after.ran, 2u);
  EXPECT_EQ(summary_of(s.sessions(), b.id).ran, 0u) << "b only submitted";
  EXPECT_EQ(s.check_invariants(), "");
}

TEST_F(SchedulerStatsTest, ReadyWorkWithNoWorkerIsQueued) {
  CownId c = cown(a, 1), d = cown(a, 2);
  ASSERT_TRUE(s.create_cown(a.id, c, Value{}, false));
  ASSERT_TRUE(s.create_cown(a.id, d, Value{}, false));
  submit_ok(s, a.id, pooled({c}));
  submit_ok(s, a.id, pooled({d}));
  submit_ok(s, a.id, pooled({d}));  // waits on d: not ready, not queued
  EXPECT_EQ(s.queued_for_workers(), 2u);
  SessionGrant w = s.open_session(Role::worker, 3, "w");
  EXPECT_EQ(s.queued_for_workers(), 1u) << "one pipeline slot taken";
  EXPECT_EQ(summary_of(s.sessions(), w.id).running, 1u);
  EXPECT_EQ(s.check_invariants(), "");
}

}  // namespace
}  // namespace bocd::core::test

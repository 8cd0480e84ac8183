// Work that no worker will come for (Scheduler::fail_unserved): it fails
// after a grace, on its result cown and to its submitter, instead of
// waiting in silence. Time is injected (set_time).
#include <gtest/gtest.h>

#include "core/scheduler.h"
#include "scheduler_test_util.h"

namespace bocd::core {
namespace {

using namespace test;  // NOLINT: the helpers are the test vocabulary

// fail_unserved: work no worker will come for fails after the grace, on
// its result cown and to its submitter; with a worker on its way (the host
// gives no reason) or connected, it waits.
TEST(SchedulerUnservedTest, WorkNoWorkerWillRunFailsAfterTheGrace) {
  Scheduler s;
  SessionGrant a = s.open_session(Role::client, 1, "a");
  CownId x = cown(a, 1);
  ASSERT_TRUE(s.create_cown(a.id, x, val("x"), false));
  s.set_time(1'000'000);
  BehaviorId first = submit_ok(s, a.id, pooled({x}, cown(a, 2)));
  submit_ok(s, a.id, pooled({x}, cown(a, 3)));  // behind first, on x
  EXPECT_EQ(s.fail_unserved(1'000'000, ""), 0u) << "a worker is coming";
  s.set_time(3'000'000);
  EXPECT_EQ(s.fail_unserved(1'000'000, ""), 0u);
  EXPECT_EQ(s.fail_unserved(1'000'000, "none configured"), 0u)
      << "the grace starts when the host first says none is coming";
  s.set_time(3'900'000);
  EXPECT_EQ(s.fail_unserved(1'000'000, "none configured"), 0u);
  s.set_time(4'000'000);
  EXPECT_EQ(s.fail_unserved(1'000'000, "none configured"), 1u);
  Drained d = drain(s);
  ASSERT_EQ(d.failed.size(), 1u);
  EXPECT_EQ(d.failed[0].code, Errc::no_workers);
  EXPECT_EQ(d.failed[0].message,
            "behavior not run: no worker can run it: none configured");
  EXPECT_EQ(s.value_of(cown(a, 2))->error, Errc::no_workers);
  (void)first;
  // The one behind it was let in, and fails at the next call.
  EXPECT_EQ(s.fail_unserved(1'000'000, "none configured"), 1u);
  EXPECT_EQ(s.value_of(cown(a, 3))->error, Errc::no_workers);
  EXPECT_EQ(s.in_flight(), 0u);
  EXPECT_EQ(s.check_invariants(), "");
}

TEST(SchedulerUnservedTest, AConnectedWorkerEndsTheWait) {
  Scheduler s;
  SessionGrant a = s.open_session(Role::client, 1, "a");
  s.set_time(1'000'000);
  BehaviorId b = submit_ok(s, a.id, pooled({}));
  EXPECT_EQ(s.fail_unserved(1'000'000, "workers die at start-up"), 0u);
  SessionGrant w = s.open_session(Role::worker, 2, "w");
  s.set_time(5'000'000);
  EXPECT_EQ(s.fail_unserved(1'000'000, "workers die at start-up"), 0u);
  EXPECT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{b});
  complete_ok(s, w.id, b);
  expect_idle(s, 0);
}

}  // namespace
}  // namespace bocd::core

// Pinned work accounting (Scheduler::pinned_queues) and the PumpWatchdog
// that reads it: progress, one alert per stall, injected time.
#include "scheduler_test_util.h"

namespace bocd::core::test {
namespace {

using PinnedQueuesTest = SchedulerWithClient;

TEST_F(PinnedQueuesTest, CountsWorkRoutedToTheOwnerUntilItCompletes) {
  SessionGrant b = s.open_session(Role::client, 1, "b");
  SessionGrant w = s.open_session(Role::worker, 3, "w");
  CownId p = cown(a, 1), q = cown(b, 1), r = cown(b, 2);
  ASSERT_TRUE(s.create_cown(a.id, p, Value{}, true));
  ASSERT_TRUE(s.create_cown(b.id, q, Value{}, false));
  ASSERT_TRUE(s.create_cown(b.id, r, Value{}, false));
  BehaviorId plain = submit_ok(s, b.id, pooled({q}));
  EXPECT_TRUE(s.pinned_queues().empty()) << "unpinned work is not pinned";
  BehaviorId first = submit_ok(s, b.id, pooled({q, p}));  // waits for plain
  EXPECT_TRUE(s.pinned_queues().empty()) << "not dispatched yet";
  drain(s);
  complete_ok(s, w.id, plain);
  std::vector<PinnedQueue> qs = s.pinned_queues();
  ASSERT_EQ(qs.size(), 1u);
  EXPECT_EQ(qs[0].session, a.id);
  EXPECT_EQ(qs[0].depth, 1u);
  std::uint64_t progress = qs[0].progress;
  BehaviorId second = submit_ok(s, b.id, pooled({r, p}));  // behind first
  EXPECT_EQ(s.pinned_queues()[0].depth, 1u);
  complete_ok(s, a.id, first);
  qs = s.pinned_queues();
  ASSERT_EQ(qs.size(), 1u) << "second took its place at once";
  // The owner made progress: the wait the watchdog times starts over.
  EXPECT_GT(qs[0].progress, progress);
  progress = qs[0].progress;
  complete_ok(s, a.id, second);
  EXPECT_TRUE(s.pinned_queues().empty());
  BehaviorId third = submit_ok(s, a.id, pooled({p}));
  ASSERT_EQ(s.pinned_queues().size(), 1u);
  EXPECT_GT(s.pinned_queues()[0].progress, progress);
  complete_ok(s, a.id, third);
  EXPECT_EQ(s.check_invariants(), "");
}

TEST_F(PinnedQueuesTest, OwnerClosingEndsItsQueue) {
  SessionGrant b = s.open_session(Role::client, 1, "b");
  CownId p = cown(a, 1);
  ASSERT_TRUE(s.create_cown(a.id, p, Value{}, true));
  submit_ok(s, b.id, pooled({p}, cown(b, 1)));
  ASSERT_EQ(s.pinned_queues().size(), 1u);
  s.close_session(a.id);
  EXPECT_TRUE(s.pinned_queues().empty());
  EXPECT_EQ(s.check_invariants(), "");
}

// pinned_waiting: what a program must still expect back before its pump()
// has seen everything ready (the answer to a Sync).
TEST_F(PinnedQueuesTest, WaitingCountsRoutedWorkUntilItIsDispatched) {
  SessionGrant b = s.open_session(Role::client, 1, "b");
  CownId p = cown(a, 1), q = cown(b, 1);
  ASSERT_TRUE(s.create_cown(a.id, p, Value{}, true));
  ASSERT_TRUE(s.create_cown(b.id, q, Value{}, false));
  BehaviorId first = submit_ok(s, a.id, pooled({p}));
  EXPECT_EQ(s.pinned_waiting(a.id), 0u) << "dispatched at once";
  BehaviorId second = submit_ok(s, a.id, pooled({p}));
  BehaviorId third = submit_ok(s, b.id, pooled({q, p}));
  EXPECT_EQ(s.pinned_waiting(a.id), 2u) << "queued behind first";
  EXPECT_EQ(s.pinned_waiting(b.id), 0u) << "counted for the owner only";
  EXPECT_EQ(s.check_invariants(), "");
  complete_ok(s, a.id, first);
  EXPECT_EQ(s.pinned_waiting(a.id), 1u);
  complete_ok(s, a.id, second);
  EXPECT_EQ(s.pinned_waiting(a.id), 0u);
  complete_ok(s, a.id, third);
  expect_idle(s, 2);
}

TEST_F(PinnedQueuesTest, WaitingWorkCancelledWithItsSessionLeavesTheCount) {
  SessionGrant b = s.open_session(Role::client, 1, "b");
  CownId p = cown(a, 1);
  ASSERT_TRUE(s.create_cown(a.id, p, Value{}, true));
  BehaviorId first = submit_ok(s, a.id, pooled({p}));
  submit_ok(s, b.id, pooled({p}, cown(b, 1)));
  submit_ok(s, b.id, pooled({p}));
  EXPECT_EQ(s.pinned_waiting(a.id), 2u);
  s.close_session(b.id);  // its two are cancelled, still queued
  EXPECT_EQ(s.check_invariants(), "");
  complete_ok(s, a.id, first);  // they leave without running
  EXPECT_EQ(s.pinned_waiting(a.id), 0u);
  EXPECT_EQ(s.check_invariants(), "");
}

// The owner keeps a pinned cown's value: it hears when nothing can name
// the cown any more, and not before (a value embedding it keeps it alive).
TEST_F(PinnedQueuesTest, OwnerHearsWhenItsPinnedCownIsFreed) {
  CownId p = cown(a, 1), box = cown(a, 2);
  ASSERT_TRUE(s.create_cown(a.id, p, Value{}, true));
  Value holds_p = val("p inside");
  holds_p.refs = {p};
  ASSERT_TRUE(s.create_cown(a.id, box, holds_p, false));
  ASSERT_TRUE(s.drop_cown(a.id, p));
  EXPECT_TRUE(drain(s).pinned_freed.empty()) << "box's value names it";
  ASSERT_TRUE(s.drop_cown(a.id, box));
  std::vector<PinnedFreedEvent> freed = drain(s).pinned_freed;
  ASSERT_EQ(freed.size(), 1u);
  EXPECT_EQ(freed[0].owner, a.id);
  EXPECT_EQ(freed[0].id, p);
  expect_idle(s, 0);
}

PinnedQueue queue(std::uint64_t session, std::uint32_t depth,
                  std::uint64_t progress) {
  return PinnedQueue{SessionId{session}, depth, progress};
}

TEST(PumpWatchdogTest, WarnsOncePerStallAfterTheThreshold) {
  PumpWatchdog w(100);
  std::int64_t t0 = 1000;
  std::vector<PinnedQueue> qs{queue(7, 2, 1)};
  EXPECT_TRUE(w.check(t0, qs).empty()) << "first seen: its clock starts";
  EXPECT_TRUE(w.check(t0 + 99, qs).empty());
  qs[0].depth = 5;
  std::vector<PumpAlert> alerts = w.check(t0 + 100, qs);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].session, SessionId{7});
  EXPECT_EQ(alerts[0].age_ms, 100);
  EXPECT_EQ(alerts[0].depth, 5u);
  EXPECT_TRUE(w.check(t0 + 500, qs).empty()) << "once only";
  qs[0].progress = 2;  // drained and refilled between two checks
  EXPECT_TRUE(w.check(t0 + 501, qs).empty());
  EXPECT_EQ(w.check(t0 + 601, qs).size(), 1u);
}

// A program that pumps steadily but always has one pinned behavior
// outstanding (each one submits the next before it completes) never
// drains its queue; its completions still count as progress.
TEST_F(PinnedQueuesTest, CompletionsCountAsProgressWhileTheQueueNeverDrains) {
  SessionGrant b = s.open_session(Role::client, 1, "b");
  CownId p = cown(a, 1), q = cown(a, 2);
  ASSERT_TRUE(s.create_cown(a.id, p, Value{}, true));
  ASSERT_TRUE(s.create_cown(a.id, q, Value{}, true));
  BehaviorId running = submit_ok(s, b.id, pooled({p}));
  PumpWatchdog w(100);
  std::int64_t now = 0;
  EXPECT_TRUE(w.check(now, s.pinned_queues()).empty());
  for (int i = 0; i < 20; ++i) {
    BehaviorId next = submit_ok(s, b.id, pooled({i % 2 == 0 ? q : p}));
    ASSERT_EQ(s.pinned_queues().at(0).depth, 2u);
    complete_ok(s, a.id, running);
    running = next;
    ASSERT_EQ(s.pinned_queues().at(0).depth, 1u) << "never drains";
    now += 60;
    EXPECT_TRUE(w.check(now, s.pinned_queues()).empty())
        << "it completed one 60 ms ago (at " << now << " ms)";
  }
  // It stops pumping: the age counts from its last completion.
  EXPECT_TRUE(w.check(now + 99, s.pinned_queues()).empty());
  std::vector<PumpAlert> alerts = w.check(now + 100, s.pinned_queues());
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].session, a.id);
  EXPECT_EQ(alerts[0].age_ms, 100);
  EXPECT_EQ(alerts[0].depth, 1u);
  complete_ok(s, a.id, running);
  EXPECT_EQ(s.check_invariants(), "");
}

TEST(PumpWatchdogTest, ForgetsDrainedSessionsAndTracksEachApart) {
  PumpWatchdog w(10);
  std::int64_t t0 = 1000;
  EXPECT_TRUE(w.check(t0, std::vector{queue(1, 1, 1)}).empty());
  EXPECT_TRUE(w.check(t0 + 5, {}).empty()) << "drained";
  std::vector<PinnedQueue> both{queue(1, 1, 1), queue(2, 1, 1)};
  EXPECT_TRUE(w.check(t0 + 6, both).empty())
      << "session 1 seen again starts over";
  std::vector<PumpAlert> alerts = w.check(t0 + 16, both);
  EXPECT_EQ(alerts.size(), 2u);
}

TEST(PumpWatchdogTest, ZeroDisables) {
  PumpWatchdog w(0);
  EXPECT_FALSE(w.enabled());
  std::vector<PinnedQueue> qs{queue(1, 1, 1)};
  EXPECT_TRUE(w.check(0, qs).empty());
  EXPECT_TRUE(w.check(3600 * 1000, qs).empty());
}

}  // namespace
}  // namespace bocd::core::test

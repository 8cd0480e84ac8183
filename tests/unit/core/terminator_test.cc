// Unit tests of Terminator: the in-flight count and its quiesce waiters
// (lifecycle table in daemon/core/terminator.h).
#include "core/terminator.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace bocd::core {
namespace {

using Fired = std::vector<std::uint64_t>;

TEST(TerminatorTest, EnterAndLeaveCountBehaviors) {
  Terminator t;
  Fired fired;
  EXPECT_TRUE(t.try_enter());
  EXPECT_TRUE(t.try_enter());
  EXPECT_EQ(t.count(), 2u);
  t.leave(fired);
  EXPECT_EQ(t.count(), 1u);
  t.leave(fired);
  EXPECT_TRUE(fired.empty());
  EXPECT_EQ(t.count(), 0u);
  EXPECT_EQ(t.waiter_count(), 0u);
}

TEST(TerminatorTest, WaitersFireWhenCountReachesZero) {
  Terminator t;
  Fired fired;
  ASSERT_TRUE(t.try_enter());
  ASSERT_TRUE(t.try_enter());
  t.wait(5, fired);
  t.wait(6, fired);
  EXPECT_TRUE(fired.empty());
  EXPECT_EQ(t.waiter_count(), 2u);
  t.leave(fired);
  EXPECT_TRUE(fired.empty()) << "one behavior is still in flight";
  t.leave(fired);
  EXPECT_EQ(fired, (Fired{5, 6}));
  EXPECT_EQ(t.count(), 0u);
  EXPECT_EQ(t.waiter_count(), 0u);
}

TEST(TerminatorTest, WaitWhenIdleFiresAtOnce) {
  Terminator t;
  Fired fired;
  t.wait(9, fired);
  EXPECT_EQ(fired, (Fired{9}));
  EXPECT_EQ(t.count(), 0u);
  EXPECT_EQ(t.waiter_count(), 0u);
}

// Quiesce is a checkpoint: a fired waiter is forgotten, so later zeros do
// not hand it back again.
TEST(TerminatorTest, FiredWaiterIsForgotten) {
  Terminator t;
  Fired fired;
  ASSERT_TRUE(t.try_enter());
  t.wait(1, fired);
  t.leave(fired);
  ASSERT_EQ(fired, (Fired{1}));
  fired.clear();
  ASSERT_TRUE(t.try_enter());
  t.leave(fired);
  EXPECT_TRUE(fired.empty());
  EXPECT_EQ(t.count(), 0u);
  EXPECT_EQ(t.waiter_count(), 0u);
}

// The scheduler reuses one scratch vector; waiters are appended to it.
TEST(TerminatorTest, FiredWaitersAreAppended) {
  Terminator t;
  Fired fired{42};
  t.wait(7, fired);
  EXPECT_EQ(fired, (Fired{42, 7}));
  EXPECT_EQ(t.count(), 0u);
  EXPECT_EQ(t.waiter_count(), 0u);
}

// A session that closes while waiting withdraws its waiter; the others
// still fire.
TEST(TerminatorTest, ForgottenWaiterDoesNotFire) {
  Terminator t;
  Fired fired;
  ASSERT_TRUE(t.try_enter());
  t.wait(1, fired);
  t.wait(2, fired);
  t.forget(1);
  t.forget(99);  // unknown: nothing to drop
  EXPECT_EQ(t.waiter_count(), 1u);
  t.leave(fired);
  EXPECT_EQ(fired, (Fired{2}));
  EXPECT_EQ(t.count(), 0u);
  EXPECT_EQ(t.waiter_count(), 0u);
}

TEST(TerminatorTest, ClosedTerminatorRefusesEnter) {
  Terminator t;
  Fired fired;
  ASSERT_TRUE(t.try_enter());
  t.close();
  EXPECT_TRUE(t.closed());
  EXPECT_FALSE(t.try_enter());
  EXPECT_EQ(t.count(), 1u) << "a refused enter must count nothing";
  t.leave(fired);
  EXPECT_EQ(t.count(), 0u);
  EXPECT_EQ(t.waiter_count(), 0u);
}

// Closing stops new work but the work already counted still drains, and
// whoever waits for it still hears about the zero.
TEST(TerminatorTest, LeaveAfterCloseStillFiresWaiters) {
  Terminator t;
  Fired fired;
  ASSERT_TRUE(t.try_enter());
  t.wait(3, fired);
  t.close();
  EXPECT_TRUE(fired.empty());
  t.leave(fired);
  EXPECT_EQ(fired, (Fired{3}));
  EXPECT_TRUE(t.closed());
  EXPECT_EQ(t.count(), 0u);
  EXPECT_EQ(t.waiter_count(), 0u);
}

TEST(TerminatorTest, WaitOnClosedIdleTerminatorFiresAtOnce) {
  Terminator t;
  Fired fired;
  t.close();
  t.wait(4, fired);
  EXPECT_EQ(fired, (Fired{4}));
  EXPECT_EQ(t.count(), 0u);
  EXPECT_EQ(t.waiter_count(), 0u);
}

// A waiter with a level hears when the count is down to it: room for a
// program that holds its submits near its limit.
TEST(TerminatorTest, LevelWaitersFireWhenTheCountIsDownToTheirLevel) {
  Terminator t;
  Fired fired;
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(t.try_enter());
  t.wait(1, fired, 4);
  t.wait(2, fired, 2);
  t.wait(3, fired);  // quiescence
  EXPECT_TRUE(fired.empty());
  t.leave(fired);
  EXPECT_TRUE(fired.empty()) << "5 in flight";
  t.leave(fired);
  EXPECT_EQ(fired, (Fired{1})) << "4: the first's level";
  t.wait(4, fired, 9);  // already there: at once
  EXPECT_EQ(fired, (Fired{1, 4}));
  t.leave(fired);
  t.leave(fired);
  EXPECT_EQ(fired, (Fired{1, 4, 2}));
  t.leave(fired);
  t.leave(fired);
  EXPECT_EQ(fired, (Fired{1, 4, 2, 3}));
  EXPECT_EQ(t.waiter_count(), 0u);
}

}  // namespace
}  // namespace bocd::core

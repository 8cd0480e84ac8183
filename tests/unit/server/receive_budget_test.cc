#include "server/receive_budget.h"

#include <gtest/gtest.h>

namespace bocd::server {
namespace {

TEST(ReceiveBudget, ClaimsWithinTheLimitAreGrantedAtOnce) {
  ReceiveBudget b(100);
  EXPECT_TRUE(b.claim(60, [] { FAIL(); }));
  EXPECT_TRUE(b.claim(40, [] { FAIL(); }));
  EXPECT_EQ(b.used(), 100u);
}

TEST(ReceiveBudget, AWaitingClaimIsGrantedWhenBytesAreReleased) {
  ReceiveBudget b(100);
  ASSERT_TRUE(b.claim(60, [] {}));
  int granted = 0;
  EXPECT_FALSE(b.claim(60, [&] { ++granted; }));
  EXPECT_FALSE(b.claim(60, [&] { ++granted; }));
  EXPECT_EQ(b.waiting(), 2u);
  b.release(60);
  EXPECT_EQ(granted, 1);  // one fits; the other still waits
  EXPECT_EQ(b.used(), 60u);
  b.release(60);
  EXPECT_EQ(granted, 2);
  EXPECT_EQ(b.waiting(), 0u);
}

TEST(ReceiveBudget, SmallerClaimThatFitsIsNotHeldBehindALargeOne) {
  ReceiveBudget b(100);
  ASSERT_TRUE(b.claim(60, [] {}));
  bool large = false, small = false;
  EXPECT_FALSE(b.claim(90, [&] { large = true; }));
  EXPECT_TRUE(b.claim(30, [] {}));  // fits beside the first
  EXPECT_FALSE(b.claim(20, [&] { small = true; }));
  b.release(30);
  EXPECT_TRUE(small);
  EXPECT_FALSE(large);
}

TEST(ReceiveBudget, GranteeMayReleaseAtOnce) {
  // A connection closed while it waited gives its grant straight back.
  ReceiveBudget b(100);
  ASSERT_TRUE(b.claim(100, [] {}));
  bool second = false;
  EXPECT_FALSE(b.claim(100, [&] { b.release(100); }));
  EXPECT_FALSE(b.claim(100, [&] { second = true; }));
  b.release(100);
  EXPECT_TRUE(second);
  EXPECT_EQ(b.used(), 100u);
}

}  // namespace
}  // namespace bocd::server

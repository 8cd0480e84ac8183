#include "server/log_limit.h"

#include <gtest/gtest.h>

namespace bocd::server {
namespace {

using namespace std::chrono_literals;

struct FakeClock {
  std::chrono::steady_clock::time_point t{};
  LogLimiter::Clock fn() {
    return [this] { return t; };
  }
};

TEST(LogLimiter, BurstPassesThenLinesAreCountedAndReportedWithTheNext) {
  FakeClock clock;
  LogLimiter l(clock.fn(), 3, 10s);
  int logged = 0;
  for (int i = 0; i < 10000; ++i) logged += l.admit("UnknownCown").log;
  EXPECT_EQ(logged, 3);
  clock.t += 10s;
  LogLimiter::Verdict v = l.admit("UnknownCown");
  EXPECT_TRUE(v.log);
  EXPECT_EQ(v.suppressed, 9997u);
  // Counted once: the next line has nothing to report.
  EXPECT_EQ(l.admit("UnknownCown").suppressed, 0u);
}

TEST(LogLimiter, KindsAreLimitedApart) {
  FakeClock clock;
  LogLimiter l(clock.fn(), 1, 10s);
  EXPECT_TRUE(l.admit("a").log);
  EXPECT_FALSE(l.admit("a").log);
  EXPECT_TRUE(l.admit("b").log);
}

TEST(LogLimiter, DrainReportsEndedWindowsOrAllAndForgetsQuietKinds) {
  FakeClock clock;
  LogLimiter l(clock.fn(), 1, 10s);
  l.admit("a");
  l.admit("a");
  l.admit("a");
  EXPECT_TRUE(l.drain(false).empty());  // its window has not ended
  clock.t += 11s;
  auto out = l.drain(false);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].first, "a");
  EXPECT_EQ(out[0].second, 2u);
  EXPECT_TRUE(l.drain(true).empty());  // reported once
  EXPECT_TRUE(l.admit("a").log);       // a fresh window
  l.admit("a");
  auto all = l.drain(true);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].second, 1u);
}

}  // namespace
}  // namespace bocd::server

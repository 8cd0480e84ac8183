// SpinBudget: the spin follows the reader's idle spells, up to its cap.
#include "bocd/proto/spin_budget.h"

#include <gtest/gtest.h>

#include <chrono>

namespace bocd::proto {
namespace {

using std::chrono::microseconds;

TEST(SpinBudget, ACapOfZeroNeverSpins) {
  SpinBudget b(microseconds(0));
  EXPECT_EQ(b.current().count(), 0);
  for (int i = 0; i < 10; ++i) b.idle_spell(microseconds(1));
  EXPECT_EQ(b.current().count(), 0);
}

TEST(SpinBudget, ShortSpellsSpinAboutTwiceASpellAndLongOnesPark) {
  SpinBudget b(microseconds(50));
  EXPECT_EQ(b.current(), microseconds(50)) << "at first, the cap";
  for (int i = 0; i < 40; ++i) b.idle_spell(microseconds(5));
  EXPECT_GE(b.current(), microseconds(10));
  EXPECT_LE(b.current(), microseconds(12))
      << "5 us spells: a 10 us spin catches them, no longer";
  for (int i = 0; i < 40; ++i) b.idle_spell(microseconds(400));
  EXPECT_EQ(b.current().count(), 0)
      << "spells longer than the cap: spinning would only burn the core";
}

TEST(SpinBudget, AQuickPeerAgainBringsTheSpinBack) {
  SpinBudget b(microseconds(50));
  for (int i = 0; i < 100; ++i) b.idle_spell(std::chrono::seconds(1));
  ASSERT_EQ(b.current().count(), 0);
  int spells = 0;
  while (b.current().count() == 0 && spells < 100) {
    b.idle_spell(microseconds(5));  // measured while parked
    ++spells;
  }
  EXPECT_GT(b.current().count(), 0);
  EXPECT_LE(spells, 8) << "however long the spells before, a few short ones"
                          " bring the spin back";
}

TEST(SpinBudget, SpellsAroundTheCapKeepItSpinningUpToIt) {
  SpinBudget b(microseconds(50));
  for (int i = 0; i < 40; ++i) b.idle_spell(microseconds(20));
  EXPECT_GT(b.current(), microseconds(30));
  EXPECT_LE(b.current(), microseconds(50)) << "never past the cap";
}

}  // namespace
}  // namespace bocd::proto

// KeptValues: the daemon's model of the values one worker keeps.
#include "core/kept_values.h"

#include <gtest/gtest.h>

#include <vector>

namespace bocd::core {
namespace {

constexpr CownId A{1}, B{2}, C{3};

// Dispatches `id` and returns whether it was held; `keep` gets whether
// the worker must keep it.
bool send(KeptValues& k, CownId id, std::uint64_t version,
          std::uint64_t bytes, bool& keep, bool keepable = true) {
  return k.dispatch(id, version, bytes, keepable, keep);
}

TEST(KeptValuesTest, AValueSentOnceIsHeldAtItsVersionAfterwards) {
  KeptValues k(100);
  bool keep = false;
  EXPECT_FALSE(send(k, A, 7, 40, keep));
  EXPECT_TRUE(keep);
  k.release(A);
  EXPECT_TRUE(send(k, A, 7, 40, keep)) << "same version: no bytes";
  k.release(A);
  EXPECT_FALSE(send(k, A, 8, 40, keep)) << "a new version is sent";
  EXPECT_TRUE(keep);
  k.release(A);
  EXPECT_EQ(k.bytes_sent, 80u);
  EXPECT_EQ(k.hits, 1u);
  EXPECT_TRUE(k.take_forget().empty()) << "a replaced version needs no forget";
}

TEST(KeptValuesTest, AWorkerThatKeepsNothingIsSentEverything) {
  KeptValues k(0);
  bool keep = true;
  EXPECT_FALSE(send(k, A, 1, 10, keep));
  EXPECT_FALSE(keep);
  k.release(A);
  EXPECT_FALSE(send(k, A, 1, 10, keep));
  EXPECT_EQ(k.size(), 0u);
}

TEST(KeptValuesTest, WhatTheWorkerWroteIsHeldAtTheNewVersion) {
  KeptValues k(100);
  bool keep = false;
  send(k, A, 1, 10, keep);
  k.wrote(A, 5, 30);
  k.release(A);
  EXPECT_TRUE(k.holds(A, 5));
  EXPECT_FALSE(k.holds(A, 1));
  EXPECT_EQ(k.bytes(), 30u);
}

TEST(KeptValuesTest, TheLeastRecentlyUsedGoFirstAndTheWorkerIsTold) {
  KeptValues k(100);
  bool keep = false;
  for (CownId id : {A, B, C}) {
    send(k, id, 1, 40, keep);
    k.release(id);
    if (id == B) EXPECT_TRUE(k.take_forget().empty());
  }
  EXPECT_EQ(k.take_forget(), std::vector<CownId>{A}) << "120 bytes > 100";
  EXPECT_TRUE(send(k, B, 1, 40, keep)) << "B is held: it is used now";
  k.release(B);
  send(k, A, 1, 40, keep);
  k.release(A);
  EXPECT_EQ(k.take_forget(), std::vector<CownId>{C});
  EXPECT_EQ(k.bytes(), 80u);
}

TEST(KeptValuesTest, AValueInUseIsNeverEvicted) {
  KeptValues k(50);
  bool keep = false;
  send(k, A, 1, 40, keep);  // in use: its behavior runs
  send(k, B, 1, 40, keep);
  EXPECT_TRUE(k.take_forget().empty()) << "both in use: over budget for now";
  k.release(A);
  EXPECT_EQ(k.take_forget(), std::vector<CownId>{A});
  k.release(B);
  EXPECT_TRUE(k.holds(B, 1));
}

TEST(KeptValuesTest, AValueOverTheBudgetIsSentButNotKept) {
  KeptValues k(10);
  bool keep = true;
  EXPECT_FALSE(send(k, A, 1, 11, keep));
  EXPECT_FALSE(keep);
  k.release(A);
  EXPECT_FALSE(send(k, A, 1, 11, keep)) << "sent again: never kept";
}

TEST(KeptValuesTest, AValueThatEmbedsCownsIsNotKeptAndAnOldOneIsForgotten) {
  KeptValues k(100);
  bool keep = false;
  send(k, A, 1, 10, keep);
  k.release(A);
  EXPECT_FALSE(send(k, A, 2, 10, keep, /*keepable=*/false));
  EXPECT_FALSE(keep);
  EXPECT_EQ(k.take_forget(), std::vector<CownId>{A});
  k.release(A);
  EXPECT_EQ(k.size(), 0u);
}

TEST(KeptValuesTest, DroppedNeedsNoForgetButForgetDoes) {
  KeptValues k(100);
  bool keep = false;
  send(k, A, 1, 10, keep);
  send(k, B, 1, 10, keep);
  k.dropped(A);  // the worker dropped it itself
  k.forget(B);   // the worker must be told
  EXPECT_EQ(k.take_forget(), std::vector<CownId>{B});
  k.forget(C);   // not kept: nothing to tell
  EXPECT_TRUE(k.take_forget().empty());
  EXPECT_EQ(k.size(), 0u);
  EXPECT_EQ(k.bytes(), 0u);
}

TEST(KeptValuesTest, AResetForgetsEverythingOnce) {
  KeptValues k(100);
  bool keep = false;
  send(k, A, 1, 10, keep);
  k.reset();
  EXPECT_FALSE(k.holds(A, 1));
  EXPECT_TRUE(k.take_reset());
  EXPECT_FALSE(k.take_reset());
  EXPECT_FALSE(send(k, A, 1, 10, keep)) << "sent again after a reset";
}

}  // namespace
}  // namespace bocd::core

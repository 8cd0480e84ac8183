// Shared-memory blob counting in the Scheduler (docs/protocol.md,
// Shared-memory blobs): a blob is reported freed (BlobFreedEvent, once)
// when no stored value and no live behavior's payload names it any more.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/core.h"
#include "scheduler_test_util.h"

namespace bocd::core {
namespace {

using namespace test;
using Names = std::vector<std::string>;
using SchedulerBlobsTest = SchedulerWithClient;

const std::string BLOB = "bocd-1-00000000000000aa";
const std::string OTHER = "bocd-1-00000000000000bb";

Value naming(std::string data, Names blobs) {
  Value v = val(std::move(data));
  v.blobs = std::move(blobs);
  return v;
}

// The blobs reported freed since the last drain (other events dropped).
Names freed(Scheduler& s) { return drain(s).freed; }

Names live_blobs(const Scheduler& s) {
  Names n = s.blob_names();
  std::sort(n.begin(), n.end());
  return n;
}

TEST_F(SchedulerBlobsTest, OverwrittenValueFreesItsBlobOnce) {
  CownId x = cown(a, 1);
  ASSERT_TRUE(s.create_cown(a.id, x, naming("v1", {BLOB}), false));
  EXPECT_EQ(freed(s), Names{});
  EXPECT_EQ(live_blobs(s), Names{BLOB});

  BehaviorId b = submit_ok(s, a.id, on({x}));
  EXPECT_EQ(freed(s), Names{}) << "still stored while the behavior runs";
  complete_ok(s, a.id, b, {{x, val("v2")}});
  EXPECT_EQ(freed(s), Names{BLOB});
  EXPECT_EQ(live_blobs(s), Names{});

  b = submit_ok(s, a.id, on({x}));
  complete_ok(s, a.id, b, {{x, val("v3")}});
  EXPECT_EQ(freed(s), Names{}) << "reported once only";
  EXPECT_EQ(s.check_invariants(), "");
}

TEST_F(SchedulerBlobsTest, BlobNamedByTwoValuesIsFreedWhenBothAreGone) {
  CownId x = cown(a, 1), y = cown(a, 2);
  ASSERT_TRUE(s.create_cown(a.id, x, naming("x", {BLOB}), false));
  ASSERT_TRUE(s.create_cown(a.id, y, naming("y", {BLOB, OTHER}), false));

  BehaviorId b = submit_ok(s, a.id, on({x}));
  complete_ok(s, a.id, b, {{x, val("x2")}});
  EXPECT_EQ(freed(s), Names{}) << "y still names it";
  EXPECT_EQ(live_blobs(s), (Names{BLOB, OTHER}));

  b = submit_ok(s, a.id, on({y}));
  complete_ok(s, a.id, b, {{y, naming("y2", {OTHER})}});
  EXPECT_EQ(freed(s), Names{BLOB});
  EXPECT_EQ(live_blobs(s), Names{OTHER});
  EXPECT_EQ(s.check_invariants(), "");
}

TEST_F(SchedulerBlobsTest, ValueKeptInPlaceDoesNotFreeItsBlob) {
  CownId x = cown(a, 1);
  ASSERT_TRUE(s.create_cown(a.id, x, naming("v1", {BLOB}), false));
  BehaviorId b = submit_ok(s, a.id, on({x}));
  complete_ok(s, a.id, b, {{x, naming("v2", {BLOB})}});
  EXPECT_EQ(freed(s), Names{}) << "new blobs are counted before old released";
  EXPECT_EQ(live_blobs(s), Names{BLOB});
  EXPECT_EQ(s.value_of(x)->blobs, Names{BLOB});

  ASSERT_TRUE(s.drop_cown(a.id, x));
  EXPECT_EQ(freed(s), Names{BLOB}) << "counted once, not twice";
  EXPECT_EQ(s.check_invariants(), "");
}

TEST_F(SchedulerBlobsTest, BlobMovedBetweenCownsInOneCommitIsNotFreed) {
  CownId x = cown(a, 1), y = cown(a, 2);
  ASSERT_TRUE(s.create_cown(a.id, x, naming("x", {BLOB}), false));
  ASSERT_TRUE(s.create_cown(a.id, y, val("y"), false));
  BehaviorId b = submit_ok(s, a.id, on({x, y}));
  complete_ok(s, a.id, b, {{x, val("x2")}, {y, naming("y2", {BLOB})}});
  EXPECT_EQ(freed(s), Names{});
  EXPECT_EQ(live_blobs(s), Names{BLOB});
}

TEST_F(SchedulerBlobsTest, DroppedCownFreesItsValueBlobs) {
  CownId x = cown(a, 1);
  ASSERT_TRUE(s.create_cown(a.id, x, naming("x", {BLOB, OTHER}), false));
  ASSERT_TRUE(s.drop_cown(a.id, x));
  Names f = freed(s);
  std::sort(f.begin(), f.end());
  EXPECT_EQ(f, (Names{BLOB, OTHER}));
  EXPECT_EQ(live_blobs(s), Names{});
  EXPECT_EQ(s.cown_count(), 0u);
}

TEST_F(SchedulerBlobsTest, CascadeFreesTheBlobsOfEveryCownItFrees) {
  CownId inner = cown(a, 1), outer = cown(a, 2);
  ASSERT_TRUE(s.create_cown(a.id, inner, naming("inner", {BLOB}), false));
  Value v = naming("outer", {});
  v.refs = {inner};
  ASSERT_TRUE(s.create_cown(a.id, outer, std::move(v), false));
  ASSERT_TRUE(s.drop_cown(a.id, inner));
  EXPECT_EQ(freed(s), Names{}) << "outer's value keeps inner";
  ASSERT_TRUE(s.drop_cown(a.id, outer));
  EXPECT_EQ(freed(s), Names{BLOB});
  EXPECT_EQ(s.check_invariants(), "");
}

TEST_F(SchedulerBlobsTest, ClosingTheOwnerSessionFreesItsCownsBlobs) {
  ASSERT_TRUE(s.create_cown(a.id, cown(a, 1), naming("x", {BLOB}), false));
  s.close_session(a.id);
  EXPECT_EQ(freed(s), Names{BLOB});
  EXPECT_EQ(live_blobs(s), Names{});
}

TEST_F(SchedulerBlobsTest, PayloadBlobLivesUntilTheBehaviorCompletes) {
  SessionGrant w = s.open_session(Role::worker, 2, "w");
  BehaviorId b = submit_ok(s, a.id, with_blobs(pooled({}), {BLOB}));
  Drained d = drain(s);
  ASSERT_EQ(d.dispatched.size(), 1u);
  EXPECT_EQ(d.freed, Names{});
  EXPECT_EQ(live_blobs(s), Names{BLOB});
  complete_ok(s, w.id, b);
  EXPECT_EQ(freed(s), Names{BLOB});
  EXPECT_EQ(live_blobs(s), Names{});
  expect_idle(s, 0);
}

TEST_F(SchedulerBlobsTest, PayloadBlobStoredByTheBehaviorOutlivesIt) {
  SessionGrant w = s.open_session(Role::worker, 2, "w");
  CownId result = cown(a, 1);
  BehaviorId b = submit_ok(s, a.id, with_blobs(pooled({}, result), {BLOB}));
  ASSERT_EQ(drain(s).dispatched.size(), 1u);
  complete_ok(s, w.id, b, {{result, naming("r", {BLOB})}});
  EXPECT_EQ(freed(s), Names{}) << "the result's value names it now";
  ASSERT_TRUE(s.drop_cown(a.id, result));
  EXPECT_EQ(freed(s), Names{BLOB});
}

TEST_F(SchedulerBlobsTest, PayloadBlobIsFreedWhenTheRunningBehaviorIsAborted) {
  SessionGrant w = s.open_session(Role::worker, 2, "w");
  submit_ok(s, a.id, with_blobs(pooled({}), {BLOB}));
  ASSERT_EQ(drain(s).dispatched.size(), 1u);
  s.close_session(w.id);  // the worker dies running it
  EXPECT_EQ(freed(s), Names{BLOB});
  expect_idle(s, 0);
}

TEST_F(SchedulerBlobsTest, PayloadBlobIsFreedWhenItsSessionClosesBeforeItRuns) {
  CownId x = cown(a, 1);
  ASSERT_TRUE(s.create_cown(a.id, x, val("x"), false));
  BehaviorId first = submit_ok(s, a.id, on({x}));
  submit_ok(s, a.id, with_blobs(on({x}), {BLOB}));  // waits behind `first`
  submit_ok(s, a.id, with_blobs(pooled({}), {OTHER}));  // waits for a worker
  EXPECT_EQ(live_blobs(s), (Names{BLOB, OTHER}));
  ASSERT_EQ(dispatched_to(s, a.id), std::vector<BehaviorId>{first});

  s.close_session(a.id);  // aborts `first`, cancels the other two
  Names f = freed(s);
  std::sort(f.begin(), f.end());
  EXPECT_EQ(f, (Names{BLOB, OTHER}));
  EXPECT_EQ(live_blobs(s), Names{});
  expect_idle(s, 0);
}

TEST_F(SchedulerBlobsTest, RefusedCommandsCountNoBlob) {
  CownId x = cown(a, 1), y = cown(a, 2);
  ASSERT_TRUE(s.create_cown(a.id, x, val("x"), false));

  Value bad_ref = naming("bad", {BLOB});
  bad_ref.refs = {CownId{12345}};
  EXPECT_FALSE(s.create_cown(a.id, y, bad_ref, false));

  EXPECT_FALSE(s.submit(a.id, with_blobs(on({CownId{12345}}), {BLOB})).ok());

  BehaviorId b = submit_ok(s, a.id, on({x}));
  std::vector<CownUpdate> outside = {{y, naming("not held", {BLOB})}};
  EXPECT_FALSE(s.complete(a.id, b, outside).ok());
  std::vector<CownUpdate> bad = {{x, bad_ref}};
  EXPECT_FALSE(s.complete(a.id, b, bad).ok());
  EXPECT_EQ(live_blobs(s), Names{}) << "a refused command counted a blob";

  complete_ok(s, a.id, b, {{x, val("x2")}});
  EXPECT_EQ(freed(s), Names{});
  EXPECT_EQ(s.check_invariants(), "");
}

}  // namespace
}  // namespace bocd::core

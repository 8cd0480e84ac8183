// A program's byte cap (Limits::max_program_bytes): the bytes of the values
// stored for it, counting the cowns its workers make, never pass the cap.
// A new cown that would holds a memory_cap error instead; a completion
// that would stores nothing and fails its behavior. Bytes are returned as
// values shrink or go.
#include <gtest/gtest.h>

#include <string>

#include "core/scheduler.h"
#include "scheduler_test_util.h"

namespace bocd::core {
namespace {

using namespace test;  // NOLINT: the helpers are the test vocabulary

Limits capped(std::uint64_t bytes) {
  Limits l;
  l.max_program_bytes = bytes;
  return l;
}

Value of_size(std::size_t n) { return val(std::string(n, 'v')); }

TEST(SchedulerCapTest, ACownPastTheCapHoldsAMemoryErrorNamingIt) {
  Scheduler s(capped(100));
  SessionGrant a = s.open_session(Role::client, 1, "big.py");
  ASSERT_TRUE(s.create_cown(a.id, cown(a, 1), of_size(60), false));
  EXPECT_EQ(s.stored_bytes(a.id), 60u);
  ASSERT_TRUE(s.create_cown(a.id, cown(a, 2), of_size(41), false))
      << "the cown is made: it holds the reason";
  const Value* v = s.value_of(cown(a, 2));
  EXPECT_EQ(v->error, Errc::memory_cap);
  EXPECT_TRUE(v->exception);
  EXPECT_NE(v->data.find("program 'big.py'"), std::string::npos) << v->data;
  EXPECT_NE(v->data.find("cap of 100 bytes"), std::string::npos) << v->data;
  EXPECT_EQ(s.stored_bytes(a.id), 60u + v->data.size())
      << "its message is what it stores";
  // Exactly to the cap is allowed.
  SessionGrant b = s.open_session(Role::client, 2, "b");
  ASSERT_TRUE(s.create_cown(b.id, cown(b, 1), of_size(100), false));
  EXPECT_EQ(s.value_of(cown(b, 1))->error, Errc::none);
  EXPECT_EQ(s.check_invariants(), "");
}

TEST(SchedulerCapTest, AnUnreadCapErrorIsReportedWhenItsCownGoes) {
  Scheduler s(capped(10));
  SessionGrant a = s.open_session(Role::client, 1, "a");
  ASSERT_TRUE(s.create_cown(a.id, cown(a, 1), of_size(11), false));
  ASSERT_TRUE(s.drop_cown(a.id, cown(a, 1)));
  Drained d = drain(s);
  ASSERT_EQ(d.unhandled.size(), 1u);
  EXPECT_EQ(d.unhandled[0].to, a.id);
  EXPECT_EQ(d.unhandled[0].error, Errc::memory_cap);
  EXPECT_EQ(s.stored_bytes(a.id), 0u) << "a freed cown's bytes are returned";
}

TEST(SchedulerCapTest, ARefusedValuesBlobsAreFreedForTheHostToUnlink) {
  Scheduler s(capped(10));
  SessionGrant a = s.open_session(Role::client, 1, "a");
  Value v = val("x");
  v.blobs = {"bocd-1-00000000000000aa"};
  v.blob_bytes = 4096;  // the blob's size counts
  ASSERT_TRUE(s.create_cown(a.id, cown(a, 1), v, false));
  EXPECT_EQ(s.value_of(cown(a, 1))->error, Errc::memory_cap);
  EXPECT_EQ(drain(s).freed, std::vector<std::string>{"bocd-1-00000000000000aa"});
  EXPECT_EQ(s.blob_names(), std::vector<std::string>{});
}

TEST(SchedulerCapTest, ACompletionPastTheCapStoresNothingAndFailsItsBehavior) {
  Scheduler s(capped(1000));
  SessionGrant a = s.open_session(Role::client, 1, "a");
  CownId x = cown(a, 1), y = cown(a, 2), r = cown(a, 3);
  ASSERT_TRUE(s.create_cown(a.id, x, of_size(100), false));
  ASSERT_TRUE(s.create_cown(a.id, y, of_size(100), false));
  BehaviorId b = submit_ok(s, a.id, on({x, y}, r));
  // Each grows by 500, which fits alone; together they pass the cap.
  Status st = complete(s, a.id, b, {{x, of_size(600)}, {y, of_size(600)}});
  ASSERT_TRUE(st) << "a valid completion: the cap fails the behavior";
  EXPECT_EQ(s.value_of(x)->data.size(), 100u) << "all or nothing";
  EXPECT_EQ(s.value_of(y)->data.size(), 100u);
  EXPECT_EQ(s.value_of(r)->error, Errc::memory_cap);
  EXPECT_EQ(s.in_flight(), 0u);
  // One that shrinks a cown as much as it grows another fits.
  b = submit_ok(s, a.id, on({x, y}));
  complete_ok(s, a.id, b, {{x, of_size(0)}, {y, of_size(200)}});
  EXPECT_EQ(s.value_of(y)->data.size(), 200u);
  EXPECT_EQ(s.check_invariants(), "");
}

TEST(SchedulerCapTest, WithoutAResultCownTheSubmitterIsToldOfTheFailure) {
  Scheduler s(capped(10));
  SessionGrant a = s.open_session(Role::client, 1, "a");
  CownId x = cown(a, 1);
  ASSERT_TRUE(s.create_cown(a.id, x, of_size(1), false));
  SubmitRequest req = on({x});
  req.tag = 7;
  BehaviorId b = submit_ok(s, a.id, req);
  drain(s);
  complete_ok(s, a.id, b, {{x, of_size(11)}});
  Drained d = drain(s);
  ASSERT_EQ(d.failed.size(), 1u);
  EXPECT_EQ(d.failed[0].code, Errc::memory_cap);
  EXPECT_EQ(d.failed[0].tag, 7u);
  EXPECT_EQ(s.value_of(x)->data, "v");
}

TEST(SchedulerCapTest, AWorkersCownsCountAgainstItsProgram) {
  Scheduler s(capped(100));
  SessionGrant a = s.open_session(Role::client, 1, "a",
                                  SessionOptions{{}, true});
  SessionGrant w =
      s.open_session(Role::worker, 2, "w", SessionOptions{a.id, false});
  ASSERT_TRUE(s.create_cown(a.id, cown(a, 1), of_size(70), false));
  ASSERT_TRUE(s.create_cown(w.id, cown(w, 1), of_size(31), false));
  EXPECT_EQ(s.value_of(cown(w, 1))->error, Errc::memory_cap)
      << "a worker started for `a` spends a's budget, not one of its own";
  EXPECT_EQ(s.stored_bytes(w.id), 0u);
  // Another program's budget is its own.
  SessionGrant b = s.open_session(Role::client, 3, "b");
  ASSERT_TRUE(s.create_cown(b.id, cown(b, 1), of_size(100), false));
  EXPECT_EQ(s.value_of(cown(b, 1))->error, Errc::none);
}

TEST(SchedulerCapTest, ZeroMeansNoCap) {
  Scheduler s;
  SessionGrant a = s.open_session(Role::client, 1, "a");
  ASSERT_TRUE(s.create_cown(a.id, cown(a, 1), of_size(1 << 20), false));
  EXPECT_EQ(s.value_of(cown(a, 1))->error, Errc::none);
  EXPECT_EQ(s.stored_bytes(a.id), std::uint64_t{1} << 20);
}

}  // namespace
}  // namespace bocd::core

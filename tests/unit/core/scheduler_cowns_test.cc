// Cown lifetime across processes (docs/protocol.md, Cown lifetime):
// handles held by sessions, cowns embedded in stored values and in
// behavior payloads, the cascade when a cown is freed, and the refusal of
// refs naming no cown.
#include <gtest/gtest.h>

#include <vector>

#include "core/core.h"
#include "scheduler_test_util.h"

namespace bocd::core {
namespace {

using namespace test;
using SchedulerCownsTest = SchedulerWithClient;

// A value whose bytes embed the cowns `refs`.
Value embedding(std::string data, std::vector<CownId> refs) {
  Value v = val(std::move(data));
  v.refs = std::move(refs);
  return v;
}

bool alive(const Scheduler& s, CownId id) { return s.value_of(id) != nullptr; }

TEST_F(SchedulerCownsTest, ValueEmbeddingACownKeepsItAliveUntilOverwritten) {
  CownId inner = cown(a, 1), outer = cown(a, 2);
  ASSERT_TRUE(s.create_cown(a.id, inner, val("inner"), false));
  ASSERT_TRUE(s.create_cown(a.id, outer, embedding("has inner", {inner}),
                            false));
  ASSERT_TRUE(s.drop_cown(a.id, inner));
  EXPECT_TRUE(alive(s, inner)) << "outer's value still embeds it";
  EXPECT_EQ(s.check_invariants(), "");

  BehaviorId b = submit_ok(s, a.id, on({outer}));
  complete_ok(s, a.id, b, {{outer, val("no cown")}});
  EXPECT_FALSE(alive(s, inner)) << "the only reference was overwritten";
  expect_idle(s, 1);
}

TEST_F(SchedulerCownsTest, ValueThatKeepsItsCownDoesNotFreeItOnCommit) {
  CownId inner = cown(a, 1), outer = cown(a, 2);
  ASSERT_TRUE(s.create_cown(a.id, inner, val("inner"), false));
  ASSERT_TRUE(s.create_cown(a.id, outer, embedding("v1", {inner}), false));
  ASSERT_TRUE(s.drop_cown(a.id, inner));
  BehaviorId b = submit_ok(s, a.id, on({outer}));
  complete_ok(s, a.id, b, {{outer, embedding("v2", {inner})}});
  ASSERT_TRUE(alive(s, inner)) << "new refs are counted before old released";
  EXPECT_EQ(s.value_of(inner)->data, "inner");
  expect_idle(s, 2);
}

TEST_F(SchedulerCownsTest, FreeingACownCascadesThroughAChainOfThree) {
  CownId c1 = cown(a, 1), c2 = cown(a, 2), c3 = cown(a, 3);
  ASSERT_TRUE(s.create_cown(a.id, c1, val("end"), false));
  ASSERT_TRUE(s.create_cown(a.id, c2, embedding("2", {c1}), false));
  ASSERT_TRUE(s.create_cown(a.id, c3, embedding("3", {c2, c2}), false));
  ASSERT_TRUE(s.drop_cown(a.id, c1));
  ASSERT_TRUE(s.drop_cown(a.id, c2));
  EXPECT_EQ(s.cown_count(), 3u);
  EXPECT_EQ(s.check_invariants(), "");
  ASSERT_TRUE(s.drop_cown(a.id, c3));
  EXPECT_EQ(s.cown_count(), 0u) << "c3 frees c2 (twice embedded), c2 frees c1";
  EXPECT_EQ(s.check_invariants(), "");
}

TEST_F(SchedulerCownsTest, LongChainIsFreedWithoutRecursion) {
  constexpr std::uint64_t N = 100000;
  for (std::uint64_t n = 1; n <= N; ++n) {
    Value v = n == 1 ? val("") : embedding("", {cown(a, n - 1)});
    ASSERT_TRUE(s.create_cown(a.id, cown(a, n), std::move(v), false));
    if (n > 1) ASSERT_TRUE(s.drop_cown(a.id, cown(a, n - 1)));
  }
  EXPECT_EQ(s.cown_count(), N);
  ASSERT_TRUE(s.drop_cown(a.id, cown(a, N)));
  EXPECT_EQ(s.cown_count(), 0u);
  EXPECT_EQ(s.check_invariants(), "");
}

TEST_F(SchedulerCownsTest, CycleOfValuesLeaksAsDocumented) {
  CownId x = cown(a, 1), y = cown(a, 2);
  ASSERT_TRUE(s.create_cown(a.id, x, val("x"), false));
  ASSERT_TRUE(s.create_cown(a.id, y, embedding("y", {x}), false));
  BehaviorId b = submit_ok(s, a.id, on({x}));
  complete_ok(s, a.id, b, {{x, embedding("x", {y})}});
  s.close_session(a.id);
  EXPECT_EQ(s.cown_count(), 2u) << "a known limit (cown_table.h)";
  EXPECT_EQ(s.check_invariants(), "");
}

TEST_F(SchedulerCownsTest, PayloadRefsKeepACownAliveUntilTheBehaviorFinishes) {
  SessionGrant w = s.open_session(Role::worker, 2, "w");
  CownId gate = cown(a, 1), passed = cown(a, 2);
  ASSERT_TRUE(s.create_cown(a.id, gate, val(""), false));
  ASSERT_TRUE(s.create_cown(a.id, passed, val("in the payload"), false));
  BehaviorId b = submit_ok(s, a.id, with_refs(pooled({gate}), {passed}));
  ASSERT_TRUE(s.drop_cown(a.id, passed));
  EXPECT_TRUE(alive(s, passed)) << "the running behavior's payload embeds it";
  ASSERT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{b});
  complete_ok(s, w.id, b);
  EXPECT_FALSE(alive(s, passed));
  expect_idle(s, 1);
}

TEST_F(SchedulerCownsTest, AbortedBehaviorReleasesItsPayloadRefs) {
  SessionGrant w = s.open_session(Role::worker, 2, "w");
  ASSERT_TRUE(s.create_cown(a.id, cown(a, 1), val("x"), false));
  submit_ok(s, a.id, with_refs(pooled({}), {cown(a, 1)}));
  ASSERT_TRUE(s.drop_cown(a.id, cown(a, 1)));
  ASSERT_EQ(dispatched_to(s, w.id).size(), 1u);
  s.close_session(w.id);  // the worker dies running it
  EXPECT_FALSE(alive(s, cown(a, 1)));
  expect_idle(s, 0);
}

TEST_F(SchedulerCownsTest, HoldAndDropArePerSessionAndIdempotent) {
  SessionGrant b = s.open_session(Role::worker, 1, "b");
  CownId x = cown(a, 1);
  ASSERT_TRUE(s.create_cown(a.id, x, val("x"), false));
  ASSERT_TRUE(s.hold_cowns(b.id, {x, x}));
  ASSERT_TRUE(s.hold_cowns(b.id, {x}));
  ASSERT_TRUE(s.hold_cowns(a.id, {x})) << "its creator already has a handle";
  EXPECT_EQ(s.check_invariants(), "");
  ASSERT_TRUE(s.drop_cown(a.id, x));
  EXPECT_EQ(s.drop_cown(a.id, x).error().code, Errc::not_permitted)
      << "holding again did not give the creator a second handle";
  EXPECT_TRUE(alive(s, x)) << "b holds it";
  ASSERT_TRUE(s.drop_cown(b.id, x)) << "three holds were one handle";
  EXPECT_FALSE(alive(s, x));
  EXPECT_EQ(s.check_invariants(), "");
}

TEST_F(SchedulerCownsTest, CreatorCanHoldAgainAfterDroppingItsHandle) {
  SessionGrant b = s.open_session(Role::client, 1, "b");
  CownId x = cown(a, 1);
  ASSERT_TRUE(s.create_cown(a.id, x, val("x"), false));
  ASSERT_TRUE(s.hold_cowns(b.id, {x}));
  ASSERT_TRUE(s.drop_cown(a.id, x));
  ASSERT_TRUE(s.hold_cowns(a.id, {x}));  // it unpickled the handle later
  ASSERT_TRUE(s.drop_cown(b.id, x));
  EXPECT_TRUE(alive(s, x));
  ASSERT_TRUE(s.drop_cown(a.id, x));
  EXPECT_FALSE(alive(s, x));
  EXPECT_EQ(s.check_invariants(), "");
}

TEST_F(SchedulerCownsTest, ClosingASessionReleasesItsHolds) {
  SessionGrant b = s.open_session(Role::client, 1, "b");
  ASSERT_TRUE(s.create_cown(a.id, cown(a, 1), val("x"), false));
  ASSERT_TRUE(s.create_cown(a.id, cown(a, 2), val("y"), false));
  ASSERT_TRUE(s.hold_cowns(b.id, {cown(a, 1), cown(a, 2)}));
  ASSERT_TRUE(s.drop_cown(a.id, cown(a, 1)));
  s.close_session(b.id);
  EXPECT_FALSE(alive(s, cown(a, 1))) << "b's hold was its last reference";
  EXPECT_TRUE(alive(s, cown(a, 2))) << "a's handle remains";
  EXPECT_EQ(s.check_invariants(), "");
  s.close_session(a.id);
  EXPECT_EQ(s.cown_count(), 0u);
  EXPECT_EQ(s.check_invariants(), "");
}

TEST_F(SchedulerCownsTest, ResultCownIsOwnedByTheSubmittingSession) {
  SessionGrant w = s.open_session(Role::worker, 2, "worker");
  BehaviorId parent = submit_ok(s, a.id, pooled({}));  // a is the program
  ASSERT_EQ(dispatched_to(s, w.id).size(), 1u);
  BehaviorId child = submit_ok(s, w.id, nested_in(parent, on({}, cown(w, 1))));
  EXPECT_EQ(s.in_flight(a.id), 2u) << "the child is the program's behavior";
  EXPECT_EQ(s.drop_cown(a.id, cown(w, 1)).error().code, Errc::not_permitted)
      << "but its result cown is the worker's handle";
  ASSERT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{child});
  complete_ok(s, w.id, child, {{cown(w, 1), val("42")}});
  EXPECT_TRUE(alive(s, cown(w, 1)));
  ASSERT_TRUE(s.drop_cown(w.id, cown(w, 1)));
  EXPECT_FALSE(alive(s, cown(w, 1)));
  complete_ok(s, w.id, parent);
  expect_idle(s, 0);
}

TEST_F(SchedulerCownsTest, UnknownRefIsRefusedAndNothingChanges) {
  CownId x = cown(a, 1), missing = cown(a, 99);
  ASSERT_TRUE(s.create_cown(a.id, x, val("x"), false));

  Status st = s.create_cown(a.id, cown(a, 2), embedding("v", {x, missing}),
                            false);
  EXPECT_EQ(st.error().code, Errc::unknown_cown);
  EXPECT_FALSE(alive(s, cown(a, 2)));

  Result<BehaviorId> sub =
      s.submit(a.id, with_refs(on({x}, cown(a, 3)), {x, missing}));
  EXPECT_EQ(sub.error().code, Errc::unknown_cown);
  EXPECT_FALSE(alive(s, cown(a, 3)));
  EXPECT_EQ(s.in_flight(), 0u);

  BehaviorId b = submit_ok(s, a.id, on({x}));
  st = complete(s, a.id, b, {{x, embedding("new", {missing})}});
  EXPECT_EQ(st.error().code, Errc::unknown_cown);
  EXPECT_TRUE(running(s, b));
  EXPECT_EQ(s.value_of(x)->data, "x");
  EXPECT_EQ(s.check_invariants(), "") << "no count was taken on x";
  complete_ok(s, a.id, b);

  SessionGrant o = s.open_session(Role::client, 1, "other");
  st = s.hold_cowns(o.id, {missing, x});
  EXPECT_EQ(st.error().code, Errc::unknown_cown);
  ASSERT_TRUE(s.drop_cown(a.id, x));
  EXPECT_TRUE(alive(s, x)) << "the known id of the batch was still held";
  ASSERT_TRUE(s.drop_cown(o.id, x));
  expect_idle(s, 0);
}

}  // namespace
}  // namespace bocd::core

namespace bocd::core {
namespace {

using namespace test;  // NOLINT: the helpers are the test vocabulary

// A result cown freed with its exception flag still set is reported to
// its program (bocpy prints these); one whose flag was cleared is not, and
// neither is a cown that is no behavior's result.
TEST(SchedulerUnhandledTest, AResultFreedHoldingAnExceptionIsReported) {
  Scheduler s;
  SessionGrant a = s.open_session(Role::client, 1, "a");
  SessionGrant w = s.open_session(Role::worker, 2, "w");
  CownId raised = cown(a, 1), cleared = cown(a, 2), plain = cown(a, 3);
  ASSERT_TRUE(s.create_cown(a.id, plain, Value{"x", true}, false));
  BehaviorId b1 = submit_ok(s, a.id, pooled({}, raised));
  BehaviorId b2 = submit_ok(s, a.id, pooled({}, cleared));
  drain(s);
  complete_ok(s, w.id, b1, {CownUpdate{raised, Value{"boom", true}}});
  complete_ok(s, w.id, b2, {CownUpdate{cleared, Value{"None", false}}});
  for (CownId c : {raised, cleared, plain}) ASSERT_TRUE(s.drop_cown(a.id, c));
  std::vector<UnhandledEvent> got = drain(s).unhandled;
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].to, a.id);
  EXPECT_EQ(got[0].id, raised);
  EXPECT_EQ(got[0].data, "boom");
  expect_idle(s, 0);
}

TEST(SchedulerUnhandledTest, ANestedResultIsReportedToItsProgramNotTheWorker) {
  Scheduler s;
  SessionGrant a = s.open_session(Role::client, 1, "a");
  SessionGrant w = s.open_session(Role::worker, 2, "w");
  BehaviorId outer = submit_ok(s, a.id, pooled({}));
  drain(s);
  CownId inner_result = cown(w, 1);
  BehaviorId inner =
      submit_ok(s, w.id, nested_in(outer, pooled({}, inner_result)));
  complete_ok(s, w.id, outer);
  drain(s);
  ASSERT_TRUE(s.drop_cown(w.id, inner_result));  // the worker's handle goes
  complete_ok(s, w.id, inner, {CownUpdate{inner_result, Value{"e", true}}});
  std::vector<UnhandledEvent> got = drain(s).unhandled;
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].to, a.id);
  expect_idle(s, 0);
}

}  // namespace
}  // namespace bocd::core

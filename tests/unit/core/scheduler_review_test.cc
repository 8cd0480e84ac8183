// Regression tests for defects found in review: each names what went
// wrong before it was fixed.
#include <gtest/gtest.h>

#include "core/core.h"
#include "scheduler_test_util.h"

namespace bocd::core {
namespace {

using namespace test;

// FlatIndex used 0 as its empty marker, so id 0 matched an empty bucket
// and reached a real (or freed) cown slot.
TEST(SchedulerReviewTest, CownIdZeroIsUnknownEverywhere) {
  Scheduler s;
  SessionGrant a = s.open_session(Role::client, 1, "a");
  ASSERT_TRUE(s.create_cown(a.id, cown(a, 1), val("secret"), false));
  Result<BehaviorId> r = s.submit(a.id, on({CownId{0}}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::unknown_cown);
  EXPECT_EQ(s.drop_cown(a.id, CownId{0}).error().code, Errc::unknown_cown);
  EXPECT_EQ(s.value_of(CownId{0}), nullptr);
  BehaviorId b = submit_ok(s, a.id, on({cown(a, 1)}));
  Status st = complete(s, a.id, b, {{CownId{0}, val("forged")}});
  EXPECT_EQ(st.error().code, Errc::not_permitted);
  complete_ok(s, a.id, b);
  EXPECT_EQ(s.value_of(cown(a, 1))->data, "secret");
  EXPECT_EQ(s.check_invariants(), "");
}

// A nested behavior's result cown once belonged to the program, so the
// worker holding the object for it could not drop it. Now it is the
// submitting worker's handle (docs/protocol.md, Cown lifetime), and a
// worker that dies still does not free it while its behavior is queued on
// it or the program holds it.
TEST(SchedulerReviewTest, NestedResultCownOutlivesTheSubmittingWorker) {
  Scheduler s;
  SessionGrant p = s.open_session(Role::client, 1, "program");
  SessionGrant w = s.open_session(Role::worker, 2, "worker");
  BehaviorId parent = submit_ok(s, p.id, pooled({}));
  ASSERT_EQ(dispatched_to(s, w.id).size(), 1u);
  submit_ok(s, w.id, nested_in(parent, pooled({}, cown(w, 1))));
  EXPECT_EQ(s.in_flight(p.id), 2u) << "the child counts for the program";
  EXPECT_EQ(s.drop_cown(p.id, cown(w, 1)).error().code, Errc::not_permitted)
      << "the program has no handle until it holds one";
  ASSERT_TRUE(s.hold_cowns(p.id, {cown(w, 1)}));  // it got the id somehow
  s.close_session(w.id);  // the worker dies running the parent
  ASSERT_NE(s.value_of(cown(w, 1)), nullptr) << "the program holds it";
  EXPECT_TRUE(s.drop_cown(p.id, cown(w, 1)));
  ASSERT_NE(s.value_of(cown(w, 1)), nullptr) << "the child is queued on it";
  SessionGrant w2 = s.open_session(Role::worker, 3, "worker 2");
  std::vector<BehaviorId> child = dispatched_to(s, w2.id);
  ASSERT_EQ(child.size(), 1u);
  complete_ok(s, w2.id, child[0], {{cown(w, 1), val("done")}});
  EXPECT_EQ(s.value_of(cown(w, 1)), nullptr) << "nothing refers to it now";
  expect_idle(s, 0);
}

// One Complete could carry any number of updates, each scanned against the
// request set: a cheap frame that stalled the daemon's only thread.
TEST(SchedulerReviewTest, MoreUpdatesThanCownsAreRefused) {
  Scheduler s;
  SessionGrant a = s.open_session(Role::client, 1, "a");
  ASSERT_TRUE(s.create_cown(a.id, cown(a, 1), val("0"), false));
  BehaviorId b = submit_ok(s, a.id, on({cown(a, 1)}));
  std::vector<CownUpdate> many(3, CownUpdate{cown(a, 1), val("x")});
  EXPECT_EQ(s.complete(a.id, b, many).error().code, Errc::not_permitted);
  EXPECT_TRUE(running(s, b));
  complete_ok(s, a.id, b);
  EXPECT_EQ(s.check_invariants(), "");
}

// Values too large for one dispatch fail the behavior on its result cown
// (with too_large) instead of producing a frame no client accepts.
TEST(SchedulerReviewTest, DispatchOverTheSizeLimitFailsOnItsResult) {
  Limits limits;
  limits.max_dispatch_bytes = 1000;
  Scheduler s(limits);
  SessionGrant a = s.open_session(Role::client, 1, "a");
  ASSERT_TRUE(s.create_cown(a.id, cown(a, 1), val(std::string(600, 'x')), false));
  ASSERT_TRUE(s.create_cown(a.id, cown(a, 2), val(std::string(600, 'y')), false));
  SubmitRequest big = on({cown(a, 1), cown(a, 2)}, cown(a, 3));
  big.tag = 77;
  submit_ok(s, a.id, std::move(big));
  Drained d = drain(s);
  EXPECT_TRUE(d.dispatched.empty()) << "never dispatched";
  ASSERT_EQ(d.failed.size(), 1u) << "the submitter hears of it";
  EXPECT_EQ(d.failed[0].to, a.id);
  EXPECT_EQ(d.failed[0].tag, 77u);
  EXPECT_EQ(d.failed[0].code, Errc::too_large);
  ASSERT_NE(s.value_of(cown(a, 3)), nullptr);
  EXPECT_EQ(s.value_of(cown(a, 3))->error, Errc::too_large);
  EXPECT_TRUE(s.value_of(cown(a, 3))->exception);
  // One of them alone fits.
  BehaviorId ok = submit_ok(s, a.id, on({cown(a, 1)}));
  EXPECT_TRUE(running(s, ok));
  complete_ok(s, a.id, ok);
  EXPECT_EQ(s.check_invariants(), "");
}

// A refused completion (an update outside the request set, say) left the
// behavior RUNNING for ever: its cowns stayed locked and the program's
// wait() never returned. fail_running() ends it, committing nothing.
TEST(SchedulerReviewTest, RefusedCompletionEndsTheBehaviorWithItsReason) {
  Scheduler s;
  SessionGrant p = s.open_session(Role::client, 1, "program");
  SessionGrant w = s.open_session(Role::worker, 2, "worker");
  ASSERT_TRUE(s.create_cown(p.id, cown(p, 1), val("kept"), false));
  BehaviorId b = submit_ok(s, p.id, pooled({cown(p, 1)}, cown(p, 2)));
  ASSERT_EQ(dispatched_to(s, w.id).size(), 1u);
  Status st = complete(s, w.id, b, {{CownId{12345}, val("forged")}});
  ASSERT_FALSE(st.ok());
  EXPECT_FALSE(s.fail_running(p.id, b, Errc::not_permitted, "x"))
      << "only the executor may end it";
  ASSERT_TRUE(s.fail_running(w.id, b, st.error().code, "refused"));
  EXPECT_EQ(s.value_of(cown(p, 1))->data, "kept");
  const Value* result = s.value_of(cown(p, 2));
  ASSERT_NE(result, nullptr);
  EXPECT_EQ(result->error, Errc::not_permitted);
  EXPECT_EQ(result->data, "refused");
  // The cown is free and the worker has its credit back.
  BehaviorId next = submit_ok(s, p.id, pooled({cown(p, 1)}));
  EXPECT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{next});
  EXPECT_FALSE(s.fail_running(w.id, b, Errc::not_permitted, "again"));
  EXPECT_EQ(s.check_invariants(), "");
}

}  // namespace
}  // namespace bocd::core

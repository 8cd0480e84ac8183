// Unit tests of Scheduler's submit/complete contract: ordering on cowns,
// result cowns, nesting, quiesce and every refusal of a command. Session
// teardown and the worker pool are in scheduler_session_test.cc.
#include "core/scheduler.h"

#include <gtest/gtest.h>

#include "scheduler_test_util.h"

namespace bocd::core {
namespace {

using namespace test;  // NOLINT: the helpers are the test vocabulary

// One client session "a" owning cowns x and y; most scenarios start here.
class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(sched.create_cown(a.id, x, val("x0"), false));
    ASSERT_TRUE(sched.create_cown(a.id, y, val("y0"), false));
  }

  Scheduler sched;
  SessionGrant a = sched.open_session(Role::client, 100, "a");
  CownId x = cown(a, 1);
  CownId y = cown(a, 2);
};

TEST_F(SchedulerTest, SecondWriterWaitsUntilFirstReleases) {
  BehaviorId b1 = submit_ok(sched, a.id, on({x}));
  EXPECT_EQ(dispatched_to(sched, a.id), std::vector<BehaviorId>{b1});
  BehaviorId b2 = submit_ok(sched, a.id, on({x}));
  EXPECT_TRUE(drain(sched).dispatched.empty()) << "x is held by b1";
  EXPECT_FALSE(running(sched, b2));
  complete_ok(sched, a.id, b1);
  EXPECT_EQ(dispatched_to(sched, a.id), std::vector<BehaviorId>{b2});
  complete_ok(sched, a.id, b2);
  expect_idle(sched, 2);
}

// b3 only wants y, which no running behavior holds when it is submitted, but
// b2 (submitted earlier) is queued on y: b3 must not overtake it.
TEST_F(SchedulerTest, BehaviorsOnOneCownRunInSubmissionOrder) {
  std::vector<BehaviorId> submitted{
      submit_ok(sched, a.id, on({x})), submit_ok(sched, a.id, on({x, y})),
      submit_ok(sched, a.id, on({y})), submit_ok(sched, a.id, on({y, x})),
      submit_ok(sched, a.id, on({x}))};
  std::vector<BehaviorId> order;
  for (int step = 0; step < 10 && order.size() < submitted.size(); ++step) {
    std::vector<BehaviorId> now = dispatched_to(sched, a.id);
    ASSERT_LE(now.size(), 1u) << "each behavior conflicts with the next";
    for (BehaviorId b : now) {
      order.push_back(b);
      complete_ok(sched, a.id, b);
    }
  }
  EXPECT_EQ(order, submitted);
  expect_idle(sched, 2);
}

TEST_F(SchedulerTest, DuplicateCownsAreDeduplicated) {
  BehaviorId b = submit_ok(sched, a.id, on({y, x, y, x, x}));
  EXPECT_EQ(dispatched_to(sched, a.id), std::vector<BehaviorId>{b})
      << "a behavior must not wait for itself";
  EXPECT_EQ(cowns_of(sched, b), (std::vector<CownId>{x, y}));
  complete_ok(sched, a.id, b);
  expect_idle(sched, 2);
}

TEST_F(SchedulerTest, ZeroCownBehaviorIsDispatchedAtOnce) {
  BehaviorId holder = submit_ok(sched, a.id, on({x}));
  SubmitRequest r = on({});
  r.tag = 77;
  r.payload = "body";
  BehaviorId b = submit_ok(sched, a.id, r);
  EXPECT_EQ(dispatched_to(sched, a.id), (std::vector<BehaviorId>{holder, b}));
  DispatchView v;
  ASSERT_TRUE(sched.view(b, v));
  EXPECT_EQ(v.tag, 77u);
  EXPECT_EQ(v.payload, "body");
  EXPECT_EQ(v.session, a.id);
  EXPECT_TRUE(v.cowns.empty());
  complete_ok(sched, a.id, b);
  complete_ok(sched, a.id, holder);
  expect_idle(sched, 2);
}

TEST_F(SchedulerTest, ResultCownOrdersLaterBehaviors) {
  CownId r = cown(a, 3);
  BehaviorId b1 = submit_ok(sched, a.id, on({x}, r));
  ASSERT_NE(sched.value_of(r), nullptr) << "the result cown exists at once";
  EXPECT_EQ(*sched.value_of(r), Value{});
  BehaviorId b2 = submit_ok(sched, a.id, on({r}));
  EXPECT_EQ(dispatched_to(sched, a.id), std::vector<BehaviorId>{b1});
  DispatchView v;
  ASSERT_TRUE(sched.view(b1, v));
  EXPECT_EQ(v.result, r);
  EXPECT_EQ(cowns_of(sched, b1), std::vector<CownId>{x}) << "result not a cown";
  complete_ok(sched, a.id, b1, {{r, val("42")}});
  EXPECT_EQ(dispatched_to(sched, a.id), std::vector<BehaviorId>{b2});
  ASSERT_TRUE(sched.view(b2, v));
  ASSERT_EQ(v.cowns.size(), 1u);
  EXPECT_EQ(*v.cowns[0].second, val("42"));
  complete_ok(sched, a.id, b2);
  expect_idle(sched, 3);  // a still holds its handle on r
}

TEST_F(SchedulerTest, NestedSubmitBelongsToParentSession) {
  SessionGrant w = sched.open_session(Role::worker, 200, "worker");
  BehaviorId parent = submit_ok(sched, a.id, pooled({x}));
  EXPECT_EQ(dispatched_to(sched, w.id), std::vector<BehaviorId>{parent});
  SubmitRequest r = pooled({x}, cown(w, 1));  // result: the submitter's range
  r.parent = parent;
  BehaviorId child = submit_ok(sched, w.id, r);
  // Counted before the parent completes, so quiescing a covers the tree.
  EXPECT_EQ(sched.in_flight(a.id), 2u);
  EXPECT_EQ(sched.in_flight(w.id), 0u);
  sched.quiesce(a.id, 1);
  EXPECT_TRUE(drain(sched).dispatched.empty()) << "x is held by the parent";
  complete_ok(sched, w.id, parent);
  Drained d = drain(sched);
  EXPECT_TRUE(d.quiesced.empty()) << "the child is still in flight";
  ASSERT_EQ(d.dispatched.size(), 1u);
  EXPECT_EQ(d.dispatched[0].behavior, child);
  DispatchView v;
  ASSERT_TRUE(sched.view(child, v));
  EXPECT_EQ(v.session, a.id);
  complete_ok(sched, w.id, child);
  d = drain(sched);
  ASSERT_EQ(d.quiesced.size(), 1u);
  EXPECT_EQ(d.quiesced[0].to, a.id);
  expect_idle(sched, 3);
}

TEST_F(SchedulerTest, NestedSubmitFromAnotherSessionIsRefused) {
  SessionGrant b = sched.open_session(Role::client, 100, "b");  // a second session of a's process
  BehaviorId parent = submit_ok(sched, a.id, on({x}));
  // The parent runs on a, not on b.
  Result<BehaviorId> child = sched.submit(b.id, nested_in(parent, on({})));
  ASSERT_FALSE(child.ok());
  EXPECT_EQ(child.error().code, Errc::unknown_behavior);
  EXPECT_EQ(sched.in_flight(), 1u);
  complete_ok(sched, a.id, parent);
  expect_idle(sched, 2);
}

TEST_F(SchedulerTest, QuiesceFiresWhenSessionReachesZero) {
  BehaviorId b1 = submit_ok(sched, a.id, on({x}));
  BehaviorId b2 = submit_ok(sched, a.id, on({y}));
  sched.quiesce(a.id, 7);
  EXPECT_TRUE(drain(sched).quiesced.empty());
  complete_ok(sched, a.id, b1);
  EXPECT_TRUE(drain(sched).quiesced.empty());
  complete_ok(sched, a.id, b2);
  Drained d = drain(sched);
  ASSERT_EQ(d.quiesced.size(), 1u);
  EXPECT_EQ(d.quiesced[0].to, a.id);
  EXPECT_EQ(d.quiesced[0].request, 7u);
  expect_idle(sched, 2);
}

TEST_F(SchedulerTest, QuiesceFiresAtOnceWhenIdle) {
  SessionGrant b = sched.open_session(Role::client, 100, "b");  // a second session of a's process
  BehaviorId other = submit_ok(sched, b.id, on({x}));  // not a's business
  drain(sched);
  sched.quiesce(a.id, 3);
  Drained d = drain(sched);
  ASSERT_EQ(d.quiesced.size(), 1u);
  EXPECT_EQ(d.quiesced[0].to, a.id);
  EXPECT_EQ(d.quiesced[0].request, 3u);
  complete_ok(sched, b.id, other);
  EXPECT_TRUE(drain(sched).quiesced.empty()) << "fired waiters are forgotten";
  expect_idle(sched, 2);
}

TEST_F(SchedulerTest, AdminQuiesceWaitsForWholeDaemon) {
  SessionGrant b = sched.open_session(Role::client, 100, "b");  // a second session of a's process
  SessionGrant admin = sched.open_session(Role::admin, 1, "bocdctl");
  BehaviorId ba = submit_ok(sched, a.id, on({x}));
  BehaviorId bb = submit_ok(sched, b.id, on({y}));
  drain(sched);
  sched.quiesce(admin.id, 9);
  complete_ok(sched, a.id, ba);
  EXPECT_TRUE(drain(sched).quiesced.empty()) << "b still has work in flight";
  complete_ok(sched, b.id, bb);
  Drained d = drain(sched);
  ASSERT_EQ(d.quiesced.size(), 1u);
  EXPECT_EQ(d.quiesced[0].to, admin.id);
  EXPECT_EQ(d.quiesced[0].request, 9u);
  sched.quiesce(admin.id, 10);  // idle daemon: at once
  d = drain(sched);
  ASSERT_EQ(d.quiesced.size(), 1u);
  EXPECT_EQ(d.quiesced[0].request, 10u);
  expect_idle(sched, 2);
}

// Asserts a refused submit left no trace: no cown, behavior, count or event.
void expect_refused(Scheduler& s, SessionId from, SubmitRequest r, Errc code) {
  std::size_t cowns = s.cown_count(), live = s.live_behaviors();
  std::uint64_t in_flight = s.in_flight();
  CownId result = r.result;
  Result<BehaviorId> b = s.submit(from, std::move(r));
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, code) << b.error().message;
  EXPECT_FALSE(b.error().message.empty());
  EXPECT_EQ(s.cown_count(), cowns);
  EXPECT_EQ(s.live_behaviors(), live);
  EXPECT_EQ(s.in_flight(), in_flight);
  EXPECT_TRUE(s.take_events().empty());
  if (result && code != Errc::cown_exists) {
    EXPECT_EQ(s.value_of(result), nullptr);
  }
}

TEST_F(SchedulerTest, UnknownCownIsRefused) {
  expect_refused(sched, a.id, on({x, cown(a, 99)}, cown(a, 3)),
                 Errc::unknown_cown);
  expect_idle(sched, 2);
}

TEST(SchedulerLimitsTest, RequestSetOverLimitIsRefused) {
  Scheduler s(Limits{.max_cowns_per_behavior = 2});
  SessionGrant g = s.open_session(Role::client, 1, "p");
  for (std::uint64_t n = 1; n <= 3; ++n) {
    ASSERT_TRUE(s.create_cown(g.id, cown(g, n), Value{}, false));
  }
  expect_refused(s, g.id, on({cown(g, 1), cown(g, 2), cown(g, 3)}),
                 Errc::too_many_cowns);
  BehaviorId b = submit_ok(s, g.id, on({cown(g, 3), cown(g, 1)}));
  drain(s);
  complete_ok(s, g.id, b);
  expect_idle(s, 3);
}

TEST_F(SchedulerTest, NewCownIdOutsideRangeIsRefused) {
  SessionGrant b = sched.open_session(Role::client, 100, "b");  // a second session of a's process
  Status st = sched.create_cown(a.id, cown(b, 5), Value{}, false);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::cown_out_of_range);
  st = sched.create_cown(a.id, cown(a, 0), Value{}, false);  // n >= 1
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::cown_out_of_range);
  expect_refused(sched, a.id, on({x}, cown(b, 6)), Errc::cown_out_of_range);
  expect_idle(sched, 2);
}

TEST_F(SchedulerTest, NewCownIdThatExistsIsRefused) {
  Status st = sched.create_cown(a.id, x, val("other"), false);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::cown_exists);
  EXPECT_EQ(*sched.value_of(x), val("x0")) << "the value must be untouched";
  expect_refused(sched, a.id, on({y}, x), Errc::cown_exists);
  expect_idle(sched, 2);
}

TEST_F(SchedulerTest, CompleteFromWrongSessionIsRefused) {
  SessionGrant b = sched.open_session(Role::client, 100, "b");  // a second session of a's process
  BehaviorId bh = submit_ok(sched, a.id, on({x}));
  drain(sched);
  Status st = complete(sched, b.id, bh, {{x, val("stolen")}});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::unknown_behavior);
  EXPECT_TRUE(running(sched, bh)) << "a refused complete changes nothing";
  EXPECT_EQ(*sched.value_of(x), val("x0"));
  complete_ok(sched, a.id, bh);
  st = complete(sched, a.id, bh);  // stale id: already completed
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::unknown_behavior);
  expect_idle(sched, 2);
}

TEST_F(SchedulerTest, CompleteUpdatingCownOutsideSetIsRefused) {
  BehaviorId bh = submit_ok(sched, a.id, on({x}));
  drain(sched);
  // The valid update of x comes first: the refusal must be all or nothing.
  Status st = complete(sched, a.id, bh, {{x, val("x1")}, {y, val("y1")}});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::not_permitted);
  EXPECT_TRUE(running(sched, bh));
  EXPECT_EQ(*sched.value_of(x), val("x0"));
  EXPECT_EQ(*sched.value_of(y), val("y0"));
  st = complete(sched, a.id, bh, {{cown(a, 99), val("?")}});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::not_permitted);
  EXPECT_TRUE(running(sched, bh));
  complete_ok(sched, a.id, bh);
  expect_idle(sched, 2);
}

TEST_F(SchedulerTest, UpdatesAreCommitted) {
  BehaviorId b1 = submit_ok(sched, a.id, on({x, y}));
  BehaviorId b2 = submit_ok(sched, a.id, on({y}));
  drain(sched);
  Value raised{"boom", true, Errc::none};
  complete_ok(sched, a.id, b1, {{x, val("x1")}, {y, raised}});
  EXPECT_EQ(*sched.value_of(x), val("x1"));
  EXPECT_EQ(*sched.value_of(y), raised);
  EXPECT_EQ(dispatched_to(sched, a.id), std::vector<BehaviorId>{b2});
  DispatchView v;
  ASSERT_TRUE(sched.view(b2, v));
  ASSERT_EQ(v.cowns.size(), 1u);
  EXPECT_EQ(*v.cowns[0].second, raised) << "the next behavior sees the commit";
  complete_ok(sched, a.id, b2);  // no updates: y keeps its value
  EXPECT_EQ(*sched.value_of(y), raised);
  EXPECT_EQ(sched.completed(), 2u);
  expect_idle(sched, 2);
}

TEST(SchedulerLimitsTest, TooManyInFlight) {
  Scheduler s(Limits{.max_in_flight_per_session = 2});
  SessionGrant g = s.open_session(Role::client, 1, "p");
  SessionGrant h = s.open_session(Role::client, 2, "q");
  BehaviorId b1 = submit_ok(s, g.id, on({}));
  BehaviorId b2 = submit_ok(s, g.id, on({}));
  drain(s);
  expect_refused(s, g.id, on({}), Errc::too_many_in_flight);
  BehaviorId other = submit_ok(s, h.id, on({}));  // the limit is per session
  complete_ok(s, g.id, b1);
  BehaviorId b3 = submit_ok(s, g.id, on({}));
  for (BehaviorId b : {b2, b3}) complete_ok(s, g.id, b);
  complete_ok(s, h.id, other);
  expect_idle(s, 0);
}

TEST_F(SchedulerTest, ShuttingDownRefusesSubmits) {
  BehaviorId bh = submit_ok(sched, a.id, on({x}));
  drain(sched);
  sched.close_terminators();
  expect_refused(sched, a.id, on({y}), Errc::shutting_down);
  expect_refused(sched, a.id, nested_in(bh, on({})), Errc::shutting_down);
  complete_ok(sched, a.id, bh, {{x, val("x1")}});  // running work drains
  EXPECT_EQ(*sched.value_of(x), val("x1"));
  expect_idle(sched, 2);
}

}  // namespace
}  // namespace bocd::core

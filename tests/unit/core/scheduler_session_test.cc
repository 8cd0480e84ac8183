// Unit tests of Scheduler's session side: where behaviors run (worker pool,
// pinned owners), what closing a session or dropping a cown does to the
// behaviors and cowns it touches, and admin quiesce across closes.
#include <gtest/gtest.h>

#include "core/scheduler.h"
#include "scheduler_test_util.h"

namespace bocd::core {
namespace {

using namespace test;  // NOLINT: the helpers are the test vocabulary
using SchedulerCloseTest = SchedulerWithClient;
using SchedulerAdminTest = SchedulerWithClient;

TEST(SchedulerWorkerTest, WorkerPoolDispatchRespectsPipelineCredits) {
  Scheduler s(Limits{.worker_pipeline = 2, .pipeline_below_us = -1});
  SessionGrant a = s.open_session(Role::client, 1, "a");
  SessionGrant w1 = s.open_session(Role::worker, 2, "w1");
  BehaviorId b1 = submit_ok(s, a.id, pooled({}));
  BehaviorId b2 = submit_ok(s, a.id, pooled({}));
  BehaviorId b3 = submit_ok(s, a.id, pooled({}));
  EXPECT_EQ(dispatched_to(s, w1.id), (std::vector<BehaviorId>{b1, b2}))
      << "b3 waits: w1 has no credit left";
  complete_ok(s, w1.id, b1);
  EXPECT_EQ(dispatched_to(s, w1.id), std::vector<BehaviorId>{b3});
  BehaviorId b4 = submit_ok(s, a.id, pooled({}));
  BehaviorId b5 = submit_ok(s, a.id, pooled({}));
  EXPECT_TRUE(drain(s).dispatched.empty());
  SessionGrant w2 = s.open_session(Role::worker, 3, "w2");
  EXPECT_EQ(dispatched_to(s, w2.id), (std::vector<BehaviorId>{b4, b5}))
      << "a new worker takes queued work at once";
  BehaviorId b6 = submit_ok(s, a.id, pooled({}));
  complete_ok(s, w2.id, b4);
  EXPECT_EQ(dispatched_to(s, w2.id), std::vector<BehaviorId>{b6})
      << "only w2 has a free credit";
  for (BehaviorId b : {b2, b3}) complete_ok(s, w1.id, b);
  for (BehaviorId b : {b5, b6}) complete_ok(s, w2.id, b);
  EXPECT_EQ(s.completed(), 6u);
  expect_idle(s, 0);
}

// A busy worker is sent more only while its behaviors run short, so a
// behavior never waits behind a long one while another worker could start
// it (Limits::pipeline_below_us). Time is injected through set_time.
TEST(SchedulerWorkerTest, PipelineOnlyWhileBehaviorsRunShort) {
  Scheduler s(Limits{.worker_pipeline = 3, .pipeline_below_us = 100});
  SessionGrant a = s.open_session(Role::client, 1, "a");
  SessionGrant w = s.open_session(Role::worker, 2, "w");
  s.set_time(1'000);
  BehaviorId b1 = submit_ok(s, a.id, pooled({}));
  BehaviorId b2 = submit_ok(s, a.id, pooled({}));
  EXPECT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{b1})
      << "no run time known yet: one at a time";
  s.set_time(1'020);
  complete_ok(s, w.id, b1);  // ran 20 us: short
  EXPECT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{b2});
  BehaviorId b3 = submit_ok(s, a.id, pooled({}));
  BehaviorId b4 = submit_ok(s, a.id, pooled({}));
  EXPECT_EQ(dispatched_to(s, w.id), (std::vector<BehaviorId>{b3, b4}))
      << "short behaviors fill the pipeline";
  s.set_time(101'020);
  complete_ok(s, w.id, b2);  // 100 ms: the average is now long
  BehaviorId b5 = submit_ok(s, a.id, pooled({}));
  EXPECT_TRUE(drain(s).dispatched.empty())
      << "b5 waits in the daemon while w still runs b3, b4";
  complete_ok(s, w.id, b3);
  complete_ok(s, w.id, b4);
  EXPECT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{b5})
      << "an idle worker always takes work";
  for (int i = 0; i < 40; ++i) {  // many short runs bring the average down
    BehaviorId b = i == 0 ? b5 : submit_ok(s, a.id, pooled({}));
    if (i > 0) EXPECT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{b});
    complete_ok(s, w.id, b);
  }
  BehaviorId c1 = submit_ok(s, a.id, pooled({}));
  BehaviorId c2 = submit_ok(s, a.id, pooled({}));
  EXPECT_EQ(dispatched_to(s, w.id), (std::vector<BehaviorId>{c1, c2}))
      << "short again: pipelined again";
  complete_ok(s, w.id, c1);
  complete_ok(s, w.id, c2);
  // The average is short, but the body running now has run long (it may
  // be blocked): nothing more is queued behind it.
  BehaviorId d1 = submit_ok(s, a.id, pooled({}));
  EXPECT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{d1});
  s.set_time(101'020 + 500);
  BehaviorId d2 = submit_ok(s, a.id, pooled({}));
  EXPECT_TRUE(drain(s).dispatched.empty())
      << "d1 has run 500 us: d2 waits for a worker that can start it";
  complete_ok(s, w.id, d1);
  EXPECT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{d2});
  complete_ok(s, w.id, d2);
  expect_idle(s, 0);
}

// The depth follows the bodies' length: what is queued on a worker would,
// at its bodies' average, all run within pipeline_below_us. Tiny bodies
// fill the pipeline (up to worker_pipeline); 30 us ones queue 4 deep
// under a 100 us bound.
TEST(SchedulerWorkerTest, PipelineDepthFollowsTheBodiesLength) {
  // How many of 10 behaviors a worker is sent at once once its first body
  // ran `ran_us` (a fresh worker's average is its first run time).
  auto depth_after = [](std::int64_t ran_us) {
    Scheduler s(Limits{.worker_pipeline = 8, .pipeline_below_us = 100});
    SessionGrant a = s.open_session(Role::client, 1, "a");
    SessionGrant w = s.open_session(Role::worker, 2, "w");
    std::vector<CownUpdate> none;
    s.set_time(0);
    BehaviorId first = submit_ok(s, a.id, pooled({}));
    EXPECT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{first});
    EXPECT_TRUE(s.complete(w.id, first, none, ran_us).ok());
    for (int i = 0; i < 10; ++i) submit_ok(s, a.id, pooled({}));
    std::vector<BehaviorId> sent = dispatched_to(s, w.id);
    std::size_t depth = sent.size();
    while (!sent.empty()) {  // run them all, as they were sent
      for (BehaviorId b : sent) {
        EXPECT_TRUE(s.complete(w.id, b, none, ran_us).ok());
      }
      sent = dispatched_to(s, w.id);
    }
    expect_idle(s, 0);
    return depth;
  };
  EXPECT_EQ(depth_after(1), 8u) << "1 us bodies: the whole pipeline";
  EXPECT_EQ(depth_after(30), 4u)
      << "30 us bodies: it runs one and 3 * 30 us queue under 100 us";
  EXPECT_EQ(depth_after(60), 2u) << "60 us: one queued behind it";
}

// On a busy host a dispatch may wait long before the worker reads it; the
// body's run time the worker reports is what counts, not the daemon's view.
TEST(SchedulerWorkerTest, PipelineTrustsTheExecutorsRunTime) {
  Scheduler s(Limits{.worker_pipeline = 2, .pipeline_below_us = 100});
  SessionGrant a = s.open_session(Role::client, 1, "a");
  SessionGrant w = s.open_session(Role::worker, 2, "w");
  s.set_time(0);
  BehaviorId b1 = submit_ok(s, a.id, pooled({}));
  BehaviorId b2 = submit_ok(s, a.id, pooled({}));
  EXPECT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{b1});
  s.set_time(50'000);  // 50 ms by the daemon's clock, 10 us in the body
  std::vector<CownUpdate> none;
  ASSERT_TRUE(s.complete(w.id, b1, none, 10).ok());
  EXPECT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{b2});
  BehaviorId b3 = submit_ok(s, a.id, pooled({}));
  EXPECT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{b3})
      << "short by the worker's measure: pipelined";
  s.set_time(50'010);
  ASSERT_TRUE(s.complete(w.id, b2, none, 100'000).ok());  // long, it says
  ASSERT_TRUE(s.complete(w.id, b3, none, 100'000).ok());
  BehaviorId b4 = submit_ok(s, a.id, pooled({}));
  BehaviorId b5 = submit_ok(s, a.id, pooled({}));
  EXPECT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{b4})
      << "long by the worker's measure, though quick by the daemon's";
  complete_ok(s, w.id, b4);
  complete_ok(s, w.id, b5);
  expect_idle(s, 0);
}

// Tiny bodies queue deep on a worker while one program runs alone. While
// another program is active, the depth follows what each behavior costs
// the worker (its overhead around the body too), so that the other's next
// behavior, waiting for the place the worker holds, waits about the bound.
TEST(SchedulerWorkerTest, WhileAnotherProgramIsActiveWorkAheadIsBoundedByCost) {
  Scheduler s(Limits{.worker_pipeline = 8, .pipeline_below_us = 100});
  SessionGrant a = s.open_session(Role::client, 1, "a");
  SessionGrant b = s.open_session(Role::client, 2, "b");
  SessionGrant w = s.open_session(Role::worker, 3, "w");
  std::vector<CownUpdate> none;
  s.set_time(0);
  BehaviorId x1 = submit_ok(s, a.id, pooled({}));
  ASSERT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{x1});
  s.set_time(10);
  ASSERT_TRUE(s.complete(w.id, x1, none, 1).ok());  // bodies take 1 us
  BehaviorId x2 = submit_ok(s, a.id, pooled({}));
  BehaviorId x3 = submit_ok(s, a.id, pooled({}));
  ASSERT_EQ(dispatched_to(s, w.id), (std::vector<BehaviorId>{x2, x3}));
  s.set_time(50);
  ASSERT_TRUE(s.complete(w.id, x2, none, 1).ok());
  s.set_time(90);  // x3 waited there: it cost the worker 40 us
  ASSERT_TRUE(s.complete(w.id, x3, none, 1).ok());

  std::vector<BehaviorId> burst;
  for (int i = 0; i < 8; ++i) burst.push_back(submit_ok(s, a.id, pooled({})));
  EXPECT_EQ(dispatched_to(s, w.id), burst) << "alone: 8 deep at 1 us each";
  std::int64_t now = 90;
  for (BehaviorId x : burst) {
    s.set_time(now += 40);  // each costs the worker 40 us
    ASSERT_TRUE(s.complete(w.id, x, none, 1).ok());
  }

  s.set_time(1'000);
  BehaviorId other = submit_ok(s, b.id, pooled({}));
  ASSERT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{other});
  ASSERT_TRUE(s.complete(w.id, other, none, 1).ok());
  burst.clear();
  for (int i = 0; i < 8; ++i) burst.push_back(submit_ok(s, a.id, pooled({})));
  EXPECT_EQ(dispatched_to(s, w.id).size(), 3u)
      << "b is active: 3 deep at 40 us each (under 100 us)";
  s.set_time(60'000);
  for (BehaviorId x : burst) complete_ok(s, w.id, x);
  expect_idle(s, 0);
}

// A long behavior on one worker: the others' work goes to the idle worker,
// not into the busy one's pipeline.
TEST(SchedulerWorkerTest, LongBehaviorLeavesQueuedWorkToAnIdleWorker) {
  Scheduler s(Limits{.worker_pipeline = 4, .pipeline_below_us = 100});
  SessionGrant a = s.open_session(Role::client, 1, "a");
  SessionGrant w1 = s.open_session(Role::worker, 2, "w1");
  s.set_time(0);
  BehaviorId warm = submit_ok(s, a.id, pooled({}));
  EXPECT_EQ(dispatched_to(s, w1.id), std::vector<BehaviorId>{warm});
  s.set_time(5'000);
  complete_ok(s, w1.id, warm);  // 5 ms
  BehaviorId slow = submit_ok(s, a.id, pooled({}));
  BehaviorId next = submit_ok(s, a.id, pooled({}));
  EXPECT_EQ(dispatched_to(s, w1.id), std::vector<BehaviorId>{slow});
  SessionGrant w2 = s.open_session(Role::worker, 3, "w2");
  EXPECT_EQ(dispatched_to(s, w2.id), std::vector<BehaviorId>{next})
      << "next waited for a worker that could start it";
  complete_ok(s, w1.id, slow);
  complete_ok(s, w2.id, next);
  expect_idle(s, 0);
}

TEST(SchedulerWorkerTest, PinnedCownRoutesToOwner) {
  Scheduler s;
  SessionGrant a = s.open_session(Role::client, 1, "a");
  SessionGrant b = s.open_session(Role::client, 1, "b");
  s.open_session(Role::worker, 3, "w");  // idle, and must stay unused
  CownId p = cown(a, 1), q = cown(b, 1);
  ASSERT_TRUE(s.create_cown(a.id, p, Value{}, true));
  ASSERT_TRUE(s.create_cown(b.id, q, Value{}, false));
  BehaviorId pool = submit_ok(s, b.id, pooled({q, p}));
  BehaviorId mine = submit_ok(s, a.id, on({p}));  // the owner's own body
  // b's own body cannot run where a's pinned value lives.
  Result<BehaviorId> refused = s.submit(b.id, on({p}));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::not_permitted);
  complete_ok(s, a.id, pool);
  complete_ok(s, a.id, mine);
  EXPECT_EQ(dispatched_to(s, a.id), (std::vector<BehaviorId>{pool, mine}));
  expect_idle(s, 2);
}

TEST(SchedulerWorkerTest, MixedPinnedOwnersRefused) {
  Scheduler s;
  SessionGrant a = s.open_session(Role::client, 1, "a");
  SessionGrant b = s.open_session(Role::client, 1, "b");
  CownId p = cown(a, 1), q = cown(b, 1), plain = cown(b, 2);
  ASSERT_TRUE(s.create_cown(a.id, p, Value{}, true));
  ASSERT_TRUE(s.create_cown(b.id, q, Value{}, true));
  ASSERT_TRUE(s.create_cown(b.id, plain, Value{}, false));
  Result<BehaviorId> r = s.submit(b.id, on({p, q}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::mixed_pinned_owners);
  EXPECT_EQ(s.live_behaviors(), 0u);
  BehaviorId ok = submit_ok(s, b.id, pooled({plain, p, p}));  // one owner
  EXPECT_EQ(dispatched_to(s, a.id), std::vector<BehaviorId>{ok});
  complete_ok(s, a.id, ok);
  // With a result cown, the error is stored there, as a body's would be.
  CownId result = cown(b, 3);
  Result<BehaviorId> stored = s.submit(b.id, pooled({plain, p, q}, result));
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored.value(), BehaviorId{});
  const Value* v = s.value_of(result);
  ASSERT_NE(v, nullptr);
  EXPECT_TRUE(v->exception);
  EXPECT_EQ(v->error, Errc::mixed_pinned_owners);
  EXPECT_NE(v->data.find("two programs"), std::string::npos) << v->data;
  EXPECT_TRUE(s.take_events().empty()) << "nothing runs";
  expect_idle(s, 4);
}

// a's behaviors wait behind c's b0 on x. When a closes they are cancelled:
// the one already READY for the (absent) pool at once, the WAITING one when
// its turn comes, without ever being dispatched; its result cown carries
// the session_closed error to the behavior queued on it.
TEST_F(SchedulerCloseTest, ClosingSessionCancelsQueuedBehaviors) {
  SessionGrant c = s.open_session(Role::client, 1, "c");
  SessionGrant o = s.open_session(Role::client, 1, "o");
  CownId x = cown(c, 1), r1 = cown(a, 1);
  ASSERT_TRUE(s.create_cown(c.id, x, Value{}, false));
  BehaviorId b0 = submit_ok(s, c.id, on({x}));
  BehaviorId b1 = submit_ok(s, a.id, on({x}, r1));
  submit_ok(s, a.id, pooled({}));  // READY, but no worker is open
  BehaviorId b2 = submit_ok(s, o.id, on({r1}));
  EXPECT_EQ(dispatched_to(s, c.id), std::vector<BehaviorId>{b0});
  s.close_session(a.id);
  EXPECT_EQ(s.in_flight(a.id), 1u) << "only b1 is left, waiting for x";
  EXPECT_TRUE(s.take_events().empty());
  complete_ok(s, c.id, b0);
  EXPECT_EQ(dispatched_to(s, o.id), std::vector<BehaviorId>{b2});
  EXPECT_FALSE(running(s, b1));
  DispatchView v;
  ASSERT_TRUE(s.view(b2, v));
  ASSERT_EQ(v.cowns.size(), 1u);
  EXPECT_TRUE(v.cowns[0].second->exception);
  EXPECT_EQ(v.cowns[0].second->error, Errc::session_closed);
  EXPECT_FALSE(v.cowns[0].second->data.empty()) << "says what happened";
  complete_ok(s, o.id, b2);
  EXPECT_EQ(s.value_of(r1), nullptr) << "a's handle on r1 went with a";
  EXPECT_EQ(s.session_count(), 2u);
  EXPECT_EQ(s.completed(), 4u);
  expect_idle(s, 1);
}

TEST_F(SchedulerCloseTest, ClosingExecutorAbortsRunningBehavior) {
  SessionGrant w = s.open_session(Role::worker, 2, "w");
  CownId x = cown(a, 1), r = cown(a, 2);
  ASSERT_TRUE(s.create_cown(a.id, x, val("v0"), false));
  BehaviorId b0 = submit_ok(s, a.id, pooled({x}));
  drain(s);
  complete_ok(s, w.id, b0, {{x, val("v1")}});
  BehaviorId b1 = submit_ok(s, a.id, pooled({x}, r));
  BehaviorId b2 = submit_ok(s, a.id, on({x}));
  EXPECT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{b1});
  s.close_session(w.id);
  EXPECT_EQ(dispatched_to(s, a.id), std::vector<BehaviorId>{b2})
      << "x is released by the abort";
  ASSERT_NE(s.value_of(r), nullptr);
  EXPECT_TRUE(s.value_of(r)->exception);
  EXPECT_EQ(s.value_of(r)->error, Errc::executor_lost);
  EXPECT_EQ(*s.value_of(x), val("v1")) << "x keeps its committed value";
  Status st = complete(s, w.id, b1);
  ASSERT_FALSE(st.ok()) << "the aborted behavior cannot complete later";
  EXPECT_EQ(st.error().code, Errc::unknown_behavior);
  complete_ok(s, a.id, b2);
  EXPECT_EQ(s.session_count(), 1u);
  expect_idle(s, 2);
}

// b's behaviors on a's pinned cown must run on a; once a is gone the
// running one is aborted and the queued one fails when its turn comes.
TEST_F(SchedulerCloseTest, ClosingPinnedOwnerFailsBehaviorsRoutedToIt) {
  SessionGrant b = s.open_session(Role::client, 1, "b");
  CownId p = cown(a, 1), r1 = cown(b, 1), r2 = cown(b, 2);
  ASSERT_TRUE(s.create_cown(a.id, p, Value{}, true));
  BehaviorId b1 = submit_ok(s, b.id, pooled({p}, r1));
  submit_ok(s, b.id, pooled({p}, r2));
  EXPECT_EQ(dispatched_to(s, a.id), std::vector<BehaviorId>{b1});
  s.close_session(a.id);
  EXPECT_TRUE(s.take_events().empty()) << "nobody is left to run the second";
  for (CownId r : {r1, r2}) {
    ASSERT_NE(s.value_of(r), nullptr);
    EXPECT_EQ(s.value_of(r)->error, Errc::executor_lost);
  }
  EXPECT_EQ(s.value_of(p), nullptr) << "p's owner and queue are both gone";
  expect_idle(s, 2);
}

TEST_F(SchedulerCloseTest, ClosingSessionFreesItsCowns) {
  for (std::uint64_t n = 1; n <= 3; ++n) {
    ASSERT_TRUE(s.create_cown(a.id, cown(a, n), Value{}, n == 2));
  }
  BehaviorId b = submit_ok(s, a.id, on({cown(a, 1)}, cown(a, 4)));
  complete_ok(s, a.id, b, {{cown(a, 4), val("done")}});
  EXPECT_EQ(s.cown_count(), 4u);
  drain(s);
  s.close_session(a.id);
  s.close_session(a.id);  // idempotent
  EXPECT_EQ(s.session_count(), 0u);
  EXPECT_EQ(s.create_cown(a.id, cown(a, 5), Value{}, false).error().code,
            Errc::session_closed);
  EXPECT_EQ(s.submit(a.id, on({})).error().code, Errc::session_closed);
  s.quiesce(a.id, 1);
  EXPECT_TRUE(s.take_events().empty());
  expect_idle(s, 0);
}

TEST_F(SchedulerCloseTest, CownInUseOutlivesItsOwner) {
  SessionGrant b = s.open_session(Role::client, 1, "b");
  CownId x = cown(a, 1);
  ASSERT_TRUE(s.create_cown(a.id, x, Value{}, false));
  BehaviorId bh = submit_ok(s, b.id, on({x}));
  s.close_session(a.id);
  EXPECT_NE(s.value_of(x), nullptr) << "b's running behavior holds x";
  complete_ok(s, b.id, bh, {{x, val("last")}});
  EXPECT_EQ(s.value_of(x), nullptr);
  expect_idle(s, 0);
}

TEST_F(SchedulerCloseTest, DropCownFreesIdleCown) {
  SessionGrant b = s.open_session(Role::client, 1, "b");
  CownId x = cown(a, 1);
  ASSERT_TRUE(s.create_cown(a.id, x, Value{}, false));
  EXPECT_EQ(s.drop_cown(b.id, x).error().code, Errc::not_permitted);
  EXPECT_EQ(s.drop_cown(a.id, cown(a, 2)).error().code, Errc::unknown_cown);
  EXPECT_EQ(s.cown_count(), 1u);
  EXPECT_TRUE(s.drop_cown(a.id, x));
  EXPECT_EQ(s.value_of(x), nullptr);
  EXPECT_EQ(s.drop_cown(a.id, x).error().code, Errc::unknown_cown);
  expect_idle(s, 0);
}

TEST_F(SchedulerCloseTest, DroppedCownLivesUntilItsQueueEmpties) {
  CownId x = cown(a, 1);
  ASSERT_TRUE(s.create_cown(a.id, x, Value{}, false));
  BehaviorId b1 = submit_ok(s, a.id, on({x}));
  BehaviorId b2 = submit_ok(s, a.id, on({x}));
  EXPECT_TRUE(s.drop_cown(a.id, x));
  EXPECT_EQ(s.drop_cown(a.id, x).error().code, Errc::not_permitted)
      << "the handle is already gone";
  complete_ok(s, a.id, b1, {{x, val("x1")}});
  ASSERT_NE(s.value_of(x), nullptr) << "b2 still waits on x";
  complete_ok(s, a.id, b2);
  EXPECT_EQ(s.value_of(x), nullptr);
  expect_idle(s, 0);
}

// A behavior a worker runs because it is the executor (run_on_submitter or
// a pinned cown it owns) never took a pool credit, so completing it must
// not hand one back: the worker would then get more than worker_pipeline.
void expect_no_extra_credit(Scheduler& s, SessionGrant a, SessionGrant w) {
  EXPECT_EQ(s.check_invariants(), "");
  BehaviorId p1 = submit_ok(s, a.id, pooled({}));
  BehaviorId p2 = submit_ok(s, a.id, pooled({}));
  std::vector<BehaviorId> got = dispatched_to(s, w.id);
  EXPECT_EQ(got, std::vector<BehaviorId>{p1}) << "worker_pipeline is 1";
  for (BehaviorId b : {p1, p2}) {
    if (running(s, b)) complete_ok(s, w.id, b);
    drain(s);
  }
}

TEST(SchedulerWorkerTest, WorkerRunningItsOwnNestedBehaviorGainsNoCredit) {
  Scheduler s(Limits{.worker_pipeline = 1});
  SessionGrant a = s.open_session(Role::client, 1, "a");
  SessionGrant w = s.open_session(Role::worker, 2, "w");
  BehaviorId parent = submit_ok(s, a.id, pooled({}));
  // The worker keeps the child for itself.
  BehaviorId child = submit_ok(s, w.id, nested_in(parent, on({})));
  EXPECT_EQ(dispatched_to(s, w.id), (std::vector<BehaviorId>{parent, child}));
  complete_ok(s, w.id, child);
  complete_ok(s, w.id, parent);
  expect_no_extra_credit(s, a, w);
  expect_idle(s, 0);
}

TEST(SchedulerWorkerTest, WorkerRunningItsPinnedCownBehaviorGainsNoCredit) {
  Scheduler s(Limits{.worker_pipeline = 1});
  SessionGrant a = s.open_session(Role::client, 1, "a");
  SessionGrant w = s.open_session(Role::worker, 1, "w");
  ASSERT_TRUE(s.create_cown(w.id, cown(w, 1), Value{}, true));
  BehaviorId b = submit_ok(s, a.id, pooled({cown(w, 1)}));
  EXPECT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{b});
  complete_ok(s, w.id, b);
  expect_no_extra_credit(s, a, w);
  expect_idle(s, 1);
}

// Two admins wait for the daemon; one disconnects first. The other must
// still hear, the closed one must not, and nothing may be left behind.
TEST_F(SchedulerAdminTest, ClosingAdminWhileQuiescingKeepsOtherWaiters) {
  SessionGrant admin1 = s.open_session(Role::admin, 2, "bocdctl");
  SessionGrant admin2 = s.open_session(Role::admin, 3, "bocdctl");
  BehaviorId b = submit_ok(s, a.id, on({}));
  s.quiesce(admin1.id, 1);
  s.quiesce(admin2.id, 2);
  s.close_session(admin1.id);
  drain(s);
  complete_ok(s, a.id, b);
  Drained d = drain(s);
  ASSERT_EQ(d.quiesced.size(), 1u);
  EXPECT_EQ(d.quiesced[0].to, admin2.id);
  EXPECT_EQ(d.quiesced[0].request, 2u);
  expect_idle(s, 0);
}

}  // namespace
}  // namespace bocd::core

namespace bocd::core {
namespace {

TEST(SchedulerRandomTest, SessionPrefixesComeFromTheInjectedRandomness) {
  // The high 32 bits of each draw are a prefix; 0 and the prefix of an open
  // session are drawn again.
  std::vector<std::uint64_t> draws = {
      0x0000000011111111ull,  // prefix 0: skipped
      0xAAAAAAAA00000000ull, 0xAAAAAAAA12345678ull,  // second is taken: skipped
      0xBBBBBBBBFFFFFFFFull, 0xCCCCCCCC00000001ull};
  std::size_t used = 0;
  Limits limits;
  limits.random = [&] { return draws.at(used++); };
  Scheduler s(limits);
  SessionGrant a = s.open_session(Role::client, 1, "a");
  SessionGrant b = s.open_session(Role::client, 2, "b");
  EXPECT_EQ(a.id_base, 0xAAAAAAAAull << 32);
  EXPECT_EQ(b.id_base, 0xBBBBBBBBull << 32);
  EXPECT_EQ(used, 4u);
  s.close_session(a.id);
  // A closed session's prefix may be drawn again.
  draws.back() = 0xAAAAAAAA00000002ull;
  SessionGrant c = s.open_session(Role::client, 3, "c");
  EXPECT_EQ(c.id_base, 0xAAAAAAAAull << 32);
  EXPECT_EQ(used, 5u);
}

}  // namespace
}  // namespace bocd::core

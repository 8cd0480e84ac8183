// The worker pool (scheduler_pool.cc): programs served in turn, workers
// started for one program serving it alone, the busy bound, and workers
// asked for, retired and failed.
#include <gtest/gtest.h>

#include "core/scheduler.h"
#include "scheduler_test_util.h"

namespace bocd::core {
namespace {

using namespace test;  // NOLINT: the helpers are the test vocabulary

constexpr SessionOptions OWN{.own_workers = true};

SessionOptions bound(SessionGrant program) {
  return SessionOptions{.bound_to = program.id};
}

TEST(SchedulerPoolTest, ProgramsAreServedInTurn) {
  // One unbound worker, one behavior at a time: a program that floods
  // the pool lets another's behavior in at its turn, after at most one
  // more of its own (the one whose turn came first).
  Scheduler s(Limits{.worker_pipeline = 1});
  SessionGrant a = s.open_session(Role::client, 1, "a");
  SessionGrant b = s.open_session(Role::client, 2, "b");
  SessionGrant w = s.open_session(Role::worker, 3, "w");
  std::vector<BehaviorId> flood;
  for (int i = 0; i < 5; ++i) flood.push_back(submit_ok(s, a.id, pooled({})));
  BehaviorId single = submit_ok(s, b.id, pooled({}));
  std::vector<BehaviorId> order;
  for (int i = 0; i < 6; ++i) {
    std::vector<BehaviorId> next = dispatched_to(s, w.id);
    ASSERT_EQ(next.size(), 1u) << "one at a time";
    order.push_back(next[0]);
    complete_ok(s, w.id, next[0]);
  }
  EXPECT_EQ(order, (std::vector<BehaviorId>{flood[0], flood[1], single,
                                            flood[2], flood[3], flood[4]}));
  expect_idle(s, 0);
}

TEST(SchedulerPoolTest, AProgramWithItsOwnEnvironmentGetsWorkersOfItsOwn) {
  Scheduler s(Limits{.worker_pipeline = 1, .max_busy_workers = 2,
                     .max_worker_processes = 4});
  SessionGrant a = s.open_session(Role::client, 1, "a", OWN);
  SessionGrant any = s.open_session(Role::worker, 2, "unbound");
  BehaviorId b1 = submit_ok(s, a.id, pooled({}));
  BehaviorId b2 = submit_ok(s, a.id, pooled({}));
  Drained d = drain(s);
  EXPECT_TRUE(d.dispatched.empty()) << "never to another's worker";
  EXPECT_EQ(d.spawn_for, (std::vector<SessionId>{a.id, a.id}))
      << "one worker per behavior it can run at once";
  EXPECT_EQ(s.check_invariants(), "");
  SessionGrant w1 = s.open_session(Role::worker, 3, "w1", bound(a));
  EXPECT_EQ(dispatched_to(s, w1.id), std::vector<BehaviorId>{b1});
  SessionGrant w2 = s.open_session(Role::worker, 4, "w2", bound(a));
  EXPECT_EQ(dispatched_to(s, w2.id), std::vector<BehaviorId>{b2});
  complete_ok(s, w1.id, b1);
  complete_ok(s, w2.id, b2);
  s.close_session(a.id);
  Drained closed = drain(s);
  EXPECT_EQ(closed.retired, (std::vector<SessionId>{w1.id, w2.id}))
      << "its workers go with it: no other program will see their state";
  s.close_session(w1.id);
  s.close_session(w2.id);
  s.close_session(any.id);
  EXPECT_EQ(s.check_invariants(), "");
}

TEST(SchedulerPoolTest, TheBusyBoundMakesProgramsTakeTurnsWithoutPipelining) {
  // One body at a time across programs: while b waits, a's worker gets
  // nothing ahead of its completions, so its turn comes.
  Scheduler s(Limits{.worker_pipeline = 4, .pipeline_below_us = -1,
                     .max_busy_workers = 1, .max_worker_processes = 4});
  SessionGrant a = s.open_session(Role::client, 1, "a", OWN);
  SessionGrant b = s.open_session(Role::client, 2, "b", OWN);
  SessionGrant wa = s.open_session(Role::worker, 3, "wa", bound(a));
  SessionGrant wb = s.open_session(Role::worker, 4, "wb", bound(b));
  std::vector<BehaviorId> flood;
  for (int i = 0; i < 3; ++i) flood.push_back(submit_ok(s, a.id, pooled({})));
  Drained d = drain(s);
  EXPECT_EQ(d.dispatched.size(), 3u) << "alone, a is pipelined";
  BehaviorId single = submit_ok(s, b.id, pooled({}));
  EXPECT_TRUE(drain(s).dispatched.empty()) << "the one busy place is a's";
  BehaviorId more = submit_ok(s, a.id, pooled({}));
  EXPECT_TRUE(drain(s).dispatched.empty()) << "b waits: nothing ahead";
  for (BehaviorId x : flood) complete_ok(s, wa.id, x);
  EXPECT_EQ(dispatched_to(s, wb.id), std::vector<BehaviorId>{single});
  complete_ok(s, wb.id, single);
  EXPECT_EQ(dispatched_to(s, wa.id), std::vector<BehaviorId>{more});
  complete_ok(s, wa.id, more);
  expect_idle(s, 0);
}

TEST(SchedulerPoolTest, AFloodKeepsOnlyItsShareOfPlacesWhileOthersWait) {
  // Two places; a floods with two workers. Once b waits too, a place a
  // frees goes to b, and a keeps one: b never waits for a's flood.
  Scheduler s(Limits{.worker_pipeline = 1, .max_busy_workers = 2,
                     .max_worker_processes = 4});
  SessionGrant a = s.open_session(Role::client, 1, "a", OWN);
  SessionGrant b = s.open_session(Role::client, 2, "b", OWN);
  SessionGrant wa1 = s.open_session(Role::worker, 3, "wa1", bound(a));
  SessionGrant wa2 = s.open_session(Role::worker, 4, "wa2", bound(a));
  SessionGrant wb = s.open_session(Role::worker, 5, "wb", bound(b));
  std::vector<BehaviorId> flood;
  for (int i = 0; i < 6; ++i) flood.push_back(submit_ok(s, a.id, pooled({})));
  EXPECT_EQ(drain(s).dispatched.size(), 2u) << "alone, a has both places";
  BehaviorId mine = submit_ok(s, b.id, pooled({}));
  complete_ok(s, wa1.id, flood[0]);
  EXPECT_EQ(dispatched_to(s, wb.id), std::vector<BehaviorId>{mine});
  complete_ok(s, wa2.id, flood[1]);
  EXPECT_EQ(dispatched_to(s, wa1.id), std::vector<BehaviorId>{flood[2]})
      << "one place each while both wait";
  complete_ok(s, wb.id, mine);
  EXPECT_EQ(dispatched_to(s, wa2.id), std::vector<BehaviorId>{flood[3]})
      << "b has nothing waiting: a may have both again";
  complete_ok(s, wa1.id, flood[2]);
  complete_ok(s, wa2.id, flood[3]);
  drain(s);
  complete_ok(s, wa1.id, flood[4]);
  complete_ok(s, wa2.id, flood[5]);
  EXPECT_EQ(s.check_invariants(), "");
}

TEST(SchedulerPoolTest, AtTheProcessBoundTheLongestIdleWorkerMakesRoom) {
  Scheduler s(Limits{.worker_pipeline = 1, .max_busy_workers = 2,
                     .max_worker_processes = 1});
  SessionGrant a = s.open_session(Role::client, 1, "a", OWN);
  SessionGrant b = s.open_session(Role::client, 2, "b", OWN);
  BehaviorId first = submit_ok(s, a.id, pooled({}));
  drain(s);
  SessionGrant wa = s.open_session(Role::worker, 3, "wa", bound(a));
  drain(s);
  complete_ok(s, wa.id, first);  // wa is idle now
  submit_ok(s, b.id, pooled({}));
  Drained d = drain(s);
  EXPECT_EQ(d.retired, std::vector<SessionId>{wa.id});
  EXPECT_EQ(d.spawn_for, std::vector<SessionId>{b.id});
  EXPECT_EQ(s.check_invariants(), "");
}

TEST(SchedulerPoolTest, AWorkerThatFailsToStartIsRetriedLaterThenFailsTheWork) {
  Scheduler s(Limits{.max_busy_workers = 2, .max_worker_processes = 2});
  SessionGrant a = s.open_session(Role::client, 1, "a", OWN);
  s.set_time(1'000'000);
  submit_ok(s, a.id, pooled({}, cown(a, 1)));
  ASSERT_EQ(drain(s).spawn_for.size(), 1u);
  s.worker_failed(a.id, "python3.12: not found");
  submit_ok(s, a.id, pooled({}));
  EXPECT_TRUE(drain(s).spawn_for.empty()) << "not again at once";
  EXPECT_EQ(s.fail_unserved(1'000'000, ""), 0u) << "not before the grace";
  s.set_time(2'000'000);
  EXPECT_EQ(s.fail_unserved(1'000'000, ""), 2u);
  EXPECT_EQ(s.value_of(cown(a, 1))->data,
            "behavior not run: no worker can run it: python3.12: not found");
  s.set_time(3'000'000);
  submit_ok(s, a.id, pooled({}));
  EXPECT_EQ(drain(s).spawn_for.size(), 1u) << "tried again, later";
  EXPECT_EQ(s.check_invariants(), "");
}

TEST(SchedulerPoolTest, IdleWorkersRetireAndLateOnesForAGoneProgramToo) {
  Scheduler s(Limits{.max_busy_workers = 2, .max_worker_processes = 4});
  SessionGrant a = s.open_session(Role::client, 1, "a", OWN);
  s.set_time(1'000'000);
  BehaviorId b = submit_ok(s, a.id, pooled({}));
  drain(s);
  SessionGrant w = s.open_session(Role::worker, 2, "w", bound(a));
  drain(s);
  s.set_time(2'000'000);
  complete_ok(s, w.id, b);
  EXPECT_EQ(s.retire_idle_workers(5'000'000), 0u);
  s.set_time(7'000'000);
  EXPECT_EQ(s.retire_idle_workers(5'000'000), 1u);
  EXPECT_EQ(drain(s).retired, std::vector<SessionId>{w.id});
  s.close_session(w.id);
  // A worker asked for, connecting after its program has gone.
  submit_ok(s, a.id, pooled({}));
  ASSERT_EQ(drain(s).spawn_for.size(), 1u);
  s.close_session(a.id);
  SessionGrant late = s.open_session(Role::worker, 3, "late", bound(a));
  EXPECT_EQ(drain(s).retired, std::vector<SessionId>{late.id});
  s.close_session(late.id);
  EXPECT_EQ(s.check_invariants(), "");
}

TEST(SchedulerPoolTest, AWorkerClosingWithItsOwnBehaviorFreesItsBusyPlace) {
  // A worker runs a pool behavior and one of its own (it submitted it to
  // run on itself). Closing it aborts both; if its own ends first, the
  // worker must still be there when the pool behavior ends, or its busy
  // place under max_busy_workers is never given back.
  Scheduler s(Limits{.worker_pipeline = 1, .max_busy_workers = 1,
                     .max_worker_processes = 2});
  SessionGrant a = s.open_session(Role::client, 1, "a", OWN);
  BehaviorId early = submit_ok(s, a.id, on({}));  // takes the lowest slot
  BehaviorId pool = submit_ok(s, a.id, pooled({}));
  EXPECT_EQ(dispatched_to(s, a.id), std::vector<BehaviorId>{early});
  complete_ok(s, a.id, early);  // its slot is free for the worker's own
  SessionGrant w = s.open_session(Role::worker, 2, "w", bound(a));
  EXPECT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{pool});
  BehaviorId own = submit_ok(s, w.id, on({}));
  EXPECT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{own});
  s.close_session(a.id);
  s.close_session(w.id);
  EXPECT_EQ(s.check_invariants(), "");
  EXPECT_EQ(s.session_count(), 0u);
  // The busy place is free: another program's worker gets its behavior.
  SessionGrant b = s.open_session(Role::client, 3, "b", OWN);
  BehaviorId next = submit_ok(s, b.id, pooled({}));
  drain(s);
  SessionGrant wb = s.open_session(Role::worker, 4, "wb", bound(b));
  EXPECT_EQ(dispatched_to(s, wb.id), std::vector<BehaviorId>{next});
  EXPECT_EQ(s.check_invariants(), "");
}

TEST(SchedulerPoolTest, ABehaviorGivenBackAfterItsProgramClosedEnds) {
  // A program with workers of its own closes while its worker holds two
  // of its behaviors; the worker, retired, says the first blocks and
  // gives the second back. No worker may run it any more (the program's
  // own are gone, none is started for a closed program): it must end,
  // not wait forever holding its cowns and its program's session.
  Scheduler s(Limits{.worker_pipeline = 2, .pipeline_below_us = -1,
                     .max_worker_processes = 1});
  SessionGrant a = s.open_session(Role::client, 1, "a", OWN);
  BehaviorId first = submit_ok(s, a.id, pooled({}));
  BehaviorId second = submit_ok(s, a.id, pooled({}));
  drain(s);
  SessionGrant w = s.open_session(Role::worker, 2, "w", bound(a));
  EXPECT_EQ(dispatched_to(s, w.id), (std::vector<BehaviorId>{first, second}));
  s.close_session(a.id);
  Result<std::vector<BehaviorId>> back = s.take_back(w.id, first);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back.value(), std::vector<BehaviorId>{second});
  EXPECT_EQ(s.check_invariants(), "");
  s.close_session(w.id);
  EXPECT_EQ(s.check_invariants(), "");
  EXPECT_EQ(s.in_flight(), 0u);
  EXPECT_EQ(s.session_count(), 0u);
}

}  // namespace
}  // namespace bocd::core

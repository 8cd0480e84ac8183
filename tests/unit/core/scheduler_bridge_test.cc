// Executor bridges (Limits::bridge_slots): one per program with its own
// workers, asked for on first need, sent up to its slots at once,
// completing in any order; lost bridges fail their behaviors and are
// started again after a delay.
#include <gtest/gtest.h>

#include "core/scheduler.h"
#include "scheduler_test_util.h"

namespace bocd::core {
namespace {

using namespace test;  // NOLINT: the helpers are the test vocabulary

constexpr SessionOptions OWN{.own_workers = true};

SessionOptions bridge_of(SessionGrant program) {
  return SessionOptions{.bound_to = program.id, .bridge = true};
}

std::vector<BehaviorId> sent_to(const Drained& d, SessionId to) {
  std::vector<BehaviorId> out;
  for (const DispatchEvent& e : d.dispatched) {
    if (e.to == to) out.push_back(e.behavior);
  }
  return out;
}

TEST(SchedulerBridgeTest, ABridgeTakesUpToItsSlotsAndCompletesInAnyOrder) {
  Scheduler s(Limits{.bridge_slots = 3});
  SessionGrant a = s.open_session(Role::client, 1, "a", OWN);
  std::vector<BehaviorId> bs;
  for (int i = 0; i < 5; ++i) bs.push_back(submit_ok(s, a.id, pooled({})));
  Drained d = drain(s);
  EXPECT_EQ(d.bridge_for, std::vector<SessionId>{a.id});
  EXPECT_TRUE(d.spawn_for.empty()) << "--workers 0: no local workers";
  SessionGrant br = s.open_session(Role::worker, 2, "bridge", bridge_of(a));
  EXPECT_EQ(dispatched_to(s, br.id),
            (std::vector<BehaviorId>{bs[0], bs[1], bs[2]}));
  complete_ok(s, br.id, bs[2]);  // out of order
  EXPECT_EQ(dispatched_to(s, br.id), std::vector<BehaviorId>{bs[3]});
  complete_ok(s, br.id, bs[0]);
  EXPECT_EQ(dispatched_to(s, br.id), std::vector<BehaviorId>{bs[4]});
  for (BehaviorId b : {bs[1], bs[3], bs[4]}) complete_ok(s, br.id, b);
  EXPECT_EQ(s.check_invariants(), "");
  s.close_session(a.id);
  EXPECT_EQ(drain(s).retired, std::vector<SessionId>{br.id})
      << "it goes with its program";
  s.close_session(br.id);
  expect_idle(s, 0);
}

TEST(SchedulerBridgeTest, CownsAreGrantedBeforeTheBridgeGetsABehavior) {
  Scheduler s(Limits{.bridge_slots = 4});
  SessionGrant a = s.open_session(Role::client, 1, "a", OWN);
  SessionGrant br = s.open_session(Role::worker, 2, "bridge", bridge_of(a));
  CownId c = cown(a, 1);
  ASSERT_TRUE(s.create_cown(a.id, c, Value{"0"}, false).ok());
  BehaviorId first = submit_ok(s, a.id, pooled({c}));
  BehaviorId second = submit_ok(s, a.id, pooled({c}));
  EXPECT_EQ(dispatched_to(s, br.id), std::vector<BehaviorId>{first})
      << "the second waits for the cown, though the bridge has room";
  complete_ok(s, br.id, first);
  EXPECT_EQ(dispatched_to(s, br.id), std::vector<BehaviorId>{second});
  complete_ok(s, br.id, second);
  EXPECT_EQ(s.check_invariants(), "");
}

TEST(SchedulerBridgeTest, IdleLocalWorkersGoFirstAndTheBridgeTakesTheRest) {
  Scheduler s(Limits{.worker_pipeline = 1, .max_busy_workers = 1,
                     .max_worker_processes = 1, .bridge_slots = 2});
  SessionGrant a = s.open_session(Role::client, 1, "a", OWN);
  SessionGrant w = s.open_session(Role::worker, 2, "w",
                                  SessionOptions{.bound_to = a.id});
  SessionGrant br = s.open_session(Role::worker, 3, "bridge", bridge_of(a));
  BehaviorId b1 = submit_ok(s, a.id, pooled({}));
  BehaviorId b2 = submit_ok(s, a.id, pooled({}));
  BehaviorId b3 = submit_ok(s, a.id, pooled({}));
  Drained d = drain(s);
  EXPECT_EQ(sent_to(d, w.id), std::vector<BehaviorId>{b1});
  EXPECT_EQ(sent_to(d, br.id), (std::vector<BehaviorId>{b2, b3}));
  EXPECT_EQ(s.check_invariants(), "") << "the bridge is in no busy count";
  for (BehaviorId b : {b2, b3}) complete_ok(s, br.id, b);
  complete_ok(s, w.id, b1);
  EXPECT_EQ(s.check_invariants(), "");
}

TEST(SchedulerBridgeTest, ALostBridgeFailsItsBehaviorsAndComesBackLater) {
  Scheduler s(Limits{.bridge_slots = 2});
  s.set_time(1'000'000);
  SessionGrant a = s.open_session(Role::client, 1, "a", OWN);
  CownId c = cown(a, 1);
  ASSERT_TRUE(s.create_cown(a.id, c, Value{"kept"}, false).ok());
  drain(s);
  SessionGrant br = s.open_session(Role::worker, 2, "bridge", bridge_of(a));
  CownId result = cown(a, 2);
  BehaviorId b = submit_ok(s, a.id, pooled({c}, result));
  EXPECT_EQ(dispatched_to(s, br.id), std::vector<BehaviorId>{b});
  s.close_session(br.id);  // it died
  EXPECT_EQ(s.value_of(c)->data, "kept");
  EXPECT_EQ(s.value_of(result)->error, Errc::executor_lost);
  submit_ok(s, a.id, pooled({c}));
  EXPECT_TRUE(drain(s).bridge_for.empty()) << "not again at once";
  s.set_time(1'200'000);
  EXPECT_EQ(s.ask_for_lost_bridges(), 1u)
      << "the host's timer asks again after the back-off";
  EXPECT_EQ(drain(s).bridge_for, std::vector<SessionId>{a.id});
  EXPECT_EQ(s.fail_unserved(0, "no workers"), 0u) << "one is on its way";
  EXPECT_EQ(s.ask_for_lost_bridges(), 0u);
  EXPECT_EQ(s.check_invariants(), "");
}

TEST(SchedulerBridgeTest, ABridgeThatCannotStartFailsTheWorkWithWhy) {
  Scheduler s(Limits{.bridge_slots = 2});
  s.set_time(1'000'000);
  SessionGrant a = s.open_session(Role::client, 1, "a", OWN);
  CownId result = cown(a, 1);
  submit_ok(s, a.id, pooled({}, result));
  ASSERT_EQ(drain(s).bridge_for.size(), 1u);
  s.worker_failed(a.id, "cannot reach the Ray cluster", /*bridge=*/true);
  s.set_time(1'050'000);
  EXPECT_EQ(s.fail_unserved(10'000, "no workers"), 0u) << "not before the grace";
  s.set_time(1'070'000);
  EXPECT_EQ(s.fail_unserved(10'000, "no workers"), 1u);
  EXPECT_EQ(s.value_of(result)->data,
            "behavior not run: no worker can run it: cannot reach the Ray "
            "cluster");
  EXPECT_EQ(s.check_invariants(), "");
}

}  // namespace
}  // namespace bocd::core

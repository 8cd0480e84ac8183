// Pinned work in the C++ client against the real daemon: a payload
// behavior on a pinned cown waits in its owner's queue for run_pinned();
// wait_or_pinned() wakes for it; blocking calls from a pinned body are
// refused; a lost connection drops the queue.
#include <signal.h>

#include <chrono>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "bocd/client/client.h"
#include "daemon_process.h"

namespace bocd::testing {
namespace {

using client::Access;
using client::Client;
using client::CownRef;
using std::chrono::milliseconds;
using Waited = Client::Waited;

constexpr milliseconds GUARD{30000};

// Waits (no sleeps) until `c` has pinned work queued.
void wait_queued(Client& c) {
  ASSERT_EQ(c.wait_or_pinned(GUARD), Waited::pinned);
  ASSERT_GE(c.pinned_depth(), 1u);
}

TEST(Pinned, PayloadBehaviorWaitsForRunPinnedOnTheCallingThread) {
  DaemonProcess d;
  Client c({d.socket()});
  CownRef p = c.create_pinned();
  CownRef u = c.create("7");
  EXPECT_FALSE(c.run_pinned([](Access&) { FAIL() << "nothing is queued"; }));
  CownRef r = c.submit_to_workers(std::vector<CownRef>{p, u}, "payload", true);
  wait_queued(c);
  EXPECT_GT(c.pinned_age(), std::chrono::steady_clock::duration::zero());
  std::thread::id ran_on;
  ASSERT_TRUE(c.run_pinned([&](Access& a) {
    ran_on = std::this_thread::get_id();
    EXPECT_EQ(a.payload(), "payload");
    ASSERT_EQ(a.size(), 2u);
    std::size_t k = a.cown(0).id == u.id ? 0 : 1;
    a.mut(k) += "8";  // the regular cown is committed back
    a.set_result("done");
  }));
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  EXPECT_EQ(c.pinned_depth(), 0u);
  EXPECT_EQ(c.pinned_age(), std::chrono::steady_clock::duration::zero());
  EXPECT_EQ(c.wait_or_pinned(GUARD), Waited::quiesced);
  EXPECT_EQ(c.read(u).data, "78");
  EXPECT_EQ(c.read(r).data, "done");
}

TEST(Pinned, WaitOrPinnedTimesOutUntilPinnedWorkArrives) {
  DaemonProcess d;
  Client c({d.socket()});
  CownRef p = c.create_pinned();
  CownRef gate = c.create("");
  std::promise<std::uint64_t> holder;
  // Holds `gate`, and so the pinned behavior queued behind it, until
  // release(): meanwhile nothing is pinned work and nothing is quiescent.
  c.submit({gate}, [&](Access& a) {
    a.defer();
    holder.set_value(a.behavior());
  });
  c.submit_to_workers(std::vector<CownRef>{gate, p}, "later", false);
  std::uint64_t behavior = holder.get_future().get();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(c.wait_or_pinned(milliseconds(5)), Waited::timeout);
  }
  c.release(client::Lease{behavior, gate, {}}, nullptr);
  EXPECT_EQ(c.wait_or_pinned(GUARD), Waited::pinned);
  ASSERT_TRUE(c.run_pinned([](Access& a) { EXPECT_EQ(a.payload(), "later"); }));
  EXPECT_EQ(c.wait_or_pinned(GUARD), Waited::quiesced);
}

// pump()'s contract: after sync_pinned(), every pinned behavior that was
// ready when the daemon read the request is queued here, with no waiting.
TEST(Pinned, SyncBringsEveryReadyPinnedBehaviorBeforeItAnswers) {
  DaemonProcess d;
  Client c({d.socket()});
  EXPECT_FALSE(c.pinned_sync_needed()) << "no pinned cown: nothing to ask";
  std::vector<CownRef> ps;
  for (int i = 0; i < 10; ++i) ps.push_back(c.create_pinned());
  EXPECT_FALSE(c.pinned_sync_needed()) << "no pinned work submitted";
  for (CownRef p : ps) c.submit_to_workers(std::vector<CownRef>{p}, "", false);
  EXPECT_TRUE(c.pinned_sync_needed());
  ASSERT_TRUE(c.sync_pinned(GUARD));
  EXPECT_EQ(c.pinned_depth(), 10u);
  EXPECT_FALSE(c.pinned_sync_needed()) << "nothing left waiting";
  while (c.run_pinned([](Access&) {})) {
  }
  EXPECT_EQ(c.wait_or_pinned(GUARD), Waited::quiesced);
}

// A chain on one pinned cown: each completion lets the next in, and the
// answer says more is waiting until the last has been let in.
TEST(Pinned, SyncSaysWhilePinnedWorkStillWaitsForItsCowns) {
  DaemonProcess d;
  Client c({d.socket()});
  CownRef p = c.create_pinned();
  for (int i = 0; i < 3; ++i) {
    c.submit_to_workers(std::vector<CownRef>{p}, std::to_string(i), false);
  }
  std::string order;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.pinned_sync_needed()) << "step " << i;
    ASSERT_TRUE(c.sync_pinned(GUARD));
    ASSERT_EQ(c.pinned_depth(), 1u) << "one at a time: they share p";
    ASSERT_TRUE(c.run_pinned([&](Access& a) { order += a.payload(); }));
  }
  ASSERT_TRUE(c.sync_pinned(GUARD));
  EXPECT_FALSE(c.pinned_sync_needed());
  EXPECT_EQ(order, "012");
  EXPECT_EQ(c.wait_or_pinned(GUARD), Waited::quiesced);
}

TEST(Pinned, BlockingCallsFromAPinnedBodyAreRefused) {
  DaemonProcess d;
  Client c({d.socket()});
  CownRef p = c.create_pinned();
  c.submit_to_workers(std::vector<CownRef>{p}, "", false);
  wait_queued(c);
  int refused = 0;
  ASSERT_TRUE(c.run_pinned([&](Access&) {
    for (auto call : {+[](Client& cl) { cl.wait(); },
                      +[](Client& cl) { cl.quiesce(milliseconds(1)); },
                      +[](Client& cl) { cl.run_pinned([](Access&) {}); }}) {
      try {
        call(c);
      } catch (const std::logic_error&) {
        ++refused;
      }
    }
  }));
  EXPECT_EQ(refused, 3);
  EXPECT_EQ(c.wait_or_pinned(GUARD), Waited::quiesced);
}

TEST(Pinned, LostConnectionDropsQueuedPinnedWork) {
  DaemonProcess d;
  Client c({d.socket()});
  CownRef p = c.create_pinned();
  c.submit_to_workers(std::vector<CownRef>{p}, "", false);
  wait_queued(c);
  ::kill(d.pid(), SIGKILL);
  d.wait_exit();
  // The daemon is gone: the next call learns it, and no body runs.
  EXPECT_THROW(
      {
        while (true) c.wait_or_pinned(GUARD);
      },
      client::ConnectionError);
  bool ran = false;
  EXPECT_THROW(c.run_pinned([&](Access&) { ran = true; }),
               client::ConnectionError);
  EXPECT_FALSE(ran);
  EXPECT_EQ(c.pinned_depth(), 0u);
}

}  // namespace
}  // namespace bocd::testing

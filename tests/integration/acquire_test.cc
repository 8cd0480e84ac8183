// Holding a cown from outside a behavior, in steps (acquire_begin,
// acquire_wait, acquire_cancel), against the real daemon: a wait in slices
// sees the grant, a cancelled request never leaves the cown held, a take
// releases at once and loses nothing when cancelled, a pinned body on the
// pumping thread may acquire, refusals are errors.
#include <chrono>
#include <future>
#include <string>

#include <gtest/gtest.h>

#include "bocd/client/client.h"
#include "daemon_process.h"

namespace bocd::testing {
namespace {

using client::Access;
using client::Client;
using client::CownRef;
using client::Lease;
using std::chrono::milliseconds;
using Acquired = Client::Acquired;

constexpr milliseconds GUARD{30000};

// Holds `x` until the returned lease is released (a deferred behavior).
Lease hold(Client& c, CownRef x) {
  std::promise<Lease> held;
  c.submit({x}, [&](Access& a) {
    a.defer();
    held.set_value(Lease{a.behavior(), a.cown(0), a.get(0)});
  });
  return held.get_future().get();
}

TEST(Acquire, WaitInSlicesTimesOutUntilTheCownIsFree) {
  DaemonProcess d;
  Client c({d.socket()});
  CownRef x = c.create("a");
  Lease first = hold(c, x);
  std::uint64_t request = c.acquire_begin(x);
  Lease got;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(c.acquire_wait(request, milliseconds(5), got), Acquired::timeout);
  }
  client::Value update{"b", false, client::Errc::none};
  c.release(first, &update);
  ASSERT_EQ(c.acquire_wait(request, GUARD, got), Acquired::granted);
  EXPECT_EQ(got.value.data, "b");
  c.release(got, nullptr);
  c.wait();
}

TEST(Acquire, CancelledRequestReleasesItsGrantUnchanged) {
  DaemonProcess d;
  Client c({d.socket()});
  CownRef x = c.create("a"), y = c.create("y");
  Lease first = hold(c, x);
  std::uint64_t late = c.acquire_begin(x);  // granted after the cancel
  c.acquire_cancel(late);
  std::uint64_t granted = c.acquire_begin(y);  // granted before it
  Lease got;
  ASSERT_EQ(c.acquire_wait(granted, GUARD, got), Acquired::granted);
  c.acquire_cancel(granted);  // a taken grant is the caller's: no-op
  c.release(got, nullptr);
  std::uint64_t unwaited = c.acquire_begin(y);
  c.release(first, nullptr);
  EXPECT_EQ(c.read(x).data, "a") << "the late grant was let go";
  c.acquire_cancel(unwaited);
  EXPECT_EQ(c.read(y).data, "y") << "the unwaited grant was let go";
  c.wait();
}

// A Take whose plain values start with "P" and leave "E".
client::Take take() { return client::Take{"E", "P"}; }

// The grant of a Take request on `x`.
Lease take_granted(Client& c, CownRef x) {
  std::uint64_t request = c.acquire_begin(x, take());
  Lease got;
  EXPECT_EQ(c.acquire_wait(request, GUARD, got), Acquired::granted);
  return got;
}

TEST(Acquire, TakeTakesAPlainValueAndReleasesTheCownAtOnce) {
  DaemonProcess d;
  Client c({d.socket()});
  CownRef x = c.create("Pvalue");
  Lease got = take_granted(c, x);
  EXPECT_TRUE(got.taken);
  EXPECT_EQ(got.value.data, "Pvalue");
  // Nothing to release: the next request is served at once.
  EXPECT_EQ(c.read(x).data, "E");
  c.wait();
}

TEST(Acquire, TakeHoldsAValueThatIsNotPlainUntilItsRelease) {
  DaemonProcess d;
  Client c({d.socket()});
  CownRef other = c.create("o");
  CownRef x = c.create("zzz");
  std::uint64_t refs[] = {other.id};
  CownRef y = c.create("Pref", refs);
  Lease got = take_granted(c, x);
  EXPECT_FALSE(got.taken) << "its bytes are not plain";
  EXPECT_EQ(got.value.data, "zzz");
  c.release(got, nullptr);
  EXPECT_EQ(c.read(x).data, "zzz");

  got = take_granted(c, y);
  EXPECT_FALSE(got.taken) << "it embeds a cown";
  c.release(got, nullptr);
  EXPECT_EQ(c.read(y).data, "Pref");
  c.wait();
}

TEST(Acquire, CancelledTakePutsTheTakenValueBack) {
  DaemonProcess d;
  Client c({d.socket()});
  CownRef x = c.create("a");
  Lease first = hold(c, x);
  std::uint64_t request = c.acquire_begin(x, take());
  client::Value update{"Pv", false, client::Errc::none};
  c.release(first, &update);
  // Ordered after the take, which ran on the IO thread without waiting for
  // this caller.
  EXPECT_EQ(c.read(x).data, "E");
  c.acquire_cancel(request);
  EXPECT_EQ(c.read(x).data, "Pv") << "the caller gave up: the value is back";
  c.wait();
}

TEST(Acquire, WaitReturnsForPinnedWorkQueuedMeanwhile) {
  DaemonProcess d;
  Client c({d.socket()});
  CownRef x = c.create("a");
  CownRef p = c.create_pinned();
  // The pinned behavior holds x first: the acquire waits for its run.
  c.submit_to_workers(std::vector<CownRef>{p, x}, "first", false);
  std::uint64_t request = c.acquire_begin(x);
  Lease got;
  ASSERT_EQ(c.acquire_wait(request, GUARD, got, true), Acquired::pinned);
  ASSERT_TRUE(c.run_pinned([](Access& a) {
    EXPECT_EQ(a.payload(), "first");
  }));
  ASSERT_EQ(c.acquire_wait(request, GUARD, got, true), Acquired::granted);
  c.release(got, nullptr);
  c.wait();
}

TEST(Acquire, PinnedBodyOnThePumpingThreadMayAcquire) {
  DaemonProcess d;
  Client c({d.socket()});
  CownRef x = c.create("7");
  CownRef p = c.create_pinned();
  c.submit_to_workers(std::vector<CownRef>{p}, "", false);
  ASSERT_TRUE(c.sync_pinned(GUARD));
  std::string seen;
  ASSERT_TRUE(c.run_pinned([&](Access&) {
    Lease l = c.acquire(x);
    seen = l.value.data;
    client::Value update{"8", false, client::Errc::none};
    c.release(l, &update);
  }));
  EXPECT_EQ(seen, "7");
  EXPECT_EQ(c.read(x).data, "8");
  c.wait();
}

TEST(Acquire, UnknownCownIsRefusedWithAnError) {
  DaemonProcess d;
  Client c({d.socket()});
  std::uint64_t request = c.acquire_begin(CownRef{12345});
  Lease got;
  try {
    c.acquire_wait(request, GUARD, got);
    FAIL() << "an unknown cown was granted";
  } catch (const client::Error& e) {
    EXPECT_EQ(e.code(), client::make_error_code(client::Errc::unknown_cown));
  }
}

}  // namespace
}  // namespace bocd::testing

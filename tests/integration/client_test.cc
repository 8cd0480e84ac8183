// The C++ client against the real daemon: values, ordering, atomicity and
// isolation between clients.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "bocd/client/admin.h"
#include "bocd/client/client.h"
#include "daemon_process.h"

namespace bocd::testing {
namespace {

using client::Access;
using client::Client;
using client::CownRef;

std::int64_t as_int(const std::string& s) { return std::stoll(s); }

TEST(Client, CreatedValueIsReadBack) {
  DaemonProcess d;
  Client c({d.socket()});
  CownRef x = c.create("hello");
  auto v = c.read(x);
  EXPECT_EQ(v.data, "hello");
  EXPECT_FALSE(v.exception);
}

TEST(Client, BehaviorReplacesValueAndLaterReadSeesIt) {
  DaemonProcess d;
  Client c({d.socket()});
  CownRef x = c.create("1");
  c.submit({x}, [](Access& a) { a.mut(0) = std::to_string(as_int(a.get(0).data) * 21); });
  EXPECT_EQ(c.read(x).data, "21");
}

TEST(Client, BehaviorsOnOneCownRunInSubmissionOrder) {
  DaemonProcess d;
  Client c({d.socket()});
  CownRef log = c.create("");
  for (int i = 0; i < 5000; ++i) {
    c.submit({log}, [i](Access& a) { a.mut(0) += std::to_string(i) + ","; });
  }
  std::string expected;
  for (int i = 0; i < 5000; ++i) expected += std::to_string(i) + ",";
  EXPECT_EQ(c.read(log).data, expected);
  c.wait();
}

// Submits the program's thread sends and never follows with a call that
// writes (read, wait, acquire) still leave: the IO thread writes them, at
// once after a quiet spell, else within its linger (socket_channel.h). Singles
// and bursts, so both the waking and the lingering path are taken.
TEST(Client, SubmitsLeaveWithoutACallThatFlushes) {
  DaemonProcess d;
  Client c({d.socket()});
  CownRef x = c.create("0");
  for (int round = 0; round < 200; ++round) {
    int burst = round % 4 == 0 ? 50 : 1;
    std::promise<void> ran;
    std::future<void> done = ran.get_future();
    for (int i = 0; i < burst; ++i) {
      bool last = i == burst - 1;
      c.submit({x}, [&ran, last](Access& a) {
        a.mut(0) = std::to_string(as_int(a.get(0).data) + 1);
        if (last) ran.set_value();
      });
    }
    // A liveness guard, not a speed assertion: without the IO thread's
    // write this would wait forever.
    ASSERT_EQ(done.wait_for(std::chrono::seconds(60)), std::future_status::ready)
        << "round " << round << ": a submit never left the program";
  }
  EXPECT_EQ(c.read(x).data, std::to_string(50 * 50 + 150));
}

TEST(Client, AcquireWaitsForEarlierBehaviorsAndHoldsUntilRelease) {
  DaemonProcess d;
  Client c({d.socket()});
  CownRef x = c.create("a");
  c.submit({x}, [](Access& a) { a.mut(0) += "b"; });
  client::Lease lease = c.acquire(x);
  EXPECT_EQ(lease.value.data, "ab");  // ordered after the earlier behavior
  // A behavior submitted while the lease is held runs only after release.
  c.submit({x}, [](Access& a) { a.mut(0) += "d"; });
  EXPECT_FALSE(c.quiesce(std::chrono::milliseconds(50)));
  client::Value update{"abc", false, client::Errc::none};
  c.release(lease, &update);
  EXPECT_EQ(c.read(x).data, "abcd");
  // Two holds on different cowns from one thread do not block each other.
  CownRef y = c.create("y");
  client::Lease lx = c.acquire(x);
  client::Lease ly = c.acquire(y);
  EXPECT_EQ(ly.value.data, "y");
  c.release(ly, nullptr);
  c.release(lx, nullptr);
  EXPECT_EQ(c.read(x).data, "abcd");
  c.wait();
}

TEST(Client, DuplicateCownsInOneBehaviorAliasOneValue) {
  DaemonProcess d;
  Client c({d.socket()});
  CownRef x = c.create("5");
  CownRef r = c.submit_with_result({x, x}, [](Access& a) {
    a.mut(0) = "42";
    a.set_result(a.get(1).data);
  });
  EXPECT_EQ(c.read(r).data, "42");
}

TEST(Client, ResultCownOrdersLaterBehaviorsAfterItsProducer) {
  DaemonProcess d;
  Client c({d.socket()});
  CownRef x = c.create("2");
  CownRef step1 = c.submit_with_result(
      {x}, [](Access& a) { a.set_result(std::to_string(as_int(a.get(0).data) + 3)); });
  CownRef step2 = c.submit_with_result({step1}, [](Access& a) {
    a.set_result(std::to_string(as_int(a.get(0).data) * 4));
  });
  CownRef step3 = c.submit_with_result({step2}, [](Access& a) {
    a.set_result(std::to_string(as_int(a.get(0).data) - 7));
  });
  EXPECT_EQ(c.read(step3).data, "13");
}

TEST(Client, BodyThatThrowsLeavesTheMessageOnItsResultCown) {
  DaemonProcess d;
  Client c({d.socket()});
  CownRef x = c.create("kept");
  CownRef r = c.submit_with_result({x}, [](Access&) -> void {
    throw std::runtime_error("boom");
  });
  auto v = c.read(r);
  EXPECT_TRUE(v.exception);
  EXPECT_EQ(v.data, "boom");
  EXPECT_EQ(c.read(x).data, "kept");
}

TEST(Client, ZeroCownBehaviorRuns) {
  DaemonProcess d;
  Client c({d.socket()});
  CownRef r = c.submit_with_result({}, [](Access& a) { a.set_result("ran"); });
  EXPECT_EQ(c.read(r).data, "ran");
}

TEST(Client, UnknownCownIsReportedByWait) {
  DaemonProcess d;
  Client c({d.socket()});
  c.submit({CownRef{12345}}, [](Access&) {});
  try {
    c.wait();
    FAIL() << "wait() did not report the refused submit";
  } catch (const client::Error& e) {
    EXPECT_EQ(e.code(), client::Errc::unknown_cown);
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos);
  }
  // The session is still usable.
  EXPECT_EQ(c.read(c.create("ok")).data, "ok");
}

// Several clients, thousands of behaviors over cowns they share: counts
// add up, transfers conserve the total, and on every cown each client's
// behaviors ran in the order it submitted them.
TEST(Client, ManyClientsOverSharedCownsKeepSumsAndPerCownOrder) {
  DaemonProcess d;
  constexpr int CLIENTS = 4, COWNS = 8, PER_CLIENT = 3000;
  Client owner({d.socket(), "owner"});
  std::vector<CownRef> counters, logs;
  for (int i = 0; i < COWNS; ++i) {
    counters.push_back(owner.create("100"));
    logs.push_back(owner.create(""));
  }
  // Creation is pipelined: make sure the daemon has the cowns before other
  // sessions name them.
  owner.wait();
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int k = 0; k < CLIENTS; ++k) {
    threads.emplace_back([&, k] {
     try {
      Client c({d.socket(), "worker-" + std::to_string(k)});
      for (int i = 0; i < PER_CLIENT; ++i) {
        int a = (i * 7 + k) % COWNS, b = (i * 3 + k + 1) % COWNS;
        // Move one unit from a to b, atomically on both, and log it on a.
        c.submit({counters[a], counters[b], logs[a]}, [k, i](Access& x) {
          x.mut(0) = std::to_string(as_int(x.get(0).data) - 1);
          x.mut(1) = std::to_string(as_int(x.get(1).data) + 1);
          x.mut(2) += std::to_string(k) + ":" + std::to_string(i) + ",";
        });
      }
      c.wait();
     } catch (const std::exception& e) {
      ADD_FAILURE() << "client " << k << ": " << e.what();
      ++failures;
     }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(failures.load(), 0);
  std::int64_t total = 0;
  for (CownRef c : counters) total += as_int(owner.read(c).data);
  EXPECT_EQ(total, 100 * COWNS);
  std::size_t entries = 0;
  for (CownRef l : logs) {
    std::string s = owner.read(l).data;
    std::vector<int> last(CLIENTS, -1);
    std::size_t pos = 0;
    while (pos < s.size()) {
      std::size_t colon = s.find(':', pos), comma = s.find(',', colon);
      int k = std::stoi(s.substr(pos, colon - pos));
      int i = std::stoi(s.substr(colon + 1, comma - colon - 1));
      EXPECT_GT(i, last[k]) << "client " << k << " out of order";
      last[k] = i;
      ++entries;
      pos = comma + 1;
    }
  }
  EXPECT_EQ(entries, std::size_t{CLIENTS * PER_CLIENT});
}

// A client killed while running a behavior: the daemon keeps serving
// other programs, and the dead one's cowns are not theirs to name (they
// learnt the id; it is refused as if it named nothing).
TEST(Client, KilledClientLeavesOthersServedAndItsCownsUnnamed) {
  DaemonProcess d;
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  pid_t holder = ::fork();
  if (holder == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    ::execl(HOLD_CLIENT, HOLD_CLIENT, d.socket().c_str(), nullptr);
    std::_Exit(127);
  }
  ::close(out[1]);
  FILE* f = ::fdopen(out[0], "r");
  unsigned long long cown_id = 0, result_id = 0;
  // Blocks until the holder's behavior is running.
  ASSERT_EQ(std::fscanf(f, "%llu %llu", &cown_id, &result_id), 2);

  Client c({d.socket(), "survivor"});
  CownRef mine = c.create("0");
  for (CownRef theirs : {CownRef{cown_id}, CownRef{result_id}}) {
    try {
      c.read(theirs);
      ADD_FAILURE() << "read another program's cown";
    } catch (const client::Error& e) {
      EXPECT_EQ(e.code(), client::Errc::unknown_cown) << e.what();
    }
  }
  for (int i = 0; i < 100; ++i) {
    c.submit({mine}, [](Access& a) { a.mut(0) = std::to_string(as_int(a.get(0).data) + 1); });
  }
  EXPECT_EQ(c.read(mine).data, "100");

  ::kill(holder, SIGKILL);
  ::waitpid(holder, nullptr, 0);
  std::fclose(f);

  c.submit({mine}, [](Access& a) { a.mut(0) += "+"; });
  EXPECT_EQ(c.read(mine).data, "100+");
  c.wait();
  EXPECT_TRUE(d.alive());
}

// `bocd quiesce` is a checkpoint: it times out while a behavior is held,
// returns once it completes, and the daemon keeps serving.
TEST(Client, ShellQuiesceWaitsForInFlightBehaviors) {
  DaemonProcess d;
  Client c({d.socket()});
  CownRef x = c.create("0");
  std::promise<void> gate, started;
  auto opened = gate.get_future().share();
  c.submit({x}, [opened, &started](Access& a) {
    started.set_value();
    opened.wait();
    a.mut(0) = "done";
  });
  started.get_future().wait();  // in flight before the shell asks
  auto timed_out = run_bocd({"quiesce", "--socket", d.socket(), "--timeout", "0.2"});
  EXPECT_EQ(timed_out.exit_code, 4) << timed_out.out;
  auto waiting = std::async(std::launch::async, [&] {
    return run_bocd({"quiesce", "--socket", d.socket()});
  });
  gate.set_value();
  auto r = waiting.get();
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(c.read(x).data, "done");
}

TEST(Client, QuiesceWithTimeoutReturnsFalseWhileHeld) {
  DaemonProcess d;
  Client c({d.socket()});
  Client other({d.socket()});
  CownRef x = c.create("0");
  std::promise<void> gate;
  auto opened = gate.get_future().share();
  c.submit({x}, [opened](Access&) { opened.wait(); });
  // Another session is not held up by c's behavior.
  EXPECT_TRUE(other.quiesce(std::chrono::seconds(30)));
  // c's own session is: a bounded quiesce from another thread says so.
  auto r = std::async(std::launch::async, [&] {
    return c.quiesce(std::chrono::milliseconds(100));
  });
  EXPECT_FALSE(r.get());
  gate.set_value();
  c.wait();
}

TEST(Client, LostDaemonRaisesConnectionErrorNamingTheSocket) {
  auto d = std::make_unique<DaemonProcess>();
  std::string socket = d->socket();
  Client c({socket});
  CownRef x = c.create("1");
  EXPECT_EQ(c.read(x).data, "1");
  d.reset();
  try {
    c.read(x);
    FAIL() << "read() after the daemon stopped did not throw";
  } catch (const client::ConnectionError& e) {
    EXPECT_NE(std::string(e.what()).find(socket), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace bocd::testing

namespace bocd::testing {
namespace {

// read() kept its own reference to the promise, so a refused read hung.
TEST(ClientReview, ReadOfAnUnknownCownThrowsInsteadOfHanging) {
  DaemonProcess d;
  Client c({d.socket()});
  try {
    c.read(CownRef{42});
    FAIL() << "read() of an unknown cown returned";
  } catch (const client::Error& e) {
    EXPECT_EQ(e.code(), client::Errc::unknown_cown);
  }
}

// A cown created inside a body and published to another thread must exist
// in the daemon before that thread's later calls reach it.
TEST(ClientReview, CownCreatedInABodyIsUsableByAnotherThreadAtOnce) {
  DaemonProcess d;
  Client c({d.socket()});
  CownRef x = c.create("0");
  for (int i = 0; i < 50; ++i) {
    std::promise<CownRef> made;
    auto got = made.get_future();
    c.submit({x}, [&c, &made, i](Access&) {
      made.set_value(c.create("v" + std::to_string(i)));
    });
    EXPECT_EQ(c.read(got.get()).data, "v" + std::to_string(i));
  }
  EXPECT_TRUE(c.take_errors().empty());
}

TEST(ClientReview, ValuesTooLargeForAFrameFailOnTheResultCown) {
  DaemonProcess d({"--max-frame", "65536"});
  Client c({d.socket()});
  CownRef a = c.create(std::string(40000, 'a'));
  CownRef b = c.create(std::string(40000, 'b'));
  CownRef both = c.submit_with_result({a, b}, [](Access&) {});
  auto v = c.read(both);
  EXPECT_TRUE(v.exception);
  EXPECT_EQ(v.error, client::Errc::too_large);
  // A body growing a value past the limit commits nothing.
  CownRef grow = c.submit_with_result({a}, [](Access& x) {
    x.mut(0) = std::string(100000, 'z');
  });
  auto g = c.read(grow);
  // Fits a CreateCown but not a dispatch, with no result cown: read()
  // says so, no hang.
  CownRef huge = c.create(std::string(65250, 'h'));
  EXPECT_THROW(c.read(huge), client::Error);
  // Too large for any frame: refused before sending, the session lives.
  EXPECT_THROW(c.create(std::string(70000, 'x')), client::Error);
  EXPECT_TRUE(g.exception);
  EXPECT_NE(g.data.find("exceed the daemon's frame limit"), std::string::npos)
      << g.data;
  EXPECT_EQ(c.read(a).data.size(), 40000u);
  EXPECT_TRUE(d.alive());
}

// A second quiesce returned at once: the first one's flag was never reset.
TEST(ClientReview, AdminQuiesceWaitsEachTime) {
  DaemonProcess d;
  client::AdminClient admin(d.socket());
  admin.quiesce(std::chrono::seconds(30));
  Client c({d.socket()});
  CownRef x = c.create("0");
  std::promise<void> gate, started;
  auto opened = gate.get_future().share();
  c.submit({x}, [opened, &started](Access&) {
    started.set_value();
    opened.wait();
  });
  started.get_future().wait();  // in flight for certain
  EXPECT_THROW(admin.quiesce(std::chrono::milliseconds(100)), client::Timeout);
  gate.set_value();
  admin.quiesce(std::chrono::seconds(30));
  EXPECT_EQ(admin.status(std::chrono::seconds(30)).in_flight, 0u);
}

}  // namespace
}  // namespace bocd::testing

// Why a Client's waiting call fails when the real daemon ends its session:
// with the daemon's own reason when it says one (Error.closing), and as a
// lost connection when it goes away without a word (on either transport:
// tools/test.sh runs these both ways). A scripted daemon's reasons are in
// tests/unit/client/close_reason_test.cc.
#include <signal.h>

#include <functional>
#include <future>
#include <string>

#include <gtest/gtest.h>

#include "bocd/client/client.h"
#include "daemon_process.h"

namespace bocd::testing {
namespace {

using client::Client;
using client::CownRef;

// What a wait() blocked on `d` ends with once `end` has ended the daemon
// or the session: the ConnectionError's text. A cown held here keeps the
// behavior queued behind it, and so the wait, from ending by itself.
std::string blocked_wait_ends_with(DaemonProcess& d,
                                   const std::function<void()>& end) {
  Client c({d.socket()});
  CownRef x = c.create("0");
  client::Lease held = c.acquire(x);
  c.submit({x}, [](client::Access&) {});
  auto waited = std::async(std::launch::async, [&]() -> std::string {
    try {
      c.wait();
    } catch (const client::ConnectionError& e) {
      return e.what();
    }
    return "wait() returned";
  });
  // Whether the wait has blocked yet or not, it ends the same way.
  end();
  return waited.get();
}

TEST(CloseReason, AKilledDaemonLeavesABlockedWaitALostConnection) {
  DaemonProcess d;
  std::string why = blocked_wait_ends_with(d, [&] {
    ::kill(d.pid(), SIGKILL);
    d.wait_exit();
  });
  EXPECT_EQ(why.rfind("connection to the bocd daemon at " + d.socket() +
                          " lost: ",
                      0),
            0u)
      << why;
}

TEST(CloseReason, AStoppingDaemonTellsABlockedWaitWhy) {
  // Stop gives the in-flight behavior 0.2 s, then ends every session
  // saying why.
  DaemonProcess d({"--stop-timeout", "0.2"});
  EXPECT_EQ(blocked_wait_ends_with(d, [&] { d.stop(); }),
            "the bocd daemon at " + d.socket() +
                " closed this session: daemon stopping");
}

}  // namespace
}  // namespace bocd::testing

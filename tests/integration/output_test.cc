// Behavior output (Output messages): a worker forwards what a behavior
// wrote to its program session, which hands it to Options::on_output. The
// worker sends Output before its Complete on the same connection, so the
// program has it by the time it sees the behavior's result.
#include <atomic>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "bocd/client/client.h"
#include "daemon_process.h"

namespace bocd::testing {
namespace {

using client::Access;
using client::Client;
using client::CownRef;
using Chunks = std::vector<std::pair<int, std::string>>;

// What a program's on_output received, in order.
struct Collected {
  std::mutex mu;
  Chunks chunks;
  Chunks take() {
    std::lock_guard<std::mutex> lock(mu);
    return std::exchange(chunks, {});
  }
};

client::Options plain(const DaemonProcess& d) {
  client::Options o;
  o.socket = d.socket();
  o.program = "output-client";
  return o;
}

client::Options program(const DaemonProcess& d, Collected& out) {
  client::Options o;
  o.socket = d.socket();
  o.program = "output-program";
  o.on_output = [&out](int stream, std::string_view data) {
    std::lock_guard<std::mutex> lock(out.mu);
    out.chunks.emplace_back(stream, std::string(data));
  };
  return o;
}

// An in-process worker whose body writes the payload to stream 1 (or, for
// a payload "2:TEXT", TEXT to stream 2) of the behavior's program.
struct Worker {
  explicit Worker(const DaemonProcess& d) : client(options(d, self)) {
    self.store(&client);
  }
  static client::Options options(const DaemonProcess& d,
                                 std::atomic<Client*>& self) {
    client::Options o;
    o.socket = d.socket();
    o.program = "output-worker";
    o.worker = [&self](Access& a) {
      std::string_view p = a.payload();
      if (p.substr(0, 2) == "2:") {
        self.load()->output(a.session(), 2, p.substr(2));
      } else {
        self.load()->output(a.session(), 1, p);
      }
      a.set_result("done");
    };
    return o;
  }
  std::atomic<Client*> self{nullptr};
  Client client;
};

TEST(Output, WorkerOutputReachesItsProgramBeforeTheResult) {
  DaemonProcess d;
  Collected out;
  Client c(program(d, out));
  Worker w(d);
  CownRef r = c.submit_to_workers({}, "hello\n", true);
  EXPECT_EQ(c.read(r).data, "done");
  EXPECT_EQ(out.take(), (Chunks{{1, "hello\n"}}));

  CownRef r1 = c.submit_to_workers({}, "2:oops\n", true);
  EXPECT_EQ(c.read(r1).data, "done");
  EXPECT_EQ(out.take(), (Chunks{{2, "oops\n"}}));
}

TEST(Output, OutputGoesToTheProgramOfTheBehaviorOnly) {
  DaemonProcess d;
  Collected out_a, out_b;
  Client a(program(d, out_a));
  Client b(program(d, out_b));
  Worker w(d);
  CownRef ra = a.submit_to_workers({}, "for a", true);
  CownRef rb = b.submit_to_workers({}, "for b", true);
  EXPECT_EQ(a.read(ra).data, "done");
  EXPECT_EQ(b.read(rb).data, "done");
  EXPECT_EQ(out_a.take(), (Chunks{{1, "for a"}}));
  EXPECT_EQ(out_b.take(), (Chunks{{1, "for b"}}));
}

TEST(Output, ClientSessionMayNotSendOutput) {
  DaemonProcess d;
  Collected out;
  Client target(program(d, out));
  Client c(plain(d));
  c.output(target.session(), 1, "forged");
  try {
    c.wait();
    FAIL() << "a client session's Output was accepted";
  } catch (const client::Error& e) {
    EXPECT_EQ(e.code(), client::Errc::not_permitted);
  }
  EXPECT_EQ(c.read(c.create("ok")).data, "ok") << "the session goes on";
  target.wait();  // a round trip: anything forwarded would be here now
  EXPECT_EQ(out.take(), Chunks{});
}

TEST(Output, OutputForASessionThatIsGoneIsDroppedSilently) {
  DaemonProcess d;
  Worker w(d);
  std::uint64_t gone;
  {
    Collected unused;
    Client p(program(d, unused));
    gone = p.session();
  }
  w.client.output(gone, 1, "to nobody");
  w.client.output(999999, 2, "to no session ever");
  w.client.wait();  // would throw an error sent for either
  EXPECT_TRUE(w.client.take_errors().empty());

  Collected out;
  Client c(program(d, out));
  CownRef r = c.submit_to_workers({}, "still works", true);
  EXPECT_EQ(c.read(r).data, "done");
  EXPECT_EQ(out.take(), (Chunks{{1, "still works"}}));
}

}  // namespace
}  // namespace bocd::testing

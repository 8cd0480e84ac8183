// A worker whose body blocks gives back what was pipelined behind it
// (proto Blocked/Recalled), against the real daemon, with two in-process
// workers: a behavior that ends the wait runs on the other worker, once,
// whether the body says it blocks or the client's watchdog sees it stall.
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "bocd/client/client.h"
#include "daemon_process.h"

namespace bocd::testing {
namespace {

using client::Access;
using client::Client;
using client::CownRef;
using std::chrono::milliseconds;

constexpr milliseconds GUARD{30000};

// What the workers run: "noop"; "wait" blocks until "open" has run
// (saying so first when `tell` is set, else leaving it to the watchdog).
struct Scene {
  std::promise<void> opened;
  std::shared_future<void> gate = opened.get_future().share();
  std::atomic<int> opens{0};
  bool tell = true;
  Client* self = nullptr;  // the worker running "wait"

  // `me` is set after the Client starts; its body learns it through the
  // daemon, which no sanitizer sees: an atomic says it is published.
  client::Body body(std::atomic<Client*>& me) {
    return [this, &me](Access& a) {
      std::string_view p = a.payload();
      if (p == "wait") {
        if (tell) me.load()->blocking(a.behavior());
        a.set_result(gate.wait_for(GUARD) == std::future_status::ready
                         ? "opened" : "timed out");
      } else if (p == "open") {
        if (opens.fetch_add(1) == 0) opened.set_value();
      }
    };
  }
};

client::Options worker_options(const DaemonProcess& d, client::Body body,
                               milliseconds stall_after) {
  client::Options o;
  o.socket = d.socket();
  o.program = "in-process worker";
  o.worker = std::move(body);
  o.stall_after = stall_after;
  return o;
}

// One worker, warmed so the daemon pipelines to it; "wait" and "open"
// both go to it; a second worker arrives only after that.
void blocked_body_gives_back_what_follows(bool tell) {
  DaemonProcess d({"--workers", "0", "--worker-pipeline", "8"});
  Scene scene;
  scene.tell = tell;
  std::atomic<Client*> w1_ptr{nullptr};
  std::atomic<Client*> w2_ptr{nullptr};
  auto w1 = std::make_unique<Client>(worker_options(
      d, scene.body(w1_ptr), tell ? milliseconds(0) : milliseconds(1)));
  w1_ptr = w1.get();
  Client program({d.socket()});
  for (int i = 0; i < 16; ++i) {  // short bodies: pipelining turns on
    program.submit_to_workers({}, "noop", false);
  }
  ASSERT_TRUE(program.quiesce(GUARD));
  CownRef waited = program.submit_to_workers({}, "wait", true);
  program.submit_to_workers({}, "open", false);
  auto w2 = std::make_unique<Client>(
      worker_options(d, scene.body(w2_ptr), milliseconds(0)));
  w2_ptr = w2.get();
  ASSERT_TRUE(program.quiesce(GUARD)) << "the open stayed behind the wait";
  EXPECT_EQ(program.read(waited).data, "opened");
  EXPECT_EQ(scene.opens.load(), 1) << "the taken-back dispatch ran twice";
}

TEST(TakeBack, BodyThatSaysItBlocksGivesBackWhatWasPipelinedBehindIt) {
  blocked_body_gives_back_what_follows(true);
}

TEST(TakeBack, WatchdogReportsABodyThatRunsLong) {
  blocked_body_gives_back_what_follows(false);
}

}  // namespace
}  // namespace bocd::testing

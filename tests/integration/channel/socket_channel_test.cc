// The socket channel against the real daemon, through the Channel
// interface Client uses.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "bocd/client/errors.h"
#include "channel.h"
#include "daemon_process.h"

namespace bocd::client {
namespace {

using bocd::testing::DaemonProcess;
using namespace std::chrono_literals;

// Collects the request ids of the daemon's Synced replies, and why the
// channel closed.
struct Replies {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::uint64_t> synced;
  std::string closed;
  std::function<void(std::uint64_t)> on_synced;  // IO thread, unlocked

  void start(Channel& channel) {
    channel.start(
        [this](const proto::fb::Envelope& env, std::span<const std::uint8_t>) {
          const proto::fb::Synced* s = env.message_as_Synced();
          if (s == nullptr) return;
          if (on_synced) on_synced(s->request());
          std::lock_guard<std::mutex> lock(mu);
          synced.push_back(s->request());
          cv.notify_all();
        },
        [this](const std::string& why) {
          std::lock_guard<std::mutex> lock(mu);
          closed = why;
          cv.notify_all();
        });
  }
  // Waits (generously bounded) until `n` replies came or the channel closed.
  bool wait_for(std::size_t n) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, 60s, [&] {
      return synced.size() >= n || !closed.empty();
    }) && synced.size() >= n;
  }
};

ChannelOptions options_for(const DaemonProcess& d) {
  ChannelOptions o;
  o.path = d.socket();
  o.program = "channel-test";
  return o;
}

TEST(Channel, OpensWithTheDaemonsWelcome) {
  DaemonProcess d;
  auto a = open_channel(options_for(d));
  auto b = open_channel(options_for(d));
  EXPECT_NE(a->welcome().session, 0u);
  EXPECT_NE(a->welcome().session, b->welcome().session);
  EXPECT_GT(a->welcome().id_count, 0u);
  EXPECT_GT(a->welcome().max_frame, 0u);
}

// The request id is taken inside the encode callback, under the channel's
// lock, so ids rise in the order the sends were sealed; the daemon answers
// in the order it read them.
TEST(Channel, FramesFromManyThreadsLeaveInTheOrderTheirSendsReturned) {
  DaemonProcess d;
  auto channel = open_channel(options_for(d));
  Replies replies;
  replies.start(*channel);
  constexpr int THREADS = 4, EACH = 500;
  std::uint64_t next = 1;  // guarded by the channel's lock
  std::vector<std::thread> threads;
  for (int t = 0; t < THREADS; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < EACH; ++i) {
        auto encode = [&](proto::Encoder& enc) { enc.sync(next++); };
        if ((i + t) % 7 == 0) {
          channel->send_urgent(encode);
        } else {
          channel->send(encode);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(replies.wait_for(THREADS * EACH)) << replies.closed;
  for (std::size_t i = 0; i < replies.synced.size(); ++i) {
    ASSERT_EQ(replies.synced[i], i + 1);
  }
}

// From the IO thread, with caller writes: the count covers the Hello,
// frames sent before, and the batched and direct ones of this burst; the
// batched ones leave first.
TEST(Channel, FlushCountedCountsTheHelloAndEveryFrameSealed) {
  DaemonProcess d;
  ChannelOptions o = options_for(d);
  o.caller_writes = true;
  auto channel = open_channel(o);
  Replies replies;
  std::atomic<std::uint64_t> counted{0};
  std::atomic<bool> on_io{false};
  replies.on_synced = [&](std::uint64_t request) {
    if (request != 1) return;
    on_io = channel->on_io_thread();
    channel->send_batched([](proto::Encoder& enc) { enc.sync(2); });
    channel->send_batched([](proto::Encoder& enc) { enc.sync(3); });
    channel->send([](proto::Encoder& enc) { enc.sync(4); });
    counted = channel->flush_counted();
  };
  replies.start(*channel);
  EXPECT_FALSE(channel->on_io_thread());
  channel->send_urgent([](proto::Encoder& enc) { enc.sync(1); });
  ASSERT_TRUE(replies.wait_for(4)) << replies.closed;
  EXPECT_TRUE(on_io);
  EXPECT_EQ(counted, 5u);  // Hello + 4 syncs
  EXPECT_EQ(replies.synced, (std::vector<std::uint64_t>{1, 2, 3, 4}));
}

TEST(Channel, TheDaemonsExitReachesTheCloseCallback) {
  DaemonProcess d;
  auto channel = open_channel(options_for(d));
  Replies replies;
  replies.start(*channel);
  d.stop();
  std::unique_lock<std::mutex> lock(replies.mu);
  ASSERT_TRUE(replies.cv.wait_for(lock, 60s,
                                  [&] { return !replies.closed.empty(); }));
  EXPECT_NE(replies.closed.find(d.socket()), std::string::npos)
      << replies.closed;
  lock.unlock();
  channel->send([](proto::Encoder& enc) { enc.sync(1); });  // goes nowhere
  channel->close();
  channel->close();
}

TEST(Channel, OpeningWhereNoDaemonListensNamesThePath) {
  DaemonProcess d;
  ChannelOptions o = options_for(d);
  o.path = d.dir() + "/absent.sock";
  try {
    open_channel(o);
    FAIL() << "opened a channel to nothing";
  } catch (const NoDaemonError& e) {
    EXPECT_NE(std::string(e.what()).find(o.path), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace bocd::client

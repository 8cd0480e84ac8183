// Helpers shared by the messaging integration tests (mail_test.cc,
// mail_stream_test.cc): clients of a test daemon, a worker client that
// holds its bodies running, receives answered within a guard.
#pragma once

#include <chrono>
#include <cinttypes>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "bocd/client/admin.h"
#include "bocd/client/client.h"
#include "daemon_process.h"

namespace bocd::testing::mail {

namespace fb = proto::fb;
using client::Access;
using client::Client;
using client::CownRef;
using client::Errc;
using client::Value;
using Mail = Client::Mail;
using std::chrono::milliseconds;

constexpr milliseconds GUARD{30000};  // a hung daemon, not timing
// Bound on status round trips spent waiting for the daemon to handle a
// disconnect (each is a round trip, not a sleep).
constexpr int MAX_POLLS = 200;

inline client::Options options(const DaemonProcess& d,
                               const char* program) {
  client::Options o;
  o.socket = d.socket();
  o.program = program;
  return o;
}

// A worker-role client in this process; its body runs pool behaviors.
inline client::Options worker_options(const DaemonProcess& d,
                                      client::Body body) {
  client::Options o = options(d, "worker");
  o.worker = std::move(body);
  return o;
}

// A pool behavior as a worker process's messaging names it: the program
// it belongs to and the daemon's id for it.
struct Running {
  std::uint64_t program = 0;
  std::uint64_t behavior = 0;
};

// A worker-role client in this process whose body holds each pool behavior
// running until the test lets it end. While one runs, any client of this
// process may use that program's queues by naming it, as a worker
// process's second connection does.
class HeldWorker {
 public:
  explicit HeldWorker(const DaemonProcess& d)
      : client_(worker_options(d, [this](Access& a) { hold(a); })) {}
  ~HeldWorker() { finish_all(); }  // before client_ goes

  Client& client() { return client_; }

  // The next pool behavior to start running here, in the order they came.
  Running next() {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, GUARD, [&] { return !started_.empty(); })) {
      ADD_FAILURE() << "no pool behavior started";
      return Running{};
    }
    Running r = started_.front();
    started_.pop_front();
    return r;
  }
  // Lets the body of `r` return (its behavior then completes).
  void finish(const Running& r) {
    std::lock_guard<std::mutex> lock(mu_);
    finished_.insert(r.behavior);
    cv_.notify_all();
  }
  // Lets every body return at once, now and later.
  void finish_all() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  void hold(Access& a) {
    Running me{a.session(), a.behavior()};
    std::unique_lock<std::mutex> lock(mu_);
    started_.push_back(me);
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_ || finished_.count(me.behavior) > 0; });
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Running> started_;
  std::set<std::uint64_t> finished_;
  bool open_ = false;
  Client client_;  // last: its bodies use the members above
};

inline const std::string NOT_ITS_BEHAVIOR =
    "a worker may use only the message queues of a program whose behavior "
    "it is running";

inline Value text(std::string data,
                  std::vector<std::uint64_t> refs = {}) {
  Value v;
  v.data = std::move(data);
  v.refs = std::move(refs);
  return v;
}

// The answer to receive `request`; got = false if none came within GUARD.
inline Mail answer(Client& c, std::uint64_t request) {
  std::optional<Mail> m = c.mail_wait(request, GUARD);
  if (!m) {
    ADD_FAILURE() << "no answer to receive " << request;
    return Mail{};
  }
  return *m;
}

// One poll (wait = false) of the caller's own `tags`, the request ended at
// once (a delivered message's lease released: these name no cowns).
inline Mail poll(Client& c, const std::vector<std::string>& tags) {
  std::uint64_t r = c.mail_receive(0, tags, false);
  Mail m = answer(c, r);
  c.mail_release(r, 0);
  return m;
}

// The data of the next message polled from `tag` ("(none)" if none).
inline std::string poll_data(Client& c, const std::string& tag) {
  Mail m = poll(c, {tag});
  if (!m.got) return "(none)";
  EXPECT_EQ(m.tag, tag);
  return m.value.data;
}

// Receive `request` is parked: a round trip on the same connection made
// after it has come back, and its answer (which would have come first) has
// not. Drain of no tags is such a round trip that changes nothing.
inline void expect_parked(Client& c, std::uint64_t request) {
  c.mail_drain(0, {});
  EXPECT_FALSE(c.mail_wait(request, milliseconds(0)).has_value())
      << "receive " << request << " was answered instead of parked";
}

// `call` throws client::Error with `code` and exactly the daemon's `words`.
template <class F>
void expect_refused(F&& call, Errc code, const std::string& words) {
  try {
    call();
    ADD_FAILURE() << "not refused; expected: " << words;
  } catch (const client::Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_EQ(e.text(), words);
  }
}

inline std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

inline std::uint64_t cowns_in(const DaemonProcess& d) {
  client::AdminClient admin(d.socket());
  return admin.status(GUARD).cowns;
}

// Polls status until `session` has gone and the daemon holds `cowns`
// cowns; false if that never happens within the bound.
inline bool gone_leaving(const DaemonProcess& d, std::uint64_t session,
                  std::uint64_t cowns) {
  client::AdminClient admin(d.socket());
  for (int i = 0; i < MAX_POLLS; ++i) {
    client::DaemonStatus s = admin.status(GUARD);
    bool listed = false;
    for (const auto& info : s.sessions) listed |= info.id == session;
    if (!listed && s.cowns == cowns) return true;
  }
  return false;
}

}  // namespace bocd::testing::mail

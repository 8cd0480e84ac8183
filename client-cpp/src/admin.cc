#include "bocd/client/admin.h"

#include <condition_variable>
#include <mutex>
#include <optional>

#include "bocd/proto/socket_path.h"
#include "channel.h"

namespace bocd::client {

namespace fb = proto::fb;

namespace {

const char* role_name(fb::Role r) {
  switch (r) {
    case fb::Role::Worker: return "worker";
    case fb::Role::Admin: return "admin";
    default: return "client";
  }
}

// A SessionInfo field as SessionStatus holds it.
std::string from_wire(fb::Role r) { return role_name(r); }
std::string from_wire(const flatbuffers::String* s) {
  return s != nullptr ? s->str() : "";
}
template <class T>
T from_wire(T scalar) {
  return scalar;
}

}  // namespace

struct AdminClient::State {
  std::mutex mu;
  std::condition_variable cv;
  // Each call sends a fresh request number and accepts only its reply, so
  // a late answer to a timed-out call is not taken for the next one's.
  std::uint64_t next_request = 1;
  std::uint64_t status_request = 0, quiesce_request = 0, stop_request = 0;
  std::optional<DaemonStatus> status;
  bool quiesced = false;
  bool stopping = false;
  std::string closed;  // why, once the daemon closed us
  std::string path;
  std::unique_ptr<Channel> channel;

  void on_frame(const fb::Envelope& env) {
    std::lock_guard<std::mutex> lock(mu);
    if (const fb::Status* s = env.message_as_Status()) {
      if (s->request() == status_request) status = decode(*s);
    } else if (const fb::Quiesced* q = env.message_as_Quiesced()) {
      if (q->request() == quiesce_request) quiesced = true;
    } else if (const fb::Stopping* st = env.message_as_Stopping()) {
      if (st->request() == stop_request) stopping = true;
    }
    cv.notify_all();
  }

  static DaemonStatus decode(const fb::Status& s) {
    DaemonStatus d{s.version() ? s.version()->str() : "", s.pid(),
                   s.uptime_ms(), s.workers(), s.cowns(), s.in_flight(),
                   s.behaviors_completed(), {}, s.queued(),
                   s.workers_problem() ? s.workers_problem()->str() : ""};
    if (s.sessions() != nullptr) {
      for (const fb::SessionInfo* i : *s.sessions()) {
        SessionStatus x;
#define BOCD_SESSION_FIELD(name, type) x.name = from_wire(i->name());
#include "bocd_session_fields.inc"
#undef BOCD_SESSION_FIELD
        d.sessions.push_back(std::move(x));
      }
    }
    return d;
  }

  template <class Pred>
  void await(std::chrono::milliseconds timeout, const char* what, Pred done) {
    std::unique_lock<std::mutex> lock(mu);
    bool ok = cv.wait_for(lock, timeout,
                          [&] { return done() || !closed.empty(); });
    if (!ok) {
      throw Timeout(std::string(what) + " timed out after " +
                    std::to_string(timeout.count()) + " ms");
    }
    if (!done()) throw ConnectionError(closed);
  }
};

AdminClient::AdminClient(const std::string& socket)
    : state_(std::make_unique<State>()) {
  ChannelOptions options;
  options.path = socket.empty() ? proto::default_socket_path() : socket;
  options.role = fb::Role::Admin;
  options.program = "bocd-admin";
  options.daemon_uid = daemon_uid_from_env();
  state_->path = options.path;
  state_->channel = open_channel(options);
  State* s = state_.get();
  s->channel->start([s](const fb::Envelope& e,
                        std::span<const std::uint8_t>) { s->on_frame(e); },
                    [s](const std::string& why) {
                      std::lock_guard<std::mutex> lock(s->mu);
                      s->closed = why;
                      s->cv.notify_all();
                    });
}

AdminClient::~AdminClient() { state_->channel->close(); }

const std::string& AdminClient::socket() const {
  return state_->path;
}

std::uint64_t AdminClient::begin(std::uint64_t State::*slot) {
  std::lock_guard<std::mutex> lock(state_->mu);
  std::uint64_t request = state_->next_request++;
  (*state_).*slot = request;
  state_->status.reset();
  state_->quiesced = false;
  return request;
}

DaemonStatus AdminClient::status(std::chrono::milliseconds timeout) {
  std::uint64_t r = begin(&State::status_request);
  state_->channel->send([r](proto::Encoder& e) { e.status_request(r); });
  state_->await(timeout, "status",
                [this] { return state_->status.has_value(); });
  std::lock_guard<std::mutex> lock(state_->mu);
  return *std::exchange(state_->status, std::nullopt);
}

void AdminClient::quiesce(std::chrono::milliseconds timeout) {
  std::uint64_t r = begin(&State::quiesce_request);
  state_->channel->send([r](proto::Encoder& e) { e.quiesce(r); });
  state_->await(timeout, "quiesce", [this] { return state_->quiesced; });
}

void AdminClient::stop(std::chrono::milliseconds timeout) {
  std::uint64_t r = begin(&State::stop_request);
  state_->channel->send([r](proto::Encoder& e) { e.stop(r); });
  // Stopping is the acknowledgement; the daemon is down when it closes us.
  state_->await(timeout, "stop", [this] {
    return state_->stopping && !state_->closed.empty();
  });
}

}  // namespace bocd::client

// Dispatcher: turns verified frames into scheduler commands and scheduler
// events into frames. One short handler per message; anything about cowns
// or behaviors is decided by the core, not here.
//
// Thread: the io_context thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "bocd/proto/codec.h"
#include "core/core.h"
#include "link.h"
#include "log_limit.h"
#include "upgrader.h"
#include "wire_values.h"
#include "worker_source.h"

namespace bocd::server {

// Facts about the daemon for Status replies, and its clock (injected).
struct DaemonInfo {
  std::string version;
  std::uint32_t workers = 0;
  std::uint32_t max_frame_bytes = proto::DEFAULT_MAX_FRAME_BYTES;
  std::uint32_t max_cowns_per_behavior = 1024;
  std::function<std::chrono::steady_clock::time_point()> now;
  std::chrono::steady_clock::time_point started;
  std::uint32_t notice_keys = 64;  // announced in Welcome
  std::uint64_t max_in_flight = 0;  // likewise (Limits' per session)
  // Why the worker pool cannot run behaviors now, or "" (Status).
  std::function<std::string()> workers_problem;
  // This daemon's blob instance (proto/blob_name.h): each session's blob
  // names start with "bocd-<instance>-<session>-".
  std::string blob_instance;
};

class Dispatcher final : public FrameHandler {
 public:
  Dispatcher(core::Scheduler& scheduler, DaemonInfo info);

  // Called when an admin asks the daemon to stop; the app shuts down.
  void on_stop_requested(std::function<void()> fn) { on_stop_ = std::move(fn); }
  // Who starts workers for programs (none: the daemon starts none).
  void set_worker_source(WorkerSource* source) { workers_ = source; }
  // Who moves a session that asks for it (Hello.ring) onto a faster link
  // after its Welcome (none: every session stays on its socket).
  void set_upgrader(Upgrader* upgrader) { upgrader_ = upgrader; }

  // A new peer: gives `link` its key; the caller then starts it.
  void on_open(std::shared_ptr<Link> link);
  // Makes `next` the link of the session whose link has key `key`, after
  // its handshake: `next` gets the key, and every later output of the
  // session goes to it. The link it replaces stays bound to the session:
  // what was queued on it still leaves on it, its frames still reach the
  // session, and its close ends the session like the new one's. When the
  // session ends, every link it had is closed. False (and `next` is left
  // alone) if no handshaken session has that key.
  bool replace_link(std::uint64_t key, std::shared_ptr<Link> next);
  void on_frame(Link& link, std::span<const std::uint8_t> body) override;
  void on_closed(Link& link, const std::string& reason) override;

  // Sends what the scheduler's events ask for (after a command the host
  // ran on the scheduler itself, outside any frame).
  void flush_events() { deliver_events(); }

  // Closes every peer once its queued output is written (daemon
  // shutdown).
  void close_all(const std::string& reason);
  // Peers connected, handshaken or not.
  std::size_t peer_count() const { return peers_.size(); }
  // Limits daemon-wide repeated lines (connections refused, closed before
  // their handshake).
  LogLimiter& log_limiter() { return log_limit_; }

 private:
  struct Peer {
    std::shared_ptr<Link> link;  // output goes here (replace_link)
    // Links replaced by a later one; still bound to the session.
    std::vector<std::shared_ptr<Link>> former;
    core::SessionId session;       // 0 until Hello
    core::Role role = core::Role::client;
    std::string program;
    // Frames handled for this session so far, the Hello included, by
    // whichever link they came: what Mail.after_frames counts.
    std::uint64_t frames_handled = 0;
    // A program's environment (Hello.env), for the workers started for it.
    std::shared_ptr<const ProgramEnvironment> env;
    // This peer's repeated warnings (one line per error it provokes).
    LogLimiter log_limit;
  };

  // A Mail op held until session `after` has had `frames` frames handled
  // (Mail.after_frames): the frame, copied 8-aligned.
  struct Deferred {
    core::SessionId after;
    std::uint64_t frames = 0;
    core::SessionId sender;
    std::size_t size = 0;
    std::vector<std::uint64_t> body;
  };
  const Deferred* last_deferred_of(const Peer& p) const;
  bool barrier_met(const proto::fb::Mail& m);
  void defer(Peer& p, const proto::fb::Mail& m, core::SessionId after,
             std::uint64_t frames);
  // Handles what waited for `after` (all of it when `all`: it closed).
  void run_deferred(core::SessionId after, bool all);
  // Drops what `sender`'s session had waiting (it closed).
  void drop_deferred_of(const Peer& sender);

  // Gives the scheduler the time before a command (for its statistics).
  void tick();
  void handle(Peer& p, const proto::fb::Envelope& env);
  void hello(Peer& p, const proto::fb::Hello& m);
  void create_cown(Peer& p, const proto::fb::CreateCown& m);
  void drop_cown(Peer& p, const proto::fb::DropCown& m);
  void hold_cown(Peer& p, const proto::fb::HoldCown& m);
  void output(Peer& p, const proto::fb::Output& m);
  void unlink_unnamed(const std::vector<std::string>& blobs);
  // Which blob names `p` may send (wire_values.h).
  BlobCheck blob_check(const Peer& p) const;
  // Removes the blobs closed session `p` made and never named.
  void sweep_unnamed(const Peer& p);
  void refuse_completion(Peer& p, core::BehaviorId behavior, core::Errc code,
                         const std::string& why);
  void submit(Peer& p, const proto::fb::Submit& m);
  void complete(Peer& p, const proto::fb::Complete& m);
  void quiesce(Peer& p, const proto::fb::Quiesce& m);
  void sync(Peer& p, const proto::fb::Sync& m);
  void blocked(Peer& p, const proto::fb::Blocked& m);
  void status(Peer& p, const proto::fb::StatusRequest& m);
  void stop(Peer& p, const proto::fb::Stop& m);
  void mail(Peer& p, const proto::fb::Mail& m);
  void mail_now(Peer& p, const proto::fb::Mail& m);
  void mail_send(Peer& p, const proto::fb::Mail& m);
  void mail_board(Peer& p, const proto::fb::Mail& m);
  void mail_reply(Peer& p, const proto::fb::Mail& m, const core::Status& st);
  void send_mail(const core::MailEvent& e);
  void send_unhandled(const core::UnhandledEvent& u);
  void spawn_worker(core::SessionId program, bool bridge);
  void retire_worker(core::SessionId worker);
  // The session options a Hello asks for, or why it is refused.
  std::optional<core::SessionOptions> session_options(
      Peer& p, const proto::fb::Hello& m, std::string& why);

  void deliver_events();
  void send_dispatch(Peer& to, core::BehaviorId behavior);
  void send_error(Peer& p, core::Errc code, const std::string& message,
                  std::uint64_t tag = 0, std::uint64_t request = 0);
  proto::Encoder& encoder_for(Peer& p);
  Peer* peer_of(core::SessionId session);

  core::Scheduler& scheduler_;
  DaemonInfo info_;
  LogLimiter log_limit_;
  std::function<void()> on_stop_;
  WorkerSource* workers_ = nullptr;
  Upgrader* upgrader_ = nullptr;
  std::uint64_t next_key_ = 1;
  // By key (Link::key); element pointers are stable, so by_session_
  // points into it.
  std::unordered_map<std::uint64_t, Peer> peers_;
  std::unordered_map<core::SessionId, Peer*> by_session_;
  std::vector<std::uint8_t> scratch_;
  proto::Encoder encoder_{scratch_};
  core::DispatchView view_;
  std::vector<proto::CownValueRef> values_;
  std::vector<std::uint64_t> ref_ids_;  // values_'s embedded ids
  std::vector<proto::ValueRef> lent_;    // send_mail's lent values
  std::vector<core::CownId> ids_;       // a HoldCown's ids
  std::vector<std::uint64_t> forget_ids_;  // a Dispatch's forget
  std::vector<core::CownId> dropped_;      // a Complete's dropped
  std::string payload_;  // a Dispatch's payload without its kept code
  std::vector<std::string> names_;      // a Mail's tags
  std::vector<core::CownUpdate> updates_;
  core::SubmitRequest submit_;       // reused: keeps its buffers
  std::vector<core::Event> events_;  // swapped with the scheduler's
  std::vector<Deferred> deferred_;
  std::span<const std::uint8_t> frame_;  // the frame being handled
};

}  // namespace bocd::server

// Server: the daemon's socket edge. Listens on a UNIX stream socket,
// admits peers by SO_PEERCRED as Connections (socket Links), and runs one
// Dispatcher over the Scheduler it is lent, all on the io_context thread
// it is given: the core is single-threaded (docs/architecture.md, Layers).
//
// Socket file rules: the parent directory is created 0700 if missing, and
// refused if another user owns it or others may write to it
// (socket_dir.h); the socket is 0600. With a trusted group, both are
// opened to it (directory 0750, socket 0660). A socket file left by a dead
// daemon is replaced; a live daemon on the path is an error
// (DaemonRunning).
//
// Exhaustion: past max_connections, or out of file descriptors, a new
// connection is sent one Error (TooManyConnections) and closed; out of
// descriptors, accepting pauses (growing to a second) rather than spin.
// A spare descriptor is kept so the refused peer is told, not left
// waiting. Handshakes must complete within handshake_timeout, and the
// large frames being received share max_receive_bytes.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

// Boost 1.74's asio/awaitable.hpp uses std::exchange without <utility>.
#include <utility>

#include <boost/asio.hpp>

#include "connection.h"
#include "core/core.h"
#include "dispatcher.h"
#include "ring_transport.h"

namespace bocd::server {

struct ServerConfig {
  std::string socket_path;
  // Members may connect, and so run code as the daemon's user.
  std::optional<gid_t> trust_gid;
  std::uint32_t max_frame_bytes = proto::DEFAULT_MAX_FRAME_BYTES;
  std::uint32_t notice_keys = 64;  // noticeboard keys per program
  // A peer whose unread output exceeds this is disconnected.
  std::size_t max_queued_bytes = std::size_t{1} << 30;
  std::size_t max_connections = 0;  // connections held at once; 0: no cap
  std::chrono::milliseconds handshake_timeout{5000};  // zero: none
  // Bytes of large frames being received at once, across connections.
  std::size_t max_receive_bytes = std::size_t{256} << 20;
  core::Limits limits;
  std::string version;
  std::uint32_t workers = 0;
  // Log a program whose pinned work has waited this long (the watchdog of
  // docs/protocol.md, Pinned cowns); zero disables.
  std::chrono::milliseconds pump_warn{1000};
  // Why the worker pool cannot run behaviors now, or "" when it can or
  // may soon (workers starting): behaviors waiting that long for a worker
  // while it says why fail with that reason (Scheduler::fail_unserved).
  std::function<std::string()> workers_problem;
  std::chrono::milliseconds unserved_grace{1000};
  // Workers started for programs retire after running nothing this long.
  std::chrono::milliseconds worker_idle{60000};
  // Bytes per shared-memory ring of a session that asks for one (0: none),
  // how long an idle ring is watched before the daemon parks, and how
  // long a session's IO thread watches its own (RingConfig).
  std::uint64_t ring_bytes = 256 * 1024;
  std::chrono::microseconds spin{0};
  std::chrono::microseconds peer_spin{0};
  // The daemon's blob instance id (shm::InstanceLock, held by the app).
  std::string blob_instance;
};

// Another daemon answers on the socket path.
struct DaemonRunning : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Server {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // `scheduler` (made with config.limits) and `watchdog` (with
  // config.pump_warn) belong to the caller and must outlive the server.
  Server(boost::asio::io_context& io, ServerConfig config, Clock now,
         core::Scheduler& scheduler, core::PumpWatchdog& watchdog);
  ~Server();

  // Binds and starts accepting. Throws DaemonRunning, std::runtime_error
  // naming an unsafe directory (owner, mode), or std::system_error naming
  // the path when the socket cannot be set up.
  void listen();
  // Starts accepting on `fd`, an already-listening UNIX stream socket that
  // another process bound (socket activation), instead of binding. Takes
  // the fd; its path becomes socket_path() and is left in place on stop.
  // Throws std::system_error saying what is wrong with the fd.
  void adopt(int fd);
  // Stops accepting and removes the socket file it created. Idempotent.
  void stop_listening();
  // Closes every session after flushing what it was sent (their queued
  // behaviors are cancelled).
  void close_sessions(const std::string& reason);

  void on_stop_requested(std::function<void()> fn);
  // Who starts workers for programs; it must outlive the server.
  void set_worker_source(WorkerSource* source) {
    dispatcher_.set_worker_source(source);
  }
  // A worker asked for `program` could not be started, or died before it
  // connected: `why` (its own words, if any).
  void worker_failed(core::SessionId program, std::string why,
                     bool bridge = false);
  std::size_t connection_count() const { return dispatcher_.peer_count(); }
  const std::string& socket_path() const { return config_.socket_path; }

 private:
  void accept();
  void admit(boost::asio::local::stream_protocol::socket socket);
  // Out of descriptors: accepts one pending peer with the spare one and
  // refuses it. False if there was no spare or no peer.
  bool refuse_with_spare();
  void pause_accepting();
  void prepare_path();
  void open_to_group();
  void housekeeping();
  void check_pinned_work();
  void check_unserved();

  boost::asio::io_context& io_;
  ServerConfig config_;
  core::Scheduler& scheduler_;
  // Before the dispatcher: the connections it holds refer to it.
  ReceiveBudget receive_budget_;
  Dispatcher dispatcher_;
  // After the dispatcher: the ring links it holds refer to it.
  std::optional<RingTransport> rings_;
  std::optional<boost::asio::local::stream_protocol::acceptor> acceptor_;
  Clock now_;
  core::PumpWatchdog& watchdog_;
  boost::asio::steady_timer housekeeping_timer_;
  bool owns_path_ = true;  // false for an adopted socket
  boost::asio::steady_timer accept_timer_;
  std::chrono::milliseconds accept_backoff_{0};
  int spare_fd_ = -1;
};

}  // namespace bocd::server

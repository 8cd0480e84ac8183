#include "server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "log.h"

namespace bocd::server {

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

Server::Server(asio::io_context& io, ServerConfig config, Clock now)
    : io_(io),
      config_(std::move(config)),
      scheduler_(config_.limits),
      dispatcher_(scheduler_,
                  DaemonInfo{config_.version, config_.workers,
                             config_.max_frame_bytes,
                             config_.limits.max_cowns_per_behavior, now,
                             now(), config_.notice_keys,
                             config_.limits.max_in_flight_per_session,
                             config_.workers_problem}),
      now_(now),
      watchdog_(config_.pump_warn.count()),
      housekeeping_timer_(io) {}

Server::~Server() { stop_listening(); }

void Server::on_stop_requested(std::function<void()> fn) {
  dispatcher_.on_stop_requested(std::move(fn));
}

void Server::prepare_path() {
  namespace fs = std::filesystem;
  fs::path path(config_.socket_path);
  fs::path dir = path.parent_path();
  if (!dir.empty() && !fs::exists(dir)) {
    fs::create_directories(dir);
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace);
  }
  if (!fs::exists(fs::symlink_status(path))) return;
  if (!fs::is_socket(fs::symlink_status(path))) {
    throw std::system_error(
        std::make_error_code(std::errc::file_exists),
        config_.socket_path + " exists and is not a socket");
  }
  stream::socket probe(io_);
  boost::system::error_code ec;
  probe.connect(stream::endpoint(config_.socket_path), ec);
  if (!ec) {
    throw DaemonRunning("a bocd daemon is already serving on " +
                        config_.socket_path);
  }
  log().info("replacing stale socket {} ({})", config_.socket_path,
             ec.message());
  fs::remove(path);
}

void Server::listen() {
  prepare_path();
  acceptor_.emplace(io_);
  stream::endpoint ep(config_.socket_path);
  acceptor_->open(ep.protocol());
  // Created 0600 from the start: no window in which others may connect.
  mode_t old = ::umask(0177);
  boost::system::error_code ec;
  acceptor_->bind(ep, ec);
  ::umask(old);
  if (ec) {
    throw std::system_error(ec, "cannot bind " + config_.socket_path);
  }
  acceptor_->listen(asio::socket_base::max_listen_connections);
  log().info("listening on {}", config_.socket_path);
  accept();
  housekeeping();
}

void Server::housekeeping() {
  // A few times per threshold: a pump alert comes at most a quarter of it
  // late, work no worker will run fails at most 250 ms after its grace,
  // and an idle daemon wakes at most 4 times a second.
  auto period = std::chrono::milliseconds(250);
  if (watchdog_.enabled()) {
    period = std::clamp(config_.pump_warn / 4, std::chrono::milliseconds(10),
                        period);
  }
  housekeeping_timer_.expires_after(period);
  housekeeping_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || !acceptor_) return;
    if (watchdog_.enabled()) check_pinned_work();
    check_unserved();
    housekeeping();
  });
}

void Server::worker_failed(core::SessionId program, std::string why) {
  log().warn("session {}: a worker could not be started for it: {}",
             program.value, why);
  scheduler_.set_time(std::chrono::duration_cast<std::chrono::microseconds>(
                          now_().time_since_epoch())
                          .count());
  scheduler_.worker_failed(program, std::move(why));
  dispatcher_.flush_events();
}

void Server::check_unserved() {
  std::string why = config_.workers_problem ? config_.workers_problem() : "";
  scheduler_.set_time(std::chrono::duration_cast<std::chrono::microseconds>(
                          now_().time_since_epoch())
                          .count());
  std::size_t failed = scheduler_.fail_unserved(
      std::chrono::duration_cast<std::chrono::microseconds>(
          config_.unserved_grace)
          .count(),
      why);
  std::size_t retired = scheduler_.retire_idle_workers(
      std::chrono::duration_cast<std::chrono::microseconds>(
          config_.worker_idle)
          .count());
  if (failed > 0) {
    log().warn("{} behavior(s) failed: no worker can run them{}{}", failed,
               why.empty() ? "" : ": ", why);
  }
  if (failed > 0 || retired > 0) dispatcher_.flush_events();
}

void Server::check_pinned_work() {
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    now_().time_since_epoch())
                    .count();
  std::vector<core::PumpAlert> alerts =
      watchdog_.check(now_ms, scheduler_.pinned_queues());
  if (alerts.empty()) return;
  std::vector<core::SessionSummary> sessions = scheduler_.sessions();
  for (const core::PumpAlert& a : alerts) {
    auto s = std::find_if(sessions.begin(), sessions.end(),
                          [&](const auto& x) { return x.id == a.session; });
    if (s == sessions.end()) continue;
    // Counted from the last pinned completion: a body still running in
    // pump() counts as waiting.
    log_event(spdlog::level::warn,
              "session {session} (pid {pid}, program '{program}') has left "
              "pinned work waiting for {age_ms} ms with none completed "
              "(depth={depth})",
              fmt::arg("session", s->id.value), fmt::arg("pid", s->pid),
              fmt::arg("program", s->program), fmt::arg("age_ms", a.age_ms),
              fmt::arg("depth", a.depth));
  }
}

void Server::accept() {
  acceptor_->async_accept([this](const boost::system::error_code& ec,
                                 stream::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_) return;
    if (!ec) {
      auto peer = peer_credentials(socket.native_handle());
      if (!peer || !peer_allowed(*peer, ::geteuid(), config_.allow_gid)) {
        log().warn("refused connection from pid {} uid {}: not the daemon's "
                   "user nor in its allowed group",
                   peer ? peer->pid : -1, peer ? int(peer->uid) : -1);
      } else {
        dispatcher_.on_open(std::make_shared<Connection>(
            std::move(socket), dispatcher_, *peer, config_.max_frame_bytes,
            config_.max_queued_bytes));
      }
    } else {
      log().warn("accept failed: {}", ec.message());
    }
    accept();
  });
}

void Server::stop_listening() {
  if (!acceptor_) return;
  boost::system::error_code ignored;
  acceptor_->close(ignored);
  acceptor_.reset();
  housekeeping_timer_.cancel();
  std::error_code fs_ec;
  std::filesystem::remove(config_.socket_path, fs_ec);
  log().info("stopped listening on {}", config_.socket_path);
}

void Server::close_sessions(const std::string& reason) {
  dispatcher_.close_all(reason);
}

}  // namespace bocd::server

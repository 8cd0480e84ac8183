#include "server.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "bocd/proto/codec.h"
#include "log.h"
#include "socket_dir.h"

namespace bocd::server {

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

namespace {

// Tells a peer why it is turned away: one Error frame, sent without
// waiting (a new socket's buffer is empty, so it fits), then the caller
// closes. The peer reads it before it sees the connection end.
void refuse(int fd, const std::string& why) {
  std::vector<std::uint8_t> out;
  proto::Encoder(out).error(proto::fb::ErrorCode::TooManyConnections, why, 0,
                            0);
  (void)::send(fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

int open_spare() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }

std::string fd_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return "?";
  return std::to_string(r.rlim_cur);
}

}  // namespace

Server::Server(asio::io_context& io, ServerConfig config, Clock now,
               core::Scheduler& scheduler, core::PumpWatchdog& watchdog)
    : io_(io),
      config_(std::move(config)),
      scheduler_(scheduler),
      receive_budget_(config_.max_receive_bytes),
      dispatcher_(scheduler_,
                  DaemonInfo{config_.version, config_.workers,
                             config_.max_frame_bytes,
                             config_.limits.max_cowns_per_behavior, now,
                             now(), config_.notice_keys,
                             config_.limits.max_in_flight_per_session,
                             config_.workers_problem,
                             config_.blob_instance}),
      now_(now),
      watchdog_(watchdog),
      housekeeping_timer_(io),
      accept_timer_(io) {
  if (config_.ring_bytes > 0) {
    rings_.emplace(io_, dispatcher_,
                   RingConfig{config_.ring_bytes, config_.spin, config_.peer_spin,
                              RingLimits{config_.max_frame_bytes,
                                         config_.max_queued_bytes}},
                   receive_budget_, now_);
    dispatcher_.set_upgrader(&*rings_);
  }
}

Server::~Server() { stop_listening(); }

void Server::on_stop_requested(std::function<void()> fn) {
  dispatcher_.on_stop_requested(std::move(fn));
}

void Server::prepare_path() {
  namespace fs = std::filesystem;
  fs::path path(config_.socket_path);
  make_socket_dir(path.parent_path().string(), config_.trust_gid);
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
  if (config_.trust_gid) open_to_group();
  acceptor_->listen(asio::socket_base::max_listen_connections);
  log().info("listening on {} (connections up to {}, descriptor limit {})",
             config_.socket_path,
             config_.max_connections > 0
                 ? std::to_string(config_.max_connections)
                 : std::string("any"),
             fd_limit());
  spare_fd_ = open_spare();
  accept();
  housekeeping();
}

// 0600 until it has the group, so no one else is let in meanwhile.
void Server::open_to_group() {
  const char* path = config_.socket_path.c_str();
  if (::chown(path, static_cast<uid_t>(-1), *config_.trust_gid) != 0 ||
      ::chmod(path, 0660) != 0) {
    throw std::system_error(errno, std::generic_category(),
                            "cannot give " + config_.socket_path +
                                " to group " +
                                std::to_string(*config_.trust_gid));
  }
}

void Server::adopt(int fd) {
  std::string what =
      "fd " + std::to_string(fd) + " passed by the service manager";
  int domain = 0, type = 0, listening = 0;
  socklen_t len = sizeof(int);
  if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 ||
      ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
      ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0) {
    throw std::system_error(errno, std::generic_category(),
                            what + " is not a socket");
  }
  if (domain != AF_UNIX || type != SOCK_STREAM || !listening) {
    throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                            what + " is not a listening UNIX stream socket");
  }
  sockaddr_un addr{};
  socklen_t addr_len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &addr_len);
  // Workers and programs find the daemon by path.
  if (addr_len <= offsetof(sockaddr_un, sun_path) || addr.sun_path[0] == '\0') {
    throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                            what + " has no file path (abstract or unnamed)");
  }
  config_.socket_path.assign(
      addr.sun_path,
      ::strnlen(addr.sun_path, addr_len - offsetof(sockaddr_un, sun_path)));
  owns_path_ = false;
  acceptor_.emplace(io_);
  acceptor_->assign(stream(), fd);
  log().info("listening on {} ({})", config_.socket_path, what);
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
    log_suppressed(dispatcher_.log_limiter(), false, "daemon");
    housekeeping();
  });
}

void Server::worker_failed(core::SessionId program, std::string why,
                           bool bridge) {
  log().warn("session {}: {} could not be started for it: {}", program.value,
             bridge ? "an executor bridge" : "a worker", why);
  scheduler_.set_time(std::chrono::duration_cast<std::chrono::microseconds>(
                          now_().time_since_epoch())
                          .count());
  scheduler_.worker_failed(program, std::move(why), bridge);
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
  // A bridge that died is started again once its back-off has passed.
  retired += scheduler_.ask_for_lost_bridges();
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
      accept_backoff_ = std::chrono::milliseconds(0);
      admit(std::move(socket));
      accept();
      return;
    }
    bool out_of_fds = ec == asio::error::no_descriptors ||
                      ec == boost::system::errc::too_many_files_open_in_system;
    log_limited(dispatcher_.log_limiter(), "accept failed",
                spdlog::level::warn,
                "accept failed: " + ec.message() +
                    (out_of_fds ? " (descriptor limit " + fd_limit() +
                                      "); refusing new connections"
                                : std::string()));
    // Retrying at once would spin: the listening socket stays readable.
    // With the spare descriptor a waiting peer is told and the next one
    // may be accepted; without it, wait.
    if (out_of_fds && refuse_with_spare()) {
      accept();
    } else {
      pause_accepting();
    }
  });
}

bool Server::refuse_with_spare() {
  if (spare_fd_ < 0) spare_fd_ = open_spare();
  if (spare_fd_ < 0) return false;
  ::close(spare_fd_);
  spare_fd_ = -1;
  int fd = ::accept4(acceptor_->native_handle(), nullptr, nullptr,
                     SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd >= 0) {
    refuse(fd, "the bocd daemon is out of file descriptors (limit " +
                   fd_limit() + "); try again later");
    ::close(fd);
  }
  spare_fd_ = open_spare();
  return fd >= 0 && spare_fd_ >= 0;
}

void Server::pause_accepting() {
  accept_backoff_ = std::clamp(accept_backoff_ * 2,
                               std::chrono::milliseconds(10),
                               std::chrono::milliseconds(1000));
  accept_timer_.expires_after(accept_backoff_);
  accept_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || !acceptor_) return;
    accept();
  });
}

void Server::admit(stream::socket socket) {
  auto peer = peer_credentials(socket.native_handle());
  if (!peer || !peer_allowed(*peer, ::geteuid(), config_.trust_gid)) {
    log_limited(dispatcher_.log_limiter(), "connection not allowed",
                spdlog::level::warn,
                fmt::format("refused connection from pid {} uid {}: not the "
                            "daemon's user nor in its trusted group",
                            peer ? peer->pid : -1,
                            peer ? int(peer->uid) : -1));
    return;
  }
  if (config_.max_connections > 0 &&
      dispatcher_.peer_count() >= config_.max_connections) {
    std::string n = std::to_string(config_.max_connections);
    refuse(socket.native_handle(),
           "the bocd daemon has too many connections (" + n +
               ", its --max-connections); try again later");
    log_limited(dispatcher_.log_limiter(), "connection limit",
                spdlog::level::warn,
                fmt::format("refused connection from pid {}: the daemon "
                            "holds its limit of {} connections",
                            peer->pid, n));
    return;  // closed as `socket` goes
  }
  auto c = std::make_shared<Connection>(
      std::move(socket), dispatcher_, *peer,
      ConnectionLimits{config_.max_frame_bytes, config_.max_queued_bytes,
                       config_.handshake_timeout},
      receive_budget_);
  dispatcher_.on_open(c);
  c->start();
}

void Server::stop_listening() {
  if (!acceptor_) return;
  boost::system::error_code ignored;
  acceptor_->close(ignored);
  acceptor_.reset();
  housekeeping_timer_.cancel();
  accept_timer_.cancel();
  if (spare_fd_ >= 0) ::close(spare_fd_);
  spare_fd_ = -1;
  std::error_code fs_ec;
  if (owns_path_) std::filesystem::remove(config_.socket_path, fs_ec);
  log().info("stopped listening on {}", config_.socket_path);
}

void Server::close_sessions(const std::string& reason) {
  dispatcher_.close_all(reason);
}

}  // namespace bocd::server

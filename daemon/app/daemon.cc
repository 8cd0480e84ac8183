#include "daemon.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "bocd/proto/os_random.h"
#include "bocd/proto/socket_dir.h"
#include "bocd/proto/socket_path.h"
#include "exit_codes.h"
#include "logging.h"
#include "ray_probe.h"
#include "server/socket_dir.h"
#include "shm/blobs.h"
#include "shm/sweep.h"

namespace bocd::app {

namespace asio = boost::asio;

namespace {

spdlog::logger& log() { return *spdlog::get("app"); }

std::optional<gid_t> resolve_group(const std::string& name) {
  if (name.empty()) return std::nullopt;
  group* g = ::getgrnam(name.c_str());
  if (g == nullptr) {
    throw std::runtime_error("--trust-group: no group named '" + name + "'");
  }
  return g->gr_gid;
}

// Connections the daemon may hold: its descriptor limit less room for
// its own files (log, epoll, timers, the spare descriptor) and the pipes
// of the worker processes it starts.
std::size_t default_max_connections(std::size_t worker_processes) {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur == RLIM_INFINITY) {
    return 0;
  }
  std::size_t room = 32 + 2 * worker_processes;
  return r.rlim_cur > room + 16 ? r.rlim_cur - room : 16;
}

// --nofile: false (and why, on stderr) if the limit cannot be set.
bool set_nofile(unsigned n) {
  rlimit r{};
  ::getrlimit(RLIMIT_NOFILE, &r);
  r.rlim_cur = n;
  if (r.rlim_max != RLIM_INFINITY && r.rlim_max < n) r.rlim_max = n;
  if (::setrlimit(RLIMIT_NOFILE, &r) != 0) {
    std::fprintf(stderr, "bocd: --nofile %u: cannot set the file descriptor "
                 "limit: %s\n", n, std::strerror(errno));
    return false;
  }
  return true;
}

server::ServerConfig server_config(const ServeOptions& o,
                                   unsigned bridge_slots) {
  server::ServerConfig c;
  c.socket_path = o.socket.empty() ? proto::default_socket_path() : o.socket;
  c.trust_gid = resolve_group(o.trust_group);
  c.max_frame_bytes = o.max_frame_bytes;
  c.notice_keys = o.max_notice_keys;
  c.limits.max_cowns_per_behavior = o.max_cowns_per_behavior;
  c.limits.max_dispatch_bytes = o.max_frame_bytes;
  c.limits.worker_pipeline = o.worker_pipeline;
  c.limits.pipeline_below_us = o.pipeline_below_us;
  c.limits.chain_depth = o.chain_depth;
  c.limits.mail = core::MailLimits{o.max_tags, o.max_messages};
  // Unguessable cown ids (docs/protocol.md, Handshake): the core has no
  // I/O, so the OS's cryptographic source is injected.
  c.limits.random = proto::os_random64;
  c.version = BOCD_VERSION;
  c.workers = o.workers;
  c.limits.max_busy_workers = o.workers;
  c.limits.max_in_flight_per_session = o.max_in_flight;
  c.limits.max_program_bytes = o.max_program_bytes;
  c.limits.max_worker_processes =
      o.workers == 0 ? 0
                     : std::max(o.workers, o.max_worker_processes != 0
                                               ? o.max_worker_processes
                                               : 2 * o.workers);
  c.worker_idle = std::chrono::milliseconds(
      static_cast<long long>(o.worker_idle_s * 1000));
  c.pump_warn = std::chrono::milliseconds(o.pump_warn_ms);
  c.max_connections =
      o.max_connections != 0
          ? o.max_connections
          : default_max_connections(c.limits.max_worker_processes);
  c.handshake_timeout = std::chrono::milliseconds(o.handshake_timeout_ms);
  c.max_receive_bytes = o.max_receive_bytes;
  c.ring_bytes = o.ring_bytes;
  c.spin = std::chrono::microseconds(o.spin_us);
  c.peer_spin = std::chrono::microseconds(o.peer_spin_us);
  c.limits.bridge_slots = bridge_slots;
  return c;
}

// The places of each program's executor bridge: 0 without --executor ray.
// An unreachable cluster stops the daemon when nothing else would run
// behaviors; beside local workers, bridges keep trying (with back-off).
unsigned plan_bridges(const ServeOptions& o) {
  if (o.executor != "ray") return 0;
  std::string where = o.ray_address.empty() ? "a local Ray" : o.ray_address;
  RayProbe probe = probe_ray(o.python, o.ray_address, std::chrono::seconds(120));
  if (!probe.ok && o.workers == 0) {
    throw std::runtime_error("--executor ray: the Ray cluster at " + where +
                             " is unreachable: " + probe.error);
  }
  unsigned slots = o.executor_slots != 0 ? o.executor_slots
                                         : std::max(1u, probe.cpus);
  if (probe.ok) {
    log().info("executor ray: cluster at {} has {} CPU(s); each program's "
               "bridge runs up to {} behavior(s) at once", where, probe.cpus,
               slots);
  } else {
    log().warn("executor ray: the Ray cluster at {} is unreachable ({}); "
               "local workers serve until a bridge connects", where,
               probe.error);
  }
  return slots;
}

}  // namespace

Daemon::Daemon(const ServeOptions& options)
    : options_(options),
      bridge_slots_(plan_bridges(options)),
      config_(server_config(options, bridge_slots_)),
      scheduler_(config_.limits),
      watchdog_(config_.pump_warn.count()),
      notifier_(Notifier::from_environment()) {
  config_.blob_instance = instance_.id();
  config_.workers_problem = [this]() -> std::string {
    if (options_.workers == 0) {
      return "the daemon starts no worker processes (bocd serve --workers "
             "0), and no worker has connected";
    }
    return workers_ ? workers_->problem() : "";
  };
  server_ = std::make_unique<server::Server>(
      io_, config_, [] { return std::chrono::steady_clock::now(); },
      scheduler_, watchdog_);
  server_->on_stop_requested([this] { begin_stop("stop requested by admin"); });
}

Daemon::~Daemon() = default;

void Daemon::listen() {
  try {
    if (std::optional<ListenFd> passed = take_listen_fd()) {
      server_->adopt(passed->fd);
      if (!options_.socket.empty() && options_.socket != socket_path()) {
        log().warn("--socket {} ignored: serving on {}, the socket '{}' the "
                   "service manager passed", options_.socket, socket_path(),
                   passed->name);
      }
    } else {
      server_->listen();
    }
  } catch (const std::exception& e) {
    // `systemctl status` shows it beside the exit status.
    notifier_.notify(std::string("STATUS=cannot serve: ") + e.what());
    throw;
  }
  // After listen: a daemon refused because another serves the socket
  // has no business here. Only dead instances are touched, so a live
  // daemon on another socket keeps its blobs. Before "serving on" and
  // READY=1: those mean the sweep is done.
  shm::Swept s = shm::sweep_dead(instance_.id());
  if (s.instances > 0) {
    log().info("reclaimed {} shared-memory blob(s) ({} bytes) of {} dead "
               "daemon instance(s)",
               s.blobs, s.bytes, s.instances);
  }
  notifier_.notify("READY=1");
  log().info("bocd {} serving on {} (pid {}, workers {}, blob instance {})",
             BOCD_VERSION, socket_path(), ::getpid(), options_.workers,
             instance_.id());
  if (!options_.trust_group.empty()) {
    log().warn("--trust-group {}: members of group {} may connect and run "
               "code as {}", options_.trust_group, options_.trust_group,
               proto::describe_uid(::geteuid()));
  }
}

int Daemon::run() {
  // Started here, not in listen(): a detaching daemon has pointed its
  // stdio at /dev/null by now, and workers inherit stdin.
  if (options_.workers > 0 || bridge_slots_ > 0) {
    WorkerSpec spec{options_.python, socket_path(), options_.stall_ms, {}};
    if (bridge_slots_ > 0) {
      spec.bridge_env = {{"BOCD_EXECUTOR", options_.executor},
                         {"BOCD_RAY_ADDRESS", options_.ray_address},
                         {"BOCD_EXECUTOR_SLOTS", std::to_string(bridge_slots_)}};
    }
    workers_ = std::make_unique<WorkerProvisioner>(io_, std::move(spec),
                                                   *server_);
    server_->set_worker_source(workers_.get());
  }
  watch_signals();
  report_status();
  keep_alive();
  io_.run();
  // No shared-memory object outlives the daemon: blobs still named by a
  // cown (one a cycle of references kept, say) go now.
  // Everything named for this instance goes: blobs of sessions still open
  // are no one's once the daemon stops.
  shm::Swept left = shm::sweep_instance(instance_.id());
  if (left.blobs > 0) {
    log().info("removed {} shared-memory blob(s) ({} bytes)", left.blobs,
               left.bytes);
  }
  log().info("bocd stopped");
  return EXIT_OK;
}

void Daemon::report_status() {
  if (stopping_ || !notifier_.enabled()) return;
  std::size_t programs = 0, workers = 0;
  for (const core::SessionSummary& s : scheduler_.sessions()) {
    programs += s.role == core::Role::client ? 1 : 0;
    workers += s.role == core::Role::worker ? 1 : 0;
  }
  auto count = [](std::size_t n, const char* what) {
    return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
  };
  std::string status = "STATUS=serving " + count(programs, "program") +
                       ", " + count(workers, "worker");
  if (status != last_status_) notifier_.notify(status);
  last_status_ = std::move(status);
  // A modest rate: `systemctl status` is read by people, not polled.
  status_timer_.expires_after(std::chrono::seconds(5));
  status_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) report_status();
  });
}

void Daemon::keep_alive() {
  std::optional<std::chrono::microseconds> period =
      notifier_.watchdog_period();
  if (!period) return;
  // Sent from the event loop, so a wedged loop stops the keep-alives and
  // the service manager restarts the daemon: that is the point.
  notifier_.notify("WATCHDOG=1");
  watchdog_timer_.expires_after(*period);
  watchdog_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) keep_alive();
  });
}

void Daemon::watch_signals() {
  stop_signals_.async_wait([this](const boost::system::error_code& ec,
                                  int sig) {
    if (ec) return;
    begin_stop(sig == SIGTERM ? "SIGTERM" : "SIGINT");
    // A second signal while draining stops at once.
    stop_signals_.async_wait([this](const boost::system::error_code& ec2,
                                    int) {
      if (!ec2) drain_deadline_ = std::chrono::steady_clock::now();
    });
  });
  watch_hup();
}

void Daemon::watch_hup() {
  hup_signal_.async_wait([this](const boost::system::error_code& ec, int) {
    if (ec) return;
    reopen_log_file();
    watch_hup();
  });
}

void Daemon::begin_stop(const char* why) {
  if (stopping_) return;
  stopping_ = true;
  log().info("stopping ({}): {} behaviors in flight", why,
             scheduler_.in_flight());
  status_timer_.cancel();
  notifier_.notify("STOPPING=1\nSTATUS=stopping (" + std::string(why) +
                   "): letting " +
                   std::to_string(scheduler_.in_flight()) +
                   " behaviors in flight finish");
  server_->stop_listening();
  scheduler_.close_terminators();

  drain_deadline_ = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(
                        static_cast<long>(options_.stop_timeout_s * 1000));
  poll_drain();
}

void Daemon::poll_drain() {
  bool drained = scheduler_.in_flight() == 0;
  if (!drained && std::chrono::steady_clock::now() < drain_deadline_) {
    // Polled, not evented: the stop path is rare and 10 ms is well inside
    // any stop timeout.
    drain_timer_.expires_after(std::chrono::milliseconds(10));
    drain_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) poll_drain();
    });
    return;
  }
  if (!drained) {
    log().warn("stop timeout: {} behaviors still in flight are cancelled",
               scheduler_.in_flight());
  }
  notifier_.notify("STATUS=stopping: stopping workers");
  if (workers_) {
    server_->set_worker_source(nullptr);
    workers_->stop(std::chrono::seconds(2), [this] { close_sessions(); });
  } else {
    close_sessions();
  }
}

void Daemon::close_sessions() {
  notifier_.notify("STATUS=stopping: closing sessions");
  server_->close_sessions("daemon stopping");
  stop_signals_.cancel();
  hup_signal_.cancel();
  // Sessions flush what they were sent (a stop's acknowledgement) before
  // closing; a peer that does not read gets a short grace, not a hang.
  drain_deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  poll_closed();
}

void Daemon::poll_closed() {
  if (server_->connection_count() == 0 ||
      std::chrono::steady_clock::now() >= drain_deadline_) {
    io_.stop();
    return;
  }
  drain_timer_.expires_after(std::chrono::milliseconds(5));
  drain_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) poll_closed();
  });
}

namespace {

// Reports "ok" or the failure through `fd` (the detaching parent's pipe,
// or --ready-fd), then serves.
int serve_in_child(const ServeOptions& options, int fd, bool detach) {
  auto report = [fd](const std::string& s) {
    if (fd >= 0) {
      (void)!::write(fd, s.data(), s.size());
      ::close(fd);
    }
  };
  try {
    Daemon daemon(options);
    daemon.listen();
    report("ok");
    if (detach) {
      // Detached: nothing may write to the terminal any more.
      int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::dup2(null, 2);
      ::close(null);
    }
    return daemon.run();
  } catch (const server::DaemonRunning& e) {
    spdlog::get("app")->error("{}", e.what());
    report(std::string("running:") + e.what());
    return EXIT_RUNNING;
  } catch (const std::exception& e) {
    spdlog::get("app")->error("cannot serve: {}", e.what());
    report(std::string("failed:") + e.what());
    return EXIT_FAILED;
  }
}

LogConfig log_config(const ServeOptions& o) {
  return LogConfig{o.log_level, o.log_format, o.log_file, o.log_max_bytes,
                   o.log_files};
}

std::string default_log_file(const ServeOptions& o) {
  std::string socket = o.socket.empty() ? proto::default_socket_path()
                                        : o.socket;
  return (std::filesystem::path(socket).parent_path() / "bocd.log").string();
}

}  // namespace

// Sets up logging, or says why it cannot (an unwritable --log-file).
bool start_logging(const ServeOptions& o) {
  try {
    setup_logging(log_config(o));
    return true;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bocd: cannot log to %s: %s\n",
                 o.log_file.empty() ? "stderr" : o.log_file.c_str(), e.what());
    return false;
  }
}

// --owned-dir: the files this daemon made there, then the directory.
void remove_owned_dir(const ServeOptions& o) {
  namespace fs = std::filesystem;
  spdlog::shutdown();  // closes the log file
  std::error_code ec;
  fs::path dir(o.owned_dir);
  std::string socket = o.socket.empty() ? proto::default_socket_path()
                                        : o.socket;
  for (const fs::path& file : {fs::path(socket), fs::path(o.log_file)}) {
    if (!file.empty() && file.parent_path() == dir) fs::remove(file, ec);
  }
  for (std::size_t k = 1; k <= o.log_files && !o.log_file.empty(); ++k) {
    fs::path rotated = o.log_file + "." + std::to_string(k);
    if (rotated.parent_path() == dir) fs::remove(rotated, ec);
  }
  fs::remove(dir, ec);  // only if empty: nothing else is removed
}

// The log's directory, made as the socket's is (by default it is the
// socket's, made here first) and refused when unsafe the same way.
bool make_log_dir(const ServeOptions& o) {
  if (o.log_file.empty()) return true;
  try {
    server::make_socket_dir(
        std::filesystem::path(o.log_file).parent_path().string(),
        std::nullopt);
    return true;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bocd: cannot log to %s: %s\n", o.log_file.c_str(),
                 e.what());
    return false;
  }
}

int serve(const ServeOptions& options) {
  ServeOptions o = options;
  if (o.nofile != 0 && !set_nofile(o.nofile)) return EXIT_FAILED;
  if (o.foreground) {
    if (!make_log_dir(o)) return EXIT_FAILED;
    if (!start_logging(o)) return EXIT_FAILED;
    int code = serve_in_child(o, o.ready_fd, /*detach=*/false);
    if (!o.owned_dir.empty()) remove_owned_dir(o);
    return code;
  }
  if (o.log_file.empty()) o.log_file = default_log_file(o);
  if (!make_log_dir(o)) return EXIT_FAILED;
  int fds[2];
  if (::pipe(fds) != 0) {
    std::perror("bocd: pipe");
    return EXIT_FAILED;
  }
  // Forked before logging or any thread starts: only the forking thread
  // survives a fork.
  pid_t pid = ::fork();
  if (pid < 0) {
    std::perror("bocd: fork");
    return EXIT_FAILED;
  }
  if (pid == 0) {
    ::close(fds[0]);
    ::setsid();
    if (!start_logging(o)) {
      (void)!::write(fds[1], "failed:cannot open the log file", 31);
      std::_Exit(EXIT_FAILED);
    }
    int code = serve_in_child(o, fds[1], /*detach=*/true);
    if (!o.owned_dir.empty()) remove_owned_dir(o);
    std::_Exit(code);
  }
  ::close(fds[1]);
  std::string reply;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) reply.append(buf, n);
  ::close(fds[0]);
  if (reply == "ok") {
    std::printf("bocd serving on %s (pid %d, log %s)\n",
                (o.socket.empty() ? proto::default_socket_path() : o.socket)
                    .c_str(),
                pid, o.log_file.c_str());
    return EXIT_OK;
  }
  std::fprintf(stderr, "bocd: %s\n",
               reply.empty() ? "daemon exited during start-up; see the log"
                             : reply.substr(reply.find(':') + 1).c_str());
  return reply.rfind("running:", 0) == 0 ? EXIT_RUNNING : EXIT_FAILED;
}

}  // namespace bocd::app

// Daemon: the composition root of `bocd serve`. Owns the scheduling core
// (the Scheduler and its pump watchdog) and lends it to the server (the
// socket edge); wires both and the worker provisioner (which starts
// workers for programs) to an io_context, signals and log sinks, and runs
// the graceful stop: stop accepting, refuse new behaviors, let those in
// flight finish (bounded), stop the workers, close sessions, remove the
// socket. It tells a service manager (systemd) what it is doing through
// sd_notify and serves on the socket it passes, if any (sd_notify.h).
#pragma once

#include <chrono>
#include <functional>
#include <memory>

// Boost 1.74's asio/awaitable.hpp uses std::exchange without <utility>.
#include <utility>

#include <boost/asio.hpp>

#include "core/core.h"
#include "options.h"
#include "sd_notify.h"
#include "server/server.h"
#include "shm/instance.h"
#include "worker_provisioner.h"

namespace bocd::app {

class Daemon {
 public:
  explicit Daemon(const ServeOptions& options);
  ~Daemon();

  // Binds the socket, or adopts the one the service manager passed, and
  // reports READY=1 (throws server::DaemonRunning or std::system_error).
  void listen();
  // Serves until stopped by a signal or an admin; returns the exit code.
  int run();
  // Starts the graceful stop. Idempotent; io_context thread only.
  void begin_stop(const char* why);

  const std::string& socket_path() const { return server_->socket_path(); }

 private:
  void watch_signals();
  void watch_hup();
  void poll_drain();
  void poll_closed();
  void close_sessions();
  // STATUS= for the service manager: now, then every few seconds while
  // serving when it changed.
  void report_status();
  void keep_alive();  // WATCHDOG=1 at the period the manager asked for

  ServeOptions options_;
  // Made before the server (its id names every blob) and destroyed after
  // it: the lock says this instance is alive until its blobs are gone.
  shm::InstanceLock instance_;
  // Places of each program's executor bridge (--executor ray); 0: none.
  // Before config_, whose limits carry it.
  unsigned bridge_slots_ = 0;
  // Before the server, which refers to them; the scheduler is made with
  // config_.limits, the watchdog with config_.pump_warn.
  server::ServerConfig config_;
  core::Scheduler scheduler_;
  core::PumpWatchdog watchdog_;
  boost::asio::io_context io_;
  boost::asio::signal_set stop_signals_{io_, SIGTERM, SIGINT};
  boost::asio::signal_set hup_signal_{io_, SIGHUP};
  boost::asio::steady_timer drain_timer_{io_};
  Notifier notifier_;
  boost::asio::steady_timer status_timer_{io_};
  boost::asio::steady_timer watchdog_timer_{io_};
  std::string last_status_;
  std::unique_ptr<server::Server> server_;
  std::unique_ptr<WorkerProvisioner> workers_;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point drain_deadline_;
};

// `bocd serve`: detaches unless --foreground, then runs a Daemon.
int serve(const ServeOptions& options);

}  // namespace bocd::app

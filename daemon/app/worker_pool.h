// WorkerPool: the daemon's worker processes (DESIGN D7). Starts N of
// `PYTHON -m bocd.worker` with posix_spawn, with BOCD_SOCKET naming this
// daemon and BOCD_WORKER_INDEX their slot; reaps them on SIGCHLD, logs
// every start and death with pid and status, and restarts the dead (at
// once, or with a growing delay when a worker keeps dying young, so a
// broken interpreter cannot spin the daemon). Workers connect back as
// role-worker sessions; the scheduler sends them behaviors. What a worker
// writes to its stdout or stderr outside behaviors (a start-up error, say)
// is logged line by line, and the last lines explain a worker that dies
// young (problem()).
//
// Thread: the io_context thread only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

// Boost 1.74's asio/awaitable.hpp uses std::exchange without <utility>.
#include <utility>

#include <boost/asio.hpp>

namespace bocd::app {

struct WorkerSpec {
  unsigned count = 0;
  std::string python = "python3";
  std::string socket;
  unsigned stall_ms = 1;  // $BOCD_STALL_MS of each worker (--stall-ms)
};

class WorkerPool {
 public:
  WorkerPool(boost::asio::io_context& io, WorkerSpec spec);
  ~WorkerPool();

  void start();
  // From now on dead workers stay dead (the daemon is draining to stop).
  void stop_restarting();
  // No more restarts; SIGTERM to every worker, SIGKILL to those still
  // alive after `grace`. `done` runs once all are reaped.
  void stop(std::chrono::milliseconds grace, std::function<void()> done);
  std::size_t running() const;
  // Why no worker can run behaviors now: every worker has died young
  // since it last started (its exit status and its last lines of output),
  // or cannot be started. "" while one is alive and not known to fail
  // (it may still be starting).
  std::string problem() const;

 private:
  struct Slot {
    pid_t pid = -1;
    std::chrono::steady_clock::time_point started;
    unsigned quick_deaths = 0;  // consecutive deaths within a second
    std::unique_ptr<boost::asio::steady_timer> restart;
    // Its output, read line by line; the last lines, and why it last died.
    std::unique_ptr<boost::asio::posix::stream_descriptor> output;
    std::string partial;
    std::vector<std::string> tail;
    std::string died;
  };

  void spawn(unsigned index);
  void read_output(unsigned index);
  void take_lines(unsigned index, std::string_view chunk);
  void watch_children();
  void reap();
  void on_death(unsigned index, int status);
  void maybe_done();

  boost::asio::io_context& io_;
  WorkerSpec spec_;
  boost::asio::signal_set sigchld_;
  boost::asio::steady_timer kill_timer_;
  std::vector<Slot> slots_;
  bool stopping_ = false;
  bool finished_ = false;  // every worker reaped after stop()
  std::function<void()> done_;
};

}  // namespace bocd::app

// WorkerProvisioner: starts the worker processes the scheduler asks for,
// each for one program (server::WorkerSource; docs/architecture.md, App).
// A program that described its Python environment gets workers forked from
// a template of that environment (WorkerTemplate: one per interpreter and
// bocd), which take the program's search path and working directory; a
// program that described none gets `--python -m bocd.worker` started
// directly. Every worker is given a token that names its program,
// presented in its Hello.
//
// A worker that cannot be started, or exits before it connects, is
// reported to the server with its exit status and its last lines of
// output (server::Server::worker_failed); what workers write outside
// behaviors is logged with their pid. Templates and directly started
// workers are reaped here (SIGCHLD).
//
// Thread: the io_context thread only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

// Boost 1.74's asio/awaitable.hpp uses std::exchange without <utility>.
#include <utility>

#include <boost/asio.hpp>

#include "output_lines.h"
#include "server/server.h"
#include "server/worker_source.h"
#include "worker_template.h"

namespace bocd::app {

struct WorkerSpec {
  std::string python = "python3";  // programs without an environment
  std::string socket;
  unsigned stall_ms = 1;  // $BOCD_STALL_MS of each worker (--stall-ms)
  // Set for each executor bridge (bocd serve --executor): it is forked
  // from the program's template as a worker is, with these variables,
  // and runs bocd.ray_bridge instead of bocd.worker.
  std::vector<std::pair<std::string, std::string>> bridge_env;
};

class WorkerProvisioner : public server::WorkerSource {
 public:
  WorkerProvisioner(boost::asio::io_context& io, WorkerSpec spec,
                    server::Server& server);
  ~WorkerProvisioner() override;

  void spawn(core::SessionId program, const server::ProgramEnvironment* env,
             const std::string& program_name, bool bridge) override;
  std::optional<core::SessionId> claim(const std::string& token) override;
  bool is_bridge(const std::string& token) const override;

  // The last failure to start a worker, within the last minute, or "".
  std::string problem() const;
  // Starts nothing more; SIGTERM to every template and worker it started,
  // SIGKILL to those alive after `grace`. `done` runs once all are reaped.
  void stop(std::chrono::milliseconds grace, std::function<void()> done);

 private:
  struct Worker {
    core::SessionId program;
    pid_t pid = -1;
    bool claimed = false;
    bool bridge = false;
    std::unique_ptr<OutputLines> output;
  };

  std::string new_token();
  void spawn_direct(const std::string& token);
  WorkerTemplate& template_for(const server::ProgramEnvironment& env);
  void on_forked(const std::string& token, pid_t pid);
  void on_output(const std::string& token, const std::string& line);
  // The worker of `token` exited, or could not be started: `status`.
  void on_exited(const std::string& token, const std::string& status);
  void watch_children();
  void reap();
  void maybe_done();
  std::vector<std::string> child_environment() const;

  boost::asio::io_context& io_;
  WorkerSpec spec_;
  server::Server& server_;
  boost::asio::signal_set sigchld_;
  boost::asio::steady_timer kill_timer_;
  std::map<std::string, Worker> workers_;  // by token
  std::map<pid_t, std::string> direct_;    // directly started, by pid
  std::map<std::string, std::unique_ptr<WorkerTemplate>> templates_;
  // Failed templates replaced by new ones, kept until reaped.
  std::vector<std::unique_ptr<WorkerTemplate>> retired_;
  unsigned next_index_ = 0;
  std::string last_failure_;
  std::chrono::steady_clock::time_point last_failure_at_;
  bool stopping_ = false;
  std::function<void()> done_;
};

}  // namespace bocd::app

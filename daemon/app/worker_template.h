// WorkerTemplate: one `python -m bocd.template` process, which has imported
// bocd once and forks a worker each time it is asked (docs/architecture.md,
// App), so a program's first behavior waits for a fork, not for an
// interpreter to start. It serves one environment: one interpreter and the
// bocd it imports (the first program's search path finds it); each worker
// takes its own program's search path and working directory.
//
// The daemon and the template speak JSON lines over a socketpair (see
// bocd/template.py for the messages). Requests made while the template
// starts wait for it; if it cannot start, or dies, every worker it owed is
// reported failed, with the template's own last lines of output.
//
// Thread: the io_context thread only.
#pragma once

#include <sys/types.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

// Boost 1.74's asio/awaitable.hpp uses std::exchange without <utility>.
#include <utility>

#include <boost/asio.hpp>

#include "output_lines.h"

namespace bocd::app {

// A worker to fork: its token, and what it runs with.
struct ForkRequest {
  std::string token;
  std::vector<std::string> sys_path;
  std::string cwd;
  std::vector<std::pair<std::string, std::string>> env;
};

class WorkerTemplate {
 public:
  // What the template reports about the workers it forks, by token.
  struct Events {
    std::function<void(const std::string& token, pid_t pid)> forked;
    std::function<void(const std::string& token, const std::string& line)>
        output;
    // The worker exited (`status` says how), or could not be forked
    // because the template failed (`status` says why).
    std::function<void(const std::string& token, const std::string& status)>
        exited;
  };

  // Starts `python -m bocd.template` in "/", with `bocd_path` (where the
  // program imports bocd from; empty: the interpreter's own) as its
  // PYTHONPATH and `env` as its environment.
  WorkerTemplate(boost::asio::io_context& io, std::string python,
                 std::string bocd_path,
                 std::vector<std::string> env, Events events);
  ~WorkerTemplate();
  WorkerTemplate(const WorkerTemplate&) = delete;
  WorkerTemplate& operator=(const WorkerTemplate&) = delete;

  void fork(ForkRequest request);
  pid_t pid() const { return pid_; }
  bool failed() const { return failed_; }
  const std::string& python() const { return python_; }
  // Its process exited (the provisioner reaps children): `status`.
  void on_exit(const std::string& status);
  // SIGTERM to the template; its workers die with it.
  void stop();

 private:
  void start(const std::string& bocd_path,
             const std::vector<std::string>& env);
  void read();
  void handle(const std::string& line);
  void send(const std::string& line);
  void write_next();
  void fail(const std::string& why);

  boost::asio::io_context& io_;
  std::string python_;
  Events events_;
  pid_t pid_ = -1;
  bool ready_ = false;
  bool failed_ = false;
  bool stopping_ = false;  // stop() was called: its end is expected
  std::string failure_;  // why, once failed
  std::unique_ptr<boost::asio::local::stream_protocol::socket> control_;
  boost::asio::streambuf inbox_;
  std::deque<std::string> outbox_;  // lines waiting for the write
  bool writing_ = false;
  std::deque<ForkRequest> waiting_;  // asked before it was ready
  std::vector<std::string> owed_;    // tokens sent, not yet forked
  std::map<std::string, bool> forked_;  // token -> exited yet
  OutputLines output_;  // its own stdout and stderr
  // Handlers outliving this object (cancelled at its end) see it gone.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace bocd::app

// AdminClient: the operator's session (role admin), used by `bocd status`,
// `bocd quiesce` and `bocd stop`. An admin session cannot create cowns or
// submit behaviors; its quiesce waits for the whole daemon.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bocd/client/errors.h"

namespace bocd::client {

struct SessionStatus {
  std::uint64_t id = 0;
  std::string role;
  std::int32_t pid = 0;
  std::string program;
  std::uint64_t in_flight = 0;  // its behaviors not yet completed
  // As an executor (a worker, or a program running its pinned work):
  std::uint64_t ran = 0;            // behaviors dispatched to it that ended
  std::uint32_t running = 0;        // dispatched, not yet ended
  std::uint64_t busy_us = 0;        // time it held at least one
  std::uint64_t pinned_dispatched = 0;
  std::uint32_t pinned_depth = 0;   // its pinned queue now
  // Moving average of its bodies' run times, which the daemon pipelines
  // by (--pipeline-below-us); -1 before its first.
  std::int64_t mean_run_us = -1;
  // A worker started for one program: its session id (0: none).
  std::uint64_t serves = 0;
};

struct DaemonStatus {
  std::string version;
  std::int32_t pid = 0;
  std::uint64_t uptime_ms = 0;
  std::uint32_t workers = 0;
  std::uint64_t cowns = 0;
  std::uint64_t in_flight = 0;
  std::uint64_t behaviors_completed = 0;
  std::vector<SessionStatus> sessions;  // the admin's own included
  std::uint64_t queued = 0;  // ready behaviors waiting for a free worker
  // Why the worker pool cannot run behaviors now ("" when it can).
  std::string workers_problem = {};
};

class AdminClient {
 public:
  // Throws ConnectionError when no daemon answers at `socket` (empty: the
  // default path).
  explicit AdminClient(const std::string& socket = {});
  ~AdminClient();

  // Each throws Timeout past `timeout`, ConnectionError if the daemon goes.
  DaemonStatus status(std::chrono::milliseconds timeout);
  // Returns once every behavior in flight daemon-wide has completed; the
  // daemon keeps serving (a checkpoint).
  void quiesce(std::chrono::milliseconds timeout);
  // Asks the daemon to stop and returns once its process has exited (the
  // daemon holds this connection open until then).
  void stop(std::chrono::milliseconds timeout);

  const std::string& socket() const;

 private:
  struct State;
  std::uint64_t begin(std::uint64_t State::*slot);
  std::unique_ptr<State> state_;
};

}  // namespace bocd::client

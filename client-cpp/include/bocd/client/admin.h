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

// One session's line of the daemon's status: every field of the schema's
// SessionInfo, which documents them, with the same names (role as its
// name: "client", "worker", "admin"). Generated from the schema's list
// (bocd_session_fields.inc), so a field added there appears here and in
// everything that expands the list.
#define BOCD_SESSION_TYPE_ulong std::uint64_t
#define BOCD_SESSION_TYPE_uint std::uint32_t
#define BOCD_SESSION_TYPE_int std::int32_t
#define BOCD_SESSION_TYPE_long std::int64_t
#define BOCD_SESSION_TYPE_string std::string
#define BOCD_SESSION_TYPE_Role std::string
struct SessionStatus {
#define BOCD_SESSION_FIELD(name, type) BOCD_SESSION_TYPE_##type name{};
#include "bocd_session_fields.inc"
#undef BOCD_SESSION_FIELD
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

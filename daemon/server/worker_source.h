// WorkerSource: what the server needs of whoever starts worker processes
// (the app's provisioner). The scheduler asks for a worker for a program
// (SpawnWorkerEvent); the server passes the request on with the program's
// environment, and maps the token a new worker presents in its Hello back
// to that program.
//
// Thread: the io_context thread only.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/core.h"

namespace bocd::server {

// A program's environment as its Hello described it (proto Environment).
struct ProgramEnvironment {
  std::string python;
  std::string version;
  std::string code_mark;
  std::vector<std::string> sys_path;
  std::string cwd;
  std::string bocd_path;  // where its bocd package is imported from
};

class WorkerSource {
 public:
  virtual ~WorkerSource() = default;
  // Start a worker for `program`, which described `env` (null: it has
  // none; the daemon's default workers serve it). The worker connects
  // with a token claim() maps back to `program`; if it cannot be started
  // the source reports it (Server::worker_failed), later: never from
  // within this call.
  // With `bridge`, the process is the program's executor bridge
  // (core::Limits::bridge_slots), reported the same way.
  virtual void spawn(core::SessionId program, const ProgramEnvironment* env,
                     const std::string& program_name, bool bridge) = 0;
  // The program `token` was issued for, once (a token is used once);
  // nullopt if it names none.
  virtual std::optional<core::SessionId> claim(const std::string& token) = 0;
  // Whether `token` was issued to an executor bridge (ask before claim()).
  virtual bool is_bridge(const std::string& token) const = 0;
};

}  // namespace bocd::server

#include "worker_provisioner.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include <spdlog/spdlog.h>

#include "bocd/proto/os_random.h"

extern char** environ;

namespace bocd::app {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

spdlog::logger& log() { return *spdlog::get("app"); }

std::string describe(int status) {
  if (WIFEXITED(status)) {
    return "exited with status " + std::to_string(WEXITSTATUS(status));
  }
  if (WIFSIGNALED(status)) {
    return std::string("was killed by signal ") +
           std::to_string(WTERMSIG(status)) + " (" +
           ::strsignal(WTERMSIG(status)) + ")";
  }
  return "ended with status " + std::to_string(status);
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Variables the daemon sets for its children, never inherited.
bool ours(const char* entry) {
  for (const char* name : {"BOCD_SOCKET=", "BOCD_WORKER_INDEX=",
                           "BOCD_STALL_MS=", "BOCD_PARENT_PID=",
                           "BOCD_WORKER_TOKEN=", "PYTHONPATH="}) {
    if (std::strncmp(entry, name, std::strlen(name)) == 0) return true;
  }
  return false;
}

}  // namespace

WorkerProvisioner::WorkerProvisioner(asio::io_context& io, WorkerSpec spec,
                                     server::Server& server)
    : io_(io),
      spec_(std::move(spec)),
      server_(server),
      sigchld_(io, SIGCHLD),
      kill_timer_(io) {
  watch_children();
}

WorkerProvisioner::~WorkerProvisioner() {
  for (auto& [pid, token] : direct_) ::kill(pid, SIGKILL);
  for (auto& [key, t] : templates_) {
    if (t->pid() > 0) ::kill(t->pid(), SIGKILL);
  }
}

std::vector<std::string> WorkerProvisioner::child_environment() const {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!ours(*e)) env.emplace_back(*e);
  }
  env.push_back("BOCD_SOCKET=" + spec_.socket);
  env.push_back("BOCD_STALL_MS=" + std::to_string(spec_.stall_ms));
  // It dies with the daemon (it checks it was not orphaned first).
  env.push_back("BOCD_PARENT_PID=" + std::to_string(::getpid()));
  return env;
}

std::string WorkerProvisioner::new_token() {
  // Unguessable: a token is a claim to serve a program (docs/protocol.md,
  // Handshake).
  std::string token;
  for (int i = 0; i < 2; ++i) {
    char part[17];
    std::snprintf(part, sizeof part, "%016llx",
                  static_cast<unsigned long long>(proto::os_random64()));
    token += part;
  }
  return token;
}

void WorkerProvisioner::spawn(core::SessionId program,
                              const server::ProgramEnvironment* env,
                              const std::string& program_name, bool bridge) {
  if (stopping_) return;
  std::string token = new_token();
  Worker& w = workers_[token];
  w.program = program;
  w.bridge = bridge;
  w.output = std::make_unique<OutputLines>(io_);
  w.output->set_label(std::string(bridge ? "executor bridge" : "worker") +
                      " for session " + std::to_string(program.value) +
                      " (" + program_name + ")");
  if (bridge && env == nullptr) {
    // A bridge runs Python payloads: a program without a Python
    // environment has none to give it.
    return on_exited(token, "could not be started (the program described "
                            "no Python environment)");
  }
  if (env == nullptr) return spawn_direct(token);
  ForkRequest r{token, env->sys_path, env->cwd, {}};
  r.env = {{"BOCD_WORKER_TOKEN", token},
           {"BOCD_WORKER_INDEX", std::to_string(next_index_++)}};
  if (bridge) r.env.insert(r.env.end(), spec_.bridge_env.begin(),
                           spec_.bridge_env.end());
  template_for(*env).fork(std::move(r));
}

WorkerTemplate& WorkerProvisioner::template_for(
    const server::ProgramEnvironment& env) {
  // One per interpreter, the bytecode it makes and the bocd it imports;
  // one that has failed is replaced (the scheduler spaces out the
  // retries).
  std::string key = env.python + '\0' + env.code_mark + '\0' + env.bocd_path;
  auto it = templates_.find(key);
  if (it != templates_.end() && !it->second->failed()) return *it->second;
  WorkerTemplate::Events events{
      [this](const std::string& t, pid_t pid) { on_forked(t, pid); },
      [this](const std::string& t, const std::string& l) { on_output(t, l); },
      [this](const std::string& t, const std::string& s) { on_exited(t, s); }};
  auto fresh = std::make_unique<WorkerTemplate>(
      io_, env.python, env.bocd_path, child_environment(), std::move(events));
  WorkerTemplate& t = *fresh;
  if (it != templates_.end()) {
    // Kept until reaped, with its handlers' object: retired after this.
    retired_.push_back(std::move(it->second));
    it->second = std::move(fresh);
  } else {
    templates_.emplace(key, std::move(fresh));
  }
  return t;
}

void WorkerProvisioner::spawn_direct(const std::string& token) {
  Worker& w = workers_[token];
  std::vector<std::string> env = child_environment();
  env.push_back("BOCD_WORKER_TOKEN=" + token);
  env.push_back("BOCD_WORKER_INDEX=" + std::to_string(next_index_++));
  std::vector<std::string> args = {spec_.python, "-m", "bocd.worker"};
  auto argv = pointers(args);
  auto envp = pointers(env);
  int out[2] = {-1, -1};
  if (::pipe2(out, O_CLOEXEC) != 0) out[0] = out[1] = -1;
  // Its stdout and stderr come back through the pipe; nothing else of the
  // daemon's (listening socket, connections) is inherited.
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  if (out[1] >= 0) {
    ::posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    ::posix_spawn_file_actions_adddup2(&actions, out[1], 2);
  }
  ::posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attr;
  ::posix_spawnattr_init(&attr);
  ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  ::posix_spawnattr_setpgroup(&attr, 0);
  // posix_spawnp: no fork of a process that has started threads or
  // logging, and PATH lookup for a bare "python3".
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, spec_.python.c_str(), &actions, &attr,
                          argv.data(), envp.data());
  ::posix_spawnattr_destroy(&attr);
  ::posix_spawn_file_actions_destroy(&actions);
  if (out[1] >= 0) ::close(out[1]);
  if (rc != 0) {
    if (out[0] >= 0) ::close(out[0]);
    return on_exited(token, std::string("could not be started ('") +
                                spec_.python + "': " + std::strerror(rc) + ")");
  }
  if (out[0] >= 0) {
    w.output->attach(out[0], "worker pid " + std::to_string(pid));
  }
  on_forked(token, pid);
  direct_[pid] = token;
}

void WorkerProvisioner::on_forked(const std::string& token, pid_t pid) {
  auto it = workers_.find(token);
  if (it == workers_.end()) return;
  it->second.pid = pid;
  const char* what = it->second.bridge ? "executor bridge" : "worker";
  it->second.output->set_label(std::string(what) + " pid " +
                               std::to_string(pid));
  log().info("{} pid {} started for session {}", what, pid,
             it->second.program.value);
}

void WorkerProvisioner::on_output(const std::string& token,
                                  const std::string& line) {
  auto it = workers_.find(token);
  if (it != workers_.end()) it->second.output->add(line);
}

void WorkerProvisioner::on_exited(const std::string& token,
                                  const std::string& status) {
  auto it = workers_.find(token);
  if (it == workers_.end()) return;
  Worker& w = it->second;
  if (w.claimed && w.bridge && status != "exited with status 0") {
    // Its running behaviors failed with it; the next bridge starts when
    // the program has work, after a growing delay (core bridge_lost).
    log().warn("executor bridge pid {} (session {}'s) {}; another is started "
               "when its program has work{}",
               w.pid, w.program.value, status, w.output->tail_text());
  } else if (w.claimed) {
    log().info("{} pid {} (session {}'s) {}",
               w.bridge ? "executor bridge" : "worker", w.pid, w.program.value,
               status);
  } else {
    std::string why = (w.pid > 0 ? "a worker (pid " + std::to_string(w.pid) +
                                       ") " + status
                                 : "no worker could start: " + status) +
                      w.output->tail_text();
    last_failure_ = why;
    last_failure_at_ = std::chrono::steady_clock::now();
    // Never from within the scheduler's own call (spawn): later.
    core::SessionId program = w.program;
    bool bridge = w.bridge;
    asio::post(io_, [this, program, why, bridge] {
      if (!stopping_) server_.worker_failed(program, why, bridge);
    });
  }
  workers_.erase(it);
}

std::optional<core::SessionId> WorkerProvisioner::claim(
    const std::string& token) {
  auto it = workers_.find(token);
  if (it == workers_.end() || it->second.claimed) return std::nullopt;
  it->second.claimed = true;
  return it->second.program;
}

bool WorkerProvisioner::is_bridge(const std::string& token) const {
  auto it = workers_.find(token);
  return it != workers_.end() && it->second.bridge;
}

std::string WorkerProvisioner::problem() const {
  if (last_failure_.empty() ||
      std::chrono::steady_clock::now() - last_failure_at_ >
          std::chrono::minutes(1)) {
    return "";
  }
  return last_failure_;
}

void WorkerProvisioner::watch_children() {
  sigchld_.async_wait([this](const boost::system::error_code& ec, int) {
    if (ec) return;
    reap();
    watch_children();
  });
}

void WorkerProvisioner::reap() {
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;
    if (auto d = direct_.find(pid); d != direct_.end()) {
      std::string token = d->second;
      direct_.erase(d);
      on_exited(token, describe(status));
      continue;
    }
    for (auto& [key, t] : templates_) {
      if (t->pid() == pid) t->on_exit(describe(status));
    }
    for (auto& t : retired_) {
      if (t->pid() == pid) t->on_exit(describe(status));
    }
  }
  maybe_done();
}

void WorkerProvisioner::stop(milliseconds grace, std::function<void()> done) {
  stopping_ = true;
  done_ = std::move(done);
  for (auto& [pid, token] : direct_) ::kill(pid, SIGTERM);
  for (auto& [key, t] : templates_) t->stop();
  for (auto& t : retired_) t->stop();
  kill_timer_.expires_after(grace);
  kill_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    for (auto& [pid, token] : direct_) {
      log().warn("worker pid {} ignored SIGTERM: killing it", pid);
      ::kill(pid, SIGKILL);
    }
    for (auto& [key, t] : templates_) {
      if (t->pid() > 0) ::kill(t->pid(), SIGKILL);
    }
  });
  maybe_done();
}

void WorkerProvisioner::maybe_done() {
  if (!stopping_ || !done_) return;
  if (!direct_.empty()) return;
  for (auto& [key, t] : templates_) {
    if (t->pid() > 0) return;
  }
  for (auto& t : retired_) {
    if (t->pid() > 0) return;
  }
  kill_timer_.cancel();
  sigchld_.cancel();
  auto done = std::move(done_);
  done_ = nullptr;
  done();
}

}  // namespace bocd::app

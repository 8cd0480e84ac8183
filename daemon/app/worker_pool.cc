#include "worker_pool.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <fcntl.h>

#include <array>
#include <cstring>

#include <spdlog/spdlog.h>

extern char** environ;

namespace bocd::app {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

spdlog::logger& log() { return *spdlog::get("app"); }

std::string describe(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return std::string("signal ") + std::to_string(WTERMSIG(status)) + " (" +
           ::strsignal(WTERMSIG(status)) + ")";
  }
  return "status " + std::to_string(status);
}

// The daemon's environment plus the worker's own variables.
std::vector<std::string> worker_environment(const WorkerSpec& spec,
                                            unsigned index) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "BOCD_SOCKET=", 12) == 0 ||
        std::strncmp(*e, "BOCD_WORKER_INDEX=", 18) == 0 ||
        std::strncmp(*e, "BOCD_STALL_MS=", 14) == 0 ||
        std::strncmp(*e, "BOCD_DAEMON_PID=", 16) == 0) {
      continue;
    }
    env.emplace_back(*e);
  }
  env.push_back("BOCD_SOCKET=" + spec.socket);
  env.push_back("BOCD_STALL_MS=" + std::to_string(spec.stall_ms));
  // The worker dies with the daemon (it checks it was not orphaned first).
  env.push_back("BOCD_DAEMON_PID=" + std::to_string(::getpid()));
  env.push_back("BOCD_WORKER_INDEX=" + std::to_string(index));
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

WorkerPool::WorkerPool(asio::io_context& io, WorkerSpec spec)
    : io_(io), spec_(std::move(spec)), sigchld_(io, SIGCHLD), kill_timer_(io) {
  slots_.resize(spec_.count);
}

WorkerPool::~WorkerPool() {
  for (const Slot& s : slots_) {
    if (s.pid > 0) ::kill(s.pid, SIGKILL);
  }
}

void WorkerPool::start() {
  watch_children();
  for (unsigned i = 0; i < slots_.size(); ++i) spawn(i);
}

void WorkerPool::spawn(unsigned index) {
  std::vector<std::string> args = {spec_.python, "-m", "bocd.worker"};
  std::vector<std::string> env = worker_environment(spec_, index);
  auto argv = pointers(args);
  auto envp = pointers(env);
  pid_t pid = -1;
  // Its stdout and stderr come back through a pipe, to the log.
  int out[2] = {-1, -1};
  if (::pipe2(out, O_CLOEXEC) != 0) out[0] = out[1] = -1;
  // The worker inherits stdin and that pipe only: not the listening
  // socket, client connections or a supervisor's readiness pipe.
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  if (out[1] >= 0) {
    ::posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    ::posix_spawn_file_actions_adddup2(&actions, out[1], 2);
  }
  ::posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  // Its own process group: a Ctrl-C at the daemon's terminal is for the
  // daemon, which drains and then stops its workers.
  posix_spawnattr_t attr;
  ::posix_spawnattr_init(&attr);
  ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  ::posix_spawnattr_setpgroup(&attr, 0);
  // posix_spawnp: no fork of a process that has started threads or
  // logging (DESIGN D7), and PATH lookup for a bare "python3".
  int rc = ::posix_spawnp(&pid, spec_.python.c_str(), &actions, &attr,
                          argv.data(), envp.data());
  ::posix_spawnattr_destroy(&attr);
  ::posix_spawn_file_actions_destroy(&actions);
  if (out[1] >= 0) ::close(out[1]);
  Slot& slot = slots_[index];
  slot.started = std::chrono::steady_clock::now();
  slot.tail.clear();
  slot.partial.clear();
  if (out[0] >= 0) {
    slot.output = std::make_unique<asio::posix::stream_descriptor>(io_, out[0]);
    read_output(index);
  }
  if (rc != 0) {
    slot.died = "cannot start '" + spec_.python + "': " + std::strerror(rc);
    log().error("worker {}: {}", index, slot.died);
    slot.output.reset();
    on_death(index, 127 << 8);
    return;
  }
  slot.pid = pid;
  log().info("worker {} started: pid {} ({} -m bocd.worker)", index, pid,
             spec_.python);
}

void WorkerPool::watch_children() {
  sigchld_.async_wait([this](const boost::system::error_code& ec, int) {
    if (ec) return;
    reap();
    if (!finished_) watch_children();
  });
}

void WorkerPool::reap() {
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    for (unsigned i = 0; i < slots_.size(); ++i) {
      if (slots_[i].pid == pid) {
        log().warn("worker {} (pid {}) died: {}", i, pid, describe(status));
        slots_[i].pid = -1;
        slots_[i].died = "worker " + std::to_string(i) + " (" + spec_.python +
                         ") " + describe(status);
        on_death(i, status);
      }
    }
  }
}

void WorkerPool::on_death(unsigned index, int status) {
  if (stopping_) return maybe_done();
  Slot& slot = slots_[index];
  bool young = std::chrono::steady_clock::now() - slot.started <
               std::chrono::seconds(1);
  slot.quick_deaths = young ? slot.quick_deaths + 1 : 0;
  if (slot.quick_deaths == 0) return spawn(index);
  // 100 ms, 200 ms, ... up to 5 s while it keeps dying young.
  auto delay = milliseconds(std::min<long>(5000, 100L << std::min(
                                                     slot.quick_deaths - 1, 6u)));
  log().warn("worker {} keeps dying young ({} in a row): restarting in {} ms",
             index, slot.quick_deaths, delay.count());
  slot.restart = std::make_unique<asio::steady_timer>(io_, delay);
  slot.restart->async_wait([this, index](const boost::system::error_code& ec) {
    if (!ec && !stopping_) spawn(index);
  });
}

void WorkerPool::read_output(unsigned index) {
  Slot& slot = slots_[index];
  auto buffer = std::make_shared<std::array<char, 4096>>();
  asio::posix::stream_descriptor* fd = slot.output.get();
  fd->async_read_some(
      asio::buffer(*buffer),
      [this, index, buffer, fd](const boost::system::error_code& ec,
                                std::size_t n) {
        // A restart replaces the descriptor: this read was for the old one.
        if (slots_[index].output.get() != fd) return;
        if (ec) {  // it exited: a last line without its newline counts too
          if (!slots_[index].partial.empty()) take_lines(index, "\n");
          return;
        }
        take_lines(index, std::string_view(buffer->data(), n));
        read_output(index);
      });
}

void WorkerPool::take_lines(unsigned index, std::string_view chunk) {
  constexpr std::size_t TAIL = 12, LONGEST = 2000;
  Slot& slot = slots_[index];
  slot.partial.append(chunk);
  std::size_t start = 0, end;
  while ((end = slot.partial.find('\n', start)) != std::string::npos) {
    std::string line = slot.partial.substr(start, std::min(end - start, LONGEST));
    start = end + 1;
    log().info("worker {} (pid {}): {}", index, slot.pid, line);
    slot.tail.push_back(std::move(line));
    if (slot.tail.size() > TAIL) slot.tail.erase(slot.tail.begin());
  }
  slot.partial.erase(0, start);
  if (slot.partial.size() > LONGEST) slot.partial.clear();  // no newline
}

std::string WorkerPool::problem() const {
  auto now = std::chrono::steady_clock::now();
  const Slot* last = nullptr;
  for (const Slot& s : slots_) {
    bool proven = s.pid > 0 && (s.quick_deaths == 0 ||
                                now - s.started >= std::chrono::seconds(1));
    if (proven) return "";  // serving, or starting for the first time
    if (s.quick_deaths > 0 && (last == nullptr || s.started > last->started)) {
      last = &s;
    }
  }
  if (last == nullptr) return "";
  std::string why = "workers die as they start; the last: " + last->died;
  if (!last->tail.empty()) {
    why += "; its output ended with:";
    for (const std::string& line : last->tail) why += "\n  " + line;
  }
  return why;
}

std::size_t WorkerPool::running() const {
  std::size_t n = 0;
  for (const Slot& s : slots_) n += s.pid > 0 ? 1 : 0;
  return n;
}

void WorkerPool::stop_restarting() {
  stopping_ = true;
  for (Slot& s : slots_) {
    if (s.restart) s.restart->cancel();
  }
}

void WorkerPool::stop(milliseconds grace, std::function<void()> done) {
  stopping_ = true;
  done_ = std::move(done);
  for (Slot& s : slots_) {
    if (s.restart) s.restart->cancel();
    if (s.pid > 0) ::kill(s.pid, SIGTERM);
  }
  kill_timer_.expires_after(grace);
  kill_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    for (const Slot& s : slots_) {
      if (s.pid > 0) {
        log().warn("worker pid {} ignored SIGTERM: killing it", s.pid);
        ::kill(s.pid, SIGKILL);
      }
    }
  });
  maybe_done();
}

void WorkerPool::maybe_done() {
  if (!stopping_ || running() > 0 || !done_) return;
  finished_ = true;
  kill_timer_.cancel();
  sigchld_.cancel();
  auto done = std::move(done_);
  done_ = nullptr;
  done();
}

}  // namespace bocd::app

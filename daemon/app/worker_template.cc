#include "worker_template.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace bocd::app {

namespace asio = boost::asio;
using json = nlohmann::json;

namespace {

spdlog::logger& log() { return *spdlog::get("app"); }

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

WorkerTemplate::WorkerTemplate(asio::io_context& io, std::string python,
                               std::string bocd_path,
                               std::vector<std::string> env, Events events)
    : io_(io),
      python_(std::move(python)),
      events_(std::move(events)),
      output_(io) {
  start(bocd_path, env);
}

WorkerTemplate::~WorkerTemplate() { stop(); }

void WorkerTemplate::start(const std::string& bocd_path,
                           const std::vector<std::string>& base_env) {
  int pair[2];
  int out[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0 ||
      ::pipe2(out, O_CLOEXEC) != 0) {
    return fail(std::string("cannot start a template: ") + std::strerror(errno));
  }
  std::vector<std::string> env = base_env;
  // The program's bocd, and nothing else of its search path: a module
  // beside its script (a json.py) must not shadow what the template
  // imports. Each worker takes the program's whole path after the fork.
  if (!bocd_path.empty()) env.push_back("PYTHONPATH=" + bocd_path);
  std::vector<std::string> args = {python_, "-m", "bocd.template"};
  auto argv = pointers(args);
  auto envp = pointers(env);
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_adddup2(&actions, pair[1], 3);
  ::posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  ::posix_spawn_file_actions_adddup2(&actions, out[1], 2);
  ::posix_spawn_file_actions_addclosefrom_np(&actions, 4);
  // `-m` puts the working directory first on sys.path: "/", not wherever
  // the daemon was started.
  ::posix_spawn_file_actions_addchdir_np(&actions, "/");
  posix_spawnattr_t attr;
  ::posix_spawnattr_init(&attr);
  // Its own process group: a Ctrl-C at the daemon's terminal is for the
  // daemon, which stops its children itself.
  ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  ::posix_spawnattr_setpgroup(&attr, 0);
  int rc = ::posix_spawnp(&pid_, python_.c_str(), &actions, &attr,
                          argv.data(), envp.data());
  ::posix_spawnattr_destroy(&attr);
  ::posix_spawn_file_actions_destroy(&actions);
  ::close(pair[1]);
  ::close(out[1]);
  if (rc != 0) {
    ::close(pair[0]);
    ::close(out[0]);
    pid_ = -1;
    return fail("cannot start '" + python_ + "': " + std::strerror(rc));
  }
  log().info("worker template for {} started: pid {}", python_, pid_);
  output_.attach(out[0], "template " + std::to_string(pid_));
  control_ = std::make_unique<asio::local::stream_protocol::socket>(
      io_, asio::local::stream_protocol(), pair[0]);
  read();
}

void WorkerTemplate::read() {
  auto* socket = control_.get();
  std::weak_ptr<int> alive = alive_;
  asio::async_read_until(
      *socket, inbox_, '\n',
      [this, socket, alive](const boost::system::error_code& ec,
                            std::size_t n) {
        if (alive.expired() || control_.get() != socket) return;
        if (ec) {
          return fail("the template for " + python_ + " (pid " +
                      std::to_string(pid_) + ") went away" +
                      output_.tail_text());
        }
        std::string line(asio::buffers_begin(inbox_.data()),
                         asio::buffers_begin(inbox_.data()) +
                             static_cast<std::ptrdiff_t>(n - 1));
        inbox_.consume(n);
        handle(line);
        if (!failed_) read();
      });
}

void WorkerTemplate::handle(const std::string& line) {
  json m = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!m.is_object()) {
    return fail("the template for " + python_ + " said something unreadable");
  }
  if (m.contains("ready")) {
    ready_ = true;
    log().info("worker template pid {} ready (Python {})", pid_,
               m.value("version", "?"));
    while (!waiting_.empty()) {
      fork(std::move(waiting_.front()));
      waiting_.pop_front();
    }
  } else if (m.contains("forked")) {
    std::string token = m["forked"].get<std::string>();
    std::erase(owed_, token);
    forked_[token] = false;
    if (events_.forked) events_.forked(token, m.value("pid", -1));
  } else if (m.contains("output")) {
    if (events_.output) {
      events_.output(m["output"].get<std::string>(), m.value("line", ""));
    }
  } else if (m.contains("exited")) {
    std::string token = m["exited"].get<std::string>();
    forked_.erase(token);
    if (events_.exited) events_.exited(token, m.value("status", "exited"));
  }
}

void WorkerTemplate::fork(ForkRequest r) {
  if (failed_) {
    if (events_.exited) events_.exited(r.token, failure_);
    return;
  }
  if (!ready_) {
    waiting_.push_back(std::move(r));
    return;
  }
  json env = json::object();
  for (auto& [name, value] : r.env) env[name] = value;
  json m = {{"fork", r.token},
            {"sys_path", r.sys_path},
            {"cwd", r.cwd},
            {"env", env}};
  owed_.push_back(r.token);
  send(m.dump() + "\n");
}

void WorkerTemplate::send(const std::string& line) {
  outbox_.push_back(line);
  if (!writing_) write_next();
}

void WorkerTemplate::write_next() {
  writing_ = true;
  auto* socket = control_.get();
  std::weak_ptr<int> alive = alive_;
  asio::async_write(
      *socket, asio::buffer(outbox_.front()),
      [this, socket, alive](const boost::system::error_code& ec,
                            std::size_t) {
        if (alive.expired() || control_.get() != socket) return;
        if (ec) {  // the read side reports it
          writing_ = false;
          return;
        }
        outbox_.pop_front();
        if (outbox_.empty()) {
          writing_ = false;
        } else {
          write_next();
        }
      });
}

void WorkerTemplate::fail(const std::string& why) {
  if (failed_) return;
  failed_ = true;
  failure_ = why;
  if (stopping_) {
    log().info("the template for {} (pid {}) stopped", python_, pid_);
  } else {
    log().warn("{}", why);
  }
  control_.reset();
  // Every worker it owed, asked for or forked and not yet heard of.
  std::vector<std::string> lost = owed_;
  for (const ForkRequest& r : waiting_) lost.push_back(r.token);
  for (auto& [token, exited] : forked_) lost.push_back(token);
  owed_.clear();
  waiting_.clear();
  forked_.clear();
  for (const std::string& token : lost) {
    if (events_.exited) events_.exited(token, why);
  }
}

void WorkerTemplate::on_exit(const std::string& status) {
  fail("the template for " + python_ + " (pid " + std::to_string(pid_) +
       ") " + status + output_.tail_text());
  pid_ = -1;
}

void WorkerTemplate::stop() {
  stopping_ = true;
  if (pid_ > 0) ::kill(pid_, SIGTERM);
}

}  // namespace bocd::app

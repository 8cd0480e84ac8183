#include "daemon_process.h"

#include <fcntl.h>
#include <signal.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>

namespace bocd::testing {

const char* bocd_binary() { return BOCD_BINARY; }

std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, n);
  return out;
}

namespace {

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

pid_t spawn(const std::vector<std::string>& args, int out_fd, int keep_fd) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(bocd_binary()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    // A test process that dies must not leave its daemon behind.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (out_fd >= 0) {
      ::dup2(out_fd, 1);
      ::dup2(out_fd, 2);
    }
    // Close everything but stdio and the readiness pipe.
    for (int fd = 3; fd < 1024; ++fd) {
      if (fd != keep_fd) ::close(fd);
    }
    ::execv(argv[0], argv.data());
    std::_Exit(127);
  }
  return pid;
}

}  // namespace

DaemonProcess::DaemonProcess(std::vector<std::string> extra_args) {
  char tmpl[] = "/tmp/bocd-test-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  socket_ = dir_ + "/bocd.sock";
  // "--socket PATH" in `extra_args` replaces the temp directory's socket
  // (a daemon restarted on a dead one's socket).
  auto given = std::find(extra_args.begin(), extra_args.end(), "--socket");
  if (given != extra_args.end() && given + 1 != extra_args.end()) {
    socket_ = *(given + 1);
    extra_args.erase(given, given + 2);
  }
  log_file_ = dir_ + "/bocd.log";
  int ready[2];
  if (::pipe(ready) != 0) throw std::runtime_error("pipe failed");
  std::vector<std::string> args = {"serve", "--foreground", "--socket",
                                   socket_, "--log-file", log_file_,
                                   "--log-level", "debug", "--ready-fd",
                                   std::to_string(ready[1])};
  // No worker pool unless a test asks for one (the daemon's default is
  // one worker per core, running Python).
  if (std::find(extra_args.begin(), extra_args.end(), "--workers") ==
      extra_args.end()) {
    args.insert(args.end(), {"--workers", "0"});
  }
  for (std::string& a : extra_args) {
    if (a == DIR) a = dir_;
  }
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  pid_ = spawn(args, -1, ready[1]);
  ::close(ready[1]);
  // Blocks until the daemon reports (or exits, closing the pipe).
  std::string reply = read_all(ready[0]);
  ::close(ready[0]);
  if (reply != "ok") {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    throw std::runtime_error("bocd did not start: '" + reply + "'\n" + log());
  }
}

DaemonProcess::~DaemonProcess() {
  stop();
  if (::testing::Test::HasFailure()) {
    std::fprintf(stderr, "---- bocd log (%s) ----\n%s---- end of log ----\n",
                 log_file_.c_str(), log().c_str());
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string DaemonProcess::log() const {
  std::ifstream in(log_file_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<std::string> DaemonProcess::wait_for_log_line(
    const std::function<bool(const std::string&)>& found,
    std::chrono::milliseconds bound) const {
  auto scan = [&]() -> std::optional<std::string> {
    std::istringstream in(log());
    for (std::string line; std::getline(in, line);) {
      if (found(line)) return line;
    }
    return std::nullopt;
  };
  int fd = ::inotify_init1(IN_CLOEXEC);
  if (fd < 0 || ::inotify_add_watch(fd, log_file_.c_str(), IN_MODIFY) < 0) {
    throw std::runtime_error("inotify on " + log_file_ + " failed");
  }
  auto deadline = std::chrono::steady_clock::now() + bound;
  std::optional<std::string> line = scan();  // after the watch: none missed
  while (!line) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) > 0) {
      char buf[4096];
      [[maybe_unused]] ssize_t n = ::read(fd, buf, sizeof buf);
    }
    line = scan();
  }
  ::close(fd);
  return line;
}

bool DaemonProcess::alive() {
  if (exit_code_ >= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    exit_code_ = decode_status(status);
    return false;
  }
  return true;
}

int DaemonProcess::stop() {
  if (alive()) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    exit_code_ = decode_status(status);
  }
  return exit_code_;
}

int DaemonProcess::wait_exit() {
  if (exit_code_ < 0) {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    exit_code_ = decode_status(status);
  }
  return exit_code_;
}

CommandResult run_bocd(const std::vector<std::string>& args) {
  int out[2];
  if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
  pid_t pid = spawn(args, out[1], -1);
  ::close(out[1]);
  CommandResult r;
  r.out = read_all(out[0]);
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.exit_code = decode_status(status);
  return r;
}

}  // namespace bocd::testing

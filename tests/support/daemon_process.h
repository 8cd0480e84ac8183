// DaemonProcess: runs the real `bocd` binary as a child on a private socket
// in a temp directory, waits for its readiness report (--ready-fd; no
// sleeping), and stops it at the end. If the test failed, the daemon's log
// is printed so the failure can be read next to it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace bocd::testing {

// The daemon binary under test (set by CMake).
const char* bocd_binary();

// Everything `fd` yields until EOF (or an error).
std::string read_all(int fd);

class DaemonProcess {
 public:
  // `bocd serve --foreground` with `extra_args`, and `--workers 0` unless
  // they say otherwise. An argument equal to DIR stands for dir();
  // "--socket PATH" serves PATH instead of a socket in dir().
  explicit DaemonProcess(std::vector<std::string> extra_args = {});
  static constexpr const char* DIR = "{dir}";
  ~DaemonProcess();
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  const std::string& socket() const { return socket_; }
  const std::string& dir() const { return dir_; }
  pid_t pid() const { return pid_; }
  std::string log() const;
  // Waits until `found` holds for some line of the log, woken by each write
  // to the log file (inotify), at most `bound`. Returns that line, or
  // nothing if the bound passed first.
  std::optional<std::string> wait_for_log_line(
      const std::function<bool(const std::string&)>& found,
      std::chrono::milliseconds bound) const;

  // True while the child has not exited.
  bool alive();
  // SIGTERM, then waits; returns the exit code (128+signal if killed).
  int stop();
  // Waits for the daemon to exit by itself; returns its exit code.
  int wait_exit();

 private:
  std::string dir_;
  std::string socket_;
  std::string log_file_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

// Runs `bocd ARGS...` to completion; returns its exit code and output.
struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout and stderr together
};
CommandResult run_bocd(const std::vector<std::string>& args);

}  // namespace bocd::testing

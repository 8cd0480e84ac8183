// Talking to a service manager (systemd) that started the daemon: the
// readiness protocol (sd_notify: READY=1, STOPPING=1, STATUS=..., and
// WATCHDOG=1 keep-alives) and socket activation (a listening socket passed
// as fd 3). Both are read from the environment once, at start-up, and
// removed from it, so worker processes the daemon starts do not speak for
// it nor take its socket.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace bocd::app {

class Notifier {
 public:
  // Reads and unsets NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID.
  // Without NOTIFY_SOCKET it is disabled and notify() does nothing.
  // Throws std::runtime_error naming the variable when one is malformed.
  static Notifier from_environment();
  Notifier() = default;
  ~Notifier();
  Notifier(Notifier&& other) noexcept;
  Notifier& operator=(Notifier&& other) noexcept;

  bool enabled() const { return fd_ >= 0; }
  // Sends `state` (newline-separated VAR=value lines) as one datagram.
  // Never blocks; a failure is logged once, not thrown: the service
  // manager's absence must not stop the daemon.
  void notify(std::string_view state);
  // How often to send WATCHDOG=1 (half of WATCHDOG_USEC), when the
  // service manager asked this process for keep-alives.
  std::optional<std::chrono::microseconds> watchdog_period() const {
    return watchdog_period_;
  }

 private:
  int fd_ = -1;
  std::string address_;  // sockaddr_un bytes: a path, or '\0' + abstract name
  std::optional<std::chrono::microseconds> watchdog_period_;
  bool warned_ = false;
};

// The socket the service manager passed (LISTEN_FDS=1, LISTEN_PID of this
// process): fd 3, made close-on-exec. Reads and unsets LISTEN_FDS,
// LISTEN_PID and LISTEN_FDNAMES; nullopt when none was passed to this
// process. Throws std::runtime_error naming the variable when it is
// malformed or passes more than one socket (bocd serves one).
struct ListenFd {
  int fd = -1;
  std::string name;  // LISTEN_FDNAMES, e.g. "bocd.socket"
};
std::optional<ListenFd> take_listen_fd();

}  // namespace bocd::app

// Written by hand rather than linking libsystemd: the documented protocol
// (sd_notify(3), sd_listen_fds(3)) is one datagram and a few environment
// variables, and a daemon built without libsystemd-dev runs the same under
// systemd, another service manager speaking the protocol, or none.
#include "sd_notify.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <utility>

#include <spdlog/spdlog.h>

namespace bocd::app {

namespace {

// The variable's value, unset from the environment; nullopt if absent.
std::optional<std::string> take_env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return std::nullopt;
  std::string value = v;
  ::unsetenv(name);
  return value;
}

std::uint64_t parse_number(const char* name, const std::string& text) {
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    throw std::runtime_error(std::string(name) + "='" + text +
                             "' is not a number");
  }
  return n;
}

}  // namespace

Notifier Notifier::from_environment() {
  Notifier n;
  std::optional<std::string> socket = take_env("NOTIFY_SOCKET");
  std::optional<std::string> usec = take_env("WATCHDOG_USEC");
  std::optional<std::string> pid = take_env("WATCHDOG_PID");
  if (!socket || socket->empty()) return n;
  sockaddr_un addr{};
  if ((*socket)[0] != '/' && (*socket)[0] != '@') {
    throw std::runtime_error("NOTIFY_SOCKET='" + *socket +
                             "': only a path or an @abstract name is "
                             "supported");
  }
  if (socket->size() >= sizeof addr.sun_path) {
    throw std::runtime_error("NOTIFY_SOCKET='" + *socket + "' is too long");
  }
  n.address_ = *socket;
  if (n.address_[0] == '@') n.address_[0] = '\0';  // abstract namespace
  n.fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (n.fd_ < 0) {
    throw std::runtime_error(std::string("NOTIFY_SOCKET: socket(): ") +
                             std::strerror(errno));
  }
  if (usec && !usec->empty()) {
    std::uint64_t us = parse_number("WATCHDOG_USEC", *usec);
    bool ours = !pid || pid->empty() ||
                parse_number("WATCHDOG_PID", *pid) ==
                    static_cast<std::uint64_t>(::getpid());
    // Half the timeout, as sd_watchdog_enabled(3) advises: one late
    // keep-alive does not get the daemon killed.
    if (ours && us > 0) n.watchdog_period_ = std::chrono::microseconds(us / 2);
  }
  return n;
}

Notifier::~Notifier() {
  if (fd_ >= 0) ::close(fd_);
}

Notifier::Notifier(Notifier&& other) noexcept { *this = std::move(other); }

Notifier& Notifier::operator=(Notifier&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    address_ = std::move(other.address_);
    watchdog_period_ = other.watchdog_period_;
    warned_ = other.warned_;
  }
  return *this;
}

void Notifier::notify(std::string_view state) {
  if (fd_ < 0) return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, address_.data(), address_.size());
  auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) +
                                    address_.size());
  ssize_t n = ::sendto(fd_, state.data(), state.size(), MSG_NOSIGNAL,
                       reinterpret_cast<const sockaddr*>(&addr), len);
  if (n < 0 && !warned_) {
    warned_ = true;
    auto display = address_;
    if (!display.empty() && display[0] == '\0') display[0] = '@';
    spdlog::get("app")->warn("cannot notify the service manager on {}: {}",
                             display, std::strerror(errno));
  }
}

std::optional<ListenFd> take_listen_fd() {
  // SD_LISTEN_FDS_START: the first passed socket is always fd 3.
  constexpr int first_fd = 3;
  std::optional<std::string> fds = take_env("LISTEN_FDS");
  std::optional<std::string> pid = take_env("LISTEN_PID");
  std::optional<std::string> names = take_env("LISTEN_FDNAMES");
  if (!fds || !pid) return std::nullopt;
  // Meant for another process (one that started this one and forgot to
  // clear them): not ours to take.
  if (parse_number("LISTEN_PID", *pid) !=
      static_cast<std::uint64_t>(::getpid())) {
    return std::nullopt;
  }
  std::uint64_t count = parse_number("LISTEN_FDS", *fds);
  if (count == 0) return std::nullopt;
  if (count != 1) {
    throw std::runtime_error(
        "LISTEN_FDS=" + *fds +
        ": the service manager passed more than one socket; bocd serves "
        "one (give its socket unit a single ListenStream=)");
  }
  ::fcntl(first_fd, F_SETFD, FD_CLOEXEC);
  return ListenFd{first_fd, names.value_or("")};
}

}  // namespace bocd::app

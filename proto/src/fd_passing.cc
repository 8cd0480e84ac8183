#include "bocd/proto/fd_passing.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <system_error>

namespace bocd::proto {

namespace {

[[noreturn]] void throw_os(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

void wait_for(int socket, short events) {
  pollfd p{socket, events, 0};
  while (::poll(&p, 1, -1) < 0) {
    if (errno != EINTR) throw_os("poll(fd passing socket)");
  }
}

// Control data big enough for MAX_PASSED_FDS descriptors, suitably aligned.
union ControlBuffer {
  char bytes[CMSG_SPACE(sizeof(int) * MAX_PASSED_FDS)];
  cmsghdr align;
};

}  // namespace

void send_with_fds(int socket, std::span<const std::uint8_t> bytes,
                   std::span<const int> fds) {
  if (bytes.empty()) {
    throw std::invalid_argument("send_with_fds: descriptors need at least "
                                "one byte to travel with");
  }
  if (fds.size() > MAX_PASSED_FDS) {
    throw std::invalid_argument("send_with_fds: " + std::to_string(fds.size()) +
                                " descriptors, at most " +
                                std::to_string(MAX_PASSED_FDS));
  }
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    iovec iov{const_cast<std::uint8_t*>(bytes.data() + sent),
              bytes.size() - sent};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    ControlBuffer control{};
    if (sent == 0 && !fds.empty()) {
      msg.msg_control = control.bytes;
      msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
      std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    ssize_t n = ::sendmsg(socket, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        wait_for(socket, POLLOUT);
        continue;
      }
      throw_os("sendmsg(SCM_RIGHTS)");
    }
    sent += static_cast<std::size_t>(n);
  }
}

ReceivedFds receive_with_fds(int socket, std::span<std::uint8_t> buffer,
                             std::size_t expected_fds, bool none_is_ok) {
  if (buffer.empty() || expected_fds > MAX_PASSED_FDS) {
    throw std::invalid_argument(
        "receive_with_fds: needs a buffer and at most " +
        std::to_string(MAX_PASSED_FDS) + " descriptors");
  }
  ReceivedFds out;
  ControlBuffer control{};
  iovec iov{buffer.data(), buffer.size()};
  msghdr msg{};
  ssize_t n;
  for (;;) {
    msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.bytes;
    // Room for exactly what is expected: more makes the kernel truncate
    // (MSG_CTRUNC), and it closes the descriptors that did not fit.
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * std::max<std::size_t>(
                                                      expected_fds, 1));
    n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
    if (n >= 0) break;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      wait_for(socket, POLLIN);
      continue;
    }
    throw_os("recvmsg(SCM_RIGHTS)");
  }
  out.bytes = static_cast<std::size_t>(n);
  // Take ownership of everything that arrived first, so that any error
  // below closes it.
  bool other_control = false;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr;
       c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (std::size_t i = 0; i < count; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
        out.fds.emplace_back(fd);
      }
    } else {
      other_control = true;
    }
  }
  if (n == 0 && out.fds.empty()) return out;  // the peer closed
  auto fail = [&](const std::string& why) {
    throw FdPassingError("expected " + std::to_string(expected_fds) +
                         " file descriptors with the message, " + why);
  };
  if (msg.msg_flags & MSG_CTRUNC) {
    fail("but the peer sent more (control data truncated); " +
         std::to_string(out.fds.size()) + " arrived and were closed");
  }
  if (other_control) fail("but other control data came with them");
  if (out.fds.size() != expected_fds && !(none_is_ok && out.fds.empty())) {
    fail("got " + std::to_string(out.fds.size()));
  }
  return out;
}

}  // namespace bocd::proto

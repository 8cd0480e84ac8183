// Passing file descriptors (the ring segment's memfd, the eventfds) over a
// UNIX stream socket with SCM_RIGHTS. The descriptors travel attached to
// the first byte of the bytes sent with them, so the receiver must read
// starting at that byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <vector>

#include "bocd/proto/unique_fd.h"

namespace bocd::proto {

// A receive whose descriptors were missing, too many, or truncated. The
// message says how many were expected and what arrived; every descriptor
// that did arrive has been closed.
class FdPassingError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// At most this many descriptors per call (the kernel's SCM_MAX_FD is 253).
inline constexpr std::size_t MAX_PASSED_FDS = 16;

// Sends all of `bytes` (at least one) on `socket`, with `fds` (at most
// MAX_PASSED_FDS, still owned by the caller) attached to the first. Waits
// with poll() when a non-blocking socket is full. Throws
// std::invalid_argument on bad arguments and std::system_error naming the
// call when the OS refuses (EPIPE on a closed peer; SIGPIPE is not raised).
void send_with_fds(int socket, std::span<const std::uint8_t> bytes,
                   std::span<const int> fds);

struct ReceivedFds {
  std::size_t bytes = 0;  // 0: the peer closed the socket
  std::vector<UniqueFd> fds;
};

// One recvmsg() into `buffer` (waiting with poll() while a non-blocking
// socket has nothing). The descriptors arrive close-on-exec. Unless the
// peer closed the socket (bytes == 0), exactly `expected_fds` descriptors
// must come with the bytes: fewer, more (the kernel truncates the control
// data) or anything but SCM_RIGHTS throws FdPassingError. OS failures
// throw std::system_error.
// With `none_is_ok`, bytes that carry no descriptors at all are accepted
// too (a peer that may or may not pass them).
ReceivedFds receive_with_fds(int socket, std::span<std::uint8_t> buffer,
                             std::size_t expected_fds,
                             bool none_is_ok = false);

}  // namespace bocd::proto

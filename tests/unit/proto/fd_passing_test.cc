// Passing descriptors over a UNIX socket (bocd/proto/fd_passing.h): a real
// memfd and eventfd arrive usable and close-on-exec, and missing or extra
// descriptors are a clear error that leaks none.
#include "bocd/proto/fd_passing.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "bocd/proto/segment.h"
#include "bocd/proto/wake.h"

namespace bocd::proto {
namespace {

struct SocketPair {
  SocketPair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    a.reset(fds[0]);
    b.reset(fds[1]);
  }
  UniqueFd a;
  UniqueFd b;
};

std::size_t open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] auto& e :
       std::filesystem::directory_iterator("/proc/self/fd")) {
    ++n;
  }
  return n;
}

// The FdPassingError message of receiving with `expected` fds, or "".
std::string refusal(int socket, std::size_t expected) {
  std::uint8_t buf[16];
  try {
    receive_with_fds(socket, buf, expected);
  } catch (const FdPassingError& e) {
    return e.what();
  }
  return "";
}

TEST(FdPassing, AMemfdAndAnEventfdArriveUsableAndCloseOnExec) {
  SocketPair s;
  Segment segment = Segment::create();
  UniqueFd wake = make_wake_fd();
  const std::uint8_t msg[] = {'r', 'i', 'n', 'g'};
  const int fds[] = {segment.fd(), wake.get()};
  send_with_fds(s.a.get(), msg, fds);

  std::uint8_t buf[16];
  ReceivedFds got = receive_with_fds(s.b.get(), buf, 2);
  ASSERT_EQ(got.bytes, 4u);
  EXPECT_EQ(std::memcmp(buf, msg, 4), 0);
  ASSERT_EQ(got.fds.size(), 2u);
  for (const UniqueFd& fd : got.fds) {
    EXPECT_TRUE(::fcntl(fd.get(), F_GETFD) & FD_CLOEXEC);
  }
  // The received memfd maps the same memory.
  Segment mapped = Segment::map(std::move(got.fds[0]));
  RingWriter w(mapped.to_daemon(), -1);
  RingReader r(segment.to_daemon(), -1);
  ASSERT_EQ(w.try_write(msg).bytes, 4u);
  std::uint8_t out[4];
  ASSERT_EQ(r.read_available(out).bytes, 4u);
  EXPECT_EQ(std::memcmp(out, msg, 4), 0);
  // The received eventfd is the same counter.
  ASSERT_TRUE(signal_eventfd(got.fds[1].get()));
  std::uint64_t count = 0;
  ASSERT_EQ(::read(wake.get(), &count, sizeof count),
            static_cast<ssize_t>(sizeof count));
  EXPECT_EQ(count, 1u);
}

TEST(FdPassing, BytesWithoutTheExpectedDescriptorsAreAClearError) {
  SocketPair s;
  ASSERT_EQ(::write(s.a.get(), "ring", 4), 4);
  std::string why = refusal(s.b.get(), 2);
  EXPECT_EQ(why, "expected 2 file descriptors with the message, got 0");
}

TEST(FdPassing, FewerDescriptorsThanExpectedAreAClearErrorAndAreClosed) {
  SocketPair s;
  UniqueFd wake = make_wake_fd();
  const int fds[] = {wake.get()};
  const std::uint8_t msg[] = {1};
  std::size_t before = open_fds();
  send_with_fds(s.a.get(), msg, fds);
  EXPECT_EQ(refusal(s.b.get(), 2),
            "expected 2 file descriptors with the message, got 1");
  EXPECT_EQ(open_fds(), before) << "the one that arrived was closed";
}

TEST(FdPassing, MoreDescriptorsThanExpectedAreTruncatedReportedAndClosed) {
  SocketPair s;
  UniqueFd e1 = make_wake_fd();
  UniqueFd e2 = make_wake_fd();
  UniqueFd e3 = make_wake_fd();
  const int fds[] = {e1.get(), e2.get(), e3.get()};
  const std::uint8_t msg[] = {1, 2};
  std::size_t before = open_fds();
  send_with_fds(s.a.get(), msg, fds);
  std::string why = refusal(s.b.get(), 1);
  EXPECT_NE(why.find("the peer sent more (control data truncated)"),
            std::string::npos)
      << why;
  EXPECT_EQ(open_fds(), before) << "no descriptor leaked";
}

TEST(FdPassing, AClosedPeerIsZeroBytesNotAnError) {
  SocketPair s;
  s.a.reset();
  std::uint8_t buf[4];
  ReceivedFds got = receive_with_fds(s.b.get(), buf, 2);
  EXPECT_EQ(got.bytes, 0u);
  EXPECT_TRUE(got.fds.empty());
}

TEST(FdPassing, SendingToAClosedPeerThrowsInsteadOfRaisingSigpipe) {
  SocketPair s;
  s.b.reset();
  UniqueFd wake = make_wake_fd();
  const int fds[] = {wake.get()};
  const std::uint8_t msg[] = {1};
  EXPECT_THROW(send_with_fds(s.a.get(), msg, fds), std::system_error);
}

TEST(FdPassing, DescriptorsNeedAByteToTravelWith) {
  SocketPair s;
  UniqueFd wake = make_wake_fd();
  const int fds[] = {wake.get()};
  EXPECT_THROW(send_with_fds(s.a.get(), {}, fds), std::invalid_argument);
}

}  // namespace
}  // namespace bocd::proto

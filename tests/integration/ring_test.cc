// Sessions on shared-memory rings against the real daemon: the handshake
// hands the segment over, frames larger than a ring stream through it, and
// a peer that dies mid-frame, corrupts a frame or forges a ring position
// loses its own session and nobody else's.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "bocd/client/client.h"
#include "bocd/proto/codec.h"
#include "bocd/proto/fd_passing.h"
#include "bocd/proto/ring.h"
#include "bocd/proto/segment.h"
#include "bocd/proto/wake.h"
#include "daemon_process.h"
#include "raw_client.h"

namespace bocd::testing {
namespace {

namespace fb = proto::fb;
using namespace std::chrono_literals;

// A session on rings driven by hand: the Hello asks for rings, and the
// Welcome's descriptors are mapped as the client library maps them.
class RingPeer {
 public:
  explicit RingPeer(const std::string& socket) : socket_(socket) {
    proto::Encoder::HelloExtras extras;
    extras.ring = true;
    socket_.send([&](proto::Encoder& e) {
      e.hello(fb::Role::Client, ::getpid(), "ring-peer", extras);
    });
    proto::FrameBuffer frames;
    std::vector<proto::UniqueFd> fds;
    std::span<const std::uint8_t> body;
    while (frames.next(body) != proto::FrameBuffer::Next::frame) {
      auto space = frames.prepare(4096);
      proto::ReceivedFds got =
          proto::receive_with_fds(socket_.fd(), space, 3, true);
      if (got.bytes == 0) throw std::runtime_error("closed in handshake");
      if (!got.fds.empty()) fds = std::move(got.fds);
      frames.commit(got.bytes);
    }
    std::vector<std::uint8_t> copy(body.begin(), body.end());
    const fb::Welcome* w = envelope(copy)->message_as_Welcome();
    if (w == nullptr || fds.size() != 3) {
      throw std::runtime_error("no ring in the Welcome");
    }
    session_ = w->session();
    ring_bytes_ = w->ring_bytes();
    spin_us_ = w->spin_us();
    segment_.emplace(proto::Segment::map(std::move(fds[0])));
    daemon_wake_ = std::move(fds[1]);
    own_wake_ = std::move(fds[2]);
    writer_ = proto::RingWriter(segment_->to_daemon(), daemon_wake_.get());
    reader_ = proto::RingReader(segment_->from_daemon(), daemon_wake_.get());
  }

  std::uint64_t session() const { return session_; }
  std::uint64_t ring_bytes() const { return ring_bytes_; }
  std::uint32_t spin_us() const { return spin_us_; }
  proto::RingControl& to_daemon_control() {
    return *segment_->to_daemon().control;
  }

  // Writes all of `bytes` into the to-daemon ring, waiting for room.
  void write(std::span<const std::uint8_t> bytes) {
    proto::SpinThenPark wait(0us, 100ms);
    while (!bytes.empty()) {
      proto::RingResult r = writer_.try_write(bytes);
      ASSERT_TRUE(r.ok()) << proto::describe(r.error);
      bytes = bytes.subspan(r.bytes);
      writer_.wake_peer_if_parked();
      if (!bytes.empty()) wait.wait_writable(writer_, own_wake_.get());
    }
  }
  template <class F>
  void send(F&& encode) {
    std::vector<std::uint8_t> out;
    proto::Encoder enc(out);
    encode(enc);
    write(out);
  }
  // Signals the daemon whether or not it announced that it parks.
  void poke() { proto::signal_eventfd(daemon_wake_.get()); }

  // The next frame from the from-daemon ring; nothing once the daemon has
  // closed the socket and the ring holds no more. Bounded at 10 s for a
  // hung daemon (not a timing check).
  std::optional<std::vector<std::uint8_t>> next_frame() {
    proto::SpinThenPark wait(0us, 50ms);
    auto deadline = std::chrono::steady_clock::now() + 10s;
    for (;;) {
      std::span<const std::uint8_t> body;
      if (frames_.next(body) == proto::FrameBuffer::Next::frame) {
        std::vector<std::uint8_t> copy(body.begin(), body.end());
        frames_.pop();
        return copy;
      }
      proto::RingResult r = reader_.read_into(frames_);
      if (!r.ok()) return std::nullopt;
      if (r.bytes > 0) {
        reader_.wake_peer_if_parked();
        continue;
      }
      if (socket_closed() && reader_.available_bytes() == 0) {
        return std::nullopt;
      }
      if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
      wait.wait_readable(reader_, own_wake_.get());
    }
  }

  bool socket_closed() {
    std::uint8_t b;
    ssize_t n = ::recv(socket_.fd(), &b, 1, MSG_DONTWAIT | MSG_PEEK);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }
  // Waits (up to 10 s) for the daemon to close this session's socket.
  bool closed_by_daemon() {
    pollfd p{socket_.fd(), POLLIN, 0};
    for (int i = 0; i < 100 && !socket_closed(); ++i) ::poll(&p, 1, 100);
    return socket_closed();
  }

 private:
  RawClient socket_;
  std::uint64_t session_ = 0;
  std::uint64_t ring_bytes_ = 0;
  std::uint32_t spin_us_ = 0;
  std::optional<proto::Segment> segment_;
  proto::UniqueFd daemon_wake_, own_wake_;
  proto::RingWriter writer_;
  proto::RingReader reader_;
  proto::FrameBuffer frames_;
};

// Asks for the daemon's status over the rings: true when it answers.
bool answers_status(RingPeer& p, std::uint64_t request) {
  p.send([&](proto::Encoder& e) { e.status_request(request); });
  auto f = p.next_frame();
  if (!f) return false;
  const fb::Status* s = envelope(*f)->message_as_Status();
  return s != nullptr;
}

std::string line_with(const DaemonProcess& d, const std::string& a,
                      const std::string& b) {
  return d
      .wait_for_log_line(
          [&](const std::string& l) {
            return l.find(a) != std::string::npos &&
                   l.find(b) != std::string::npos;
          },
          10s)
      .value_or("");
}

TEST(Ring, SessionThatAsksIsHandedASegmentAndIsAnsweredThroughIt) {
  DaemonProcess d({"--ring-bytes", "65536"});
  RingPeer p(d.socket());
  EXPECT_EQ(p.ring_bytes(), 65536u);
  EXPECT_TRUE(answers_status(p, 7));
  EXPECT_TRUE(answers_status(p, 8));
}

TEST(Ring, PeersAreToldTheirOwnSpinNotTheDaemons) {
  // The daemon spins (one process); its peers park at once unless told
  // otherwise, so they do not all spin on a machine with few cores.
  {
    DaemonProcess d({"--spin-us", "500"});
    EXPECT_EQ(RingPeer(d.socket()).spin_us(), 0u);
  }
  DaemonProcess d({"--spin-us", "0", "--peer-spin-us", "40"});
  RingPeer p(d.socket());
  EXPECT_EQ(p.spin_us(), 40u);
  EXPECT_TRUE(answers_status(p, 7));
}

TEST(Ring, DaemonWithRingsOffKeepsEverySessionOnItsSocket) {
  DaemonProcess d({"--ring-bytes", "0"});
  EXPECT_THROW(RingPeer p(d.socket()), std::runtime_error);
  client::Client c({d.socket()});
  auto x = c.create("on the socket");
  EXPECT_EQ(c.read(x).data, "on the socket");
}

// Values sixteen times the ring go through it in pieces, in both
// directions, wrapping around it many times, with the writer held back
// while the ring is full.
TEST(Ring, FramesLargerThanTheRingStreamThroughItInOrder) {
  DaemonProcess d({"--ring-bytes", "4096"});
  client::Client c({d.socket()});
  std::vector<client::CownRef> cowns;
  for (int i = 0; i < 20; ++i) {
    cowns.push_back(c.create(std::string(64 * 1024, static_cast<char>('a' + i))));
  }
  for (int i = 0; i < 20; ++i) {
    c.submit({cowns[i]}, [i](client::Access& a) {
      a.mut(0) += std::to_string(i);
    });
  }
  for (int i = 0; i < 20; ++i) {
    std::string expected(64 * 1024, static_cast<char>('a' + i));
    expected += std::to_string(i);
    EXPECT_EQ(c.read(cowns[i]).data, expected) << "cown " << i;
  }
}

TEST(Ring, PeerKilledHalfwayThroughAFrameLosesOnlyItsSession) {
  DaemonProcess d;
  RingPeer other(d.socket());
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    RingPeer p(d.socket());
    std::vector<std::uint8_t> frame;
    proto::Encoder(frame).status_request(1);
    // The header and half the body, published; the rest never comes.
    p.write(std::span<const std::uint8_t>(frame).first(frame.size() / 2));
    p.poke();
    std::uint64_t session = p.session();
    (void)!::write(ready[1], &session, sizeof session);
    ::pause();
    ::_exit(0);
  }
  ::close(ready[1]);
  std::uint64_t session = 0;
  ASSERT_EQ(::read(ready[0], &session, sizeof session),
            static_cast<ssize_t>(sizeof session));
  ::close(ready[0]);
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  std::string closed =
      line_with(d, "session " + std::to_string(session) + " disconnected",
                "peer closed the connection");
  EXPECT_FALSE(closed.empty()) << d.log();
  // The daemon serves on: the other ring session, and a new one.
  EXPECT_TRUE(answers_status(other, 2));
  RingPeer later(d.socket());
  EXPECT_TRUE(answers_status(later, 3));
}

TEST(Ring, CorruptFrameInTheRingClosesOnlyThatSession) {
  DaemonProcess d;
  RingPeer bad(d.socket());
  RingPeer good(d.socket());
  // A well-formed length, then bytes no flatbuffers verifier accepts.
  std::vector<std::uint8_t> frame{16, 0, 0, 0};
  for (int i = 0; i < 16; ++i) frame.push_back(0xEE);
  bad.write(frame);
  EXPECT_TRUE(bad.closed_by_daemon());
  // Its last frame, left in the ring before the close, says why.
  std::optional<std::vector<std::uint8_t>> last = bad.next_frame();
  ASSERT_TRUE(last.has_value());
  const fb::Error* e = envelope(*last)->message_as_Error();
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(e->closing());
  ASSERT_NE(e->message(), nullptr);
  EXPECT_EQ(e->message()->str().rfind("malformed frame: ", 0), 0u);
  EXPECT_FALSE(bad.next_frame().has_value()) << "nothing after it";
  std::string why = line_with(
      d, "session " + std::to_string(bad.session()) + " disconnected",
      "malformed frame");
  EXPECT_FALSE(why.empty()) << d.log();
  EXPECT_TRUE(answers_status(good, 4));
}

TEST(Ring, ForgedRingPositionClosesOnlyThatSession) {
  DaemonProcess d({"--ring-bytes", "65536"});
  RingPeer bad(d.socket());
  RingPeer good(d.socket());
  // Claims more bytes written than the ring can hold.
  bad.to_daemon_control().write_pos.store(3 * 65536,
                                          std::memory_order_release);
  bad.poke();
  EXPECT_TRUE(bad.closed_by_daemon());
  std::string why = line_with(
      d, "session " + std::to_string(bad.session()) + " disconnected",
      "ring:");
  EXPECT_FALSE(why.empty()) << d.log();
  EXPECT_TRUE(answers_status(good, 5));
}

}  // namespace
}  // namespace bocd::testing

// Why a Client's calls fail once its session ends: the daemon's reason
// when its last frame said one, else the socket's. A scripted peer stands
// in for the daemon, so the frames before the close are exactly the ones
// a test names (the real daemon is in tests/integration).
#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bocd/client/client.h"
#include "bocd/proto/codec.h"
#include "bocd/proto/fd_passing.h"
#include "bocd/proto/framing.h"
#include "bocd/proto/ring.h"
#include "bocd/proto/segment.h"
#include "bocd/proto/wake.h"

namespace bocd::client {
namespace {

namespace fb = proto::fb;
using Script = std::function<void(proto::Encoder&)>;

enum class Transport { socket, ring };

// One connection's daemon: welcomes the client to a session on `transport`
// (sets $BOCD_TRANSPORT for the client meanwhile), reads its frames until
// one of type `until` comes, then sends what `last` encodes the same way
// and closes the connection.
class ScriptedDaemon {
 public:
  ScriptedDaemon(Transport transport, fb::Message until, Script last)
      : transport_(transport), until_(until), last_(std::move(last)) {
    const char* was = std::getenv("BOCD_TRANSPORT");
    if (was != nullptr) env_was_ = was;
    ::setenv("BOCD_TRANSPORT", rings() ? "ring" : "socket", 1);
    char dir[] = "/tmp/bocd-close-reason-XXXXXX";
    EXPECT_NE(::mkdtemp(dir), nullptr) << std::strerror(errno);
    dir_ = dir;
    socket_ = dir_ + "/bocd.sock";
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket_.c_str(), sizeof addr.sun_path - 1);
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr),
                     sizeof addr), 0) << std::strerror(errno);
    EXPECT_EQ(::listen(listen_fd_, 1), 0) << std::strerror(errno);
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedDaemon() {
    // Wakes an accept() no client came to.
    ::shutdown(listen_fd_, SHUT_RDWR);
    thread_.join();
    ::close(listen_fd_);
    std::filesystem::remove_all(dir_);
    if (env_was_) {
      ::setenv("BOCD_TRANSPORT", env_was_->c_str(), 1);
    } else {
      ::unsetenv("BOCD_TRANSPORT");
    }
  }
  const std::string& socket() const { return socket_; }

 private:
  bool rings() const { return transport_ == Transport::ring; }

  static void send(int fd, const std::vector<std::uint8_t>& bytes,
                   std::span<const int> fds = {}) {
    if (bytes.empty()) return;
    try {
      proto::send_with_fds(fd, bytes, fds);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "sending to the client: " << e.what();
    }
  }

  void serve() {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;  // the test ended before a client came
    // Closed however talk() ends (a failed assertion returns early), so
    // the client is never left waiting.
    talk(fd);
    ::close(fd);
  }

  // Answers the frames `frames` holds; false once it has sent `last_`.
  bool answer(proto::FrameBuffer& frames, std::vector<std::uint8_t>& out) {
    proto::Encoder enc(out);
    std::span<const std::uint8_t> body;
    while (frames.next(body) == proto::FrameBuffer::Next::frame) {
      std::string why;
      const fb::Envelope* env = proto::verify_envelope(body, why);
      EXPECT_NE(env, nullptr) << why;
      if (env == nullptr) return false;
      if (env->message_type() == until_) {
        last_(enc);
        return false;
      }
      frames.pop();
    }
    return true;
  }

  void talk(int fd) {
    proto::FrameBuffer frames;
    // The Hello, on the socket.
    std::span<const std::uint8_t> body;
    for (;;) {
      auto next = frames.next(body);
      if (next == proto::FrameBuffer::Next::frame) break;
      ASSERT_EQ(next, proto::FrameBuffer::Next::need_more);
      auto space = frames.prepare(4096);
      ssize_t n = ::read(fd, space.data(), space.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      frames.commit(static_cast<std::size_t>(n));
    }
    std::string why;
    const fb::Envelope* hello = proto::verify_envelope(body, why);
    ASSERT_NE(hello, nullptr) << why;
    ASSERT_NE(hello->message_as_Hello(), nullptr);
    ASSERT_EQ(hello->message_as_Hello()->ring(), rings());
    frames.pop();
    std::vector<std::uint8_t> welcome;
    if (!rings()) {
      proto::Encoder(welcome).welcome(1, 1u << 20, 1000, 64, 1u << 20);
      send(fd, welcome);
      return talk_socket(fd, frames);
    }
    proto::Segment segment = proto::Segment::create(proto::MIN_RING_CAPACITY);
    proto::UniqueFd own_wake = proto::make_wake_fd();
    proto::UniqueFd client_wake = proto::make_wake_fd();
    proto::Encoder(welcome).welcome(1, 1u << 20, 1000, 64, 1u << 20, 64, 0,
                                    {}, segment.ring_capacity(), 0);
    int fds[] = {segment.fd(), own_wake.get(), client_wake.get()};
    send(fd, welcome, fds);
    talk_ring(fd, segment, own_wake.get(), client_wake.get());
  }

  void talk_socket(int fd, proto::FrameBuffer& frames) {
    for (;;) {
      std::vector<std::uint8_t> out;
      bool open = answer(frames, out);
      send(fd, out);
      if (!open) return;
      auto space = frames.prepare(4096);
      ssize_t n = ::read(fd, space.data(), space.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // the client went first
      frames.commit(static_cast<std::size_t>(n));
    }
  }

  // As the daemon does: frames both ways through the rings, the socket
  // only watched for the client's end.
  void talk_ring(int fd, const proto::Segment& segment, int own_wake,
                 int client_wake) {
    proto::RingReader in(segment.to_daemon(), client_wake);
    proto::RingWriter out(segment.from_daemon(), client_wake);
    proto::FrameBuffer frames;
    for (;;) {
      proto::RingResult r = in.read_into(frames);
      ASSERT_TRUE(r.ok()) << proto::describe(r.error);
      if (r.bytes > 0) in.wake_peer_if_parked();
      std::vector<std::uint8_t> last;
      if (!answer(frames, last)) {
        // Small enough to fit the empty ring at once.
        proto::RingResult w = out.try_write(last);
        ASSERT_TRUE(w.ok()) << proto::describe(w.error);
        ASSERT_EQ(w.bytes, last.size());
        out.wake_peer_if_parked();
        return;
      }
      if (r.bytes > 0 || !in.announce_parking()) continue;
      pollfd p[] = {{own_wake, POLLIN, 0}, {fd, POLLIN, 0}};
      if (::poll(p, 2, -1) < 0 && errno != EINTR) return;
      if (p[1].revents != 0) return;  // the client went first
      proto::drain_wake_fd(own_wake);
    }
  }

  Transport transport_;
  fb::Message until_;
  Script last_;
  std::optional<std::string> env_was_;
  std::string dir_;
  std::string socket_;
  int listen_fd_ = -1;
  std::thread thread_;
};

Options options(const ScriptedDaemon& d) {
  Options o;
  o.socket = d.socket();
  return o;
}

// What a call throws once the session has ended.
template <class F>
std::string connection_error_of(F&& call) {
  try {
    call();
  } catch (const ConnectionError& e) {
    return e.what();
  }
  ADD_FAILURE() << "the call did not throw ConnectionError";
  return "";
}

// An Error (the daemon's last word when `closing`), then `after`.
Script error_then(bool closing, std::uint64_t tag = 0,
                  std::uint64_t request = 0,
                  Script after = [](proto::Encoder&) {}) {
  return [=](proto::Encoder& enc) {
    enc.error(fb::ErrorCode::Malformed, "malformed frame: bad envelope", tag,
              request, closing);
    after(enc);
  };
}

class CloseReason : public ::testing::TestWithParam<Transport> {};

// What the calls of a client of `d` throw, with the daemon's word and
// without.
std::string closed_by(const ScriptedDaemon& d) {
  return "the bocd daemon at " + d.socket() +
         " closed this session: malformed frame: bad envelope";
}
std::string lost_to(const ScriptedDaemon& d) {
  return "connection to the bocd daemon at " + d.socket() +
         " lost: End of file";
}

TEST_P(CloseReason, ABlockedWaitGetsTheDaemonsLastWord) {
  ScriptedDaemon d(GetParam(), fb::Message::Quiesce, error_then(true));
  Client c(options(d));
  EXPECT_EQ(c.transport(), GetParam() == Transport::ring ? "ring" : "socket");
  EXPECT_EQ(connection_error_of([&] { c.wait(); }), closed_by(d));
  // Later calls say the same, and the Error is still there to take.
  EXPECT_EQ(connection_error_of([&] { c.create("x"); }), closed_by(d));
  std::vector<Error> errors = c.take_errors();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].text(), "malformed frame: bad envelope");
}

TEST_P(CloseReason, ABlockedAcquireOrReadGetsTheDaemonsLastWord) {
  std::pair<const char*, std::function<void(Client&, CownRef)>> calls[] = {
      {"acquire", [](Client& c, CownRef x) { c.acquire(x); }},
      {"read", [](Client& c, CownRef x) { c.read(x); }}};
  for (const auto& [name, call] : calls) {
    ScriptedDaemon d(GetParam(), fb::Message::Submit, error_then(true));
    Client c(options(d));
    CownRef x = c.create("1");
    EXPECT_EQ(connection_error_of([&] { call(c, x); }), closed_by(d)) << name;
  }
}

TEST_P(CloseReason, AnEndWithoutAWordIsALostConnection) {
  ScriptedDaemon d(GetParam(), fb::Message::Quiesce, [](proto::Encoder&) {});
  Client c(options(d));
  EXPECT_EQ(connection_error_of([&] { c.wait(); }), lost_to(d));
}

// Only an Error marked closing is the reason: an ordinary one, whatever
// it names, and whatever follows it, is not.
TEST_P(CloseReason, AnErrorNotMarkedClosingIsNotTheReason) {
  Script scripts[] = {error_then(false), error_then(false, 7, 0),
                      error_then(false, 0, 0, [](proto::Encoder& enc) {
                        enc.synced(99, 0);  // answers nothing of this client's
                      })};
  for (const Script& script : scripts) {
    ScriptedDaemon d(GetParam(), fb::Message::Quiesce, script);
    Client c(options(d));
    EXPECT_EQ(connection_error_of([&] { c.wait(); }), lost_to(d));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Transports, CloseReason,
    ::testing::Values(Transport::socket, Transport::ring),
    [](const ::testing::TestParamInfo<Transport>& info) {
      return info.param == Transport::ring ? "Ring" : "Socket";
    });

}  // namespace
}  // namespace bocd::client

#include "raw_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

#include <gtest/gtest.h>

namespace bocd::testing {

RawClient::RawClient(const std::string& socket) {
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::runtime_error("connect to " + socket + " failed");
  }
}

RawClient::~RawClient() { ::close(fd_); }

void RawClient::send_bytes(const std::vector<std::uint8_t>& bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off,
                       MSG_NOSIGNAL);
    if (n <= 0) return;  // the daemon may already have closed us
    off += static_cast<std::size_t>(n);
  }
}

std::uint64_t RawClient::handshake(proto::fb::Role role,
                                   std::uint64_t* id_base) {
  send([&](proto::Encoder& e) { e.hello(role, ::getpid(), "raw-test"); });
  auto f = next_frame();
  if (!f) throw std::runtime_error("closed during handshake");
  const auto* w = envelope(*f)->message_as_Welcome();
  if (w == nullptr) throw std::runtime_error("no Welcome");
  if (id_base != nullptr) *id_base = w->id_base();
  return w->session();
}

std::optional<std::vector<std::uint8_t>> RawClient::next_frame() {
  for (;;) {
    std::span<const std::uint8_t> body;
    auto next = frames_.next(body);
    if (next == proto::FrameBuffer::Next::frame) {
      std::vector<std::uint8_t> out(body.begin(), body.end());
      frames_.pop();
      return out;
    }
    if (next != proto::FrameBuffer::Next::need_more) {
      throw std::runtime_error("daemon sent a bad frame");
    }
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 10000) <= 0) {
      throw std::runtime_error("no frame from the daemon within 10 s");
    }
    auto space = frames_.prepare(65536);
    ssize_t n = ::recv(fd_, space.data(), space.size(), 0);
    if (n <= 0) return std::nullopt;
    frames_.commit(static_cast<std::size_t>(n));
  }
}

int RawClient::read_until_closed() {
  int n = 0;
  while (next_frame()) ++n;
  return n;
}

const proto::fb::Envelope* envelope(const std::vector<std::uint8_t>& body) {
  std::string why;
  const auto* env = proto::verify_envelope(body, why);
  EXPECT_NE(env, nullptr) << why;
  return env;
}

}  // namespace bocd::testing

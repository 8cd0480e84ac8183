// RawClient: a bare socket speaking bytes to the daemon, for protocol and
// bad-input tests: send any bytes, read frames back with a generous bound,
// see the connection close.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bocd/proto/codec.h"

namespace bocd::testing {

class RawClient {
 public:
  explicit RawClient(const std::string& socket);
  ~RawClient();

  void send_bytes(const std::vector<std::uint8_t>& bytes);
  // Encodes with `fn(encoder)` and sends the frame(s).
  template <class F>
  void send(F&& fn) {
    std::vector<std::uint8_t> out;
    proto::Encoder enc(out);
    fn(enc);
    send_bytes(out);
  }
  // Sends Hello with this role and returns the Welcome's session id.
  std::uint64_t handshake(proto::fb::Role role = proto::fb::Role::Client,
                          std::uint64_t* id_base = nullptr);

  // The next frame body, or nullopt when the daemon closed the connection.
  // Waits at most 10 s (a bound for a hung daemon, not a timing check).
  std::optional<std::vector<std::uint8_t>> next_frame();
  // Reads frames until the connection closes; returns how many came first.
  int read_until_closed();
  // The socket, for tests that write or poll it themselves.
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  proto::FrameBuffer frames_;
};

// The verified Envelope of a frame body (fails the test if invalid).
const proto::fb::Envelope* envelope(const std::vector<std::uint8_t>& body);

}  // namespace bocd::testing

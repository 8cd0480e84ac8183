// Upgrader: offers a session that just handshook a faster link than the
// socket it handshook on (the shared-memory rings: ring_transport.h). The
// Dispatcher asks, and hands the session over; how the link is made is the
// upgrader's business.
//
// Thread: the io_context thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "bocd/proto/codec.h"
#include "link.h"

namespace bocd::server {

class Upgrader {
 public:
  // What the Welcome tells the peer about its new link.
  struct Terms {
    std::uint64_t ring_bytes = 0;
    std::uint32_t spin_us = 0;
  };
  // Encodes the session's Welcome for the given terms.
  using EncodeWelcome = std::function<void(proto::Encoder&, const Terms&)>;

  struct Result {
    // The session's link from now on, started; null when there is none.
    std::shared_ptr<Link> link;
    // Without a link: why not.
    std::string why;
    // Without a link: true if the Welcome was not sent because the socket
    // failed (close the session); false if nothing was sent (send a plain
    // Welcome on the socket instead).
    bool failed = false;
  };

  virtual ~Upgrader() = default;
  // Sends the Welcome `welcome` encodes on `current`, with what the new
  // link needs attached, and returns the new link.
  virtual Result upgrade(const std::shared_ptr<Link>& current,
                         const EncodeWelcome& welcome) = 0;
};

}  // namespace bocd::server

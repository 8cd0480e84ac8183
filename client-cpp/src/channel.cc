#include "channel.h"

#include <cstdlib>
#include <string_view>

#include "bocd/client/errors.h"
#include "handshake.h"
#include "ring_channel.h"
#include "socket_channel.h"

namespace bocd::client {

bool rings_from_env() {
  const char* v = std::getenv("BOCD_TRANSPORT");
  std::string_view s = v == nullptr ? "" : v;
  if (s.empty() || s == "ring") return true;
  if (s == "socket") return false;
  throw ConnectionError("BOCD_TRANSPORT is '" + std::string(s) +
                        "': use 'ring' (the default) or 'socket'");
}

std::unique_ptr<Channel> open_channel(const ChannelOptions& options) {
  ChannelOptions o = options;
  o.extras.ring = options.ring;
  // Only for the handshake: the channel moves the socket to its own
  // context.
  boost::asio::io_context io;
  Handshake h = connect_and_handshake(io, o);
  if (h.welcome.ring_bytes > 0) {
    return std::make_unique<RingChannel>(std::move(h), o);
  }
  return std::make_unique<SocketChannel>(std::move(h), o);
}

}  // namespace bocd::client

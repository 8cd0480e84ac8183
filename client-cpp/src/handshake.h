// Connecting to the daemon: the checks made before anything is sent (the
// socket's directory, the daemon's uid) and the synchronous Hello/Welcome
// exchange. Every channel starts this way, whatever carries its frames
// afterwards.
#pragma once

// Boost 1.74's asio/awaitable.hpp uses std::exchange without <utility>.
#include <utility>

#include <boost/asio.hpp>

#include <vector>

#include "bocd/proto/framing.h"
#include "bocd/proto/unique_fd.h"
#include "channel.h"

namespace bocd::client {

struct Handshake {
  boost::asio::local::stream_protocol::socket socket;
  Welcome welcome;
  // Frames that arrived after the Welcome, not yet delivered; its limit is
  // the daemon's frame size.
  proto::FrameBuffer frames;
  // With a Welcome that offers rings (welcome.ring_bytes > 0): the
  // segment's memfd, the eventfd the daemon parks on and the one this
  // side parks on, in that order.
  std::vector<proto::UniqueFd> fds;
};

// Connects to options.path with a socket of `io` and exchanges Hello and
// Welcome, waiting at most a few seconds for the answer. Throws as
// open_channel() documents.
Handshake connect_and_handshake(boost::asio::io_context& io,
                                const ChannelOptions& options);

}  // namespace bocd::client

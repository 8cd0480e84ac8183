#include "channel.h"

#include "socket_channel.h"

namespace bocd::client {

std::unique_ptr<Channel> open_channel(const ChannelOptions& options) {
  return std::make_unique<SocketChannel>(options);
}

}  // namespace bocd::client

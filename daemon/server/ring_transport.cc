#include "ring_transport.h"

#include <array>
#include <exception>

#include "bocd/proto/wake.h"

namespace bocd::server {

RingTransport::RingTransport(boost::asio::io_context& io,
                             FrameHandler& handler, RingConfig config,
                             ReceiveBudget& budget, RingPoller::Clock now)
    : io_(io),
      handler_(handler),
      config_(config),
      budget_(budget),
      poller_(io, config.spin, std::move(now)) {}

Upgrader::Result RingTransport::upgrade(const std::shared_ptr<Link>& current,
                                        const EncodeWelcome& welcome) {
  Result result;
  std::optional<proto::Segment> segment;
  proto::UniqueFd own_wake, peer_wake;
  try {
    segment.emplace(proto::Segment::create(config_.ring_bytes));
    own_wake = proto::make_wake_fd();
    peer_wake = proto::make_wake_fd();
  } catch (const std::exception& e) {
    // Out of memory or descriptors: the session keeps its socket.
    result.why = e.what();
    return result;
  }
  std::vector<std::uint8_t> frame;
  proto::Encoder enc(frame);
  welcome(enc, Terms{config_.ring_bytes,
                     static_cast<std::uint32_t>(config_.peer_spin.count())});
  // The order the Welcome's schema comment gives.
  std::array<int, 3> fds{segment->fd(), own_wake.get(), peer_wake.get()};
  if (!current->send_with_fds(frame, fds, result.why)) {
    result.failed = true;
    return result;
  }
  auto link = std::make_shared<RingLink>(
      io_, handler_, current, std::move(*segment), std::move(own_wake),
      std::move(peer_wake), config_.limits, budget_, poller_);
  link->start();
  result.link = std::move(link);
  return result;
}

}  // namespace bocd::server

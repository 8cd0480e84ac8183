// RingTransport: moves sessions that ask for it (Hello.ring) off their
// socket onto a shared-memory segment of their own: it makes the segment
// (a sealed memfd) and the two eventfds, passes them with the Welcome, and
// serves the resulting RingLinks with one RingPoller.
//
// Thread: the io_context thread only. Must outlive its links' I/O (the
// Server owns it beside the Dispatcher).
#pragma once

#include <chrono>
#include <cstdint>

#include "receive_budget.h"
#include "ring_link.h"
#include "upgrader.h"

namespace bocd::server {

struct RingConfig {
  // Bytes each ring holds (a power of two, proto/segment.h's bounds).
  std::uint64_t ring_bytes = 256 * 1024;
  // How long an idle ring is watched before the daemon parks on it, and
  // the longest each session's IO thread watches its own (Welcome.spin_us).
  std::chrono::microseconds spin{0};
  std::chrono::microseconds peer_spin{0};
  RingLimits limits;
};

class RingTransport final : public Upgrader {
 public:
  RingTransport(boost::asio::io_context& io, FrameHandler& handler,
                RingConfig config, ReceiveBudget& budget,
                RingPoller::Clock now);

  Result upgrade(const std::shared_ptr<Link>& current,
                 const EncodeWelcome& welcome) override;

 private:
  boost::asio::io_context& io_;
  FrameHandler& handler_;
  RingConfig config_;
  ReceiveBudget& budget_;
  RingPoller poller_;
};

}  // namespace bocd::server

// Connection: a Link over one peer's UNIX stream socket. It reassembles
// frames and hands each to its FrameHandler, and coalesces outbound frames
// so that a burst of messages leaves in one write. It knows no message
// types.
//
// Thread: the io_context thread only. Lifetime: shared_ptr, kept alive by
// its pending async operations and by the handler (link.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

// Boost 1.74's asio/awaitable.hpp uses std::exchange without <utility>.
#include <utility>

#include <boost/asio.hpp>

#include "bocd/proto/framing.h"
#include "frame_intake.h"
#include "link.h"
#include "peer.h"
#include "receive_budget.h"

namespace bocd::server {

struct ConnectionLimits {
  std::uint32_t max_frame_bytes = proto::DEFAULT_MAX_FRAME_BYTES;
  // A peer whose unread output exceeds this is disconnected.
  std::size_t max_queued_bytes = std::size_t{1} << 30;
  // A peer that has not completed its handshake this long after it
  // connected is disconnected (zero: never).
  std::chrono::milliseconds handshake_timeout{0};
};

class Connection final : public Link,
                         public std::enable_shared_from_this<Connection> {
 public:
  using Socket = boost::asio::local::stream_protocol::socket;
  // `budget` bounds the bytes of large frames being received across
  // connections; it must outlive the connection.
  Connection(Socket socket, FrameHandler& handler, PeerCredentials peer,
             ConnectionLimits limits, ReceiveBudget& budget);

  // Starts reading, and the handshake deadline. After the handler has
  // given the link its key.
  void start();

  // Link. A flush is posted, so every frame of the current handler run
  // leaves in one write; past max_queued_bytes unread, the peer is closed.
  std::vector<std::uint8_t>& out() override { return out_; }
  void flush_soon() override;
  void close(const std::string& reason) override;
  bool send_with_fds(std::span<const std::uint8_t> frame,
                     std::span<const int> fds, std::string& why) override;
  // Stops reading, sends what is queued, then closes.
  void close_after_flush(const std::string& reason) override;
  void close_saying(std::span<const std::uint8_t> last,
                    const std::string& reason) override;
  // No deadline any more, and frames up to max_frame_bytes.
  void handshake_done() override;
  // A duplicate of the socket is never closed: `bocd stop` learns the
  // daemon is gone, not merely stopping, when it sees end-of-file.
  void hold_open_until_exit() override;
  bool closed() const override { return closed_; }
  const PeerCredentials& peer() const override { return peer_; }

 private:
  void read();
  void on_read(const boost::system::error_code& ec, std::size_t n);
  void flush();

  Socket socket_;
  FrameHandler& handler_;
  PeerCredentials peer_;
  FrameIntake intake_;
  ConnectionLimits limits_;
  ReceiveBudget& budget_;
  boost::asio::steady_timer handshake_timer_;
  bool handshaken_ = false;
  std::vector<std::uint8_t> out_;
  std::vector<std::uint8_t> in_flight_;
  bool writing_ = false;
  bool flush_posted_ = false;
  bool closing_ = false;
  bool closed_ = false;
  bool held_ = false;  // hold_open_until_exit() was called
  std::string closing_reason_;
};

}  // namespace bocd::server

#include "connection.h"

#include <unistd.h>

#include <algorithm>

#include "bocd/proto/fd_passing.h"

namespace bocd::server {

namespace asio = boost::asio;

namespace {
constexpr std::size_t READ_CHUNK = 64 * 1024;
// Before the handshake a peer sends one small Hello: an idle connection
// holds no more than this.
constexpr std::size_t HELLO_CHUNK = 4 * 1024;
// The largest frame before the handshake: a Hello, whose environment is a
// search path, is far smaller; a peer not yet admitted cannot claim
// receive budget for a large frame.
constexpr std::uint32_t HELLO_MAX = 1u << 20;
}  // namespace

Connection::Connection(Socket socket, FrameHandler& handler,
                       PeerCredentials peer, ConnectionLimits limits,
                       ReceiveBudget& budget)
    : socket_(std::move(socket)),
      handler_(handler),
      peer_(peer),
      frames_(std::min(limits.max_frame_bytes, HELLO_MAX)),
      limits_(limits),
      budget_(budget),
      handshake_timer_(socket_.get_executor()) {}

void Connection::start() {
  if (limits_.handshake_timeout.count() > 0) {
    // The whole handshake, from accept: a peer trickling bytes of its
    // Hello is held to the same deadline as a silent one.
    handshake_timer_.expires_after(limits_.handshake_timeout);
    handshake_timer_.async_wait(
        [weak = weak_from_this()](const boost::system::error_code& ec) {
          auto self = weak.lock();
          if (ec || !self || self->handshaken_) return;
          self->close("handshake not completed within " +
                      std::to_string(self->limits_.handshake_timeout.count()) +
                      " ms");
        });
  }
  read();
}

void Connection::handshake_done() {
  handshaken_ = true;
  handshake_timer_.cancel();
  frames_.set_max_frame_bytes(limits_.max_frame_bytes);
}

void Connection::read() {
  auto space = frames_.prepare(handshaken_ ? READ_CHUNK : HELLO_CHUNK);
  socket_.async_read_some(
      asio::buffer(space.data(), space.size()),
      [self = shared_from_this()](const boost::system::error_code& ec,
                                  std::size_t n) { self->on_read(ec, n); });
}

void Connection::on_read(const boost::system::error_code& ec, std::size_t n) {
  if (closed_ || closing_) return;
  if (ec) {
    close(ec == asio::error::eof ? "peer closed the connection"
                                 : "read failed: " + ec.message());
    return;
  }
  frames_.commit(n);
  for (;;) {
    std::span<const std::uint8_t> body;
    switch (frames_.next(body)) {
      case proto::FrameBuffer::Next::need_more:
        if (claim_budget()) read();
        return;
      case proto::FrameBuffer::Next::oversized:
        close("frame length exceeds the limit of " +
              std::to_string(frames_.max_frame_bytes()) + " bytes");
        return;
      case proto::FrameBuffer::Next::empty_frame:
        close("empty frame");
        return;
      case proto::FrameBuffer::Next::frame:
        handler_.on_frame(*this, body);
        if (closed_ || closing_) return;
        frames_.pop();
        if (claimed_ > 0) {
          release_budget();
          frames_.trim(2 * READ_CHUNK);
        }
        break;
    }
  }
}

bool Connection::claim_budget() {
  std::size_t n = frames_.pending_length();
  if (n <= SMALL_FRAME || claimed_ > 0) return true;
  if (n > budget_.limit()) {
    close("frame of " + std::to_string(n) + " bytes is larger than the "
          "daemon's budget for frames being received (" +
          std::to_string(budget_.limit()) + " bytes)");
    return false;
  }
  auto granted = [weak = weak_from_this(), n, &budget = budget_] {
    auto self = weak.lock();
    if (!self || self->closed_ || self->closing_) {
      budget.release(n);
      return;
    }
    self->claimed_ = n;
    // Read from a fresh handler: this runs inside another connection's
    // release.
    asio::post(self->socket_.get_executor(), [self] {
      if (!self->closed_ && !self->closing_) self->read();
    });
  };
  if (!budget_.claim(n, granted)) return false;  // reading resumes on grant
  claimed_ = n;
  return true;
}

void Connection::release_budget() {
  std::size_t n = claimed_;
  claimed_ = 0;
  if (n > 0) budget_.release(n);
}

void Connection::flush_soon() {
  if (out_.size() > limits_.max_queued_bytes && !closed_) {
    // Closed from a fresh handler: the caller may still be using its peer.
    asio::post(socket_.get_executor(),
               [self = shared_from_this(), n = out_.size()] {
                 self->close("peer is not reading: " + std::to_string(n) +
                             " bytes queued");
               });
    return;
  }
  if (flush_posted_ || writing_ || closed_) return;
  flush_posted_ = true;
  // Posted, so every frame produced by the current burst of input goes out
  // in this one write.
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->flush_posted_ = false;
    self->flush();
  });
}

void Connection::flush() {
  if (writing_ || closed_) return;
  if (out_.empty()) {
    if (closing_) close(closing_reason_);
    return;
  }
  in_flight_.swap(out_);
  writing_ = true;
  asio::async_write(
      socket_, asio::buffer(in_flight_),
      [self = shared_from_this()](const boost::system::error_code& ec,
                                  std::size_t) {
        self->writing_ = false;
        self->in_flight_.clear();
        if (ec) {
          self->close("write failed: " + ec.message());
          return;
        }
        self->flush();
      });
}

bool Connection::send_with_fds(std::span<const std::uint8_t> frame,
                               std::span<const int> fds, std::string& why) {
  if (closed_ || closing_ || writing_ || !out_.empty()) {
    why = "the connection has output queued";
    return false;
  }
  try {
    // Synchronous: a frame this small fits the empty socket buffer of a
    // peer that has only just handshaken.
    proto::send_with_fds(socket_.native_handle(), frame, fds);
  } catch (const std::exception& e) {
    why = e.what();
    return false;
  }
  return true;
}

void Connection::hold_open_until_exit() {
  // Deliberately leaked: the kernel closes it when the process exits.
  (void)::dup(socket_.native_handle());
  held_ = true;
}

void Connection::close_after_flush(const std::string& reason) {
  if (closed_ || closing_) return;
  closing_ = true;
  closing_reason_ = reason;
  flush_soon();
}

void Connection::close(const std::string& reason) {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  // shutdown() acts on the socket, not this descriptor: it would end a
  // held connection for the peer at once.
  if (!held_) socket_.shutdown(Socket::shutdown_both, ignored);
  socket_.close(ignored);
  handshake_timer_.cancel();
  out_.clear();
  release_budget();
  handler_.on_closed(*this, reason);
}

}  // namespace bocd::server

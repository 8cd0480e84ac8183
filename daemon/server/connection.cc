#include "connection.h"

#include <unistd.h>

namespace bocd::server {

namespace asio = boost::asio;

namespace {
constexpr std::size_t READ_CHUNK = 64 * 1024;
}

Connection::Connection(Socket socket, FrameHandler& handler,
                       PeerCredentials peer, std::uint32_t max_frame_bytes,
                       std::size_t max_queued_bytes)
    : socket_(std::move(socket)),
      handler_(handler),
      peer_(peer),
      frames_(max_frame_bytes),
      max_queued_(max_queued_bytes) {}

void Connection::start() { read(); }

void Connection::read() {
  auto space = frames_.prepare(READ_CHUNK);
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
        read();
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
        break;
    }
  }
}

void Connection::flush_soon() {
  if (out_.size() > max_queued_ && !closed_) {
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
  out_.clear();
  handler_.on_closed(*this, reason);
}

}  // namespace bocd::server

#include "connection.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

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
      intake_(std::min(limits.max_frame_bytes, HELLO_MAX), budget,
              2 * READ_CHUNK),
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
  intake_.buffer().set_max_frame_bytes(limits_.max_frame_bytes);
}

void Connection::read() {
  auto space = intake_.buffer().prepare(handshaken_ ? READ_CHUNK : HELLO_CHUNK);
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
  intake_.buffer().commit(n);
  auto open = [this] { return !closed_ && !closing_; };
  auto on_grant = [weak = weak_from_this(), &budget = budget_](std::size_t n) {
    auto self = weak.lock();
    if (!self || self->closed_ || self->closing_) {
      budget.release(n);
      return;
    }
    self->intake_.granted(n);
    // Read from a fresh handler: this runs inside another link's release.
    asio::post(self->socket_.get_executor(), [self] {
      if (!self->closed_ && !self->closing_) self->read();
    });
  };
  if (intake_.deliver(*this, handler_, open, on_grant) ==
      FrameIntake::Next::more) {
    read();
  }
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

void Connection::close_saying(std::span<const std::uint8_t> last,
                              const std::string& reason) {
  if (closed_) return;
  // While a write is in flight its bytes may be only partly sent: ours
  // would interleave with them, so the last word is dropped then.
  if (!writing_) {
    out_.insert(out_.end(), last.begin(), last.end());
    std::size_t sent = 0;
    while (sent < out_.size()) {
      ssize_t n = ::send(socket_.native_handle(), out_.data() + sent,
                         out_.size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // full (the peer is not reading), or gone
      sent += static_cast<std::size_t>(n);
    }
  }
  close(reason);
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
  intake_.release();
  handler_.on_closed(*this, reason);
}

}  // namespace bocd::server

#include "socket_channel.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

#include "frame_delivery.h"
#include "handshake.h"

namespace bocd::client {

namespace asio = boost::asio;

SocketChannel::SocketChannel(Handshake h, const ChannelOptions& options)
    : ChannelBase(h, options), frames_(std::move(h.frames)) {}

SocketChannel::~SocketChannel() { close(); }

void SocketChannel::send(Encode encode) {
  bool io = on_io_thread();
  if (io) hand_over_io_output();
  std::lock_guard<std::mutex> lock(mu_);
  encode(encoder_);
  if (caller_writes_) {
    write_direct_locked();  // see ChannelOptions::caller_writes
  } else if (io) {
    schedule_flush_locked();
  } else if (pending_.size() >= DIRECT_BYTES) {
    write_direct_locked();  // enough for one write: no need to wait
  } else if (!lingering_) {
    lingering_ = true;
    asio::post(io_, [this] { linger(); });
  }
}

void SocketChannel::send_urgent(Encode encode) {
  if (on_io_thread()) return send(encode);
  std::lock_guard<std::mutex> lock(mu_);
  encode(encoder_);
  write_direct_locked();
}

void SocketChannel::read() {
  std::string why = deliver_frames(frames_, on_frame_, path_);
  if (!why.empty()) return fail(why);
  hand_over_io_output();
  auto space = frames_.prepare(64 * 1024);
  socket_.async_read_some(
      asio::buffer(space.data(), space.size()),
      [this](const boost::system::error_code& ec, std::size_t n) {
        if (ec) return fail(lost(ec));
        frames_.commit(n);
        read();
      });
}

void SocketChannel::take_io_output_locked() {
  pending_.insert(pending_.end(), io_out_.begin(), io_out_.end());
  io_out_.clear();
}

void SocketChannel::hand_over_io_output() {
  if (io_out_.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  take_io_output_locked();
  schedule_flush_locked();
}

void SocketChannel::flush_urgent() {
  std::lock_guard<std::mutex> lock(mu_);
  if (on_io_thread() && !io_out_.empty()) take_io_output_locked();
  write_direct_locked();
}

void SocketChannel::write_direct_locked() {
  if (closed_) {  // frames sent after the close go nowhere
    pending_.clear();
    return;
  }
  // One writer at a time: the async chain owns the socket while in flight
  // (never with caller_writes_, where every writer finishes its write).
  if (async_in_flight_ || pending_.empty()) return;
  std::size_t done = 0;
  int fd = socket_.native_handle();
  while (done < pending_.size()) {
    ssize_t n = ::send(fd, pending_.data() + done, pending_.size() - done,
                       MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
               caller_writes_) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, -1);  // the daemon reads whenever it can
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
               errno != ENOMEM && errno != ENOBUFS) {
      pending_.clear();  // the connection is gone; the read side reports it
      return;
    } else {
      break;  // full or short of memory: the async write retries
    }
  }
  pending_.erase(pending_.begin(),
                 pending_.begin() + static_cast<std::ptrdiff_t>(done));
  // A flush posted earlier finds nothing left and stands down; else it
  // writes the rest when the socket has room.
  if (!pending_.empty()) schedule_flush_locked();
}

std::uint64_t SocketChannel::flush_counted() {
  std::lock_guard<std::mutex> lock(mu_);
  if (on_io_thread() && !io_out_.empty()) take_io_output_locked();
  write_direct_locked();
  return sealed_frames_locked();
}

void SocketChannel::linger() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) {
      lingering_ = false;
      return;
    }
    if (!pending_.empty()) {
      idle_lingers_ = 0;
      schedule_flush_locked();  // runs next on this thread: no wake-up
    } else if (++idle_lingers_ >= IDLE_LINGERS) {
      idle_lingers_ = 0;
      lingering_ = false;  // the next send wakes this thread again
      return;
    }
  }
  linger_timer_.expires_after(LINGER);
  linger_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) {
      std::lock_guard<std::mutex> lock(mu_);
      lingering_ = false;
      return;
    }
    linger();
  });
}

void SocketChannel::schedule_flush_locked() {
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  asio::post(io_, [this] { flush(); });
}

void SocketChannel::flush() {
  if (caller_writes_) {
    std::lock_guard<std::mutex> lock(mu_);
    flush_scheduled_ = false;
    if (failed_) {
      pending_.clear();
      return;
    }
    write_direct_locked();
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (pending_.empty() || failed_) {
      pending_.clear();
      flush_scheduled_ = false;
      async_in_flight_ = false;
      return;
    }
    writing_.swap(pending_);
    pending_.clear();
    async_in_flight_ = true;
  }
  asio::async_write(socket_, asio::buffer(writing_),
                    [this](const boost::system::error_code& ec, std::size_t) {
                      writing_.clear();
                      if (ec) {
                        std::lock_guard<std::mutex> lock(mu_);
                        flush_scheduled_ = false;
                        async_in_flight_ = false;
                        // Reported once by the read side's failure.
                        return;
                      }
                      flush();
                    });
}

}  // namespace bocd::client

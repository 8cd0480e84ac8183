#include "ring_channel.h"

#include <sys/socket.h>

#include "bocd/client/errors.h"
#include "bocd/proto/wake.h"
#include "frame_delivery.h"

namespace bocd::client {

namespace asio = boost::asio;

namespace {

proto::Segment map_segment(proto::UniqueFd fd, const std::string& path) {
  try {
    return proto::Segment::map(std::move(fd));
  } catch (const std::exception& e) {
    throw ConnectionError("the bocd daemon at " + path +
                          " handed over a bad ring segment: " + e.what());
  }
}

}  // namespace

RingChannel::RingChannel(Handshake h, const ChannelOptions& options)
    : ChannelBase(h, options),
      socket_frames_(std::move(h.frames)),
      segment_(map_segment(std::move(h.fds.at(0)), options.path)),
      daemon_wake_(std::move(h.fds.at(1))),
      reader_(segment_.from_daemon(), daemon_wake_.get()),
      frames_(socket_frames_.max_frame_bytes()),
      spin_(std::chrono::microseconds(welcome_.spin_us)),
      writer_(segment_.to_daemon(), daemon_wake_.get()) {
  if (segment_.ring_capacity() != welcome_.ring_bytes) {
    throw ConnectionError("the bocd daemon at " + path_ +
                          " handed over rings of " +
                          std::to_string(segment_.ring_capacity()) +
                          " bytes, not the " +
                          std::to_string(welcome_.ring_bytes) + " it said");
  }
  own_wake_.assign(h.fds.at(2).release());
}

RingChannel::~RingChannel() { close(); }

void RingChannel::begin() {
  // Frames that came on the socket with the Welcome go first.
  std::string why = deliver_frames(socket_frames_, on_frame_, path_);
  if (!why.empty()) return fail(why);
  read_socket();
  pump();
}

void RingChannel::cancel_waits() {
  boost::system::error_code ignored;
  own_wake_.cancel(ignored);
}

void RingChannel::send(Encode encode) {
  bool io = on_io_thread();
  if (io) hand_over_io_output();
  std::lock_guard<std::mutex> lock(mu_);
  encode(encoder_);
  push_locked(caller_writes_);
}

void RingChannel::send_urgent(Encode encode) { send(encode); }

void RingChannel::flush_urgent() {
  if (on_io_thread()) hand_over_io_output();
  std::lock_guard<std::mutex> lock(mu_);
  push_locked(caller_writes_);
}

std::uint64_t RingChannel::flush_counted() {
  if (on_io_thread()) hand_over_io_output();
  std::lock_guard<std::mutex> lock(mu_);
  push_locked(true);
  return sealed_frames_locked();
}

void RingChannel::hand_over_io_output() {
  if (io_out_.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  pending_.insert(pending_.end(), io_out_.begin(), io_out_.end());
  io_out_.clear();
  push_locked(caller_writes_);
}

void RingChannel::push_locked(bool wait) {
  if (closed_) {  // frames sent after the close go nowhere
    pending_.clear();
    pending_sent_ = 0;
    return;
  }
  while (pending_sent_ < pending_.size()) {
    proto::RingResult r = writer_.try_write(
        std::span<const std::uint8_t>(pending_).subspan(pending_sent_));
    if (!r.ok()) {
      closed_ = true;
      asio::post(io_, [this, why = std::string(proto::describe(r.error))] {
        fail("the ring to the bocd daemon at " + path_ + " broke: " + why);
      });
      return;
    }
    pending_sent_ += r.bytes;
    if (r.bytes > 0) writer_.wake_peer_if_parked();
    if (pending_sent_ == pending_.size()) break;
    if (!wait) {
      // The IO thread writes the rest when the daemon makes room (it
      // parks with the writer's flag up: park()).
      if (!nudged_) {
        nudged_ = true;
        asio::post(io_, [this] { pump(); });
      }
      return;
    }
    // A spin long enough to catch the daemon draining a full ring, then a
    // park on this side's eventfd.
    proto::SpinThenPark room(std::chrono::microseconds(50),
                             std::chrono::milliseconds(10));
    room.wait_writable(writer_, own_wake_.native_handle());
    // The IO thread may park on the same eventfd, and the wait above
    // drained it: pass the wake-up on, in case it was the reader's.
    if (!on_io_thread()) proto::signal_eventfd(own_wake_.native_handle());
  }
  if (pending_sent_ == pending_.size()) {
    pending_.clear();
    pending_sent_ = 0;
  }
}

void RingChannel::pump() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    nudged_ = false;
  }
  if (failed_) return;
  // Called when woken, or to start: the spell since the last work ended
  // parked (the budget learns it; nothing was read yet to say so).
  auto now = std::chrono::steady_clock::now();
  if (last_work_ != std::chrono::steady_clock::time_point{}) {
    spin_.idle_spell(now - last_work_);
  }
  bool spun = false;
  for (;;) {
    if (pump_once()) {
      if (failed_) return;
      now = std::chrono::steady_clock::now();
      if (spun) spin_.idle_spell(now - last_work_);  // the spin caught it
      spun = false;
      last_work_ = now;
      continue;
    }
    if (spin_.current().count() == 0 ||
        std::chrono::steady_clock::now() - last_work_ >= spin_.current()) {
      break;
    }
    spun = true;
    // Watching costs no syscall; the clock is read once per 64 looks.
    for (int i = 0; i < 64 && reader_.available_bytes() == 0; ++i) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
  }
  park();
}

bool RingChannel::pump_once() {
  proto::RingResult r = reader_.read_into(frames_);
  if (!r.ok()) {
    fail("the ring from the bocd daemon at " + path_ + " broke: " +
         proto::describe(r.error));
    return true;
  }
  if (r.bytes > 0) reader_.wake_peer_if_parked();
  std::string why = deliver_frames(frames_, on_frame_, path_);
  if (!why.empty()) {
    fail(why);
    return true;
  }
  bool wrote = false;
  {
    hand_over_io_output();
    std::lock_guard<std::mutex> lock(mu_);
    std::size_t before = pending_sent_ + pending_.size();
    push_locked(false);
    wrote = pending_sent_ + pending_.size() != before;
  }
  return r.bytes > 0 || wrote;
}

void RingChannel::park() {
  if (failed_ || waiting_) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Waiting for room too: the daemon signals after it reads.
    if (pending_sent_ < pending_.size() && !writer_.announce_parking()) {
      if (!nudged_) {
        nudged_ = true;
        asio::post(io_, [this] { pump(); });
      }
      return;
    }
  }
  if (!reader_.announce_parking()) {
    asio::post(io_, [this] { pump(); });
    return;
  }
  waiting_ = true;
  own_wake_.async_wait(asio::posix::stream_descriptor::wait_read,
                       [this](const boost::system::error_code& ec) {
                         waiting_ = false;
                         if (ec || failed_) return;
                         proto::drain_wake_fd(own_wake_.native_handle());
                         pump();
                       });
}

void RingChannel::read_socket() {
  auto space = socket_frames_.prepare(4096);
  socket_.async_read_some(
      asio::buffer(space.data(), space.size()),
      [this](const boost::system::error_code& ec, std::size_t n) {
        if (ec) {
          if (failed_) return;
          // The daemon wrote the ring before it closed the socket: what
          // it said last (an Error, say) is there.
          pump_once();
          return fail(lost(ec));
        }
        socket_frames_.commit(n);
        std::string why = deliver_frames(socket_frames_, on_frame_, path_);
        if (!why.empty()) return fail(why);
        read_socket();
      });
}

}  // namespace bocd::client

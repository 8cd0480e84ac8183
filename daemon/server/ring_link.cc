#include "ring_link.h"

#include <algorithm>

#include "bocd/proto/wake.h"

namespace bocd::server {

namespace asio = boost::asio;

RingLink::RingLink(asio::io_context& io, FrameHandler& handler,
                   std::shared_ptr<Link> socket, proto::Segment segment,
                   proto::UniqueFd own_wake, proto::UniqueFd peer_wake,
                   RingLimits limits, ReceiveBudget& budget,
                   RingPoller& poller)
    : handler_(handler),
      socket_(std::move(socket)),
      segment_(std::move(segment)),
      peer_wake_(std::move(peer_wake)),
      own_wake_(io, own_wake.release()),
      writer_(segment_.from_daemon(), peer_wake_.get()),
      reader_(segment_.to_daemon(), own_wake_.native_handle()),
      intake_(limits.max_frame_bytes, budget, 2 * FrameIntake::SMALL_FRAME),
      limits_(limits),
      budget_(budget),
      poller_(poller) {}

void RingLink::start() { poller_.activate(shared_from_this()); }

void RingLink::flush_soon() {
  if (closed_) return;
  if (out_.size() - sent_ > limits_.max_queued_bytes) {
    // Closed from a fresh handler: the caller may still be using its peer.
    asio::post(own_wake_.get_executor(),
               [self = shared_from_this(), n = out_.size() - sent_] {
                 self->close("peer is not reading: " + std::to_string(n) +
                             " bytes queued");
               });
    return;
  }
  if (!active) poller_.activate(shared_from_this());
}

bool RingLink::pump() {
  if (closed_) return false;
  bool moved = write_out();
  if (!closed_ && !closing_ && !waiting_budget_) moved = read_in() || moved;
  return moved;
}

bool RingLink::write_out() {
  if (sent_ == out_.size()) return false;
  proto::RingResult r = writer_.try_write(
      std::span<const std::uint8_t>(out_).subspan(sent_));
  if (!r.ok()) {
    close(std::string("ring: ") + proto::describe(r.error));
    return true;
  }
  if (r.bytes == 0) return false;
  sent_ += r.bytes;
  writer_.wake_peer_if_parked();
  if (sent_ == out_.size()) {
    out_.clear();
    sent_ = 0;
    if (closing_) close(closing_reason_);
  }
  return true;
}

bool RingLink::read_in() {
  proto::RingResult r = reader_.read_into(intake_.buffer());
  if (!r.ok()) {
    close(std::string("ring: ") + proto::describe(r.error));
    return true;
  }
  if (r.bytes > 0) reader_.wake_peer_if_parked();
  auto open = [this] { return !closed_ && !closing_; };
  auto on_grant = [weak = weak_from_this(), &budget = budget_](std::size_t n) {
    auto self = weak.lock();
    if (!self || self->closed_) {
      budget.release(n);
      return;
    }
    self->intake_.granted(n);
    self->waiting_budget_ = false;
    // From a fresh handler: this runs inside another link's release.
    asio::post(self->own_wake_.get_executor(), [self] {
      if (!self->closed_ && !self->active) self->poller_.activate(self);
    });
  };
  switch (intake_.deliver(*this, handler_, open, on_grant)) {
    case FrameIntake::Next::more:
      return r.bytes > 0;
    case FrameIntake::Next::wait:
      // The ring fills and the peer waits: that is the back-pressure.
      waiting_budget_ = true;
      return r.bytes > 0;
    case FrameIntake::Next::closed:
      break;
  }
  return true;
}

bool RingLink::park() {
  if (closed_) return true;
  // Waiting for room: the peer signals after it reads.
  if (sent_ < out_.size() && !writer_.announce_parking()) return false;
  // Waiting for data, unless a budget grant will wake us instead.
  if (!closing_ && !waiting_budget_ && !reader_.announce_parking()) {
    return false;
  }
  wait_for_signal();
  return true;
}

void RingLink::wait_for_signal() {
  if (waiting_ || closed_) return;
  waiting_ = true;
  own_wake_.async_wait(
      asio::posix::stream_descriptor::wait_read,
      [self = shared_from_this()](const boost::system::error_code& ec) {
        self->waiting_ = false;
        if (ec || self->closed_) return;
        proto::drain_wake_fd(self->own_wake_.native_handle());
        if (!self->active) self->poller_.activate(self);
      });
}

void RingLink::close_after_flush(const std::string& reason) {
  if (closed_ || closing_) return;
  closing_ = true;
  closing_reason_ = reason;
  if (sent_ == out_.size()) return close(reason);
  flush_soon();
}

void RingLink::close_saying(std::span<const std::uint8_t> last,
                            const std::string& reason) {
  if (closed_) return;
  out_.insert(out_.end(), last.begin(), last.end());
  write_out();  // what fits in the ring now; the peer drains it at EOF
  close(reason);
}

void RingLink::close(const std::string& reason) {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  own_wake_.cancel(ignored);
  out_.clear();
  sent_ = 0;
  intake_.release();
  handler_.on_closed(*this, reason);
  // The peer learns it from its socket's end-of-file, after what was in
  // the ring (it drains the ring before it believes the socket).
  socket_->close(reason);
}

RingPoller::RingPoller(asio::io_context& io, std::chrono::microseconds spin,
                       Clock now)
    : io_(io), spin_(spin), now_(std::move(now)) {}

void RingPoller::activate(const std::shared_ptr<RingLink>& link) {
  if (link->active || link->closed()) return;
  link->active = true;
  bool idle = active_.empty();
  active_.push_back(link);
  auto now = now_();
  if (idle) {  // woken from its park: that spell was not caught
    spin_.idle_spell(now - last_work_);
    spun_ = false;
  }
  last_work_ = now;
  schedule();
}

void RingPoller::schedule() {
  if (scheduled_) return;
  scheduled_ = true;
  asio::post(io_, [this] {
    scheduled_ = false;
    round();
  });
}

void RingPoller::round() {
  // Passes over the links, in this one handler while they move bytes: each
  // posted round costs the event loop a (non-blocking) epoll_wait, which a
  // busy daemon would otherwise pay per pass. Sockets and timers still get
  // their turn every PASSES_PER_ROUND passes.
  bool worked = false;
  for (int pass = 0; pass < PASSES_PER_ROUND; ++pass) {
    bool moved = false;
    // Links activated during the pass (a frame handled here sends to
    // another session) join active_ and are pumped in this pass too.
    for (std::size_t i = 0; i < active_.size(); ++i) {
      std::shared_ptr<RingLink> link = active_[i];
      moved = link->pump() || moved;
    }
    if (!moved) break;
    worked = true;
  }
  auto now = now_();
  if (worked) {
    // Work found while spinning ends a spell the spin caught.
    if (spun_) spin_.idle_spell(now - last_work_);
    spun_ = false;
    last_work_ = now;
  } else {
    spun_ = true;
  }
  bool spinning = worked || now - last_work_ < spin_.current();
  next_.clear();
  for (auto& link : active_) {
    if (link->closed()) {
      link->active = false;
    } else if (!spinning && link->park()) {
      link->active = false;
    } else {
      next_.push_back(std::move(link));
    }
  }
  active_.swap(next_);
  if (!active_.empty()) schedule();
}

}  // namespace bocd::server

// RingLink: a Link whose frames travel through the session's shared-memory
// segment (bocd/proto/segment.h): the peer writes the to-daemon ring, the
// daemon the from-daemon ring, and each side signals the other's eventfd
// only when that side announced that it parks (bocd/proto/ring.h). The
// socket the session handshook on (the link this one replaced) stays open:
// the peer's death is still its end-of-file, and the first close of either
// ends the session (link.h).
//
// Bytes read from the ring are copied into private memory and reassembled
// and size-checked exactly as socket bytes are; the ring positions the
// peer writes are checked, so a hostile or dying peer can at worst close
// its own session.
//
// Thread: the io_context thread only. Lifetime: shared_ptr, held by the
// handler while the session lasts and by RingPoller while it is active.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

// Boost 1.74's asio/awaitable.hpp uses std::exchange without <utility>.
#include <utility>

#include <boost/asio.hpp>

#include "bocd/proto/framing.h"
#include "bocd/proto/spin_budget.h"
#include "bocd/proto/ring.h"
#include "bocd/proto/spin_budget.h"
#include "bocd/proto/segment.h"
#include "bocd/proto/unique_fd.h"
#include "frame_intake.h"
#include "link.h"
#include "receive_budget.h"

namespace bocd::server {

class RingPoller;

struct RingLimits {
  std::uint32_t max_frame_bytes = proto::DEFAULT_MAX_FRAME_BYTES;
  // A peer whose unread output exceeds this is disconnected.
  std::size_t max_queued_bytes = std::size_t{1} << 30;
};

class RingLink final : public Link,
                       public std::enable_shared_from_this<RingLink> {
 public:
  // `socket`: the link the session handshook on. `own_wake`: the eventfd
  // the daemon parks on (the peer signals it); `peer_wake`: the one the
  // peer parks on. `budget` and `poller` must outlive the link.
  RingLink(boost::asio::io_context& io, FrameHandler& handler,
           std::shared_ptr<Link> socket, proto::Segment segment,
           proto::UniqueFd own_wake, proto::UniqueFd peer_wake,
           RingLimits limits, ReceiveBudget& budget, RingPoller& poller);

  // Starts serving: a first look at the rings, then parking.
  void start();

  // Link. Output is written to the ring by the poller's next round, so
  // every frame of the current handler run leaves together.
  std::vector<std::uint8_t>& out() override { return out_; }
  void flush_soon() override;
  void close(const std::string& reason) override;
  void close_after_flush(const std::string& reason) override;
  void close_saying(std::span<const std::uint8_t> last,
                    const std::string& reason) override;
  void handshake_done() override {}  // the socket link was told
  void hold_open_until_exit() override { socket_->hold_open_until_exit(); }
  bool closed() const override { return closed_; }
  const PeerCredentials& peer() const override { return socket_->peer(); }

  // For RingPoller. Writes what output fits, reads what the peer wrote and
  // delivers its whole frames; true if any byte moved either way.
  bool pump();
  // Announces that the daemon parks on this session's rings and starts
  // waiting for the peer's signal; false (nothing announced) if there is
  // work now: pump again.
  bool park();
  // The poller's bookkeeping: whether it holds this link in its round.
  bool active = false;

 private:
  void wait_for_signal();
  bool write_out();
  bool read_in();

  FrameHandler& handler_;
  std::shared_ptr<Link> socket_;
  proto::Segment segment_;
  proto::UniqueFd peer_wake_;
  boost::asio::posix::stream_descriptor own_wake_;
  proto::RingWriter writer_;  // the from-daemon ring
  proto::RingReader reader_;  // the to-daemon ring
  FrameIntake intake_;
  RingLimits limits_;
  ReceiveBudget& budget_;
  RingPoller& poller_;
  bool waiting_budget_ = false;  // a large frame waits for its claim
  std::vector<std::uint8_t> out_;
  std::size_t sent_ = 0;      // bytes of out_ already in the ring
  bool waiting_ = false;      // an async wait on own_wake_ is pending
  bool closing_ = false;
  bool closed_ = false;
  std::string closing_reason_;
};

// RingPoller: runs the rounds that serve every active ring link. A link
// becomes active when its peer signals it or it has output; a round pumps
// each active link, again while any moved a byte (up to PASSES_PER_ROUND
// passes); rounds follow one another while any moved a byte,
// then for a spin more (looking for work without a syscall; at most
// `spin`, as the daemon's idle spells show it pays: proto::SpinBudget),
// and then each idle link parks and leaves the round. Rounds are posted handlers, so
// sockets and timers are served between them.
//
// Thread: the io_context thread only.
class RingPoller {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  RingPoller(boost::asio::io_context& io, std::chrono::microseconds spin,
             Clock now);

  // `link` has work: hold it in the rounds until it parks.
  void activate(const std::shared_ptr<RingLink>& link);

 private:
  static constexpr int PASSES_PER_ROUND = 16;

  void schedule();
  void round();

  boost::asio::io_context& io_;
  proto::SpinBudget spin_;
  Clock now_;
  std::vector<std::shared_ptr<RingLink>> active_;
  std::vector<std::shared_ptr<RingLink>> next_;  // reused between rounds
  bool scheduled_ = false;
  std::chrono::steady_clock::time_point last_work_{};
  bool spun_ = false;  // a round found nothing since the last work
};

}  // namespace bocd::server

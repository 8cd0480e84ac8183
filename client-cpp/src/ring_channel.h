// RingChannel: a Channel whose frames travel through the session's
// shared-memory segment, handed over with the Welcome (bocd/proto/segment.h,
// ring.h): this side writes the to-daemon ring and reads the from-daemon
// ring. The socket stays open only so that each side learns of the other's
// death (end-of-file); frames the daemon still sends on it are delivered
// too.
//
// A send copies its frames into the ring from the calling thread, with no
// syscall unless the daemon announced that it parks (then one eventfd
// write wakes it). The IO thread reads the ring, and when it finds nothing
// it watches the ring for a spin (at most Welcome.spin_us, as this side's
// idle spells show it pays: proto::SpinBudget) before it parks on
// its eventfd. When the ring is full, what does not fit waits in memory and
// the IO thread writes it as the daemon makes room (with caller_writes,
// the sender waits for room itself).
//
// Thread safety: as Channel.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "bocd/proto/ring.h"
#include "bocd/proto/segment.h"
#include "bocd/proto/spin_budget.h"
#include "bocd/proto/unique_fd.h"
#include "channel_base.h"
#include "handshake.h"

namespace bocd::client {

class RingChannel final : public ChannelBase {
 public:
  // Maps the segment the handshake received; throws ConnectionError
  // naming what is wrong with it.
  RingChannel(Handshake handshake, const ChannelOptions& options);
  ~RingChannel() override;
  RingChannel(const RingChannel&) = delete;
  RingChannel& operator=(const RingChannel&) = delete;

  void send(Encode encode) override;
  void send_urgent(Encode encode) override;
  void flush_urgent() override;
  std::uint64_t flush_counted() override;

 private:
  // Delivers the frames that came with the Welcome, then reads the socket
  // and pumps the ring.
  void begin() override;
  void cancel_waits() override;
  // Copies what fits of pending_ into the ring. With `wait`, until all of
  // it is in (parking for room). Under mu_.
  void push_locked(bool wait);
  void hand_over_io_output();
  // IO thread: reads and delivers, writes what waits, then watches the
  // ring for the spin time and parks.
  void pump();
  bool pump_once();
  void park();
  void read_socket();

  proto::FrameBuffer socket_frames_;  // IO thread only
  proto::Segment segment_;
  proto::UniqueFd daemon_wake_;  // the daemon parks on it
  boost::asio::posix::stream_descriptor own_wake_{io_};
  proto::RingReader reader_;     // IO thread only
  proto::FrameBuffer frames_;    // IO thread only: from the ring
  // How long the IO thread watches the idle ring before it parks: up to
  // Welcome.spin_us (the daemon's --peer-spin-us), as this side's idle
  // spells show it pays. IO thread only, as is the time of its last work.
  proto::SpinBudget spin_;
  std::chrono::steady_clock::time_point last_work_{};  // epoch: none yet
  bool waiting_ = false;         // IO thread only: parked on own_wake_

  proto::RingWriter writer_;     // guarded by mu_
  // Guarded by mu_: how much of pending_ is in the ring already.
  std::size_t pending_sent_ = 0;
  bool nudged_ = false;          // guarded by mu_: pump() posted
};

}  // namespace bocd::client

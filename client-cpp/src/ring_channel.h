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
// it watches the ring for the daemon's spin time before it parks on its
// eventfd. When the ring is full, what does not fit waits in memory and
// the IO thread writes it as the daemon makes room (with caller_writes,
// the sender waits for room itself).
//
// Caller reads (Channel::take_reader). The reader role owns the ring's
// reading end and everything delivery touches: reader_, frames_, io_out_
// (send_batched() from a body), and the right to park on own_wake_. The
// IO thread does not wait on own_wake_ directly but on a private epoll
// set holding it (watch_), so a caller can take the role from a parked IO
// thread without waking it: it removes own_wake_ from the set (epoll_ctl
// works from any thread), and the daemon's next signal wakes the caller
// alone. Giving the role back puts own_wake_ back in the set (a pending
// signal then wakes the IO thread, as the kernel reports an fd that is
// ready when added) or posts the IO thread to resume.
//
// Threading argument, all under role_mu_ (a local mutex, never in shared
// memory): the role moves from the IO thread to a caller only while the IO
// thread is idle (io_idle_: it announced parking on an empty ring and
// does nothing more until its watch fires or it is posted), and the IO
// thread checks the role before it touches the reader again (the watch
// handler, which waits again if a caller holds the role, and pump()). A
// caller keeps it until give_reader_back(), which drains own_wake_ and
// announces parking again for the idle IO thread before it puts own_wake_
// back in the set: no wake-up is lost and none is left over. While a
// caller holds it, what only the IO thread sees (the socket's frames or
// end, a failure) sets io_wants_role_ and signals own_wake_; the caller
// returns false from read_as_reader() and gives the role back, and the IO
// thread then finishes the job (it delivers the daemon's last frames
// before it reports the close). Frames from the ring are delivered by the
// role holder only, so two threads never run the frame callback at once.
//
// Thread safety: as Channel.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

// Boost 1.74's asio/awaitable.hpp uses std::exchange without <utility>.
#include <utility>

#include <boost/asio.hpp>

#include "bocd/proto/ring.h"
#include "bocd/proto/segment.h"
#include "bocd/proto/unique_fd.h"
#include "channel.h"
#include "handshake.h"
#include "io_thread.h"

namespace bocd::client {

class RingChannel final : public Channel {
 public:
  // Maps the segment the handshake received; throws ConnectionError
  // naming what is wrong with it.
  RingChannel(Handshake handshake, const ChannelOptions& options);
  ~RingChannel() override;
  RingChannel(const RingChannel&) = delete;
  RingChannel& operator=(const RingChannel&) = delete;

  const Welcome& welcome() const override { return welcome_; }
  void start(OnFrame on_frame, OnClose on_close) override;
  void send(Encode encode) override;
  void send_urgent(Encode encode) override;
  // Encodes into a private buffer written at the end of the current burst
  // of incoming frames (or before the next send()).
  void send_batched(Encode encode) override { encode(io_encoder_); }
  void flush_urgent() override;
  std::uint64_t flush_counted() override;
  void close() override;
  bool on_io_thread() const override {
    return reading_ == this || io_thread_.on_this_thread();
  }
  bool take_reader() override;
  bool read_as_reader(std::chrono::steady_clock::time_point until) override;
  void give_reader_back() override;

 private:
  // Copies what fits of pending_ into the ring. With `wait`, until all of
  // it is in (parking for room). Under mu_.
  void push_locked(bool wait);
  void hand_over_io_output();
  // IO thread: reads and delivers, writes what waits, then watches the
  // ring for the spin time and parks.
  void pump();
  bool pump_once();
  // Reads the ring, delivers, writes what waits. Returns why the session
  // must end ("" if it need not); `got` says whether bytes came. Reader
  // role only.
  std::string read_and_deliver(bool& got);
  void park();
  // Waits for watch_ to fire (own_wake_ signalled while in the set).
  void watch();
  // The IO thread has the role back from a caller: finishes what it left
  // (socket frames, the socket's end) and reads again.
  void resume();
  // IO thread, before it touches what the role owns: true when it has
  // the role (it is no longer idle), false when a caller holds it; with
  // `ask_back` the caller is then asked to give it back (resume() runs).
  bool have_role(bool ask_back);
  // Marks the channel ended for callers and wakes one holding the role.
  void end_for_callers();
  // Caller: parks on own_wake_ until the daemon writes or `until`.
  void park_caller(std::chrono::steady_clock::time_point until);
  void read_socket();
  void fail(const std::string& why);
  void mark_closed();

  std::string path_;
  IoThread io_thread_;
  boost::asio::io_context& io_ = io_thread_.context();
  boost::asio::local::stream_protocol::socket socket_{io_};
  proto::FrameBuffer socket_frames_;  // IO thread only
  proto::Segment segment_;
  proto::UniqueFd daemon_wake_;  // the daemon parks on it
  proto::UniqueFd own_wake_;     // the daemon signals it; the role parks
  // An epoll set holding own_wake_ while the IO thread has the role.
  boost::asio::posix::stream_descriptor watch_{io_};
  proto::RingReader reader_;     // IO thread only
  proto::FrameBuffer frames_;    // IO thread only: from the ring
  std::chrono::microseconds spin_;
  Welcome welcome_;
  OnFrame on_frame_;
  OnClose on_close_;
  bool failed_ = false;          // IO thread only
  bool waiting_ = false;         // IO thread only: parked on watch_
  bool socket_held_ = false;     // IO thread only: frames wait for the role
  std::string socket_end_;       // IO thread only: the socket ended so
  const bool caller_writes_;

  // The channel whose reader role this thread holds, if any, and the one
  // it held before it took this one's (reader role only).
  static thread_local const RingChannel* reading_;
  const RingChannel* outer_reading_ = nullptr;

  std::mutex role_mu_;
  bool caller_reads_ = false;    // guarded by role_mu_: a caller has it
  bool io_idle_ = false;         // guarded by role_mu_ (see above)
  bool io_wants_role_ = false;   // guarded by role_mu_
  bool ended_ = false;           // guarded by role_mu_: failed or closed

  std::mutex mu_;
  proto::RingWriter writer_;             // guarded by mu_
  std::vector<std::uint8_t> pending_;    // guarded by mu_: not yet in
  std::size_t pending_sent_ = 0;         // guarded by mu_
  bool nudged_ = false;                  // guarded by mu_: pump() posted
  bool closed_ = false;                  // guarded by mu_
  proto::Encoder encoder_{pending_};     // guarded by mu_
  std::vector<std::uint8_t> io_out_;     // IO thread only
  proto::Encoder io_encoder_{io_out_};   // IO thread only
};

}  // namespace bocd::client

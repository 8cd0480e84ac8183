// SocketChannel: a Channel whose frames travel over the UNIX socket of the
// handshake. Its IO thread reads frames and writes whatever callers
// queued, batching everything queued while a write is in flight into the
// next write.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "channel_base.h"
#include "handshake.h"

namespace bocd::client {

class SocketChannel final : public ChannelBase {
 public:
  // Takes over the socket a handshake (connect_and_handshake) opened.
  SocketChannel(Handshake handshake, const ChannelOptions& options);
  ~SocketChannel() override;
  SocketChannel(const SocketChannel&) = delete;
  SocketChannel& operator=(const SocketChannel&) = delete;

  // The IO thread writes queued frames, so a burst of sends costs one
  // write. From another thread, the first send after a quiet spell wakes
  // the IO thread, which writes it at once and then, while sends keep
  // coming, writes what has gathered every LINGER (see linger()) without
  // being woken for each: a wake-up is a context switch, and a program's
  // flood of submits would otherwise pay one per frame or two. A frame
  // waits at most LINGER; a caller about to block on a reply writes
  // everything itself (send_urgent, flush_urgent).
  void send(Encode encode) override;
  // The calling thread writes the socket itself instead of waking the IO
  // thread to write it.
  void send_urgent(Encode encode) override;
  // Writes everything pending now, from the calling thread, unless an
  // async write is in flight (then it follows that write): waking the IO
  // thread to write costs a context switch, the largest part of a round
  // trip on these machines. Non-blocking unless caller_writes; what the
  // socket does not take goes the async way.
  void flush_urgent() override;
  // One critical section, so no frame is counted that another thread
  // queued and left for later.
  std::uint64_t flush_counted() override;

 private:
  // read() first handles any frames that arrived with the Welcome.
  void begin() override { read(); }
  void read();
  void flush();
  void linger();
  void schedule_flush_locked();
  void write_direct_locked();
  void take_io_output_locked();
  void hand_over_io_output();

  proto::FrameBuffer frames_;  // IO thread only
  bool flush_scheduled_ = false;        // guarded by mu_
  // linger() runs (or is posted): other threads' sends need not wake the
  // IO thread. It stops after IDLE_LINGERS rounds that found nothing.
  bool lingering_ = false;              // guarded by mu_
  int idle_lingers_ = 0;                // guarded by mu_
  static constexpr auto LINGER = std::chrono::microseconds(100);
  static constexpr int IDLE_LINGERS = 4;
  // A send from another thread that leaves this much pending writes it.
  static constexpr std::size_t DIRECT_BYTES = 32 * 1024;
  boost::asio::steady_timer linger_timer_{io_};  // IO thread only
  bool async_in_flight_ = false;        // guarded by mu_: writing_ is out
  std::vector<std::uint8_t> writing_;   // IO thread only
};

}  // namespace bocd::client

// Channel: the client side of one daemon connection. Connects and
// handshakes synchronously, then runs an IO thread that reads frames and
// writes whatever callers queued, batching everything queued while a write
// is in flight into the next write.
//
// Thread safety: send() from any thread; the frame and close callbacks run
// on the IO thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

// Boost 1.74's asio/awaitable.hpp uses std::exchange without <utility>.
#include <utility>

#include <boost/asio.hpp>

#include "bocd/proto/codec.h"

namespace bocd::client {

struct Welcome {
  std::uint64_t session = 0;
  std::uint64_t id_base = 0;
  std::uint64_t id_count = 0;
  std::uint32_t max_cowns = 0;
  std::uint32_t max_frame = 0;
  std::uint32_t notice_keys = 64;
  std::uint64_t max_in_flight = 0;  // 0: an older daemon did not say
  std::string blob_prefix;          // "": an older daemon did not say
};

// $BOCD_DAEMON_UID (a uid or a user name), or empty when unset. Throws
// UntrustedDaemonError naming the value when it is neither.
std::optional<uid_t> daemon_uid_from_env();

class Channel {
 public:
  // The verified envelope and the frame body it points into (valid only
  // during the call).
  using OnFrame = std::function<void(const proto::fb::Envelope&,
                                     std::span<const std::uint8_t> body)>;
  using OnClose = std::function<void(const std::string& why)>;

  // Throws NoDaemonError when nothing answers at `path`,
  // UntrustedDaemonError when its directory is unsafe or the daemon runs
  // as neither this process's uid nor `daemon_uid` (checked before
  // anything is sent), ConnectionError for other failures, Error when the
  // daemon refuses the handshake.
  Channel(std::string path, proto::fb::Role role, const std::string& program,
          const proto::Encoder::HelloExtras& extras = {},
          std::optional<uid_t> daemon_uid = std::nullopt);
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  const Welcome& welcome() const { return welcome_; }
  const std::string& path() const { return path_; }

  // Starts the IO thread. Callbacks must not call close().
  void start(OnFrame on_frame, OnClose on_close);

  // Runs `encode(encoder)` under the channel's lock and schedules a
  // write. Frames leave in the order their send() calls returned, across
  // threads: on the IO thread, batched frames (send_batched) go first.
  // The IO thread writes them, so a burst of sends costs one write.
  //
  // From another thread, the first send after a quiet spell wakes the IO
  // thread, which writes it at once and then, while sends keep coming,
  // writes what has gathered every LINGER (see linger()) without being
  // woken for each: a wake-up is a context switch, and a program's flood
  // of submits would otherwise pay one per frame or two. A frame waits at
  // most LINGER; a caller about to block on a reply writes everything
  // itself (send_direct, flush_urgent).
  template <class F>
  void send(F&& encode) {
    bool io = on_io_thread();
    if (io) hand_over_io_output();
    std::lock_guard<std::mutex> lock(mu_);
    encode(encoder_);
    if (sync_writes_) {
      write_direct_locked();  // see set_sync_writes
    } else if (io) {
      schedule_flush_locked();
    } else if (pending_.size() >= DIRECT_BYTES) {
      write_direct_locked();  // enough for one write: no need to wait
    } else if (!lingering_) {
      lingering_ = true;
      boost::asio::post(io_, [this] { linger(); });
    }
  }

  // send(), but the calling thread writes the socket itself (as
  // flush_urgent) instead of waking the IO thread to write it: for a frame
  // another process waits on, sent from a thread other than the IO thread.
  template <class F>
  void send_direct(F&& encode) {
    if (on_io_thread()) return send(std::forward<F>(encode));
    std::lock_guard<std::mutex> lock(mu_);
    encode(encoder_);
    write_direct_locked();
  }

  // Writes everything pending now, from the calling thread, unless an
  // async write is in flight (then it follows that write). For a caller
  // about to block on the reply: waking the IO thread to write costs a
  // context switch, the largest part of a round trip on these machines.
  // Non-blocking; what the socket does not take goes the async way. On the
  // IO thread, the batched frames are handed over first.
  void flush_urgent();

  // IO thread only: encodes into a private buffer handed over at the end
  // of the read burst (or before the next send()), so the completions of a
  // burst cost one lock. For frames nobody else waits to see ordered
  // against other threads' frames (completions).
  template <class F>
  void send_batched(F&& encode) {
    encode(io_encoder_);
  }

  // Every write is made whole by the calling thread (blocking while the
  // socket is full), none by an async chain. For a worker, whose IO thread
  // runs bodies: a body that must know its frames have left (before a
  // message on another connection names a cown it created) can then flush
  // with flush_urgent() and find nothing left behind an async write that
  // only the IO thread could finish. Set before start().
  void set_sync_writes() { sync_writes_ = true; }
  // With sync writes, from the IO thread: writes everything queued and
  // returns the frames sealed so far, the Hello included, all of them
  // written (the daemon has read them once it has handled that many for
  // this session, which counts frames per session, not per transport). One critical section, so no frame is counted that
  // another thread queued and left for later.
  std::uint64_t flush_counted();

  // Stops the IO thread and closes the socket. Idempotent; not from the
  // IO thread.
  void close();
  bool on_io_thread() const {
    return std::this_thread::get_id() ==
           io_thread_.load(std::memory_order_acquire);
  }

 private:
  void check_directory(std::optional<uid_t> daemon_uid);
  void check_daemon_uid(std::optional<uid_t> daemon_uid);
  void handshake(proto::fb::Role role, const std::string& program,
                 const proto::Encoder::HelloExtras& extras);
  void read();
  void flush();
  void linger();
  void schedule_flush_locked();
  void write_direct_locked();
  void mark_closed();
  void fail(const std::string& why);
  void hand_over_io_output();

  std::string path_;
  boost::asio::io_context io_;
  boost::asio::local::stream_protocol::socket socket_{io_};
  proto::FrameBuffer frames_;
  Welcome welcome_;
  OnFrame on_frame_;
  OnClose on_close_;
  std::thread thread_;
  // Set by the IO thread itself before it runs anything (thread_ is
  // assigned only after the thread has started). Release pairs with the
  // acquire in on_io_thread().
  std::atomic<std::thread::id> io_thread_{};
  bool failed_ = false;  // IO thread only
  bool sync_writes_ = false;

  std::mutex mu_;
  std::vector<std::uint8_t> pending_;   // guarded by mu_
  bool flush_scheduled_ = false;        // guarded by mu_
  // linger() runs (or is posted): other threads' sends need not wake the
  // IO thread. It stops after IDLE_LINGERS rounds that found nothing.
  bool lingering_ = false;              // guarded by mu_
  int idle_lingers_ = 0;                // guarded by mu_
  static constexpr auto LINGER = std::chrono::microseconds(100);
  static constexpr int IDLE_LINGERS = 4;
  // A send from another thread that leaves this much pending writes it.
  static constexpr std::size_t DIRECT_BYTES = 32 * 1024;
  static constexpr std::chrono::seconds HANDSHAKE_TIMEOUT{5};
  boost::asio::steady_timer linger_timer_{io_};  // IO thread only
  bool async_in_flight_ = false;        // guarded by mu_: writing_ is out
  bool closed_ = false;                 // guarded by mu_: no direct writes
  proto::Encoder encoder_{pending_};    // guarded by mu_
  std::vector<std::uint8_t> writing_;   // IO thread only
  std::vector<std::uint8_t> io_out_;    // IO thread only
  proto::Encoder io_encoder_{io_out_};  // IO thread only
};

}  // namespace bocd::client

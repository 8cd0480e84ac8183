// Channel: what a Client needs of its connection to the daemon, whatever
// carries the frames (the UNIX socket today: SocketChannel). A channel is
// connected and handshaken when open_channel() returns it; start() then
// runs its IO thread, which delivers the daemon's frames.
//
// Thread safety: send(), send_urgent() and flush_urgent() from any thread;
// send_batched() and flush_counted() as stated; the frame and close
// callbacks run on the IO thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "bocd/proto/codec.h"
#include "function_ref.h"

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
  // Non-zero: frames travel through shared-memory rings of this many
  // bytes each (RingChannel), and this side watches its idle ring for up
  // to spin_us before it parks.
  std::uint64_t ring_bytes = 0;
  std::uint32_t spin_us = 0;
};

// $BOCD_DAEMON_UID (a uid or a user name), or empty when unset. Throws
// UntrustedDaemonError naming the value when it is neither.
std::optional<uid_t> daemon_uid_from_env();

struct ChannelOptions {
  std::string path;  // the daemon's socket
  proto::fb::Role role = proto::fb::Role::Client;
  std::string program;
  proto::Encoder::HelloExtras extras;
  // Besides this process's own uid, the one uid the daemon may run as.
  std::optional<uid_t> daemon_uid;
  // Every frame is written out by the thread that sends or flushes it
  // (blocking while the daemon is behind), never left to the IO thread.
  // For a worker, whose IO thread runs bodies: a body that must know its
  // frames have left (before a message on another connection names a cown
  // it created) can then flush_counted() and find nothing left behind a
  // write that only the IO thread could finish.
  bool caller_writes = false;
  // Ask for shared-memory rings (options.extras.ring is set from it); the
  // daemon may still keep the session on its socket.
  bool ring = false;
};

// Whether $BOCD_TRANSPORT asks for rings: unset, empty or "ring" does,
// "socket" does not. Throws ConnectionError naming any other value.
bool rings_from_env();

class Channel {
 public:
  // The verified envelope and the frame body it points into (valid only
  // during the call).
  using OnFrame = std::function<void(const proto::fb::Envelope&,
                                     std::span<const std::uint8_t> body)>;
  using OnClose = std::function<void(const std::string& why)>;
  // Encodes one or more frames; called at once, under the channel's lock.
  using Encode = FunctionRef<void(proto::Encoder&)>;

  virtual ~Channel() = default;

  virtual const Welcome& welcome() const = 0;
  // The daemon's socket (ChannelOptions::path), for messages.
  virtual const std::string& path() const = 0;

  // Starts the IO thread. Callbacks must not call close().
  virtual void start(OnFrame on_frame, OnClose on_close) = 0;

  // Runs `encode` and queues what it sealed. Frames leave in the order
  // their send calls returned, across threads; on the IO thread, the
  // frames of send_batched() go first. A frame may wait a short while to
  // leave with others; see the implementation for how long.
  virtual void send(Encode encode) = 0;

  // send(), but the calling thread gets everything queued out now, as
  // flush_urgent(): for a frame another process waits on, or a caller
  // about to block on the reply. On the IO thread, the same as send().
  virtual void send_urgent(Encode encode) = 0;

  // IO thread only: queues frames that leave at the end of the current
  // burst of incoming frames (or before the next send), so a burst of
  // completions costs one hand-over. For frames nobody else waits to see
  // ordered against other threads' frames.
  virtual void send_batched(Encode encode) = 0;

  // The caller is about to block on a reply: everything queued leaves now,
  // as far as the transport takes it without blocking (the rest follows
  // from the IO thread). On the IO thread, batched frames go first.
  virtual void flush_urgent() = 0;

  // With ChannelOptions::caller_writes, from the IO thread: writes
  // everything queued and returns the count of frames this session has
  // sealed so far, the Hello included, all of them written out (the daemon
  // has read them once it has handled that many from this session, by
  // whatever path they came). No frame is counted that another thread
  // queued and left for later.
  virtual std::uint64_t flush_counted() = 0;

  // Stops the IO thread and disconnects; frames sent after this go
  // nowhere. Idempotent; not from the IO thread.
  virtual void close() = 0;

  virtual bool on_io_thread() const = 0;
};

// Connects to the daemon at options.path and handshakes. Throws
// NoDaemonError when nothing answers there, UntrustedDaemonError when its
// directory is unsafe or the daemon runs as neither this process's uid nor
// options.daemon_uid (checked before anything is sent), ConnectionError
// for other failures, Error when the daemon refuses the handshake.
std::unique_ptr<Channel> open_channel(const ChannelOptions& options);

}  // namespace bocd::client

// ChannelBase: what every transport's Channel keeps and how each one ends.
// A channel owns the handshake's socket, an IO thread that runs the
// transport, the callbacks it delivers to, and the buffers callers encode
// into; it ends once, either because the IO thread found the connection
// broken (fail) or because its owner closed it (close). The transports
// (SocketChannel, RingChannel) add how frames travel.
//
// Thread safety: as Channel. Members marked "guarded by mu_" are shared
// with callers' threads, those marked "IO thread only" are that thread's
// once start() has run, and the rest are set before start() and only read
// afterwards.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

// Boost 1.74's asio/awaitable.hpp uses std::exchange without <utility>.
#include <utility>

#include <boost/asio.hpp>

#include "channel.h"
#include "handshake.h"
#include "io_thread.h"

namespace bocd::client {

class ChannelBase : public Channel {
 public:
  ChannelBase(const ChannelBase&) = delete;
  ChannelBase& operator=(const ChannelBase&) = delete;

  const Welcome& welcome() const final { return welcome_; }
  const std::string& path() const final { return path_; }
  // Stores the callbacks, has the IO thread run begin() first, and starts
  // it.
  void start(OnFrame on_frame, OnClose on_close) final;
  // Encodes into a private buffer the transport hands over at the end of
  // the current burst of incoming frames (or before the next send()), so
  // the completions of a burst cost one lock.
  void send_batched(Encode encode) final { encode(io_encoder_); }
  void close() final;
  bool on_io_thread() const final { return io_thread_.on_this_thread(); }

 protected:
  // Takes the handshake's socket and Welcome; the transport takes the
  // rest (frames that came with the Welcome, descriptors).
  ChannelBase(Handshake& handshake, const ChannelOptions& options);
  // A transport's destructor calls close() first: the IO thread uses the
  // transport's members, which are gone by the time this one runs.
  ~ChannelBase() override = default;

  // IO thread, first thing it runs.
  virtual void begin() = 0;
  // IO thread (or once it has stopped), as the channel ends: cancels what
  // the transport waits on besides the socket.
  virtual void cancel_waits() {}

  // IO thread: ends the channel and reports `why` to the close callback,
  // once; later calls do nothing.
  void fail(const std::string& why);
  // Why the channel ends when reading the socket failed with `ec`.
  std::string lost(const boost::system::error_code& ec) const;
  // The Hello, then every frame either encoder has sealed. Under mu_.
  std::uint64_t sealed_frames_locked() const {
    return 1 + encoder_.frames() + io_encoder_.frames();
  }

  const std::string path_;  // the daemon's socket, for messages
  // ChannelOptions::caller_writes: every frame is written out by the
  // thread that sends or flushes it.
  const bool caller_writes_;
  IoThread io_thread_;
  boost::asio::io_context& io_ = io_thread_.context();
  boost::asio::local::stream_protocol::socket socket_{io_};
  Welcome welcome_;
  OnFrame on_frame_;
  bool failed_ = false;  // IO thread only: fail() or close() has run

  std::mutex mu_;
  // Once set, no caller writes: the socket may be closed (and its number
  // reused) without a write landing elsewhere.
  bool closed_ = false;                 // guarded by mu_
  std::vector<std::uint8_t> pending_;   // guarded by mu_: not yet sent
  proto::Encoder encoder_{pending_};    // guarded by mu_
  std::vector<std::uint8_t> io_out_;    // IO thread only
  proto::Encoder io_encoder_{io_out_};  // IO thread only

 private:
  // Sets closed_ and drops what was not sent.
  void mark_closed();
  // IO thread (or once it has stopped): the one way a channel ends.
  void end(bool shutdown);

  OnClose on_close_;
};

}  // namespace bocd::client

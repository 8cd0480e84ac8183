// Link: what a FrameHandler (the Dispatcher) uses of one peer's transport.
// A link delivers whole, size-checked frame bodies to its handler and
// carries framed output back; how the bytes move (a UNIX socket today:
// Connection) is the link's business. The handler knows only this.
//
// Thread: the io_context thread only, for every call in both directions.
//
// Keys: the handler gives each peer a key (Link::key) when it first sees
// it, and finds the peer's state by that key in on_frame and on_closed,
// never by the Link's address. So a peer's link may be replaced by another
// carrying the same key after the handshake (Dispatcher::replace_link):
// frames from either reach the same session, output goes to the current
// one, and the first close of any of them ends the session.
//
// Lifetime: the handler holds a shared_ptr to each link of a peer from
// on_open (or replace_link) until that peer's session ends; a link keeps
// itself alive while it has I/O pending. A link must stay valid during
// its own on_frame and on_closed calls.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "bocd/proto/codec.h"
#include "peer.h"

namespace bocd::server {

class Link;

class FrameHandler {
 public:
  virtual ~FrameHandler() = default;
  // One verified-size frame body from `link`, in the order the peer sent
  // it on that link. May send, or close any link.
  virtual void on_frame(Link& link, std::span<const std::uint8_t> body) = 0;
  // Called by the link exactly once, after it is closed for any reason:
  // the peer went, a transport error, a limit, or a close() or
  // close_after_flush() the handler itself called (then from inside that
  // call, or when the flush ends). No on_frame follows it.
  virtual void on_closed(Link& link, const std::string& reason) = 0;
};

class Link {
 public:
  virtual ~Link() = default;

  // Framed bytes to send (proto::Encoder appends them); append, then call
  // flush_soon(). Every frame appended before the handler returns to the
  // event loop leaves together: a burst of frames costs one write.
  virtual std::vector<std::uint8_t>& out() = 0;
  virtual void flush_soon() = 0;

  // Closes now; queued output is dropped. Idempotent.
  virtual void close(const std::string& reason) = 0;
  // Stops delivering frames, sends what is queued, then closes.
  virtual void close_after_flush(const std::string& reason) = 0;
  // Sends what is queued and then `last` (one whole frame) as far as the
  // transport takes them without waiting, then closes now, as close().
  // For a peer that broke the protocol: its session ends at once, so
  // nothing more is sent to it, and its last frame is best effort (cut
  // short, the peer sees a partial frame before the end-of-file).
  virtual void close_saying(std::span<const std::uint8_t> last,
                            const std::string& reason) = 0;

  // The peer completed its handshake: lifts the limits on a peer not yet
  // admitted (its deadline, its frame size).
  virtual void handshake_done() = 0;
  // Keeps the peer's end open until this process exits, so a peer that
  // asked the daemon to stop learns it is gone (end-of-file) rather than
  // merely stopping.
  virtual void hold_open_until_exit() = 0;

  // Sends `frame` (one whole frame) at once, with `fds` attached to its
  // first byte (SCM_RIGHTS; they stay the caller's). Only while nothing
  // else is queued or being written on the link, so the frame is next in
  // order. False, with `why`, when the link cannot pass descriptors, has
  // output queued, or the send failed; the link is not closed by it.
  virtual bool send_with_fds(std::span<const std::uint8_t> frame,
                             std::span<const int> fds, std::string& why) {
    (void)frame;
    (void)fds;
    why = "this link cannot pass descriptors";
    return false;
  }

  virtual bool closed() const = 0;
  // Who is on the other end, as the kernel says (not as the peer claims).
  virtual const PeerCredentials& peer() const = 0;

  // Owned by the FrameHandler: the key of the peer this link serves.
  std::uint64_t key = 0;
};

// Ends `link`'s session on purpose, its last frame an Error with `closing`
// set whose message is `why` (so the peer's blocked calls report it, not
// the end-of-file). end_with: now, the Error sent if it fits without
// waiting (close_saying), for a peer that broke the protocol. Its session
// must end before anything more can be sent to it. end_after_flush: after
// what is queued has left (close_after_flush), for the daemon's stop.
void end_with(Link& link, proto::fb::ErrorCode code, const std::string& why);
void end_after_flush(Link& link, proto::fb::ErrorCode code,
                     const std::string& why);

}  // namespace bocd::server

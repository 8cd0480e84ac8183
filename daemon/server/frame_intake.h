// FrameIntake: the receiving half every Link shares, whatever its bytes
// came by (a socket read, a ring). It reassembles frames, refuses bad
// lengths, claims receive budget for a large frame once its header has
// arrived, and hands each whole frame to the FrameHandler.
//
// Thread: the io_context thread only, as its link.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

#include "bocd/proto/framing.h"
#include "link.h"
#include "receive_budget.h"

namespace bocd::server {

class FrameIntake {
 public:
  // Frames up to this size are reassembled without claiming receive
  // budget: each link buffers at most about this much beside its claims.
  static constexpr std::size_t SMALL_FRAME = 64 * 1024;

  // `budget` must outlive the intake. After a large frame the buffer is
  // trimmed back to `keep` bytes of capacity.
  FrameIntake(std::uint32_t max_frame_bytes, ReceiveBudget& budget,
              std::size_t keep);
  // Releases a claim still held.
  ~FrameIntake();
  FrameIntake(const FrameIntake&) = delete;
  FrameIntake& operator=(const FrameIntake&) = delete;

  // Where the link puts the bytes it read.
  proto::FrameBuffer& buffer() { return frames_; }

  enum class Next {
    more,    // every whole frame was handled: read more bytes
    wait,    // a large frame waits for budget: read nothing until granted
    closed,  // the link was closed (by the handler, or here for a bad frame)
  };
  // The link was granted a waiting claim of `n` bytes (it runs inside
  // another link's release()): if it is still open it calls granted(n)
  // and resumes reading from a fresh handler, else budget.release(n).
  using OnGrant = std::function<void(std::size_t n)>;

  // Hands every whole buffered frame to handler.on_frame(link, body) while
  // `open()` holds (the handler may close the link). A bad length closes
  // `link` naming it. `on_grant` is kept only when a claim must wait.
  Next deliver(Link& link, FrameHandler& handler,
               const std::function<bool()>& open, OnGrant on_grant);

  // The claim on_grant was told of is now the link's.
  void granted(std::size_t n) { claimed_ = n; }
  // Gives back the claim held (when the link closes); no-op without one.
  void release();

 private:
  FrameIntake::Next claim(Link& link, OnGrant& on_grant);

  proto::FrameBuffer frames_;
  ReceiveBudget& budget_;
  std::size_t keep_;
  std::size_t claimed_ = 0;  // budget held for the frame being received
};

}  // namespace bocd::server

#include "frame_intake.h"

#include <string>

namespace bocd::server {

FrameIntake::FrameIntake(std::uint32_t max_frame_bytes, ReceiveBudget& budget,
                         std::size_t keep)
    : frames_(max_frame_bytes), budget_(budget), keep_(keep) {}

FrameIntake::~FrameIntake() { release(); }

FrameIntake::Next FrameIntake::deliver(Link& link, FrameHandler& handler,
                                       const std::function<bool()>& open,
                                       OnGrant on_grant) {
  for (;;) {
    std::span<const std::uint8_t> body;
    switch (frames_.next(body)) {
      case proto::FrameBuffer::Next::need_more:
        return claim(link, on_grant);
      case proto::FrameBuffer::Next::oversized:
        end_with(link, proto::fb::ErrorCode::Malformed,
                 "frame length exceeds the limit of " +
                     std::to_string(frames_.max_frame_bytes()) + " bytes");
        return Next::closed;
      case proto::FrameBuffer::Next::empty_frame:
        end_with(link, proto::fb::ErrorCode::Malformed, "empty frame");
        return Next::closed;
      case proto::FrameBuffer::Next::frame:
        handler.on_frame(link, body);
        if (!open()) return Next::closed;
        frames_.pop();
        if (claimed_ > 0) {
          release();
          frames_.trim(keep_);
        }
        break;
    }
  }
}

FrameIntake::Next FrameIntake::claim(Link& link, OnGrant& on_grant) {
  std::size_t n = frames_.pending_length();
  if (n <= SMALL_FRAME || claimed_ > 0) return Next::more;
  if (n > budget_.limit()) {
    end_with(link, proto::fb::ErrorCode::TooLarge,
             "frame of " + std::to_string(n) + " bytes is larger than the "
             "daemon's budget for frames being received (" +
                 std::to_string(budget_.limit()) + " bytes)");
    return Next::closed;
  }
  if (!budget_.claim(n, [on_grant = std::move(on_grant), n] { on_grant(n); })) {
    return Next::wait;
  }
  claimed_ = n;
  return Next::more;
}

void FrameIntake::release() {
  std::size_t n = claimed_;
  claimed_ = 0;
  if (n > 0) budget_.release(n);
}

}  // namespace bocd::server

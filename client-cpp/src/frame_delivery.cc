#include "frame_delivery.h"

namespace bocd::client {

std::string deliver_frames(proto::FrameBuffer& frames,
                           const Channel::OnFrame& on_frame,
                           const std::string& path) {
  for (;;) {
    std::span<const std::uint8_t> body;
    auto next = frames.next(body);
    if (next == proto::FrameBuffer::Next::need_more) return "";
    if (next != proto::FrameBuffer::Next::frame) {
      return "bad frame from the daemon at " + path;
    }
    std::string why;
    const proto::fb::Envelope* env = proto::verify_envelope(body, why);
    if (env == nullptr) return "bad message from the daemon: " + why;
    on_frame(*env, body);
    frames.pop();
  }
}

}  // namespace bocd::client

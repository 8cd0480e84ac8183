// Delivering received frames: every complete frame a buffer holds is
// verified and handed to the channel's frame callback, whichever
// transport filled the buffer.
#pragma once

#include <string>

#include "bocd/proto/framing.h"
#include "channel.h"

namespace bocd::client {

// Delivers and pops each complete frame in `frames`. Returns "" once it
// needs more bytes, else why the daemon at `path` must be dropped (a
// malformed frame or message; the frame stays in `frames`).
std::string deliver_frames(proto::FrameBuffer& frames,
                           const Channel::OnFrame& on_frame,
                           const std::string& path);

}  // namespace bocd::client

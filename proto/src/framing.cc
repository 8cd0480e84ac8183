#include "bocd/proto/framing.h"

#include <algorithm>
#include <cstring>

namespace bocd::proto {

namespace {
// A frame at the start of the buffer begins here: its body then starts
// 8-byte aligned (the allocation is), so a large body is not copied.
constexpr std::size_t HEAD = 8 - FRAME_HEADER_BYTES;
}  // namespace

std::span<std::uint8_t> FrameBuffer::prepare(std::size_t min_bytes) {
  if (start_ == end_) start_ = end_ = HEAD;
  auto room = [&] { return buf_.size() > end_ ? buf_.size() - end_ : 0; };
  if (room() < min_bytes) {
    // Slide the unread tail down before growing.
    if (start_ > HEAD) {
      std::memmove(buf_.data() + HEAD, buf_.data() + start_, end_ - start_);
      end_ -= start_ - HEAD;
      start_ = HEAD;
    }
    std::size_t need = end_ + min_bytes;
    if (need > buf_.capacity()) {
      std::size_t want = std::max(need, 2 * buf_.capacity());
      if (std::uint32_t n = pending_length(); n != 0) {
        want = std::max(need, std::min<std::size_t>(
                                  want, start_ + FRAME_HEADER_BYTES + n));
      }
      buf_.reserve(want);
    }
    if (room() < min_bytes) buf_.resize(need);
  }
  return {buf_.data() + end_, buf_.size() - end_};
}

void FrameBuffer::trim(std::size_t keep) {
  if (start_ != end_) return;
  if (buf_.capacity() > keep) std::vector<std::uint8_t>().swap(buf_);
  if (aligned_.capacity() * sizeof(std::uint64_t) > keep) {
    std::vector<std::uint64_t>().swap(aligned_);
  }
  start_ = end_ = 0;
}

std::uint32_t FrameBuffer::peek_length() const {
  const std::uint8_t* p = buf_.data() + start_;
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 |
         std::uint32_t{p[2]} << 16 | std::uint32_t{p[3]} << 24;
}

FrameBuffer::Next FrameBuffer::next(std::span<const std::uint8_t>& out) {
  if (buffered() < FRAME_HEADER_BYTES) return Next::need_more;
  std::uint32_t n = peek_length();
  if (n > max_) return Next::oversized;
  if (n == 0) return Next::empty_frame;
  if (buffered() < FRAME_HEADER_BYTES + n) return Next::need_more;
  const std::uint8_t* body = buf_.data() + start_ + FRAME_HEADER_BYTES;
  if (reinterpret_cast<std::uintptr_t>(body) % alignof(std::uint64_t) != 0) {
    // Frames pack back to back, so most bodies start misaligned; copying
    // one body is cheaper than sliding the rest of the buffer.
    aligned_.resize((n + 7) / 8);
    std::memcpy(aligned_.data(), body, n);
    body = reinterpret_cast<const std::uint8_t*>(aligned_.data());
  }
  out = {body, n};
  return Next::frame;
}

void FrameBuffer::pop() { start_ += FRAME_HEADER_BYTES + peek_length(); }

void append_header(std::vector<std::uint8_t>& out, std::uint32_t n) {
  out.push_back(static_cast<std::uint8_t>(n));
  out.push_back(static_cast<std::uint8_t>(n >> 8));
  out.push_back(static_cast<std::uint8_t>(n >> 16));
  out.push_back(static_cast<std::uint8_t>(n >> 24));
}

}  // namespace bocd::proto

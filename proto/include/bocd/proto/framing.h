// Framing of the bocd stream protocol: a 4-byte little-endian length, then
// that many bytes of a finished Envelope buffer. FrameBuffer reassembles
// frames from a byte stream and refuses a length over its limit before any
// byte of the body is buffered, and grows only as body bytes arrive, so a
// hostile length cannot make us allocate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace bocd::proto {

// Bumped by any change to schema/bocd.fbs that is not append-only, that
// adds a request the peer must answer (2: Sync, Blocked), or that adds a
// rule an older peer breaks (3: blob names carry Welcome.blob_prefix; 4:
// a worker keeps values, and a dispatch may leave out the ones it holds).
inline constexpr std::uint32_t PROTOCOL_VERSION = 4;
inline constexpr std::size_t FRAME_HEADER_BYTES = 4;
// Values travel inline unless their writer puts them in shared-memory
// blobs (docs/protocol.md, Shared-memory blobs), so the bound is generous;
// the daemon's --max-frame option lowers it.
inline constexpr std::uint32_t DEFAULT_MAX_FRAME_BYTES = 64u << 20;

class FrameBuffer {
 public:
  enum class Next { need_more, frame, oversized, empty_frame };

  explicit FrameBuffer(std::uint32_t max_frame_bytes = DEFAULT_MAX_FRAME_BYTES)
      : max_(max_frame_bytes) {}

  // Space to read at least `min_bytes` into; commit() what was read. The
  // buffer grows by doubling, but not past the end of a frame whose
  // header has arrived (plus `min_bytes`).
  std::span<std::uint8_t> prepare(std::size_t min_bytes);
  void commit(std::size_t n) { end_ += n; }

  // Looks at the buffered bytes. On `frame`, `out` is the next frame's body,
  // 8-byte aligned (flatbuffers reads fields in place, so a misaligned
  // body would be undefined behavior), valid until the next prepare() or
  // next(); call pop() once done with it.
  Next next(std::span<const std::uint8_t>& out);
  void pop();

  std::size_t buffered() const { return end_ - start_; }
  // The body length of the next frame once its header has arrived, else 0.
  std::uint32_t pending_length() const {
    return buffered() < FRAME_HEADER_BYTES ? 0 : peek_length();
  }
  // Frees the memory when nothing is buffered and it holds more than
  // `keep` bytes (after a large frame).
  void trim(std::size_t keep);
  // Bytes of memory held (for tests and accounting).
  std::size_t allocated() const {
    return buf_.capacity() + aligned_.capacity() * sizeof(std::uint64_t);
  }
  void set_max_frame_bytes(std::uint32_t n) { max_ = n; }
  std::uint32_t max_frame_bytes() const { return max_; }

 private:
  std::uint32_t peek_length() const;

  std::uint32_t max_;
  std::vector<std::uint8_t> buf_;
  // Where a misaligned body is copied; uint64_t elements keep it aligned.
  std::vector<std::uint64_t> aligned_;
  std::size_t start_ = 0;
  std::size_t end_ = 0;
};

// Appends the 4-byte header for a body of `n` bytes.
void append_header(std::vector<std::uint8_t>& out, std::uint32_t n);

}  // namespace bocd::proto

// The shared-memory segment of one session's ring transport: its layout (a
// header, then the to-daemon and from-daemon rings), how the daemon creates
// it, and how the program maps and checks the one it is handed.
//
// The segment is an anonymous memfd (no name to squat, leak or sweep),
// sealed against shrinking and growing before its fd leaves the daemon, so
// no peer can truncate it under the other's mapping (a later access would
// be SIGBUS). Layout, all offsets from the start of the mapping:
//
//   0                      SegmentHeader (64 bytes)
//   64                     RingControl of the to-daemon ring (256 bytes)
//   320                    data of the to-daemon ring (capacity bytes)
//   320 + capacity         RingControl of the from-daemon ring
//   576 + capacity         data of the from-daemon ring
//   576 + 2 * capacity     end
//
// The header is written once by the daemon before it passes the fd. Each
// side copies what it needs (the capacity) into private memory when it
// creates or maps the segment and never reads the layout from shared memory
// again: the peer can rewrite those bytes at any time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "bocd/proto/ring.h"
#include "bocd/proto/unique_fd.h"

namespace bocd::proto {

// "bocdring" read as a little-endian number.
inline constexpr std::uint64_t SEGMENT_MAGIC = 0x676e697264636f62ull;
// Bumped by any change to the layout above or to RingControl.
inline constexpr std::uint32_t SEGMENT_LAYOUT_VERSION = 1;
inline constexpr std::uint64_t MIN_RING_CAPACITY = 4096;
inline constexpr std::uint64_t MAX_RING_CAPACITY = 1ull << 30;
inline constexpr std::uint64_t DEFAULT_RING_CAPACITY = 1ull << 20;

struct SegmentHeader {
  std::uint64_t magic;
  std::uint32_t layout_version;
  std::uint32_t reserved;
  std::uint64_t ring_capacity;
  std::uint8_t padding[40];
};
static_assert(sizeof(SegmentHeader) == 64);

inline constexpr std::size_t SEGMENT_HEADER_BYTES = sizeof(SegmentHeader);

// The bytes of a segment whose rings hold `ring_capacity` bytes each.
inline constexpr std::uint64_t segment_bytes(std::uint64_t ring_capacity) {
  return SEGMENT_HEADER_BYTES + 2 * (sizeof(RingControl) + ring_capacity);
}

// A segment refused by map(): the message names what was wrong (size,
// seals, magic, version, capacity) and the values found.
class SegmentError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One mapping of a session's segment, and the memfd behind it. Movable, not
// copyable; unmaps and closes on destruction. Not thread-safe itself; the
// rings it hands out are single-producer/single-consumer across processes.
class Segment {
 public:
  // The daemon's side: a new sealed memfd of segment_bytes(ring_capacity)
  // with its pages allocated up front (so a later page-in under memory
  // pressure cannot SIGBUS either side), the header written, both rings
  // empty. `ring_capacity` must be a power of two in [MIN_RING_CAPACITY,
  // MAX_RING_CAPACITY] (std::invalid_argument otherwise); OS failures
  // throw std::system_error naming the call.
  static Segment create(std::uint64_t ring_capacity = DEFAULT_RING_CAPACITY);

  // The program's side: takes ownership of `fd` (received from the daemon)
  // and maps it after checking that it is sealed against shrinking and
  // growing (and further sealing), that its header carries the magic and
  // layout version, that the capacity is a power of two within bounds and
  // that the file is exactly segment_bytes(capacity). Throws SegmentError
  // naming what was wrong; the fd is closed then.
  static Segment map(UniqueFd fd);

  Segment(Segment&& o) noexcept;
  Segment& operator=(Segment&& o) noexcept;
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;
  ~Segment();

  // The memfd, to pass to the peer (send_with_fds); still owned here.
  int fd() const { return fd_.get(); }
  std::uint64_t ring_capacity() const { return capacity_; }
  std::size_t size() const { return size_; }

  // The ring the program writes and the daemon reads, and the other way.
  RingView to_daemon() const;
  RingView from_daemon() const;

 private:
  Segment(UniqueFd fd, void* base, std::size_t size, std::uint64_t capacity)
      : fd_(std::move(fd)), base_(base), size_(size), capacity_(capacity) {}
  void unmap();

  UniqueFd fd_;
  void* base_ = nullptr;
  std::size_t size_ = 0;
  std::uint64_t capacity_ = 0;  // private copy; never re-read from the header
};

}  // namespace bocd::proto

// A single-producer/single-consumer byte-stream ring in memory shared with
// another process, and its two ends. Frames (framing.h) are just bytes in
// it: a frame larger than the ring streams through in pieces, in order,
// with back-pressure (the writer gets a partial or zero-byte write when the
// ring is full).
//
// Positions are free-running 64-bit byte counts; a byte at position p sits
// at data[p % capacity]. The producer alone writes `write_pos`, the consumer
// alone writes `read_pos`; each keeps its own position privately and only
// reads the other's, and checks it: the other process may be hostile or die
// at any instant, so nothing it writes is trusted. A check that fails puts
// the end in a sticky error state and the caller closes that one session.
// The consumer copies bytes out into private memory before anything parses
// them (the peer can rewrite them at any time).
//
// Parking (a reader with nothing to read, a writer with no room) uses one
// flag per direction in the control block and the parked side's eventfd;
// wake.h has the blocking helper. The flags are the only words both sides
// store to; a peer that forges them hurts only its own session (a cleared
// flag loses the wake-ups meant for it, a set one costs the other side a
// needless eventfd write). No lock of any kind lives in shared
// memory: a process that dies holds nothing the other waits for.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

#include "bocd/proto/framing.h"

namespace bocd::proto {

static_assert(std::atomic<std::uint64_t>::is_always_lock_free,
              "ring positions must be lock-free atomics across processes");
static_assert(std::atomic<std::uint32_t>::is_always_lock_free,
              "ring parking flags must be lock-free atomics across processes");

inline constexpr std::size_t CACHE_LINE_BYTES = 64;

// The control block at the head of each ring. Each field has its own cache
// line so the producer's and consumer's stores do not bounce one line.
struct RingControl {
  // Bytes ever written; stored by the producer only.
  alignas(CACHE_LINE_BYTES) std::atomic<std::uint64_t> write_pos;
  // Bytes ever read; stored by the consumer only.
  alignas(CACHE_LINE_BYTES) std::atomic<std::uint64_t> read_pos;
  // 1 while the consumer is parked (or about to park) waiting for data; set
  // by the consumer, cleared by whichever side sees it first.
  alignas(CACHE_LINE_BYTES) std::atomic<std::uint32_t> reader_parked;
  // 1 while the producer is parked waiting for room; set by the producer,
  // cleared by whichever side sees it first.
  alignas(CACHE_LINE_BYTES) std::atomic<std::uint32_t> writer_parked;
};
static_assert(sizeof(RingControl) == 4 * CACHE_LINE_BYTES);

// Where one ring lives in a mapping. `capacity` is a power of two and is
// the caller's private copy, never read from shared memory.
struct RingView {
  RingControl* control = nullptr;
  std::uint8_t* data = nullptr;
  std::uint64_t capacity = 0;
};

enum class RingError {
  none,
  // Consumer checks.
  write_moved_backwards,  // write_pos below a value seen before
  overrun,                // write_pos - read > capacity: more than fits
  // Producer checks.
  read_moved_backwards,   // read_pos below a value seen before
  read_ahead_of_write,    // read_pos past what was written
};

// A sentence naming the error, for logs and exceptions.
const char* describe(RingError e);

struct RingResult {
  std::size_t bytes = 0;  // bytes copied in or out
  RingError error = RingError::none;
  bool ok() const { return error == RingError::none; }
};

// Signals an eventfd (adds 1). A full counter counts as signalled (a
// wake-up is pending anyway); returns false on any other error (a bad fd).
bool signal_eventfd(int fd);

// The producer end. One thread at a time; `peer_wake_fd` is the eventfd
// the consumer parks on (not owned).
class RingWriter {
 public:
  RingWriter() = default;
  RingWriter(RingView view, int peer_wake_fd)
      : view_(view), peer_wake_fd_(peer_wake_fd) {}

  // Copies as many bytes of `bytes` as fit (maybe none) and publishes them.
  // An error is sticky and copies nothing; the caller closes the session.
  RingResult try_write(std::span<const std::uint8_t> bytes);

  // Bytes that would fit now (0 on error; error() says which).
  std::uint64_t free_bytes();

  // After publishing: wakes the consumer if it announced that it parks
  // (one eventfd write; no syscall otherwise). Returns whether it woke it.
  bool wake_peer_if_parked();

  // Before parking for room: sets the writer-parked flag, then looks at the
  // read position again. Returns true if the ring is still full (park: the
  // consumer will signal the wake fd after it frees room), false if there
  // is room now or an error (the flag is withdrawn; try again).
  bool announce_parking();

  RingError error() const { return error_; }
  std::uint64_t position() const { return write_; }

 private:
  // Loads and checks read_pos; false (and error_ set) if it is corrupt.
  bool load_read(std::memory_order order);

  RingView view_;
  int peer_wake_fd_ = -1;
  std::uint64_t write_ = 0;      // private: what we published
  std::uint64_t seen_read_ = 0;  // the highest read_pos we saw
  RingError error_ = RingError::none;
};

// The consumer end. One thread at a time; `peer_wake_fd` is the eventfd
// the producer parks on (not owned).
class RingReader {
 public:
  RingReader() = default;
  RingReader(RingView view, int peer_wake_fd)
      : view_(view), peer_wake_fd_(peer_wake_fd) {}

  // Copies up to out.size() available bytes into `out` (private memory)
  // and frees their room. An error is sticky and copies nothing.
  RingResult read_available(std::span<std::uint8_t> out);

  // Copies every available byte into `frames` (its prepare/commit), ready
  // for frames.next(). At most one ring's worth is buffered per call, so
  // a hostile peer cannot make it allocate more than the capacity.
  RingResult read_into(FrameBuffer& frames);

  // Bytes available now (0 on error; error() says which).
  std::uint64_t available_bytes();

  // After freeing room: wakes the producer if it announced that it parks.
  bool wake_peer_if_parked();

  // Before parking for data: sets the reader-parked flag, then looks at
  // the write position again. Returns true if the ring is still empty
  // (park: the producer will signal the wake fd after it publishes), false
  // if data arrived or on an error (the flag is withdrawn; read again).
  bool announce_parking();

  RingError error() const { return error_; }
  std::uint64_t position() const { return read_; }

 private:
  bool load_write(std::memory_order order);

  RingView view_;
  int peer_wake_fd_ = -1;
  std::uint64_t read_ = 0;        // private: what we consumed
  std::uint64_t seen_write_ = 0;  // the highest write_pos we saw
  RingError error_ = RingError::none;
};

}  // namespace bocd::proto

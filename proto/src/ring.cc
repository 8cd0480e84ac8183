#include "bocd/proto/ring.h"

#include <errno.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace bocd::proto {

namespace {

// Copies `n` bytes into the ring's data area at free-running position
// `pos`, in two pieces when they cross the end of the area.
void copy_in(const RingView& v, std::uint64_t pos, const std::uint8_t* src,
             std::size_t n) {
  std::size_t at = pos & (v.capacity - 1);
  std::size_t first = std::min<std::size_t>(n, v.capacity - at);
  std::memcpy(v.data + at, src, first);
  std::memcpy(v.data, src + first, n - first);
}

void copy_out(const RingView& v, std::uint64_t pos, std::uint8_t* dst,
              std::size_t n) {
  std::size_t at = pos & (v.capacity - 1);
  std::size_t first = std::min<std::size_t>(n, v.capacity - at);
  std::memcpy(dst, v.data + at, first);
  std::memcpy(dst + first, v.data, n - first);
}

}  // namespace

const char* describe(RingError e) {
  switch (e) {
    case RingError::none:
      return "no error";
    case RingError::write_moved_backwards:
      return "the peer's write position moved backwards";
    case RingError::overrun:
      return "the peer's write position is more than the ring's capacity "
             "ahead of what was read";
    case RingError::read_moved_backwards:
      return "the peer's read position moved backwards";
    case RingError::read_ahead_of_write:
      return "the peer's read position is past what was written";
  }
  return "unknown ring error";
}

bool signal_eventfd(int fd) {
  const std::uint64_t one = 1;
  for (;;) {
    if (::write(fd, &one, sizeof one) == sizeof one) return true;
    // EAGAIN: the counter is full, so the peer has a wake-up pending.
    if (errno == EAGAIN) return true;
    if (errno != EINTR) return false;
  }
}

// --- writer -----------------------------------------------------------

bool RingWriter::load_read(std::memory_order order) {
  if (error_ != RingError::none) return false;
  std::uint64_t r = view_.control->read_pos.load(order);
  if (r < seen_read_) {
    error_ = RingError::read_moved_backwards;
  } else if (r > write_) {
    error_ = RingError::read_ahead_of_write;
  } else {
    seen_read_ = r;
    return true;
  }
  return false;
}

std::uint64_t RingWriter::free_bytes() {
  // Acquire pairs with the consumer's release store of read_pos after it
  // copied the bytes out: the room it frees is no longer being read.
  if (!load_read(std::memory_order_acquire)) return 0;
  return view_.capacity - (write_ - seen_read_);
}

RingResult RingWriter::try_write(std::span<const std::uint8_t> bytes) {
  std::uint64_t room = free_bytes();
  if (error_ != RingError::none) return {0, error_};
  std::size_t n = std::min<std::uint64_t>(room, bytes.size());
  if (n == 0) return {};
  copy_in(view_, write_, bytes.data(), n);
  write_ += n;
  // Release pairs with the consumer's acquire load of write_pos: the bytes
  // copied in above are visible before the position that covers them.
  view_.control->write_pos.store(write_, std::memory_order_release);
  return {n, RingError::none};
}

// Parking is Dekker's pattern on two variables in shared memory:
//
//   consumer (announce_parking)       producer (try_write, wake_peer...)
//   reader_parked = 1                 write_pos = w
//   seq_cst fence (Y)                 seq_cst fence (X)
//   load write_pos                    load reader_parked
//
// X and Y are ordered one way or the other in the single total order of
// seq_cst operations. If X comes first, the consumer's load (after Y) sees
// w (stored before X) and does not park. If Y comes first, the producer's
// load (after X) sees the flag (stored before Y) and signals the eventfd.
// Either way a published byte is never left with its reader asleep. The
// fences are what the standard guarantees this for; the flag and position
// accesses themselves may then be relaxed. The same holds with the roles
// swapped for a producer parked for room (writer_parked, read_pos).
bool RingWriter::wake_peer_if_parked() {
  std::atomic_thread_fence(std::memory_order_seq_cst);  // X, see above
  auto& parked = view_.control->reader_parked;
  // The plain load first keeps the common case (nobody parked) from
  // taking the cache line exclusive; relaxed is enough after the fence.
  if (parked.load(std::memory_order_relaxed) == 0) return false;
  if (parked.exchange(0, std::memory_order_relaxed) == 0) return false;
  signal_eventfd(peer_wake_fd_);
  return true;
}

bool RingWriter::announce_parking() {
  auto& parked = view_.control->writer_parked;
  parked.store(1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);  // Y, see above
  if (load_read(std::memory_order_acquire) &&
      write_ - seen_read_ == view_.capacity) {
    return true;
  }
  // Not parking after all; a flag left set would only cost the consumer
  // one needless eventfd write, so no ordering is needed here.
  parked.store(0, std::memory_order_relaxed);
  return false;
}

// --- reader -----------------------------------------------------------

bool RingReader::load_write(std::memory_order order) {
  if (error_ != RingError::none) return false;
  std::uint64_t w = view_.control->write_pos.load(order);
  if (w < seen_write_) {
    error_ = RingError::write_moved_backwards;
  } else if (w - read_ > view_.capacity) {
    error_ = RingError::overrun;
  } else {
    seen_write_ = w;
    return true;
  }
  return false;
}

std::uint64_t RingReader::available_bytes() {
  // Acquire pairs with the producer's release store of write_pos after it
  // copied the bytes in.
  if (!load_write(std::memory_order_acquire)) return 0;
  return seen_write_ - read_;
}

RingResult RingReader::read_available(std::span<std::uint8_t> out) {
  std::uint64_t avail = available_bytes();
  if (error_ != RingError::none) return {0, error_};
  std::size_t n = std::min<std::uint64_t>(avail, out.size());
  if (n == 0) return {};
  copy_out(view_, read_, out.data(), n);
  read_ += n;
  // Release pairs with the producer's acquire load of read_pos: the bytes
  // are copied out before their room is handed back.
  view_.control->read_pos.store(read_, std::memory_order_release);
  return {n, RingError::none};
}

RingResult RingReader::read_into(FrameBuffer& frames) {
  std::uint64_t avail = available_bytes();
  if (error_ != RingError::none) return {0, error_};
  if (avail == 0) return {};
  std::span<std::uint8_t> room = frames.prepare(avail);
  RingResult r = read_available(room.first(avail));
  frames.commit(r.bytes);
  return r;
}

bool RingReader::wake_peer_if_parked() {
  std::atomic_thread_fence(std::memory_order_seq_cst);  // X, see RingWriter
  auto& parked = view_.control->writer_parked;
  if (parked.load(std::memory_order_relaxed) == 0) return false;
  if (parked.exchange(0, std::memory_order_relaxed) == 0) return false;
  signal_eventfd(peer_wake_fd_);
  return true;
}

bool RingReader::announce_parking() {
  auto& parked = view_.control->reader_parked;
  parked.store(1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);  // Y, see RingWriter
  if (load_write(std::memory_order_acquire) && seen_write_ == read_) {
    return true;
  }
  // Not parking after all; a stale flag only costs one needless wake-up.
  parked.store(0, std::memory_order_relaxed);
  return false;
}

}  // namespace bocd::proto

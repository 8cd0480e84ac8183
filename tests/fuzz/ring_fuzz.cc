// libFuzzer target for the shared-memory ring (bocd/proto/ring.h) with a
// hostile peer. The input is a program of steps: the peer writes arbitrary
// bytes anywhere in the data areas, sets any position or parking flag to
// any value, or streams bytes honestly; the real consumer reads (copying
// out, then FrameBuffer and verify_envelope, as the daemon does) and the
// real producer writes. Each ring lives in its own heap allocation of
// exactly its size, so AddressSanitizer reports any access outside it.
// Oracles beyond "no crash, no sanitizer report, no hang":
//   - a read returns exactly the bytes the data area held at the reader's
//     position, never more than the capacity or the buffer;
//   - a write leaves exactly its bytes at the writer's position;
//   - an error is sticky: later calls copy nothing and report it again;
//   - a park with no time to wait returns at once.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bocd/proto/codec.h"
#include "bocd/proto/framing.h"
#include "bocd/proto/ring.h"
#include "bocd/proto/segment.h"
#include "bocd/proto/wake.h"

namespace {

using namespace bocd::proto;

// The smallest ring: positions wrap often, and fuzzed lengths reach past it.
constexpr std::uint64_t CAPACITY = MIN_RING_CAPACITY;
// Small enough that fuzzed frame lengths reach the oversized path.
constexpr std::uint32_t MAX_FRAME = 1u << 16;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "ring_fuzz: %s\n", what);
  std::abort();
}

class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size)
      : data_(data), size_(size) {}
  bool empty() const { return at_ == size_; }
  std::uint8_t byte() { return at_ < size_ ? data_[at_++] : 0; }
  std::uint64_t number(int bytes) {
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= std::uint64_t{byte()} << (8 * i);
    return v;
  }
  std::span<const std::uint8_t> take(std::size_t n) {
    n = std::min(n, size_ - at_);
    std::span<const std::uint8_t> s(data_ + at_, n);
    at_ += n;
    return s;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t at_ = 0;
};

// One ring in a heap block of exactly its control block plus data area.
class HeapRing {
 public:
  HeapRing()
      : block_(static_cast<std::uint8_t*>(::operator new(
            sizeof(RingControl) + CAPACITY, std::align_val_t{64}))) {
    new (block_) RingControl{};
    std::memset(block_ + sizeof(RingControl), 0, CAPACITY);
  }
  ~HeapRing() { ::operator delete(block_, std::align_val_t{64}); }
  HeapRing(const HeapRing&) = delete;
  HeapRing& operator=(const HeapRing&) = delete;

  RingView view() const {
    return {reinterpret_cast<RingControl*>(block_),
            block_ + sizeof(RingControl), CAPACITY};
  }
  RingControl& control() const { return *view().control; }
  std::uint8_t* data() const { return view().data; }
  // The peer's raw write at any offset, wrapping inside the data area.
  void poke(std::uint64_t offset, std::span<const std::uint8_t> bytes) const {
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      data()[(offset + i) % CAPACITY] = bytes[i];
    }
  }
  bool holds_at(std::uint64_t pos, std::span<const std::uint8_t> b) const {
    for (std::size_t i = 0; i < b.size(); ++i) {
      if (data()[(pos + i) % CAPACITY] != b[i]) return false;
    }
    return true;
  }

 private:
  std::uint8_t* block_;
};

struct WakeFds {
  UniqueFd daemon = make_wake_fd();
  UniqueFd peer = make_wake_fd();
};

class Run {
 public:
  explicit Run(Input& in) : in_(in) {}

  void go() {
    while (!in_.empty() && !closed_) step();
  }

 private:
  void step() {
    switch (in_.byte() % 11) {
      case 0:  // the peer scribbles into the data area it feeds us
        inbound_.poke(in_.number(2), in_.take(in_.byte()));
        break;
      case 1:  // the peer sets its write position to anything
        inbound_.control().write_pos.store(in_.number(8));
        break;
      case 2:  // ... or moves it by a little, either way
        inbound_.control().write_pos.fetch_add(
            static_cast<std::int16_t>(in_.number(2)));
        break;
      case 3:  // the peer streams bytes honestly at its write position
        honest_append(in_.take(in_.number(2)));
        break;
      case 4:
        read_some(1 + in_.byte() * 32);
        break;
      case 5:
        read_into_frames();
        break;
      case 6:
        park_without_waiting();
        break;
      case 7:  // the peer sets its read position of our outbound ring
        outbound_.control().read_pos.store(in_.number(8));
        break;
      case 8:
        write_some(in_.take(in_.number(2)));
        break;
      case 9:  // the peer sets the parking flags to anything
        inbound_.control().reader_parked.store(in_.number(4));
        inbound_.control().writer_parked.store(in_.number(4));
        outbound_.control().reader_parked.store(in_.number(4));
        outbound_.control().writer_parked.store(in_.number(4));
        break;
      case 10:  // the peer scribbles into the ring we feed it
        outbound_.poke(in_.number(2), in_.take(in_.byte()));
        break;
    }
  }

  void honest_append(std::span<const std::uint8_t> bytes) {
    std::uint64_t w = inbound_.control().write_pos.load();
    std::uint64_t r = inbound_.control().read_pos.load();
    std::uint64_t room = w - r <= CAPACITY ? CAPACITY - (w - r) : 0;
    bytes = bytes.first(std::min<std::uint64_t>(room, bytes.size()));
    inbound_.poke(w, bytes);
    inbound_.control().write_pos.store(w + bytes.size());
  }

  void check_sticky(RingResult r) {
    if (r.ok()) return;
    if (!reader_error_seen_) reader_error_seen_ = r.error;
    if (r.bytes != 0) fail("an error came with bytes");
    if (r.error != *reader_error_seen_) fail("an error changed");
  }

  void read_some(std::size_t n) {
    std::vector<std::uint8_t> out(n);
    std::uint64_t pos = reader_.position();
    // The bytes the read should return: single-threaded, nothing changes
    // the data area during the call.
    std::vector<std::uint8_t> before(inbound_.data(),
                                     inbound_.data() + CAPACITY);
    RingResult r = reader_.read_available(out);
    check_sticky(r);
    if (r.bytes > n || r.bytes > CAPACITY) fail("read more than fits");
    if (reader_.position() != pos + r.bytes) fail("position not advanced");
    for (std::size_t i = 0; i < r.bytes; ++i) {
      if (out[i] != before[(pos + i) % CAPACITY]) fail("read other bytes");
    }
    if (r.ok() && r.bytes > 0 &&
        inbound_.control().read_pos.load() != reader_.position()) {
      fail("read position not published");
    }
    if (r.bytes == 0) return;
    std::span<std::uint8_t> room = frames_.prepare(r.bytes);
    std::memcpy(room.data(), out.data(), r.bytes);
    frames_.commit(r.bytes);
    drain_frames();
  }

  void read_into_frames() {
    std::size_t had = frames_.buffered();
    RingResult r = reader_.read_into(frames_);
    check_sticky(r);
    if (r.bytes > CAPACITY) fail("read_into took more than a ring");
    if (frames_.buffered() != had + r.bytes) fail("read_into lost bytes");
    reader_.wake_peer_if_parked();
    drain_frames();
  }

  // What the daemon does with the bytes: frames, then verification. A
  // frame the daemon would refuse closes the session.
  void drain_frames() {
    std::span<const std::uint8_t> body;
    for (;;) {
      switch (frames_.next(body)) {
        case FrameBuffer::Next::need_more:
          return;
        case FrameBuffer::Next::oversized:
        case FrameBuffer::Next::empty_frame:
          closed_ = true;
          return;
        case FrameBuffer::Next::frame: {
          std::string why;
          if (verify_envelope(body, why) == nullptr) closed_ = true;
          frames_.pop();
          if (closed_) return;
          break;
        }
      }
    }
  }

  void park_without_waiting() {
    const SpinThenPark waits(std::chrono::nanoseconds(0),
                             std::chrono::milliseconds(0));
    waits.wait_readable(reader_, wake_.daemon.get());
    waits.wait_writable(writer_, wake_.daemon.get());
  }

  void write_some(std::span<const std::uint8_t> bytes) {
    std::uint64_t pos = writer_.position();
    RingResult r = writer_.try_write(bytes);
    if (!r.ok() && r.bytes != 0) fail("a write error came with bytes");
    if (r.bytes > bytes.size() || r.bytes > CAPACITY) fail("wrote too much");
    if (writer_.position() != pos + r.bytes) fail("position not advanced");
    if (!outbound_.holds_at(pos, bytes.first(r.bytes))) fail("wrote elsewhere");
    if (r.ok() && r.bytes > 0 &&
        outbound_.control().write_pos.load() != writer_.position()) {
      fail("write position not published");
    }
    writer_.wake_peer_if_parked();
  }

  Input& in_;
  HeapRing inbound_;   // the peer produces, we consume
  HeapRing outbound_;  // we produce, the peer consumes
  WakeFds wake_;
  RingReader reader_{inbound_.view(), wake_.peer.get()};
  RingWriter writer_{outbound_.view(), wake_.peer.get()};
  FrameBuffer frames_{MAX_FRAME};
  std::optional<RingError> reader_error_seen_;
  bool closed_ = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  Input in(data, size);
  Run run(in);
  run.go();
  return 0;
}

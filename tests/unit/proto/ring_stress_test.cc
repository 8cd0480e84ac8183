// Many frames of random sizes between two threads through one ring, with
// spin-then-park on both sides, every byte checked. Built and run under
// ThreadSanitizer too (tools/test.sh), which checks the orderings of
// ring.cc: a missing acquire/release or a lost wake-up shows up here as a
// race report, wrong bytes or a hang.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <random>
#include <thread>
#include <vector>

#include "bocd/proto/framing.h"
#include "bocd/proto/ring.h"
#include "bocd/proto/segment.h"
#include "bocd/proto/wake.h"

#ifndef BOCD_RING_STRESS_FRAMES
#define BOCD_RING_STRESS_FRAMES 1000000
#endif

namespace bocd::proto {
namespace {

// Frame i's body: its number, then bytes that depend on the number and
// the offset, so a lost, repeated or shifted byte is caught.
std::uint8_t body_byte(std::uint64_t frame, std::size_t i) {
  return static_cast<std::uint8_t>(frame * 0x9e37 + i * 13 + (i >> 8));
}

// Mostly small frames (what per-behavior traffic is), now and then one
// larger than the ring, so both the batching and the streaming paths run.
std::size_t body_size(std::mt19937_64& rng) {
  std::uint64_t r = rng();
  if (r % 1000 == 0) return 8 + (r >> 10) % (3 * MIN_RING_CAPACITY);
  return 8 + (r >> 10) % 120;
}

TEST(RingStress, AMillionFramesOfRandomSizesArriveIntactWithSpinThenPark) {
  const std::uint64_t frames_total = BOCD_RING_STRESS_FRAMES;
  Segment segment = Segment::create(MIN_RING_CAPACITY);
  UniqueFd reader_wake = make_wake_fd();
  UniqueFd writer_wake = make_wake_fd();
  RingWriter writer(segment.to_daemon(), reader_wake.get());
  RingReader reader(segment.to_daemon(), writer_wake.get());
  // A short spin, so that both the spinning and the parking paths run on
  // a machine with fewer cores than busy threads; parking without a
  // timeout, so that a lost wake-up is a hang (ctest's timeout fails it)
  // rather than a slow pass.
  const auto forever = std::chrono::milliseconds(-1);
  const SpinThenPark writer_waits(std::chrono::microseconds(2), forever);
  const SpinThenPark reader_waits(std::chrono::microseconds(2), forever);

  std::thread producer([&] {
    std::mt19937_64 rng(42);
    std::vector<std::uint8_t> frame;
    for (std::uint64_t n = 0; n < frames_total; ++n) {
      std::size_t size = body_size(rng);
      frame.clear();
      append_header(frame, static_cast<std::uint32_t>(size));
      for (int b = 0; b < 8; ++b) frame.push_back(std::uint8_t(n >> (8 * b)));
      for (std::size_t i = 8; i < size; ++i) frame.push_back(body_byte(n, i));
      std::span<const std::uint8_t> left(frame);
      while (!left.empty()) {
        RingResult w = writer.try_write(left);
        ASSERT_TRUE(w.ok()) << describe(w.error);
        left = left.subspan(w.bytes);
        if (w.bytes > 0) {
          writer.wake_peer_if_parked();
        } else {
          writer_waits.wait_writable(writer, writer_wake.get());
        }
      }
    }
  });

  FrameBuffer frames;
  std::uint64_t received = 0;
  std::uint64_t bad = 0;
  while (received < frames_total) {
    RingResult r = reader.read_into(frames);
    ASSERT_TRUE(r.ok()) << describe(r.error);
    if (r.bytes == 0) {
      reader_waits.wait_readable(reader, reader_wake.get());
      continue;
    }
    reader.wake_peer_if_parked();
    std::span<const std::uint8_t> body;
    while (frames.next(body) == FrameBuffer::Next::frame) {
      std::uint64_t n = 0;
      for (int b = 0; b < 8; ++b) n |= std::uint64_t(body[b]) << (8 * b);
      if (n != received) ++bad;
      for (std::size_t i = 8; i < body.size(); ++i) {
        if (body[i] != body_byte(n, i)) ++bad;
      }
      frames.pop();
      ++received;
    }
    ASSERT_EQ(bad, 0u) << "frame " << received;
  }
  producer.join();
  EXPECT_EQ(received, frames_total);
  EXPECT_EQ(reader.position(), writer.position());
  EXPECT_EQ(frames.buffered(), 0u);
  // The waits ran (on any machine the first read waits).
  EXPECT_GT(reader_waits.counts().spun + reader_waits.counts().parked, 0u);
  std::printf("reader waits: %llu spun, %llu parked; writer: %llu, %llu\n",
              static_cast<unsigned long long>(reader_waits.counts().spun),
              static_cast<unsigned long long>(reader_waits.counts().parked),
              static_cast<unsigned long long>(writer_waits.counts().spun),
              static_cast<unsigned long long>(writer_waits.counts().parked));
}

}  // namespace
}  // namespace bocd::proto

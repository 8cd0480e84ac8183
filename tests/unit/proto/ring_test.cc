// The shared-memory byte ring (bocd/proto/ring.h) in one process: bytes in
// order across the end of the data area, back-pressure, a frame larger
// than the ring streamed by two threads, and every check of a peer's
// position. ring_stress_test.cc and ring_peer_death_test.cc cover many
// frames and a dying peer.
#include "bocd/proto/ring.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdint>
#include <numeric>
#include <random>
#include <thread>
#include <vector>

#include "bocd/proto/framing.h"
#include "bocd/proto/segment.h"
#include "bocd/proto/wake.h"

namespace bocd::proto {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes pattern(std::size_t n, std::uint64_t seed) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) {
    b[i] = static_cast<std::uint8_t>((seed * 131 + i * 7) >> 1);
  }
  return b;
}

// Both ends of one ring of a real segment, with the eventfds each parks on.
struct RingPair {
  explicit RingPair(std::uint64_t capacity = MIN_RING_CAPACITY)
      : segment(Segment::create(capacity)),
        reader_wake(make_wake_fd()),
        writer_wake(make_wake_fd()),
        writer(segment.to_daemon(), reader_wake.get()),
        reader(segment.to_daemon(), writer_wake.get()) {}
  RingControl& control() { return *segment.to_daemon().control; }

  Segment segment;
  UniqueFd reader_wake;
  UniqueFd writer_wake;
  RingWriter writer;
  RingReader reader;
};

TEST(Ring, OddSizedWritesWrapAroundTheEndOfTheDataAreaIntact) {
  RingPair p;
  std::mt19937_64 rng(7);
  Bytes sent;
  Bytes got;
  // Odd sizes up to nearly the capacity cross the end of the data area
  // at ever different offsets.
  for (int i = 0; i < 2000; ++i) {
    Bytes chunk = pattern(1 + rng() % 3001, i);
    RingResult w = p.writer.try_write(chunk);
    ASSERT_TRUE(w.ok());
    sent.insert(sent.end(), chunk.begin(), chunk.begin() + w.bytes);
    Bytes out(1 + rng() % 4096);
    RingResult r = p.reader.read_available(out);
    ASSERT_TRUE(r.ok());
    got.insert(got.end(), out.begin(), out.begin() + r.bytes);
  }
  Bytes rest(MIN_RING_CAPACITY);
  RingResult r = p.reader.read_available(rest);
  got.insert(got.end(), rest.begin(), rest.begin() + r.bytes);
  EXPECT_GT(sent.size(), 4 * MIN_RING_CAPACITY) << "wrapped many times";
  EXPECT_EQ(got, sent);
  EXPECT_EQ(p.reader.position(), p.writer.position());
}

TEST(Ring, AFullRingTakesPartThenNothingUntilTheReaderConsumes) {
  RingPair p;
  Bytes big = pattern(MIN_RING_CAPACITY + 100, 1);
  RingResult first = p.writer.try_write(big);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first.bytes, MIN_RING_CAPACITY) << "a partial write";
  EXPECT_EQ(p.writer.free_bytes(), 0u);
  RingResult none = p.writer.try_write(std::span(big).subspan(first.bytes));
  EXPECT_TRUE(none.ok());
  EXPECT_EQ(none.bytes, 0u) << "back-pressure: nothing fits";

  Bytes out(60);
  ASSERT_EQ(p.reader.read_available(out).bytes, 60u);
  EXPECT_EQ(p.writer.free_bytes(), 60u);
  RingResult more = p.writer.try_write(std::span(big).subspan(first.bytes));
  EXPECT_EQ(more.bytes, 60u) << "progress once the reader made room";

  Bytes all(2 * MIN_RING_CAPACITY);
  RingResult r = p.reader.read_available(all);
  ASSERT_EQ(r.bytes, MIN_RING_CAPACITY);
  Bytes got(out);
  got.insert(got.end(), all.begin(), all.begin() + r.bytes);
  EXPECT_EQ(got, Bytes(big.begin(), big.begin() + first.bytes + 60));
}

TEST(Ring, AFrameLargerThanTheRingStreamsThroughInPiecesBetweenThreads) {
  RingPair p;
  // A frame of 40 ring capacities: header then body.
  Bytes body = pattern(40 * MIN_RING_CAPACITY + 13, 3);
  Bytes frame;
  append_header(frame, static_cast<std::uint32_t>(body.size()));
  frame.insert(frame.end(), body.begin(), body.end());
  // One per waiting thread (each counts its own waits).
  const SpinThenPark writer_waits(std::chrono::microseconds(5));
  const SpinThenPark reader_waits(std::chrono::microseconds(5));

  std::thread producer([&] {
    std::span<const std::uint8_t> left(frame);
    while (!left.empty()) {
      RingResult w = p.writer.try_write(left);
      ASSERT_TRUE(w.ok());
      left = left.subspan(w.bytes);
      if (w.bytes > 0) {
        p.writer.wake_peer_if_parked();
      } else {
        writer_waits.wait_writable(p.writer, p.writer_wake.get());
      }
    }
  });
  FrameBuffer frames;
  std::span<const std::uint8_t> got;
  int reads = 0;
  while (frames.next(got) == FrameBuffer::Next::need_more) {
    RingResult r = p.reader.read_into(frames);
    ASSERT_TRUE(r.ok());
    ASSERT_LE(r.bytes, MIN_RING_CAPACITY);
    if (r.bytes > 0) {
      ++reads;
      p.reader.wake_peer_if_parked();
    } else {
      reader_waits.wait_readable(p.reader, p.reader_wake.get());
    }
  }
  producer.join();
  EXPECT_TRUE(std::equal(got.begin(), got.end(), body.begin(), body.end()));
  EXPECT_GE(reads, 41) << "no read can take more than one ring's worth";
}

TEST(Ring, AWritePositionMovingBackwardsIsAnError) {
  RingPair p;
  ASSERT_EQ(p.writer.try_write(pattern(100, 1)).bytes, 100u);
  Bytes out(40);
  ASSERT_EQ(p.reader.read_available(out).bytes, 40u);
  p.control().write_pos.store(70);  // the peer rewinds past what we saw
  RingResult r = p.reader.read_available(out);
  EXPECT_EQ(r.error, RingError::write_moved_backwards);
  EXPECT_EQ(r.bytes, 0u);
  EXPECT_EQ(p.reader.position(), 40u) << "nothing read after the error";
}

TEST(Ring, AWritePositionMoreThanACapacityAheadIsAnOverrun) {
  RingPair p;
  p.control().write_pos.store(MIN_RING_CAPACITY + 1);
  Bytes out(16);
  RingResult r = p.reader.read_available(out);
  EXPECT_EQ(r.error, RingError::overrun);
  EXPECT_EQ(p.reader.available_bytes(), 0u);
  EXPECT_FALSE(p.reader.announce_parking()) << "an error is not 'empty'";
}

TEST(Ring, AWritePositionNearTheTopOfTheRangeIsAnOverrunNotAWrap) {
  RingPair p;
  p.control().write_pos.store(~std::uint64_t{0});
  Bytes out(16);
  EXPECT_EQ(p.reader.read_available(out).error, RingError::overrun);
}

TEST(Ring, AReadPositionMovingBackwardsIsAnError) {
  RingPair p;
  ASSERT_EQ(p.writer.try_write(pattern(100, 1)).bytes, 100u);
  Bytes out(60);
  ASSERT_EQ(p.reader.read_available(out).bytes, 60u);
  ASSERT_EQ(p.writer.free_bytes(), MIN_RING_CAPACITY - 40);
  p.control().read_pos.store(10);  // the peer rewinds what it consumed
  RingResult w = p.writer.try_write(pattern(8, 2));
  EXPECT_EQ(w.error, RingError::read_moved_backwards);
  EXPECT_EQ(w.bytes, 0u);
  EXPECT_EQ(p.writer.position(), 100u) << "nothing written after the error";
}

TEST(Ring, AReadPositionPastWhatWasWrittenIsAnError) {
  RingPair p;
  ASSERT_EQ(p.writer.try_write(pattern(100, 1)).bytes, 100u);
  p.control().read_pos.store(101);
  EXPECT_EQ(p.writer.try_write(pattern(8, 2)).error,
            RingError::read_ahead_of_write);
  EXPECT_FALSE(p.writer.announce_parking()) << "an error is not 'full'";
}

TEST(Ring, AnErrorStaysEvenWhenThePeerPutsThePositionBack) {
  RingPair p;
  p.control().write_pos.store(MIN_RING_CAPACITY * 2);
  Bytes out(16);
  ASSERT_EQ(p.reader.read_available(out).error, RingError::overrun);
  p.control().write_pos.store(0);
  EXPECT_EQ(p.reader.read_available(out).error, RingError::overrun);
  EXPECT_EQ(p.reader.error(), RingError::overrun);
  EXPECT_STRNE(describe(RingError::overrun), describe(RingError::none));
}

TEST(Ring, AWriterSignalsOnlyAReaderThatAnnouncedItParks) {
  RingPair p;
  ASSERT_EQ(p.writer.try_write(pattern(4, 1)).bytes, 4u);
  EXPECT_FALSE(p.writer.wake_peer_if_parked()) << "nobody parked";
  Bytes out(8);
  ASSERT_EQ(p.reader.read_available(out).bytes, 4u);
  ASSERT_TRUE(p.reader.announce_parking()) << "empty: park";
  ASSERT_EQ(p.writer.try_write(pattern(4, 2)).bytes, 4u);
  EXPECT_TRUE(p.writer.wake_peer_if_parked());
  std::uint64_t count = 0;
  ASSERT_EQ(::read(p.reader_wake.get(), &count, sizeof count),
            static_cast<ssize_t>(sizeof count));
  EXPECT_EQ(count, 1u);
  EXPECT_FALSE(p.writer.wake_peer_if_parked()) << "one wake-up per park";
  EXPECT_FALSE(p.reader.announce_parking()) << "data is waiting: no park";
  EXPECT_EQ(p.control().reader_parked.load(), 0u) << "the flag withdrawn";
}

TEST(Ring, AReaderSignalsOnlyAWriterThatAnnouncedItParks) {
  RingPair p;
  ASSERT_EQ(p.writer.try_write(pattern(MIN_RING_CAPACITY, 1)).bytes,
            MIN_RING_CAPACITY);
  ASSERT_TRUE(p.writer.announce_parking()) << "full: park";
  Bytes out(1);
  ASSERT_EQ(p.reader.read_available(out).bytes, 1u);
  EXPECT_TRUE(p.reader.wake_peer_if_parked());
  std::uint64_t count = 0;
  ASSERT_EQ(::read(p.writer_wake.get(), &count, sizeof count),
            static_cast<ssize_t>(sizeof count));
  EXPECT_FALSE(p.reader.wake_peer_if_parked());
  EXPECT_FALSE(p.writer.announce_parking()) << "room now: no park";
}

TEST(Ring, SpinThenParkReportsATimeoutWhenNothingArrives) {
  RingPair p;
  const SpinThenPark waits(std::chrono::nanoseconds(0),
                           std::chrono::milliseconds(1));
  EXPECT_EQ(waits.wait_readable(p.reader, p.reader_wake.get()),
            WaitStatus::timed_out);
  EXPECT_EQ(waits.counts().parked, 1u);
  ASSERT_EQ(p.writer.try_write(pattern(3, 1)).bytes, 3u);
  EXPECT_EQ(waits.wait_readable(p.reader, p.reader_wake.get()),
            WaitStatus::ready);
}

TEST(Ring, AParkedWaitReturnsWhenASignalArrives) {
  RingPair p;
  struct sigaction sa {};
  sa.sa_handler = [](int) {};
  sa.sa_flags = 0;  // no SA_RESTART: poll() returns EINTR, as on Ctrl-C
  struct sigaction old {};
  ASSERT_EQ(::sigaction(SIGUSR1, &sa, &old), 0);
  const SpinThenPark waits(std::chrono::nanoseconds(0),
                           std::chrono::milliseconds(-1));
  std::atomic<bool> done{false};
  pthread_t waiter = ::pthread_self();
  // Signals until the wait returns: one of them lands while it is parked
  // (a signal that lands before it parks is simply handled).
  std::thread signaller([&] {
    while (!done.load()) {
      ::pthread_kill(waiter, SIGUSR1);
      std::this_thread::yield();
    }
  });
  WaitStatus s = waits.wait_readable(p.reader, p.reader_wake.get());
  done.store(true);
  signaller.join();
  ::sigaction(SIGUSR1, &old, nullptr);
  EXPECT_EQ(s, WaitStatus::interrupted);
  EXPECT_EQ(p.reader.error(), RingError::none);
}

}  // namespace
}  // namespace bocd::proto

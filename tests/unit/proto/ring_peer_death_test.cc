// A writer process killed halfway through a frame: the reader keeps the
// bytes that were published, sees a frame that never completes, learns
// that the peer is gone from the process (in the product, from the
// socket's EOF) rather than from the ring, and its ring state stays valid.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "bocd/proto/framing.h"
#include "bocd/proto/ring.h"
#include "bocd/proto/segment.h"
#include "bocd/proto/wake.h"

namespace bocd::proto {
namespace {

constexpr std::uint32_t BODY = 3000;
constexpr std::size_t PUBLISHED = FRAME_HEADER_BYTES + 1000;

TEST(RingPeerDeath, AWriterKilledMidFrameLeavesAPartialFrameAndAValidRing) {
  Segment segment = Segment::create(MIN_RING_CAPACITY);
  UniqueFd reader_wake = make_wake_fd();
  UniqueFd writer_wake = make_wake_fd();
  int halfway[2];
  ASSERT_EQ(::pipe(halfway), 0);

  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The writer: publishes the header and part of the body, then starts
    // copying more without publishing it (as if killed inside memcpy).
    RingWriter writer(segment.to_daemon(), reader_wake.get());
    std::vector<std::uint8_t> frame;
    append_header(frame, BODY);
    frame.resize(FRAME_HEADER_BYTES + BODY, 0xab);
    if (writer.try_write(std::span(frame).first(PUBLISHED)).bytes != PUBLISHED)
      ::_exit(2);
    writer.wake_peer_if_parked();
    RingView v = segment.to_daemon();
    std::memset(v.data + PUBLISHED, 0xee, 500);  // unpublished bytes
    char one = 1;
    if (::write(halfway[1], &one, 1) != 1) ::_exit(3);
    for (;;) ::pause();
  }
  ::close(halfway[1]);
  char one;
  ASSERT_EQ(::read(halfway[0], &one, 1), 1);
  ::close(halfway[0]);
  ASSERT_EQ(::kill(child, SIGKILL), 0);

  RingReader reader(segment.to_daemon(), writer_wake.get());
  FrameBuffer frames;
  const SpinThenPark waits(std::chrono::microseconds(0),
                           std::chrono::milliseconds(10));
  bool peer_gone = false;
  std::span<const std::uint8_t> body;
  // The reader's loop: read what there is; when nothing comes, park with
  // a timeout and look whether the peer is still there.
  while (!peer_gone) {
    RingResult r = reader.read_into(frames);
    ASSERT_TRUE(r.ok()) << describe(r.error);
    ASSERT_EQ(frames.next(body), FrameBuffer::Next::need_more);
    if (r.bytes > 0) continue;
    WaitStatus s = waits.wait_readable(reader, reader_wake.get());
    ASSERT_NE(s, WaitStatus::ready) << "no byte past what was published";
    int status = 0;
    pid_t w = ::waitpid(child, &status, WNOHANG);
    ASSERT_GE(w, 0);
    if (w == child) {
      EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
      peer_gone = true;
    }
  }
  EXPECT_EQ(frames.buffered(), PUBLISHED) << "exactly the published bytes";
  EXPECT_EQ(frames.pending_length(), BODY) << "a frame that never completes";
  EXPECT_EQ(reader.error(), RingError::none);
  EXPECT_EQ(reader.position(), PUBLISHED);
  EXPECT_EQ(reader.available_bytes(), 0u);

  // The other direction still works for the survivor: it fills up and
  // then pushes back, without error and without blocking.
  RingWriter to_dead(segment.from_daemon(), reader_wake.get());
  std::vector<std::uint8_t> block(MIN_RING_CAPACITY + 1, 1);
  RingResult w = to_dead.try_write(block);
  EXPECT_TRUE(w.ok());
  EXPECT_EQ(w.bytes, MIN_RING_CAPACITY);
  EXPECT_EQ(to_dead.try_write(block).bytes, 0u);
  EXPECT_FALSE(to_dead.wake_peer_if_parked()) << "the dead never parked";
}

}  // namespace
}  // namespace bocd::proto

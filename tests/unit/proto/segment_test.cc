// The ring segment (bocd/proto/segment.h): what the daemon creates, and
// what a program refuses to map, with a message naming why.
#include "bocd/proto/segment.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace bocd::proto {
namespace {

// A memfd of `size` bytes holding `header`, with `seals` added.
UniqueFd make_memfd(std::uint64_t size, const SegmentHeader& header,
                    unsigned seals) {
  UniqueFd fd(::memfd_create("segment-test", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  EXPECT_TRUE(fd);
  EXPECT_EQ(::ftruncate(fd.get(), static_cast<off_t>(size)), 0);
  EXPECT_EQ(::pwrite(fd.get(), &header, sizeof header, 0),
            static_cast<ssize_t>(sizeof header));
  if (seals != 0) {
    EXPECT_EQ(::fcntl(fd.get(), F_ADD_SEALS, seals), 0);
  }
  return fd;
}

SegmentHeader good_header(std::uint64_t capacity = MIN_RING_CAPACITY) {
  SegmentHeader h{};
  h.magic = SEGMENT_MAGIC;
  h.layout_version = SEGMENT_LAYOUT_VERSION;
  h.ring_capacity = capacity;
  return h;
}

constexpr unsigned ALL_SEALS = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;

// The message of the SegmentError map(fd) throws, or "" if it maps.
std::string refusal(UniqueFd fd) {
  try {
    Segment::map(std::move(fd));
  } catch (const SegmentError& e) {
    return e.what();
  }
  return "";
}

TEST(Segment, TheProgramMapsWhatTheDaemonCreatedAndBothSeeOneRing) {
  Segment daemon = Segment::create(8192);
  Segment program = Segment::map(UniqueFd(::dup(daemon.fd())));
  EXPECT_EQ(program.ring_capacity(), 8192u);
  EXPECT_EQ(program.size(), segment_bytes(8192));
  RingWriter w(program.to_daemon(), -1);
  RingReader r(daemon.to_daemon(), -1);
  const std::uint8_t hello[] = {'h', 'i'};
  ASSERT_EQ(w.try_write(hello).bytes, 2u);
  std::uint8_t out[4];
  ASSERT_EQ(r.read_available(out).bytes, 2u);
  EXPECT_EQ(std::memcmp(out, hello, 2), 0);
  EXPECT_NE(daemon.to_daemon().control, daemon.from_daemon().control);
}

TEST(Segment, BothSidesKeepTheirOwnCopyOfTheLayout) {
  Segment daemon = Segment::create(MIN_RING_CAPACITY);
  Segment program = Segment::map(UniqueFd(::dup(daemon.fd())));
  RingView before = daemon.from_daemon();
  // A peer rewrites the header after the hand-over.
  SegmentHeader forged = good_header(MAX_RING_CAPACITY);
  forged.magic = 0;
  ASSERT_EQ(::pwrite(daemon.fd(), &forged, sizeof forged, 0),
            static_cast<ssize_t>(sizeof forged));
  EXPECT_EQ(daemon.ring_capacity(), MIN_RING_CAPACITY);
  EXPECT_EQ(program.ring_capacity(), MIN_RING_CAPACITY);
  EXPECT_EQ(daemon.from_daemon().capacity, MIN_RING_CAPACITY);
  EXPECT_EQ(daemon.from_daemon().data, before.data);
}

TEST(Segment, ACreatedSegmentCannotBeShrunkOrGrownByAPeer) {
  Segment s = Segment::create();
  EXPECT_NE(::ftruncate(s.fd(), 64), 0);
  EXPECT_EQ(errno, EPERM);
  EXPECT_NE(::ftruncate(s.fd(), static_cast<off_t>(s.size() * 2)), 0);
  EXPECT_NE(::fcntl(s.fd(), F_ADD_SEALS, F_SEAL_WRITE), 0)
      << "sealing is sealed too";
  EXPECT_TRUE(::fcntl(s.fd(), F_GETFD) & FD_CLOEXEC);
}

TEST(Segment, ACapacityThatIsNotAPowerOfTwoInBoundsIsRefusedOnCreate) {
  EXPECT_THROW(Segment::create(5000), std::invalid_argument);
  EXPECT_THROW(Segment::create(MIN_RING_CAPACITY / 2), std::invalid_argument);
  EXPECT_THROW(Segment::create(MAX_RING_CAPACITY * 2), std::invalid_argument);
}

TEST(Segment, AnUnsealedSegmentIsRefused) {
  std::string why = refusal(
      make_memfd(segment_bytes(MIN_RING_CAPACITY), good_header(), 0));
  EXPECT_NE(why.find("not sealed"), std::string::npos) << why;
  EXPECT_NE(why.find("seals none"), std::string::npos) << why;
}

TEST(Segment, ASegmentSealedAgainstShrinkingButNotGrowingIsRefused) {
  std::string why = refusal(make_memfd(segment_bytes(MIN_RING_CAPACITY),
                                       good_header(), F_SEAL_SHRINK));
  EXPECT_NE(why.find("seals SHRINK,"), std::string::npos) << why;
}

TEST(Segment, ASegmentOfTheWrongSizeIsRefused) {
  std::string why = refusal(make_memfd(segment_bytes(MIN_RING_CAPACITY) - 1,
                                       good_header(), ALL_SEALS));
  const std::string need =
      "need " + std::to_string(segment_bytes(MIN_RING_CAPACITY));
  EXPECT_NE(why.find(need), std::string::npos) << why;
  why = refusal(make_memfd(segment_bytes(MIN_RING_CAPACITY) + 4096,
                           good_header(), ALL_SEALS));
  EXPECT_NE(why.find("bytes; rings of 4096 bytes need"), std::string::npos)
      << why;
}

TEST(Segment, ASegmentSmallerThanItsHeaderIsRefused) {
  UniqueFd fd(::memfd_create("segment-test", MFD_ALLOW_SEALING));
  ASSERT_EQ(::ftruncate(fd.get(), 10), 0);
  ASSERT_EQ(::fcntl(fd.get(), F_ADD_SEALS, ALL_SEALS), 0);
  std::string why = refusal(std::move(fd));
  EXPECT_NE(why.find("smaller than its header"), std::string::npos) << why;
}

TEST(Segment, ASegmentWithTheWrongMagicIsRefused) {
  SegmentHeader h = good_header();
  h.magic = 0x1122334455667788ull;
  std::string why =
      refusal(make_memfd(segment_bytes(MIN_RING_CAPACITY), h, ALL_SEALS));
  EXPECT_NE(why.find("wrong magic 0x1122334455667788"), std::string::npos)
      << why;
}

TEST(Segment, ASegmentOfAnotherLayoutVersionIsRefused) {
  SegmentHeader h = good_header();
  h.layout_version = SEGMENT_LAYOUT_VERSION + 1;
  std::string why =
      refusal(make_memfd(segment_bytes(MIN_RING_CAPACITY), h, ALL_SEALS));
  EXPECT_NE(why.find("layout version"), std::string::npos) << why;
}

TEST(Segment, ASegmentClaimingABadCapacityIsRefused) {
  SegmentHeader h = good_header(4097);
  std::string why = refusal(make_memfd(segment_bytes(4097), h, ALL_SEALS));
  EXPECT_NE(why.find("ring capacity 4097, not a power of two"),
            std::string::npos)
      << why;
}

TEST(Segment, ADescriptorThatIsNotAMemfdIsRefused) {
  std::string why = refusal(UniqueFd(::eventfd(0, EFD_CLOEXEC)));
  EXPECT_NE(why.find("cannot read its seals"), std::string::npos) << why;
}

}  // namespace
}  // namespace bocd::proto

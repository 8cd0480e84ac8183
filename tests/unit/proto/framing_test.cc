#include "bocd/proto/framing.h"

#include <cstring>

#include <gtest/gtest.h>

namespace bocd::proto {
namespace {

void feed(FrameBuffer& f, const std::vector<std::uint8_t>& bytes) {
  auto space = f.prepare(bytes.size());
  std::memcpy(space.data(), bytes.data(), bytes.size());
  f.commit(bytes.size());
}

std::vector<std::uint8_t> frame(const std::string& body) {
  std::vector<std::uint8_t> out;
  append_header(out, static_cast<std::uint32_t>(body.size()));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

TEST(FrameBuffer, WholeFrameIsReturnedThenPopped) {
  FrameBuffer f;
  feed(f, frame("abc"));
  std::span<const std::uint8_t> body;
  ASSERT_EQ(f.next(body), FrameBuffer::Next::frame);
  EXPECT_EQ(std::string(body.begin(), body.end()), "abc");
  f.pop();
  EXPECT_EQ(f.next(body), FrameBuffer::Next::need_more);
  EXPECT_EQ(f.buffered(), 0u);
}

TEST(FrameBuffer, FrameSplitAcrossReadsIsReassembled) {
  FrameBuffer f;
  auto bytes = frame("hello world");
  std::span<const std::uint8_t> body;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    EXPECT_EQ(f.next(body), FrameBuffer::Next::need_more);
    feed(f, {bytes[i]});
  }
  ASSERT_EQ(f.next(body), FrameBuffer::Next::frame);
  EXPECT_EQ(std::string(body.begin(), body.end()), "hello world");
}

TEST(FrameBuffer, SeveralFramesInOneReadComeOutInOrder) {
  FrameBuffer f;
  std::vector<std::uint8_t> bytes;
  for (const char* s : {"one", "two", "three"}) {
    auto b = frame(s);
    bytes.insert(bytes.end(), b.begin(), b.end());
  }
  feed(f, bytes);
  std::span<const std::uint8_t> body;
  for (const char* s : {"one", "two", "three"}) {
    ASSERT_EQ(f.next(body), FrameBuffer::Next::frame);
    EXPECT_EQ(std::string(body.begin(), body.end()), s);
    f.pop();
  }
}

TEST(FrameBuffer, LengthOverTheLimitIsRefusedBeforeTheBodyArrives) {
  FrameBuffer f(1024);
  std::vector<std::uint8_t> header;
  append_header(header, 1025);
  feed(f, header);
  std::span<const std::uint8_t> body;
  EXPECT_EQ(f.next(body), FrameBuffer::Next::oversized);
}

TEST(FrameBuffer, ZeroLengthFrameIsReported) {
  FrameBuffer f;
  feed(f, {0, 0, 0, 0});
  std::span<const std::uint8_t> body;
  EXPECT_EQ(f.next(body), FrameBuffer::Next::empty_frame);
}

TEST(FrameBuffer, HeaderIsLittleEndian) {
  std::vector<std::uint8_t> h;
  append_header(h, 0x01020304);
  EXPECT_EQ(h, (std::vector<std::uint8_t>{4, 3, 2, 1}));
}

// A hostile length prefix alone allocates nothing: the buffer follows the
// bytes that arrive, and never grows past the end of the announced frame.
TEST(FrameBuffer, GrowsWithArrivingBytesNotTheLengthPrefix) {
  FrameBuffer f(1u << 30);
  std::vector<std::uint8_t> header;
  append_header(header, 512u << 20);
  feed(f, header);
  EXPECT_EQ(f.pending_length(), 512u << 20);
  for (int i = 0; i < 64; ++i) {
    auto space = f.prepare(64 * 1024);
    f.commit(space.size());
  }
  std::span<const std::uint8_t> body;
  EXPECT_EQ(f.next(body), FrameBuffer::Next::need_more);
  // 4 MiB arrived; doubling leaves at most as much again unused.
  EXPECT_EQ(f.buffered(), (std::size_t{4} << 20) + 4);
  EXPECT_LE(f.allocated(), std::size_t{9} << 20);
}

TEST(FrameBuffer, BufferStopsAtTheEndOfTheFrameAndIsFreedAfterIt) {
  std::string big(3 << 20, 'x');
  FrameBuffer f(8u << 20);
  std::vector<std::uint8_t> bytes = frame(big);
  std::size_t at = 0;
  while (at < bytes.size()) {
    auto space = f.prepare(64 * 1024);
    std::size_t n = std::min(space.size(), bytes.size() - at);
    std::memcpy(space.data(), bytes.data() + at, n);
    f.commit(n);
    at += n;
    // Never more room than the rest of the frame plus one read.
    EXPECT_LE(space.size(), bytes.size() - (at - n) + 64 * 1024);
  }
  std::span<const std::uint8_t> body;
  ASSERT_EQ(f.next(body), FrameBuffer::Next::frame);
  // Held once: no doubling past the frame, and no aligned copy of it.
  EXPECT_LE(f.allocated(), bytes.size() + 8 + 64 * 1024);
  // The body of a frame at the buffer's start is read in place: aligned.
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(body.data()) % 8, 0u);
  EXPECT_EQ(std::string(body.begin(), body.end()), big);
  f.pop();
  f.trim(128 * 1024);
  EXPECT_EQ(f.allocated(), 0u);
  feed(f, frame("after"));
  ASSERT_EQ(f.next(body), FrameBuffer::Next::frame);
  EXPECT_EQ(std::string(body.begin(), body.end()), "after");
}

}  // namespace
}  // namespace bocd::proto

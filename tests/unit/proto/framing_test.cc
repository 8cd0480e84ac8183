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

}  // namespace
}  // namespace bocd::proto

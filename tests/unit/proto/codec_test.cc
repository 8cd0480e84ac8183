#include "bocd/proto/codec.h"

#include <gtest/gtest.h>

#include <cstring>

namespace bocd::proto {
namespace {

// Decodes the single frame in `bytes`.
const fb::Envelope* only_frame(const std::vector<std::uint8_t>& bytes,
                               std::vector<std::uint8_t>& body) {
  FrameBuffer f;
  auto space = f.prepare(bytes.size());
  std::copy(bytes.begin(), bytes.end(), space.begin());
  f.commit(bytes.size());
  std::span<const std::uint8_t> b;
  EXPECT_EQ(f.next(b), FrameBuffer::Next::frame);
  body.assign(b.begin(), b.end());
  std::string why;
  const fb::Envelope* env = verify_envelope(body, why);
  EXPECT_NE(env, nullptr) << why;
  return env;
}

TEST(Codec, SubmitRoundTripsEveryField) {
  std::vector<std::uint8_t> out, body;
  Encoder e(out);
  std::vector<std::uint64_t> cowns = {7, 3, 7};
  e.submit(42, cowns, 99, fb::Executor::Submitter, 5, "payload");
  const auto* s = only_frame(out, body)->message_as_Submit();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->tag(), 42u);
  EXPECT_EQ(std::vector<std::uint64_t>(s->cowns()->begin(), s->cowns()->end()),
            cowns);
  EXPECT_EQ(s->result(), 99u);
  EXPECT_EQ(s->executor(), fb::Executor::Submitter);
  EXPECT_EQ(s->parent(), 5u);
  EXPECT_EQ(std::string(s->payload()->begin(), s->payload()->end()), "payload");
}

TEST(Codec, DispatchCarriesValuesWithTheirFlags) {
  std::vector<std::uint8_t> out, body;
  Encoder e(out);
  std::vector<CownValueRef> values = {
      {1, {"a", false, fb::ErrorCode::None}},
      {2, {"lost", true, fb::ErrorCode::ExecutorLost}}};
  e.dispatch(10, 11, 12, values, 13, "", true);
  const auto* d = only_frame(out, body)->message_as_Dispatch();
  ASSERT_NE(d, nullptr);
  ASSERT_EQ(d->cowns()->size(), 2u);
  const auto* v = d->cowns()->Get(1)->value();
  EXPECT_EQ(d->cowns()->Get(1)->id(), 2u);
  EXPECT_TRUE(v->exception());
  EXPECT_EQ(v->error(), fb::ErrorCode::ExecutorLost);
  EXPECT_EQ(std::string(v->data()->begin(), v->data()->end()), "lost");
}

std::vector<std::uint64_t> ids(const flatbuffers::Vector<std::uint64_t>* v) {
  return v == nullptr ? std::vector<std::uint64_t>{}
                      : std::vector<std::uint64_t>(v->begin(), v->end());
}

TEST(Codec, EmbeddedCownIdsTravelWithValuesAndPayloads) {
  std::vector<std::uint8_t> out, body;
  Encoder e(out);
  std::vector<std::uint64_t> refs = {5, 6, 5};
  e.create_cown(1, ValueRef{"v", false, fb::ErrorCode::None, refs}, false);
  const auto* c = only_frame(out, body)->message_as_CreateCown();
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(ids(c->value()->refs()), refs);
  out.clear();
  e.submit(1, {}, 0, fb::Executor::Workers, 0, "p", refs);
  EXPECT_EQ(ids(only_frame(out, body)->message_as_Submit()->refs()), refs);
  out.clear();
  e.hold_cown(refs);
  const auto* h = only_frame(out, body)->message_as_HoldCown();
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(ids(h->ids()), refs);
}

TEST(Codec, AValueWithoutRefsLeavesTheFieldOut) {
  std::vector<std::uint8_t> out, body;
  Encoder e(out);
  e.create_cown(1, ValueRef{"v"}, false);
  EXPECT_EQ(only_frame(out, body)->message_as_CreateCown()->value()->refs(),
            nullptr);
}

// A HoldCown whose ids (`n` of them) start at 4 mod 8 from the body: the
// vector is built as 2n uint32 elements, then labelled n long. Returned
// in 8-byte aligned storage, its length in bytes in `size`.
std::vector<std::uint64_t> misaligned_hold(std::uint32_t n,
                                           std::size_t& size) {
  for (int pad = 0; pad < 2; ++pad) {
    flatbuffers::FlatBufferBuilder fbb;
    if (pad) fbb.PushElement<std::uint32_t>(0);
    fbb.StartVector(2 * n, sizeof(std::uint32_t));
    for (std::uint32_t i = 0; i < 2 * n; ++i) fbb.PushElement(i);
    flatbuffers::Offset<flatbuffers::Vector<std::uint64_t>> ids(
        fbb.EndVector(n));
    fbb.Finish(fb::CreateEnvelope(fbb, fb::Message::HoldCown,
                                  fb::CreateHoldCown(fbb, ids).Union()));
    std::vector<std::uint64_t> body((fbb.GetSize() + 7) / 8);
    std::memcpy(body.data(), fbb.GetBufferPointer(), fbb.GetSize());
    auto* env = fb::GetEnvelope(body.data());
    auto at = env->message_as_HoldCown()->ids()->Data() -
              reinterpret_cast<const std::uint8_t*>(body.data());
    if (at % 8 != 0) {
      size = fbb.GetSize();
      return body;
    }
  }
  ADD_FAILURE() << "could not place the ids at 4 mod 8";
  return {};
}

TEST(Codec, IdVectorAtAMisalignedOffsetIsRefused) {
  std::size_t size = 0;
  std::vector<std::uint64_t> words = misaligned_hold(2, size);
  ASSERT_FALSE(words.empty());
  std::span<const std::uint8_t> body(
      reinterpret_cast<const std::uint8_t*>(words.data()), size);
  flatbuffers::Verifier v(body.data(), body.size());
  ASSERT_TRUE(fb::VerifyEnvelopeBuffer(v)) << "flatbuffers lets it through";
  std::string why;
  EXPECT_EQ(verify_envelope(body, why), nullptr);
  EXPECT_NE(why.find("misaligned"), std::string::npos) << why;
}

// The Builder does not align an empty vector, so an empty id vector may
// sit at 4 mod 8 (a Submit of no cowns whose other fields are defaults):
// nothing is loaded from it, so it must verify.
TEST(Codec, EmptyIdVectorsVerifyWhereverTheBuilderPutThem) {
  for (std::uint64_t tag : {0, 1}) {
    for (std::string_view payload : {"", "a", "abcd"}) {
      std::vector<std::uint8_t> out, body;
      Encoder e(out);
      e.submit(tag, {}, 0, fb::Executor::Workers, 0, payload);
      EXPECT_NE(only_frame(out, body), nullptr)
          << "tag " << tag << ", payload '" << payload << "'";
    }
  }
}

TEST(Codec, EncoderAppendsFramesBackToBack) {
  std::vector<std::uint8_t> out;
  Encoder e(out);
  e.quiesce(1);
  std::size_t first = out.size();
  e.quiesce(2);
  EXPECT_EQ(out.size(), 2 * first);
}

TEST(Codec, BytesThatAreNotAnEnvelopeAreRefusedWithAReason) {
  std::vector<std::uint8_t> garbage(64, 0xAB);
  std::string why;
  EXPECT_EQ(verify_envelope(garbage, why), nullptr);
  EXPECT_FALSE(why.empty());
}

TEST(Codec, EnvelopeWithoutAMessageIsRefused) {
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(fb::CreateEnvelope(fbb));
  std::span<const std::uint8_t> body(fbb.GetBufferPointer(), fbb.GetSize());
  std::string why;
  EXPECT_EQ(verify_envelope(body, why), nullptr);
  EXPECT_NE(why.find("no known message"), std::string::npos);
}

TEST(Codec, TruncatedEnvelopeIsRefused) {
  std::vector<std::uint8_t> out, body;
  Encoder e(out);
  e.hello(fb::Role::Client, 1, "program-name");
  body.assign(out.begin() + 4, out.end() - 6);
  std::string why;
  EXPECT_EQ(verify_envelope(body, why), nullptr);
}

}  // namespace
}  // namespace bocd::proto

#include "bocd/proto/codec.h"

namespace bocd::proto {
namespace {

// Deep enough for Envelope > Complete > updates > CownValue > Value > data;
// no legitimate message nests further.
constexpr flatbuffers::uoffset_t MAX_DEPTH = 16;
// Each update is two tables; the core's limit on cowns per behavior keeps
// honest messages far below this.
constexpr flatbuffers::uoffset_t MAX_TABLES = 1u << 20;

using Ids = flatbuffers::Vector<std::uint64_t>;
using CownValues = flatbuffers::Vector<flatbuffers::Offset<fb::CownValue>>;

// The flatbuffers 2.0 Verifier checks a vector's length prefix for 4-byte
// alignment only, so a crafted frame can put the elements of a [ulong] at
// 4 mod 8, and reading them in place would be a misaligned load
// (undefined behavior). The Builder always aligns them, so honest frames
// pass. Offsets are from the body, which FrameBuffer aligns to 8.
class Alignment {
 public:
  explicit Alignment(const std::uint8_t* base) : base_(base) {}

  // An empty vector has nothing to load (and the Builder does not align
  // one).
  bool ok(const Ids* v) const {
    return v == nullptr || v->size() == 0 ||
           (v->Data() - base_) % alignof(std::uint64_t) == 0;
  }
  bool ok(const fb::Value* v) const { return v == nullptr || ok(v->refs()); }
  bool ok(const CownValues* v) const {
    if (v == nullptr) return true;
    for (const fb::CownValue* cv : *v) {
      if (!ok(cv->value())) return false;
    }
    return true;
  }

  // Every [ulong] of every message that has one.
  bool ok(const fb::Envelope& env) const {
    if (const auto* m = env.message_as_CreateCown()) return ok(m->value());
    if (const auto* m = env.message_as_HoldCown()) return ok(m->ids());
    if (const auto* m = env.message_as_PinnedFreed()) return ok(m->ids());
    if (const auto* m = env.message_as_Recalled()) return ok(m->behaviors());
    if (const auto* m = env.message_as_Unhandled()) return ok(m->value());
    if (const auto* m = env.message_as_Submit()) {
      return ok(m->cowns()) && ok(m->refs());
    }
    if (const auto* m = env.message_as_Complete()) {
      return ok(m->updates()) && ok(m->dropped());
    }
    if (const auto* m = env.message_as_Dispatch()) {
      return ok(m->cowns()) && ok(m->forget()) && ok(m->forget_code());
    }
    if (const auto* m = env.message_as_Mail()) return ok(m->value());
    if (const auto* m = env.message_as_MailReply()) return ok(m->value());
    return true;
  }

 private:
  const std::uint8_t* base_;
};

}  // namespace

const fb::Envelope* verify_envelope(std::span<const std::uint8_t> body,
                                    std::string& why) {
  flatbuffers::Verifier verifier(body.data(), body.size(), MAX_DEPTH,
                                 MAX_TABLES);
  if (!fb::VerifyEnvelopeBuffer(verifier)) {
    why = "frame is not a valid Envelope";
    return nullptr;
  }
  const fb::Envelope* env = fb::GetEnvelope(body.data());
  auto type = env->message_type();
  if (type == fb::Message::NONE || type > fb::Message::MAX ||
      env->message() == nullptr) {
    why = "Envelope holds no known message";
    return nullptr;
  }
  if (!Alignment(body.data()).ok(*env)) {
    why = "frame holds a misaligned id vector";
    return nullptr;
  }
  return env;
}

void Encoder::finish(fb::Message type, flatbuffers::Offset<void> message) {
  fbb_.Finish(fb::CreateEnvelope(fbb_, type, message));
  ++frames_;
  auto n = static_cast<std::uint32_t>(fbb_.GetSize());
  append_header(*out_, n);
  out_->insert(out_->end(), fbb_.GetBufferPointer(),
               fbb_.GetBufferPointer() + n);
}

flatbuffers::Offset<fb::Value> Encoder::value(const ValueRef& v) {
  auto data = fbb_.CreateVector(
      reinterpret_cast<const std::uint8_t*>(v.data.data()), v.data.size());
  auto refs = ids(v.refs);
  auto blobs = names(v.blobs);
  return fb::CreateValue(fbb_, data, v.exception, v.error, refs, blobs);
}

flatbuffers::Offset<
    flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>>
Encoder::names(std::span<const std::string> v) {
  if (v.empty()) return 0;
  std::vector<flatbuffers::Offset<flatbuffers::String>> offsets;
  offsets.reserve(v.size());
  for (const std::string& s : v) offsets.push_back(fbb_.CreateString(s));
  return fbb_.CreateVector(offsets);
}

flatbuffers::Offset<flatbuffers::Vector<std::uint64_t>> Encoder::ids(
    std::span<const std::uint64_t> v) {
  // Most values embed no cown; leaving the field out saves its bytes.
  if (v.empty()) return 0;
  return fbb_.CreateVector(v.data(), v.size());
}

flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::CownValue>>>
Encoder::cown_values(std::span<const CownValueRef> values) {
  offsets_.clear();
  for (const CownValueRef& cv : values) {
    // A value the worker holds is not sent at all.
    auto v = cv.held || cv.inherit ? 0 : value(cv.value);
    offsets_.push_back(fb::CreateCownValue(fbb_, cv.id, v, cv.version,
                                           cv.held, cv.inherit));
  }
  return fbb_.CreateVector(offsets_);
}

void Encoder::hello(fb::Role role, std::int32_t pid, std::string_view program,
                    std::uint32_t version) {
  hello(role, pid, program, HelloExtras{}, version);
}

void Encoder::hello(fb::Role role, std::int32_t pid, std::string_view program,
                    const HelloExtras& x, std::uint32_t version) {
  fbb_.Clear();
  auto text = [this](std::string_view s) {
    return fbb_.CreateString(s.data(), s.size());
  };
  auto name = text(program);
  flatbuffers::Offset<fb::Environment> env = 0;
  if (x.has_env) {
    auto python = text(x.python);
    auto pyver = text(x.python_version);
    auto mark = fbb_.CreateVector(
        reinterpret_cast<const std::uint8_t*>(x.code_mark.data()),
        x.code_mark.size());
    auto path = names(x.sys_path);
    auto cwd = text(x.cwd);
    auto bocd_path = text(x.bocd_path);
    env = fb::CreateEnvironment(fbb_, python, pyver, mark, path, cwd,
                                bocd_path);
  }
  auto token = x.token.empty() ? 0 : text(x.token);
  finish(fb::Message::Hello,
         fb::CreateHello(fbb_, version, role, pid, name, env, token, x.ring,
                         x.keep_values, x.streams)
             .Union());
}

void Encoder::welcome(std::uint64_t session, std::uint64_t id_base,
                      std::uint64_t id_count, std::uint32_t max_cowns,
                      std::uint32_t max_frame, std::uint32_t notice_keys,
                      std::uint64_t max_in_flight,
                      std::string_view blob_prefix, std::uint64_t ring_bytes,
                      std::uint32_t spin_us) {
  fbb_.Clear();
  flatbuffers::Offset<flatbuffers::String> prefix;
  if (!blob_prefix.empty()) prefix = fbb_.CreateString(blob_prefix);
  finish(fb::Message::Welcome,
         fb::CreateWelcome(fbb_, session, id_base, id_count, max_cowns,
                           max_frame, notice_keys, max_in_flight, prefix,
                           ring_bytes, spin_us)
             .Union());
}

void Encoder::create_cown(std::uint64_t id, const ValueRef& v, bool pinned) {
  fbb_.Clear();
  auto val = value(v);
  finish(fb::Message::CreateCown,
         fb::CreateCreateCown(fbb_, id, val, pinned).Union());
}

void Encoder::drop_cown(std::uint64_t id) {
  fbb_.Clear();
  finish(fb::Message::DropCown, fb::CreateDropCown(fbb_, id).Union());
}

void Encoder::output(std::uint64_t session, std::uint8_t stream,
                     std::string_view data) {
  fbb_.Clear();
  auto bytes = fbb_.CreateVector(
      reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
  finish(fb::Message::Output,
         fb::CreateOutput(fbb_, session, stream, bytes).Union());
}

void Encoder::hold_cown(std::span<const std::uint64_t> cowns) {
  fbb_.Clear();
  auto list = fbb_.CreateVector(cowns.data(), cowns.size());
  finish(fb::Message::HoldCown, fb::CreateHoldCown(fbb_, list).Union());
}

void Encoder::pinned_freed(std::span<const std::uint64_t> ids) {
  fbb_.Clear();
  auto list = fbb_.CreateVector(ids.data(), ids.size());
  finish(fb::Message::PinnedFreed, fb::CreatePinnedFreed(fbb_, list).Union());
}

void Encoder::mail(std::uint64_t request, fb::MailKind kind,
                   std::uint64_t program, std::span<const std::string> tags,
                   bool wait, const ValueRef* v, std::uint64_t behavior,
                   std::uint64_t after_session, std::uint64_t after_frames,
                   std::uint64_t cown, bool credited, std::uint32_t count,
                   std::uint64_t batch) {
  fbb_.Clear();
  auto list = names(tags);
  flatbuffers::Offset<fb::Value> value = v ? this->value(*v) : 0;
  finish(fb::Message::Mail,
         fb::CreateMail(fbb_, request, kind, program, list, wait, value,
                        behavior, after_session, after_frames, cown, credited,
                        count, batch)
             .Union());
}

void Encoder::mail_reply(std::uint64_t request, bool got, std::string_view tag,
                         const ValueRef* v, std::uint64_t cown,
                         const MailExtra& extra) {
  fbb_.Clear();
  auto t = tag.empty() ? flatbuffers::Offset<flatbuffers::String>()
                       : fbb_.CreateString(tag.data(), tag.size());
  flatbuffers::Offset<fb::Value> value = v ? this->value(*v) : 0;
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::Value>>>
      lent = 0;
  if (!extra.lent.empty()) {
    std::vector<flatbuffers::Offset<fb::Value>> offsets;
    offsets.reserve(extra.lent.size());
    for (const ValueRef& l : extra.lent) offsets.push_back(this->value(l));
    lent = fbb_.CreateVector(offsets);
  }
  finish(fb::Message::MailReply,
         fb::CreateMailReply(fbb_, request, got, t, value, cown, extra.credit,
                             lent, extra.recall)
             .Union());
}

void Encoder::submit(std::uint64_t tag, std::span<const std::uint64_t> cowns,
                     std::uint64_t result, fb::Executor executor,
                     std::uint64_t parent, std::string_view payload,
                     std::span<const std::uint64_t> refs,
                     std::span<const std::string> blobs,
                     const CodePart& code) {
  fbb_.Clear();
  auto set = fbb_.CreateVector(cowns.data(), cowns.size());
  auto body = fbb_.CreateVector(
      reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size());
  auto embedded = ids(refs);
  auto named = names(blobs);
  finish(fb::Message::Submit,
         fb::CreateSubmit(fbb_, tag, set, result, executor, parent, body,
                          embedded, named, code.at, code.len, code.key)
             .Union());
}

void Encoder::complete(std::uint64_t behavior,
                       std::span<const CownValueRef> updates,
                       std::uint64_t run_ns,
                       std::span<const std::uint64_t> dropped,
                       bool bounced) {
  fbb_.Clear();
  auto ups = cown_values(updates);
  auto gone = ids(dropped);
  finish(fb::Message::Complete,
         fb::CreateComplete(fbb_, behavior, ups, run_ns, gone, bounced)
             .Union());
}

void Encoder::quiesce(std::uint64_t request, std::uint64_t below) {
  fbb_.Clear();
  finish(fb::Message::Quiesce,
         fb::CreateQuiesce(fbb_, request, below).Union());
}

void Encoder::sync(std::uint64_t request) {
  fbb_.Clear();
  finish(fb::Message::Sync, fb::CreateSync(fbb_, request).Union());
}

void Encoder::synced(std::uint64_t request, std::uint32_t pinned_waiting) {
  fbb_.Clear();
  finish(fb::Message::Synced,
         fb::CreateSynced(fbb_, request, pinned_waiting).Union());
}

void Encoder::unhandled(std::uint64_t cown, const ValueRef& v) {
  fbb_.Clear();
  auto val = value(v);
  finish(fb::Message::Unhandled, fb::CreateUnhandled(fbb_, cown, val).Union());
}

void Encoder::blocked(std::uint64_t behavior) {
  fbb_.Clear();
  finish(fb::Message::Blocked, fb::CreateBlocked(fbb_, behavior).Union());
}

void Encoder::recalled(std::uint64_t behavior,
                       std::span<const std::uint64_t> behaviors) {
  fbb_.Clear();
  auto list = ids(behaviors);
  finish(fb::Message::Recalled,
         fb::CreateRecalled(fbb_, behavior, list).Union());
}

void Encoder::status_request(std::uint64_t request) {
  fbb_.Clear();
  finish(fb::Message::StatusRequest,
         fb::CreateStatusRequest(fbb_, request).Union());
}

void Encoder::stop(std::uint64_t request) {
  fbb_.Clear();
  finish(fb::Message::Stop, fb::CreateStop(fbb_, request).Union());
}

void Encoder::dispatch(std::uint64_t behavior, std::uint64_t tag,
                       std::uint64_t session,
                       std::span<const CownValueRef> cowns,
                       std::uint64_t result, std::string_view payload,
                       bool own, const Forget& forget) {
  fbb_.Clear();
  auto values = cown_values(cowns);
  auto body = fbb_.CreateVector(
      reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size());
  auto gone = ids(forget.ids);
  auto codes = ids(forget.code);
  finish(fb::Message::Dispatch,
         fb::CreateDispatch(fbb_, behavior, tag, session, values, result, body,
                            own, gone, forget.all, forget.code_held,
                            forget.code_keep, codes)
             .Union());
}

void Encoder::quiesced(std::uint64_t request, std::uint64_t behaviors) {
  fbb_.Clear();
  finish(fb::Message::Quiesced,
         fb::CreateQuiesced(fbb_, request, behaviors).Union());
}

void Encoder::stopping(std::uint64_t request) {
  fbb_.Clear();
  finish(fb::Message::Stopping, fb::CreateStopping(fbb_, request).Union());
}

void Encoder::error(fb::ErrorCode code, std::string_view message,
                    std::uint64_t tag, std::uint64_t request, bool closing) {
  fbb_.Clear();
  auto text = fbb_.CreateString(message.data(), message.size());
  finish(fb::Message::Error,
         fb::CreateError(fbb_, code, text, tag, request, closing).Union());
}

}  // namespace bocd::proto

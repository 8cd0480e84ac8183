// libFuzzer target for the inbound half of the protocol: arbitrary bytes go
// through proto::FrameBuffer and proto::verify_envelope exactly as the
// daemon's Connection and Dispatcher use them, and every field of every
// verified message is read. Two oracles beyond "no crash, no sanitizer
// report": the same bytes framed whole and in small pieces give the same
// frames, and each verified message re-encoded with proto::Encoder
// verifies again and reads back the same.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include "bocd/proto/codec.h"

namespace {

namespace fb = bocd::proto::fb;
using bocd::proto::FrameBuffer;

// Small enough that fuzzed lengths reach the oversized path.
constexpr std::uint32_t MAX_FRAME = 1u << 16;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "frame_fuzz: %s\n", what);
  std::abort();
}

// Folds every field read into one value, so no read can be optimized away
// and two readings of one message can be compared. A missing string,
// vector or Value reads as an empty one, as the daemon treats them.
class Digest {
 public:
  void add(std::uint64_t v) { h_ = (h_ ^ v) * 0x100000001B3ull; }
  void add(const flatbuffers::String* s) {
    if (s == nullptr) return none();
    add(s->size());
    for (char c : std::string_view(s->c_str(), s->size())) add(c);
  }
  void add(const flatbuffers::Vector<std::uint8_t>* v) {
    if (v == nullptr) return none();
    add(v->size());
    for (std::uint8_t b : *v) add(b);
  }
  void add(const flatbuffers::Vector<std::uint64_t>* v) {
    if (v == nullptr) return none();
    add(v->size());
    for (std::uint64_t x : *v) add(x);
  }
  void add(const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>*
               v) {
    if (v == nullptr) return none();
    add(v->size());
    for (const flatbuffers::String* s : *v) add(s);
  }
  void add(const fb::Environment* e) {
    if (e == nullptr) return none();
    add(e->python());
    add(e->version());
    add(e->code_mark());
    add(e->sys_path());
    add(e->cwd());
    add(e->bocd_path());
  }
  void add(const fb::Value* v) {
    add(v ? v->data() : nullptr);
    add(v ? v->exception() : false);
    add_enum(v ? v->error() : fb::ErrorCode::None);
    add(v ? v->refs() : nullptr);
    add(v ? v->blobs() : nullptr);
  }
  void add(const flatbuffers::Vector<flatbuffers::Offset<fb::CownValue>>* v) {
    if (v == nullptr) return none();
    add(v->size());
    for (const fb::CownValue* cv : *v) {
      add(cv->id());
      add(cv->version());
      add(cv->held());
      // A held value is not read (the receiver has it): the encoder
      // leaves it out.
      if (!cv->held()) add(cv->value());
    }
  }
  // An enum's value and its name's length: the name lookup indexes a table
  // with a value that came off the wire.
  void add_enum(fb::ErrorCode e) { add_enum(e, fb::EnumNameErrorCode(e)); }
  void add_enum(fb::Role e) { add_enum(e, fb::EnumNameRole(e)); }
  void add_enum(fb::Executor e) { add_enum(e, fb::EnumNameExecutor(e)); }
  void add_enum(fb::MailKind e) { add_enum(e, fb::EnumNameMailKind(e)); }
  void add_enum(fb::Message e) { add_enum(e, fb::EnumNameMessage(e)); }
  // A missing optional part.
  void none() { add(std::uint64_t{0}); }
  std::uint64_t value() const { return h_; }

 private:
  template <class E>
  void add_enum(E e, const char* name) {
    add(static_cast<std::uint64_t>(e));
    add(std::string_view(name).size());
  }

  std::uint64_t h_ = 0xCBF29CE484222325ull;
};

void read_status(const fb::Status& m, Digest& d) {
  d.add(m.request());
  d.add(m.version());
  d.add(static_cast<std::uint32_t>(m.pid()));
  d.add(m.uptime_ms());
  d.add(m.workers());
  d.add(m.cowns());
  d.add(m.in_flight());
  d.add(m.behaviors_completed());
  d.add(m.queued());
  d.add(m.workers_problem());
  if (m.sessions() == nullptr) return d.none();
  d.add(m.sessions()->size());
  for (const fb::SessionInfo* s : *m.sessions()) {
    d.add(s->id());
    d.add_enum(s->role());
    d.add(static_cast<std::uint32_t>(s->pid()));
    d.add(s->program());
    d.add(s->in_flight());
    d.add(s->ran());
    d.add(s->running());
    d.add(s->busy_us());
    d.add(s->pinned_dispatched());
    d.add(s->pinned_depth());
    d.add(static_cast<std::uint64_t>(s->mean_run_us()));
    d.add(s->serves());
    d.add(s->value_bytes_sent());
    d.add(s->values_held());
    d.add(s->value_bytes_back());
    d.add(s->codes_held());
  }
}

// Reads every field of the message. One case per member of the Message
// union and no default: a message type added to the schema and not read
// here fails to compile (this file is built with -Werror=switch).
std::uint64_t read_all(const fb::Envelope& env) {
  Digest d;
  fb::Message type = env.message_type();
  d.add_enum(type);
  switch (type) {
    case fb::Message::NONE:
      break;
    case fb::Message::Hello: {
      const auto* m = env.message_as_Hello();
      d.add(m->version());
      d.add_enum(m->role());
      d.add(static_cast<std::uint32_t>(m->pid()));
      d.add(m->program());
      d.add(m->env());
      d.add(m->token());
      d.add(m->keep_values());
      d.add(m->streams());
      break;
    }
    case fb::Message::Welcome: {
      const auto* m = env.message_as_Welcome();
      d.add(m->session());
      d.add(m->id_base());
      d.add(m->id_count());
      d.add(m->max_cowns_per_behavior());
      d.add(m->max_frame_bytes());
      d.add(m->notice_keys());
      d.add(m->max_in_flight());
      break;
    }
    case fb::Message::CreateCown: {
      const auto* m = env.message_as_CreateCown();
      d.add(m->id());
      d.add(m->value());
      d.add(m->pinned());
      break;
    }
    case fb::Message::DropCown:
      d.add(env.message_as_DropCown()->id());
      break;
    case fb::Message::Submit: {
      const auto* m = env.message_as_Submit();
      d.add(m->tag());
      d.add(m->cowns());
      d.add(m->result());
      d.add_enum(m->executor());
      d.add(m->parent());
      d.add(m->payload());
      d.add(m->refs());
      d.add(m->blobs());
      d.add(m->code_at());
      d.add(m->code_len());
      d.add(m->code_key());
      break;
    }
    case fb::Message::Complete: {
      const auto* m = env.message_as_Complete();
      d.add(m->behavior());
      d.add(m->updates());
      d.add(m->run_ns());
      d.add(m->dropped());
      break;
    }
    case fb::Message::Quiesce: {
      const auto* m = env.message_as_Quiesce();
      d.add(m->request());
      d.add(m->below());
      break;
    }
    case fb::Message::StatusRequest:
      d.add(env.message_as_StatusRequest()->request());
      break;
    case fb::Message::Stop:
      d.add(env.message_as_Stop()->request());
      break;
    case fb::Message::Dispatch: {
      const auto* m = env.message_as_Dispatch();
      d.add(m->behavior());
      d.add(m->tag());
      d.add(m->session());
      d.add(m->cowns());
      d.add(m->result());
      d.add(m->payload());
      d.add(m->own());
      d.add(m->forget());
      d.add(m->forget_all());
      d.add(m->code_held());
      d.add(m->code_keep());
      d.add(m->forget_code());
      break;
    }
    case fb::Message::Quiesced: {
      const auto* m = env.message_as_Quiesced();
      d.add(m->request());
      d.add(m->behaviors());
      break;
    }
    case fb::Message::Status:
      read_status(*env.message_as_Status(), d);
      break;
    case fb::Message::Stopping:
      d.add(env.message_as_Stopping()->request());
      break;
    case fb::Message::Error: {
      const auto* m = env.message_as_Error();
      d.add_enum(m->code());
      d.add(m->message());
      d.add(m->tag());
      d.add(m->request());
      break;
    }
    case fb::Message::HoldCown:
      d.add(env.message_as_HoldCown()->ids());
      break;
    case fb::Message::Output: {
      const auto* m = env.message_as_Output();
      d.add(m->session());
      d.add(m->stream());
      d.add(m->data());
      break;
    }
    case fb::Message::PinnedFreed:
      d.add(env.message_as_PinnedFreed()->ids());
      break;
    case fb::Message::Mail: {
      const auto* m = env.message_as_Mail();
      d.add(m->request());
      d.add_enum(m->kind());
      d.add(m->program());
      d.add(m->tags());
      d.add(m->wait());
      d.add(m->value());
      d.add(m->behavior());
      d.add(m->after_session());
      d.add(m->after_frames());
      d.add(m->cown());
      d.add(m->credited());
      d.add(m->count());
      d.add(m->batch());
      break;
    }
    case fb::Message::MailReply: {
      const auto* m = env.message_as_MailReply();
      d.add(m->request());
      d.add(m->got());
      // The Encoder writes a tag only when it is not empty.
      d.add(m->tag() != nullptr && m->tag()->size() > 0 ? m->tag() : nullptr);
      d.add(m->value());
      d.add(m->cown());
      d.add(m->credit());
      // And lent values only when there are some.
      if (m->lent() == nullptr || m->lent()->size() == 0) {
        d.none();
      } else {
        d.add(m->lent()->size());
        for (const fb::Value* v : *m->lent()) d.add(v);
      }
      d.add(m->recall());
      break;
    }
    case fb::Message::Sync:
      d.add(env.message_as_Sync()->request());
      break;
    case fb::Message::Synced: {
      const auto* m = env.message_as_Synced();
      d.add(m->request());
      d.add(m->pinned_waiting());
      break;
    }
    case fb::Message::Blocked:
      d.add(env.message_as_Blocked()->behavior());
      break;
    case fb::Message::Recalled: {
      const auto* m = env.message_as_Recalled();
      d.add(m->behavior());
      d.add(m->behaviors());
      break;
    }
    case fb::Message::Unhandled: {
      const auto* m = env.message_as_Unhandled();
      d.add(m->cown());
      d.add(m->value());
      break;
    }
  }
  return d.value();
}

std::string_view bytes_of(const flatbuffers::Vector<std::uint8_t>* v) {
  if (v == nullptr) return {};
  return {reinterpret_cast<const char*>(v->data()), v->size()};
}

std::string_view text_of(const flatbuffers::String* s) {
  return s == nullptr ? std::string_view{} : s->string_view();
}

std::vector<std::uint64_t> ids_of(const flatbuffers::Vector<std::uint64_t>* v) {
  return v == nullptr ? std::vector<std::uint64_t>{}
                      : std::vector<std::uint64_t>(v->begin(), v->end());
}

std::vector<std::string> texts_of(
    const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>* v) {
  std::vector<std::string> out;
  if (v == nullptr) return out;
  for (const flatbuffers::String* s : *v) out.push_back(s->str());
  return out;
}

// Owns what a ValueRef borrows that the flatbuffer cannot lend: its refs
// (the vector is little-endian, not a span of host integers) and its blob
// names (std::string, not flatbuffers::String).
struct ValueParts {
  std::vector<std::uint64_t> refs;
  std::vector<std::string> blobs;
};

// A ValueRef borrowing from `v` and `parts`, which must outlive it.
bocd::proto::ValueRef value_ref(const fb::Value* v, ValueParts& parts) {
  if (v == nullptr) return {};
  parts.refs = ids_of(v->refs());
  parts.blobs = texts_of(v->blobs());
  return {bytes_of(v->data()), v->exception(), v->error(), parts.refs,
          parts.blobs};
}

// The values of `v`; `parts` owns their pieces and must outlive the result.
std::vector<bocd::proto::CownValueRef> cown_values(
    const flatbuffers::Vector<flatbuffers::Offset<fb::CownValue>>* v,
    std::vector<ValueParts>& parts) {
  std::vector<bocd::proto::CownValueRef> out;
  if (v == nullptr) return out;
  parts.resize(v->size());
  for (flatbuffers::uoffset_t i = 0; i < v->size(); ++i) {
    const fb::CownValue* cv = v->Get(i);
    out.push_back({cv->id(), value_ref(cv->value(), parts[i]),
                   cv->version(), cv->held()});
  }
  return out;
}

// Status has no Encoder method (the daemon builds it by hand): built the
// same way here.
void reencode_status(const fb::Status& m, bocd::proto::Encoder& e) {
  auto& fbb = e.builder();
  std::vector<flatbuffers::Offset<fb::SessionInfo>> sessions;
  if (m.sessions() != nullptr) {
    for (const fb::SessionInfo* s : *m.sessions()) {
      sessions.push_back(fb::CreateSessionInfo(
          fbb, s->id(), s->role(), s->pid(),
          fbb.CreateString(text_of(s->program())), s->in_flight(), s->ran(),
          s->running(), s->busy_us(), s->pinned_dispatched(),
          s->pinned_depth(), s->mean_run_us(), s->serves(),
          s->value_bytes_sent(), s->values_held(), s->value_bytes_back(),
          s->codes_held()));
    }
  }
  auto status = fb::CreateStatus(
      fbb, m.request(), fbb.CreateString(text_of(m.version())), m.pid(),
      m.uptime_ms(), m.workers(), m.cowns(), m.in_flight(),
      m.behaviors_completed(), fbb.CreateVector(sessions), m.queued(),
      fbb.CreateString(text_of(m.workers_problem())));
  e.finish(fb::Message::Status, status.Union());
}

// Encodes `env`'s message again with the Encoder. Like read_all, one case
// per message type and no default, so a new type must be handled here.
// Returns false only for what verify_envelope must have refused.
bool reencode(const fb::Envelope& env, bocd::proto::Encoder& e) {
  ValueParts parts;
  std::vector<ValueParts> value_parts;
  switch (env.message_type()) {
    case fb::Message::NONE:
      return false;
    case fb::Message::Hello: {
      const auto* m = env.message_as_Hello();
      bocd::proto::Encoder::HelloExtras x;
      std::vector<std::string> path;
      if (const fb::Environment* h = m->env()) {
        x.has_env = true;
        x.python = text_of(h->python());
        x.python_version = text_of(h->version());
        x.code_mark = bytes_of(h->code_mark());
        x.cwd = text_of(h->cwd());
        x.bocd_path = text_of(h->bocd_path());
        path = texts_of(h->sys_path());
        x.sys_path = path;
      }
      x.token = text_of(m->token());
      x.keep_values = m->keep_values();
      x.streams = m->streams();
      e.hello(m->role(), m->pid(), text_of(m->program()), x, m->version());
      return true;
    }
    case fb::Message::Welcome: {
      const auto* m = env.message_as_Welcome();
      e.welcome(m->session(), m->id_base(), m->id_count(),
                m->max_cowns_per_behavior(), m->max_frame_bytes(),
                m->notice_keys(), m->max_in_flight());
      return true;
    }
    case fb::Message::CreateCown: {
      const auto* m = env.message_as_CreateCown();
      e.create_cown(m->id(), value_ref(m->value(), parts), m->pinned());
      return true;
    }
    case fb::Message::DropCown:
      e.drop_cown(env.message_as_DropCown()->id());
      return true;
    case fb::Message::Submit: {
      const auto* m = env.message_as_Submit();
      auto ids = ids_of(m->cowns());
      parts.refs = ids_of(m->refs());
      parts.blobs = texts_of(m->blobs());
      e.submit(m->tag(), ids, m->result(), m->executor(), m->parent(),
               bytes_of(m->payload()), parts.refs, parts.blobs,
               bocd::proto::CodePart{m->code_at(), m->code_len(),
                                     m->code_key()});
      return true;
    }
    case fb::Message::Complete: {
      const auto* m = env.message_as_Complete();
      auto dropped = ids_of(m->dropped());
      e.complete(m->behavior(), cown_values(m->updates(), value_parts),
                 m->run_ns(), dropped);
      return true;
    }
    case fb::Message::Quiesce: {
      const auto* m = env.message_as_Quiesce();
      e.quiesce(m->request(), m->below());
      return true;
    }
    case fb::Message::StatusRequest:
      e.status_request(env.message_as_StatusRequest()->request());
      return true;
    case fb::Message::Stop:
      e.stop(env.message_as_Stop()->request());
      return true;
    case fb::Message::Dispatch: {
      const auto* m = env.message_as_Dispatch();
      auto forget = ids_of(m->forget());
      auto forget_code = ids_of(m->forget_code());
      e.dispatch(m->behavior(), m->tag(), m->session(),
                 cown_values(m->cowns(), value_parts), m->result(),
                 bytes_of(m->payload()), m->own(),
                 bocd::proto::Forget{forget, m->forget_all(), forget_code,
                                     m->code_held(), m->code_keep()});
      return true;
    }
    case fb::Message::Quiesced: {
      const auto* m = env.message_as_Quiesced();
      e.quiesced(m->request(), m->behaviors());
      return true;
    }
    case fb::Message::Status:
      reencode_status(*env.message_as_Status(), e);
      return true;
    case fb::Message::Stopping:
      e.stopping(env.message_as_Stopping()->request());
      return true;
    case fb::Message::Error: {
      const auto* m = env.message_as_Error();
      e.error(m->code(), text_of(m->message()), m->tag(), m->request());
      return true;
    }
    case fb::Message::HoldCown:
      e.hold_cown(ids_of(env.message_as_HoldCown()->ids()));
      return true;
    case fb::Message::Output: {
      const auto* m = env.message_as_Output();
      e.output(m->session(), m->stream(), bytes_of(m->data()));
      return true;
    }
    case fb::Message::PinnedFreed:
      e.pinned_freed(ids_of(env.message_as_PinnedFreed()->ids()));
      return true;
    case fb::Message::Mail: {
      const auto* m = env.message_as_Mail();
      std::vector<std::string> tags = texts_of(m->tags());
      bocd::proto::ValueRef value = value_ref(m->value(), parts);
      e.mail(m->request(), m->kind(), m->program(), tags, m->wait(),
             m->value() ? &value : nullptr, m->behavior(),
             m->after_session(), m->after_frames(), m->cown(),
             m->credited(), m->count(), m->batch());
      return true;
    }
    case fb::Message::MailReply: {
      const auto* m = env.message_as_MailReply();
      bocd::proto::ValueRef value = value_ref(m->value(), parts);
      std::vector<ValueParts> lent_parts;
      std::vector<bocd::proto::ValueRef> lent;
      if (m->lent() != nullptr) {
        lent_parts.resize(m->lent()->size());
        for (flatbuffers::uoffset_t i = 0; i < m->lent()->size(); ++i) {
          lent.push_back(value_ref(m->lent()->Get(i), lent_parts[i]));
        }
      }
      bocd::proto::MailExtra extra{m->credit(), lent, m->recall()};
      e.mail_reply(m->request(), m->got(), text_of(m->tag()),
                   m->value() ? &value : nullptr, m->cown(), extra);
      return true;
    }
    case fb::Message::Sync:
      e.sync(env.message_as_Sync()->request());
      return true;
    case fb::Message::Synced: {
      const auto* m = env.message_as_Synced();
      e.synced(m->request(), m->pinned_waiting());
      return true;
    }
    case fb::Message::Blocked:
      e.blocked(env.message_as_Blocked()->behavior());
      return true;
    case fb::Message::Recalled: {
      const auto* m = env.message_as_Recalled();
      e.recalled(m->behavior(), ids_of(m->behaviors()));
      return true;
    }
    case fb::Message::Unhandled: {
      const auto* m = env.message_as_Unhandled();
      e.unhandled(m->cown(), value_ref(m->value(), parts));
      return true;
    }
  }
  return false;
}

// The Encoder's frame for a verified message must verify and read back the
// same (a missing string or vector reads as an empty one).
void check_round_trip(const fb::Envelope& env, std::uint64_t digest) {
  std::vector<std::uint8_t> out;
  bocd::proto::Encoder e(out);
  if (!reencode(env, e)) fail("verified an envelope with no known message");
  FrameBuffer frames;
  auto space = frames.prepare(out.size());
  std::memcpy(space.data(), out.data(), out.size());
  frames.commit(out.size());
  std::span<const std::uint8_t> body;
  if (frames.next(body) != FrameBuffer::Next::frame) fail("re-encoded frame");
  std::string why;
  const fb::Envelope* again = bocd::proto::verify_envelope(body, why);
  if (again == nullptr) fail("re-encoded message does not verify");
  if (read_all(*again) != digest) fail("re-encoded message reads differently");
}

struct Outcome {
  std::size_t frames = 0;
  std::size_t verified = 0;
  std::uint64_t digest = 0;
  FrameBuffer::Next stop = FrameBuffer::Next::need_more;
  bool operator==(const Outcome&) const = default;
};

void on_frame(std::span<const std::uint8_t> body, Outcome& out,
              bool round_trip) {
  ++out.frames;
  std::string why;
  const fb::Envelope* env = bocd::proto::verify_envelope(body, why);
  if (env == nullptr) {
    if (why.empty()) fail("rejected frame without a reason");
    return;
  }
  ++out.verified;
  std::uint64_t d = read_all(*env);
  out.digest = out.digest * 31 + d;
  if (round_trip) check_round_trip(*env, d);
}

// Feeds `data` to a FrameBuffer `chunk` bytes at a time, handling each
// complete frame as it appears, until the bytes run out or framing stops.
Outcome feed(std::span<const std::uint8_t> data, std::size_t chunk,
             bool round_trip) {
  FrameBuffer frames(MAX_FRAME);
  Outcome out;
  std::size_t off = 0;
  for (;;) {
    std::span<const std::uint8_t> body;
    out.stop = frames.next(body);
    if (out.stop == FrameBuffer::Next::frame) {
      on_frame(body, out, round_trip);
      frames.pop();
      continue;
    }
    if (out.stop != FrameBuffer::Next::need_more || off == data.size()) break;
    std::size_t n = std::min(chunk, data.size() - off);
    auto space = frames.prepare(n);
    std::memcpy(space.data(), data.data() + off, n);
    frames.commit(n);
    off += n;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  std::span<const std::uint8_t> bytes(data, size);
  Outcome whole = feed(bytes, size == 0 ? 1 : size, /*round_trip=*/true);
  std::size_t chunk = size == 0 ? 1 : 1 + data[0] % 13;
  Outcome pieces = feed(bytes, chunk, /*round_trip=*/false);
  if (!(whole == pieces)) fail("framing depends on how the bytes arrive");
  return 0;
}

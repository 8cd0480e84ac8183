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
    add(static_cast<std::uint64_t>(v ? v->error() : fb::ErrorCode::None));
    add(std::string_view(fb::EnumNameErrorCode(
                             v ? v->error() : fb::ErrorCode::None))
            .size());
    add(v ? v->refs() : nullptr);
  }
  void add(const flatbuffers::Vector<flatbuffers::Offset<fb::CownValue>>* v) {
    if (v == nullptr) return none();
    add(v->size());
    for (const fb::CownValue* cv : *v) {
      add(cv->id());
      add(cv->value());
    }
  }
  // A missing optional part.
  void none() { add(std::uint64_t{0}); }
  std::uint64_t value() const { return h_; }

 private:
  std::uint64_t h_ = 0xCBF29CE484222325ull;
};

void read_client_messages(const fb::Envelope& env, Digest& d) {
  if (const auto* m = env.message_as_Hello()) {
    d.add(m->version());
    d.add(static_cast<std::uint64_t>(m->role()));
    d.add(static_cast<std::uint32_t>(m->pid()));
    d.add(m->program());
    d.add(m->env());
    d.add(m->token());
  } else if (const auto* m = env.message_as_CreateCown()) {
    d.add(m->id());
    d.add(m->value());
    d.add(m->pinned());
  } else if (const auto* m = env.message_as_DropCown()) {
    d.add(m->id());
  } else if (const auto* m = env.message_as_HoldCown()) {
    d.add(m->ids());
  } else if (const auto* m = env.message_as_Submit()) {
    d.add(m->tag());
    d.add(m->cowns());
    d.add(m->result());
    d.add(static_cast<std::uint64_t>(m->executor()));
    d.add(m->parent());
    d.add(m->payload());
    d.add(m->refs());
  } else if (const auto* m = env.message_as_Complete()) {
    d.add(m->behavior());
    d.add(m->updates());
  } else if (const auto* m = env.message_as_Quiesce()) {
    d.add(m->request());
    d.add(m->below());
  } else if (const auto* m = env.message_as_Sync()) {
    d.add(m->request());
  } else if (const auto* m = env.message_as_Blocked()) {
    d.add(m->behavior());
  } else if (const auto* m = env.message_as_StatusRequest()) {
    d.add(m->request());
  } else if (const auto* m = env.message_as_Stop()) {
    d.add(m->request());
  }
}

void read_status(const fb::Status& m, Digest& d) {
  d.add(m.request());
  d.add(m.version());
  d.add(static_cast<std::uint32_t>(m.pid()));
  d.add(m.uptime_ms());
  d.add(m.workers());
  d.add(m.cowns());
  d.add(m.in_flight());
  d.add(m.behaviors_completed());
  if (m.sessions() == nullptr) return d.none();
  d.add(m.sessions()->size());
  for (const fb::SessionInfo* s : *m.sessions()) {
    d.add(s->id());
    d.add(static_cast<std::uint64_t>(s->role()));
    d.add(std::string_view(fb::EnumNameRole(s->role())).size());
    d.add(static_cast<std::uint32_t>(s->pid()));
    d.add(s->program());
    d.add(s->in_flight());
  }
}

void read_daemon_messages(const fb::Envelope& env, Digest& d) {
  if (const auto* m = env.message_as_Welcome()) {
    d.add(m->session());
    d.add(m->id_base());
    d.add(m->id_count());
    d.add(m->max_cowns_per_behavior());
    d.add(m->max_frame_bytes());
    d.add(m->notice_keys());
    d.add(m->max_in_flight());
  } else if (const auto* m = env.message_as_Dispatch()) {
    d.add(m->behavior());
    d.add(m->tag());
    d.add(m->session());
    d.add(m->cowns());
    d.add(m->result());
    d.add(m->payload());
    d.add(static_cast<std::uint64_t>(m->own()));
  } else if (const auto* m = env.message_as_Quiesced()) {
    d.add(m->request());
  } else if (const auto* m = env.message_as_Synced()) {
    d.add(m->request());
    d.add(m->pinned_waiting());
  } else if (const auto* m = env.message_as_Recalled()) {
    d.add(m->behavior());
    d.add(m->behaviors());
  } else if (const auto* m = env.message_as_Unhandled()) {
    d.add(m->cown());
    d.add(m->value());
  } else if (const auto* m = env.message_as_Status()) {
    read_status(*m, d);
  } else if (const auto* m = env.message_as_Stopping()) {
    d.add(m->request());
  } else if (const auto* m = env.message_as_Error()) {
    d.add(static_cast<std::uint64_t>(m->code()));
    d.add(m->message());
    d.add(m->tag());
    d.add(m->request());
  }
}

std::uint64_t read_all(const fb::Envelope& env) {
  Digest d;
  auto type = env.message_type();
  d.add(static_cast<std::uint64_t>(type));
  d.add(std::string_view(fb::EnumNameMessage(type)).size());
  read_client_messages(env, d);
  read_daemon_messages(env, d);
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

// A ValueRef borrowing from `v`, its refs copied into `refs` (the
// flatbuffers vector is little-endian, not a span of host integers).
bocd::proto::ValueRef value_ref(const fb::Value* v,
                                std::vector<std::uint64_t>& refs) {
  if (v == nullptr) return {};
  refs = ids_of(v->refs());
  return {bytes_of(v->data()), v->exception(), v->error(), refs};
}

// The values of `v`; `refs` owns their refs and must outlive the result.
std::vector<bocd::proto::CownValueRef> cown_values(
    const flatbuffers::Vector<flatbuffers::Offset<fb::CownValue>>* v,
    std::vector<std::vector<std::uint64_t>>& refs) {
  std::vector<bocd::proto::CownValueRef> out;
  if (v == nullptr) return out;
  refs.resize(v->size());
  for (flatbuffers::uoffset_t i = 0; i < v->size(); ++i) {
    const fb::CownValue* cv = v->Get(i);
    out.push_back({cv->id(), value_ref(cv->value(), refs[i])});
  }
  return out;
}

// Encodes `env`'s message again with the Encoder; false for Status, which
// callers build by hand.
bool reencode_client_message(const fb::Envelope& env,
                             bocd::proto::Encoder& e) {
  std::vector<std::uint64_t> refs;
  std::vector<std::vector<std::uint64_t>> value_refs;
  if (const auto* m = env.message_as_Hello()) {
    bocd::proto::Encoder::HelloExtras x;
    std::vector<std::string> path;
    if (const fb::Environment* h = m->env()) {
      x.has_env = true;
      x.python = text_of(h->python());
      x.python_version = text_of(h->version());
      x.code_mark = bytes_of(h->code_mark());
      x.cwd = text_of(h->cwd());
      x.bocd_path = text_of(h->bocd_path());
      if (h->sys_path()) {
        for (const flatbuffers::String* s : *h->sys_path()) {
          path.push_back(s->str());
        }
      }
      x.sys_path = path;
    }
    x.token = text_of(m->token());
    e.hello(m->role(), m->pid(), text_of(m->program()), x, m->version());
  } else if (const auto* m = env.message_as_CreateCown()) {
    e.create_cown(m->id(), value_ref(m->value(), refs), m->pinned());
  } else if (const auto* m = env.message_as_DropCown()) {
    e.drop_cown(m->id());
  } else if (const auto* m = env.message_as_HoldCown()) {
    e.hold_cown(ids_of(m->ids()));
  } else if (const auto* m = env.message_as_Submit()) {
    auto ids = ids_of(m->cowns());
    refs = ids_of(m->refs());
    e.submit(m->tag(), ids, m->result(), m->executor(), m->parent(),
             bytes_of(m->payload()), refs);
  } else if (const auto* m = env.message_as_Complete()) {
    e.complete(m->behavior(), cown_values(m->updates(), value_refs));
  } else if (const auto* m = env.message_as_Quiesce()) {
    e.quiesce(m->request(), m->below());
  } else if (const auto* m = env.message_as_Sync()) {
    e.sync(m->request());
  } else if (const auto* m = env.message_as_Blocked()) {
    e.blocked(m->behavior());
  } else if (const auto* m = env.message_as_StatusRequest()) {
    e.status_request(m->request());
  } else if (const auto* m = env.message_as_Stop()) {
    e.stop(m->request());
  } else {
    return false;
  }
  return true;
}

bool reencode(const fb::Envelope& env, bocd::proto::Encoder& e) {
  if (reencode_client_message(env, e)) return true;
  std::vector<std::vector<std::uint64_t>> value_refs;
  if (const auto* m = env.message_as_Welcome()) {
    e.welcome(m->session(), m->id_base(), m->id_count(),
              m->max_cowns_per_behavior(), m->max_frame_bytes(),
              m->notice_keys(), m->max_in_flight());
  } else if (const auto* m = env.message_as_Dispatch()) {
    e.dispatch(m->behavior(), m->tag(), m->session(),
               cown_values(m->cowns(), value_refs), m->result(),
               bytes_of(m->payload()), m->own());
  } else if (const auto* m = env.message_as_Quiesced()) {
    e.quiesced(m->request());
  } else if (const auto* m = env.message_as_Synced()) {
    e.synced(m->request(), m->pinned_waiting());
  } else if (const auto* m = env.message_as_Recalled()) {
    e.recalled(m->behavior(), ids_of(m->behaviors()));
  } else if (const auto* m = env.message_as_Unhandled()) {
    std::vector<std::uint64_t> refs;
    e.unhandled(m->cown(), value_ref(m->value(), refs));
  } else if (const auto* m = env.message_as_Stopping()) {
    e.stopping(m->request());
  } else if (const auto* m = env.message_as_Error()) {
    e.error(m->code(), text_of(m->message()), m->tag(), m->request());
  } else {
    return false;
  }
  return true;
}

// The Encoder's frame for a verified message must verify and read back the
// same (a missing string or vector reads as an empty one).
void check_round_trip(const fb::Envelope& env, std::uint64_t digest) {
  std::vector<std::uint8_t> out;
  bocd::proto::Encoder e(out);
  if (!reencode(env, e)) return;
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

// The symmetric codec of the bocd protocol: verify an inbound frame body,
// and encode each message as a framed Envelope appended to an output buffer.
// It knows messages, not transports: the server's Connection and the
// client's transport move the bytes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bocd/proto/bocd_generated.h"
#include "bocd/proto/framing.h"

namespace bocd::proto {

// Verifies a frame body as an Envelope holding a known message, with low
// depth and table limits, and every id vector ([ulong]) 8-byte aligned in
// the body (the flatbuffers Verifier checks 4). Returns nullptr and sets
// `why` on failure; fields may be read only from a non-null result. The
// body must start 8-byte aligned (FrameBuffer's are).
const fb::Envelope* verify_envelope(std::span<const std::uint8_t> body,
                                    std::string& why);

// A value to encode: borrowed bytes plus the flags of fb::Value, and the
// ids of the cowns its bytes embed (borrowed too; omitted when empty).
struct ValueRef {
  std::string_view data;
  bool exception = false;
  fb::ErrorCode error = fb::ErrorCode::None;
  std::span<const std::uint64_t> refs = {};
  std::span<const std::string> blobs = {};
};

// A MailReply's speed fields (docs/protocol.md, "Pipelined sends and lent
// messages"): a send's credit, a receive's lent values, a recall.
struct MailExtra {
  std::uint32_t credit = 0;
  std::span<const ValueRef> lent = {};
  bool recall = false;
};

struct CownValueRef {
  std::uint64_t id = 0;
  ValueRef value;
  // Dispatch only (fb::CownValue): the version the worker keeps the value
  // under (0: not kept), and whether it holds it already (`value` is then
  // not sent).
  std::uint64_t version = 0;
  bool held = false;
  // Dispatch only: taken from the behavior before on the worker (`value`
  // is then not sent either).
  bool inherit = false;
};

// Dispatch fields for a worker that keeps values: what it drops first
// (cown values and codes), and whether the payload's code was left out
// (`code_held`) or is to be kept (`code_keep`).
struct Forget {
  std::span<const std::uint64_t> ids = {};
  bool all = false;
  std::span<const std::uint64_t> code = {};
  bool code_held = false;
  bool code_keep = false;
};

// Submit's code part: payload bytes [at, at + len), named by `key`.
struct CodePart {
  std::uint32_t at = 0;
  std::uint32_t len = 0;
  std::uint64_t key = 0;
};

// Encodes messages into framed bytes. Reuses one builder, so encoding on
// the hot path allocates only when a message outgrows every earlier one.
// Not thread-safe: one Encoder per thread.
class Encoder {
 public:
  explicit Encoder(std::vector<std::uint8_t>& out) : out_(&out) {}
  void retarget(std::vector<std::uint8_t>& out) { out_ = &out; }

  void hello(fb::Role role, std::int32_t pid, std::string_view program,
             std::uint32_t version = PROTOCOL_VERSION);
  // A program's environment (Hello.env) and a worker's token.
  struct HelloExtras {
    std::string_view python, python_version, code_mark, cwd, bocd_path;
    std::span<const std::string> sys_path;
    bool has_env = false;
    std::string_view token;
    bool ring = false;  // Hello.ring: the peer can take a ring segment
    std::uint64_t keep_values = 0;  // a worker's Hello.keep_values
    bool streams = false;  // Hello.streams: takes credit and lent messages
  };
  void hello(fb::Role role, std::int32_t pid, std::string_view program,
             const HelloExtras& extras,
             std::uint32_t version = PROTOCOL_VERSION);
  void welcome(std::uint64_t session, std::uint64_t id_base,
               std::uint64_t id_count, std::uint32_t max_cowns,
               std::uint32_t max_frame, std::uint32_t notice_keys = 64,
               std::uint64_t max_in_flight = 0,
               std::string_view blob_prefix = {},
               std::uint64_t ring_bytes = 0, std::uint32_t spin_us = 0);
  void create_cown(std::uint64_t id, const ValueRef& value, bool pinned);
  void drop_cown(std::uint64_t id);
  void hold_cown(std::span<const std::uint64_t> ids);
  void pinned_freed(std::span<const std::uint64_t> ids);
  void output(std::uint64_t session, std::uint8_t stream,
              std::string_view data);
  // `refs`: the cowns the payload embeds (Submit.refs); `blobs`: the
  // shared-memory blobs it names (Submit.blobs).
  void submit(std::uint64_t tag, std::span<const std::uint64_t> cowns,
              std::uint64_t result, fb::Executor executor,
              std::uint64_t parent, std::string_view payload,
              std::span<const std::uint64_t> refs = {},
              std::span<const std::string> blobs = {},
              const CodePart& code = {});
  // `dropped`: the cowns whose kept values the worker dropped.
  // `bounced`: the body did not run (Complete.bounced).
  void complete(std::uint64_t behavior, std::span<const CownValueRef> updates,
                std::uint64_t run_ns = 0,
                std::span<const std::uint64_t> dropped = {},
                bool bounced = false);
  // Messaging; `value` only for Send (nullptr otherwise).
  void mail(std::uint64_t request, fb::MailKind kind, std::uint64_t program,
            std::span<const std::string> tags, bool wait,
            const ValueRef* value, std::uint64_t behavior = 0,
            std::uint64_t after_session = 0, std::uint64_t after_frames = 0,
            std::uint64_t cown = 0, bool credited = false,
            std::uint32_t count = 0, std::uint64_t batch = 0);
  // `tag` is written when not empty (a delivery's, a recall's).
  void mail_reply(std::uint64_t request, bool got, std::string_view tag,
                  const ValueRef* value, std::uint64_t cown = 0,
                  const MailExtra& extra = {});
  void quiesce(std::uint64_t request, std::uint64_t below = 0);
  void sync(std::uint64_t request);
  void synced(std::uint64_t request, std::uint32_t pinned_waiting);
  void blocked(std::uint64_t behavior);
  void unhandled(std::uint64_t cown, const ValueRef& value);
  void recalled(std::uint64_t behavior,
                std::span<const std::uint64_t> behaviors);
  void status_request(std::uint64_t request);
  void stop(std::uint64_t request);
  void dispatch(std::uint64_t behavior, std::uint64_t tag,
                std::uint64_t session, std::span<const CownValueRef> cowns,
                std::uint64_t result, std::string_view payload, bool own,
                const Forget& forget = {});
  void quiesced(std::uint64_t request, std::uint64_t behaviors = 0);
  void stopping(std::uint64_t request);
  // `closing`: the daemon's last frame of the session (Error.closing).
  void error(fb::ErrorCode code, std::string_view message, std::uint64_t tag,
             std::uint64_t request, bool closing = false);

  // Status is built by the caller on builder(), then sealed with finish().
  flatbuffers::FlatBufferBuilder& builder() {
    fbb_.Clear();
    return fbb_;
  }
  void finish(fb::Message type, flatbuffers::Offset<void> message);
  // Frames sealed by this encoder so far.
  std::uint64_t frames() const { return frames_; }

 private:
  flatbuffers::Offset<fb::Value> value(const ValueRef& v);
  // An id vector, or a null offset (the field left out) when empty.
  flatbuffers::Offset<
      flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>>
  names(std::span<const std::string> v);
  flatbuffers::Offset<flatbuffers::Vector<std::uint64_t>> ids(
      std::span<const std::uint64_t> v);
  flatbuffers::Offset<
      flatbuffers::Vector<flatbuffers::Offset<fb::CownValue>>>
  cown_values(std::span<const CownValueRef> values);

  flatbuffers::FlatBufferBuilder fbb_{1024};
  std::vector<flatbuffers::Offset<fb::CownValue>> offsets_;  // scratch
  std::vector<std::uint8_t>* out_;
  std::uint64_t frames_ = 0;
};

}  // namespace bocd::proto

#include "wire_values.h"

#include "bocd/proto/blob_name.h"
#include "shm/blobs.h"

namespace bocd::server {

namespace fb = proto::fb;

std::string BlobCheck::refusal(const std::string& name) const {
  std::optional<proto::BlobOwner> owner = proto::parse_blob_name(name);
  if (!owner) {
    return "'" + name + "' is not a bocd shared-memory blob name";
  }
  if (owner->instance != instance) {
    return "blob '" + name + "' names daemon instance " +
           std::string(owner->instance) + ", not this daemon's " +
           std::string(instance);
  }
  if (owner->creator != creator &&
      (scheduler == nullptr ||
       (!scheduler->same_program(core::SessionId{owner->creator},
                                 core::SessionId{creator}) &&
        scheduler->blob_count(name) == 0))) {
    return "blob '" + name + "' names session " +
           std::to_string(owner->creator) + " as its creator, not session " +
           std::to_string(creator) + ", and no value of the daemon holds it";
  }
  return {};
}

void to_core(const flatbuffers::Vector<std::uint64_t>* ids,
             std::vector<core::CownId>& out) {
  out.clear();
  if (ids == nullptr) return;
  out.reserve(ids->size());
  for (auto id : *ids) out.push_back(core::CownId{id});
}

using Names = flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>;

void to_core(const Names* names, std::vector<std::string>& out,
             std::string& bad, const BlobCheck& check) {
  out.clear();
  if (names == nullptr) return;
  for (const flatbuffers::String* n : *names) {
    std::string name = n->str();
    if (bad.empty()) bad = check.refusal(name);
    out.push_back(std::move(name));
  }
}

core::Value to_core(const fb::Value* v, std::string& bad_blob,
                    const BlobCheck& check) {
  core::Value out;
  if (v == nullptr) return out;
  if (v->data() != nullptr) out.data.assign(v->data()->begin(), v->data()->end());
  out.exception = v->exception();
  // An executor may not forge a daemon error; it stays the program's bytes.
  to_core(v->refs(), out.refs);
  to_core(v->blobs(), out.blobs, bad_blob, check);
  // Measured here, not taken from the sender: the byte cap counts what
  // the blobs really hold. A refused value is never stored: not measured.
  if (!bad_blob.empty()) return out;
  for (const std::string& name : out.blobs) {
    out.blob_bytes += shm::blob_size(name);
  }
  return out;
}

}  // namespace bocd::server

#include "wire_values.h"

#include "bocd/proto/blob_name.h"
#include "shm/blobs.h"

namespace bocd::server {

namespace fb = proto::fb;

void to_core(const flatbuffers::Vector<std::uint64_t>* ids,
             std::vector<core::CownId>& out) {
  out.clear();
  if (ids == nullptr) return;
  out.reserve(ids->size());
  for (auto id : *ids) out.push_back(core::CownId{id});
}

using Names = flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>;

// Copies blob names into `out`; the first that is not a blob name (the
// daemon would unlink it, so a client must not choose it) goes to `bad`.
void to_core(const Names* names, std::vector<std::string>& out,
             std::string& bad) {
  out.clear();
  if (names == nullptr) return;
  for (const flatbuffers::String* n : *names) {
    std::string name = n->str();
    if (!proto::valid_blob_name(name) && bad.empty()) bad = name;
    out.push_back(std::move(name));
  }
}

core::Value to_core(const fb::Value* v, std::string& bad_blob) {
  core::Value out;
  if (v == nullptr) return out;
  if (v->data() != nullptr) out.data.assign(v->data()->begin(), v->data()->end());
  out.exception = v->exception();
  // An executor may not forge a daemon error; it stays the program's bytes.
  to_core(v->refs(), out.refs);
  to_core(v->blobs(), out.blobs, bad_blob);
  // Measured here, not taken from the sender: the byte cap counts what
  // the blobs really hold.
  for (const std::string& name : out.blobs) {
    out.blob_bytes += shm::blob_size(name);
  }
  return out;
}

std::string not_a_blob(const std::string& name) {
  return "'" + name + "' is not a bocd shared-memory blob name";
}

}  // namespace bocd::server

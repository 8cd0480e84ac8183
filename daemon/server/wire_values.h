// Wire values to core values (the Dispatcher's message handlers share
// them). Blob names are checked: the daemon unlinks the blobs values name,
// so a client must not name anything that is not a bocd blob.
#pragma once

#include <string>
#include <vector>

#include "bocd/proto/codec.h"
#include "core/core.h"

namespace bocd::server {

void to_core(const flatbuffers::Vector<std::uint64_t>* ids,
             std::vector<core::CownId>& out);
// Copies blob names into `out`; the first that is not a blob name goes to
// `bad` (left as it was when all are).
void to_core(
    const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>* names,
    std::vector<std::string>& out, std::string& bad);
// A client's value (an executor may not forge a daemon error: `error` is
// not copied); a bad blob name goes to `bad_blob`.
core::Value to_core(const proto::fb::Value* v, std::string& bad_blob);
std::string not_a_blob(const std::string& name);

}  // namespace bocd::server

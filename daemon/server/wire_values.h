// Wire values to core values (the Dispatcher's message handlers share
// them). Blob names are checked: the daemon unlinks the blobs values name,
// so a session may name only blobs of this daemon instance that it made
// itself or that the daemon already holds (a value read back and written
// again in place).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "bocd/proto/codec.h"
#include "core/core.h"

namespace bocd::server {

// Which blob names one session may send: those of this daemon instance
// made by the session itself or by another open session of its program
// (Scheduler::same_program: a worker messages over a second session), and
// any the daemon already holds.
struct BlobCheck {
  std::string_view instance;  // this daemon's (proto/blob_name.h)
  std::uint64_t creator = 0;  // the sending session
  const core::Scheduler* scheduler = nullptr;

  // "" when `name` may be sent; otherwise why not, naming it.
  std::string refusal(const std::string& name) const;
};

void to_core(const flatbuffers::Vector<std::uint64_t>* ids,
             std::vector<core::CownId>& out);
// Copies blob names into `out`; why the first refused one is refused goes
// to `bad` (left as it was when all pass).
void to_core(
    const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>* names,
    std::vector<std::string>& out, std::string& bad, const BlobCheck& check);
// A client's value (an executor may not forge a daemon error: `error` is
// not copied); why a blob name is refused goes to `bad_blob`.
core::Value to_core(const proto::fb::Value* v, std::string& bad_blob,
                    const BlobCheck& check);

}  // namespace bocd::server

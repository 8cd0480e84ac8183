// The form of a shared-memory blob name (docs/protocol.md, Shared-memory
// blobs): part of the contract between the processes that create blobs
// (clients, workers) and the daemon, which unlinks them.
// "bocd-<pid hex>-<64 random bits hex>".
// The daemon unlinks only names of this form, so a client cannot make it
// remove another shared-memory object.
#pragma once

#include <string_view>

namespace bocd::proto {

inline bool valid_blob_name(std::string_view name) {
  if (name.size() < 8 || name.size() > 40 || name.substr(0, 5) != "bocd-") {
    return false;
  }
  for (char c : name.substr(5)) {
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    if (!hex && c != '-') return false;
  }
  return true;
}

}  // namespace bocd::proto

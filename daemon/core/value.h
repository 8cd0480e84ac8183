// A cown's value as the core stores it. The core never interprets the
// bytes; it only moves them between cowns, dispatches and commits.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "errc.h"
#include "ids.h"

namespace bocd::core {

struct Value {
  // Opaque payload. std::string for its small-buffer optimisation: most
  // values in a busy program are a few bytes.
  std::string data;
  // The program's "this result holds a raised exception" flag.
  bool exception = false;
  // Set when the daemon produced this value itself (data is then a UTF-8
  // message), e.g. the executor of the behavior died.
  Errc error = Errc::none;
  // The cowns whose handles `data` embeds, as the client listed them
  // (repeats allowed). While stored in a cown, each entry counts one
  // reference to its cown (CownTable; docs/protocol.md, Cown lifetime).
  std::vector<CownId> refs = {};
  // The shared-memory blobs `data` refers to; while stored in a cown, each
  // entry counts one reference to its blob (BlobTable; docs/protocol.md,
  // Shared-memory blobs).
  std::vector<std::string> blobs = {};
  // The sizes of those blobs, as the host measured them when the value
  // arrived: what they cost the program's byte cap (Limits).
  std::uint64_t blob_bytes = 0;

  // The bytes this value holds the daemon's memory (and its blobs, shared
  // memory) to: what a program's byte cap counts.
  std::uint64_t bytes() const { return data.size() + blob_bytes; }

  friend bool operator==(const Value& a, const Value& b) {
    return a.data == b.data && a.exception == b.exception &&
           a.error == b.error && a.refs == b.refs && a.blobs == b.blobs &&
           a.blob_bytes == b.blob_bytes;
  }
};

}  // namespace bocd::core

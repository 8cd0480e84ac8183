// The daemon's side of shared-memory blobs (docs/protocol.md,
// Shared-memory blobs). Clients and workers create and map blobs
// (client-cpp's Blob); the daemon only removes them once no stored value
// or live behavior names one.
#pragma once

#include <cstdint>
#include <string>

namespace bocd::shm {

// Unlinks blob `name` if it has the form of a blob name
// (proto/blob_name.h); mappings stay valid. False if it did not exist or
// is not a blob name.
bool unlink_blob(const std::string& name);

// The size of blob `name` now, 0 if it does not exist or is not a blob
// name. What a program's byte cap counts for it.
std::uint64_t blob_size(const std::string& name);

}  // namespace bocd::shm

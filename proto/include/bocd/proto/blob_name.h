// The form of a shared-memory blob name (docs/protocol.md, Shared-memory
// blobs): part of the contract between the processes that create blobs
// (clients, workers) and the daemon, which unlinks them.
//
//   bocd-<instance: 16 hex>-<creator: 16 hex>-<random: 32 hex>
//
// `instance` is the daemon's (random, fixed for its life), `creator` the
// session that made the blob, `random` 128 bits from getrandom(2). The
// daemon hands each session its prefix "bocd-<instance>-<creator>-" in
// Welcome. Attribution is what lets nothing outlive its owners: a daemon
// removes the blobs of a closed session it was never told about, and a
// starting daemon removes those of dead instances (the instance lock
// "bocd-<instance>-lock", held by the live daemon, tells which).
// The daemon unlinks only names of this form, so a client cannot make it
// remove another shared-memory object.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bocd::proto {

inline constexpr std::size_t BLOB_INSTANCE_HEX = 16;
inline constexpr std::size_t BLOB_CREATOR_HEX = 16;
inline constexpr std::size_t BLOB_RANDOM_HEX = 32;
// "bocd-" + instance + "-" + creator + "-"
inline constexpr std::size_t BLOB_PREFIX_SIZE =
    5 + BLOB_INSTANCE_HEX + 1 + BLOB_CREATOR_HEX + 1;
inline constexpr std::size_t BLOB_NAME_SIZE =
    BLOB_PREFIX_SIZE + BLOB_RANDOM_HEX;

// Who a blob name says made it.
struct BlobOwner {
  std::string_view instance;  // 16 lowercase hex digits
  std::uint64_t creator = 0;  // the creating session
};

// The owner `name` claims, or nullopt if it is not a blob name.
std::optional<BlobOwner> parse_blob_name(std::string_view name);

inline bool valid_blob_name(std::string_view name) {
  return parse_blob_name(name).has_value();
}

// Whether `instance` is 16 lowercase hex digits.
bool valid_blob_instance(std::string_view instance);

// "bocd-<instance>-<creator>-": what a session's blob names start with.
std::string blob_prefix(std::string_view instance, std::uint64_t creator);

// Whether `prefix` has the form blob_prefix makes.
bool valid_blob_prefix(std::string_view prefix);

// `prefix` followed by 128 bits from getrandom(2), in hex.
std::string new_blob_name(std::string_view prefix);

// The instance lock's name: "bocd-<instance>-lock" (not a blob name, so
// no peer can have the daemon unlink it).
std::string instance_lock_name(std::string_view instance);

// A new random instance id (16 hex digits from getrandom(2)).
std::string new_blob_instance();

}  // namespace bocd::proto

#include "bocd/proto/blob_name.h"

#include <cstdio>

#include "bocd/proto/os_random.h"

namespace bocd::proto {
namespace {

bool all_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::uint64_t hex_value(std::string_view s) {
  std::uint64_t v = 0;
  for (char c : s) v = v * 16 + static_cast<std::uint64_t>(
                                    c <= '9' ? c - '0' : c - 'a' + 10);
  return v;
}

std::string hex(const unsigned char* bytes, std::size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    out += digits[bytes[i] >> 4];
    out += digits[bytes[i] & 15];
  }
  return out;
}

}  // namespace

bool valid_blob_instance(std::string_view instance) {
  return instance.size() == BLOB_INSTANCE_HEX && all_hex(instance);
}

bool valid_blob_prefix(std::string_view p) {
  return p.size() == BLOB_PREFIX_SIZE && p.substr(0, 5) == "bocd-" &&
         valid_blob_instance(p.substr(5, BLOB_INSTANCE_HEX)) &&
         p[5 + BLOB_INSTANCE_HEX] == '-' &&
         all_hex(p.substr(6 + BLOB_INSTANCE_HEX, BLOB_CREATOR_HEX)) &&
         p.back() == '-';
}

std::optional<BlobOwner> parse_blob_name(std::string_view name) {
  if (name.size() != BLOB_NAME_SIZE ||
      !valid_blob_prefix(name.substr(0, BLOB_PREFIX_SIZE)) ||
      !all_hex(name.substr(BLOB_PREFIX_SIZE))) {
    return std::nullopt;
  }
  return BlobOwner{name.substr(5, BLOB_INSTANCE_HEX),
                   hex_value(name.substr(6 + BLOB_INSTANCE_HEX,
                                         BLOB_CREATOR_HEX))};
}

std::string blob_prefix(std::string_view instance, std::uint64_t creator) {
  char creator_hex[BLOB_CREATOR_HEX + 1];
  std::snprintf(creator_hex, sizeof creator_hex, "%016llx",
                static_cast<unsigned long long>(creator));
  return "bocd-" + std::string(instance) + "-" + creator_hex + "-";
}

std::string new_blob_name(std::string_view prefix) {
  unsigned char bytes[BLOB_RANDOM_HEX / 2];
  os_random(bytes, sizeof bytes);
  return std::string(prefix) + hex(bytes, sizeof bytes);
}

std::string instance_lock_name(std::string_view instance) {
  return "bocd-" + std::string(instance) + "-lock";
}

std::string new_blob_instance() {
  unsigned char bytes[BLOB_INSTANCE_HEX / 2];
  os_random(bytes, sizeof bytes);
  return hex(bytes, sizeof bytes);
}

}  // namespace bocd::proto

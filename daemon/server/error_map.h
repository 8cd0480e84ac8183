// The one mapping between the core's Errc and the schema's ErrorCode (the
// source of truth). Each value is pinned by static_assert in error_map.cc.
#pragma once

#include "bocd/proto/bocd_generated.h"
#include "core/core.h"

namespace bocd::server {

constexpr proto::fb::ErrorCode to_wire(core::Errc e) {
  return static_cast<proto::fb::ErrorCode>(static_cast<std::uint16_t>(e));
}

}  // namespace bocd::server

#include "error_map.h"

namespace bocd::server {
namespace {

using core::Errc;
using W = proto::fb::ErrorCode;

// Both enums come from the same list; this checks flatc numbered the
// schema's codes as the list's order says.
#define BOCD_ERROR(wire_name, name) \
  static_assert(to_wire(Errc::name) == W::wire_name);
#include "bocd_error_list.inc"
#undef BOCD_ERROR
// Every schema code has a core twin, and no more.
static_assert(static_cast<std::uint16_t>(W::MAX) + 1 == core::ERRC_COUNT);

}  // namespace
}  // namespace bocd::server

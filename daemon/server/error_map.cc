#include "error_map.h"

namespace bocd::server {
namespace {

using core::Errc;
using W = proto::fb::ErrorCode;

#define BOCD_PIN(core_name, wire_name) \
  static_assert(to_wire(Errc::core_name) == W::wire_name)
BOCD_PIN(none, None);
BOCD_PIN(malformed, Malformed);
BOCD_PIN(version_mismatch, VersionMismatch);
BOCD_PIN(handshake_required, HandshakeRequired);
BOCD_PIN(already_handshaken, AlreadyHandshaken);
BOCD_PIN(not_permitted, NotPermitted);
BOCD_PIN(unknown_cown, UnknownCown);
BOCD_PIN(cown_exists, CownExists);
BOCD_PIN(cown_out_of_range, CownOutOfRange);
BOCD_PIN(too_many_cowns, TooManyCowns);
BOCD_PIN(unknown_behavior, UnknownBehavior);
BOCD_PIN(mixed_pinned_owners, MixedPinnedOwners);
BOCD_PIN(shutting_down, ShuttingDown);
BOCD_PIN(executor_lost, ExecutorLost);
BOCD_PIN(session_closed, SessionClosed);
BOCD_PIN(too_many_in_flight, TooManyInFlight);
BOCD_PIN(too_large, TooLarge);
BOCD_PIN(tag_capacity, TagCapacity);
BOCD_PIN(queue_full, QueueFull);
BOCD_PIN(no_workers, NoWorkers);
BOCD_PIN(memory_cap, MemoryCap);
BOCD_PIN(too_many_connections, TooManyConnections);
#undef BOCD_PIN
// Every schema code has a core twin, and no more.
static_assert(static_cast<std::uint16_t>(W::MAX) + 1 == core::ERRC_COUNT);

}  // namespace
}  // namespace bocd::server

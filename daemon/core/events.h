// What the scheduling core asks its host to do. Commands return at once; the
// effects that must reach other sessions are appended as events, which the
// host drains (Scheduler::take_events) after every command.
#pragma once

#include <cstdint>
#include <string>
#include <variant>

#include "ids.h"

namespace bocd::core {

// Send behavior `behavior` to session `to` for execution. Its cowns, payload
// and tag are read with Scheduler::view while it stays RUNNING.
struct DispatchEvent {
  SessionId to;
  BehaviorId behavior;
};

// The quiesce request `request` of session `to` has reached zero in flight.
struct QuiescedEvent {
  SessionId to;
  std::uint64_t request = 0;
};

using Event = std::variant<DispatchEvent, QuiescedEvent>;

}  // namespace bocd::core

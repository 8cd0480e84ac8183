// What the scheduling core asks its host to do. Commands return at once; the
// effects that must reach other sessions are appended as events, which the
// host drains (Scheduler::take_events) after every command.
#pragma once

#include <cstdint>
#include <string>
#include <variant>

#include "errc.h"
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

// A behavior `to` submitted (its `tag`) was accepted but then failed
// without running for a reason its submitter must hear about even when it
// asked for no result cown (today: too_large).
struct FailedEvent {
  SessionId to;
  std::uint64_t tag = 0;
  Errc code = Errc::none;
  std::string message;
};

// No stored value or live behavior names shared-memory blob `name` any
// more: the host unlinks it.
struct BlobFreedEvent {
  std::string name;
};

// Pinned cown `id` of session `owner` is freed: the owner may drop the
// value it keeps for it (docs/protocol.md, Pinned cowns).
struct PinnedFreedEvent {
  SessionId owner;
  CownId id;
};

// The answer to receive `request` of session `to` (messaging). `got`: a
// message was taken for it, under `tag`; its value is read with
// Scheduler::mail_lease until the receiver releases it. Else nothing came
// (a poll, a cancel), or `code` says why it cannot wait any more.
// `lent`: the first that many of batch `request` of `program`'s mailbox
// go with it (Scheduler::mail_lent). `recall`: not an answer; `to` is
// asked to give batch `request` under `tag` back.
struct MailEvent {
  SessionId to;
  std::uint64_t request = 0;
  bool got = false;
  std::string tag;
  Errc code = Errc::none;
  std::string message;
  SessionId program;
  std::uint32_t lent = 0;
  bool recall = false;
};

// Result cown `id` of program `to` was freed still holding an exception
// whose flag nobody cleared (bocpy prints these): its value, or empty
// data when the value named cowns or blobs that went with it.
struct UnhandledEvent {
  SessionId to;
  CownId id;
  std::string data;
  Errc error = Errc::none;  // set: the daemon wrote it (data is its text)
};

// Start a worker process for program `program`, which connects as a
// worker bound to it (SessionOptions::bound_to), or report that it could
// not (Scheduler::worker_failed). Its environment is the host's to know.
struct SpawnWorkerEvent {
  SessionId program;
  // Start the program's executor bridge (Limits::bridge_slots), not a
  // worker; it connects with SessionOptions::bridge.
  bool bridge = false;
};

// Close worker `worker`'s session: its program is gone, it has been idle
// too long, or its place is needed. It is sent nothing more.
struct RetireWorkerEvent {
  SessionId worker;
};

using Event = std::variant<DispatchEvent, QuiescedEvent, FailedEvent,
                           BlobFreedEvent, PinnedFreedEvent, MailEvent,
                           UnhandledEvent, SpawnWorkerEvent,
                           RetireWorkerEvent>;

}  // namespace bocd::core

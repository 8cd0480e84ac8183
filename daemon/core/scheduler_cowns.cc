// Scheduler: the cown lifetime commands (create, hold, drop) and the
// checks on embedded refs (docs/protocol.md, Cown lifetime). Behaviors are
// in scheduler.cc, sessions in scheduler_sessions.cc.
#include <string>

#include "hex.h"
#include "scheduler.h"

namespace bocd::core {

Status Scheduler::check_new_cown(const Session& s, CownId id) const {
  if ((id.value >> 32) != s.prefix || (id.value & 0xFFFFFFFFu) == 0) {
    return fail(Errc::cown_out_of_range,
                "cown id " + hex(id.value) +
                    " is outside this session's id range");
  }
  if (cowns_.find(id) != NONE) {
    return fail(Errc::cown_exists, "cown id " + hex(id.value) +
                                       " is already in use");
  }
  return Ok{};
}

Status Scheduler::check_refs(const std::vector<CownId>& refs,
                             const char* where) const {
  CownId missing;
  if (!cowns_.all_live(refs, missing)) {
    return fail(Errc::unknown_cown, "cown " + hex(missing.value) + " named in " +
                                        where + " does not exist");
  }
  return Ok{};
}

Status Scheduler::create_cown(SessionId session, CownId id, Value value,
                              bool pinned) {
  Session* s = open_session_ptr(session);
  if (s == nullptr) return fail(Errc::session_closed, "session is closed");
  Status st = check_new_cown(*s, id);
  if (!st) return st;
  st = check_refs(value.refs, "the new cown's value");
  if (!st) return st;
  SessionId payer = payer_of(session);
  if (std::string why = over_cap(payer, value.bytes()); !why.empty()) {
    // The cown exists, holding the reason: reading it raises, and if
    // nobody does, its program hears of it when it goes.
    cowns_.blobs().add(value.blobs);  // reported freed: the host unlinks
    cowns_.blobs().release(value.blobs);
    std::uint32_t c = cowns_.insert(
        id, Value{"cown " + hex(id.value) + " holds no value: " + why, true,
                  Errc::memory_cap, {}, {}},
        session, pinned, payer);
    cowns_.at(c).report_to = payer;
    return Ok{};
  }
  cowns_.insert(id, std::move(value), session, pinned, payer);
  return Ok{};
}

SessionId Scheduler::payer_of(SessionId session) const {
  const Session* s = find_session(session);
  return s != nullptr && s->bound_to ? s->bound_to : session;
}

std::string Scheduler::over_cap(SessionId payer, std::uint64_t add) const {
  std::uint64_t cap = limits_.max_program_bytes;
  std::uint64_t now = cowns_.bytes_of(payer);
  if (cap == 0 || add <= cap - std::min(now, cap)) return "";
  const Session* s = find_session(payer);
  std::string who = s != nullptr && !s->program.empty()
                        ? "program '" + s->program + "'"
                        : "session " + std::to_string(payer.value) + "'s program";
  return "storing " + std::to_string(add) + " more bytes would bring " + who +
         " to " + std::to_string(now + add) +
         " bytes of cown values, over its cap of " + std::to_string(cap) +
         " bytes (the daemon's --max-program-bytes)";
}

Status Scheduler::hold_cowns(SessionId session, const std::vector<CownId>& ids) {
  Session* s = open_session_ptr(session);
  if (s == nullptr) return fail(Errc::session_closed, "session is closed");
  std::string missing;
  for (CownId id : ids) {
    std::uint32_t c = cowns_.find(id);
    if (c == NONE) {
      missing += (missing.empty() ? "" : ", ") + hex(id.value);
      continue;
    }
    const Cown& cown = cowns_.at(c);
    if (cown.owner == session && cown.owner_handle) continue;  // has one
    if (s->held.insert(c).second) cowns_.add_ref(c);
  }
  if (!missing.empty()) {
    return fail(Errc::unknown_cown,
                "cannot hold cowns that do not exist: " + missing);
  }
  return Ok{};
}

Status Scheduler::drop_cown(SessionId session, CownId id) {
  std::uint32_t c = cowns_.find(id);
  if (c == NONE) {
    return fail(Errc::unknown_cown,
                "cown " + hex(id.value) + " does not exist");
  }
  const Cown& cown = cowns_.at(c);
  if (cown.owner == session && cown.owner_handle) {
    cowns_.drop_handle(c);
    return Ok{};
  }
  Session* s = find_session(session);
  if (s != nullptr && s->held.erase(c) != 0) {
    cowns_.release_ref(c);
    return Ok{};
  }
  return fail(Errc::not_permitted, "cown " + hex(id.value) +
                                       " holds no handle of this session");
}

void Scheduler::release_holds(Session& s) {
  std::unordered_set<std::uint32_t> held;
  held.swap(s.held);
  for (std::uint32_t c : held) cowns_.release_ref(c);
}

}  // namespace bocd::core

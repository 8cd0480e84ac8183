// Scheduler: the cown lifetime commands (create, hold, drop) and the
// checks on embedded refs (docs/protocol.md, Cown lifetime). Behaviors are
// in scheduler.cc, sessions in scheduler_sessions.cc.
#include <algorithm>
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

bool Scheduler::may_name(const Session& s, std::uint32_t c) const {
  SessionId program = cowns_.at(c).program;
  if (s.role == Role::admin) return false;
  if (program == s.acts_for) return true;
  if (s.bound_to) return false;
  // A worker serving every program acts for the programs whose behaviors
  // it has been sent and not finished (it decodes a dispatch, taking its
  // handles, while it may still run an earlier one); so do the other
  // sessions of its process, which its bodies wait over.
  const Session* w = &s;
  if (s.role != Role::worker) {
    auto p = processes_.find(s.pid);
    w = p == processes_.end() ? nullptr : find_session(p->second.shared_worker);
    if (w == nullptr) return false;
  }
  return std::any_of(w->pool_order.begin(), w->pool_order.end(),
                     [&](std::uint32_t b) {
                       const Session* p = find_session(behaviors_.at(b).session);
                       return p != nullptr && p->acts_for == program;
                     });
}

bool Scheduler::same_program(SessionId a, SessionId b) const {
  const Session* x = find_session(a);
  const Session* y = find_session(b);
  return x != nullptr && y != nullptr && !x->closed && !y->closed &&
         x->acts_for == y->acts_for;
}

Status Scheduler::check_refs(const Session& s, const std::vector<CownId>& refs,
                             const char* where) const {
  for (CownId id : refs) {
    std::uint32_t c = cowns_.find(id);
    if (c == NONE || !may_name(s, c)) return not_nameable(id, where);
  }
  return Ok{};
}

Failure Scheduler::not_nameable(CownId id, const char* where) {
  // One answer for "no such cown" and "another program's": a guesser
  // learns nothing about which ids exist.
  return Failure{Errc::unknown_cown,
                 "cown " + hex(id.value) + " named in " + where +
                     " does not exist or is another program's"};
}

Status Scheduler::create_cown(SessionId session, CownId id, Value value,
                              bool pinned) {
  Session* s = open_session_ptr(session);
  if (s == nullptr) return fail(Errc::session_closed, "session is closed");
  Status st = check_new_cown(*s, id);
  if (!st) return st;
  st = check_refs(*s, value.refs, "the new cown's value");
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
    cowns_.at(c).program = program_of_new(session);
    return Ok{};
  }
  std::uint32_t c = cowns_.insert(id, std::move(value), session, pinned, payer);
  cowns_.at(c).program = program_of_new(session);
  return Ok{};
}

SessionId Scheduler::payer_of(SessionId session) const {
  const Session* s = find_session(session);
  return s != nullptr && s->bound_to ? s->bound_to : session;
}

SessionId Scheduler::program_of_new(SessionId session) const {
  const Session* s = find_session(session);
  if (s == nullptr) return session;
  if (s->role == Role::worker && !s->bound_to && !s->pool_order.empty()) {
    // Made in the body it runs now: the oldest behavior it was sent (it
    // runs them in order).
    const Session* p =
        find_session(behaviors_.at(s->pool_order.front()).session);
    if (p != nullptr) return p->acts_for;
  }
  return s->acts_for;
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
    if (c == NONE || !may_name(*s, c)) {
      missing += (missing.empty() ? "" : ", ") + hex(id.value);
      continue;
    }
    const Cown& cown = cowns_.at(c);
    if (cown.owner == session && cown.owner_handle) continue;  // has one
    if (s->held.insert(c).second) cowns_.add_ref(c);
  }
  if (!missing.empty()) {
    return fail(Errc::unknown_cown,
                "cannot hold cowns that do not exist or are another "
                "program's: " + missing);
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

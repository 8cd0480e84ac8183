// Scheduler: behaviors (submit, route, complete, finish). Cown lifetime
// commands are in scheduler_cowns.cc, sessions and terminators in
// scheduler_sessions.cc.
#include "scheduler.h"

#include <algorithm>
#include <string>
#include <utility>

#include "hex.h"

namespace bocd::core {

namespace {

// A moving average of run times (-1: none yet), the last eighth each time.
void average_in(std::int64_t& average, std::int64_t sample) {
  average = average < 0 ? sample : (7 * average + sample) / 8;
}

}  // namespace

Scheduler::Scheduler(Limits limits) : limits_(limits), rng_(limits.seed) {}

Result<std::uint32_t> Scheduler::check_submit(SessionId submitter,
                                              Session& s,
                                              const SubmitRequest& r,
                                              SessionId& owner,
                                              SessionId& executor,
                                              bool& pinned) {
  owner = submitter;
  if (r.parent) {
    std::uint32_t p = behaviors_.find(r.parent);
    if (p == NONE || behaviors_.at(p).running_on != submitter) {
      return fail(Errc::unknown_behavior,
                  "parent behavior " + hex(r.parent.value) +
                      " is not running on this session");
    }
    owner = behaviors_.at(p).session;
  }
  Session* os = open_session_ptr(owner);
  if (os == nullptr) {
    return fail(Errc::session_closed, "the behavior's session has closed");
  }
  if (all_.closed() || os->terminator.closed()) {
    return fail(Errc::shutting_down, "runtime is shutting down");
  }
  if (os->terminator.count() >= limits_.max_in_flight_per_session) {
    return fail(Errc::too_many_in_flight,
                "session has " + std::to_string(os->terminator.count()) +
                    " behaviors in flight, the daemon's limit");
  }
  if (r.cowns.size() > limits_.max_cowns_per_behavior) {
    return fail(Errc::too_many_cowns,
                "behavior requests " + std::to_string(r.cowns.size()) +
                    " cowns; the limit is " +
                    std::to_string(limits_.max_cowns_per_behavior));
  }
  if (r.result) {
    Status st = check_new_cown(s, r.result);
    if (!st) return st.error();
  }
  if (Status st = check_refs(s, r.refs, "the payload"); !st) {
    return st.error();
  }
  if (std::uint64_t{r.code_at} + r.code_len > r.payload.size()) {
    return fail(Errc::not_permitted,
                "the code part (" + std::to_string(r.code_len) +
                    " bytes at " + std::to_string(r.code_at) +
                    ") lies outside the payload of " +
                    std::to_string(r.payload.size()) + " bytes");
  }
  scratch_.clear();
  SessionId pinned_owner;
  for (CownId id : r.cowns) {
    std::uint32_t c = cowns_.find(id);
    if (c == NONE || !may_name(s, c)) {
      return not_nameable(id, "the request set");
    }
    const Cown& cown = cowns_.at(c);
    if (cown.pinned) {
      if (pinned_owner && pinned_owner != cown.owner) {
        return fail(Errc::mixed_pinned_owners,
                    "request set holds pinned cowns of two programs "
                    "(sessions " + std::to_string(pinned_owner.value) +
                        " and " + std::to_string(cown.owner.value) + ")");
      }
      pinned_owner = cown.owner;
    }
    scratch_.push_back(c);
  }
  if (pinned_owner && r.run_on_submitter && pinned_owner != submitter) {
    return fail(Errc::not_permitted,
                "a behavior to run on its submitter cannot hold another "
                "program's pinned cown (session " +
                    std::to_string(pinned_owner.value) + ")");
  }
  pinned = static_cast<bool>(pinned_owner);
  executor = pinned_owner       ? pinned_owner
             : r.run_on_submitter ? submitter
                                  : SessionId{};
  return static_cast<std::uint32_t>(scratch_.size());
}

Result<BehaviorId> Scheduler::submit(SessionId submitter, SubmitRequest& r) {
  Session* s = open_session_ptr(submitter);
  if (s == nullptr) return fail(Errc::session_closed, "session is closed");
  SessionId owner, executor;
  bool pinned = false;
  auto checked = check_submit(submitter, *s, r, owner, executor, pinned);
  if (!checked) {
    const Failure& f = checked.error();
    // A request set no program can run (pinned cowns of two owners) is
    // the program's mistake, like a body's exception: with a result cown,
    // that is where it goes (check_submit has checked the id is fresh).
    if (f.code == Errc::mixed_pinned_owners && r.result) {
      std::uint32_t c = cowns_.insert(r.result,
                                      Value{f.message, true, f.code, {}, {}},
                                      submitter, false, owner);
      cowns_.at(c).report_to = owner;
      cowns_.at(c).program = find_session(owner)->acts_for;
      return BehaviorId{};
    }
    return f;
  }

  // The global order: sorted by cown id, each cown once.
  std::sort(scratch_.begin(), scratch_.end(),
            [this](std::uint32_t a, std::uint32_t b) {
              return cowns_.at(a).id < cowns_.at(b).id;
            });
  scratch_.erase(std::unique(scratch_.begin(), scratch_.end()),
                 scratch_.end());

  all_.try_enter();
  Session* program = find_session(owner);
  note_submitter(owner);
  program->terminator.try_enter();
  ++program->accepted;
  ++accepted_;
  std::uint32_t b = behaviors_.allocate();
  Behavior& bh = behaviors_.at(b);
  bh.session = owner;
  bh.submitter = submitter;
  bh.executor = executor;
  bh.pinned = pinned;
  if (Session* e = pinned ? find_session(executor) : nullptr) {
    ++e->pinned_waiting;
  }
  bh.tag = r.tag;
  bh.result = r.result;
  bh.payload = std::move(r.payload);
  bh.code_at = r.code_at;
  bh.code_len = r.code_len;
  bh.code_key = r.code_key;
  for (CownId ref : r.refs) {
    bh.refs.push_back(cowns_.find(ref));
    cowns_.add_ref(bh.refs.back());
  }
  bh.blobs = r.blobs;
  cowns_.blobs().add(bh.blobs);
  for (std::uint32_t c : scratch_) bh.requests.push_back(Request{c, NONE});
  if (r.result) {
    // Fresh, so uncontended: its place in the order cannot matter. Its
    // owner handle is the SUBMITTER's (a worker, for a nested behavior),
    // not the program session's: the object standing for it (bocpy's
    // result Cown) lives in the submitting process, which drops the handle
    // from there. Any other process that gets the cown (in a value or a
    // payload) takes its own handle with hold_cowns, so a worker restart
    // frees it only if nothing else refers to it
    // (docs/protocol.md, Cown lifetime).
    std::uint32_t c = cowns_.insert(r.result, Value{}, submitter, false, owner);
    cowns_.at(c).report_to = owner;  // its program hears of a lost raise
    cowns_.at(c).program = program->acts_for;
    bh.requests.push_back(Request{c, NONE});
  }
  // Taken now: run_ready() may end it at once (its pinned cown's owner is
  // gone), and a freed slot's id already names the slot's next occupant.
  BehaviorId id = behaviors_.id_of(b);
  enqueue(b);
  try_pipeline(b);  // behind what holds its cowns on a worker
  run_ready();
  return id;
}

void Scheduler::enqueue(std::uint32_t b) {
  Behavior& bh = behaviors_.at(b);
  bh.pending = static_cast<std::uint32_t>(bh.requests.size());
  for (std::uint32_t k = 0; k < bh.requests.size(); ++k) {
    Cown& c = cowns_.at(bh.requests[k].cown);
    bh.requests[k].prev = c.last_behavior;
    if (c.last_behavior == NONE) {
      --bh.pending;
    } else {
      behaviors_.at(c.last_behavior).requests[c.last_request].next = b;
    }
    c.last_behavior = b;
    c.last_request = k;
  }
  if (bh.pending == 0) make_ready(b);
}

void Scheduler::make_ready(std::uint32_t b) {
  behaviors_.at(b).state = BehaviorState::READY;
  ready_.push_back(b);
}

void Scheduler::run_ready() {
  while (!ready_.empty()) {
    std::uint32_t b = ready_.back();
    ready_.pop_back();
    Behavior& bh = behaviors_.at(b);
    if (bh.cancelled) {
      abort(b, Errc::session_closed,
            "behavior cancelled: its session " +
                std::to_string(bh.session.value) + " closed before it ran");
    } else if (std::uint64_t bytes = dispatch_bytes(b);
               bytes > limits_.max_dispatch_bytes) {
      // Checked once READY: values grow after submit, but not while it
      // holds its cowns.
      std::string why = "behavior not run: its cowns and payload hold " +
                        std::to_string(bytes) + " bytes, more than the " +
                        std::to_string(limits_.max_dispatch_bytes) +
                        " one dispatch may carry";
      if (open_session_ptr(bh.submitter) != nullptr) {
        events_.push_back(FailedEvent{bh.submitter, bh.tag, Errc::too_large,
                                      why});
      }
      abort(b, Errc::too_large, std::move(why));
    } else if (!bh.executor) {
      queue_for_workers(b);
    } else if (open_session_ptr(bh.executor) == nullptr) {
      abort(b, Errc::executor_lost,
            "behavior failed: session " + std::to_string(bh.executor.value) +
                ", which was to run it, is gone");
    } else {
      dispatch(b, bh.executor);
    }
  }
  dispatch_to_workers();
}

std::uint64_t Scheduler::dispatch_bytes(std::uint32_t b) const {
  // Generous bounds on a Dispatch's framing: its header and fixed fields,
  // and per cown the id, the Value table and their vtables and offsets.
  constexpr std::uint64_t BASE = 256, PER_COWN = 64;
  const Behavior& bh = behaviors_.at(b);
  std::uint64_t n = BASE + bh.payload.size();
  for (const Request& r : bh.requests) {
    const Value& v = cowns_.at(r.cown).value;
    n += PER_COWN + v.data.size() + sizeof(std::uint64_t) * v.refs.size();
  }
  return n;
}

void Scheduler::dispatch(std::uint32_t b, SessionId to) {
  Behavior& bh = behaviors_.at(b);
  bh.state = BehaviorState::RUNNING;
  bh.running_on = to;
  Session* s = find_session(to);
  if (s->running++ == 0) {
    s->busy_since_us = s->started_us = now_us_;
    s->queued_start = false;
  }
  if (bh.pinned) {
    ++s->pinned_dispatched;
    --s->pinned_waiting;  // it was routed to `to`, its executor
    if (s->pinned_running++ == 0) ++s->pinned_progress;
  }
  plan_values(b, *s);
  events_.push_back(DispatchEvent{to, behaviors_.id_of(b)});
}

Result<std::uint32_t> Scheduler::running_slot(SessionId executor,
                                              BehaviorId id) const {
  std::uint32_t b = behaviors_.find(id);
  if (b == NONE || behaviors_.at(b).state != BehaviorState::RUNNING ||
      behaviors_.at(b).running_on != executor) {
    return fail(Errc::unknown_behavior, "behavior " + hex(id.value) +
                                            " is not running on this session");
  }
  return b;
}

Status Scheduler::complete(SessionId executor, BehaviorId id,
                           std::vector<CownUpdate>& updates,
                           std::optional<std::int64_t> ran_us,
                           const std::vector<CownId>& dropped) {
  Result<std::uint32_t> running = running_slot(executor, id);
  if (!running) return running.error();
  std::uint32_t b = running.value();
  Behavior& bh = behaviors_.at(b);
  if (bh.pending != 0) {
    // Pipelined: the worker runs its dispatches in order, so the behaviors
    // before it complete first.
    return fail(Errc::not_permitted,
                "behavior " + hex(id.value) +
                    " completed before the behavior before it on its cowns");
  }
  if (updates.size() > bh.requests.size()) {
    return fail(Errc::not_permitted,
                std::to_string(updates.size()) + " updates for a behavior "
                "holding " + std::to_string(bh.requests.size()) + " cowns");
  }
  scratch_.clear();
  for (const CownUpdate& u : updates) {
    std::uint32_t c = cowns_.find(u.id);
    bool held = c != NONE && std::any_of(bh.requests.begin(),
                                         bh.requests.end(),
                                         [c](const Request& r) {
                                           return r.cown == c;
                                         });
    if (!held) {
      return fail(Errc::not_permitted,
                  "cown " + hex(u.id.value) +
                      " is not in the request set of behavior " +
                      hex(id.value));
    }
    scratch_.push_back(c);
  }
  const Session* e = find_session(executor);
  for (const CownUpdate& u : updates) {
    Status st = check_refs(*e, u.value.refs, "a new value");
    if (!st) return st;
  }
  std::string why;
  if (bh.tainted != Errc::none) {
    why = "it ran pipelined over a value its predecessor left on the "
          "worker, whose completion the daemon refused";
  } else {
    why = over_cap(updates);
  }
  if (!why.empty()) {
    Errc code = bh.tainted != Errc::none ? bh.tainted : Errc::memory_cap;
    // All or nothing: the cowns keep their values, the behavior fails.
    for (const CownUpdate& u : updates) {  // the host unlinks new blobs
      cowns_.blobs().add(u.value.blobs);
      cowns_.blobs().release(u.value.blobs);
    }
    if (!bh.result && open_session_ptr(bh.submitter) != nullptr) {
      events_.push_back(FailedEvent{bh.submitter, bh.tag, code,
                                    "behavior's writes not stored: " + why});
    }
    // It kept what it wrote; what was pipelined over it fails too.
    refuse(b, *find_session(executor), code,
           "behavior's writes not stored: " + why);
    pipeline_on(executor);
    run_ready();
    return Ok{};
  }
  // Count every new value's refs before releasing any old one's: a value
  // that keeps a cown it embeds must not free it in between.
  for (const CownUpdate& u : updates) {
    cowns_.add_refs(u.value.refs);
    cowns_.blobs().add(u.value.blobs);  // likewise: an array kept in place
  }
  for (std::size_t i = 0; i < updates.size(); ++i) {
    updates[i].value =
        cowns_.replace_value(scratch_[i], std::move(updates[i].value));
  }
  for (CownUpdate& u : updates) {
    cowns_.release_refs(u.value.refs);
    cowns_.blobs().release(u.value.blobs);
    u.value = Value{};  // the old value's bytes go now, not at reuse
  }
  note_written(*find_session(executor), bh, updates, dropped);
  passed_on(*find_session(executor), bh, dropped);
  finish(b, ran_us);
  pipeline_on(executor);  // a place behind its chain is free
  run_ready();
  return Ok{};
}

std::string Scheduler::over_cap(const std::vector<CownUpdate>& updates) const {
  if (limits_.max_program_bytes == 0) return "";
  // Growth per payer (a completion's cowns may belong to several
  // programs; a handful, so a flat list).
  std::vector<std::pair<SessionId, std::int64_t>> growth;
  for (std::size_t i = 0; i < updates.size(); ++i) {
    const Cown& c = cowns_.at(scratch_[i]);
    auto d = static_cast<std::int64_t>(updates[i].value.bytes()) -
             static_cast<std::int64_t>(c.value.bytes());
    auto it = std::find_if(growth.begin(), growth.end(),
                           [&](const auto& g) { return g.first == c.payer; });
    if (it == growth.end()) {
      growth.emplace_back(c.payer, d);
    } else {
      it->second += d;
    }
  }
  for (const auto& [payer, d] : growth) {
    if (d <= 0) continue;
    if (std::string why = over_cap(payer, static_cast<std::uint64_t>(d));
        !why.empty()) {
      return why;
    }
  }
  return "";
}

bool Scheduler::fail_running(SessionId executor, BehaviorId id, Errc code,
                             std::string message) {
  std::uint32_t b = behaviors_.find(id);
  if (b == NONE || behaviors_.at(b).state != BehaviorState::RUNNING ||
      behaviors_.at(b).running_on != executor ||
      behaviors_.at(b).pending != 0) {
    // Pending: pipelined, its predecessors not done. A worker that ends it
    // out of order breaks the protocol; it ends with that session.
    return false;
  }
  refuse(b, *find_session(executor), code, std::move(message));
  pipeline_on(executor);
  run_ready();
  return true;
}

void Scheduler::abort(std::uint32_t b, Errc code, std::string message) {
  Behavior& bh = behaviors_.at(b);
  if (bh.result) {
    std::uint32_t c = cowns_.find(bh.result);
    Value old = cowns_.replace_value(
        c, Value{std::move(message), true, code, {}, {}});
    cowns_.release_refs(old.refs);
    cowns_.blobs().release(old.blobs);
  }
  finish(b);
}

void Scheduler::finish(std::uint32_t b, std::optional<std::int64_t> ran_us) {
  Behavior& bh = behaviors_.at(b);
  if (bh.state == BehaviorState::RUNNING) {
    if (Session* s = find_session(bh.running_on)) {
      ++s->ran;
      // The next one queued there starts now (see Session::started_us).
      // By this clock, a body's time includes its dispatch's latency: on
      // a busy host, enough to make every body look long. The executor's
      // own measure, when it gives one, does not.
      std::int64_t took = now_us_ - std::exchange(s->started_us, now_us_);
      if (s->queued_start) average_in(s->cost_us, took);
      s->queued_start = s->running > 1;  // the next one starts now
      average_in(s->run_us, ran_us && *ran_us >= 0 ? *ran_us : took);
      if (--s->running == 0) {
        s->busy_us += static_cast<std::uint64_t>(now_us_ - s->busy_since_us);
      }
      if (bh.pinned) {
        --s->pinned_running;
        ++s->pinned_progress;
      }
      release_values(*s, bh);
      if (!bh.executor) left_worker(*s, b);
    }
  } else if (Session* e = bh.pinned ? find_session(bh.executor) : nullptr) {
    --e->pinned_waiting;  // ended without running (cancelled, too large)
  }
  // The next pool behavior on these cowns prefers the worker this one
  // ran on (the pool's affinity: scheduler_pool.cc, pick_worker).
  bool ran_in_pool = bh.state == BehaviorState::RUNNING && !bh.executor;
  std::vector<std::uint32_t> waiters;  // rarely any: no allocation then
  for (const Request& r : bh.requests) {
    if (ran_in_pool) cowns_.at(r.cown).ran_on = bh.running_on;
    if (r.next == NONE) {
      cowns_.at(r.cown).last_behavior = NONE;
      cowns_.free_if_unreferenced(r.cown);
    } else {
      Behavior& n = behaviors_.at(r.next);
      for (Request& nr : n.requests) {
        if (nr.cown == r.cown) nr.prev = NONE;
      }
      // A pipelined one is RUNNING already: it just holds every cown now.
      if (--n.pending == 0 && n.state == BehaviorState::WAITING) {
        make_ready(r.next);
      } else if (n.state == BehaviorState::WAITING) {
        waiters.push_back(r.next);
      }
    }
  }
  // What they still wait for may be on one worker. Tried once this one
  // has left every queue: none may inherit from it.
  for (std::uint32_t n : waiters) try_pipeline(n);
  for (std::uint32_t c : bh.refs) cowns_.release_ref(c);
  cowns_.blobs().release(bh.blobs);
  bh.blobs.clear();
  SessionId session = bh.session;
  behaviors_.release(b);
  ++completed_;
  leave(session);
}

void Scheduler::close_terminators() { all_.close(); }

void Scheduler::note_freed() {
  for (auto [owner, id] : cowns_.take_freed_pinned()) {
    // A closed owner's values are gone with it: nobody to tell.
    if (open_session_ptr(owner) != nullptr) {
      events_.push_back(PinnedFreedEvent{owner, id});
    }
  }
  for (CownTable::Unhandled& u : cowns_.take_unhandled()) {
    if (open_session_ptr(u.to) != nullptr) {
      events_.push_back(UnhandledEvent{u.to, u.id, std::move(u.value.data),
                                       u.value.error});
    }
  }
  if (!cowns_.blobs().has_freed()) return;
  for (std::string& name : cowns_.blobs().take_freed()) {
    events_.push_back(BlobFreedEvent{std::move(name)});
  }
}

std::vector<Event> Scheduler::take_events() {
  note_freed();
  std::vector<Event> out;
  out.swap(events_);
  return out;
}

void Scheduler::take_events(std::vector<Event>& out) {
  note_freed();
  out.clear();
  out.swap(events_);
}

bool Scheduler::view(BehaviorId id, DispatchView& out) const {
  std::uint32_t b = behaviors_.find(id);
  if (b == NONE || behaviors_.at(b).state != BehaviorState::RUNNING) {
    return false;
  }
  const Behavior& bh = behaviors_.at(b);
  out.behavior = id;
  out.tag = bh.tag;
  out.session = bh.session;
  out.submitter = bh.submitter;
  out.result = bh.result;
  out.payload = bh.payload;
  out.cowns.clear();
  std::size_t n = bh.requests.size() - (bh.result ? 1 : 0);
  for (std::size_t k = 0; k < n; ++k) {
    const Cown& c = cowns_.at(bh.requests[k].cown);
    out.cowns.emplace_back(c.id, &c.value);
  }
  out.versions = bh.versions;
  out.held = bh.held;
  out.inherit = bh.inherit;
  out.forget = bh.forget;
  out.forget_all = bh.forget_all;
  out.code_held = bh.code_held;
  out.code_keep = bh.code_keep;
  out.code_at = bh.code_at;
  out.code_len = bh.code_len;
  out.forget_code.clear();
  for (CownId key : bh.forget_code) out.forget_code.push_back(key.value);
  return true;
}

const Value* Scheduler::value_of(CownId id) const {
  std::uint32_t c = cowns_.find(id);
  return c == NONE ? nullptr : &cowns_.at(c).value;
}

}  // namespace bocd::core

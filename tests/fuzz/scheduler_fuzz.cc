// libFuzzer target for the scheduling core: the input is decoded into a
// sequence of Scheduler commands (sessions of every role opening and
// closing, cowns created, held and dropped, behaviors submitted over random
// cown sets with pinned cowns among them, completions, failures,
// take-backs, worker starts and deaths, messaging, quiesce, time passing),
// played as a host would: the events are drained after every command and
// the host's side of them (workers it was asked to start or retire) is
// itself a command. After every step Scheduler::check_invariants must
// hold, and so must what the events promise (a dispatched behavior can be
// viewed, a freed blob or pinned cown is gone); at the end, with every
// session closed, nothing may be in flight. Any failure aborts.
//
// Ids mostly come from what the run has seen (so most commands do
// something), now and then from the input as they are (stale, foreign or
// out of range), so refusals are exercised too.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/core.h"

namespace {

using namespace bocd::core;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "scheduler_fuzz: %s\n", what.c_str());
  std::abort();
}

// Reads the fuzz input front to back; past its end every read is 0, so
// any input is a valid (finite) program. At most one read per expression:
// the order in which function arguments are evaluated differs between
// compilers, and an input must replay the same under gcc and clang.
class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : p_(data), n_(size) {}
  bool more() const { return n_ > 0; }
  std::uint8_t byte() {
    if (n_ == 0) return 0;
    --n_;
    return *p_++;
  }
  // A number below `bound` (> 0).
  std::uint32_t below(std::uint32_t bound) {
    std::uint32_t v = byte();
    if (bound > 256) v = (v << 8) | byte();
    return v % bound;
  }
  bool chance(std::uint32_t in) { return below(in) == 0; }
  std::uint64_t u64() {
    std::uint64_t v = 0;
    for (int k = 0; k < 8; ++k) v = (v << 8) | byte();
    return v;
  }

 private:
  const std::uint8_t* p_;
  std::size_t n_;
};

struct HostSession {
  SessionGrant grant;
  Role role = Role::client;
  std::uint64_t next_id = 1;
  bool open = true;
};

const char* const TAGS[] = {"a", "b", "c", "d", ""};
const char* const BLOBS[] = {"blob0", "blob1", "blob2"};

class Run {
 public:
  explicit Run(Input& in) : in_(in), sched_(limits(in)) {}

  void go() {
    for (int step = 0; in_.more() && step < 4096; ++step) {
      one_step();
      after_step();
    }
    close_everything();
  }

 private:
  static Limits limits(Input& in) {
    Limits l;
    l.max_cowns_per_behavior = 2 + in.below(4);
    l.max_in_flight_per_session = 2 + in.below(20);
    l.worker_pipeline = 1 + in.below(3);
    l.pipeline_below_us = in.chance(2) ? -1 : std::int64_t{in.below(400)};
    l.max_busy_workers = in.below(4);
    l.max_worker_processes = in.below(5);
    l.max_dispatch_bytes = in.chance(4) ? 64 + in.below(512) : 1u << 20;
    l.max_program_bytes = in.chance(3) ? in.below(2048) : 0;
    l.mail.tags = 1 + in.below(4);
    l.mail.messages = 1 + in.below(4);
    l.mail.credit = in.below(3);
    l.mail.lend = in.below(4);
    l.mail.lend_bytes = in.chance(2) ? in.below(16) : 1u << 16;
    l.seed = 7;
    return l;
  }

  void one_step() {
    std::uint32_t op = in_.below(31);
    if (trace_) std::fprintf(stderr, "op %u\n", op);
    switch (op) {
      case 0: case 1: open(); break;
      case 2: close(); break;
      case 3: case 4: create_cown(); break;
      case 5: hold(); break;
      case 6: drop(); break;
      case 7: case 8: case 9: case 10: submit(); break;
      case 11: case 12: case 13: complete(); break;
      case 14: fail_running(); break;
      case 15: take_back(); break;
      case 16: host_spawn(); break;
      case 17: host_retire(); break;
      case 18: unserved(); break;
      case 19: mail_send(); break;
      case 20: mail_receive(); break;
      case 21: mail_settle(); break;
      case 22: mail_tags(); break;
      case 23: mail_board(); break;
      case 24: quiesce(); break;
      case 25: time_passes(); break;
      case 26: worker_dies(); break;
      case 27: inspect(); break;
      case 28: if (in_.chance(8)) sched_.close_terminators(); break;
      case 29: mail_unlend(); break;
      default: complete(); break;
    }
  }

  // ---- picking ----
  SessionId any_session(bool open_only = true) {
    if (sessions_.empty() || in_.chance(32)) return SessionId{in_.below(40)};
    for (int tries = 0; tries < 4; ++tries) {
      const HostSession& s = sessions_[in_.below(sessions_.size())];
      if (s.open || !open_only) return s.grant.id;
    }
    return sessions_.back().grant.id;
  }
  HostSession* host(SessionId id) {
    for (HostSession& s : sessions_) {
      if (s.grant.id == id) return &s;
    }
    return nullptr;
  }
  SessionId any_of_role(Role role) {
    std::vector<SessionId> ids;
    for (const HostSession& s : sessions_) {
      if (s.open && s.role == role) ids.push_back(s.grant.id);
    }
    if (ids.empty()) return SessionId{};
    return ids[in_.below(ids.size())];
  }
  CownId any_cown() {
    if (cowns_.empty() || in_.chance(24)) return CownId{in_.u64()};
    return cowns_[in_.below(cowns_.size())];
  }
  // A fresh id of `s`'s range, now and then a taken or foreign one.
  CownId new_cown_id(SessionId s) {
    HostSession* h = host(s);
    if (h == nullptr || in_.chance(16)) return any_cown();
    return CownId{h->grant.id_base + h->next_id++};
  }
  std::vector<CownId> some_cowns(std::uint32_t most) {
    std::vector<CownId> out;
    for (std::uint32_t k = 0, n = in_.below(most + 1); k < n; ++k) {
      out.push_back(any_cown());
    }
    return out;
  }
  std::vector<std::string> some_blobs() {
    std::vector<std::string> out;
    for (std::uint32_t k = 0, n = in_.below(3); k < n; ++k) {
      out.push_back(BLOBS[in_.below(std::size(BLOBS))]);
    }
    return out;
  }
  std::vector<std::string> some_tags() {
    std::vector<std::string> out;
    for (std::uint32_t k = 0, n = in_.below(3); k < n; ++k) {
      out.push_back(TAGS[in_.below(std::size(TAGS))]);
    }
    return out;
  }
  Value some_value() {
    Value v;
    v.data.assign(in_.below(48), 'v');
    v.exception = in_.chance(6);
    if (in_.chance(3)) v.refs = some_cowns(2);
    if (in_.chance(4)) {
      v.blobs = some_blobs();
      v.blob_bytes = in_.below(1024);
    }
    return v;
  }
  // A behavior dispatched and maybe still running, with where it went.
  std::optional<DispatchEvent> any_dispatched() {
    if (running_.empty()) return std::nullopt;
    return running_[in_.below(running_.size())];
  }
  BehaviorId any_behavior() {
    auto d = any_dispatched();
    if (!d || in_.chance(16)) return BehaviorId{in_.u64()};
    return d->behavior;
  }

  // ---- commands ----
  // A worker opened here serves any program: one bound to a program
  // connects only in answer to a SpawnWorkerEvent (host_spawn), as the
  // daemon's workers claim a token it made for one such event.
  void open() {
    Role role = static_cast<Role>(in_.below(3));
    SessionOptions options;
    if (role == Role::client) options.own_workers = in_.chance(2);
    add_session(role, options);
  }
  void add_session(Role role, SessionOptions options) {
    std::int32_t pid = static_cast<std::int32_t>(1000 + in_.below(8));
    options.streams = !in_.chance(4);
    SessionGrant g = sched_.open_session(role, pid, "p", options);
    for (const HostSession& s : sessions_) {
      if (s.grant.id == g.id) fail("a session id was given twice");
    }
    if (sessions_.size() >= 24) {  // forget the oldest closed one
      auto it = std::find_if(sessions_.begin(), sessions_.end(),
                             [](const HostSession& s) { return !s.open; });
      if (it != sessions_.end()) sessions_.erase(it);
    }
    sessions_.push_back(HostSession{g, role});
  }
  void close() { close(any_session()); }
  void close(SessionId s) {
    sched_.close_session(s);
    if (HostSession* h = host(s)) h->open = false;
  }
  void create_cown() {
    SessionId s = any_session();
    CownId id = new_cown_id(s);
    Value value = some_value();
    bool pinned = in_.chance(5);
    if (sched_.create_cown(s, id, std::move(value), pinned).ok()) {
      if (cowns_.size() >= 64) cowns_.erase(cowns_.begin());
      cowns_.push_back(id);
    }
  }
  void hold() {
    SessionId s = any_session();
    sched_.hold_cowns(s, some_cowns(3)).ok();
  }
  void drop() {
    SessionId s = any_session();
    sched_.drop_cown(s, any_cown()).ok();
  }
  void submit() {
    SessionId from = any_session();
    SubmitRequest r;
    r.tag = in_.below(1000);
    r.cowns = some_cowns(6);  // past every max_cowns_per_behavior drawn
    if (in_.chance(2)) r.result = new_cown_id(from);
    r.run_on_submitter = in_.chance(3);
    if (in_.chance(3)) r.parent = any_behavior();
    r.payload.assign(in_.below(200), 'p');
    if (in_.chance(3)) r.refs = some_cowns(2);
    if (in_.chance(4)) r.blobs = some_blobs();
    Result<BehaviorId> got = sched_.submit(from, r);
    if (got.ok() && r.result) cowns_.push_back(r.result);
  }
  void complete() {
    auto d = any_dispatched();
    SessionId by = d ? d->to : any_session();
    BehaviorId b = d ? d->behavior : any_behavior();
    if (in_.chance(16)) by = any_session();
    std::vector<CownUpdate> updates;
    DispatchView view;
    if (sched_.view(b, view)) {
      for (const auto& [id, value] : view.cowns) {
        if (in_.chance(2)) updates.push_back({id, some_value()});
      }
      if (view.result && in_.chance(2)) {
        updates.push_back({view.result, some_value()});
      }
    }
    if (in_.chance(10)) updates.push_back({any_cown(), some_value()});
    std::optional<std::int64_t> ran;
    if (in_.chance(2)) ran = in_.below(1000);
    Status st = sched_.complete(by, b, updates, ran);
    if (!st.ok() && sched_.view(b, view) && in_.chance(2)) {
      // The host's answer to a refused completion.
      sched_.fail_running(by, b, st.error().code, st.error().message);
    }
  }
  void fail_running() {
    auto d = any_dispatched();
    if (!d) return;
    sched_.fail_running(d->to, d->behavior, Errc::malformed, "bad complete");
  }
  void take_back() {
    auto d = any_dispatched();
    SessionId w = d ? d->to : any_session();
    sched_.take_back(w, d ? d->behavior : any_behavior()).ok();
  }
  // The host starts a worker it was asked for, or cannot.
  void host_spawn() {
    if (spawn_for_.empty()) return;
    std::size_t k = in_.below(spawn_for_.size());
    SessionId program = spawn_for_[k];
    spawn_for_.erase(spawn_for_.begin() + k);
    if (in_.chance(3)) {
      sched_.worker_failed(program, "the worker did not start");
    } else {
      add_session(Role::worker, SessionOptions{program, false});
    }
  }
  void host_retire() {
    if (retire_.empty()) return;
    std::size_t k = in_.below(retire_.size());
    SessionId w = retire_[k];
    retire_.erase(retire_.begin() + k);
    close(w);
  }
  void unserved() {
    std::string why = in_.chance(2) ? "" : "no worker starts";
    std::int64_t grace = in_.below(2000);
    sched_.fail_unserved(grace, why);
  }
  void worker_dies() {
    SessionId w = any_of_role(Role::worker);
    if (w) close(w);
  }
  void time_passes() {
    now_ += in_.below(4) == 0 ? in_.below(1'000'000) : in_.below(300);
    sched_.set_time(now_);
    if (in_.chance(2)) sched_.retire_idle_workers(in_.below(2000));
  }
  // A program, or a worker acting for a behavior it runs.
  struct Caller {
    SessionId caller, program;
    BehaviorId behavior;
  };
  Caller mail_caller() {
    auto d = any_dispatched();
    if (d && in_.chance(3)) {
      DispatchView view;
      SessionId program = sched_.view(d->behavior, view) ? view.session
                                                          : any_session();
      return {d->to, program, d->behavior};
    }
    return {any_session(), SessionId{}, BehaviorId{}};
  }
  void mail_send() {
    Caller c = mail_caller();
    Value v = some_value();
    std::string tag = TAGS[in_.below(std::size(TAGS))];
    sched_.mail_send(c.caller, c.program, tag, v, c.behavior, in_.chance(3))
        .ok();
  }
  void mail_receive() {
    Caller c = mail_caller();
    std::uint64_t request = ++next_request_;
    std::vector<std::string> tags = some_tags();
    bool wait = in_.chance(2);
    if (sched_.mail_receive(c.caller, c.program, request, tags, wait,
                            c.behavior).ok()) {
      receives_.emplace_back(c.caller, request);
      if (receives_.size() > 32) receives_.erase(receives_.begin());
      if (sched_.mail_lent(c.program, c.caller, request) != nullptr) {
        lent_.push_back({c.caller, c.program, request});
        if (lent_.size() > 16) lent_.erase(lent_.begin());
      }
    }
  }
  // A holder gives back some of a batch it was lent (maybe twice, maybe
  // one it never had: the daemon must shrug).
  void mail_unlend() {
    if (lent_.empty() || in_.chance(8)) {
      sched_.mail_unlend(any_session(), SessionId{in_.below(40)},
                         in_.below(40), in_.below(4), in_.chance(2),
                         ++next_request_);
      return;
    }
    Lent l = lent_[in_.below(lent_.size())];
    sched_.mail_unlend(l.holder, l.program, l.batch, in_.below(70),
                       in_.chance(2), ++next_request_);
  }
  // A receiver ends one of its receives: cancels, releases or returns.
  void mail_settle() {
    if (receives_.empty()) return;
    auto [receiver, request] = receives_[in_.below(receives_.size())];
    (void)sched_.mail_lease(receiver, request);
    switch (in_.below(3)) {
      case 0: sched_.mail_cancel(receiver, request); break;
      case 1: sched_.mail_release(receiver, request, any_behavior()); break;
      default: sched_.mail_return(receiver, request); break;
    }
  }
  void mail_tags() {
    Caller c = mail_caller();
    if (in_.chance(2)) {
      sched_.mail_drain(c.caller, c.program, some_tags(), c.behavior).ok();
    } else {
      sched_.mail_set_tags(c.caller, c.program, some_tags(), c.behavior).ok();
    }
  }
  void mail_board() {
    Caller c = mail_caller();
    CownId proposed = in_.chance(4) ? CownId{} : any_cown();
    Result<CownId> board =
        sched_.mail_board(c.caller, c.program, proposed, c.behavior);
    if (!board.ok()) return;
    (void)sched_.committed(board.value());
    std::uint64_t request = ++next_request_;
    sched_.lease_snapshot(c.caller, request, board.value());
    receives_.emplace_back(c.caller, request);
  }
  void quiesce() {
    SessionId s = any_session(false);
    sched_.quiesce(s, ++next_request_, in_.below(4));
  }
  // What the status command and the watchdog read.
  void inspect() {
    for (const SessionSummary& s : sched_.sessions()) {
      (void)sched_.pinned_waiting(s.id);
      (void)sched_.accepted(s.id);
      (void)sched_.stored_bytes(s.id);
    }
    (void)sched_.pinned_queues();
    for (const std::string& name : sched_.blob_names()) {
      if (sched_.blob_count(name) == 0) fail("a listed blob has no count");
    }
  }

  // ---- after every step: the host's part, then the checks ----
  void after_step() {
    for (Event& e : sched_.take_events()) on_event(e);
    std::erase_if(running_, [&](const DispatchEvent& d) {
      DispatchView view;
      return !sched_.view(d.behavior, view);
    });
    std::string broken = sched_.check_invariants();
    if (!broken.empty()) fail("invariant: " + broken);
  }
  void on_event(const Event& e) {
    if (const auto* d = std::get_if<DispatchEvent>(&e)) {
      DispatchView view;
      if (!sched_.view(d->behavior, view)) {
        fail("a dispatched behavior cannot be viewed");
      }
      running_.push_back(*d);
    } else if (const auto* b = std::get_if<BlobFreedEvent>(&e)) {
      if (sched_.blob_count(b->name) != 0) fail("a freed blob is counted");
    } else if (const auto* p = std::get_if<PinnedFreedEvent>(&e)) {
      if (sched_.value_of(p->id) != nullptr) fail("a freed pinned cown lives");
    } else if (const auto* s = std::get_if<SpawnWorkerEvent>(&e)) {
      spawn_for_.push_back(s->program);
    } else if (const auto* r = std::get_if<RetireWorkerEvent>(&e)) {
      retire_.push_back(r->worker);
    }
  }

  // Every session closes (workers last, as a daemon stopping would see
  // them go): nothing may be left in flight or open.
  void close_everything() {
    for (Role role : {Role::client, Role::admin, Role::worker}) {
      for (const HostSession& s : sessions_) {
        if (s.role != role) continue;
        sched_.close_session(s.grant.id);
        after_step();
      }
    }
    for (const SessionSummary& s : sched_.sessions()) {
      sched_.close_session(s.id);
      after_step();
    }
    // A closed program's behavior a worker gave back (take_back) waits
    // for a worker that serves any program: the host, stopping, answers
    // the starts it was asked for and says none comes, and it fails.
    for (SessionId program : spawn_for_) {
      sched_.worker_failed(program, "the daemon stops");
    }
    spawn_for_.clear();
    sched_.fail_unserved(0, "the daemon stops");
    after_step();
    if (sched_.session_count() != 0) fail("sessions outlive their close");
    if (sched_.in_flight() != 0 || sched_.live_behaviors() != 0) {
      fail("behaviors outlive every session");
    }
  }

  Input& in_;
  // BOCD_FUZZ_TRACE=1: print each command, to follow a failing input.
  bool trace_ = std::getenv("BOCD_FUZZ_TRACE") != nullptr;
  Scheduler sched_;
  std::vector<HostSession> sessions_;
  std::vector<CownId> cowns_;
  std::vector<DispatchEvent> running_;
  std::vector<SessionId> spawn_for_;
  std::vector<SessionId> retire_;
  std::vector<std::pair<SessionId, std::uint64_t>> receives_;
  struct Lent {
    SessionId holder, program;
    std::uint64_t batch;
  };
  std::vector<Lent> lent_;  // batches a receive brought
  std::uint64_t next_request_ = 0;
  std::int64_t now_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  Input in(data, size);
  Run run(in);
  run.go();
  return 0;
}

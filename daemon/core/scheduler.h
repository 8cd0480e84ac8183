// Scheduler: the whole BOC scheduling state of a daemon, as a pure,
// single-threaded, deterministic state machine (docs/architecture.md,
// The core). Commands in (open/close session, create/hold/drop cown,
// submit, complete, quiesce), events out (dispatch, quiesced). No IO,
// threads, clocks or logging.
//
// Thread: one. The daemon calls it from its io_context thread only.
//
// Ordering contract: submit() enqueues a behavior on every cown of its
// sorted, de-duplicated request set in one step, so behaviors that share a
// cown run in submission order and no set of behaviors can deadlock.
//
// Lifetime contract (docs/protocol.md, Cown lifetime): a cown lives while a
// session holds a handle to it (its creator's owner handle, or one taken by
// hold_cowns), a stored value embeds it (Value::refs), a live behavior's
// payload embeds it (SubmitRequest::refs) or a behavior is queued on it.
// CownTable counts them and frees cascades; cycles leak (see
// cown_table.h).
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "behavior_pool.h"
#include "cown_table.h"
#include "errc.h"
#include "events.h"
#include "flat_index.h"
#include "mailbox.h"
#include "ids.h"
#include "kept_values.h"
#include "terminator.h"
#include "value.h"

namespace bocd::core {

enum class Role : std::uint8_t { client, worker, admin };

struct Limits {
  std::uint32_t max_cowns_per_behavior = 1024;
  // Behaviors in flight per program: past it a submit is refused
  // (too_many_in_flight). Programs learn it at their handshake and hold
  // their submits at half of it until it drops (quiesce with `below`).
  std::uint64_t max_in_flight_per_session = std::uint64_t{1} << 22;
  // Behaviors dispatched to one worker before it completes one. More than
  // one hides the round trip: the next body is already in the worker's
  // socket when it finishes one, and one read brings it several. Workers
  // write each completion as its body ends (client-cpp flush_urgent), so a
  // queued body never delays it; the cost is balance: a long body holds up
  // the ones queued behind it while another worker may be idle.
  std::uint32_t worker_pipeline = 1;  // the daemon passes --worker-pipeline
  // So a worker is sent a behavior while it runs another only while its
  // recent behaviors were short (a moving average of their run times, as
  // the worker reports them, under this many microseconds) and the one it
  // runs now has run for less, by host time (see set_time), and the ones
  // queued there would, at that average, all run within it: the depth
  // (up to worker_pipeline) follows the bodies' length. A worker with no
  // completed behavior yet counts as slow. Negative: always.
  std::int64_t pipeline_below_us = 200;
  // The worker processes the daemon starts for programs (SpawnWorkerEvent)
  // are busy (have a body dispatched) at most this many at once, across
  // every program (bocd serve --workers); 0: no bound. Workers that
  // connect on their own (no program) are not counted.
  std::uint32_t max_busy_workers = 0;
  // Worker processes the daemon keeps for programs, busy or idle, and
  // being started; past it the longest-idle one is retired for a program
  // that needs one. 0: the daemon starts none (only workers that connect
  // on their own serve).
  std::uint32_t max_worker_processes = 0;
  // An executor bridge per program with its own workers (one that runs
  // its behaviors on another engine, such as a cluster): when non-zero,
  // each such program gets one (SpawnWorkerEvent::bridge) on first need,
  // and it is sent up to this many behaviors at once, which it may
  // complete in any order. Not counted in max_busy_workers or
  // max_worker_processes: its places are the engine's. 0: no bridges.
  std::uint32_t bridge_slots = 0;
  // Largest dispatch message (the frame limit), estimated from its values,
  // payload and a fixed allowance per cown. A behavior over it fails with
  // too_large on its result cown instead of being sent.
  std::uint64_t max_dispatch_bytes = std::uint64_t{64} << 20;
  // Where session id-range prefixes come from: the host injects the OS's
  // cryptographic source so cown ids cannot be guessed from others; the
  // core itself has no I/O. Each call gives 64 fresh bits (the prefix is
  // the high 32; 0 and a prefix of an open session are skipped). Unset:
  // a splitmix64 stream from `seed`, which tests pass to replay exactly.
  std::function<std::uint64_t()> random;
  std::uint64_t seed = 1;
  // Bytes of cown values (and the blobs they name) one program may have
  // stored at once (Value::bytes), counting the cowns its workers create;
  // 0: no cap. A new cown that would pass it holds a memory_cap error
  // instead of its value; a completion that would, stores nothing and
  // fails its behavior with memory_cap.
  std::uint64_t max_program_bytes = 0;
  MailLimits mail = {};  // messaging queues per program
  // Values smaller than this (Value::bytes) are not kept by workers
  // (KeptValues): sending a few bytes costs less than keeping track of
  // them on both sides.
  std::uint64_t keep_min_bytes = 1024;
  // Pipelined dispatch (scheduler_chain.cc): a pool behavior whose cowns
  // are each granted to it or held by a behavior dispatched to one worker
  // that keeps values, it being next on that cown, is sent to that worker
  // before they complete, at most this many behind the one it runs. Eight
  // covers a completion's round trip (about 40 us across CPUs) with bodies
  // of 5 us and more; a deeper queue hides nothing more and is what a
  // worker's death or a blocking body takes back or loses. 0: never.
  std::uint32_t chain_depth = 8;
};

// How a session serves or is served by the worker pool.
struct SessionOptions {
  // A worker started for this program (SpawnWorkerEvent): it serves that
  // program only, and is retired when the program closes. 0: it serves
  // every program without workers of its own.
  SessionId bound_to;
  // A program whose pool behaviors run only on workers started for it
  // (its environment needs them: a Python program).
  bool own_workers = false;
  // A worker that is its program's executor bridge (Limits::bridge_slots).
  bool bridge = false;
  // A worker: bytes of cown values it keeps decoded between behaviors
  // (KeptValues); 0: none, every dispatch carries every value.
  std::uint64_t keep_values = 0;
  // It takes send credit and lent messages (Hello.streams); else it gets
  // neither, and every send and receive is answered as before.
  bool streams = false;
};

struct SessionGrant {
  SessionId id;
  // New cown ids of the session are id_base + n, 1 <= n < id_count.
  std::uint64_t id_base = 0;
  std::uint64_t id_count = 0;
};

struct SubmitRequest {
  std::uint64_t tag = 0;
  std::vector<CownId> cowns;   // any order, duplicates allowed
  CownId result;               // 0 for none; else a fresh id of the session
  bool run_on_submitter = false;
  BehaviorId parent;           // 0, or a behavior RUNNING on the submitter
  std::string payload;
  // Cowns the payload embeds (repeats allowed): each is kept alive until
  // the behavior completes or is aborted.
  std::vector<CownId> refs;
  // The shared-memory blobs the payload names (docs/protocol.md,
  // Shared-memory blobs).
  std::vector<std::string> blobs;
  // The payload's code: bytes [code_at, code_at + code_len), named by
  // code_key (code_len 0: none). A worker that keeps values is sent it
  // once (KeptValues).
  std::uint32_t code_at = 0;
  std::uint32_t code_len = 0;
  std::uint64_t code_key = 0;
};

struct CownUpdate {
  CownId id;
  Value value;
};

// What an executor needs to run a behavior. Valid until the next command.
struct DispatchView {
  BehaviorId behavior;
  std::uint64_t tag = 0;
  SessionId session;
  SessionId submitter;
  CownId result;
  std::string_view payload;
  std::vector<std::pair<CownId, const Value*>> cowns;  // sorted, no result
  // To a session that keeps values, per entry of `cowns`: the version it
  // keeps the value under (0: not kept), and whether it holds it already
  // (its bytes are not sent). Empty for any other session.
  std::vector<std::uint64_t> versions;
  std::vector<bool> held;
  // Pipelined (Limits::chain_depth), per entry of `cowns`: the value is
  // the one the behavior before it on the cown leaves on the session
  // (nothing is sent). Empty when it was not pipelined.
  std::vector<bool> inherit;
  // What it drops before running this: these cowns' kept values, or all.
  std::vector<CownId> forget;
  bool forget_all = false;
  // The payload's code: left out (the session keeps it: send payload
  // without bytes [code_at, code_at + code_len)), or to be kept; and the
  // code keys whose code it drops first.
  bool code_held = false;
  bool code_keep = false;
  std::uint32_t code_at = 0;
  std::uint32_t code_len = 0;
  std::vector<std::uint64_t> forget_code;
};

struct SessionSummary {
  SessionId id;
  Role role = Role::client;
  std::int32_t pid = 0;
  std::string program;
  std::uint64_t in_flight = 0;    // its behaviors not yet completed
  // As an executor (a worker, or a program running pinned work or
  // behaviors routed back to it): behaviors dispatched to it and ended,
  // those dispatched and not yet ended, the time it had at least one
  // (microseconds of host time, see set_time), and how many of the
  // dispatched were pinned work, with those still outstanding.
  std::uint64_t ran = 0;
  std::uint32_t running = 0;
  std::uint64_t busy_us = 0;
  std::uint64_t pinned_dispatched = 0;
  std::uint32_t pinned_depth = 0;
  // The moving average of its bodies' run times that pipelining goes by
  // (Limits::pipeline_below_us); -1 before its first.
  std::int64_t mean_run_us = -1;
  // A worker started for one program: that program (Session::bound_to).
  SessionId serves;
  // Bytes of cown values dispatched to it; values dispatched without
  // bytes because it kept them (KeptValues); bytes of the cown values its
  // completions wrote, result cowns not counted.
  std::uint64_t value_bytes_sent = 0;
  std::uint64_t values_held = 0;
  std::uint64_t value_bytes_back = 0;
  // Behaviors dispatched to it without their code, which it kept.
  std::uint64_t codes_held = 0;
};

// A program's pinned work (docs/protocol.md, Pinned cowns): behaviors
// dispatched to it because they hold its pinned cowns, not yet completed.
// `progress` grows each time the count rises from zero and each time one
// of them completes, so a watcher that sees it unchanged knows the owner
// has completed none since: a program that pumps steadily while always
// having one outstanding keeps moving it.
struct PinnedQueue {
  SessionId session;
  std::uint32_t depth = 0;
  std::uint64_t progress = 0;
};

class Scheduler {
 public:
  explicit Scheduler(Limits limits = {});

  // The host's monotonic time in microseconds. The core reads no clock:
  // the host advances this before each command, and it is used only for
  // statistics (SessionSummary::busy_us). Never moves backwards.
  void set_time(std::int64_t now_us) { now_us_ = std::max(now_us_, now_us); }

  SessionGrant open_session(Role role, std::int32_t pid, std::string program,
                            SessionOptions options = {});
  // Cancels the session's queued behaviors, aborts behaviors running on it
  // (their result cowns get an executor_lost error; their cowns keep their
  // committed values), drops its cown handles (owner and held).
  // Idempotent.
  void close_session(SessionId session);

  // Creates a cown owned by `session`, its handle held. Every id in
  // value.refs must name a live cown (else unknown_cown); nothing changes
  // on failure.
  Status create_cown(SessionId session, CownId id, Value value, bool pinned);
  // Takes `session`'s handle on each live cown of `ids`. A session has at
  // most one handle per cown: holding a cown it holds already, or owns
  // with its owner handle, changes nothing. Unknown ids fail with
  // unknown_cown naming them, but the live ones are still held (a batch of
  // first-handle reports must not lose good ids to one stale one).
  Status hold_cowns(SessionId session, const std::vector<CownId>& ids);
  // Drops `session`'s handle on the cown, whichever kind it is; the cown
  // is freed when nothing else refers to it. not_permitted if the session
  // holds none.
  Status drop_cown(SessionId session, CownId id);

  // Accepts a behavior or says why not; nothing changes on failure. One
  // whose request set holds pinned cowns of two programs fails there
  // instead when it names a result cown: that cown is created holding
  // the error (mixed_pinned_owners) and the id returned is 0.
  // `request.payload` is moved from; the rest is left as it was, so a
  // caller may reuse the request's buffers.
  Result<BehaviorId> submit(SessionId submitter, SubmitRequest& request);
  Result<BehaviorId> submit(SessionId submitter, SubmitRequest&& request) {
    return submit(submitter, request);
  }

  // The executor `executor` finished `behavior`: commits `updates` (each
  // must name a cown of its set or its result, and every id in its refs a
  // live cown) and releases its cowns. The new values' refs are counted
  // before the old values' are released, so a value may keep what it
  // embedded. On failure nothing changes and the behavior stays RUNNING.
  // The values of `updates` are moved from. `ran_us`: how long the body
  // ran by the executor's own clock, if it said (Limits::pipeline_below_us).
  // `dropped`: cowns of its set whose kept values the executor dropped
  // (KeptValues; other ids are ignored).
  Status complete(SessionId executor, BehaviorId behavior,
                  std::vector<CownUpdate>& updates,
                  std::optional<std::int64_t> ran_us = std::nullopt,
                  const std::vector<CownId>& dropped = {});
  // Worker `executor` did not run pipelined `behavior`: it lacks a value
  // the dispatch said to inherit (the behavior before it raised, or
  // bounced, or that value names cowns or blobs). When its predecessors
  // have completed it is READY again, at the head of its program's queue,
  // and goes out with every value; else (one bounced too) it is WAITING
  // again. unknown_behavior when it is not running there.
  Status bounce(SessionId executor, BehaviorId behavior);

  // The executor's completion of `behavior` was refused (complete() failed
  // on its updates): ends it without committing anything, its result cown
  // getting `message` as a daemon error; its cowns keep their values and
  // are released, so nothing waits for it forever. False (nothing done) if
  // it is not running on `executor`.
  bool fail_running(SessionId executor, BehaviorId behavior, Errc code,
                    std::string message);

  // Worker `worker`'s body of `behavior` blocks (it waits for a message or
  // a cown) or has run long. The pool behaviors dispatched to it after
  // that one, which it runs in order and so has not started, are taken
  // back: READY again, at the head of the worker queue in their order,
  // for other workers. The worker gets no more until `behavior` ends. It
  // must drop the dispatches of the ids returned (the daemon may send
  // them to it again later). Nothing is taken back when `behavior` is not
  // running there (it has ended: what followed may have started).
  // not_permitted from a session that is not a worker.
  Result<std::vector<BehaviorId>> take_back(SessionId worker,
                                            BehaviorId behavior);

  // Called periodically by the host, with `why` non-empty when it knows no
  // worker is coming (none configured, none starts). Once behaviors have
  // waited for a worker that long (`grace_us` of host time, see set_time)
  // with no worker session open and `why` said at every call, each fails
  // without running: its result cown gets no_workers with `why`, and its
  // submitter hears it (FailedEvent), so nothing waits in silence. Returns
  // how many failed.
  std::size_t fail_unserved(std::int64_t grace_us, const std::string& why);

  // The host could not start a worker it was asked for (SpawnWorkerEvent)
  // for `program`, or it died before connecting: why. The program's work
  // waits for another try (after a growing delay) and, unserved, fails
  // with `why` (fail_unserved).
  void worker_failed(SessionId program, std::string why, bool bridge = false);
  // Retires workers started for programs that have run nothing for
  // `idle_us` of host time (RetireWorkerEvent). Returns how many.
  std::size_t retire_idle_workers(std::int64_t idle_us);
  // Called periodically by the host: asks again (SpawnWorkerEvent::bridge)
  // for the bridge of each program with work waiting whose bridge was lost
  // and whose back-off has passed. Returns how many were asked for.
  std::size_t ask_for_lost_bridges();

  // ---- Messaging (docs/protocol.md, Messaging): a Mailbox per program ----
  // `program` names whose queues: 0 for the caller itself (a client). A
  // worker names the program of the behavior it runs, which must be an
  // open client session. Values are moved from; their cown and blob
  // references are counted while queued and while leased to a receiver.
  // Errors: not_permitted (bad program, an admin), tag_capacity,
  // queue_full, unknown_cown (a ref names no live cown).
  //
  // A worker process must name `behavior`: one of `program`'s, running on
  // a worker session of its own process (not_permitted otherwise).
  //
  // Returns the credit granted to the caller: further sends under `tag`
  // that will be queued unanswered (docs/protocol.md, "Pipelined sends and
  // lent messages"), no more than the queue has room for; only for a
  // value naming no cowns or blobs. A `credited` send that finds the
  // caller holding credit is queued, full or not; otherwise (set_tags
  // dropped the credit) it is an ordinary send. A session that closes
  // takes its unspent credit along.
  Result<std::uint32_t> mail_send(SessionId caller, SessionId program,
                                  const std::string& tag, Value& value,
                                  BehaviorId behavior = {},
                                  bool credited = false);
  // Answers `request` with one MailEvent: at once when a message is queued
  // under one of `tags` (the first such tag wins) or `wait` is false; else
  // when a send brings one, mail_cancel, or the program closes. Every tag
  // is bound first (tag_capacity if one cannot be). A delivered value
  // stays leased to the receiver, keeping its cowns, until mail_release
  // or mail_return. No tags, or a request already parked or leased for
  // the receiver: malformed.
  Status mail_receive(SessionId receiver, SessionId program,
                      std::uint64_t request,
                      const std::vector<std::string>& tags, bool wait,
                      BehaviorId behavior = {});
  // A receive of one tag that delivers may lend the messages after it as
  // batch `request` (MailEvent::lent) to the tag's one receiver, while no
  // batch of that tag is out. Another session's receive under the tag
  // recalls the batch (a MailEvent with `recall`) and stops lending there
  // until set_tags.
  //
  // Gives back the last `count` values of `holder`'s batch `batch` (the
  // rest were received) to the head of their tag. Nothing if there is no
  // such batch (given back already). Batch 0 (none is) drops the credit
  // `holder` has not spent, in every mailbox. With `answer`, `request`
  // gets a MailEvent{got=false}.
  void mail_unlend(SessionId holder, SessionId program, std::uint64_t batch,
                   std::uint32_t count, bool answer, std::uint64_t request);
  // The values of `holder`'s batch `batch` in `program`'s mailbox (0: the
  // holder's own), or nullptr.
  const std::deque<Value>* mail_lent(SessionId program, SessionId holder,
                                     std::uint64_t batch) const;
  // Ends a parked receive with MailEvent{got=false}. Nothing if it is not
  // parked: its MailEvent went out already, and the receiver takes that.
  void mail_cancel(SessionId receiver, std::uint64_t request);
  // The receiver has decoded the value and taken its own handles. When
  // `within` is a live behavior (the receiver's handles are borrowed by
  // its body), the message's references pass to it and go when it ends.
  void mail_release(SessionId receiver, std::uint64_t request,
                    BehaviorId within = {});
  // The receiver could not take the message (it was interrupted): it goes
  // back to the head of its tag's queue, or to a receive parked on it.
  void mail_return(SessionId receiver, std::uint64_t request);
  // The leased value of a delivered receive, or nullptr.
  const Value* mail_lease(SessionId receiver, std::uint64_t request) const;
  // Drops what is queued under `tags` (binding them).
  Status mail_drain(SessionId caller, SessionId program,
                    const std::vector<std::string>& tags,
                    BehaviorId behavior = {});
  // Drops every queued message and binds `tags` (distinct, at most
  // MailLimits::tags) to the first queues. Parked receives keep waiting.
  Status mail_set_tags(SessionId caller, SessionId program,
                       const std::vector<std::string>& tags,
                       BehaviorId behavior = {});
  std::size_t mail_queued(SessionId program) const;
  // The program's noticeboard (docs/python.md, Noticeboard) is a cown its
  // behaviors write in order; the daemon names it to every process of the
  // program and reads its committed value for their snapshots. Sets
  // `proposed` (a live cown) if none is set yet, counting a reference to it
  // until the program closes; returns the board (0: none, when `proposed`
  // is 0).
  Result<CownId> mail_board(SessionId caller, SessionId program,
                            CownId proposed, BehaviorId behavior = {});
  // The board's committed value (nullptr when `board` is 0).
  const Value* committed(CownId board) const;
  // Keeps what a snapshot of `board` names (its cowns and blobs) leased to
  // `receiver` under `request`, until mail_release, as a delivered
  // message is: a reader takes its handles before a later write frees
  // them. Nothing when the value names none (or the request is in use).
  void lease_snapshot(SessionId receiver, std::uint64_t request,
                      CownId board);

  // Emits QuiescedEvent{session, request} when the session's in-flight
  // count is at most `below` (zero: quiescent; at once if it is). From an
  // admin session: the daemon's count, to zero.
  void quiesce(SessionId session, std::uint64_t request,
               std::uint64_t below = 0);

  // Refuses every later submit with shutting_down (daemon stopping).
  void close_terminators();

  // Moves out the events produced since the last call. The second form
  // swaps buffers with `out` (cleared first) so neither side reallocates.
  std::vector<Event> take_events();
  // Blobs still named by a stored value or a live behavior (the host
  // unlinks these when it stops).
  std::vector<std::string> blob_names() const { return cowns_.blobs().names(); }
  // References to blob `name` (0: none).
  std::uint32_t blob_count(const std::string& name) const {
    return cowns_.blobs().count(name);
  }
  void take_events(std::vector<Event>& out);

  bool view(BehaviorId behavior, DispatchView& out) const;

  // ---- inspection (status, tests) ----
  const Value* value_of(CownId id) const;
  // Bytes of the values stored for program `session` (the byte cap's count).
  std::uint64_t stored_bytes(SessionId session) const {
    return cowns_.bytes_of(session);
  }
  std::uint64_t in_flight() const { return all_.count(); }
  std::uint64_t in_flight(SessionId session) const;
  std::uint64_t completed() const { return completed_; }
  // Behaviors accepted so far for `session` (its own and nested ones);
  // for an admin session, daemon-wide. 0 for an unknown session.
  std::uint64_t accepted(SessionId session) const;
  std::size_t cown_count() const { return cowns_.size(); }
  // READY behaviors waiting for a free worker slot.
  std::size_t queued_for_workers() const { return pool_queued_; }
  std::size_t live_behaviors() const { return behaviors_.live(); }
  std::size_t session_count() const { return session_index_.size(); }
  // Behaviors whose request set holds one of `session`'s pinned cowns that
  // have not been dispatched to it yet (waiting for their cowns). A
  // program that sees zero here, after every dispatch sent to it before
  // the answer, holds all of its pinned work that could run now (pump()).
  std::uint32_t pinned_waiting(SessionId session) const;
  // Every open session with pinned work outstanding (for the watchdog).
  std::vector<PinnedQueue> pinned_queues() const;
  std::vector<SessionSummary> sessions() const;
  // Whether open sessions `a` and `b` act for the same program (may_name):
  // sessions of one process, or a worker and the program it serves.
  bool same_program(SessionId a, SessionId b) const;
  // Checks every structural invariant; returns "" or what is broken.
  std::string check_invariants() const;

 private:
  struct Session {
    SessionId id;  // 0 while the slot is free
    Role role = Role::client;
    std::int32_t pid = 0;
    std::string program;
    bool streams = false;  // SessionOptions::streams
    std::uint32_t prefix = 0;
    bool closed = false;
    // The program it names cowns for (may_name): the first open session of
    // its process (a process's sessions act as one program), or for a
    // worker started for a program, that program's.
    SessionId acts_for;
    Terminator terminator;
    std::uint32_t pool_running = 0;  // a worker's behaviors from the pool
    // Those behaviors (slots), in dispatch order: the order it runs them.
    std::deque<std::uint32_t> pool_order;
    // The behavior whose body blocks (take_back), NONE if none: the worker
    // is sent nothing more until it ends.
    std::uint32_t stalled_on = NONE;
    // A behavior could have been pipelined here but for this worker's
    // state (depth, a long or blocking body, ...): pipeline_on looks
    // behind its chain again only then. Every change of that state that
    // could admit one is a completion, bounce or refusal here, each of
    // which calls pipeline_on; a behavior itself is tried whenever it or
    // a predecessor changes (submitted, bounced back to waiting, a
    // predecessor sent to a worker or finished).
    bool chain_refused = false;
    // A worker: the program it was started for (0: none, it serves every
    // program without workers of its own); retiring: asked to go, sent
    // nothing more; since when it has had nothing to run.
    SessionId bound_to;
    bool retiring = false;
    std::int64_t idle_since_us = 0;
    // A program: its READY pool behaviors, oldest first, and whether it is
    // in waiting_programs_; its open workers (not retiring); workers asked
    // for and not connected yet; whether only its own workers may serve
    // it; why its last worker failed to start, when the next may be
    // started, and the delay after another failure; since when its work
    // has gone unserved (fail_unserved), -1 if it has not.
    std::deque<std::uint32_t> pool_queue;
    bool waiting = false;
    std::vector<SessionId> workers;
    std::uint32_t busy = 0;  // of those, running pool work
    std::uint32_t spawning = 0;
    bool own_workers = false;
    std::string worker_problem;
    std::int64_t next_spawn_us = 0;
    std::int64_t spawn_backoff_us = 0;
    std::int64_t unserved_since_us = -1;
    // A bridge (Limits::bridge_slots): its places, 0 for any other
    // session. A program: its bridge (0: none), whether one is starting,
    // when the next may be started and the delay after another loss.
    std::uint32_t slots = 0;
    SessionId bridge;
    bool bridge_spawning = false;
    std::int64_t next_bridge_us = 0;
    std::int64_t bridge_backoff_us = 0;
    std::uint64_t accepted = 0;      // behaviors accepted for this program
    std::uint32_t pinned_running = 0;  // its pinned work (PinnedQueue)
    // Pinned behaviors routed to it and not yet dispatched (pinned_waiting).
    std::uint32_t pinned_waiting = 0;
    std::uint64_t pinned_progress = 0;  // PinnedQueue::progress
    // As an executor (SessionSummary).
    std::uint32_t running = 0;
    std::uint64_t ran = 0;
    std::uint64_t pinned_dispatched = 0;
    std::int64_t busy_since_us = 0;
    std::uint64_t busy_us = 0;
    // When its oldest running behavior started: it runs them one at a
    // time, in dispatch order. And the moving average of their run
    // times, -1 before the first (Limits::pipeline_below_us).
    std::int64_t started_us = 0;
    std::int64_t run_us = -1;
    // The moving average of the time each behavior occupied it by the
    // daemon's clock, from the previous one's completion to its own: the
    // body and the executor's own work around it, -1 before the first.
    // What a queue sent ahead there takes to drain. Only behaviors that
    // were queued there count (`queued_start`): one sent to it idle would
    // count its wake-up too, on a busy host enough to look long.
    std::int64_t cost_us = -1;
    bool queued_start = false;
    // Cowns this session took a handle on with hold_cowns (slot indices:
    // stable while held, since the hold keeps the cown live). Never one
    // it holds an owner handle on.
    std::unordered_set<std::uint32_t> held;
    // The values it keeps decoded (a worker that said so), and the bytes
    // of cown values its completions wrote (SessionSummary).
    KeptValues kept;
    std::uint64_t value_bytes_back = 0;
    // The codes it keeps, by code key (SubmitRequest::code_key, in a
    // CownId's place): a code is kept like a value that never changes.
    KeptValues kept_code;
  };

  // ---- the worker pool (scheduler_pool.cc) ----
  // Whether worker `s`, running one, may be sent another now.
  bool pipelines(const Session& s) const;
  // Program `p` submitted a behavior now (recent_).
  void note_submitter(SessionId p);
  // Whether two programs or more submitted within ACTIVE_WINDOW_US: then
  // work sent ahead is bounded by what it costs its worker, not only by
  // its bodies (pipelines()).
  bool several_active() const;
  // A READY pool behavior joins its program's queue.
  void queue_for_workers(std::uint32_t b);
  // Hands queued pool behaviors to workers, the waiting programs in turn;
  // asks for workers where a program lacks them.
  void dispatch_to_workers();
  // The worker pool behavior `b` is best sent to (0: any): the one that
  // last ran a behavior on its cowns, which keeps their values.
  SessionId preferred_worker(std::uint32_t b) const;
  // A worker for program `p` that may be sent a behavior now, or 0;
  // `prefer` (a worker that holds the behavior's values) when it may.
  SessionId pick_worker(const Session& p, bool may_pipeline,
                        SessionId prefer = {});
  bool may_start_body() const;
  // Whether program `p` already has its share of the busy places while
  // others wait for one.
  bool has_its_share(const Session& p) const;
  void send_to_worker(std::uint32_t b, Session& w);
  // ---- pipelined dispatch (scheduler_chain.cc) ----
  // The worker WAITING behavior `b` may be pipelined onto now (its every
  // predecessor is dispatched there), or nullptr.
  Session* chain_worker(std::uint32_t b);
  // Whether worker `w`'s own state lets a chain follow it there now.
  bool takes_chains(const Session& w) const;
  // Whether worker `w` may run program `p`'s behaviors (pick_worker's
  // pools), and whether a program other than `p` waits for `w` (none: for
  // no worker in particular) or, every place being taken, for any place.
  // The one rule for when work is neither sent ahead nor chained.
  bool serves(const Session& p, SessionId w) const;
  bool others_wait_for(SessionId p, SessionId w) const;
  // Pipelines `b` if it may be, then what waits behind it.
  void try_pipeline(std::uint32_t b);
  // What may be pipelined behind the behaviors dispatched to `w`.
  void pipeline_on(SessionId w);
  // `b`'s completion is not stored: what was pipelined behind it over a
  // value it left must not store its own either (Behavior::tainted).
  void taint_successors(std::uint32_t b, Errc code);
  // The slot of behavior `id` if it is running on `executor` (complete(),
  // bounce()); else unknown_behavior.
  Result<std::uint32_t> running_slot(SessionId executor, BehaviorId id) const;
  // `bh` ends on keeper `w` (its writes stored, or not): what it left
  // there for a pipelined successor is dropped where none was sent
  // (KeptValues::forget_passed), but for the `dropped` ones.
  void passed_on(Session& w, const Behavior& bh,
                 const std::vector<CownId>& dropped);
  // Ends running `b` on `executor` without storing its writes.
  void refuse(std::uint32_t b, Session& executor, Errc code,
              std::string message);

  // Pool behavior `b` left worker `w` (completed or aborted).
  void left_worker(Session& w, std::uint32_t b);
  void ask_for_workers();
  void ask_for_bridge(Session& p);
  // A bridge's program lost it (it died or failed to start): the next
  // waits a growing delay.
  void bridge_lost(Session& p);
  bool retire_longest_idle(SessionId except);
  void retire(Session& w);
  // A session opens or closes: its part in the pool.
  void join_pool(Session& s, const SessionOptions& options);
  void join_as_bridge(Session& s);
  void leave_pool(Session& s);
  Result<std::uint32_t> check_submit(SessionId submitter, Session& s,
                                     const SubmitRequest& r,
                                     SessionId& owner, SessionId& executor,
                                     bool& pinned);
  Status check_new_cown(const Session& s, CownId id) const;
  // Capabilities (docs/protocol.md, Who may name a cown): every cown
  // belongs to one program (Cown::program), a process's sessions being
  // one program. A client names only its program's; a worker started for
  // a program, that program's; a worker serving every program, its own
  // process's and those of the programs whose behaviors it holds now.
  // Values carry only what their writer could name, so a cown a program
  // was handed in a value is one it may name.
  bool may_name(const Session& s, std::uint32_t cown) const;
  // Every id names a live cown `s` may name, else unknown_cown (the same
  // answer for both: not_nameable).
  Status check_refs(const Session& s, const std::vector<CownId>& refs,
                    const char* where) const;
  static Failure not_nameable(CownId id, const char* where);
  // The program whose byte cap a cown made by `session` counts against.
  SessionId payer_of(SessionId session) const;
  // The program whose sessions may name a cown `session` makes now.
  SessionId program_of_new(SessionId session) const;
  // "" when `payer` may store `add` more bytes; else why not.
  std::string over_cap(SessionId payer, std::uint64_t add) const;
  // The same for a completion's updates (their cowns in scratch_).
  std::string over_cap(const std::vector<CownUpdate>& updates) const;
  void release_holds(Session& s);
  std::string check_ref_counts() const;  // part of check_invariants
  std::string check_blob_counts() const;  // part of check_ref_counts
  std::string check_pool() const;        // part of check_invariants
  void enqueue(std::uint32_t b);
  void make_ready(std::uint32_t b);
  void run_ready();
  void dispatch(std::uint32_t b, SessionId to);
  // ---- kept values (scheduler_kept.cc) ----
  // Decides which of `b`'s values `to` holds, for the dispatch (nothing
  // for a session that keeps none).
  void plan_values(std::uint32_t b, Session& to);
  // After complete() stored `updates` (their cowns in scratch_): what
  // the executor keeps now, and what the other keepers must drop.
  void note_written(Session& e, const Behavior& bh,
                    const std::vector<CownUpdate>& updates,
                    const std::vector<CownId>& dropped);
  // `b` ends on `s` without its writes: `s` must drop what it kept of
  // its cowns (the body may have changed them).
  void forget_values(Session& s, const Behavior& bh);
  // `b` ends: its cowns are no longer in use on the session running it.
  void release_values(Session& s, const Behavior& bh);
  std::uint64_t dispatch_bytes(std::uint32_t b) const;
  void abort(std::uint32_t b, Errc code, std::string message);
  void finish(std::uint32_t b,
              std::optional<std::int64_t> ran_us = std::nullopt);
  // Events for what the cown table freed (blobs, pinned cowns).
  void note_freed();
  void leave(SessionId session);
  Session* open_session_ptr(SessionId id);
  // Live sessions, closed or not (a closed one lives until its count is 0).
  Session* find_session(SessionId id);
  const Session* find_session(SessionId id) const;
  void erase_session(Session& s);
  Result<Mailbox*> mailbox_for(SessionId caller, SessionId program,
                               BehaviorId behavior);
  // Leases `value` to receive `request`; its MailEvent says how many of
  // batch `request` were lent with it.
  void lease(SessionId receiver, std::uint64_t request, SessionId program,
             const std::string& tag, Value value, std::uint32_t lent = 0);
  bool parked(SessionId receiver, std::uint64_t request) const;
  // A message for queue `q` of `m` under `tag`: to the oldest receive
  // parked on the tag, else into the queue (at its head when `first`),
  // else (q is NONE) dropped.
  void hand_over(Mailbox& m, int q, const std::string& tag, Value value,
                 bool first);
  void clear_queue(Mailbox& m, int q);
  // mail_receive's lending: another session's batch of these tags is
  // recalled, and the tags' receivers noted.
  void note_receiver(Mailbox& m, SessionId receiver,
                     const std::vector<std::string>& tags,
                     const std::vector<int>& queues);
  // Lends what follows at the head of `q` as batch `request`, when the
  // rules allow; returns how many.
  std::uint32_t lend(Mailbox& m, int q, SessionId receiver,
                     std::uint64_t request);
  // Puts `values` (oldest first) back at the head of `tag`, then serves
  // parked receives.
  void give_back(Mailbox& m, const std::string& tag,
                 std::deque<Value>& values);
  // Answers, oldest first, each parked receive that a batch no longer
  // holds up and that has a message (or is a poll).
  void serve_waiters(Mailbox& m);
  bool is_worker_pid(std::int32_t pid) const;
  void count_value(const Value& v);
  void drop_value(Value& v);
  void close_mail(SessionId session);
  std::uint32_t next_prefix();

  Limits limits_;
  std::uint64_t rng_;
  std::uint64_t next_session_ = 1;
  std::uint64_t completed_ = 0;
  std::uint64_t accepted_ = 0;
  std::int64_t now_us_ = 0;
  CownTable cowns_;
  BehaviorPool behaviors_;
  // Sessions in slots found through a FlatIndex: ids stay small and
  // sequential for people reading logs, lookups stay one probe.
  std::vector<Session> sessions_;
  std::vector<std::uint32_t> free_sessions_;
  FlatIndex session_index_;
  std::unordered_set<std::uint32_t> prefixes_;  // of open sessions
  // Open sessions by pid: the program they act for (the first one's),
  // how many, and a worker among them that serves every program (its
  // process's other sessions act for its programs too: a body waits over
  // a second session). Kept only while one is open, so a reused pid
  // starts afresh.
  struct Process {
    SessionId acts_for;
    std::uint32_t open = 0;
    SessionId shared_worker;
  };
  std::unordered_map<std::int32_t, Process> processes_;
  Terminator all_;                     // daemon-wide count; admin waiters
  // Admin quiesce waiters by terminator token: (session, request).
  std::unordered_map<std::uint64_t, std::pair<SessionId, std::uint64_t>>
      global_waiters_;
  std::uint64_t next_token_ = 1;
  std::vector<std::uint32_t> ready_;   // made READY, not yet routed
  std::int64_t unserved_since_us_ = -1;  // fail_unserved's episode
  // Programs with pool behaviors queued, in the order they are served.
  std::deque<SessionId> waiting_programs_;
  std::size_t pool_queued_ = 0;             // their queues' total
  // The two programs that submitted last (two different ones), and when:
  // the most recent first. Any other program's latest submit is older.
  struct Submitted {
    SessionId program;
    std::int64_t at_us = 0;
  };
  Submitted recent_[2];
  std::vector<SessionId> unbound_workers_;  // open, serving any program
  // Open sessions that keep values (SessionOptions::keep_values).
  std::vector<SessionId> keepers_;
  std::uint32_t busy_workers_ = 0;   // bound workers with pool_running > 0
  std::uint32_t bound_workers_ = 0;  // open bound workers, not retiring
  std::uint32_t spawning_ = 0;       // workers asked for, not connected
  std::vector<Event> events_;
  std::unordered_map<SessionId, Mailbox> mailboxes_;  // by program
  // Delivered messages not yet released, by (receiver, request).
  struct Lease {
    SessionId program;  // whose queue it came from (mail_return)
    std::string tag;
    Value value;
  };
  std::map<std::pair<SessionId, std::uint64_t>, Lease> leases_;
  std::vector<std::uint64_t> fired_;   // scratch for terminator waiters
  std::vector<std::uint32_t> scratch_; // scratch for request-set sorting
};

}  // namespace bocd::core

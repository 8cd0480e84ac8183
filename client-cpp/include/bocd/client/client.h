// bocd::client::Client: a C++ program's session with the bocd daemon.
//
// Cowns hold bytes. A behavior is a request set plus a C++ callable that
// this client runs (on its IO thread, which reads the daemon's frames) once
// the daemon has granted it every cown of the set; the callable may read
// and replace the values, and the daemon commits them when it returns. Submitting never waits for
// a round trip: submissions are pipelined and batched.
//
// Thread safety: every method may be called from any thread. Behavior
// bodies run one at a time on the client's IO thread; a body may
// create cowns and submit behaviors but must not call read(), wait() or
// quiesce() (they would wait for the thread they block): those throw
// std::logic_error there.
//
// Once the connection ends, every call (and every call waiting on the
// daemon) throws ConnectionError saying why: "the bocd daemon at PATH closed
// this session: REASON" when the daemon's last frame was an Error naming no
// request (how it says why it ends a session), else "connection to the
// bocd daemon at PATH lost: WHY".
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "bocd/client/errors.h"

namespace bocd::proto {
struct CownValueRef;
namespace fb {
struct Envelope;
struct Dispatch;
struct Error;
struct Output;
struct MailReply;
struct Recalled;
}  // namespace fb
}  // namespace bocd::proto

namespace bocd::client {

class Channel;

// The daemon socket a client uses when Options::socket is empty:
// $BOCD_SOCKET, else $XDG_RUNTIME_DIR/bocd/bocd.sock, else
// /tmp/bocd-$UID/bocd.sock.
std::string default_socket_path();

// A handle to a cown in the daemon: an id that may be shared with other
// sessions of the same daemon. A cown lives while a session holds a handle
// to it, a stored value or a queued behavior's payload embeds it (its id
// listed in Value::refs or submit's refs), or a behavior is queued on it
// (docs/protocol.md, Cown lifetime).
struct CownRef {
  std::uint64_t id = 0;
  friend bool operator==(CownRef a, CownRef b) { return a.id == b.id; }
};

struct Value {
  std::string data;
  // The program-level "holds a raised exception" flag.
  bool exception = false;
  // Set when the daemon wrote this value (data is then its message): e.g.
  // executor_lost when the process running the behavior died.
  Errc error = Errc::none;
  // Ids of the cowns whose handles `data` embeds: each stays alive while
  // this value is stored. Every id must name a live cown when the value is
  // sent, else the daemon refuses it with unknown_cown.
  std::vector<std::uint64_t> refs = {};
  // Shared-memory blobs `data` refers to (blob.h): the daemon unlinks each
  // once no stored value names it. Set by the writer; not sent back in
  // dispatches (the bytes name them).
  std::vector<std::string> blobs = {};
};

// What a behavior body sees: the values of its cowns, indexed as they were
// given to submit() (a cown given twice is one value seen twice).
class Access {
 public:
  std::size_t size() const { return param_.size(); }
  const Value& get(std::size_t i) const { return (*slots_)[param_[i]]; }
  // Replaces or edits the value; it is committed when the body returns.
  // Writing clears the exception flag and keeps the value's refs (they
  // came with it): set_refs() when the new bytes embed other cowns.
  std::string& mut(std::size_t i);
  // Sets cown i's "holds a raised exception" flag in its new value.
  void set_exception(std::size_t i, bool exception);
  // Replaces the refs of the value (committed like mut()).
  void set_refs(std::size_t i, std::vector<std::uint64_t> refs);
  // Sets the blobs the new value of cown i names (committed like mut()).
  void set_blobs(std::size_t i, std::vector<std::string> blobs);
  // Sets the result cown's value (when the behavior has one), with the
  // ids of the cowns its bytes embed.
  void set_result(std::string data, bool exception = false,
                  std::vector<std::uint64_t> refs = {},
                  std::vector<std::string> blobs = {});
  bool has_result() const { return result_ != nullptr; }
  // Worker behaviors: the payload given to submit_to_workers(), and the
  // ids of the cowns (sorted, each once) that get(i) and mut(i) index.
  std::string_view payload() const { return payload_; }
  CownRef cown(std::size_t i) const { return CownRef{(*ids_)[param_[i]]}; }
  // The daemon's id for the running behavior and the program session it
  // belongs to (for nested submissions from a worker).
  std::uint64_t behavior() const { return behavior_; }
  std::uint64_t session() const { return session_; }
  // Keeps the cowns granted after the body returns: nothing is committed
  // or released until Client::release() names behavior().
  void defer() { deferred_ = true; }

  // A worker that keeps values (Options::keep_values). version(i): the
  // version it keeps cown i's value under after the body (0: not kept).
  // held(i): it holds that version already, so get(i) is empty and the
  // body uses the object it kept. Before reading any value, it drops the
  // kept values of forget() (every one when forget_all()).
  std::uint64_t version(std::size_t i) const {
    return versions_->empty() ? 0 : (*versions_)[param_[i]];
  }
  bool held(std::size_t i) const {
    return !held_->empty() && (*held_)[param_[i]];
  }
  std::span<const std::uint64_t> forget() const { return forget_; }
  bool forget_all() const { return forget_all_; }
  // Pipelined (docs/protocol.md, Pipelined dispatch): get(i) is empty and
  // the body uses the value the behavior before it on cown i left on this
  // worker, which ran it just before. A body that has no such value calls
  // bounce() and runs nothing: the daemon sends the behavior again with
  // every value (proto Complete.bounced).
  bool inherit(std::size_t i) const {
    return !inherit_->empty() && (*inherit_)[param_[i]];
  }
  void bounce() { bounced_ = true; }
  // The payload's code (CodePart): code_held(), it was left out of
  // payload() (the worker keeps it); code_keep(), the worker keeps the
  // code it was sent. Before either, it drops the codes of forget_code().
  bool code_held() const { return code_held_; }
  bool code_keep() const { return code_keep_; }
  std::span<const std::uint64_t> forget_code() const { return forget_code_; }
  // The body dropped what it kept of cown i (it may be half-changed, say
  // by a body that raised): sent with the completion (proto
  // Complete.dropped).
  void dropped(std::size_t i);

 private:
  friend class Client;
  bool deferred_ = false;
  bool bounced_ = false;
  std::string_view payload_;
  const std::vector<std::uint64_t>* ids_ = nullptr;
  std::uint64_t behavior_ = 0;
  std::uint64_t session_ = 0;
  std::vector<Value>* slots_ = nullptr;
  std::vector<bool>* dirty_ = nullptr;
  std::vector<std::uint32_t> param_;
  Value* result_ = nullptr;
  const std::vector<std::uint64_t>* versions_ = nullptr;
  const std::vector<bool>* held_ = nullptr;
  const std::vector<bool>* inherit_ = nullptr;
  std::span<const std::uint64_t> forget_;
  bool forget_all_ = false;
  bool code_held_ = false;
  bool code_keep_ = false;
  std::span<const std::uint64_t> forget_code_;
  std::vector<std::uint64_t>* dropped_ = nullptr;
};

using Body = std::function<void(Access&)>;

// A payload's code part (proto Submit.code_at, code_len, code_key): bytes
// [at, at + len) of the payload, named by `key`. A worker that keeps
// values is sent that code once; later dispatches leave it out
// (Access::code_held). len 0: the payload names no code.
struct CodePart {
  std::uint32_t at = 0;
  std::uint32_t len = 0;
  std::uint64_t key = 0;
};

// What a message sent on one connection must wait for on another
// (Client::mail_barrier): `frames` frames handled for session `session`,
// the Hello included, whichever of its transports they came by.
struct MailBarrier {
  std::uint64_t session = 0;
  std::uint64_t frames = 0;
};

// A cown held from outside any behavior (see Client::acquire).
struct Lease {
  std::uint64_t behavior = 0;  // the daemon's id for the holding request
  CownRef cown;
  Value value;
  // Granted to a Take request (acquire_begin): `value` was taken out and
  // the cown released already; there is nothing to release().
  bool taken = false;
};

// For acquire_begin(): a holder that only takes the value out. A granted
// value that is plain (no daemon error, no embedded cowns, and its bytes
// start with `plain_prefix`) is replaced by `empty` and the cown released
// at once, from the IO thread, so the cown's next behavior does not wait
// for the taker to wake up and release it. Any other value is held as an
// acquire holds it. The caller knows which values need no more than
// their bytes (the prefix of its own plain encoding).
struct Take {
  std::string empty;
  std::string plain_prefix;
};

// What a program's pool behaviors need of their workers (proto
// Environment): the daemon starts workers for that program alone, running
// `python` with `sys_path` in `cwd`. The Python client fills it in.
struct Environment {
  std::string python;
  std::string version;
  std::string code_mark;  // bytes: the interpreter's bytecode mark
  std::vector<std::string> sys_path;
  std::string cwd;
  std::string bocd_path;  // the directory its bocd package is imported from
};

struct Options {
  std::string socket;   // empty: proto::default_socket_path()
  std::string program = "bocd-cpp-client";
  // Behaviors submitted and not yet run; submit() blocks past this.
  std::size_t window = 1u << 16;
  // Set to serve as one of the daemon's worker processes (role worker):
  // every behavior the daemon dispatches here that this client did not
  // submit itself is run by `worker`, which reads the payload and the
  // cowns through Access.
  Body worker;
  // Receives what behaviors of this program wrote to stdout (stream 1) or
  // stderr (stream 2) in a worker process, on the IO thread. Empty: it is
  // written to this process's file descriptor 1 or 2.
  std::function<void(int stream, std::string_view data)> on_output;
  // Called on the IO thread when a result cown of this program's is freed
  // still holding an exception whose flag nobody cleared (proto
  // Unhandled): the cown and what it held (data empty when the value named
  // cowns or blobs). Empty: nothing is done.
  std::function<void(CownRef cown, const Value& value)> on_unhandled;
  // A program with an environment gets workers of its own (a Python
  // program); without one its pool behaviors go to the daemon's default
  // workers.
  std::optional<Environment> environment;
  // Worker role: the token the daemon gave a worker it started, naming
  // the program it serves. Empty: $BOCD_WORKER_TOKEN, if set; else the
  // worker serves every program without workers of its own.
  std::string worker_token;
  // Worker role: bytes of cown values (their stored size) this worker
  // keeps decoded between behaviors (proto Hello.keep_values); the daemon
  // then leaves out of a dispatch the bytes of a value it holds (see
  // Access::held). 0: it keeps none.
  std::uint64_t keep_values = 0;
  // Worker role: a body that has run this long is reported as blocking()
  // (zero: never); checked on a tick of this length, so reported after
  // between one and two of it.
  std::chrono::milliseconds stall_after{1};
  // The uid of a daemon trusted besides this process's own (a system
  // service's: root, or its service user). Empty: $BOCD_DAEMON_UID (a uid
  // or a user name), if set. The client refuses any other daemon, and a
  // socket directory owned by anyone else or writable by others, with
  // UntrustedDaemonError, before it sends anything.
  std::optional<uid_t> daemon_uid;
};

class Client {
 public:
  // Connects and handshakes. Throws ConnectionError or Error.
  explicit Client(Options options = {});
  // Disconnects; the daemon cancels this session's queued behaviors.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Pipelined like submit(): later calls of this client see the cown, but
  // another session may name its id only after a round trip (wait(),
  // quiesce() or read()) has shown the daemon has it. `refs`: the cowns
  // `value` embeds (see Value::refs).
  // `blobs`: the shared-memory blobs it names (Value::blobs). Values too
  // large for one frame throw Error(too_large) here, and nothing is sent.
  CownRef create(std::string value, std::span<const std::uint64_t> refs = {},
                 std::span<const std::string> blobs = {});
  // Takes this session's handle on each cown of `ids` that exists (one
  // per cown however often held; none added for one it created).
  // Pipelined; unknown ids are reported as errors by wait().
  void hold(std::span<const std::uint64_t> ids);
  // Gives up this session's handle (created or held); the cown is freed
  // once nothing refers to it.
  void drop(CownRef cown);
  // As drop() for each id, in one locked pass (a batch of dead handles).
  void drop(std::span<const std::uint64_t> ids);

  void submit(std::span<const CownRef> cowns, Body body);
  void submit(std::initializer_list<CownRef> cowns, Body body) {
    submit(std::span<const CownRef>(cowns.begin(), cowns.size()),
           std::move(body));
  }
  // As submit(), and returns the behavior's result cown, which is part of
  // its request set: behaviors on it run after this one. A body that throws
  // leaves what() there with the exception flag set.
  CownRef submit_with_result(std::span<const CownRef> cowns, Body body);
  CownRef submit_with_result(std::initializer_list<CownRef> cowns, Body body) {
    return submit_with_result(
        std::span<const CownRef>(cowns.begin(), cowns.size()), std::move(body));
  }

  // Submits a behavior for the daemon's worker pool: a worker process
  // runs it, interpreting `payload`. From outside any behavior body, it
  // first waits for room when this program has, by its own count, half
  // the daemon's limit of behaviors in flight (see needs_room()). With `with_result`, returns its
  // result cown (ordered after it); else CownRef{}. Not counted in the
  // window: the daemon's in-flight limit bounds these. `parent` is the
  // behavior() of the running worker behavior that schedules this one, or
  // 0 from outside any behavior. `refs`: the cowns `payload` embeds, kept
  // alive until the behavior completes. The result cown's handle is this
  // session's, even for a nested behavior.
  CownRef submit_to_workers(std::span<const CownRef> cowns,
                            std::string_view payload, bool with_result,
                            std::uint64_t parent = 0,
                            std::span<const std::uint64_t> refs = {},
                            std::span<const std::string> blobs = {},
                            const CodePart& code = {});

  // Back-pressure. The daemon refuses a program's submits past its limit
  // of behaviors in flight (Welcome); a program holds them at half of it:
  // needs_room() says it should (its own count of what it submitted since
  // it last heard from the daemon), and make_room() waits up to `timeout`
  // (negative: no bound) until the daemon says it is down to a quarter.
  // False on timeout (call again: the request stays open).
  bool needs_room() const;
  bool make_room(std::chrono::milliseconds timeout);

  // The value of `cown` once every behavior submitted on it before this
  // call has run (an ordered request, not a peek).
  Value read(CownRef cown);

  // An ordered request for one cown: waits for every behavior submitted on
  // it before this call, then holds it (later ones wait) until release().
  // From outside any behavior, or from a pinned body on the thread running
  // run_pinned() (it deadlocks if the cown is queued behind this program's
  // own pinned work: nobody else can run that); never from a body on the
  // IO thread (std::logic_error).
  Lease acquire(CownRef cown);
  // acquire() in steps, so a caller can wait in slices (to see Ctrl-C) and
  // run its pinned work meanwhile: acquire_begin() sends the request and
  // returns its number; acquire_wait() waits up to `timeout` (negative:
  // without bound) for the grant, which it moves to `out`. With
  // `or_pinned`, it returns `pinned` as soon as pinned work is queued
  // here. Throws Error if the daemon refused the request (an unknown
  // cown), ConnectionError once the connection is lost. Both from the
  // threads acquire() allows.
  // With `take`, a plain value is taken (Take, Lease::taken); a request
  // cancelled after its value was taken puts the value back.
  enum class Acquired { granted, pinned, timeout };
  std::uint64_t acquire_begin(CownRef cown,
                              std::optional<Take> take = std::nullopt);
  Acquired acquire_wait(std::uint64_t request, std::chrono::milliseconds timeout,
                        Lease& out, bool or_pinned = false);
  // Gives up request `request` (an interrupted wait): a grant already made
  // or made later is released at once, the value unchanged.
  void acquire_cancel(std::uint64_t request);
  // Ends a hold: commits `update` as the cown's value, its refs included
  // (unchanged when null), and hands the cown to its next behavior.
  void release(const Lease& lease, const Value* update);

  // Worker role: forwards what the running behavior wrote to `stream`
  // (1 or 2) to its program session (Access::session()).
  void output(std::uint64_t session, int stream, std::string_view data);

  // Blocks until this session has no behavior in flight. Throws the first
  // Error the daemon reported for an earlier pipelined call, if any.
  void wait();
  // As wait(), bounded: false on timeout (nothing is cancelled).
  bool quiesce(std::chrono::milliseconds timeout);

  // ---- Pinned work (docs/protocol.md, Pinned cowns) --------------------
  // A behavior whose request set holds a pinned cown runs in that cown's
  // owner program. One this client has no body for (a payload behavior, as
  // the Python client submits) waits in its pinned queue until the
  // program's main thread takes it with run_pinned(). wait() and quiesce()
  // do not run it: a program with pinned cowns uses wait_or_pinned().

  // A cown whose value stays in this program: the daemon stores nothing
  // for it and routes every behavior on it here. Pipelined as create().
  CownRef create_pinned();
  // Runs the oldest queued pinned behavior on the calling thread with
  // `body` (its Access as a worker's: cowns as dispatched) and sends its
  // completion; false when none is queued. Never blocks on the daemon.
  // Not from a behavior body (nor may its `body` call wait(), quiesce(),
  // read(), acquire() or run_pinned(): std::logic_error, as from any
  // body); one thread at a time (else Error(not_permitted)). Throws
  // ConnectionError once the connection is lost: queued pinned behaviors
  // are dropped then (the daemon has failed them).
  bool run_pinned(const Body& body);
  // Pinned behaviors queued and not yet taken by run_pinned().
  std::size_t pinned_depth() const;
  // This program's pinned cowns the daemon has freed since the last call
  // (nothing can name them any more): their values may go.
  std::vector<std::uint64_t> take_freed_pinned();
  // How long the pinned queue has been non-empty without a drain; zero
  // when empty. `episode` counts the times it became non-empty.
  std::chrono::steady_clock::duration pinned_age(
      std::uint64_t* episode = nullptr) const;
  // Whether pinned work of this program may be on its way here, so that
  // sync_pinned() is needed to see it: since the last answered sync, this
  // client submitted a behavior holding one of its pinned cowns, or the
  // daemon then still held some pinned work waiting for its cowns (a
  // pinned completion or a release may have let it in).
  bool pinned_sync_needed() const;
  // Asks the daemon for every pinned dispatch it owes this program. On
  // true, each pinned behavior that was ready when the daemon read the
  // request is in the pinned queue. Waits up to `timeout` (negative:
  // without bound); false on timeout, the request left open (the next
  // call waits for the same answer). Not from a behavior body. Throws
  // ConnectionError once the connection is lost.
  bool sync_pinned(std::chrono::milliseconds timeout);
  enum class Waited { quiesced, pinned, timeout };
  // As quiesce(), returning `pinned` as soon as pinned work is queued (the
  // caller runs it and waits again). A negative timeout waits without
  // bound.
  Waited wait_or_pinned(std::chrono::milliseconds timeout);

  // ---- Messaging (docs/protocol.md, Messaging) --------------------------
  // A program's tagged queues live in the daemon, shared by every process
  // of the program. `program` is 0 for this session's own queues. A worker
  // process names the program of the behavior it runs (Access::session())
  // and that `behavior` (Access::behavior()), from a second Client it
  // opened for messaging, because its bodies run on the first one's
  // IO thread, which these calls would block. Each call throws Error
  // as the daemon refuses (tag_capacity, queue_full, not_permitted,
  // malformed) and ConnectionError once the connection is lost. Not from a
  // body on this client's IO thread (std::logic_error); a pinned
  // body may.
  struct Mail {
    bool got = false;  // false: nothing came (a poll, a cancel)
    std::string tag;
    Value value;
    std::uint64_t request = 0;
    std::uint64_t cown = 0;  // mail_board: the board
  };
  // `after`: from mail_barrier() of the worker's first Client, when the
  // value may name cowns its running body created.
  using Barrier = MailBarrier;
  void mail_send(std::uint64_t program, const std::string& tag,
                 const Value& value, Barrier after = {},
                 std::uint64_t behavior = 0);
  // Worker role, from a body: writes out everything queued here and
  // returns what a mail_send on another connection must wait for.
  Barrier mail_barrier();
  // Asks for the first message under one of `tags` (the first tag that
  // has one); with `wait`, the daemon answers when one comes. Returns the
  // request for mail_wait: `request` if given (from mail_request()).
  std::uint64_t mail_receive(std::uint64_t program,
                             const std::vector<std::string>& tags, bool wait,
                             std::uint64_t behavior = 0,
                             std::uint64_t request = 0);
  // A request number for mail_receive, asking nothing yet. A caller that
  // can be interrupted between mail_receive's return and taking its
  // result (Python, on a signal) holds the number first, so it can still
  // end the receive (mail_cancel; mail_wait throws if none was sent).
  std::uint64_t mail_request();
  // The answer to receive `request`, waiting up to `timeout` (negative:
  // without bound): nullopt if none yet (wait again, or mail_cancel). The
  // answer is kept (a second call returns it again) until mail_release or
  // mail_return ends the request: a caller interrupted between the two
  // still finds it.
  std::optional<Mail> mail_wait(std::uint64_t request,
                                std::chrono::milliseconds timeout);
  // Ends a parked receive; the next mail_wait(request) returns its answer
  // at once: a message that came first, or got = false.
  void mail_cancel(std::uint64_t request);
  // Ends receive `request`. A message's value keeps its cowns alive in the
  // daemon until this, sent after the caller has taken its own handles
  // (hold(), on this client). `behavior`: a behavior running here whose
  // handles are borrowed (a worker's or pinned body): the cowns are then
  // kept until it completes.
  void mail_release(std::uint64_t request, std::uint64_t behavior);
  // Ends receive `request` without taking its message: it goes back to
  // the head of its tag's queue.
  void mail_return(std::uint64_t request);
  void mail_drain(std::uint64_t program, const std::vector<std::string>& tags,
                  std::uint64_t behavior = 0);
  void mail_set_tags(std::uint64_t program,
                     const std::vector<std::string>& tags,
                     std::uint64_t behavior = 0);
  // The program's noticeboard cown (docs/python.md, Noticeboard), setting
  // `proposed` if none is set (0: only ask): `cown` names it (0: none yet)
  // and, when `got`, `value` is its committed value (a snapshot).
  Mail mail_board(std::uint64_t program, std::uint64_t proposed,
                  Barrier after = {}, std::uint64_t behavior = 0);
  // A mail_board reply's cowns are leased to this session as a received
  // message's are: release them (Mail::request) once handles are taken.
  void mail_release_snapshot(std::uint64_t request, std::uint64_t behavior);
  // Gives back to the daemon every message it lent this session that was
  // not received yet, and returns once the daemon has them and has
  // handled every send made here (a worker process's messaging session,
  // when a body ends: whoever sees the behavior complete then finds them
  // queued, and no send of the body arrives after it ended). Nothing to
  // do: returns at once.
  void mail_settle();
  // The next message the daemon lent this session under (program, tag),
  // taken with no round trip and no lease to end (a lent value names no
  // cowns or blobs), or nullopt: then receive as usual.
  std::optional<Value> mail_take_lent(std::uint64_t program,
                                      const std::string& tag);
  // Keys a noticeboard holds on this daemon (bocd serve --max-notice-keys).
  std::uint32_t notice_keys() const;

  // Blocks until the daemon closes this session (a worker process's main
  // loop: bodies run on the IO thread meanwhile). Returns why.
  std::string serve_until_closed();

  // Worker role: the running body of `behavior` is about to wait (for a
  // message, a cown) and may wait long. Tells the daemon (once per
  // behavior), which gives the behaviors it pipelined here after this one
  // to other workers (proto Blocked). A body that runs long without
  // saying so is reported the same way by the client's own watchdog
  // thread after Options::stall_after. Any thread; no-op for a program.
  void blocking(std::uint64_t behavior);

  std::uint64_t session() const;
  // How this session's frames travel after the handshake: "ring" (the
  // shared-memory rings the daemon handed over) or "socket" (asked for
  // with BOCD_TRANSPORT=socket, or a daemon serving with --ring-bytes 0).
  std::string_view transport() const;
  // What this session's blob names start with (Blob::create), as the
  // daemon gave it: "bocd-<daemon instance>-<session>-". The daemon
  // refuses names of other daemons and of other sessions it does not
  // hold, and removes blobs of this prefix it was never told about when
  // the session ends. "" from a daemon too old to say.
  const std::string& blob_prefix() const;
  // Behaviors the daemon had accepted for this session (its own and the
  // nested ones its behaviors scheduled) at the last wait()/quiesce().
  std::uint64_t behaviors_accepted() const;
  // Errors reported for pipelined calls and not yet thrown by wait().
  std::vector<Error> take_errors();

  // ---- Executor bridge (worker role; docs/cluster.md) ----
  // A bridge runs a dispatched body elsewhere: its body calls
  // Access::defer() and returns; what the body did there is replayed
  // through these, from any thread, and complete_deferred() ends it.
  //
  // Takes `n` consecutive fresh cown ids of this session's range and
  // returns the first (Error cown_out_of_range when too few are left).
  std::uint64_t reserve_ids(std::size_t n);
  // create() under an id from reserve_ids().
  void create_reserved(std::uint64_t id, std::string_view value,
                       std::span<const std::uint64_t> refs = {},
                       std::span<const std::string> blobs = {});
  // submit_to_workers() on behalf of the deferred behavior `parent`, with
  // `result` as its result cown (an id from reserve_ids(), or 0: none).
  void submit_reserved(std::span<const std::uint64_t> cowns,
                       std::string_view payload, std::uint64_t result,
                       std::uint64_t parent,
                       std::span<const std::uint64_t> refs = {},
                       std::span<const std::string> blobs = {});
  // Ends deferred behavior `behavior`: commits `updates` (cowns of its
  // set) and `result` (dropped when it has no result cown) and releases
  // its cowns. logic_error if `behavior` is not a deferred one of ours.
  void complete_deferred(std::uint64_t behavior,
                         std::span<const std::pair<std::uint64_t, Value>> updates,
                         const Value& result);

 private:
  struct Pending {
    std::vector<std::uint64_t> cowns;
    Body body;
    std::uint64_t result = 0;
  };

  void send_submit(std::span<const CownRef> cowns, Body body,
                   std::uint64_t result);
  // What loading a dispatch and sending its completion work in (the IO
  // thread's, or a pinned run's on the main thread).
  struct Scratch {
    std::vector<proto::CownValueRef> updates;
    std::vector<std::uint64_t> ids;
    std::vector<Value> slots;
    std::vector<bool> dirty;
    // Kept values (Access::version, held, forget, dropped).
    std::vector<std::uint64_t> versions;
    std::vector<bool> held;
    std::vector<bool> inherit;
    std::vector<std::uint64_t> forget;
    std::vector<std::uint64_t> forget_code;
    std::vector<std::uint64_t> dropped;
  };

  void on_frame(const proto::fb::Envelope& envelope,
                std::span<const std::uint8_t> body);
  void run_dispatch(const proto::fb::Dispatch& dispatch);
  Pending take_pending(const proto::fb::Dispatch& dispatch);
  Access load_values(const proto::fb::Dispatch& dispatch, const Pending& p,
                     Scratch& scratch);
  // `run_ns`: how long the body ran (0: not measured), for the daemon's
  // pipelining (proto Complete.run_ns).
  void send_completion(const proto::fb::Dispatch& dispatch, Value& result,
                       Scratch& scratch, std::uint64_t run_ns = 0);
  void on_error(const proto::fb::Error& error);
  void on_mail_reply(const proto::fb::MailReply& reply);
  void on_synced(std::uint64_t request, std::uint32_t pinned_waiting);
  // Sends a Mail op that is answered, and waits for the answer.
  Mail mail_call(std::uint64_t program, int kind,
                 const std::vector<std::string>& tags, const Value* value,
                 Barrier after, std::uint64_t behavior,
                 std::uint64_t cown = 0);
  // Ends receive `request` here, sending `kind` (Release or Return) if a
  // message came for it.
  void end_receive(std::uint64_t request, int kind, std::uint64_t behavior);
  void on_output(const proto::fb::Output& output);
  void on_closed(const std::string& why);
  void check_usable_locked() const;
  // Waits on cv_ (holding `lock` on mu_) until `woken`; a negative
  // `timeout` waits without bound. False when it timed out first.
  template <class Pred>
  bool wait_locked(std::unique_lock<std::mutex>& lock,
                   std::chrono::milliseconds timeout, Pred woken) {
    if (timeout.count() >= 0) return cv_.wait_for(lock, timeout, woken);
    cv_.wait(lock, woken);
    return true;
  }
  std::uint64_t next_cown_id_locked();
  static std::uint64_t update_bytes(
      const std::vector<proto::CownValueRef>& updates);
  void not_from_executor(const char* what) const;
  void not_on_io_thread() const;
  [[noreturn]] void throw_dropped_reason();
  void check_fits(const char* what, std::size_t bytes, std::size_t refs,
                  std::size_t blobs) const;
  // Waits for the session's quiescence (until `deadline` when `bounded`);
  // with `or_pinned`, returns `pinned` as soon as pinned work is queued.
  Waited wait_quiesced(std::chrono::steady_clock::time_point deadline,
                       bool bounded, bool or_pinned);
  bool queue_pinned(const proto::fb::Dispatch& d,
                    std::span<const std::uint8_t> body);
  void call_body(const Body& body, const proto::fb::Dispatch& d, Access& a,
                 Value& result);

  std::unique_ptr<Channel> channel_;
  std::size_t window_;
  Body worker_;
  std::function<void(int, std::string_view)> on_output_;
  std::function<void(CownRef, const Value&)> on_unhandled_;
  std::uint64_t next_id_ = 1;  // cown ids: id_base + n

  mutable std::mutex mu_;
  // Deferred worker behaviors (Access::defer) -> their result cowns.
  std::unordered_map<std::uint64_t, std::uint64_t> deferred_results_;
  std::condition_variable cv_;
  std::unordered_map<std::uint64_t, Pending> pending_;  // by tag
  int window_waiters_ = 0;  // submitters blocked on a full window
  std::uint64_t next_tag_ = 1;
  std::uint64_t next_request_ = 1;
  std::unordered_map<std::uint64_t, bool> quiesce_done_;  // by request
  // The request a wait_or_pinned() left open, and next_tag_ then.
  std::uint64_t open_quiesce_ = 0;
  std::uint64_t open_quiesce_tag_ = 0;
  static constexpr std::size_t MAX_ERRORS = 1024;
  std::vector<Error> errors_;
  std::uint64_t accepted_ = 0;  // from the last Quiesced
  // Back-pressure: at most how many of this program's behaviors are in
  // flight, by its own count (pool submits since the last room answer,
  // added to what that answer allowed); the open room request, if any.
  std::atomic<std::uint64_t> in_flight_bound_{0};
  std::uint64_t room_request_ = 0;  // guarded by mu_
  bool room_answered_ = false;      // guarded by mu_
  // Non-empty once the connection is lost: why, as every call then
  // throws it (ConnectionError).
  std::string broken_;
  // IO thread only. The message of the daemon's closing Error
  // (Error.closing): a daemon that ends a session on purpose sends its
  // reason so, as its last frame, and then the connection's end is
  // reported with it (broken_), not as the socket's end-of-file.
  std::optional<std::string> close_reason_;

  // Pinned dispatches (whole frames) for run_pinned, oldest first.
  std::deque<std::vector<std::uint8_t>> pinned_;
  std::vector<std::uint64_t> freed_pinned_;  // for take_freed_pinned
  std::chrono::steady_clock::time_point pinned_since_;
  std::uint64_t pinned_episode_ = 0;
  // This program's live pinned cowns (create_pinned, until PinnedFreed):
  // a submit naming one may bring pinned work back (pinned_sync_needed).
  std::unordered_set<std::uint64_t> own_pinned_;
  bool pinned_submitted_ = false;  // since the last Sync was sent
  std::uint32_t pinned_waiting_ = 0;  // from the last Synced
  std::uint64_t sync_request_ = 0;    // the open Sync, 0 if none
  bool sync_answered_ = false;
  // The thread inside run_pinned, if any (read lock-free by
  // not_from_executor, which refuses blocking calls from its bodies).
  std::atomic<std::thread::id> pinned_thread_{};

  // ---- Worker role: taking back pipelined work (client_worker.cc) ----
  // Dispatches read after a Blocked was sent and before its Recalled:
  // none may start until the answer says which were taken back.
  void on_recalled(const proto::fb::Recalled& m);
  bool hold_dispatch(std::span<const std::uint8_t> body);
  void run_held();
  void watch_stalls();
  std::uint64_t blocked_sent_ = 0;      // guarded by mu_
  std::uint64_t awaiting_recall_ = 0;   // guarded by mu_
  std::deque<std::vector<std::uint8_t>> held_;  // guarded by mu_
  // The behavior whose body runs on the IO thread (0: none) and a count of
  // bodies started, read by the watchdog: relaxed, it only needs to see
  // eventually that the same body is still running.
  std::atomic<std::uint64_t> running_behavior_{0};
  std::atomic<std::uint64_t> bodies_started_{0};
  std::atomic<bool> watchdog_parked_{false};
  std::chrono::milliseconds stall_after_;
  bool stopping_ = false;               // guarded by mu_
  std::condition_variable watchdog_cv_;
  std::thread watchdog_;

  // acquire_begin() requests not yet taken by acquire_wait(), by number.
  struct AcquireSlot;
  struct AcquireGuard;  // the body's: tells the waiter it was dropped unrun
  std::unordered_map<std::uint64_t, std::shared_ptr<AcquireSlot>> acquires_;
  void on_granted(const std::shared_ptr<AcquireSlot>& slot, Access& a);
  // A Take request's grant: takes a plain value (true) or leaves it for
  // on_granted (false).
  bool on_take(const std::shared_ptr<AcquireSlot>& slot, Access& a,
               const Take& take);
  void not_on_this_io_thread(const char* what) const;

  // Mail requests awaiting their MailReply (or Error), by request.
  struct MailSlot {
    bool done = false;
    Mail mail;
    std::optional<Error> error;
    std::uint32_t credit = 0;   // a Send's
    // A receive of one tag: where a lent batch it brings belongs.
    std::uint64_t program = 0;
    std::string lend_tag;
    std::uint64_t local = 0;    // taken from lent batch `local`: no lease
  };
  std::unordered_map<std::uint64_t, MailSlot> mail_;
  struct MailAhead;
  std::unique_ptr<MailAhead> ahead_;  // guarded by mu_
  // An Unlend to send: of batch `batch` under (program, tag), the last
  // `count` messages go back.
  struct MailGiveBack {
    std::uint64_t program = 0;
    std::string tag;
    std::uint64_t batch = 0;
    std::uint32_t count = 0;
  };
  // Sends them, in order; with `wait`, the last is answered and this
  // returns once it is (ConnectionError if the connection goes).
  void send_give_backs(const std::vector<MailGiveBack>& give_backs,
                       bool wait);
  void raise_late_locked();
  // Takes the next lent message of (program, tag) into the result, its
  // batch into `batch`; a batch it empties goes into `back`.
  std::optional<Value> take_lent_locked(std::uint64_t program,
                                        const std::string& tag,
                                        std::uint64_t& batch,
                                        std::vector<MailGiveBack>& back);

  Scratch scratch_;  // the IO thread's
};

}  // namespace bocd::client

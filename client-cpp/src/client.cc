#include "bocd/client/client.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <future>

#include "bocd/proto/socket_path.h"
#include "channel.h"
#include "mail_ahead.h"

namespace bocd::client {

namespace fb = proto::fb;

std::string default_socket_path() { return proto::default_socket_path(); }

std::string& Access::mut(std::size_t i) {
  std::uint32_t slot = param_[i];
  (*dirty_)[slot] = true;
  Value& v = (*slots_)[slot];
  v.exception = false;
  v.error = Errc::none;
  return v.data;
}

void Access::dropped(std::size_t i) {
  if (dropped_ != nullptr) dropped_->push_back((*ids_)[param_[i]]);
}

void Access::set_exception(std::size_t i, bool exception) {
  std::uint32_t slot = param_[i];
  (*dirty_)[slot] = true;
  (*slots_)[slot].exception = exception;
}

void Access::set_refs(std::size_t i, std::vector<std::uint64_t> refs) {
  std::uint32_t slot = param_[i];
  (*dirty_)[slot] = true;
  (*slots_)[slot].refs = std::move(refs);
}

void Access::set_blobs(std::size_t i, std::vector<std::string> blobs) {
  std::uint32_t slot = param_[i];
  (*dirty_)[slot] = true;
  (*slots_)[slot].blobs = std::move(blobs);
}

void Access::set_result(std::string data, bool exception,
                        std::vector<std::uint64_t> refs,
                        std::vector<std::string> blobs) {
  if (result_ == nullptr) {
    throw std::logic_error("set_result: behavior has no result cown");
  }
  result_->data = std::move(data);
  result_->exception = exception;
  result_->refs = std::move(refs);
  result_->blobs = std::move(blobs);
}

Client::Client(Options options)
    : window_(options.window),
      worker_(std::move(options.worker)),
      on_output_(std::move(options.on_output)),
      on_unhandled_(std::move(options.on_unhandled)),
      stall_after_(options.stall_after),
      ahead_(std::make_unique<MailAhead>()) {
  pending_.reserve(window_ + 1);
  ChannelOptions channel;
  channel.path = options.socket.empty() ? proto::default_socket_path()
                                        : options.socket;
  channel.role = worker_ ? fb::Role::Worker : fb::Role::Client;
  channel.program = options.program;
  proto::Encoder::HelloExtras& extras = channel.extras;
  if (options.environment) {
    const Environment& e = *options.environment;
    extras.has_env = true;
    extras.python = e.python;
    extras.python_version = e.version;
    extras.code_mark = e.code_mark;
    extras.sys_path = e.sys_path;
    extras.cwd = e.cwd;
    extras.bocd_path = e.bocd_path;
  }
  extras.token = options.worker_token;
  if (extras.token.empty() && worker_) {
    const char* from_env = std::getenv("BOCD_WORKER_TOKEN");
    if (from_env != nullptr) extras.token = from_env;
  }
  if (worker_) extras.keep_values = options.keep_values;
  extras.streams = true;  // client_mail.cc spends credit, takes lent ones
  channel.daemon_uid =
      options.daemon_uid ? options.daemon_uid : daemon_uid_from_env();
  channel.caller_writes = static_cast<bool>(worker_);  // see mail_barrier()
  channel.ring = rings_from_env();
  channel_ = open_channel(channel);
  channel_->start([this](const fb::Envelope& e,
                          std::span<const std::uint8_t> body) {
                   on_frame(e, body);
                 },
                  [this](const std::string& why) { on_closed(why); });
  if (worker_ && stall_after_.count() > 0) {
    watchdog_ = std::thread([this] { watch_stalls(); });
  }
}

Client::~Client() {
  if (watchdog_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    watchdog_cv_.notify_all();
    watchdog_.join();
  }
  channel_->close();
}

std::uint64_t Client::session() const { return channel_->welcome().session; }

std::string_view Client::transport() const {
  return channel_->welcome().ring_bytes != 0 ? "ring" : "socket";
}

const std::string& Client::blob_prefix() const {
  return channel_->welcome().blob_prefix;
}

std::uint64_t Client::behaviors_accepted() const {
  std::lock_guard<std::mutex> lock(mu_);
  return accepted_;
}

void Client::check_usable_locked() const {
  if (!broken_.empty()) throw ConnectionError(broken_);
}

std::uint64_t Client::next_cown_id_locked() {
  if (next_id_ >= channel_->welcome().id_count) {
    throw Error(Errc::cown_out_of_range,
                "this session has used all " +
                    std::to_string(channel_->welcome().id_count) +
                    " of its cown ids; open another Client");
  }
  return channel_->welcome().id_base + next_id_++;
}

void Client::not_from_executor(const char* what) const {
  if (channel_->on_io_thread() ||
      pinned_thread_.load(std::memory_order_relaxed) ==
          std::this_thread::get_id()) {
    throw std::logic_error(std::string(what) +
                           " called from a behavior body would deadlock");
  }
}

CownRef Client::create(std::string value,
                       std::span<const std::uint64_t> refs,
                       std::span<const std::string> blobs) {
  check_fits("a new cown's value", value.size(), refs.size(), blobs.size());
  std::uint64_t id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    check_usable_locked();
    id = next_cown_id_locked();
  }
  channel_->send([&](proto::Encoder& enc) {
    enc.create_cown(id, proto::ValueRef{value, false, {}, refs, blobs},
                    false);
  });
  return CownRef{id};
}

CownRef Client::create_pinned() {
  std::uint64_t id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    check_usable_locked();
    id = next_cown_id_locked();
    own_pinned_.insert(id);
  }
  channel_->send([&](proto::Encoder& enc) {
    enc.create_cown(id, proto::ValueRef{{}, false, {}, {}, {}}, true);
  });
  return CownRef{id};
}

void Client::hold(std::span<const std::uint64_t> ids) {
  channel_->send([&](proto::Encoder& enc) { enc.hold_cown(ids); });
}

void Client::drop(CownRef cown) {
  channel_->send([&](proto::Encoder& enc) { enc.drop_cown(cown.id); });
}

void Client::drop(std::span<const std::uint64_t> ids) {
  channel_->send([&](proto::Encoder& enc) {
    for (std::uint64_t id : ids) enc.drop_cown(id);
  });
}

void Client::submit(std::span<const CownRef> cowns, Body body) {
  send_submit(cowns, std::move(body), 0);
}

CownRef Client::submit_with_result(std::span<const CownRef> cowns, Body body) {
  std::uint64_t id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    check_usable_locked();
    id = next_cown_id_locked();
  }
  send_submit(cowns, std::move(body), id);
  return CownRef{id};
}

void Client::send_submit(std::span<const CownRef> cowns, Body body,
                         std::uint64_t result) {
  Pending p{{}, std::move(body), result};
  p.cowns.reserve(cowns.size());
  for (CownRef c : cowns) p.cowns.push_back(c.id);
  std::uint64_t tag;
  {
    std::unique_lock<std::mutex> lock(mu_);
    // Back-pressure, except on the executor thread, which must never wait
    // for itself.
    if (!channel_->on_io_thread() && pending_.size() >= window_) {
      ++window_waiters_;
      cv_.wait(lock, [&] {
        return pending_.size() <= window_ / 2 || !broken_.empty();
      });
      --window_waiters_;
    }
    check_usable_locked();
    tag = next_tag_++;
    // Encoded under mu_ so tags reach the daemon in the order taken.
    channel_->send([&](proto::Encoder& enc) {
      enc.submit(tag, p.cowns, result, fb::Executor::Submitter, 0, {});
    });
    pending_.emplace(tag, std::move(p));
  }
}

CownRef Client::submit_to_workers(std::span<const CownRef> cowns,
                                  std::string_view payload, bool with_result,
                                  std::uint64_t parent,
                                  std::span<const std::uint64_t> refs,
                                  std::span<const std::string> blobs,
                                  const CodePart& code) {
  check_fits("a behavior's payload", payload.size() + 8 * cowns.size(),
             refs.size(), blobs.size());
  std::vector<std::uint64_t> ids;
  ids.reserve(cowns.size());
  for (CownRef c : cowns) ids.push_back(c.id);
  if (parent == 0) {
    // Never on a thread that runs bodies: they end what it waits for.
    if (needs_room() && !channel_->on_io_thread() &&
        pinned_thread_.load(std::memory_order_relaxed) !=
            std::this_thread::get_id()) {
      make_room(std::chrono::milliseconds(-1));
    }
    in_flight_bound_.fetch_add(1, std::memory_order_relaxed);
  }
  std::lock_guard<std::mutex> lock(mu_);
  check_usable_locked();
  std::uint64_t result = with_result ? next_cown_id_locked() : 0;
  std::uint64_t tag = next_tag_++;
  if (!own_pinned_.empty() && !pinned_submitted_) {
    pinned_submitted_ = std::any_of(ids.begin(), ids.end(), [&](auto id) {
      return own_pinned_.count(id) != 0;
    });
  }
  channel_->send([&](proto::Encoder& enc) {
    enc.submit(tag, ids, result, fb::Executor::Workers, parent, payload,
               refs, blobs, proto::CodePart{code.at, code.len, code.key});
  });
  return CownRef{result};
}

void Client::on_frame(const fb::Envelope& env,
                      std::span<const std::uint8_t> body) {
  const fb::Error* error = env.message_as_Error();
  if (error != nullptr && error->closing()) {
    close_reason_ = error->message() ? error->message()->str() : "";
  }
  switch (env.message_type()) {
    case fb::Message::Dispatch: {
      const fb::Dispatch& d = *env.message_as_Dispatch();
      if (worker_ ? hold_dispatch(body) : queue_pinned(d, body)) return;
      return run_dispatch(d);
    }
    case fb::Message::Recalled:
      return on_recalled(*env.message_as_Recalled());
    case fb::Message::Unhandled: {
      const fb::Unhandled* u = env.message_as_Unhandled();
      if (!on_unhandled_ || u->value() == nullptr) return;
      const fb::Value& v = *u->value();
      Value value;
      if (v.data()) value.data.assign(v.data()->begin(), v.data()->end());
      value.exception = v.exception();
      value.error = static_cast<Errc>(v.error());
      return on_unhandled_(CownRef{u->cown()}, value);
    }
    case fb::Message::Quiesced: {
      std::lock_guard<std::mutex> lock(mu_);
      const fb::Quiesced* q = env.message_as_Quiesced();
      auto it = quiesce_done_.find(q->request());
      if (it != quiesce_done_.end()) it->second = true;
      if (q->request() == room_request_) {
        room_answered_ = true;
        in_flight_bound_.store(channel_->welcome().max_in_flight / 4,
                               std::memory_order_relaxed);
      }
      accepted_ = std::max(accepted_, q->behaviors());
      cv_.notify_all();
      return;
    }
    case fb::Message::Error:
      return on_error(*env.message_as_Error());
    case fb::Message::PinnedFreed: {
      const auto* ids = env.message_as_PinnedFreed()->ids();
      if (ids == nullptr) return;
      std::lock_guard<std::mutex> lock(mu_);
      freed_pinned_.insert(freed_pinned_.end(), ids->begin(), ids->end());
      for (std::uint64_t id : *ids) own_pinned_.erase(id);
      return;
    }
    case fb::Message::Synced: {
      const fb::Synced* m = env.message_as_Synced();
      return on_synced(m->request(), m->pinned_waiting());
    }
    case fb::Message::Output:
      return on_output(*env.message_as_Output());
    case fb::Message::MailReply:
      return on_mail_reply(*env.message_as_MailReply());
    default:
      return;
  }
}

// A program (not a worker) is sent another session's behavior, or one of
// its own without a body here, only because its request set holds one of
// this program's pinned cowns: it waits for the main thread (run_pinned).
bool Client::queue_pinned(const fb::Dispatch& d,
                          std::span<const std::uint8_t> body) {
  bool ours = d.own();
  if (ours) {
    std::lock_guard<std::mutex> lock(mu_);
    ours = pending_.find(d.tag()) != pending_.end();
  }
  if (ours) return false;
  std::vector<std::uint8_t> frame(body.begin(), body.end());
  std::lock_guard<std::mutex> lock(mu_);
  if (pinned_.empty()) {
    pinned_since_ = std::chrono::steady_clock::now();
    ++pinned_episode_;
  }
  pinned_.push_back(std::move(frame));
  cv_.notify_all();
  return true;
}

// Runs `body` (if any) over `a`; what it throws becomes `result`, the
// value of the behavior's result cown, with the exception flag set.
void Client::call_body(const Body& body, const fb::Dispatch& d, Access& a,
                       Value& result) {
  if (d.result() != 0) a.result_ = &result;
  if (!body) return;
  try {
    body(a);
  } catch (const std::exception& e) {
    result = Value{e.what(), true, Errc::none};
  } catch (...) {
    result = Value{"unknown exception", true, Errc::none};
  }
}

// Runs one dispatched behavior on the executor thread, in four phases.
void Client::run_dispatch(const fb::Dispatch& d) {
  Pending p = take_pending(d);
  Access a = load_values(d, p, scratch_);
  Value result;
  auto start = std::chrono::steady_clock::now();
  if (worker_) {  // for the watchdog (watch_stalls)
    running_behavior_.store(d.behavior(), std::memory_order_relaxed);
    // seq_cst with watchdog_parked_: the watchdog, parking, sets it and
    // then reads this count; either it sees this body or we see it parked.
    bodies_started_.fetch_add(1);
    if (watchdog_parked_.load()) {
      { std::lock_guard<std::mutex> lock(mu_); }  // it is waiting, or sees us
      watchdog_cv_.notify_one();
    }
  }
  call_body(p.body ? p.body : worker_, d, a, result);
  if (worker_) running_behavior_.store(0, std::memory_order_relaxed);
  if (a.deferred_) {  // completed later by release() or complete_deferred()
    if (worker_) {
      std::lock_guard<std::mutex> lock(mu_);
      deferred_results_[d.behavior()] = d.result();
      cv_.notify_all();  // complete_deferred() may be waiting for it
    }
    return;
  }
  if (a.bounced_) {  // it ran nothing: the daemon sends it again
    channel_->send_batched([&](proto::Encoder& enc) {
      enc.complete(d.behavior(), {}, 0, {}, true);
    });
    channel_->flush_urgent();
    return;
  }
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::steady_clock::now() - start).count();
  send_completion(d, result, scratch_,
                  std::max<std::uint64_t>(1, static_cast<std::uint64_t>(ns)));
  // A worker has more behaviors queued behind this one (the daemon's
  // worker pipeline); its completion must not wait for them.
  if (!d.own()) channel_->flush_urgent();
}

Client::Pending Client::take_pending(const fb::Dispatch& d) {
  Pending p;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = d.own() ? pending_.find(d.tag()) : pending_.end();
  if (it != pending_.end()) {
    p = std::move(it->second);
    pending_.erase(it);
  }
  // Submitters blocked on the window wake at half of it, not per
  // behavior: a wake-up is a system call.
  if (window_waiters_ > 0 && pending_.size() <= window_ / 2) cv_.notify_all();
  return p;
}

Access Client::load_values(const fb::Dispatch& d, const Pending& p,
                           Scratch& scratch) {
  // Values arrive sorted by id, each cown once; map parameters onto them.
  std::size_t n = d.cowns() ? d.cowns()->size() : 0;
  std::vector<Value>& slots_ = scratch.slots;
  std::vector<std::uint64_t>& ids_ = scratch.ids;
  slots_.resize(n);
  scratch.dirty.assign(n, false);
  ids_.resize(n);
  scratch.versions.clear();
  scratch.held.clear();
  scratch.inherit.clear();
  scratch.dropped.clear();
  scratch.forget.clear();
  if (d.forget() != nullptr) {
    scratch.forget.assign(d.forget()->begin(), d.forget()->end());
  }
  scratch.forget_code.clear();
  if (d.forget_code() != nullptr) {
    scratch.forget_code.assign(d.forget_code()->begin(),
                               d.forget_code()->end());
  }
  Access a;
  a.slots_ = &slots_;
  a.dirty_ = &scratch.dirty;
  a.ids_ = &ids_;
  a.versions_ = &scratch.versions;
  a.held_ = &scratch.held;
  a.inherit_ = &scratch.inherit;
  a.forget_ = scratch.forget;
  a.forget_all_ = d.forget_all();
  a.code_held_ = d.code_held();
  a.code_keep_ = d.code_keep();
  a.forget_code_ = scratch.forget_code;
  a.dropped_ = &scratch.dropped;
  a.behavior_ = d.behavior();
  a.session_ = d.session();
  if (d.payload() != nullptr) {
    a.payload_ = {reinterpret_cast<const char*>(d.payload()->data()),
                  d.payload()->size()};
  }
  for (std::size_t i = 0; i < n; ++i) {
    const fb::CownValue* cv = d.cowns()->Get(i);
    ids_[i] = cv->id();
    if (cv->version() != 0 || cv->held()) {  // a worker that keeps values
      scratch.versions.resize(n, 0);
      scratch.held.resize(n, false);
      scratch.versions[i] = cv->version();
      scratch.held[i] = cv->held();
    }
    if (cv->inherit()) {
      scratch.inherit.resize(n, false);
      scratch.inherit[i] = true;
    }
    const fb::Value* v = cv->held() || cv->inherit() ? nullptr : cv->value();
    Value& s = slots_[i];
    s.data.clear();
    s.exception = v && v->exception();
    s.error = v ? static_cast<Errc>(v->error()) : Errc::none;
    if (v && v->data()) s.data.assign(v->data()->begin(), v->data()->end());
    s.refs.clear();
    if (v && v->refs()) s.refs.assign(v->refs()->begin(), v->refs()->end());
  }
  if (p.body) {
    for (std::uint64_t id : p.cowns) {
      std::uint32_t k = 0;
      while (k < n && ids_[k] != id) ++k;
      a.param_.push_back(k);
    }
  } else {
    // A worker behavior from another program: its cowns as dispatched.
    for (std::uint32_t k = 0; k < n; ++k) a.param_.push_back(k);
  }
  return a;
}

void Client::send_completion(const fb::Dispatch& d, Value& result,
                             Scratch& scratch, std::uint64_t run_ns) {
  std::vector<proto::CownValueRef>& updates = scratch.updates;
  updates.clear();
  for (std::size_t i = 0; i < scratch.slots.size(); ++i) {
    if (!scratch.dirty[i]) continue;
    const Value& v = scratch.slots[i];
    updates.push_back({scratch.ids[i], proto::ValueRef{v.data, v.exception,
                                                       {}, v.refs, v.blobs}});
  }
  if (d.result() != 0) {
    updates.push_back({d.result(), proto::ValueRef{result.data,
                                                   result.exception, {},
                                                   result.refs,
                                                   result.blobs}});
  }
  std::uint64_t bytes = update_bytes(updates);
  if (bytes > channel_->welcome().max_frame) {
    std::string why = "behavior's new values (" + std::to_string(bytes) +
                      " bytes) exceed the daemon's frame limit of " +
                      std::to_string(channel_->welcome().max_frame) +
                      "; nothing was committed";
    updates.clear();
    if (d.result() != 0) {
      result = Value{why, true, Errc::too_large};
      updates.push_back({d.result(), proto::ValueRef{result.data, true}});
    } else {
      std::lock_guard<std::mutex> lock(mu_);
      errors_.emplace_back(Errc::too_large, why);
    }
  }
  const std::vector<std::uint64_t>& dropped = scratch.dropped;
  if (channel_->on_io_thread()) {
    channel_->send_batched([&](proto::Encoder& enc) {
      enc.complete(d.behavior(), updates, run_ns, dropped);
    });
  } else {  // a pinned run: the cowns' next behaviors wait for this frame
    channel_->send_urgent([&](proto::Encoder& enc) {
      enc.complete(d.behavior(), updates, run_ns, dropped);
    });
  }
}

void Client::check_fits(const char* what, std::size_t bytes,
                        std::size_t refs, std::size_t blobs) const {
  // The daemon closes a session that sends an oversized frame; refuse it
  // here instead, with the same allowance the daemon uses.
  std::uint64_t n = 256 + bytes + 8 * refs + 64 * blobs;
  if (n > channel_->welcome().max_frame) {
    throw Error(Errc::too_large,
                std::string(what) + " of " + std::to_string(bytes) +
                    " bytes exceeds the daemon's frame limit of " +
                    std::to_string(channel_->welcome().max_frame) +
                    " bytes; nothing was sent");
  }
}

std::uint64_t Client::update_bytes(
    const std::vector<proto::CownValueRef>& updates) {
  // The same generous framing allowance the daemon uses for dispatches.
  std::uint64_t n = 256;
  for (const auto& u : updates) {
    n += 64 + u.value.data.size() + 8 * u.value.refs.size() +
         64 * u.value.blobs.size();
  }
  return n;
}

void Client::on_output(const fb::Output& o) {
  if (o.data() == nullptr) return;
  std::string_view data(reinterpret_cast<const char*>(o.data()->data()),
                        o.data()->size());
  int stream = o.stream() == 2 ? 2 : 1;
  if (on_output_) return on_output_(stream, data);
  while (!data.empty()) {
    ssize_t n = ::write(stream, data.data(), data.size());
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return;  // a closed stdout loses the text, as a print would
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

void Client::output(std::uint64_t session, int stream, std::string_view data) {
  channel_->send([&](proto::Encoder& enc) {
    enc.output(session, static_cast<std::uint8_t>(stream), data);
  });
}

void Client::on_error(const fb::Error& e) {
  Pending dropped;  // destroyed unlocked: may break a read()'s promise
  std::lock_guard<std::mutex> lock(mu_);
  if (e.request() & MailAhead::CREDITED) {  // a send nobody waits on
    if (!ahead_->late) {
      ahead_->late.emplace(static_cast<Errc>(e.code()),
                           e.message() ? e.message()->str() : "daemon error");
    }
    return;
  }
  if (e.request() != 0) {
    auto mail = mail_.find(e.request());
    if (mail != mail_.end()) {  // a messaging call's refusal: it throws
      mail->second.done = true;
      mail->second.error.emplace(
          static_cast<Errc>(e.code()),
          e.message() ? e.message()->str() : "daemon error");
      cv_.notify_all();
      return;
    }
  }
  // Kept for wait() to throw, oldest first; a session that never waits (a
  // worker) must not grow without bound, so only the latest are kept.
  if (errors_.size() >= MAX_ERRORS) errors_.erase(errors_.begin());
  errors_.emplace_back(static_cast<Errc>(e.code()),
                       e.message() ? e.message()->str() : "daemon error");
  auto it = pending_.find(e.tag());
  if (e.tag() != 0 && it != pending_.end()) {
    dropped = std::move(it->second);
    pending_.erase(it);
  }
  cv_.notify_all();
}

void Client::on_closed(const std::string& why) {
  std::unordered_map<std::uint64_t, Pending> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    broken_ = close_reason_ ? "the bocd daemon at " + channel_->path() +
                                  " closed this session: " + *close_reason_
                            : why;
    dropped.swap(pending_);
    pinned_.clear();  // the daemon has failed them; none may run now
    held_.clear();
    cv_.notify_all();
  }
}

Value Client::read(CownRef cown) {
  not_from_executor("Client::read");
  auto promise = std::make_shared<std::promise<Value>>();
  auto future = promise->get_future();
  // The body owns the only reference: if it is dropped unrun, the promise
  // breaks and get() below wakes.
  submit({cown}, [promise = std::move(promise)](Access& a) {
    promise->set_value(a.get(0));
  });
  channel_->flush_urgent();
  try {
    return future.get();
  } catch (const std::future_error&) {
    throw_dropped_reason();
  }
}

void Client::throw_dropped_reason() {
  // The body was dropped unrun: refused by the daemon, or the connection
  // was lost. Either left its reason behind.
  std::lock_guard<std::mutex> lock(mu_);
  check_usable_locked();
  if (errors_.empty()) throw Error(Errc::none, "request dropped");
  Error e = errors_.back();
  errors_.pop_back();
  throw e;
}

Client::Waited Client::wait_quiesced(
    std::chrono::steady_clock::time_point deadline, bool bounded,
    bool or_pinned) {
  std::uint64_t request;
  bool send = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    check_usable_locked();
    if (or_pinned && !pinned_.empty()) return Waited::pinned;
    // A pumping wait comes back every poll: it reuses the request it left
    // open while nothing was submitted since (next_tag_ counts Submits),
    // rather than leave the daemon one more waiter each time.
    if (or_pinned && open_quiesce_ != 0 && open_quiesce_tag_ == next_tag_) {
      request = open_quiesce_;
      send = false;
    } else {
      request = next_request_++;
      quiesce_done_[request] = false;
    }
    open_quiesce_ = 0;
  }
  if (send) {
    channel_->send_urgent([&](proto::Encoder& enc) { enc.quiesce(request); });
  }
  std::unique_lock<std::mutex> lock(mu_);
  auto woken = [&] {
    return quiesce_done_[request] || (or_pinned && !pinned_.empty()) ||
           !broken_.empty();
  };
  bool ok = bounded ? cv_.wait_until(lock, deadline, woken)
                    : (cv_.wait(lock, woken), true);
  bool quiesced = quiesce_done_[request];
  if (or_pinned && !quiesced) {
    open_quiesce_ = request;
    open_quiesce_tag_ = next_tag_;
  } else {
    quiesce_done_.erase(request);  // a late Quiesced for it is ignored
  }
  check_usable_locked();
  if (!quiesced) return ok ? Waited::pinned : Waited::timeout;
  if (!errors_.empty()) {
    Error e = errors_.front();
    errors_.erase(errors_.begin());
    throw e;
  }
  return Waited::quiesced;
}

void Client::wait() {
  not_from_executor("Client::wait");
  wait_quiesced({}, false, false);
}

bool Client::quiesce(std::chrono::milliseconds timeout) {
  not_from_executor("Client::quiesce");
  return wait_quiesced(std::chrono::steady_clock::now() + timeout, true,
                       false) == Waited::quiesced;
}

bool Client::run_pinned(const Body& body) {
  not_from_executor("Client::run_pinned");  // includes a pinned body
  std::vector<std::uint8_t> frame;
  {
    std::lock_guard<std::mutex> lock(mu_);
    check_usable_locked();
    if (pinned_thread_.load(std::memory_order_relaxed) != std::thread::id{}) {
      throw Error(Errc::not_permitted,
                  "Client::run_pinned is running on another thread");
    }
    if (pinned_.empty()) return false;
    frame = std::move(pinned_.front());
    pinned_.pop_front();
    pinned_thread_.store(std::this_thread::get_id(),
                         std::memory_order_relaxed);
  }
  struct Done {
    Client* c;
    ~Done() {
      std::lock_guard<std::mutex> lock(c->mu_);
      c->pinned_thread_.store(std::thread::id{}, std::memory_order_relaxed);
    }
  } done{this};
  // Verified when it arrived; the copy is aligned as the frame was.
  const fb::Dispatch& d =
      *flatbuffers::GetRoot<fb::Envelope>(frame.data())->message_as_Dispatch();
  Scratch scratch;
  Access a = load_values(d, Pending{}, scratch);
  Value result;
  call_body(body, d, a, result);
  if (!a.deferred_) send_completion(d, result, scratch);  // else release()
  return true;
}

std::vector<std::uint64_t> Client::take_freed_pinned() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::uint64_t> out;
  out.swap(freed_pinned_);
  return out;
}

std::size_t Client::pinned_depth() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pinned_.size();
}

std::chrono::steady_clock::duration Client::pinned_age(
    std::uint64_t* episode) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (episode != nullptr) *episode = pinned_episode_;
  if (pinned_.empty()) return {};
  return std::chrono::steady_clock::now() - pinned_since_;
}

bool Client::needs_room() const {
  std::uint64_t limit = channel_->welcome().max_in_flight;
  return limit != 0 &&
         in_flight_bound_.load(std::memory_order_relaxed) >= limit / 2;
}

bool Client::make_room(std::chrono::milliseconds timeout) {
  std::uint64_t request = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    check_usable_locked();
    if (room_request_ == 0) {
      request = room_request_ = next_request_++;
      room_answered_ = false;
    }
  }
  std::uint64_t below = channel_->welcome().max_in_flight / 4;
  if (request != 0) {
    channel_->send_urgent(
        [&](proto::Encoder& enc) { enc.quiesce(request, below); });
  }
  std::unique_lock<std::mutex> lock(mu_);
  if (!wait_locked(lock, timeout,
                   [&] { return room_answered_ || !broken_.empty(); })) {
    return false;
  }
  check_usable_locked();
  room_request_ = 0;
  return true;
}

bool Client::pinned_sync_needed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pinned_submitted_ || pinned_waiting_ > 0 || sync_request_ != 0;
}

bool Client::sync_pinned(std::chrono::milliseconds timeout) {
  not_from_executor("Client::sync_pinned");
  std::uint64_t request = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    check_usable_locked();
    if (sync_request_ == 0) {
      request = sync_request_ = next_request_++;
      sync_answered_ = false;
      // A submit from here on is encoded after the Sync: it needs another.
      pinned_submitted_ = false;
    }
  }
  if (request != 0) {
    channel_->send_urgent([&](proto::Encoder& enc) { enc.sync(request); });
  }
  std::unique_lock<std::mutex> lock(mu_);
  if (!wait_locked(lock, timeout,
                   [&] { return sync_answered_ || !broken_.empty(); })) {
    return false;
  }
  check_usable_locked();
  sync_request_ = 0;
  return true;
}

void Client::on_synced(std::uint64_t request, std::uint32_t pinned_waiting) {
  std::lock_guard<std::mutex> lock(mu_);
  if (request != sync_request_) return;  // not ours: ignored
  sync_answered_ = true;
  pinned_waiting_ = pinned_waiting;
  cv_.notify_all();
}

Client::Waited Client::wait_or_pinned(std::chrono::milliseconds timeout) {
  not_from_executor("Client::wait_or_pinned");
  bool bounded = timeout.count() >= 0;
  return wait_quiesced(std::chrono::steady_clock::now() +
                           (bounded ? timeout : std::chrono::milliseconds(0)),
                       bounded, true);
}

std::string Client::serve_until_closed() {
  not_from_executor("Client::serve_until_closed");
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !broken_.empty(); });
  return broken_;
}

std::vector<Error> Client::take_errors() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Error> out;
  out.swap(errors_);
  return out;
}

}  // namespace bocd::client

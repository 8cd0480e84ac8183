#include "dispatcher.h"

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>

#include "bocd/proto/blob_name.h"
#include "error_map.h"
#include "wire_values.h"
#include "shm/blobs.h"
#include "shm/sweep.h"
#include "log.h"

namespace bocd::server {

namespace fb = proto::fb;
using core::Errc;

namespace {

core::Role to_core(fb::Role r) {
  switch (r) {
    case fb::Role::Worker: return core::Role::worker;
    case fb::Role::Admin: return core::Role::admin;
    default: return core::Role::client;
  }
}

fb::Role to_wire(core::Role r) {
  switch (r) {
    case core::Role::worker: return fb::Role::Worker;
    case core::Role::admin: return fb::Role::Admin;
    default: return fb::Role::Client;
  }
}

const char* role_name(core::Role r) {
  switch (r) {
    case core::Role::worker: return "worker";
    case core::Role::admin: return "admin";
    default: return "client";
  }
}

// The tag or request number a refusal of `env` must echo.
std::pair<std::uint64_t, std::uint64_t> reply_ids(const fb::Envelope& env) {
  switch (env.message_type()) {
    case fb::Message::Submit: return {env.message_as_Submit()->tag(), 0};
    case fb::Message::Quiesce: return {0, env.message_as_Quiesce()->request()};
    case fb::Message::Sync: return {0, env.message_as_Sync()->request()};
    case fb::Message::StatusRequest:
      return {0, env.message_as_StatusRequest()->request()};
    case fb::Message::Stop: return {0, env.message_as_Stop()->request()};
    case fb::Message::Mail: return {0, env.message_as_Mail()->request()};
    default: return {0, 0};
  }
}

}  // namespace

Dispatcher::Dispatcher(core::Scheduler& scheduler, DaemonInfo info)
    : scheduler_(scheduler), info_(std::move(info)), log_limit_(info_.now) {}

void Dispatcher::tick() {
  scheduler_.set_time(std::chrono::duration_cast<std::chrono::microseconds>(
                          info_.now().time_since_epoch())
                          .count());
}

void Dispatcher::on_open(std::shared_ptr<Link> link) {
  link->key = next_key_++;
  Peer p{std::move(link), {}, {}, core::Role::client, {}, 0, {},
         LogLimiter(info_.now)};
  std::uint64_t key = p.link->key;
  peers_.emplace(key, std::move(p));
}

bool Dispatcher::replace_link(std::uint64_t key, std::shared_ptr<Link> next) {
  auto it = peers_.find(key);
  if (it == peers_.end() || !it->second.session) return false;
  Peer& p = it->second;
  next->key = key;
  next->handshake_done();
  p.former.push_back(std::exchange(p.link, std::move(next)));
  return true;
}

void Dispatcher::on_frame(Link& link, std::span<const std::uint8_t> body) {
  auto it = peers_.find(link.key);
  if (it == peers_.end()) return;
  Peer& p = it->second;
  std::string why;
  const fb::Envelope* env = proto::verify_envelope(body, why);
  if (env == nullptr) {
    end_with(link, fb::ErrorCode::Malformed, "malformed frame: " + why);
    return;
  }
  try {
    ++p.frames_handled;
    frame_ = body;
    handle(p, *env);
    deliver_events();
    if (!deferred_.empty() && p.session) run_deferred(p.session, false);
  } catch (const std::exception& e) {
    // Only allocation failure can get here; lose this session, not the
    // daemon.
    log().error("session {}: internal error: {}", p.session.value, e.what());
    link.close(std::string("internal error: ") + e.what());
  }
}

void Dispatcher::handle(Peer& p, const fb::Envelope& env) {
  auto type = env.message_type();
  auto [tag, request] = reply_ids(env);
  if (!p.session && type != fb::Message::Hello) {
    send_error(p, Errc::handshake_required,
               std::string("expected Hello, got ") +
                   fb::EnumNameMessage(type), tag, request);
    p.link->close_after_flush("message before handshake");
    return;
  }
  bool admin = p.role == core::Role::admin;
  tick();
  switch (type) {
    case fb::Message::Hello: return hello(p, *env.message_as_Hello());
    case fb::Message::Quiesce: return quiesce(p, *env.message_as_Quiesce());
    case fb::Message::Sync:
      if (!admin) return sync(p, *env.message_as_Sync());
      break;
    case fb::Message::Blocked:
      if (p.role == core::Role::worker) {
        return blocked(p, *env.message_as_Blocked());
      }
      break;
    case fb::Message::StatusRequest:
      return status(p, *env.message_as_StatusRequest());
    case fb::Message::Stop:
      if (admin) return stop(p, *env.message_as_Stop());
      break;
    case fb::Message::CreateCown:
      if (!admin) return create_cown(p, *env.message_as_CreateCown());
      break;
    case fb::Message::DropCown:
      if (!admin) return drop_cown(p, *env.message_as_DropCown());
      break;
    case fb::Message::HoldCown:
      if (!admin) return hold_cown(p, *env.message_as_HoldCown());
      break;
    case fb::Message::Submit:
      if (!admin) return submit(p, *env.message_as_Submit());
      break;
    case fb::Message::Complete:
      if (!admin) return complete(p, *env.message_as_Complete());
      break;
    case fb::Message::Mail:
      if (!admin) return mail(p, *env.message_as_Mail());
      break;
    case fb::Message::Output:
      if (p.role == core::Role::worker) {
        return output(p, *env.message_as_Output());
      }
      break;
    default:
      break;
  }
  send_error(p, Errc::not_permitted,
             std::string(role_name(p.role)) + " sessions may not send " +
                 fb::EnumNameMessage(type), tag, request);
}

void Dispatcher::hello(Peer& p, const fb::Hello& m) {
  if (p.session) {
    send_error(p, Errc::already_handshaken, "Hello sent twice");
    return;
  }
  if (m.version() != proto::PROTOCOL_VERSION) {
    std::string why = "protocol version " + std::to_string(m.version()) +
                      " is not the daemon's " +
                      std::to_string(proto::PROTOCOL_VERSION);
    send_error(p, Errc::version_mismatch, why);
    p.link->close_after_flush(why);
    return;
  }
  p.role = to_core(m.role());
  p.program = m.program() ? m.program()->str() : "";
  std::string why;
  std::optional<core::SessionOptions> options = session_options(p, m, why);
  if (!options) {
    send_error(p, Errc::not_permitted, why);
    p.link->close_after_flush(why);
    return;
  }
  // The kernel's pid, not the claimed one: logs must name the real process.
  auto grant = scheduler_.open_session(p.role, p.link->peer().pid,
                                       p.program, *options);
  p.session = grant.id;
  by_session_[grant.id] = &p;
  p.link->handshake_done();
  // An admin command (bocd status, say) is not news: debug only.
  log().log(p.role == core::Role::admin ? spdlog::level::debug
                                        : spdlog::level::info,
            "session {} connected: {} pid {} uid {} program '{}'",
            grant.id.value, role_name(p.role), p.link->peer().pid,
            p.link->peer().uid, p.program);
  auto welcome = [&](proto::Encoder& enc, const Upgrader::Terms& terms) {
    enc.welcome(grant.id.value, grant.id_base, grant.id_count,
                info_.max_cowns_per_behavior, info_.max_frame_bytes,
                info_.notice_keys, info_.max_in_flight,
                proto::blob_prefix(info_.blob_instance, grant.id.value),
                terms.ring_bytes, terms.spin_us);
  };
  if (m.ring() && upgrader_ != nullptr) {
    Upgrader::Result up = upgrader_->upgrade(p.link, welcome);
    if (up.link) {
      replace_link(p.link->key, std::move(up.link));
      return;
    }
    if (up.failed) return p.link->close("cannot send the Welcome: " + up.why);
    log_limited(p.log_limit, "no ring", spdlog::level::warn,
                fmt::format("session {}: no shared-memory ring ({}); its "
                            "frames stay on the socket",
                            grant.id.value, up.why));
  }
  welcome(encoder_for(p), Upgrader::Terms{});
  p.link->flush_soon();
}

std::optional<core::SessionOptions> Dispatcher::session_options(
    Peer& p, const fb::Hello& m, std::string& why) {
  core::SessionOptions o;
  if (p.role == core::Role::client && m.env() != nullptr) {
    const fb::Environment& e = *m.env();
    auto env = std::make_shared<ProgramEnvironment>();
    env->python = e.python() ? e.python()->str() : "";
    env->version = e.version() ? e.version()->str() : "";
    if (e.code_mark()) {
      env->code_mark.assign(e.code_mark()->begin(), e.code_mark()->end());
    }
    if (e.sys_path()) {
      for (const flatbuffers::String* s : *e.sys_path()) {
        env->sys_path.push_back(s->str());
      }
    }
    env->cwd = e.cwd() ? e.cwd()->str() : "";
    env->bocd_path = e.bocd_path() ? e.bocd_path()->str() : "";
    if (env->python.empty()) {
      why = "Hello.env names no interpreter";
      return std::nullopt;
    }
    p.env = std::move(env);
    o.own_workers = true;
  }
  if (p.role == core::Role::worker && m.token() && m.token()->size() > 0) {
    o.bridge = workers_ != nullptr && workers_->is_bridge(m.token()->str());
    std::optional<core::SessionId> program =
        workers_ ? workers_->claim(m.token()->str()) : std::nullopt;
    if (!program) {
      why = "this worker's token names no program of this daemon (its "
            "program may have gone)";
      return std::nullopt;
    }
    o.bound_to = *program;
  }
  if (p.role == core::Role::worker) o.keep_values = m.keep_values();
  o.streams = m.streams();
  return o;
}

void Dispatcher::create_cown(Peer& p, const fb::CreateCown& m) {
  std::string bad;
  core::Value value = to_core(m.value(), bad, blob_check(p));
  if (!bad.empty()) return send_error(p, Errc::not_permitted, bad);
  std::vector<std::string> blobs = value.blobs;
  auto st = scheduler_.create_cown(p.session, core::CownId{m.id()},
                                   std::move(value), m.pinned());
  if (!st) {
    send_error(p, st.error().code, st.error().message);
    unlink_unnamed(blobs);
  }
}

void Dispatcher::drop_cown(Peer& p, const fb::DropCown& m) {
  auto st = scheduler_.drop_cown(p.session, core::CownId{m.id()});
  if (!st) send_error(p, st.error().code, st.error().message);
}

void Dispatcher::output(Peer& p, const fb::Output& m) {
  // Output for a program that has gone is dropped: nobody can read it.
  Peer* to = peer_of(core::SessionId{m.session()});
  if (to == nullptr || to->role == core::Role::admin || m.data() == nullptr) {
    return;
  }
  std::string_view data(reinterpret_cast<const char*>(m.data()->data()),
                        m.data()->size());
  encoder_for(*to).output(0, m.stream(), data);
  to->link->flush_soon();
}

void Dispatcher::hold_cown(Peer& p, const fb::HoldCown& m) {
  to_core(m.ids(), ids_);
  auto st = scheduler_.hold_cowns(p.session, ids_);
  if (!st) send_error(p, st.error().code, st.error().message);
}

void Dispatcher::submit(Peer& p, const fb::Submit& m) {
  core::SubmitRequest& r = submit_;
  r.tag = m.tag();
  r.cowns.clear();
  if (m.cowns() != nullptr) {
    for (auto id : *m.cowns()) r.cowns.push_back(core::CownId{id});
  }
  r.result = core::CownId{m.result()};
  r.run_on_submitter = m.executor() == fb::Executor::Submitter;
  r.parent = core::BehaviorId{m.parent()};
  r.payload.clear();
  if (m.payload() != nullptr) {
    r.payload.assign(m.payload()->begin(), m.payload()->end());
  }
  to_core(m.refs(), r.refs);
  r.code_at = m.code_at();
  r.code_len = m.code_len();
  r.code_key = m.code_key();
  std::string bad;
  to_core(m.blobs(), r.blobs, bad, blob_check(p));
  if (!bad.empty()) {
    return send_error(p, Errc::not_permitted, bad, m.tag());
  }
  auto b = scheduler_.submit(p.session, r);
  if (!b) {
    send_error(p, b.error().code, b.error().message, m.tag());
    unlink_unnamed(r.blobs);
  }
}

void Dispatcher::complete(Peer& p, const fb::Complete& m) {
  if (m.bounced()) {
    // The worker ran nothing (Complete.bounced): it goes out again.
    auto st = scheduler_.bounce(p.session, core::BehaviorId{m.behavior()});
    if (!st) send_error(p, st.error().code, st.error().message);
    return;
  }
  updates_.clear();
  std::string bad;
  BlobCheck check = blob_check(p);
  if (m.updates() != nullptr) {
    for (const fb::CownValue* u : *m.updates()) {
      updates_.push_back(core::CownUpdate{core::CownId{u->id()},
                                          to_core(u->value(), bad, check)});
    }
  }
  core::BehaviorId behavior{m.behavior()};
  if (!bad.empty()) {
    // Nothing of a refused completion is unlinked: a name may be another's.
    updates_.clear();
    return refuse_completion(p, behavior, Errc::not_permitted, bad);
  }
  std::optional<std::int64_t> ran_us;
  if (m.run_ns() != 0) {
    ran_us = static_cast<std::int64_t>(
        std::min<std::uint64_t>(m.run_ns() / 1000, INT64_MAX));
  }
  to_core(m.dropped(), dropped_);
  auto st = scheduler_.complete(p.session, behavior, updates_, ran_us,
                                dropped_);
  if (!st) refuse_completion(p, behavior, st.error().code, st.error().message);
}

void Dispatcher::unlink_unnamed(const std::vector<std::string>& blobs) {
  // A refused frame's blobs reach no value: nobody else will unlink them.
  // Only names no stored value or behavior holds (a value written back in
  // place names a live blob).
  for (const std::string& name : blobs) {
    if (scheduler_.blob_count(name) == 0) shm::unlink_blob(name);
  }
}

void Dispatcher::refuse_completion(Peer& p, core::BehaviorId behavior,
                                   Errc code, const std::string& why) {
  send_error(p, code, why);
  for (const core::CownUpdate& u : updates_) unlink_unnamed(u.value.blobs);
  // Nothing is committed, but the behavior must not hold its cowns for
  // ever: it ends with the reason on its result cown.
  scheduler_.fail_running(p.session, behavior, code,
                          "behavior's completion refused by the daemon: " + why);
}

void Dispatcher::quiesce(Peer& p, const fb::Quiesce& m) {
  scheduler_.quiesce(p.session, m.request(), m.below());
}

void Dispatcher::sync(Peer& p, const fb::Sync& m) {
  // Every event of earlier frames went out after its frame (on_frame), so
  // this answer follows every Dispatch sent to the session before it.
  encoder_for(p).synced(m.request(), scheduler_.pinned_waiting(p.session));
  p.link->flush_soon();
}

void Dispatcher::blocked(Peer& p, const fb::Blocked& m) {
  auto back = scheduler_.take_back(p.session, core::BehaviorId{m.behavior()});
  std::vector<std::uint64_t> wire;
  if (back) {
    for (core::BehaviorId b : back.value()) wire.push_back(b.value);
  }
  if (!wire.empty()) {
    log().debug("session {}: behavior {:#x} blocks; {} behavior(s) taken back",
                p.session.value, m.behavior(), wire.size());
  }
  // Always answered: the worker runs nothing it reads until it has this.
  encoder_for(p).recalled(m.behavior(), wire);
  p.link->flush_soon();
}

void Dispatcher::stop(Peer& p, const fb::Stop& m) {
  log().info("session {} (pid {}) asked the daemon to stop", p.session.value,
             p.link->peer().pid);
  encoder_for(p).stopping(m.request());
  p.link->flush_soon();
  p.link->hold_open_until_exit();
  if (on_stop_) on_stop_();
}

namespace {

// A SessionSummary field as SessionInfo holds it; strings are built before
// the table is started, as flatbuffers requires.
template <class T>
T session_field(flatbuffers::FlatBufferBuilder&, T scalar) {
  return scalar;
}
std::uint64_t session_field(flatbuffers::FlatBufferBuilder&, core::SessionId id) {
  return id.value;
}
fb::Role session_field(flatbuffers::FlatBufferBuilder&, core::Role role) {
  return to_wire(role);
}
flatbuffers::Offset<flatbuffers::String> session_field(
    flatbuffers::FlatBufferBuilder& fbb, const std::string& s) {
  return fbb.CreateString(s);
}

// Every SessionInfo field of the schema, from the SessionSummary field of
// the same name (bocd_session_fields.inc): a field the core does not
// provide fails to compile here.
flatbuffers::Offset<fb::SessionInfo> encode_session(
    flatbuffers::FlatBufferBuilder& fbb, const core::SessionSummary& s) {
#define BOCD_SESSION_FIELD(name, type) auto name = session_field(fbb, s.name);
#include "bocd_session_fields.inc"
#undef BOCD_SESSION_FIELD
  fb::SessionInfoBuilder b(fbb);
#define BOCD_SESSION_FIELD(name, type) b.add_##name(name);
#include "bocd_session_fields.inc"
#undef BOCD_SESSION_FIELD
  return b.Finish();
}

}  // namespace

void Dispatcher::status(Peer& p, const fb::StatusRequest& m) {
  auto& fbb = encoder_for(p).builder();
  std::vector<flatbuffers::Offset<fb::SessionInfo>> sessions;
  for (const auto& s : scheduler_.sessions()) {
    // An admin command's own session is no news to it.
    if (s.id == p.session && p.role == core::Role::admin) continue;
    sessions.push_back(encode_session(fbb, s));
  }
  auto uptime = std::chrono::duration_cast<std::chrono::milliseconds>(
      info_.now() - info_.started);
  std::string problem = info_.workers_problem ? info_.workers_problem() : "";
  auto reply = fb::CreateStatus(
      fbb, m.request(), fbb.CreateString(info_.version),
      static_cast<std::int32_t>(getpid()),
      static_cast<std::uint64_t>(uptime.count()), info_.workers,
      scheduler_.cown_count(), scheduler_.in_flight(), scheduler_.completed(),
      fbb.CreateVector(sessions), scheduler_.queued_for_workers(),
      problem.empty() ? 0 : fbb.CreateString(problem));
  encoder_for(p).finish(fb::Message::Status, reply.Union());
  p.link->flush_soon();
}

void Dispatcher::deliver_events() {
  scheduler_.take_events(events_);
  for (const core::Event& e : events_) {
    if (const auto* d = std::get_if<core::DispatchEvent>(&e)) {
      if (Peer* to = peer_of(d->to)) send_dispatch(*to, d->behavior);
    } else if (const auto* q = std::get_if<core::QuiescedEvent>(&e)) {
      if (Peer* to = peer_of(q->to)) {
        encoder_for(*to).quiesced(q->request, scheduler_.accepted(q->to));
        to->link->flush_soon();
      }
    } else if (const auto* f = std::get_if<core::FailedEvent>(&e)) {
      if (Peer* to = peer_of(f->to)) send_error(*to, f->code, f->message, f->tag);
    } else if (const auto* blob = std::get_if<core::BlobFreedEvent>(&e)) {
      shm::unlink_blob(blob->name);
    } else if (const auto* f = std::get_if<core::PinnedFreedEvent>(&e)) {
      if (Peer* to = peer_of(f->owner)) {
        std::uint64_t id = f->id.value;
        encoder_for(*to).pinned_freed({&id, 1});
        to->link->flush_soon();
      }
    } else if (const auto* m = std::get_if<core::MailEvent>(&e)) {
      send_mail(*m);
    } else if (const auto* u = std::get_if<core::UnhandledEvent>(&e)) {
      send_unhandled(*u);
    } else if (const auto* sp = std::get_if<core::SpawnWorkerEvent>(&e)) {
      spawn_worker(sp->program, sp->bridge);
    } else if (const auto* r = std::get_if<core::RetireWorkerEvent>(&e)) {
      retire_worker(r->worker);
    }
  }
}

void Dispatcher::spawn_worker(core::SessionId program, bool bridge) {
  Peer* p = peer_of(program);
  if (workers_ == nullptr || p == nullptr) {
    scheduler_.worker_failed(program, "the daemon starts no workers", bridge);
    return;  // the failure's effects go out with the next events
  }
  workers_->spawn(program, p->env.get(), p->program, bridge);
}

void Dispatcher::retire_worker(core::SessionId worker) {
  if (Peer* p = peer_of(worker)) {
    log().debug("session {}: worker retired", worker.value);
    p->link->close_after_flush("worker retired");
  }
}

void Dispatcher::send_unhandled(const core::UnhandledEvent& u) {
  Peer* to = peer_of(u.to);
  if (to == nullptr || to->role != core::Role::client) return;
  encoder_for(*to).unhandled(
      u.id.value, proto::ValueRef{u.data, true, to_wire(u.error)});
  to->link->flush_soon();
}

void Dispatcher::send_dispatch(Peer& to, core::BehaviorId behavior) {
  if (!scheduler_.view(behavior, view_)) return;
  // Every value's refs as wire integers, in one buffer filled before any
  // span into it is taken (so no growth moves it under them).
  ref_ids_.clear();
  for (auto [id, value] : view_.cowns) {
    for (core::CownId r : value->refs) ref_ids_.push_back(r.value);
  }
  values_.clear();
  std::size_t at = 0;
  for (std::size_t k = 0; k < view_.cowns.size(); ++k) {
    auto [id, value] = view_.cowns[k];
    std::span<const std::uint64_t> embedded(ref_ids_.data() + at,
                                            value->refs.size());
    at += value->refs.size();
    // To a worker that keeps values, the core says which it holds.
    bool keeps = k < view_.versions.size();
    values_.push_back(proto::CownValueRef{
        id.value,
        proto::ValueRef{value->data, value->exception, to_wire(value->error),
                        embedded},
        keeps ? view_.versions[k] : 0, keeps && view_.held[k],
        k < view_.inherit.size() && view_.inherit[k]});
  }
  forget_ids_.clear();
  for (core::CownId id : view_.forget) forget_ids_.push_back(id.value);
  std::string_view payload = view_.payload;
  if (view_.code_held) {  // the worker keeps this code: it is left out
    payload_.assign(payload.substr(0, view_.code_at));
    payload_.append(payload.substr(view_.code_at + view_.code_len));
    payload = payload_;
  }
  encoder_for(to).dispatch(
      behavior.value, view_.tag, view_.session.value, values_,
      view_.result.value, payload, view_.submitter == to.session,
      proto::Forget{forget_ids_, view_.forget_all, view_.forget_code,
                    view_.code_held, view_.code_keep});
  to.link->flush_soon();
}

void Dispatcher::send_error(Peer& p, Errc code, const std::string& message,
                            std::uint64_t tag, std::uint64_t request) {
  const char* name = fb::EnumNameErrorCode(to_wire(code));
  // One line per error a peer provokes: limited, or a peer repeating a
  // bad request could fill the disk.
  log_limited(p.log_limit, name, spdlog::level::warn,
              fmt::format("session {} (pid {}, '{}'): {}: {}",
                          p.session.value, p.link->peer().pid,
                          p.program, name, message));
  encoder_for(p).error(to_wire(code), message, tag, request);
  p.link->flush_soon();
}

proto::Encoder& Dispatcher::encoder_for(Peer& p) {
  encoder_.retarget(p.link->out());
  return encoder_;
}

BlobCheck Dispatcher::blob_check(const Peer& p) const {
  return BlobCheck{info_.blob_instance, p.session.value, &scheduler_};
}

void Dispatcher::sweep_unnamed(const Peer& p) {
  // A process killed between creating a blob and naming it in a frame
  // leaves a blob nobody else knows: its session's end is the last
  // moment the daemon can tell it was never named.
  shm::Swept s = shm::sweep_creator(
      info_.blob_instance, p.session.value,
      [this](const std::string& name) {
        return scheduler_.blob_count(name) > 0;
      });
  if (s.blobs > 0) {
    log().info("session {}: removed {} shared-memory blob(s) ({} bytes) it "
               "made but never named",
               p.session.value, s.blobs, s.bytes);
  }
}

Dispatcher::Peer* Dispatcher::peer_of(core::SessionId session) {
  auto it = by_session_.find(session);
  return it == by_session_.end() ? nullptr : it->second;
}

void Dispatcher::on_closed(Link& link, const std::string& reason) {
  auto it = peers_.find(link.key);
  if (it == peers_.end()) return;  // a session already ended
  Peer& p = it->second;
  if (p.session) {
    log().log(p.role == core::Role::admin ? spdlog::level::debug
                                          : spdlog::level::info,
              "session {} disconnected: {} pid {} program '{}': {}",
              p.session.value, role_name(p.role), link.peer().pid, p.program,
              reason);
    log_suppressed(p.log_limit, true,
                   "session " + std::to_string(p.session.value));
    by_session_.erase(p.session);
    tick();
    scheduler_.close_session(p.session);
    if (!deferred_.empty()) {
      drop_deferred_of(p);
      run_deferred(p.session, true);
    }
    deliver_events();  // unlinks what the close freed first
    sweep_unnamed(p);
  } else {
    // Limited daemon-wide: a flood of connections that never say Hello
    // must not flood the log.
    log_limited(log_limit_, "connection closed before handshake",
                spdlog::level::info,
                fmt::format("connection from pid {} closed before "
                            "handshake: {}", link.peer().pid, reason));
  }
  // Held until this call unwinds: `link` is one of them.
  std::vector<std::shared_ptr<Link>> links = std::move(p.former);
  links.push_back(std::move(p.link));
  peers_.erase(it);
  deliver_events();
  // The session's other links end with it; their on_closed finds no peer.
  for (const auto& l : links) l->close(reason);
}

void Dispatcher::close_all(const std::string& reason) {
  std::vector<std::shared_ptr<Link>> all;
  for (auto& [key, p] : peers_) all.push_back(p.link);
  for (auto& l : all) end_after_flush(*l, fb::ErrorCode::ShuttingDown, reason);
}

}  // namespace bocd::server

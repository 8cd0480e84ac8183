// Dispatcher: messaging (Mail, MailReply). The queues and their rules are
// the core's (scheduler.h); here, the wire, and Mail ops held back until
// enough of a worker session's own frames have been handled
// (Mail.after_frames), by whichever link they came.
#include <algorithm>
#include <cstring>

#include "dispatcher.h"
#include "error_map.h"
#include "wire_values.h"

namespace bocd::server {

namespace fb = proto::fb;
using core::Errc;

namespace {
// Mail ops one session may have held back at once: each is a whole
// frame copy, so a client naming a barrier that never comes must not
// grow the daemon without bound.
constexpr std::size_t MAX_DEFERRED_PER_SENDER = 1024;
}  // namespace

void Dispatcher::mail(Peer& p, const fb::Mail& m) {
  core::SessionId after{m.after_session()};
  if (after) {
    Peer* w = peer_of(after);
    if (w == nullptr || w->role != core::Role::worker ||
        w->link->peer().pid != p.link->peer().pid) {
      return send_error(p, Errc::not_permitted,
                        "a Mail may wait only for a worker session of its "
                        "own process",
                        0, m.request());
    }
  }
  // Per-sender order: once one op waits, every later one waits behind it
  // (and, when its turn comes, for its own barrier too: run_deferred).
  if (const Deferred* last = last_deferred_of(p)) {
    return defer(p, m, last->after, last->frames);
  }
  if (!barrier_met(m)) return defer(p, m, after, m.after_frames());
  mail_now(p, m);
}

bool Dispatcher::barrier_met(const fb::Mail& m) {
  if (m.after_session() == 0) return true;
  Peer* w = peer_of(core::SessionId{m.after_session()});
  // Gone: wait no more.
  return w == nullptr || w->frames_handled >= m.after_frames();
}

void Dispatcher::mail_now(Peer& p, const fb::Mail& m) {
  names_.clear();
  if (m.tags() != nullptr) {
    for (const flatbuffers::String* t : *m.tags()) names_.push_back(t->str());
  }
  core::SessionId program{m.program()};
  core::BehaviorId behavior{m.behavior()};
  core::Status st = core::Ok{};
  switch (m.kind()) {
    case fb::MailKind::Send:
      return mail_send(p, m);
    case fb::MailKind::Receive:
      st = scheduler_.mail_receive(p.session, program, m.request(), names_,
                                   m.wait(), behavior);
      if (st) return;  // answered by its MailEvent
      break;
    case fb::MailKind::Cancel:
      return scheduler_.mail_cancel(p.session, m.request());
    case fb::MailKind::Release:
      return scheduler_.mail_release(p.session, m.request(), behavior);
    case fb::MailKind::Return:
      return scheduler_.mail_return(p.session, m.request());
    case fb::MailKind::Drain:
      st = scheduler_.mail_drain(p.session, program, names_, behavior);
      break;
    case fb::MailKind::SetTags:
      st = scheduler_.mail_set_tags(p.session, program, names_, behavior);
      break;
    case fb::MailKind::Board:
      return mail_board(p, m);
    case fb::MailKind::Unlend:
      return scheduler_.mail_unlend(p.session, program, m.batch(), m.count(),
                                    m.wait(), m.request());
    default:
      st = core::fail(Errc::malformed, "unknown Mail kind");
  }
  mail_reply(p, m, st);
}

void Dispatcher::mail_send(Peer& p, const fb::Mail& m) {
  if (names_.size() != 1) {
    return mail_reply(p, m, core::fail(Errc::malformed,
                                       "Mail Send names one tag"));
  }
  if (m.value() == nullptr) {
    return mail_reply(p, m, core::fail(Errc::malformed,
                                       "Mail Send carries no value"));
  }
  std::string bad;
  core::Value value = to_core(m.value(), bad, blob_check(p));
  if (!bad.empty()) {
    return mail_reply(p, m, core::fail(Errc::not_permitted, bad));
  }
  std::vector<std::string> blobs = value.blobs;
  core::Result<std::uint32_t> credit = scheduler_.mail_send(
      p.session, core::SessionId{m.program()}, names_[0], value,
      core::BehaviorId{m.behavior()}, m.credited());
  if (!credit) {
    unlink_unnamed(blobs);
    // A credited send's refusal too: the client raises it later.
    return send_error(p, credit.error().code, credit.error().message, 0,
                      m.request());
  }
  if (m.credited()) return;  // not answered
  proto::MailExtra extra;
  extra.credit = credit.value();
  encoder_for(p).mail_reply(m.request(), false, {}, nullptr, 0, extra);
  p.link->flush_soon();
}

void Dispatcher::mail_board(Peer& p, const fb::Mail& m) {
  core::Result<core::CownId> board = scheduler_.mail_board(
      p.session, core::SessionId{m.program()}, core::CownId{m.cown()},
      core::BehaviorId{m.behavior()});
  if (!board) return mail_reply(p, m, board.error());
  scheduler_.lease_snapshot(p.session, m.request(), board.value());
  const core::Value* v = scheduler_.committed(board.value());
  if (v == nullptr) {
    encoder_for(p).mail_reply(m.request(), false, {}, nullptr);
  } else {
    ref_ids_.clear();
    for (core::CownId r : v->refs) ref_ids_.push_back(r.value);
    proto::ValueRef value{v->data, v->exception, to_wire(v->error), ref_ids_,
                          v->blobs};
    encoder_for(p).mail_reply(m.request(), true, {}, &value,
                              board.value().value);
  }
  p.link->flush_soon();
}

void Dispatcher::mail_reply(Peer& p, const fb::Mail& m,
                            const core::Status& st) {
  if (!st) {
    return send_error(p, st.error().code, st.error().message, 0, m.request());
  }
  encoder_for(p).mail_reply(m.request(), false, {}, nullptr);
  p.link->flush_soon();
}

const Dispatcher::Deferred* Dispatcher::last_deferred_of(const Peer& p) const {
  for (auto it = deferred_.rbegin(); it != deferred_.rend(); ++it) {
    if (it->sender == p.session) return &*it;
  }
  return nullptr;
}

void Dispatcher::defer(Peer& p, const fb::Mail& m, core::SessionId after,
                       std::uint64_t frames) {
  std::size_t mine = 0;
  for (const Deferred& d : deferred_) {
    if (d.sender == p.session) ++mine;
  }
  if (mine >= MAX_DEFERRED_PER_SENDER) {
    return send_error(p, Errc::too_many_in_flight,
                      "too many Mail ops waiting for a worker's frames", 0,
                      m.request());
  }
  Deferred d{after, frames, p.session, frame_.size(),
             std::vector<std::uint64_t>((frame_.size() + 7) / 8)};
  std::memcpy(d.body.data(), frame_.data(), frame_.size());
  deferred_.push_back(std::move(d));
}

void Dispatcher::run_deferred(core::SessionId after, bool all) {
  // Taken out first, in order: handling one may end a session.
  std::vector<Deferred> ready;
  Peer* w = peer_of(after);
  for (auto it = deferred_.begin(); it != deferred_.end();) {
    if (it->after == after &&
        (all || w == nullptr || w->frames_handled >= it->frames)) {
      ready.push_back(std::move(*it));
      it = deferred_.erase(it);
    } else {
      ++it;
    }
  }
  for (Deferred& d : ready) {
    Peer* sender = peer_of(d.sender);
    if (sender == nullptr) continue;  // dropped with its sender
    std::span<const std::uint8_t> body(
        reinterpret_cast<const std::uint8_t*>(d.body.data()), d.size);
    std::string why;
    const fb::Envelope* env = proto::verify_envelope(body, why);
    const fb::Mail* m = env ? env->message_as_Mail() : nullptr;
    if (m == nullptr) continue;  // verified once already
    frame_ = body;
    Peer& p = *sender;
    // Behind an op that waits again, or waiting for its own barrier: back
    // in line, in order (the first one back blocks the rest of its sender).
    if (const Deferred* last = last_deferred_of(p)) {
      deferred_.push_back(Deferred{last->after, last->frames, d.sender,
                                   d.size, std::move(d.body)});
      continue;
    }
    if (!barrier_met(*m)) {
      deferred_.push_back(Deferred{core::SessionId{m->after_session()},
                                   m->after_frames(), d.sender, d.size,
                                   std::move(d.body)});
      continue;
    }
    mail_now(p, *m);
    deliver_events();
  }
}

void Dispatcher::drop_deferred_of(const Peer& sender) {
  for (auto it = deferred_.begin(); it != deferred_.end();) {
    if (it->sender != sender.session) {
      ++it;
      continue;
    }
    // A Send that will never be handled: its blobs are unlinked here.
    std::span<const std::uint8_t> body(
        reinterpret_cast<const std::uint8_t*>(it->body.data()), it->size);
    std::string why;
    const fb::Envelope* env = proto::verify_envelope(body, why);
    const fb::Mail* m = env ? env->message_as_Mail() : nullptr;
    if (m != nullptr && m->kind() == fb::MailKind::Send) {
      BlobCheck check = blob_check(sender);
      std::string bad;
      core::Value v = to_core(m->value(), bad, check);
      if (bad.empty()) unlink_unnamed(v.blobs);
    }
    it = deferred_.erase(it);
  }
}

void Dispatcher::send_mail(const core::MailEvent& e) {
  Peer* to = peer_of(e.to);
  if (to == nullptr) return;
  if (e.code != Errc::none) {
    return send_error(*to, e.code, e.message, 0, e.request);
  }
  proto::MailExtra extra;
  if (e.recall) {
    extra.recall = true;
    encoder_for(*to).mail_reply(e.request, false, e.tag, nullptr, 0, extra);
    return to->link->flush_soon();
  }
  const core::Value* v = e.got ? scheduler_.mail_lease(e.to, e.request)
                               : nullptr;
  if (v == nullptr) {
    encoder_for(*to).mail_reply(e.request, false, {}, nullptr);
  } else {
    ref_ids_.clear();
    for (core::CownId r : v->refs) ref_ids_.push_back(r.value);
    proto::ValueRef value{v->data, v->exception, to_wire(v->error), ref_ids_,
                          v->blobs};
    lent_.clear();
    const std::deque<core::Value>* lent =
        e.lent ? scheduler_.mail_lent(e.program, e.to, e.request) : nullptr;
    if (lent != nullptr) {
      // Plain values (the core lends no others).
      std::size_t n = std::min<std::size_t>(e.lent, lent->size());
      for (std::size_t i = 0; i < n; ++i) {
        const core::Value& l = (*lent)[i];
        lent_.push_back(proto::ValueRef{l.data, l.exception, to_wire(l.error)});
      }
      extra.lent = lent_;
    }
    encoder_for(*to).mail_reply(e.request, true, e.tag, &value, 0, extra);
  }
  to->link->flush_soon();
}

}  // namespace bocd::server

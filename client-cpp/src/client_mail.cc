// Client messaging (docs/protocol.md, Messaging): request/reply over the
// session's channel. Every Mail op but Cancel, Release and Return is
// answered by one MailReply or Error naming its request; see bocd.fbs.
#include "bocd/client/client.h"
#include "channel.h"

namespace bocd::client {

namespace fb = proto::fb;

void Client::on_mail_reply(const fb::MailReply& r) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = mail_.find(r.request());
  if (it == mail_.end() || it->second.done) return;  // a late cancel answer
  MailSlot& slot = it->second;
  slot.done = true;
  slot.mail.got = r.got();
  slot.mail.request = r.request();
  slot.mail.cown = r.cown();
  if (r.tag() != nullptr) slot.mail.tag = r.tag()->str();
  if (const fb::Value* v = r.value()) {
    if (v->data() != nullptr) {
      slot.mail.value.data.assign(v->data()->begin(), v->data()->end());
    }
    slot.mail.value.exception = v->exception();
    if (v->refs() != nullptr) {
      slot.mail.value.refs.assign(v->refs()->begin(), v->refs()->end());
    }
    if (v->blobs() != nullptr) {
      for (const auto* b : *v->blobs()) {
        slot.mail.value.blobs.push_back(b->str());
      }
    }
  }
  cv_.notify_all();
}

// A pinned body may message (it runs on the program's thread, and a
// blocking receive there blocks only that thread); a body on the IO thread
// may not: the reply would never be read.
void Client::not_on_io_thread() const {
  if (channel_->on_io_thread()) {
    throw std::logic_error(
        "Client messaging: not from a behavior body on this client's "
        "executor thread (use a second Client)");
  }
}

std::uint64_t Client::new_mail_request() {
  not_on_io_thread();
  std::lock_guard<std::mutex> lock(mu_);
  check_usable_locked();
  std::uint64_t request = next_request_++;
  mail_[request];
  return request;
}

Client::Mail Client::mail_call(std::uint64_t program, int kind,
                               const std::vector<std::string>& tags,
                               const Value* value, Barrier after,
                               std::uint64_t behavior, std::uint64_t cown) {
  if (value != nullptr) {
    check_fits("a message", value->data.size(), value->refs.size(),
               value->blobs.size());
  }
  std::uint64_t request = new_mail_request();
  try {
    channel_->send_urgent([&](proto::Encoder& enc) {
      std::optional<proto::ValueRef> v;
      if (value != nullptr) {
        v = proto::ValueRef{value->data, value->exception, {}, value->refs,
                            value->blobs};
      }
      enc.mail(request, static_cast<fb::MailKind>(kind), program, tags, false,
               v ? &*v : nullptr, behavior, after.session, after.frames, cown);
    });
  } catch (...) {
    std::lock_guard<std::mutex> lock(mu_);
    mail_.erase(request);
    throw;
  }
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return mail_[request].done || !broken_.empty(); });
  MailSlot slot = std::move(mail_[request]);
  mail_.erase(request);
  if (!slot.done) check_usable_locked();
  if (slot.error) throw *slot.error;
  return std::move(slot.mail);
}

Client::Mail Client::mail_board(std::uint64_t program, std::uint64_t proposed,
                                Barrier after, std::uint64_t behavior) {
  return mail_call(program, static_cast<int>(fb::MailKind::Board), {}, nullptr,
                   after, behavior, proposed);
}

void Client::mail_send(std::uint64_t program, const std::string& tag,
                       const Value& value, Barrier after,
                       std::uint64_t behavior) {
  mail_call(program, static_cast<int>(fb::MailKind::Send), {tag}, &value,
            after, behavior);
}

std::uint32_t Client::notice_keys() const {
  return channel_->welcome().notice_keys;
}

Client::Barrier Client::mail_barrier() {
  // Sync writes (a worker's): nothing is left behind an async write.
  return Barrier{session(), channel_->flush_counted()};
}

void Client::mail_drain(std::uint64_t program,
                        const std::vector<std::string>& tags,
                        std::uint64_t behavior) {
  mail_call(program, static_cast<int>(fb::MailKind::Drain), tags, nullptr, {},
            behavior);
}

void Client::mail_set_tags(std::uint64_t program,
                           const std::vector<std::string>& tags,
                           std::uint64_t behavior) {
  mail_call(program, static_cast<int>(fb::MailKind::SetTags), tags, nullptr,
            {}, behavior);
}

std::uint64_t Client::mail_receive(std::uint64_t program,
                                   const std::vector<std::string>& tags,
                                   bool wait, std::uint64_t behavior) {
  std::uint64_t request = new_mail_request();
  channel_->send_urgent([&](proto::Encoder& enc) {
    enc.mail(request, fb::MailKind::Receive, program, tags, wait, nullptr,
             behavior);
  });
  return request;
}

std::optional<Client::Mail> Client::mail_wait(
    std::uint64_t request, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  auto it = mail_.find(request);
  if (it == mail_.end()) {
    throw Error(Errc::not_permitted, "no such receive in progress");
  }
  if (!wait_locked(lock, timeout,
                   [&] { return mail_[request].done || !broken_.empty(); })) {
    return std::nullopt;
  }
  const MailSlot& slot = mail_[request];
  if (!slot.done) check_usable_locked();
  if (slot.error) {
    Error e = *slot.error;
    mail_.erase(request);
    throw e;
  }
  return slot.mail;  // kept until end_receive
}

void Client::mail_cancel(std::uint64_t request) {
  channel_->send_urgent([&](proto::Encoder& enc) {
    enc.mail(request, fb::MailKind::Cancel, 0, {}, false, nullptr);
  });
}

void Client::end_receive(std::uint64_t request, int kind,
                         std::uint64_t behavior) {
  bool got = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = mail_.find(request);
    if (it == mail_.end()) return;
    got = it->second.done && it->second.mail.got;
    mail_.erase(it);
  }
  if (!got) return;  // no lease in the daemon
  // Pipelined: after any HoldCown this thread sent for the message's
  // cowns, on the same channel, so the daemon takes those first.
  channel_->send([&](proto::Encoder& enc) {
    enc.mail(request, static_cast<fb::MailKind>(kind), 0, {}, false, nullptr,
             behavior);
  });
}

void Client::mail_release(std::uint64_t request, std::uint64_t behavior) {
  end_receive(request, static_cast<int>(fb::MailKind::Release), behavior);
}

void Client::mail_release_snapshot(std::uint64_t request,
                                   std::uint64_t behavior) {
  channel_->send([&](proto::Encoder& enc) {
    enc.mail(request, fb::MailKind::Release, 0, {}, false, nullptr, behavior);
  });
}

void Client::mail_return(std::uint64_t request) {
  end_receive(request, static_cast<int>(fb::MailKind::Return), 0);
}

}  // namespace bocd::client

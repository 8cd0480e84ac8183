// Client messaging (docs/protocol.md, Messaging): request/reply over the
// session's channel. Every Mail op but Cancel, Release and Return is
// answered by one MailReply or Error naming its request; see bocd.fbs.
#include "bocd/client/client.h"
#include "channel.h"
#include "mail_ahead.h"

#include <algorithm>

namespace bocd::client {

namespace fb = proto::fb;

namespace {
Value value_of(const fb::Value& v) {
  Value out;
  if (v.data() != nullptr) out.data.assign(v.data()->begin(), v.data()->end());
  out.exception = v.exception();
  if (v.refs() != nullptr) out.refs.assign(v.refs()->begin(), v.refs()->end());
  if (v.blobs() != nullptr) {
    for (const auto* b : *v.blobs()) out.blobs.push_back(b->str());
  }
  return out;
}
}  // namespace

void Client::on_mail_reply(const fb::MailReply& r) {
  if (r.recall()) {
    // Another session receives under the tag: what is left goes back.
    std::vector<MailGiveBack> back;
    {
      std::lock_guard<std::mutex> lock(mu_);
      back = ahead_->take_back(
          [&](const MailAhead::Batch& b) { return b.batch == r.request(); });
    }
    // None: it went back already (or was all taken), and said so.
    if (!back.empty()) send_give_backs(back, false);
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = mail_.find(r.request());
  if (it == mail_.end() || it->second.done) return;  // a late cancel answer
  MailSlot& slot = it->second;
  slot.done = true;
  slot.credit = r.credit();
  slot.mail.got = r.got();
  slot.mail.request = r.request();
  slot.mail.cown = r.cown();
  if (r.tag() != nullptr) slot.mail.tag = r.tag()->str();
  if (const fb::Value* v = r.value()) slot.mail.value = value_of(*v);
  if (r.lent() != nullptr && r.lent()->size() > 0) {
    MailAhead::Batch b{slot.program, slot.lend_tag, r.request(), {}};
    for (const fb::Value* v : *r.lent()) b.values.push_back(value_of(*v));
    ahead_->lent.push_back(std::move(b));
  }
  cv_.notify_all();
}

void Client::raise_late_locked() {
  if (!ahead_->late) return;
  Error e = std::move(*ahead_->late);
  ahead_->late.reset();
  throw e;
}

void Client::send_give_backs(const std::vector<MailGiveBack>& give_backs,
                             bool wait) {
  std::uint64_t request = 0;
  if (wait) {
    std::lock_guard<std::mutex> lock(mu_);
    check_usable_locked();
    request = next_request_++;
    mail_[request];
  }
  for (std::size_t i = 0; i < give_backs.size(); ++i) {
    const MailGiveBack& g = give_backs[i];
    bool last = wait && i + 1 == give_backs.size();
    std::vector<std::string> tags{g.tag};
    auto encode = [&](proto::Encoder& enc) {
      enc.mail(last ? request : 0, fb::MailKind::Unlend, g.program, tags,
               last, nullptr, 0, 0, 0, 0, false, g.count, g.batch);
    };
    if (last) {
      channel_->send_urgent(encode);
    } else {
      channel_->send(encode);
    }
  }
  if (!wait) return;
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return mail_[request].done || !broken_.empty(); });
  bool done = mail_[request].done;
  mail_.erase(request);
  if (!done) check_usable_locked();
}

void Client::mail_settle() {
  std::vector<MailGiveBack> back;
  bool wait = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (ahead_->lent.empty() && ahead_->unsettled == 0 &&
        ahead_->credit.empty()) {
      return;
    }
    // Only lent messages and unanswered sends need the answer: unspent
    // credit is dropped on the way.
    wait = !ahead_->lent.empty() || ahead_->unsettled != 0;
    back = ahead_->take_back([](const MailAhead::Batch&) { return true; });
    ahead_->unsettled = 0;
    ahead_->credit.clear();
  }
  // Last, an Unlend of batch 0: the daemon drops the credit not spent
  // (the next body asks again); once it answers, every send before it has
  // been handled too.
  back.push_back(MailGiveBack{});
  send_give_backs(back, wait);
  std::lock_guard<std::mutex> lock(mu_);
  // A refusal of a send the ended body made is nobody's now.
  ahead_->late.reset();
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

Client::Mail Client::mail_call(std::uint64_t program, int kind,
                               const std::vector<std::string>& tags,
                               const Value* value, Barrier after,
                               std::uint64_t behavior, std::uint64_t cown) {
  if (value != nullptr) {
    check_fits("a message", value->data.size(), value->refs.size(),
               value->blobs.size());
  }
  std::vector<MailGiveBack> back;
  std::uint64_t request = 0;
  {
    not_on_io_thread();
    std::lock_guard<std::mutex> lock(mu_);
    check_usable_locked();
    raise_late_locked();
    auto k = static_cast<fb::MailKind>(kind);
    if (k == fb::MailKind::SetTags) {
      // All credit goes with it; lent messages go back first.
      std::erase_if(ahead_->credit, [&](const auto& c) {
        return std::get<0>(c.first) == program;
      });
      back = ahead_->take_back(
          [&](const MailAhead::Batch& b) { return b.program == program; });
    } else if (k == fb::MailKind::Drain) {
      back = ahead_->take_back([&](const MailAhead::Batch& b) {
        return b.program == program &&
               std::find(tags.begin(), tags.end(), b.tag) != tags.end();
      });
    }
    request = next_request_++;
    mail_[request];
  }
  try {
    if (!back.empty()) send_give_backs(back, false);
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
  if (slot.credit > 0 && !tags.empty()) {
    ahead_->credit[{program, behavior, tags[0]}] += slot.credit;
  }
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
  std::uint64_t credited = 0;
  if (value.refs.empty() && value.blobs.empty()) {
    check_fits("a message", value.data.size(), 0, 0);
    not_on_io_thread();
    std::lock_guard<std::mutex> lock(mu_);
    check_usable_locked();
    raise_late_locked();
    auto it = ahead_->credit.find({program, behavior, tag});
    if (it != ahead_->credit.end() && it->second > 0) {
      --it->second;
      ++ahead_->unsettled;
      credited = ahead_->next_credited++;
    }
  }
  if (credited == 0) {
    mail_call(program, static_cast<int>(fb::MailKind::Send), {tag}, &value,
              after, behavior);
    return;
  }
  // Unanswered: it leaves with the frames sent around it.
  std::vector<std::string> tags{tag};
  proto::ValueRef v{value.data, value.exception, {}, {}, {}};
  channel_->send([&](proto::Encoder& enc) {
    enc.mail(credited, fb::MailKind::Send, program, tags, false, &v, behavior,
             0, 0, 0, true);
  });
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

std::uint64_t Client::mail_request() {
  std::lock_guard<std::mutex> lock(mu_);
  return next_request_++;
}

std::uint64_t Client::mail_receive(std::uint64_t program,
                                   const std::vector<std::string>& tags,
                                   bool wait, std::uint64_t behavior,
                                   std::uint64_t request) {
  not_on_io_thread();
  std::vector<MailGiveBack> back;
  bool local = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    check_usable_locked();
    raise_late_locked();
    if (request == 0) request = next_request_++;
    std::uint64_t batch = 0;
    std::optional<Value> lent =
        tags.size() == 1 ? take_lent_locked(program, tags[0], batch, back)
                         : std::nullopt;
    if (lent) {
      // Lent: taken here, with no lease in the daemon.
      MailSlot& slot = mail_[request];
      slot.done = true;
      slot.local = batch;
      slot.program = program;
      slot.lend_tag = tags[0];
      slot.mail.got = true;
      slot.mail.request = request;
      slot.mail.tag = tags[0];
      slot.mail.value = std::move(*lent);
      local = true;
    } else {
      if (tags.size() > 1) {
        // The first tag that has a message wins: the daemon must see them.
        back = ahead_->take_back([&](const MailAhead::Batch& x) {
          return x.program == program &&
                 std::find(tags.begin(), tags.end(), x.tag) != tags.end();
        });
      }
      MailSlot& slot = mail_[request];
      slot.program = program;
      if (tags.size() == 1) slot.lend_tag = tags[0];
    }
  }
  if (!back.empty()) send_give_backs(back, false);
  if (local) return request;
  channel_->send_urgent([&](proto::Encoder& enc) {
    enc.mail(request, fb::MailKind::Receive, program, tags, wait, nullptr,
             behavior);
  });
  return request;
}

std::optional<Value> Client::take_lent_locked(
    std::uint64_t program, const std::string& tag, std::uint64_t& batch,
    std::vector<MailGiveBack>& back) {
  MailAhead::Batch* b = ahead_->find(program, tag);
  if (b == nullptr || b->values.empty()) return std::nullopt;
  batch = b->batch;
  Value v = std::move(b->values.front());
  b->values.pop_front();
  if (b->values.empty()) {
    // All taken: the daemon may lend this tag again.
    back = ahead_->take_back(
        [&](const MailAhead::Batch& x) { return &x == b; });
  }
  return v;
}

std::optional<Value> Client::mail_take_lent(std::uint64_t program,
                                            const std::string& tag) {
  std::vector<MailGiveBack> back;
  std::optional<Value> v;
  {
    std::lock_guard<std::mutex> lock(mu_);
    check_usable_locked();
    raise_late_locked();
    std::uint64_t batch = 0;
    v = take_lent_locked(program, tag, batch, back);
  }
  if (!back.empty()) send_give_backs(back, false);
  return v;
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
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = mail_.find(request);
    if (it != mail_.end() && it->second.local != 0) return;  // answered
  }
  channel_->send_urgent([&](proto::Encoder& enc) {
    enc.mail(request, fb::MailKind::Cancel, 0, {}, false, nullptr);
  });
}

void Client::end_receive(std::uint64_t request, int kind,
                         std::uint64_t behavior) {
  bool got = false;
  std::vector<MailGiveBack> back;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = mail_.find(request);
    if (it == mail_.end()) return;
    MailSlot& slot = it->second;
    got = slot.done && slot.mail.got;
    bool returned = static_cast<fb::MailKind>(kind) == fb::MailKind::Return;
    if (slot.local != 0) {
      if (returned) {
        // Back to the head of its batch (made again if it was emptied:
        // the daemon keeps a batch until told it was all taken, and that
        // Unlend went out only if one was taken after this one).
        MailAhead::Batch* b = ahead_->find(slot.program, slot.lend_tag);
        if (b == nullptr) {
          ahead_->lent.push_back(
              MailAhead::Batch{slot.program, slot.lend_tag, slot.local, {}});
          b = &ahead_->lent.back();
        }
        b->values.push_front(std::move(slot.mail.value));
      }
      mail_.erase(it);
      return;  // no lease in the daemon
    }
    if (returned && got) {
      // The batch this receive brought follows its message back.
      back = ahead_->take_back(
          [&](const MailAhead::Batch& b) { return b.batch == request; });
    }
    mail_.erase(it);
  }
  if (!got) return;  // no lease in the daemon
  if (!back.empty()) send_give_backs(back, false);
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

// Scheduler messaging: batches lent to a tag's one receiver, given back
// when it says, when another session receives there, or when it closes
// (docs/protocol.md, "Pipelined sends and lent messages"; scheduler.h
// states the contracts).
#include <algorithm>

#include "scheduler.h"

namespace bocd::core {

void Scheduler::note_receiver(Mailbox& m, SessionId receiver,
                              const std::vector<std::string>& tags,
                              const std::vector<int>& queues) {
  for (std::size_t i = 0; i < tags.size(); ++i) {
    auto b = m.batch_for(tags[i]);
    if (b != m.batches().end() && b->holder != receiver && !b->recalled) {
      b->recalled = true;
      MailEvent e{b->holder, b->request, false, b->tag};
      e.program = m.program();
      e.recall = true;
      events_.push_back(std::move(e));
    }
    Mailbox::Ahead& a = m.ahead(queues[i]);
    if (!a.receiver) {
      a.receiver = receiver;
    } else if (a.receiver != receiver) {
      a.shared = true;
    }
  }
}

std::uint32_t Scheduler::lend(Mailbox& m, int q, SessionId receiver,
                     std::uint64_t request) {
  const MailLimits& limits = m.limits();
  Mailbox::Ahead& a = m.ahead(q);
  std::deque<Value>& queue = m.queue(q);
  const Session* r = find_session(receiver);
  if (!r->streams || a.shared || a.receiver != receiver || queue.empty() ||
      limits.lend == 0 || m.batch_for(m.tag(q)) != m.batches().end() ||
      m.waiter_for(m.tag(q)) != m.waiters().end()) {
    return 0;
  }
  Mailbox::Batch batch{receiver, request, m.tag(q), {}, false};
  std::size_t bytes = 0;
  while (!queue.empty() && batch.values.size() < limits.lend) {
    const Value& v = queue.front();
    // Plain values only: a lent value's cowns would have no lease.
    if (!v.refs.empty() || !v.blobs.empty()) break;
    bytes += v.data.size();
    if (bytes > limits.lend_bytes && !batch.values.empty()) break;
    batch.values.push_back(std::move(queue.front()));
    queue.pop_front();
  }
  auto n = static_cast<std::uint32_t>(batch.values.size());
  if (n > 0) m.batches().push_back(std::move(batch));
  return n;
}

void Scheduler::give_back(Mailbox& m, const std::string& tag,
                          std::deque<Value>& values) {
  // To the head of the queue, in order (a tag set_tags unbound meanwhile
  // is bound again, as mail_return does); then to parked receives.
  int q = m.bind(tag);
  for (auto it = values.rbegin(); it != values.rend(); ++it) {
    if (q == Mailbox::NONE) {
      drop_value(*it);  // no queue left for it
    } else {
      m.queue(q).push_front(std::move(*it));
    }
  }
  values.clear();
  note_freed();
  serve_waiters(m);
}

void Scheduler::serve_waiters(Mailbox& m) {
  auto& ws = m.waiters();
  for (auto w = ws.begin(); w != ws.end();) {
    if (m.blocked(*w)) {
      ++w;
      continue;
    }
    int found = Mailbox::NONE;
    for (const std::string& tag : w->tags) {
      int q = m.find(tag);
      if (q != Mailbox::NONE && !m.queue(q).empty()) {
        found = q;
        break;
      }
    }
    if (found == Mailbox::NONE && !w->poll) {
      ++w;
      continue;
    }
    SessionId to = w->receiver;
    std::uint64_t request = w->request;
    w = ws.erase(w);
    if (found == Mailbox::NONE) {
      events_.push_back(MailEvent{to, request, false, {}});
    } else {
      lease(to, request, m.program(), m.tag(found),
            std::move(m.queue(found).front()));
      m.queue(found).pop_front();
    }
  }
}

void Scheduler::mail_unlend(SessionId holder, SessionId program,
                            std::uint64_t batch, std::uint32_t count,
                            bool answer, std::uint64_t request) {
  if (batch == 0) {
    // A settle: the credit the holder did not spend goes, everywhere.
    for (auto& [p, m] : mailboxes_) {
      for (std::size_t q = 0; q < m.queues().size(); ++q) {
        m.ahead(static_cast<int>(q)).forget(holder);
      }
    }
  }
  auto box = mailboxes_.find(program ? program : holder);
  if (box != mailboxes_.end()) {
    Mailbox& m = box->second;
    auto& bs = m.batches();
    auto b = std::find_if(bs.begin(), bs.end(), [&](const Mailbox::Batch& x) {
      return x.holder == holder && x.request == batch;
    });
    if (b != bs.end()) {
      Mailbox::Batch given = std::move(*b);
      bs.erase(b);
      std::size_t back = std::min<std::size_t>(count, given.values.size());
      std::size_t taken = given.values.size() - back;
      for (std::size_t i = 0; i < taken; ++i) {
        drop_value(given.values.front());
        given.values.pop_front();
      }
      give_back(m, given.tag, given.values);
    }
  }
  if (answer) events_.push_back(MailEvent{holder, request, false, {}});
}

const std::deque<Value>* Scheduler::mail_lent(SessionId program,
                                              SessionId holder,
                                              std::uint64_t batch) const {
  auto box = mailboxes_.find(program ? program : holder);
  if (box == mailboxes_.end()) return nullptr;
  for (const Mailbox::Batch& b : box->second.batches()) {
    if (b.holder == holder && b.request == batch) return &b.values;
  }
  return nullptr;
}

}  // namespace bocd::core

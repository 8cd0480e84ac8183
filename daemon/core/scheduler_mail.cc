// Scheduler messaging: per-program Mailboxes, their waiters and leases
// (docs/protocol.md, Messaging; scheduler.h states the contracts).
#include <algorithm>

#include "scheduler.h"

namespace bocd::core {

Result<Mailbox*> Scheduler::mailbox_for(SessionId caller, SessionId program,
                                        BehaviorId behavior) {
  const Session* c = find_session(caller);
  if (c == nullptr || c->closed || c->role == Role::admin) {
    return fail(Errc::not_permitted, "this session has no message queues");
  }
  // A worker process messages for the program of a behavior it is running
  // (its worker session's thread runs the body, so it speaks over a client
  // session of its own); any other program uses only its own queues.
  bool for_program = c->role == Role::worker ||
                     (program && program != caller && is_worker_pid(c->pid));
  if (!for_program) {
    if (program && program != caller) {
      return fail(Errc::not_permitted,
                  "a program may use only its own message queues");
    }
    program = caller;
  } else {
    // A program's behaviors may still run after it left: its queues went
    // with it, so the program must be open too.
    const Session* owner = find_session(program);
    std::uint32_t b = behavior ? behaviors_.find(behavior) : NONE;
    const Session* runner =
        b == NONE ? nullptr : find_session(behaviors_.at(b).running_on);
    if (owner == nullptr || owner->closed || owner->role != Role::client ||
        b == NONE || behaviors_.at(b).state != BehaviorState::RUNNING ||
        behaviors_.at(b).session != program || runner == nullptr ||
        runner->role != Role::worker || runner->pid != c->pid) {
      return fail(Errc::not_permitted,
                  "a worker may use only the message queues of a program "
                  "whose behavior it is running");
    }
  }
  auto it = mailboxes_.find(program);
  if (it == mailboxes_.end()) {
    it = mailboxes_.emplace(program, Mailbox(program, limits_.mail)).first;
  }
  return &it->second;
}

bool Scheduler::is_worker_pid(std::int32_t pid) const {
  return std::any_of(sessions_.begin(), sessions_.end(), [&](const Session& s) {
    return s.id && !s.closed && s.role == Role::worker && s.pid == pid;
  });
}

void Scheduler::count_value(const Value& v) {
  cowns_.add_refs(v.refs);
  cowns_.blobs().add(v.blobs);
}

void Scheduler::drop_value(Value& v) {
  cowns_.release_refs(v.refs);
  cowns_.blobs().release(v.blobs);
  v = Value{};
}

Result<std::uint32_t> Scheduler::mail_send(SessionId caller,
                                           SessionId program,
                                           const std::string& tag,
                                           Value& value, BehaviorId behavior,
                                           bool credited) {
  Result<Mailbox*> box = mailbox_for(caller, program, behavior);
  if (!box) return box.error();
  Mailbox& m = *box.value();
  // Checked for the program: a worker's body may send what it made over
  // another session of its process.
  Status st = check_refs(*find_session(m.program()), value.refs, "a message");
  if (!st) return st.error();
  int q = m.bind(tag);
  if (q == Mailbox::NONE) {
    return fail(Errc::tag_capacity,
                "No queue available for tag '" + tag +
                    "': tag capacity exceeded");
  }
  // Credit is for plain values only (a bad name must be refused to the
  // sender). A worker process's messaging session gets it too: it settles
  // its sends before its body's completion goes out. A send that spends
  // it is queued even past the limit (another sender filled the queue
  // meanwhile): its sender was told it would be.
  Mailbox::Ahead& ahead = m.ahead(q);
  bool plain = value.refs.empty() && value.blobs.empty();
  if (!(credited && plain && ahead.spend(caller)) && m.full(q)) {
    return fail(Errc::queue_full, "Message queue is full");
  }
  count_value(value);
  hand_over(m, q, tag, std::move(value), false);
  value = Value{};
  std::uint32_t credit = 0;
  if (plain && !credited && find_session(caller)->streams) {
    credit = std::min(m.limits().credit, m.room(q));
    ahead.grant(caller, credit);
  }
  return credit;
}

Status Scheduler::mail_receive(SessionId receiver, SessionId program,
                               std::uint64_t request,
                               const std::vector<std::string>& tags,
                               bool wait, BehaviorId behavior) {
  Result<Mailbox*> box = mailbox_for(receiver, program, behavior);
  if (!box) return box.error();
  Mailbox& m = *box.value();
  if (tags.empty()) return fail(Errc::malformed, "a receive names no tag");
  if (leases_.count({receiver, request}) != 0 || parked(receiver, request)) {
    return fail(Errc::malformed, "receive request " + std::to_string(request) +
                                     " is already in use");
  }
  std::vector<int> queues;
  for (const std::string& tag : tags) {
    int q = m.bind(tag);
    if (q == Mailbox::NONE) {
      return fail(Errc::tag_capacity,
                  "No message queue found for tag: '" + tag + "'");
    }
    queues.push_back(q);
  }
  note_receiver(m, receiver, tags, queues);
  Mailbox::Waiter self{receiver, request, tags, !wait};
  if (m.blocked(self)) {
    // Another session's batch of these tags was recalled: what it gives
    // back comes before anything queued behind it.
    m.waiters().push_back(std::move(self));
    return Ok{};
  }
  for (int q : queues) {
    if (m.queue(q).empty()) continue;
    Value first = std::move(m.queue(q).front());
    m.queue(q).pop_front();
    std::uint32_t lent =
        queues.size() == 1 ? lend(m, q, receiver, request) : 0;
    lease(receiver, request, m.program(), m.tag(q), std::move(first), lent);
    return Ok{};
  }
  if (wait) {
    m.waiters().push_back(Mailbox::Waiter{receiver, request, tags});
  } else {
    events_.push_back(MailEvent{receiver, request, false, {}});
  }
  return Ok{};
}

void Scheduler::mail_cancel(SessionId receiver, std::uint64_t request) {
  for (auto& [program, m] : mailboxes_) {
    auto& ws = m.waiters();
    auto w = std::find_if(ws.begin(), ws.end(), [&](const auto& x) {
      return x.receiver == receiver && x.request == request;
    });
    if (w != ws.end()) {
      ws.erase(w);
      events_.push_back(MailEvent{receiver, request, false, {}});
      return;
    }
  }
}

void Scheduler::mail_release(SessionId receiver, std::uint64_t request,
                             BehaviorId within) {
  auto it = leases_.find({receiver, request});
  if (it == leases_.end()) return;
  Value& v = it->second.value;
  std::uint32_t b = within ? behaviors_.find(within) : NONE;
  if (b != NONE && behaviors_.at(b).state == BehaviorState::RUNNING) {
    // The counts the lease holds become the behavior's (finish() releases
    // its refs and blobs).
    Behavior& bh = behaviors_.at(b);
    for (CownId id : v.refs) bh.refs.push_back(cowns_.find(id));
    bh.blobs.insert(bh.blobs.end(), v.blobs.begin(), v.blobs.end());
  } else {
    drop_value(v);
  }
  leases_.erase(it);
  note_freed();
}

const Value* Scheduler::mail_lease(SessionId receiver,
                                   std::uint64_t request) const {
  auto it = leases_.find({receiver, request});
  return it == leases_.end() ? nullptr : &it->second.value;
}

void Scheduler::lease(SessionId receiver, std::uint64_t request,
                      SessionId program, const std::string& tag, Value value,
                      std::uint32_t lent) {
  leases_[{receiver, request}] = Lease{program, tag, std::move(value)};
  MailEvent e{receiver, request, true, tag};
  e.program = program;
  e.lent = lent;
  events_.push_back(std::move(e));
}

bool Scheduler::parked(SessionId receiver, std::uint64_t request) const {
  for (const auto& [program, m] : mailboxes_) {
    for (const Mailbox::Waiter& w : m.waiters()) {
      if (w.receiver == receiver && w.request == request) return true;
    }
  }
  return false;
}

void Scheduler::mail_return(SessionId receiver, std::uint64_t request) {
  auto it = leases_.find({receiver, request});
  if (it == leases_.end()) return;
  Lease l = std::move(it->second);
  leases_.erase(it);
  auto box = mailboxes_.find(l.program);
  if (box == mailboxes_.end() || l.tag.empty()) {  // gone, or a snapshot's
    drop_value(l.value);
    note_freed();
    return;
  }
  // Back where it was, first in line (to a receive parked on its tag if
  // there is one); a tag set_tags unbound meanwhile is bound again.
  Mailbox& m = box->second;
  hand_over(m, m.bind(l.tag), l.tag, std::move(l.value), true);
}

void Scheduler::hand_over(Mailbox& m, int q, const std::string& tag,
                          Value value, bool first) {
  auto w = m.waiter_for(tag);
  if (w != m.waiters().end() && !m.blocked(*w)) {
    SessionId to = w->receiver;
    std::uint64_t request = w->request;
    m.waiters().erase(w);
    lease(to, request, m.program(), tag, std::move(value));
  } else if (q == Mailbox::NONE) {
    drop_value(value);  // no queue left for it (mail_return only)
    note_freed();
  } else if (first) {
    m.queue(q).push_front(std::move(value));
  } else {
    m.queue(q).push_back(std::move(value));
  }
}

void Scheduler::clear_queue(Mailbox& m, int q) {
  for (Value& v : m.queue(q)) drop_value(v);
  m.queue(q).clear();
}

Status Scheduler::mail_drain(SessionId caller, SessionId program,
                             const std::vector<std::string>& tags,
                             BehaviorId behavior) {
  Result<Mailbox*> box = mailbox_for(caller, program, behavior);
  if (!box) return box.error();
  Mailbox& m = *box.value();
  for (const std::string& tag : tags) {
    int q = m.bind(tag);
    if (q == Mailbox::NONE) {
      return fail(Errc::tag_capacity,
                  "No message queue found for tag: '" + tag + "'");
    }
    clear_queue(m, q);
  }
  note_freed();
  return Ok{};
}

Status Scheduler::mail_set_tags(SessionId caller, SessionId program,
                                const std::vector<std::string>& tags,
                                BehaviorId behavior) {
  Result<Mailbox*> box = mailbox_for(caller, program, behavior);
  if (!box) return box.error();
  Mailbox& m = *box.value();
  for (std::size_t i = 0; i < tags.size(); ++i) {
    if (std::find(tags.begin(), tags.begin() + i, tags[i]) !=
        tags.begin() + i) {
      return fail(Errc::malformed, "set_tags names '" + tags[i] + "' twice");
    }
  }
  if (tags.size() > limits_.mail.tags) {
    return fail(Errc::tag_capacity,
                "Only " + std::to_string(limits_.mail.tags) +
                    " or fewer tags supported");
  }
  for (std::size_t q = 0; q < m.queues().size(); ++q) {
    clear_queue(m, static_cast<int>(q));
  }
  m.rebind(tags);
  note_freed();
  return Ok{};
}

Result<CownId> Scheduler::mail_board(SessionId caller, SessionId program,
                                     CownId proposed, BehaviorId behavior) {
  Result<Mailbox*> box = mailbox_for(caller, program, behavior);
  if (!box) return box.error();
  Mailbox& m = *box.value();
  if (!m.board && proposed) {
    Status st = check_refs(*find_session(m.program()), {proposed},
                           "a noticeboard");
    if (!st) return st.error();
    cowns_.add_refs({proposed});
    m.board = proposed;
  }
  return m.board;
}

const Value* Scheduler::committed(CownId board) const {
  std::uint32_t c = board ? cowns_.find(board) : NONE;
  return c == NONE ? nullptr : &cowns_.at(c).value;
}

void Scheduler::lease_snapshot(SessionId receiver, std::uint64_t request,
                               CownId board) {
  const Value* v = committed(board);
  if (v == nullptr || (v->refs.empty() && v->blobs.empty())) return;
  if (leases_.count({receiver, request}) != 0) return;
  Value names{{}, false, Errc::none, v->refs, v->blobs};
  count_value(names);
  // No tag: mail_return drops it rather than queue it anywhere.
  leases_[{receiver, request}] = Lease{{}, {}, std::move(names)};
}

std::size_t Scheduler::mail_queued(SessionId program) const {
  auto it = mailboxes_.find(program);
  if (it == mailboxes_.end()) return 0;
  std::size_t n = 0;
  for (const auto& q : it->second.queues()) n += q.size();
  return n;
}

void Scheduler::close_mail(SessionId session) {
  for (auto& [program, m] : mailboxes_) {
    auto& ws = m.waiters();
    ws.erase(std::remove_if(ws.begin(), ws.end(),
                            [&](const auto& w) { return w.receiver == session; }),
             ws.end());
    // Which of its batch the holder received is unknown: all of it goes
    // back (a message is never lost; it may come twice).
    auto& bs = m.batches();
    for (std::size_t i = 0; i < bs.size();) {
      if (bs[i].holder != session) {
        ++i;
        continue;
      }
      Mailbox::Batch b = std::move(bs[i]);
      bs.erase(bs.begin() + static_cast<std::ptrdiff_t>(i));
      give_back(m, b.tag, b.values);
    }
    for (std::size_t q = 0; q < m.queues().size(); ++q) {
      Mailbox::Ahead& a = m.ahead(static_cast<int>(q));
      if (a.receiver == session && !a.shared) a.receiver = SessionId{};
      a.forget(session);
    }
  }
  for (auto it = leases_.begin(); it != leases_.end();) {
    if (it->first.first == session) {
      drop_value(it->second.value);
      it = leases_.erase(it);
    } else {
      ++it;
    }
  }
  auto it = mailboxes_.find(session);
  if (it == mailboxes_.end()) return;
  for (const Mailbox::Waiter& w : it->second.waiters()) {
    events_.push_back(MailEvent{w.receiver, w.request, false, {},
                                Errc::session_closed,
                                "program session " +
                                    std::to_string(session.value) +
                                    " closed while a receive waited"});
  }
  for (std::size_t q = 0; q < it->second.queues().size(); ++q) {
    clear_queue(it->second, static_cast<int>(q));
  }
  for (Mailbox::Batch& b : it->second.batches()) {
    for (Value& v : b.values) drop_value(v);
  }
  if (it->second.board) cowns_.release_refs({it->second.board});
  mailboxes_.erase(it);
}

}  // namespace bocd::core

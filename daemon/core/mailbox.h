// Mailbox: one program's message queues (docs/protocol.md, Messaging), as
// plain data the Scheduler drives. A tag is bound to a free queue the first
// time it is used (send, receive or drain); set_tags rebinds. Each queue is
// a FIFO of at most MailLimits::messages values. A receive that finds
// nothing may park as a Waiter until a send to one of its queues.
//
// The Mailbox counts no references: the Scheduler adds a value's cown and
// blob references when it is queued and releases them when it is dropped
// or delivered (see scheduler.h, messaging).
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "ids.h"
#include "value.h"

namespace bocd::core {

struct MailLimits {
  std::uint32_t tags = 16;         // queues per program
  std::uint32_t messages = 16384;  // per queue
};

class Mailbox {
 public:
  static constexpr int NONE = -1;

  struct Waiter {
    SessionId receiver;
    std::uint64_t request = 0;
    std::vector<std::string> tags;  // in the order the receive named them
  };

  Mailbox(SessionId program, MailLimits limits);

  SessionId program() const { return program_; }

  // The queue bound to `tag`, or NONE.
  int find(std::string_view tag) const;
  // The queue bound to `tag`, binding a free one first; NONE if all are
  // bound to other tags.
  int bind(std::string_view tag);
  // Binds `tags` (distinct) to queues 0..k-1 and frees the rest; the
  // caller has dropped every queued value first. Waiters name tags, not
  // queues, so they keep waiting for the same tags.
  void rebind(const std::vector<std::string>& tags);

  bool full(int q) const { return queues_[q].size() >= limits_.messages; }
  const std::string& tag(int q) const { return tags_[q]; }
  std::deque<Value>& queue(int q) { return queues_[q]; }
  const std::vector<std::deque<Value>>& queues() const { return queues_; }
  // The program's noticeboard cown (docs/python.md, Noticeboard), 0 until
  // one is set; the Scheduler counts one reference to it while set.
  CownId board;

  std::deque<Waiter>& waiters() { return waiters_; }
  // The oldest receive parked on `tag`, or waiters().end().
  std::deque<Waiter>::iterator waiter_for(std::string_view tag);
  const std::deque<Waiter>& waiters() const { return waiters_; }

 private:
  SessionId program_;
  MailLimits limits_;
  std::vector<std::string> tags_;  // "" while a queue is free
  std::vector<bool> bound_;
  std::vector<std::deque<Value>> queues_;
  std::deque<Waiter> waiters_;  // parked receives, oldest first
};

}  // namespace bocd::core

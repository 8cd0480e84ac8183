// Mailbox: one program's message queues (docs/protocol.md, Messaging), as
// plain data the Scheduler drives. A tag is bound to a free queue the first
// time it is used (send, receive or drain); set_tags rebinds. Each queue is
// a FIFO of at most MailLimits::messages values. A receive that finds
// nothing may park as a Waiter until a send to one of its queues.
//
// Two speed rules (docs/protocol.md, "Pipelined sends and lent
// messages"): credit outstanding for the program's own unanswered sends, and batches of plain messages lent to the one session that
// receives under a tag. Lent messages are out of their queue but not yet
// known to be received; they go back to its head when given back.
//
// The Mailbox counts no references: the Scheduler adds a value's cown and
// blob references when it is queued and releases them when it is dropped
// or delivered (see scheduler.h, messaging).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ids.h"
#include "value.h"

namespace bocd::core {

struct MailLimits {
  std::uint32_t tags = 16;         // queues per program
  std::uint32_t messages = 16384;  // per queue
  std::uint32_t credit = 256;      // sends granted at once (0: none)
  std::uint32_t lend = 64;         // messages lent at once (0: none)
  std::uint32_t lend_bytes = 64 * 1024;
};

class Mailbox {
 public:
  static constexpr int NONE = -1;

  struct Waiter {
    SessionId receiver;
    std::uint64_t request = 0;
    std::vector<std::string> tags;  // in the order the receive named them
    // A poll that waits only for a batch of its tags to come back
    // (another session holds it): answered, got or not, once it has.
    bool poll = false;
  };

  Mailbox(SessionId program, MailLimits limits);

  SessionId program() const { return program_; }
  const MailLimits& limits() const { return limits_; }

  // The queue bound to `tag`, or NONE.
  int find(std::string_view tag) const;
  // The queue bound to `tag`, binding a free one first; NONE if all are
  // bound to other tags.
  int bind(std::string_view tag);
  // Binds `tags` (distinct) to queues 0..k-1 and frees the rest; the
  // caller has dropped every queued value first. Waiters name tags, not
  // queues, so they keep waiting for the same tags; so do batches. Every
  // credit and receiver goes.
  void rebind(const std::vector<std::string>& tags);

  // Per queue: the places credited sends may still fill, and who receives.
  struct Ahead {
    // Credit granted and not yet spent, by holder: a session that closes
    // takes its share along.
    std::vector<std::pair<SessionId, std::uint32_t>> holders;
    SessionId receiver;   // the first session to receive here
    bool shared = false;  // another one has: lend no more

    void grant(SessionId to, std::uint32_t n);
    // Spends one of `from`'s credit; false if it holds none.
    bool spend(SessionId from);
    // Drops what `holder` held (it closed).
    void forget(SessionId holder);
    // All the credit outstanding here.
    std::uint32_t credit() const;
  };
  // Messages lent to `holder` by its receive `request`, oldest first.
  struct Batch {
    SessionId holder;
    std::uint64_t request = 0;
    std::string tag;  // not a queue: set_tags may rebind meanwhile
    std::deque<Value> values;
    bool recalled = false;
  };

  // Full for a send that spends no credit: lent messages the holder has
  // not said it received count.
  bool full(int q) const;
  // Places left for new credit: credit outstanding counts too.
  std::uint32_t room(int q) const;
  Ahead& ahead(int q) { return ahead_[q]; }
  const Ahead& ahead(int q) const { return ahead_[q]; }
  std::vector<Batch>& batches() { return batches_; }
  const std::vector<Batch>& batches() const { return batches_; }
  // The batch out under `tag`, or batches().end().
  std::vector<Batch>::iterator batch_for(std::string_view tag);
  // Whether a batch of one of `w`'s tags is out with another session: it
  // must come back first, to be taken first (FIFO per tag).
  bool blocked(const Waiter& w) const;
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
  std::vector<Ahead> ahead_;
  std::size_t lent(int q) const;
  std::vector<Batch> batches_;  // at most one per tag
};

}  // namespace bocd::core

// Client, worker role: telling the daemon that a body blocks, and dropping
// what it took back (proto Blocked and Recalled).
//
// Bodies run one at a time on the IO thread, in dispatch order, so when a
// body blocks nothing dispatched after it has started. Once Blocked is
// sent, the IO thread starts no dispatch it reads until Recalled says
// which the daemon gave to other workers: those are dropped, the rest run.
#include <chrono>

#include "bocd/client/client.h"
#include "channel.h"

namespace bocd::client {

namespace fb = proto::fb;

void Client::blocking(std::uint64_t behavior) {
  if (!worker_ || behavior == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (blocked_sent_ == behavior || !broken_.empty()) return;
  blocked_sent_ = behavior;
  awaiting_recall_ = behavior;
  // Written under mu_, which hold_dispatch() takes: a dispatch the IO
  // thread reads after this is held (a worker's channel has caller writes:
  // it is on the wire now).
  channel_->send([&](proto::Encoder& enc) { enc.blocked(behavior); });
}

bool Client::hold_dispatch(std::span<const std::uint8_t> body) {
  std::lock_guard<std::mutex> lock(mu_);
  if (awaiting_recall_ == 0) return false;
  held_.emplace_back(body.begin(), body.end());
  return true;
}

void Client::on_recalled(const fb::Recalled& m) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (m.behavior() != awaiting_recall_) return;  // an older answer
    awaiting_recall_ = 0;
    if (m.behaviors() != nullptr && m.behaviors()->size() > 0) {
      std::erase_if(held_, [&](const std::vector<std::uint8_t>& frame) {
        std::uint64_t id = flatbuffers::GetRoot<fb::Envelope>(frame.data())
                               ->message_as_Dispatch()
                               ->behavior();
        for (std::uint64_t back : *m.behaviors()) {
          if (back == id) return true;
        }
        return false;
      });
    }
  }
  run_held();
}

void Client::run_held() {
  for (;;) {
    std::vector<std::uint8_t> frame;
    {
      std::lock_guard<std::mutex> lock(mu_);
      // A held body that blocks in turn holds the rest again.
      if (held_.empty() || awaiting_recall_ != 0) return;
      frame = std::move(held_.front());
      held_.pop_front();
    }
    // Verified when it arrived; the copy is aligned as the frame was.
    run_dispatch(*flatbuffers::GetRoot<fb::Envelope>(frame.data())
                      ->message_as_Dispatch());
  }
}

// The watchdog thread: a body still running one tick after it was first
// seen has run long, and is reported as blocking(). With no body running
// for a while it parks until the IO thread starts one.
void Client::watch_stalls() {
  constexpr int IDLE_TICKS = 64;
  std::uint64_t seen_count = 0, seen_behavior = 0;
  int idle = 0;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (idle >= IDLE_TICKS) {
      watchdog_parked_.store(true);  // seq_cst: see run_dispatch
      std::uint64_t before = seen_count;
      watchdog_cv_.wait(lock, [&] {
        return stopping_ || bodies_started_.load() != before;
      });
      watchdog_parked_.store(false);
      idle = 0;
      continue;
    }
    watchdog_cv_.wait_for(lock, stall_after_, [&] { return stopping_; });
    std::uint64_t count = bodies_started_.load(std::memory_order_relaxed);
    std::uint64_t running = running_behavior_.load(std::memory_order_relaxed);
    bool stalled = running != 0 && count == seen_count &&
                   running == seen_behavior && blocked_sent_ != running;
    idle = running == 0 ? idle + 1 : 0;
    seen_count = count;
    seen_behavior = running;
    if (stalled) {
      lock.unlock();
      blocking(running);
      lock.lock();
    }
  }
}

}  // namespace bocd::client

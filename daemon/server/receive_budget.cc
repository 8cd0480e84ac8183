#include "receive_budget.h"

#include <vector>

namespace bocd::server {

bool ReceiveBudget::claim(std::size_t n, std::function<void()> granted) {
  if (used_ + n <= limit_) {
    used_ += n;
    return true;
  }
  waiting_.push_back(Waiter{n, std::move(granted)});
  return false;
}

void ReceiveBudget::release(std::size_t n) {
  used_ -= n;
  // First fit, in arrival order: a frame that fits beside one that waits
  // for a large release is not held behind it.
  std::vector<std::function<void()>> now;
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (used_ + it->n <= limit_) {
      used_ += it->n;
      now.push_back(std::move(it->granted));
      it = waiting_.erase(it);
    } else {
      ++it;
    }
  }
  // Called after the queue is settled: a grantee may release at once.
  for (auto& fn : now) fn();
}

}  // namespace bocd::server

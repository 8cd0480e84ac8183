#include "mailbox.h"

#include <algorithm>

namespace bocd::core {

Mailbox::Mailbox(SessionId program, MailLimits limits)
    : program_(program),
      limits_(limits),
      tags_(limits.tags),
      bound_(limits.tags, false),
      queues_(limits.tags) {}

int Mailbox::find(std::string_view tag) const {
  for (std::size_t q = 0; q < tags_.size(); ++q) {
    if (bound_[q] && tags_[q] == tag) return static_cast<int>(q);
  }
  return NONE;
}

int Mailbox::bind(std::string_view tag) {
  int q = find(tag);
  if (q != NONE) return q;
  for (std::size_t i = 0; i < tags_.size(); ++i) {
    if (!bound_[i]) {
      bound_[i] = true;
      tags_[i] = std::string(tag);
      return static_cast<int>(i);
    }
  }
  return NONE;
}

std::deque<Mailbox::Waiter>::iterator Mailbox::waiter_for(
    std::string_view tag) {
  return std::find_if(waiters_.begin(), waiters_.end(), [&](const Waiter& w) {
    return std::find(w.tags.begin(), w.tags.end(), tag) != w.tags.end();
  });
}

void Mailbox::rebind(const std::vector<std::string>& tags) {
  for (std::size_t i = 0; i < tags_.size(); ++i) {
    bound_[i] = i < tags.size();
    tags_[i] = i < tags.size() ? tags[i] : std::string();
  }
}

}  // namespace bocd::core

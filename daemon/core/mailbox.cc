#include "mailbox.h"

#include <algorithm>

namespace bocd::core {

Mailbox::Mailbox(SessionId program, MailLimits limits)
    : program_(program),
      limits_(limits),
      tags_(limits.tags),
      bound_(limits.tags, false),
      queues_(limits.tags),
      ahead_(limits.tags) {}

void Mailbox::Ahead::grant(SessionId to, std::uint32_t n) {
  if (n == 0) return;
  for (auto& [who, held] : holders) {
    if (who == to) {
      held += n;
      return;
    }
  }
  holders.emplace_back(to, n);
}

bool Mailbox::Ahead::spend(SessionId from) {
  for (auto it = holders.begin(); it != holders.end(); ++it) {
    if (it->first != from) continue;
    if (--it->second == 0) holders.erase(it);
    return true;
  }
  return false;
}

void Mailbox::Ahead::forget(SessionId holder) {
  for (auto it = holders.begin(); it != holders.end(); ++it) {
    if (it->first == holder) {
      holders.erase(it);
      return;
    }
  }
}

std::uint32_t Mailbox::Ahead::credit() const {
  std::uint32_t n = 0;
  for (const auto& [who, held] : holders) n += held;
  return n;
}

std::size_t Mailbox::lent(int q) const {
  std::size_t n = 0;
  for (const Batch& b : batches_) {
    if (b.tag == tags_[q]) n += b.values.size();
  }
  return n;
}

bool Mailbox::full(int q) const {
  return queues_[q].size() + lent(q) >= limits_.messages;
}

std::uint32_t Mailbox::room(int q) const {
  std::size_t n = queues_[q].size() + lent(q) + ahead_[q].credit();
  return n >= limits_.messages
             ? 0
             : static_cast<std::uint32_t>(limits_.messages - n);
}

std::vector<Mailbox::Batch>::iterator Mailbox::batch_for(
    std::string_view tag) {
  return std::find_if(batches_.begin(), batches_.end(),
                      [&](const Batch& b) { return b.tag == tag; });
}

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

bool Mailbox::blocked(const Waiter& w) const {
  for (const Batch& b : batches_) {
    if (b.holder != w.receiver &&
        std::find(w.tags.begin(), w.tags.end(), b.tag) != w.tags.end()) {
      return true;
    }
  }
  return false;
}

void Mailbox::rebind(const std::vector<std::string>& tags) {
  for (std::size_t i = 0; i < tags_.size(); ++i) {
    bound_[i] = i < tags.size();
    tags_[i] = i < tags.size() ? tags[i] : std::string();
    ahead_[i] = Ahead{};
  }
}

}  // namespace bocd::core

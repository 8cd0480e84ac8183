// Client, worker role, for an executor bridge: a body that runs on
// another engine is deferred when dispatched, and what it did there
// (cowns it created, behaviors it scheduled, its new values) is sent
// afterwards from whichever thread learnt it.
#include <chrono>
#include <stdexcept>
#include <string>

#include "bocd/client/client.h"
#include "channel.h"

namespace bocd::client {

namespace fb = proto::fb;

std::uint64_t Client::reserve_ids(std::size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  check_usable_locked();
  if (n == 0) return 0;
  std::uint64_t first = next_cown_id_locked();
  for (std::size_t i = 1; i < n; ++i) next_cown_id_locked();
  return first;
}

void Client::create_reserved(std::uint64_t id, std::string_view value,
                             std::span<const std::uint64_t> refs,
                             std::span<const std::string> blobs) {
  check_fits("a new cown's value", value.size(), refs.size(), blobs.size());
  channel_->send([&](proto::Encoder& enc) {
    enc.create_cown(id, proto::ValueRef{value, false, {}, refs, blobs},
                    false);
  });
}

void Client::submit_reserved(std::span<const std::uint64_t> cowns,
                             std::string_view payload, std::uint64_t result,
                             std::uint64_t parent,
                             std::span<const std::uint64_t> refs,
                             std::span<const std::string> blobs) {
  check_fits("a behavior's payload", payload.size() + 8 * cowns.size(),
             refs.size(), blobs.size());
  std::lock_guard<std::mutex> lock(mu_);
  check_usable_locked();
  std::uint64_t tag = next_tag_++;
  // Encoded under mu_, as submit_to_workers: tags reach the daemon in order.
  channel_->send([&](proto::Encoder& enc) {
    enc.submit(tag, cowns, result, fb::Executor::Workers, parent, payload,
               refs, blobs);
  });
}

void Client::complete_deferred(
    std::uint64_t behavior,
    std::span<const std::pair<std::uint64_t, Value>> updates,
    const Value& result) {
  std::uint64_t result_id;
  {
    std::unique_lock<std::mutex> lock(mu_);
    // The body deferred it on the IO thread, which notes it as the body
    // returns: an engine that finishes first waits for that note.
    cv_.wait_for(lock, std::chrono::seconds(10), [&] {
      return deferred_results_.count(behavior) != 0 || !broken_.empty();
    });
    check_usable_locked();
    auto it = deferred_results_.find(behavior);
    if (it == deferred_results_.end()) {
      throw std::logic_error("behavior " + std::to_string(behavior) +
                             " is not deferred on this session");
    }
    result_id = it->second;
    deferred_results_.erase(it);
  }
  std::vector<proto::CownValueRef> out;
  out.reserve(updates.size() + 1);
  for (const auto& [id, v] : updates) {
    out.push_back({id, proto::ValueRef{v.data, v.exception, {}, v.refs,
                                       v.blobs}});
  }
  if (result_id != 0) {
    out.push_back({result_id, proto::ValueRef{result.data, result.exception,
                                              {}, result.refs, result.blobs}});
  }
  if (update_bytes(out) > channel_->welcome().max_frame) {
    // As send_completion: nothing committed, the result says why.
    std::string why = "behavior's new values exceed the daemon's frame "
                      "limit; nothing was committed";
    out.clear();
    if (result_id != 0) {
      out.push_back({result_id, proto::ValueRef{why, true}});
    }
  }
  channel_->send([&](proto::Encoder& enc) { enc.complete(behavior, out, 0); });
}

}  // namespace bocd::client

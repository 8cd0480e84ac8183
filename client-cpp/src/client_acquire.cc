// Client: holding a cown from outside a behavior (acquire, release).
//
// An acquire is an ordinary behavior on the one cown, run by this client,
// whose body defers its completion: the daemon grants the cown in order,
// and it stays held until release() completes that behavior.
#include <chrono>
#include <memory>

#include "bocd/client/client.h"
#include "channel.h"

namespace bocd::client {

// One acquire_begin() request. Shared by the deferring body (which fills
// it when the cown is granted) and the waiter; guarded by Client::mu_.
struct Client::AcquireSlot {
  bool granted = false;
  bool dropped = false;    // the body was dropped unrun (refused, closed)
  bool abandoned = false;  // acquire_cancel(): release a grant at once
  Lease lease;
};

// Held by the body only: when the body is destroyed without having run
// (the daemon refused the request, the connection closed), it says so.
// Bodies are destroyed with Client::mu_ unlocked (see on_error).
struct Client::AcquireGuard {
  AcquireGuard(std::shared_ptr<AcquireSlot> s, std::mutex& m,
               std::condition_variable& c)
      : slot(std::move(s)), mu(&m), cv(&c) {}
  AcquireGuard(const AcquireGuard&) = delete;
  AcquireGuard& operator=(const AcquireGuard&) = delete;
  std::shared_ptr<AcquireSlot> slot;
  std::mutex* mu;
  std::condition_variable* cv;
  ~AcquireGuard() {
    std::lock_guard<std::mutex> lock(*mu);
    if (!slot->granted && !slot->abandoned) slot->dropped = true;
    cv->notify_all();
  }
};

void Client::not_on_this_io_thread(const char* what) const {
  // A pinned body on the pumping thread may wait: the IO thread grants.
  if (channel_->on_io_thread()) {
    throw std::logic_error(std::string(what) +
                           " called from a behavior body would deadlock");
  }
}

Lease Client::acquire(CownRef cown) {
  std::uint64_t request = acquire_begin(cown);
  Lease lease;
  acquire_wait(request, std::chrono::milliseconds(-1), lease);
  return lease;
}

std::uint64_t Client::acquire_begin(CownRef cown, std::optional<Take> take) {
  not_on_this_io_thread("Client::acquire");
  auto slot = std::make_shared<AcquireSlot>();
  std::uint64_t request;
  {
    std::lock_guard<std::mutex> lock(mu_);
    check_usable_locked();
    request = next_request_++;
    acquires_.emplace(request, slot);
  }
  auto guard = std::make_shared<AcquireGuard>(slot, mu_, cv_);
  submit({cown}, [this, slot, guard, take = std::move(take)](Access& a) {
    if (take && on_take(slot, a, *take)) return;  // completes now
    a.defer();
    on_granted(slot, a);
  });
  channel_->flush_urgent();
  return request;
}

// On the IO thread, when the daemon grants the cown.
void Client::on_granted(const std::shared_ptr<AcquireSlot>& slot, Access& a) {
  Lease lease{a.behavior(), a.cown(0), a.get(0)};
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!slot->abandoned) {
      slot->granted = true;
      slot->lease = std::move(lease);
      cv_.notify_all();
      return;
    }
  }
  release(lease, nullptr);  // nobody waits for it any more
}

// On the IO thread, when the daemon grants a Take request's cown.
bool Client::on_take(const std::shared_ptr<AcquireSlot>& slot, Access& a,
                     const Take& take) {
  const Value& v = a.get(0);
  if (v.error != Errc::none || !v.refs.empty() ||
      !v.data.starts_with(take.plain_prefix)) {
    return false;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Nobody waits: on_granted releases it unchanged.
    if (slot->abandoned) return false;
    slot->granted = true;
    slot->lease = Lease{a.behavior(), a.cown(0), v, true};
    cv_.notify_all();
  }
  a.mut(0) = take.empty;  // committed when the body returns
  return true;
}

Client::Acquired Client::acquire_wait(std::uint64_t request,
                                      std::chrono::milliseconds timeout,
                                      Lease& out, bool or_pinned) {
  not_on_this_io_thread("Client::acquire");
  std::unique_lock<std::mutex> lock(mu_);
  auto it = acquires_.find(request);
  if (it == acquires_.end()) {
    throw std::logic_error("acquire_wait: no such acquire request");
  }
  std::shared_ptr<AcquireSlot> slot = it->second;
  auto woken = [&] {
    return slot->granted || slot->dropped || !broken_.empty() ||
           (or_pinned && !pinned_.empty());
  };
  bool ok = wait_locked(lock, timeout, woken);
  if (slot->granted) {
    out = std::move(slot->lease);
    acquires_.erase(request);
    return Acquired::granted;
  }
  if (slot->dropped || !broken_.empty()) {
    acquires_.erase(request);
    lock.unlock();
    throw_dropped_reason();
  }
  return ok ? Acquired::pinned : Acquired::timeout;
}

void Client::acquire_cancel(std::uint64_t request) {
  Lease granted;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = acquires_.find(request);
    if (it == acquires_.end()) return;
    std::shared_ptr<AcquireSlot> slot = it->second;
    acquires_.erase(it);
    slot->abandoned = true;
    if (!slot->granted || !broken_.empty()) return;  // on_granted releases
    granted = std::move(slot->lease);
  }
  if (!granted.taken) return release(granted, nullptr);
  // The value was taken for a caller that gave up: it goes back, after
  // whatever was queued on the cown meanwhile.
  submit({granted.cown}, [value = std::move(granted.value)](Access& a) {
    a.mut(0) = value.data;
    a.set_exception(0, value.exception);
  });
  channel_->flush_urgent();
}

void Client::release(const Lease& lease, const Value* update) {
  std::vector<proto::CownValueRef> updates;
  if (update != nullptr) {
    check_fits("a released cown's value", update->data.size(),
               update->refs.size(), update->blobs.size());
    updates.push_back({lease.cown.id,
                       proto::ValueRef{update->data, update->exception, {},
                                       update->refs, update->blobs}});
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    check_usable_locked();
  }
  // The cown's next behavior waits for this frame: write it now rather
  // than wake the IO thread to write it.
  channel_->send_urgent([&](proto::Encoder& enc) {
    enc.complete(lease.behavior, updates);
  });
}

}  // namespace bocd::client

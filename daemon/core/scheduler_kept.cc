// Scheduler: kept values (docs/protocol.md, Kept values). A worker that
// keeps values holds the decoded objects of the cowns it ran; the core
// models what it holds (Session::kept) from what it dispatched and what
// the worker completed, so a dispatch leaves out the bytes of a value the
// worker holds at the cown's current version.
#include <algorithm>

#include "scheduler.h"

namespace bocd::core {

void Scheduler::plan_values(std::uint32_t b, Session& to) {
  Behavior& bh = behaviors_.at(b);
  bh.versions.clear();
  bh.held.clear();
  bh.forget.clear();
  bh.forget_all = false;
  bh.code_held = bh.code_keep = false;
  bh.forget_code.clear();
  // A behavior taken back from a worker that keeps values may go to one
  // that keeps none: it says nothing of what it sent the first.
  if (to.kept.budget() == 0) return;
  if (bh.code_len > 0) {
    // A code never changes: one version.
    bh.code_held = to.kept_code.dispatch(CownId{bh.code_key}, 1, bh.code_len,
                                         true, bh.code_keep);
  }
  bh.forget_code = to.kept_code.take_forget();
  if (to.kept_code.take_reset()) bh.forget_all = true;
  std::size_t n = bh.requests.size() - (bh.result ? 1 : 0);
  for (std::size_t k = 0; k < n; ++k) {
    const Cown& c = cowns_.at(bh.requests[k].cown);
    bool keep = false;
    bool held = to.kept.dispatch(
        c.id, c.version, c.value.bytes(),
        c.value.refs.empty() && c.value.bytes() >= limits_.keep_min_bytes,
        keep);
    if (k < bh.inherit.size() && bh.inherit[k]) {
      // Pipelined: the value is the one its predecessor leaves there, not
      // the one stored now, and none is sent. Still counted in use above,
      // as any held cown is; kept afterwards if `keep` says, under the
      // version the daemon names next (the worker keeps it as its own).
      if (!held) to.kept.bytes_sent -= c.value.bytes();
      bh.held.push_back(false);
      bh.versions.push_back(held || keep ? c.version : 0);
      continue;
    }
    bh.held.push_back(held);
    bh.versions.push_back(held || keep ? c.version : 0);
  }
  // Taken after the cowns above: their evictions go with this dispatch.
  bh.forget = to.kept.take_forget();
  if (to.kept.take_reset()) bh.forget_all = true;
}

void Scheduler::note_written(Session& e, const Behavior& bh,
                             const std::vector<CownUpdate>& updates,
                             const std::vector<CownId>& dropped) {
  for (std::size_t i = 0; i < updates.size(); ++i) {
    const Cown& c = cowns_.at(scratch_[i]);
    if (c.id == bh.result) continue;
    e.value_bytes_back += c.value.bytes();
    e.kept.wrote(c.id, c.version, c.value.bytes());
    // Elsewhere the value is old now: its holders drop it.
    for (SessionId k : keepers_) {
      if (k != e.id) find_session(k)->kept.forget(c.id);
    }
  }
  for (CownId id : dropped) e.kept.dropped(id);
}

void Scheduler::forget_values(Session& s, const Behavior& bh) {
  if (s.kept.budget() == 0) return;
  std::size_t n = bh.requests.size() - (bh.result ? 1 : 0);
  for (std::size_t k = 0; k < n; ++k) {
    s.kept.forget(cowns_.at(bh.requests[k].cown).id);
  }
}

void Scheduler::release_values(Session& s, const Behavior& bh) {
  if (s.kept.budget() == 0) return;
  if (bh.code_len > 0) s.kept_code.release(CownId{bh.code_key});
  std::size_t n = bh.requests.size() - (bh.result ? 1 : 0);
  for (std::size_t k = 0; k < n; ++k) {
    s.kept.release(cowns_.at(bh.requests[k].cown).id);
  }
}

}  // namespace bocd::core

// Property test of Scheduler: random command sequences from a seed, each
// step checked against the reference model in scheduler_model.h. A failure
// prints the seed; replay it alone with BOCD_SEED=N.
#include <gtest/gtest.h>

#include <cstdlib>
#include <exception>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/scheduler.h"
#include "scheduler_model.h"

namespace bocd::core {
namespace {

using model::Fate;

constexpr std::uint32_t PIPELINE = 2;
// Pipelined dispatch (scheduler_chain.cc): at most this many behind.
constexpr std::uint32_t CHAIN = 3;
constexpr std::uint32_t MAX_COWNS = 3;  // so 4-cown requests are refused
constexpr std::uint64_t MAX_IN_FLIGHT = 12;
#ifndef BOCD_PROPERTY_SEEDS
#define BOCD_PROPERTY_SEEDS 200
#endif
constexpr int SEEDS = BOCD_PROPERTY_SEEDS;
constexpr int STEPS = 2000;

class ModelRun {
 public:
  explicit ModelRun(std::uint64_t seed)
      : rng_(seed),
        sched_(Limits{.max_cowns_per_behavior = MAX_COWNS,
                      .max_in_flight_per_session = MAX_IN_FLIGHT,
                      .worker_pipeline = PIPELINE,
                      // Every credit usable: the model has no run times.
                      .pipeline_below_us = -1,
                      .seed = seed,
                      // The model's values are a few bytes: keep them all.
                      .keep_min_bytes = 0,
                      .chain_depth = CHAIN}) {}

  // Returns "" or the first divergence, with the step that showed it.
  std::string go(int steps) {
    try {
      for (step_ = 0; step_ < steps && fail_.empty(); ++step_) random_step();
      if (fail_.empty()) drain_all();
    } catch (const std::exception& e) {  // the model tripped on bad state
      check(false, std::string("model threw ") + e.what());
    }
    return fail_;
  }

 private:
  std::uint64_t pick(std::uint64_t n) { return rng_() % n; }
  bool chance(int percent) { return static_cast<int>(pick(100)) < percent; }
  template <class T>
  const T& any(const std::vector<T>& v) { return v[pick(v.size())]; }
  void check(bool ok, const std::string& what) {
    if (!ok && fail_.empty()) {
      fail_ = "step " + std::to_string(step_) + " (" + doing_ + "): " + what;
    }
  }
  model::Session& session(SessionId s) { return m_.sessions[s.value]; }

  void random_step() {
    int r = static_cast<int>(pick(100));
    if (m_.open_sessions(false).empty() ||
        (r < 5 && m_.open_sessions(true).size() < 7)) {
      int k = static_cast<int>(pick(100));
      open(k < 65 ? Role::client : k < 90 ? Role::worker : Role::admin);
    } else if (r < 20) {
      create_cown();
    } else if (r < 55) {
      submit();
    } else if (r < 85) {
      complete_one(true);
    } else if (r < 89) {
      close_one();
    } else if (r < 92) {
      quiesce();
    } else if (r < 95) {
      hold();
    } else if (r < 98) {
      drop_cown();
    } else {
      take_back();
    }
    after_command();
  }

  void open(Role role) {
    doing_ = "open session";
    // All from one process: the model lets any session name any cown, as
    // a process's sessions may (scheduler_capability_test covers programs).
    // Some workers keep values, in budgets of a few of the model's values
    // (a handful of bytes each), so they evict often.
    SessionOptions options;
    if (role == Role::worker && chance(50)) options.keep_values = 1 + pick(24);
    SessionGrant g = sched_.open_session(role, PID, "p", options);
    check(m_.sessions.count(g.id.value) == 0, "session id reused");
    model::Session& s = m_.sessions[g.id.value];
    s.grant = g;
    s.role = role;
    s.keeps = options.keep_values > 0;
  }

  // An id no session has created (its range's far end).
  CownId unknown_id(SessionId s, std::uint64_t k) {
    return CownId{session(s).grant.id_base + 900000 + k};
  }

  // Up to two live cowns for a value of `target` (or a payload, when 0) to
  // embed. A value embeds only lower ids but now and then, so that cycles,
  // which leak, stay rare. Sometimes an unknown id, which sets `unknown`.
  std::vector<CownId> random_refs(SessionId s, CownId target, bool& unknown) {
    std::vector<CownId> out;
    if (!chance(30)) return out;
    bool any_id = !target || chance(3);
    for (std::uint64_t k = 0, n = 1 + pick(2); k < n; ++k) {
      if (chance(3)) {
        out.push_back(unknown_id(s, k));
        unknown = true;
        continue;
      }
      if (m_.cowns.empty()) continue;
      CownId c = std::next(m_.cowns.begin(), pick(m_.cowns.size()))->first;
      if (any_id || c < target) out.push_back(c);
    }
    return out;
  }

  void create_cown() {
    if (m_.cowns.size() >= 48) return;
    SessionId s = any(m_.open_sessions(false));
    CownId id{session(s).grant.id_base + session(s).next_id++};
    bool pinned = chance(10);
    bool unknown = false;
    Value v{"c" + std::to_string(id.value), false, Errc::none,
            random_refs(s, id, unknown)};
    doing_ = "create cown";
    Status st = sched_.create_cown(s, id, v, pinned);
    if (unknown) {
      check(!st.ok() && st.error().code == Errc::unknown_cown,
            "create_cown accepted an unknown ref");
      return;
    }
    check(st.ok(), "create_cown refused a fresh id");
    m_.cowns[id] = model::Cown{s, true, pinned, {}, v, Errc::none, {}};
  }

  // Builds a random request (possibly nested, possibly invalid), predicts
  // every reason the core may give to refuse it, and compares.
  void submit() {
    SessionId from = any(m_.open_sessions(false));
    SubmitRequest r;
    std::vector<std::size_t> parents = m_.running_on(from);
    if (!parents.empty() && chance(40)) {
      r.parent = m_.behaviors[any(parents)].id;
    }
    SessionId owner =
        r.parent ? m_.behaviors[m_.by_id.at(r.parent.value)].session : from;
    std::set<Errc> refuse;
    if (!session(owner).open) refuse.insert(Errc::session_closed);
    if (m_.count(owner) >= MAX_IN_FLIGHT) {
      refuse.insert(Errc::too_many_in_flight);
    }
    std::uint64_t n = pick(5);
    std::set<std::uint64_t> pinned_owners;
    for (std::uint64_t k = 0; k < n; ++k) {
      CownId c{session(from).grant.id_base + 900000 + k};  // never created
      if (!m_.cowns.empty() && !chance(4)) {
        c = std::next(m_.cowns.begin(), pick(m_.cowns.size()))->first;
      }
      r.cowns.push_back(c);
      auto it = m_.cowns.find(c);
      if (it == m_.cowns.end()) {
        refuse.insert(Errc::unknown_cown);
      } else if (it->second.pinned) {
        pinned_owners.insert(it->second.owner.value);
      }
    }
    if (pinned_owners.size() > 1) refuse.insert(Errc::mixed_pinned_owners);
    std::set<CownId> distinct(r.cowns.begin(), r.cowns.end());
    if (distinct.size() > MAX_COWNS) refuse.insert(Errc::too_many_cowns);
    // Over the limit only if duplicates count: the contract does not say
    // whether they do, so either answer is accepted.
    bool may_refuse = n > MAX_COWNS;
    if (chance(30)) {
      r.result = CownId{session(from).grant.id_base + session(from).next_id++};
      if (!m_.cowns.empty() && chance(5)) {
        r.result = m_.cowns.begin()->first;  // taken, maybe not even ours
        refuse.insert(Errc::cown_exists);
        refuse.insert(Errc::cown_out_of_range);
      }
    }
    r.run_on_submitter = chance(30);
    if (r.run_on_submitter && pinned_owners.size() == 1 &&
        *pinned_owners.begin() != from.value) {
      refuse.insert(Errc::not_permitted);  // the body lives in the submitter
    }
    r.tag = rng_();
    r.payload = "b" + std::to_string(m_.behaviors.size());
    bool unknown = false;
    r.refs = random_refs(from, CownId{}, unknown);
    if (unknown) refuse.insert(Errc::unknown_cown);
    model::Behavior b;
    b.session = owner;
    b.submitter = from;
    b.executor = !pinned_owners.empty() ? SessionId{*pinned_owners.begin()}
                 : r.run_on_submitter   ? from
                                        : SessionId{};
    b.result = r.result;
    b.cowns = r.cowns;
    b.tag = r.tag;
    b.payload = r.payload;
    b.refs = r.refs;
    doing_ = "submit " + std::to_string(n) + " cowns";
    Result<BehaviorId> got = sched_.submit(from, r);
    std::string why = got.ok() ? "" : got.error().message;
    if (may_refuse) {
      if (!got.ok() && got.error().code == Errc::too_many_cowns) return;
      if (!refuse.empty()) refuse.insert(Errc::too_many_cowns);
    }
    if (got.ok() && got.value() == BehaviorId{}) {
      // Pinned cowns of two owners with a result cown: the error is
      // stored there and nothing runs.
      check(refuse.count(Errc::mixed_pinned_owners) && r.result,
            "a submit failed onto a result cown without mixed owners");
      m_.cowns[r.result] = model::Cown{from, true, false, {}, Value{},
                                       Errc::mixed_pinned_owners, {}};
      return;
    }
    if (!refuse.empty()) {
      check(!got.ok(), "accepted a submit that should be refused");
      check(got.ok() || refuse.count(got.error().code),
            "wrong refusal: " + why);
      return;
    }
    check(got.ok(), "refused a valid submit: " + why);
    if (!got.ok()) return;
    b.id = got.value();
    m_.accept(std::move(b));
  }

  // Completes a random running behavior with random updates; sometimes
  // first tries a complete the core must refuse without changing anything.
  void complete_one(bool with_refusals) {
    std::vector<std::size_t> running;
    for (std::size_t i : m_.live) {
      if (m_.behaviors[i].running) running.push_back(i);
    }
    if (running.empty()) return;
    std::size_t i = any(running);
    const model::Behavior& b = m_.behaviors[i];
    doing_ = "complete behavior " + std::to_string(i);
    if (!m_.granted(i)) {
      // Pipelined: its worker completes what it runs first.
      std::vector<CownUpdate> none;
      Status st = sched_.complete(b.running_on, b.id, none);
      check(!st.ok() && st.error().code == Errc::not_permitted,
            "a pipelined behavior completed before its predecessors");
      DispatchView v;
      check(sched_.view(b.id, v), "a refused complete stopped the behavior");
      return;
    }
    if (with_refusals && chance(10)) return refuse_complete(b);
    std::vector<CownUpdate> updates;
    bool unknown = false;
    for (CownId c : b.cowns) {
      if (!chance(50)) continue;
      Value v{"v" + std::to_string(pick(1000)), chance(10), Errc::none,
              random_refs(b.running_on, c, unknown)};
      updates.push_back(CownUpdate{c, v});
    }
    // A worker that keeps values drops those that embed cowns, and all of
    // them now and then (a body that raised).
    std::vector<CownId> dropped;
    model::Session& e = session(b.running_on);
    bool raised = e.keeps && chance(10);
    for (CownId c : b.cowns) {
      if (!e.keeps || c == b.result) continue;
      auto u = std::find_if(updates.begin(), updates.end(),
                            [c](const CownUpdate& x) { return x.id == c; });
      if (raised || (u != updates.end() && !u->value.refs.empty())) {
        dropped.push_back(c);
      }
    }
    std::vector<CownUpdate> sent = updates;  // complete() moves from them
    Status st = sched_.complete(b.running_on, b.id, sent, std::nullopt,
                                dropped);
    if (unknown) {
      check(!st.ok() && st.error().code == Errc::unknown_cown,
            "a complete embedding an unknown cown not refused");
      DispatchView v;
      check(sched_.view(b.id, v), "a refused complete stopped the behavior");
      return;
    }
    check(st.ok(),
          "refused a valid complete: " + (st ? "" : st.error().message));
    for (const CownUpdate& u : updates) {
      m_.cowns.at(u.id).value = u.value;
      m_.cowns.at(u.id).daemon_error = Errc::none;
      // The worker keeps the object it wrote, where it kept the cown.
      auto k = e.kept.find(u.id);
      if (k != e.kept.end()) k->second = {u.value, Errc::none};
    }
    // What it inherited, the worker keeps as the value it left.
    for (CownId c : b.inherited_kept) {
      e.kept[c] = {m_.cowns.at(c).value, m_.cowns.at(c).daemon_error};
    }
    for (CownId c : dropped) e.kept.erase(c);
    m_.finish(i, Fate::completed, Errc::none);
  }

  // A complete from another session, updating a cown outside the set, or
  // embedding a cown that does not exist.
  void refuse_complete(const model::Behavior& b) {
    std::vector<SessionId> others = m_.open_sessions(true);
    std::erase(others, b.running_on);
    std::vector<CownUpdate> updates;
    SessionId by = b.running_on;
    Errc code = Errc::not_permitted;
    if (chance(50) && !others.empty()) {
      by = any(others);
      code = Errc::unknown_behavior;
    } else if (!b.cowns.empty() && chance(40)) {
      Value v{"bad ref", false, Errc::none, {unknown_id(by, 0)}};
      updates.push_back(CownUpdate{b.cowns.back(), v});
      code = Errc::unknown_cown;
    } else {
      for (const auto& [id, c] : m_.cowns) {
        if (std::find(b.cowns.begin(), b.cowns.end(), id) == b.cowns.end()) {
          updates.push_back(CownUpdate{id, Value{"bad"}});
          break;
        }
      }
      if (updates.empty()) return;
    }
    Status st = sched_.complete(by, b.id, updates);
    check(!st.ok() && st.error().code == code, "a bad complete not refused");
    DispatchView v;
    check(sched_.view(b.id, v), "a refused complete stopped the behavior");
  }

  // A worker says one of its bodies blocks: what it was sent after that
  // one comes back (a body that has ended gives nothing back).
  void take_back() {
    std::vector<SessionId> workers;
    for (SessionId s : m_.open_sessions(false)) {
      if (session(s).role == Role::worker && !session(s).order.empty()) {
        workers.push_back(s);
      }
    }
    if (workers.empty()) return;
    SessionId w = any(workers);
    model::Session& ws = session(w);
    std::size_t at = pick(ws.order.size());
    BehaviorId b = ws.order[at];
    doing_ = "take back after " + std::to_string(b.value);
    std::vector<BehaviorId> expect(ws.order.begin() + at + 1, ws.order.end());
    Result<std::vector<BehaviorId>> got = sched_.take_back(w, b);
    check(got.ok() && got.value() == expect,
          "take_back gave back other than what followed");
    for (BehaviorId later : expect) {
      model::Behavior& lb = m_.behaviors[m_.by_id.at(later.value)];
      lb.running = false;
      lb.inherited_kept.clear();
      lb.running_on = SessionId{};
      --ws.pool_running;
    }
    ws.order.resize(at + 1);
    ws.stalled = b;
    // It drops the dispatches taken back unread, and with them what they
    // said to keep or forget: the daemon starts it afresh (forget_all).
    if (!expect.empty()) ws.kept.clear();
  }

  void close_one() {
    SessionId s = any(m_.open_sessions(true));
    doing_ = "close session " + std::to_string(s.value);
    sched_.close_session(s);
    m_.close(s);
  }

  void quiesce() {
    SessionId s = any(m_.open_sessions(true));
    std::uint64_t request = ++next_request_;
    doing_ = "quiesce " + std::to_string(s.value);
    sched_.quiesce(s, request);
    if (session(s).role == Role::admin) {
      m_.admin_waiters.emplace_back(s, request);
    } else {
      session(s).waiters.push_back(request);
    }
  }

  // A session takes handles on live cowns (repeats, its own, and now and
  // then an unknown id among them).
  void hold() {
    SessionId s = any(m_.open_sessions(false));
    std::vector<CownId> ids;
    bool unknown = false;
    for (std::uint64_t k = 0, n = 1 + pick(3); k < n; ++k) {
      if (chance(10) || m_.cowns.empty()) {
        ids.push_back(unknown_id(s, k));
        unknown = true;
      } else {
        ids.push_back(std::next(m_.cowns.begin(), pick(m_.cowns.size()))->first);
      }
    }
    doing_ = "hold " + std::to_string(ids.size()) + " cowns";
    Status st = sched_.hold_cowns(s, ids);
    check(unknown ? !st.ok() && st.error().code == Errc::unknown_cown : st.ok(),
          "hold_cowns answered wrongly");
    for (CownId c : ids) {
      if (m_.cowns.count(c)) m_.hold(c, s);
    }
  }

  // Drops a handle (an owner's or a held one); now and then tries one a
  // session does not have, which must be refused.
  void drop_cown() {
    std::vector<std::pair<SessionId, CownId>> handles;
    for (const auto& [id, c] : m_.cowns) {
      if (c.handle) handles.emplace_back(c.owner, id);
      for (SessionId h : c.holders) handles.emplace_back(h, id);
    }
    if (chance(10) && !m_.cowns.empty()) {
      SessionId s = any(m_.open_sessions(false));
      CownId c = std::next(m_.cowns.begin(), pick(m_.cowns.size()))->first;
      if (std::find(handles.begin(), handles.end(), std::make_pair(s, c)) ==
          handles.end()) {
        doing_ = "drop a cown without a handle";
        Status st = sched_.drop_cown(s, c);
        check(!st.ok() && st.error().code == Errc::not_permitted,
              "drop_cown without a handle not refused");
        return;
      }
    }
    if (handles.empty()) return;
    auto [s, c] = any(handles);
    doing_ = "drop cown";
    check(sched_.drop_cown(s, c).ok(), "drop_cown refused");
    m_.drop(c, s);
  }

  // ---- checks after every command ----
  void after_command() {
    m_.settle();
    m_.collect();
    std::vector<std::pair<std::uint64_t, std::uint64_t>> quiesced;
    std::set<std::uint64_t> pinned_freed;
    for (Event& e : sched_.take_events()) {
      if (auto* d = std::get_if<DispatchEvent>(&e)) {
        dispatched(*d);
      } else if (auto* q = std::get_if<QuiescedEvent>(&e)) {
        quiesced.emplace_back(q->to.value, q->request);
      } else if (auto* f = std::get_if<PinnedFreedEvent>(&e)) {
        check(m_.cowns.count(f->id) == 0 && f->owner.value != 0,
              "a PinnedFreedEvent for a cown the model keeps");
        pinned_freed.insert(f->id.value);
      } else if (auto* u = std::get_if<UnhandledEvent>(&e)) {
        check(m_.cowns.count(u->id) == 0,
              "an UnhandledEvent for a cown the model keeps");
      } else if (std::holds_alternative<SpawnWorkerEvent>(e) ||
                 std::holds_alternative<RetireWorkerEvent>(e)) {
        check(false, "worker events, though the daemon starts no workers");
      } else {
        check(false, "a FailedEvent, though no value nears the size limit");
      }
    }
    std::sort(quiesced.begin(), quiesced.end());
    check(quiesced == m_.take_quiesced(),
          "quiesce events differ from the sessions that reached zero");
    check(pinned_freed == m_.pinned_freed,
          "pinned-freed events differ from the pinned cowns the model freed");
    m_.pinned_freed.clear();
    check_state();
    check(m_.error.empty(), "model: " + m_.error);
  }

  void dispatched(const DispatchEvent& d) {
    auto it = m_.by_id.find(d.behavior.value);
    check(it != m_.by_id.end(), "dispatch of an unknown behavior");
    if (it == m_.by_id.end()) return;
    model::Behavior& b = m_.behaviors[it->second];
    check(b.fate == Fate::live && !b.running, "dispatched twice or too late");
    check(!b.cancelled, "dispatched a cancelled behavior");
    bool granted = m_.granted(it->second);
    // Else pipelined: each cown it lacks is held by a behavior running on
    // the worker it goes to, a worker that keeps values.
    std::vector<bool> inherits(b.cowns.size(), false);
    for (std::size_t k = 0; !granted && k < b.cowns.size(); ++k) {
      if (m_.cowns.at(b.cowns[k]).queue.front() == it->second) continue;
      const model::Behavior& p =
          m_.behaviors[m_.before(it->second, b.cowns[k])];
      check(!b.executor && session(d.to).keeps && p.running &&
                p.running_on == d.to,
            "dispatched before heading its queues, not behind its worker's");
      inherits[k] = true;
    }
    if (b.executor) {
      check(d.to == b.executor, "dispatched to another than its executor");
    } else {
      model::Session& w = session(d.to);
      check(w.open && w.role == Role::worker, "pool work sent to a non-worker");
      check(++w.pool_running <= (granted ? PIPELINE : CHAIN + 1),
            "worker sent over worker_pipeline or chain_depth");
      check(w.pool_running == 1 || !w.stalled,
            "a stalled worker was sent more");
      w.order.push_back(d.behavior);
    }
    b.running = true;
    b.running_on = d.to;
    DispatchView v;
    check(sched_.view(b.id, v), "view of a dispatched behavior failed");
    check(v.session == b.session && v.tag == b.tag && v.payload == b.payload &&
              v.result == b.result,
          "view disagrees with the submit");
    std::size_t n = b.cowns.size() - (b.result ? 1 : 0);
    check(v.cowns.size() == n, "view has the wrong number of cowns");
    for (std::size_t k = 0; k < std::min(n, v.cowns.size()); ++k) {
      check(v.cowns[k].first == b.cowns[k], "view cowns not sorted, unique");
      bool inherit = k < v.inherit.size() && v.inherit[k];
      check(inherit == inherits[k], "inherit differs from the queues");
      check(inherit ||
                model::Model::same(*v.cowns[k].second, m_.cowns.at(b.cowns[k])),
            "view shows a stale value");
    }
    follow_kept(session(d.to), b, v, n);
  }

  // What a worker that keeps values does with a dispatch: drops what it
  // is told to, runs over the values it holds (which must be the
  // committed ones: no stale object is ever used) and keeps those sent
  // with a version.
  void follow_kept(model::Session& w, model::Behavior& b,
                   const DispatchView& v, std::size_t n) {
    if (!w.keeps) {
      check(v.versions.empty() && v.forget.empty() && !v.forget_all,
            "kept values told to a session that keeps none");
      return;
    }
    check(v.versions.size() == n && v.held.size() == n,
          "a keeper's dispatch without a version per value");
    if (v.forget_all) w.kept.clear();
    for (CownId c : v.forget) w.kept.erase(c);
    for (std::size_t k = 0; k < std::min(n, v.versions.size()); ++k) {
      const model::Cown& now = m_.cowns.at(b.cowns[k]);
      auto it = w.kept.find(b.cowns[k]);
      if (k < v.inherit.size() && v.inherit[k]) {
        // Its value is what its predecessor leaves: known when it ends.
        check(!v.held[k], "an inherited value sent as held");
        if (it != w.kept.end()) w.kept.erase(it);
        if (v.versions[k] != 0) b.inherited_kept.push_back(b.cowns[k]);
      } else if (v.held[k]) {
        check(it != w.kept.end(), "sent as held, but the worker keeps none");
        check(it == w.kept.end() || (it->second.first == now.value &&
                                     it->second.second == now.daemon_error),
              "sent as held, but the worker keeps a stale value");
      } else if (v.versions[k] != 0) {
        w.kept[b.cowns[k]] = {now.value, now.daemon_error};
      } else {
        check(it == w.kept.end(), "a value not kept left kept");
      }
    }
  }

  void check_state() {
    std::set<CownId> held;
    bool pool_waiting = false;
    for (std::size_t i : m_.live) {
      const model::Behavior& b = m_.behaviors[i];
      if (b.running && m_.granted(i)) {
        for (CownId c : b.cowns) {
          check(held.insert(c).second, "two running behaviors share a cown");
        }
      } else if (m_.granted(i)) {
        check(!b.executor, "granted, has an open executor, not dispatched");
        pool_waiting = true;
      }
    }
    auto per_session = m_.counts();
    for (const auto& [id, s] : m_.sessions) {
      if (pool_waiting && s.open && s.role == Role::worker && !s.stalled) {
        check(s.pool_running >= PIPELINE, "pool work waits, a worker idles");
      }
      check(sched_.in_flight(SessionId{id}) == per_session[id],
            "in_flight of session " + std::to_string(id));
    }
    check(sched_.in_flight() == m_.live.size(), "daemon in_flight");
    check(sched_.live_behaviors() == m_.live.size(), "live_behaviors");
    check(sched_.cown_count() == m_.cowns.size(), "cown_count");
    for (const auto& [id, c] : m_.cowns) {
      const Value* v = sched_.value_of(id);
      check(v != nullptr && model::Model::same(*v, c), "value_of differs");
    }
    std::string broken = sched_.check_invariants();
    check(broken.empty(), "check_invariants: " + broken);
  }

  // Shutdown: no new work, run everything left, nothing may leak.
  void drain_all() {
    doing_ = "drain";
    sched_.close_terminators();
    if (m_.open_sessions(false).empty()) open(Role::client);
    Result<BehaviorId> late =
        sched_.submit(any(m_.open_sessions(false)), SubmitRequest{});
    check(!late.ok() && late.error().code == Errc::shutting_down,
          "submit accepted after close_terminators");
    for (int guard = 0; guard < 100000 && !m_.live.empty() && fail_.empty();
         ++guard, ++step_) {
      bool running = false, pool_waiting = false;
      for (std::size_t i : m_.live) {
        running |= m_.behaviors[i].running;
        pool_waiting |= !m_.behaviors[i].executor && m_.granted(i);
      }
      if (running) {
        complete_one(false);
      } else {
        // Only pool work may wait (for a worker); anything else is stuck.
        check(pool_waiting, "stuck: behaviors left and none can run");
        open(Role::worker);
      }
      after_command();
    }
    for (const model::Behavior& b : m_.behaviors) {
      check(b.fate != Fate::live, "a behavior never finished");
    }
    check(sched_.completed() == m_.behaviors.size(), "completed() != submits");
    check(sched_.in_flight() == 0 && sched_.live_behaviors() == 0, "in flight");
    for (SessionId s : m_.open_sessions(true)) {
      sched_.close_session(s);
      m_.close(s);
    }
    sched_.close_session(anchor_);
    m_.collect();
    check(sched_.take_events().empty(), "events after the last behavior");
    // Only cycles of values embedding each other may stay (a known limit).
    check(sched_.cown_count() == m_.cowns.size(),
          "cowns leaked after every session closed");
    check(sched_.session_count() == 0, "sessions leaked");
    check(sched_.check_invariants().empty(), "final invariants");
  }

  std::mt19937_64 rng_;
  Scheduler sched_;
  // Open from start to end, so the process's sessions stay one program
  // while the model's come and go (a process with no session left is
  // gone: a later one with its pid is another program).
  static constexpr std::int32_t PID = 1;
  SessionId anchor_ = sched_.open_session(Role::admin, PID, "anchor").id;
  model::Model m_;
  int step_ = 0;
  std::string doing_, fail_;
  std::uint64_t next_request_ = 0;
};

TEST(SchedulerPropertyTest, RandomCommandsKeepOrderingAndLeakNothing) {
  std::vector<std::uint64_t> seeds;
  if (const char* env = std::getenv("BOCD_SEED")) {
    seeds.push_back(std::strtoull(env, nullptr, 10));
  } else {
    for (std::uint64_t s = 1; s <= SEEDS; ++s) seeds.push_back(s);
  }
  int failed = 0;
  for (std::uint64_t seed : seeds) {
    std::string err = ModelRun(seed).go(STEPS);
    if (err.empty()) continue;
    if (failed++ == 0) {
      ADD_FAILURE() << err << "\nreplay with BOCD_SEED=" << seed;
    }
  }
  EXPECT_EQ(failed, 0) << "seeds failed out of " << seeds.size();
}

}  // namespace
}  // namespace bocd::core

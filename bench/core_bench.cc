// Scheduling-core throughput: behaviors per second through submit, grant,
// dispatch and complete, on one thread, for 1-, 2- and 4-cown request sets.
// Behaviors are submitted in batches over a pool of cowns so that queues
// really form (each batch overlaps the one before) and then completed in
// dispatch order, as an executor would.
//
//   ./build/bench/core_bench --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include <variant>
#include <vector>

#include "core/core.h"

namespace {

using namespace bocd::core;

void run(benchmark::State& state, std::size_t cowns_per_behavior,
         bool with_result) {
  Scheduler s;
  SessionGrant g = s.open_session(Role::client, 1, "bench");
  constexpr std::size_t POOL = 4096;
  constexpr std::size_t BATCH = 256;
  std::vector<CownId> pool;
  for (std::size_t i = 1; i <= POOL; ++i) {
    pool.push_back(CownId{g.id_base + i});
    s.create_cown(g.id, pool.back(), Value{"0"}, false);
  }
  std::uint64_t next_id = POOL + 1;
  std::vector<CownUpdate> no_updates;
  std::vector<BehaviorId> running;
  std::vector<Event> events;
  std::size_t cursor = 0;
  std::uint64_t done = 0;
  SubmitRequest r;
  r.run_on_submitter = true;
  for (auto _ : state) {
    for (std::size_t i = 0; i < BATCH; ++i) {
      r.cowns.clear();
      for (std::size_t k = 0; k < cowns_per_behavior; ++k) {
        // Stride so that consecutive behaviors share some cowns.
        r.cowns.push_back(pool[(cursor + k * 7) % POOL]);
      }
      cursor += 3;
      if (with_result) {
        r.result = CownId{g.id_base + next_id++};
      }
      auto b = s.submit(g.id, r);
      if (with_result) s.drop_cown(g.id, r.result);
      benchmark::DoNotOptimize(b);
    }
    while (s.in_flight() > 0) {
      s.take_events(events);
      for (const Event& e : events) {
        if (auto* d = std::get_if<DispatchEvent>(&e)) {
          running.push_back(d->behavior);
        }
      }
      for (BehaviorId b : running) s.complete(g.id, b, no_updates);
      done += running.size();
      running.clear();
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(done));
  state.counters["behaviors_per_s"] = benchmark::Counter(
      static_cast<double>(done), benchmark::Counter::kIsRate);
}

void BM_Core1Cown(benchmark::State& st) { run(st, 1, false); }
void BM_Core2Cowns(benchmark::State& st) { run(st, 2, false); }
void BM_Core4Cowns(benchmark::State& st) { run(st, 4, false); }
void BM_Core2CownsWithResult(benchmark::State& st) { run(st, 2, true); }

}  // namespace

BENCHMARK(BM_Core1Cown);
BENCHMARK(BM_Core2Cowns);
BENCHMARK(BM_Core4Cowns);
BENCHMARK(BM_Core2CownsWithResult);
BENCHMARK_MAIN();

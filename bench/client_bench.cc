// Behaviors per second through a real daemon from C++ clients: submit N
// one-cown behaviors (pipelined) over a pool of cowns, each body bumping a
// small counter, and wait for all. Run from one client, then from two
// clients at once (threads, one session each).
//
//   ./build/bench/client_bench [--behaviors N] [--socket PATH]
//
// Without --socket it starts a private daemon (build/daemon/bocd) on a
// temp socket and stops it at the end.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "bocd/client/client.h"

namespace {

using bocd::client::Access;
using bocd::client::Client;
using bocd::client::CownRef;
using Clock = std::chrono::steady_clock;

// Submits `n` behaviors over `cowns` cowns from one client; returns the
// seconds from first submit to the end of wait().
double run_client(const std::string& socket, long n, int cowns) {
  Client c({socket, "client_bench"});
  std::vector<CownRef> pool;
  for (int i = 0; i < cowns; ++i) pool.push_back(c.create(std::string(8, '\0')));
  c.wait();
  auto start = Clock::now();
  for (long i = 0; i < n; ++i) {
    c.submit({pool[i % cowns]}, [](Access& a) { ++a.mut(0)[0]; });
  }
  c.wait();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Schedules one behavior and waits for its result, `n` times in a row;
// prints the median and 99th percentile of the round trip.
void round_trips(const std::string& socket, int n) {
  Client c({socket, "client_bench"});
  CownRef x = c.create("0");
  std::vector<double> us;
  us.reserve(n);
  for (int i = 0; i < n; ++i) {
    auto start = Clock::now();
    CownRef r = c.submit_with_result({x}, [](Access& a) { a.set_result("1"); });
    c.read(r);
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start)
                     .count());
    c.drop(r);
  }
  std::sort(us.begin(), us.end());
  std::printf("%-32s %9d round trips: median %.1f us, p99 %.1f us\n",
              "1 client, schedule+read", n, us[us.size() / 2],
              us[us.size() * 99 / 100]);
}

void report(const char* what, long n, double secs) {
  std::printf("%-32s %9ld behaviors in %7.3f s = %10.0f behaviors/s\n", what,
              n, secs, n / secs);
}

}  // namespace

int main(int argc, char** argv) {
  long n = 1000000;
  std::string socket;
  std::string only;  // --only one|serial|latency|two: just that phase
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--behaviors")) n = std::atol(argv[i + 1]);
    if (!std::strcmp(argv[i], "--socket")) socket = argv[i + 1];
    if (!std::strcmp(argv[i], "--only")) only = argv[i + 1];
  }
  auto wanted = [&](const char* phase) { return only.empty() || only == phase; };
  std::string bocd = BOCD_BINARY;
  bool own = socket.empty();
  if (own) {
    char tmpl[] = "/tmp/bocd-bench-XXXXXX";
    socket = std::string(::mkdtemp(tmpl)) + "/bocd.sock";
    // `bocd serve` returns once the daemon is listening.
    std::string cmd = bocd + " serve --socket " + socket + " >/dev/null";
    if (std::system(cmd.c_str()) != 0) {
      std::fprintf(stderr, "could not start %s\n", bocd.c_str());
      return 1;
    }
  }
  std::printf("bocd client benchmark: %ld one-cown behaviors, socket %s, "
              "%u cores\n", n, socket.c_str(),
              std::thread::hardware_concurrency());
  run_client(socket, n / 10, 1024);  // warm-up
  double one = 0;
  if (wanted("one")) {
    one = run_client(socket, n, 1024);
    report("1 client, 1024 cowns", n, one);
  }
  if (wanted("serial")) {
    // Every behavior waits for the previous one: a round trip each.
    long serial = n / 10;
    report("1 client, 1 cown (serial)", serial, run_client(socket, serial, 1));
  }
  if (wanted("latency")) round_trips(socket, 10000);
  if (wanted("two")) {
  double secs[2];
  auto start = Clock::now();
  std::thread t0([&] { secs[0] = run_client(socket, n / 2, 1024); });
  std::thread t1([&] { secs[1] = run_client(socket, n / 2, 1024); });
  t0.join();
  t1.join();
  double two = std::chrono::duration<double>(Clock::now() - start).count();
  report("2 clients, 1024 cowns each", n, two);
  if (one > 0) std::printf("ratio 2 clients / 1 client: %.2f\n", one / two);
  }
  if (one > 0) {
    std::printf("target: >= 500000 behaviors/s from one client: %s\n",
                n / one >= 500000 ? "met" : "NOT met");
  }
  if (own) {
    std::string cmd = bocd + " stop --socket " + socket + " >/dev/null";
    (void)!std::system(cmd.c_str());
  }
  return 0;
}

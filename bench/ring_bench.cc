// One-way hand-off latency and throughput of the shared-memory ring
// (bocd/proto/ring.h) between two processes (fork), for several spin
// budgets of SpinThenPark, on an idle machine and with busy processes
// competing for the cores. Prints a table; run by hand, never a test.
//
//   ring_bench [SECONDS_PER_CELL] [BUSY_PROCESSES]   (default 1 s, 4)
//
// Latency: the parent writes an 8-byte frame, the child echoes it on the
// other ring; one-way is half the round trip (p50, p99 over the cell).
// Throughput: the parent streams 64-byte frames; the child reassembles
// them with FrameBuffer and counts them.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "bocd/proto/framing.h"
#include "bocd/proto/ring.h"
#include "bocd/proto/segment.h"
#include "bocd/proto/wake.h"

namespace {

using namespace bocd::proto;
using Clock = std::chrono::steady_clock;

constexpr std::uint32_t STOP_BODY = 1;  // a 1-byte frame ends a run
constexpr std::size_t PAYLOAD = 64;

// One session's transport as both processes see it after the fork: the
// parent plays the program (writes to-daemon), the child the daemon.
struct Transport {
  Segment segment = Segment::create(DEFAULT_RING_CAPACITY);
  UniqueFd parent_wake = make_wake_fd();
  UniqueFd child_wake = make_wake_fd();
};

struct Ends {
  RingWriter writer;
  RingReader reader;
  int own_wake;
};

Ends parent_ends(Transport& t) {
  return {RingWriter(t.segment.to_daemon(), t.child_wake.get()),
          RingReader(t.segment.from_daemon(), t.child_wake.get()),
          t.parent_wake.get()};
}

Ends child_ends(Transport& t) {
  return {RingWriter(t.segment.from_daemon(), t.parent_wake.get()),
          RingReader(t.segment.to_daemon(), t.parent_wake.get()),
          t.child_wake.get()};
}

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "ring_bench: %s\n", what);
  std::_Exit(1);
}

void write_all(Ends& e, const SpinThenPark& waits,
               std::span<const std::uint8_t> bytes) {
  while (!bytes.empty()) {
    RingResult r = e.writer.try_write(bytes);
    if (!r.ok()) die(describe(r.error));
    bytes = bytes.subspan(r.bytes);
    if (r.bytes > 0) {
      e.writer.wake_peer_if_parked();
    } else {
      waits.wait_writable(e.writer, e.own_wake);
    }
  }
}

// The next frame's body (copied into `out`), waiting as needed.
void read_frame(Ends& e, const SpinThenPark& waits, FrameBuffer& frames,
                std::vector<std::uint8_t>& out) {
  std::span<const std::uint8_t> body;
  while (frames.next(body) != FrameBuffer::Next::frame) {
    RingResult r = e.reader.read_into(frames);
    if (!r.ok()) die(describe(r.error));
    if (r.bytes > 0) {
      e.reader.wake_peer_if_parked();
    } else {
      waits.wait_readable(e.reader, e.own_wake);
    }
  }
  out.assign(body.begin(), body.end());
  frames.pop();
}

std::vector<std::uint8_t> frame_of(std::size_t body_size, std::uint8_t fill) {
  std::vector<std::uint8_t> f;
  append_header(f, static_cast<std::uint32_t>(body_size));
  f.resize(FRAME_HEADER_BYTES + body_size, fill);
  return f;
}

pid_t fork_child() {
  pid_t pid = ::fork();
  if (pid < 0) die("fork");
  if (pid == 0) ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  return pid;
}

void reap(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
}

// The child of a latency run: echoes every frame until the stop frame.
[[noreturn]] void echo_child(Transport& t, std::chrono::nanoseconds spin) {
  Ends e = child_ends(t);
  const SpinThenPark waits(spin);
  FrameBuffer frames;
  std::vector<std::uint8_t> body;
  for (;;) {
    read_frame(e, waits, frames, body);
    write_all(e, waits, frame_of(body.size(), body[0]));
    if (body.size() == STOP_BODY) std::_Exit(0);
  }
}

struct Latency {
  double p50_us = 0;
  double p99_us = 0;
  std::size_t samples = 0;
};

Latency measure_latency(std::chrono::nanoseconds spin, double seconds) {
  Transport t;
  pid_t child = fork_child();
  if (child == 0) echo_child(t, spin);
  Ends e = parent_ends(t);
  const SpinThenPark waits(spin);
  FrameBuffer frames;
  std::vector<std::uint8_t> body;
  std::vector<double> one_way;
  const auto ping = frame_of(8, 7);
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    auto t0 = Clock::now();
    write_all(e, waits, ping);
    read_frame(e, waits, frames, body);
    auto rtt = std::chrono::duration<double, std::micro>(Clock::now() - t0);
    one_way.push_back(rtt.count() / 2);
  }
  write_all(e, waits, frame_of(STOP_BODY, 0));
  read_frame(e, waits, frames, body);
  reap(child);
  std::sort(one_way.begin(), one_way.end());
  Latency l;
  l.samples = one_way.size();
  l.p50_us = one_way[one_way.size() / 2];
  l.p99_us = one_way[one_way.size() * 99 / 100];
  return l;
}

// The child of a throughput run: counts frames until the stop frame, then
// answers with the count.
[[noreturn]] void count_child(Transport& t, std::chrono::nanoseconds spin) {
  Ends e = child_ends(t);
  const SpinThenPark waits(spin);
  FrameBuffer frames;
  std::vector<std::uint8_t> body;
  std::uint64_t count = 0;
  for (;;) {
    read_frame(e, waits, frames, body);
    if (body.size() == STOP_BODY) break;
    ++count;
  }
  std::vector<std::uint8_t> reply;
  append_header(reply, sizeof count);
  reply.resize(FRAME_HEADER_BYTES + sizeof count);
  std::memcpy(reply.data() + FRAME_HEADER_BYTES, &count, sizeof count);
  write_all(e, waits, reply);
  std::_Exit(0);
}

double measure_throughput(std::chrono::nanoseconds spin, double seconds) {
  Transport t;
  pid_t child = fork_child();
  if (child == 0) count_child(t, spin);
  Ends e = parent_ends(t);
  const SpinThenPark waits(spin);
  const auto frame = frame_of(PAYLOAD, 1);
  const auto t0 = Clock::now();
  const auto end = t0 + std::chrono::duration<double>(seconds);
  for (int i = 0;; ++i) {
    // Reading the clock every frame would be most of the cost.
    if (i % 1024 == 0 && Clock::now() >= end) break;
    write_all(e, waits, frame);
  }
  write_all(e, waits, frame_of(STOP_BODY, 0));
  FrameBuffer frames;
  std::vector<std::uint8_t> body;
  read_frame(e, waits, frames, body);
  double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  reap(child);
  std::uint64_t count = 0;
  std::memcpy(&count, body.data(), sizeof count);
  return count / elapsed;
}

std::vector<pid_t> start_busy(int n) {
  std::vector<pid_t> pids;
  for (int i = 0; i < n; ++i) {
    pid_t pid = fork_child();
    if (pid == 0) {
      volatile std::uint64_t x = 0;
      for (;;) x = x + 1;
    }
    pids.push_back(pid);
  }
  return pids;
}

void stop_busy(const std::vector<pid_t>& pids) {
  for (pid_t p : pids) ::kill(p, SIGKILL);
  for (pid_t p : pids) reap(p);
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 1.0;
  int busy_n = argc > 2 ? std::atoi(argv[2]) : 4;
  if (seconds <= 0 || busy_n < 0) die("usage: ring_bench [SECONDS] [BUSY]");
  const int spins_us[] = {0, 5, 20, 50};
  std::printf("ring capacity %llu bytes, %ld cores, %.1f s per cell\n",
              static_cast<unsigned long long>(DEFAULT_RING_CAPACITY),
              ::sysconf(_SC_NPROCESSORS_ONLN), seconds);
  std::printf("%-8s %-6s %12s %12s %10s %14s\n", "spin_us", "busy",
              "one-way p50", "one-way p99", "samples", "64B frames/s");
  for (int busy : {0, busy_n}) {
    for (int spin_us : spins_us) {
      std::vector<pid_t> hogs = start_busy(busy);
      auto spin = std::chrono::microseconds(spin_us);
      Latency l = measure_latency(spin, seconds);
      double rate = measure_throughput(spin, seconds);
      stop_busy(hogs);
      std::printf("%-8d %-6d %10.2fus %10.2fus %10zu %14.3g\n", spin_us, busy,
                  l.p50_us, l.p99_us, l.samples, rate);
      std::fflush(stdout);
    }
  }
  return 0;
}

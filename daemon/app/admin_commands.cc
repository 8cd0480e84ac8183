#include "admin_commands.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>

#include "bocd/client/admin.h"
#include "exit_codes.h"
#include "json.h"

namespace bocd::app {

using bocd::client::AdminClient;
using bocd::client::DaemonStatus;
using std::chrono::milliseconds;

namespace {

// No bound is a day: long enough for any checkpoint, finite for wait_for.
milliseconds bound(double seconds) {
  if (seconds <= 0) return std::chrono::hours(24);
  return milliseconds(static_cast<long long>(std::ceil(seconds * 1000)));
}

Json to_json(const DaemonStatus& s) {
  double secs = s.uptime_ms / 1000.0;
  Json o = {
      {"version", s.version},
      {"pid", s.pid},
      {"uptime_ms", s.uptime_ms},
      {"workers", s.workers},
      {"cowns", s.cowns},
      {"in_flight", s.in_flight},
      {"behaviors_completed", s.behaviors_completed},
      {"queued", s.queued},
      {"workers_problem", s.workers_problem},
      {"throughput_per_s", secs > 0 ? s.behaviors_completed / secs : 0.0},
      {"sessions", Json::array()},
  };
  for (const auto& x : s.sessions) {
    o["sessions"].push_back({
        {"id", x.id},
        {"role", x.role},
        {"pid", x.pid},
        {"program", x.program},
        {"in_flight", x.in_flight},
        {"ran", x.ran},
        {"running", x.running},
        {"busy_ms", x.busy_us / 1000.0},
        {"pinned_dispatched", x.pinned_dispatched},
        {"pinned_depth", x.pinned_depth},
        {"mean_run_us", x.mean_run_us},
        {"serves", x.serves},
    });
  }
  return o;
}

void print_text(const DaemonStatus& s, const std::string& socket) {
  std::printf("bocd %s on %s, pid %d, up %.1f s\n", s.version.c_str(),
              socket.c_str(), s.pid, s.uptime_ms / 1000.0);
  std::printf(
      "workers %u, cowns %llu, in flight %llu, completed %llu, "
      "queued for workers %llu\n",
      s.workers, static_cast<unsigned long long>(s.cowns),
      static_cast<unsigned long long>(s.in_flight),
      static_cast<unsigned long long>(s.behaviors_completed),
      static_cast<unsigned long long>(s.queued));
  if (!s.workers_problem.empty()) {
    std::printf("workers cannot run behaviors: %s\n",
                s.workers_problem.c_str());
  }
  // RAN/RUNNING/BUSY are as an executor, RUN-US its mean body time ("-"
  // before its first); PINNED is pinned work dispatched to the session, PQ
  // its pinned queue now.
  std::printf("%-8s %-7s %-8s %-10s %-10s %-8s %-10s %-8s %-8s %-4s %s\n",
              "SESSION", "ROLE", "PID", "IN-FLIGHT", "RAN", "RUNNING",
              "BUSY-S", "RUN-US", "PINNED", "PQ", "PROGRAM");
  for (const auto& x : s.sessions) {
    std::string run = x.mean_run_us < 0 ? "-" : std::to_string(x.mean_run_us);
    std::string program = x.program;
    if (x.serves != 0) program += " (for session " + std::to_string(x.serves) + ")";
    std::printf(
        "%-8llu %-7s %-8d %-10llu %-10llu %-8u %-10.3f %-8s %-8llu %-4u %s\n",
        static_cast<unsigned long long>(x.id), x.role.c_str(), x.pid,
        static_cast<unsigned long long>(x.in_flight),
        static_cast<unsigned long long>(x.ran), x.running, x.busy_us / 1e6,
        run.c_str(), static_cast<unsigned long long>(x.pinned_dispatched),
        x.pinned_depth, program.c_str());
  }
}

// Runs `fn` against the daemon, mapping failures to exit codes.
template <class F>
int with_admin(const std::string& socket, F fn) {
  std::optional<AdminClient> admin;
  try {
    admin.emplace(socket);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bocd: %s\n", e.what());
    return EXIT_UNREACHABLE;
  }
  try {
    return fn(*admin);
  } catch (const bocd::client::Timeout& e) {
    std::fprintf(stderr, "bocd: %s\n", e.what());
    return EXIT_TIMEOUT;
  } catch (const bocd::client::ConnectionError& e) {
    std::fprintf(stderr, "bocd: %s\n", e.what());
    return EXIT_UNREACHABLE;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bocd: %s\n", e.what());
    return EXIT_FAILED;
  }
}

}  // namespace

int run_status(const StatusOptions& o) {
  return with_admin(o.socket, [&](AdminClient& admin) {
    DaemonStatus s = admin.status(std::chrono::seconds(10));
    if (o.json) {
      std::printf("%s\n", dump_json(to_json(s)).c_str());
    } else {
      print_text(s, admin.socket());
    }
    return EXIT_OK;
  });
}

int run_quiesce(const QuiesceOptions& o) {
  return with_admin(o.socket, [&](AdminClient& admin) {
    auto start = std::chrono::steady_clock::now();
    try {
      admin.quiesce(bound(o.timeout_s));
    } catch (const bocd::client::Timeout&) {
      std::fprintf(stderr,
                   "bocd: quiesce: behaviors still in flight after %g s\n",
                   o.timeout_s);
      return EXIT_TIMEOUT;
    }
    double waited = std::chrono::duration<double>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    if (o.stats) {
      DaemonStatus s = admin.status(std::chrono::seconds(10));
      if (o.json) {
        Json out = {{"quiesced", true}, {"waited_s", waited},
                    {"status", to_json(s)}};
        std::printf("%s\n", dump_json(out).c_str());
      } else {
        std::printf("quiesced after %.3f s\n", waited);
        print_text(s, admin.socket());
      }
    } else if (o.json) {
      Json out = {{"quiesced", true}, {"waited_s", waited}};
      std::printf("%s\n", dump_json(out).c_str());
    } else {
      std::printf("quiesced after %.3f s\n", waited);
    }
    return EXIT_OK;
  });
}

int run_stop(const StopOptions& o) {
  return with_admin(o.socket, [&](AdminClient& admin) {
    admin.stop(bound(o.timeout_s));
    std::printf("bocd on %s stopped\n", admin.socket().c_str());
    return EXIT_OK;
  });
}

}  // namespace bocd::app

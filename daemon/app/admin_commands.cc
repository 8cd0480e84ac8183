#include "admin_commands.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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
    Json session;
#define BOCD_SESSION_FIELD(name, type) session[#name] = x.name;
#include "bocd_session_fields.inc"
#undef BOCD_SESSION_FIELD
    session["busy_ms"] = x.busy_us / 1000.0;  // kept for existing readers
    o["sessions"].push_back(std::move(session));
  }
  return o;
}

std::string cell(const std::string& s) { return s; }
template <class T>
std::string cell(T number) {
  return std::to_string(number);
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
  // One column per field of the schema's SessionInfo (its comments say
  // what each means), headed by its name, program last: it has spaces.
  std::vector<std::pair<std::string, std::vector<std::string>>> columns;
  auto add = [&](std::string name, auto pick) {
    for (char& c : name) c = c == '_' ? '-' : static_cast<char>(std::toupper(c));
    std::vector<std::string> cells;
    for (const auto& x : s.sessions) cells.push_back(cell(pick(x)));
    columns.emplace_back(std::move(name), std::move(cells));
  };
#define BOCD_SESSION_FIELD(name, type) \
  if (std::string_view(#name) != "program") \
    add(#name, [](const auto& x) { return x.name; });
#include "bocd_session_fields.inc"
#undef BOCD_SESSION_FIELD
  add("program", [](const auto& x) { return x.program; });
  std::vector<std::size_t> widths;
  for (const auto& [name, cells] : columns) {
    std::size_t w = name.size();
    for (const auto& c : cells) w = std::max(w, c.size());
    widths.push_back(w);
  }
  for (std::size_t row = 0; row <= s.sessions.size(); ++row) {
    std::string line;
    for (std::size_t k = 0; k < columns.size(); ++k) {
      const std::string& text =
          row == 0 ? columns[k].first : columns[k].second[row - 1];
      line += text;
      if (k + 1 < columns.size()) line.append(widths[k] + 2 - text.size(), ' ');
    }
    std::printf("%s\n", line.c_str());
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

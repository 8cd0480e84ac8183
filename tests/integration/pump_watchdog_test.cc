// The daemon's pump watchdog (--pump-warn-ms) against the real daemon and
// its JSON log: a program that pumps steadily is never reported, even when
// it always has a pinned behavior outstanding; one that stops pumping is,
// once, with the session, pid, program, age and depth as fields.
#include <unistd.h>

#include <array>
#include <chrono>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "bocd/client/client.h"
#include "daemon_process.h"

namespace bocd::testing {
namespace {

using client::Client;
using client::CownRef;
using std::chrono::milliseconds;
using Waited = Client::Waited;

constexpr milliseconds GUARD{30000};
constexpr int WARN_MS = 100;

bool is_alert(const std::string& line) {
  auto j = nlohmann::json::parse(line, nullptr, false);
  return !j.is_discarded() && j.value("message", "").find(
      "has left pinned work waiting") != std::string::npos;
}

TEST(PumpWatchdog, SteadyPumpingIsNotReportedAndAStallIsWithItsFields) {
  DaemonProcess d({"--log-format", "json", "--pump-warn-ms",
                   std::to_string(WARN_MS)});
  Client c({d.socket(), "steady-pumper"});
  std::array<CownRef, 3> pinned{c.create_pinned(), c.create_pinned(),
                                c.create_pinned()};
  auto submit_on = [&](std::size_t k) {
    c.submit_to_workers(std::vector<CownRef>{pinned[k % 3]}, "x", false);
  };
  // Each round submits the next pinned behavior before completing the
  // current one: the daemon always has one outstanding here, for ten
  // times the threshold, while completions keep coming.
  submit_on(0);
  ASSERT_EQ(c.wait_or_pinned(GUARD), Waited::pinned);
  auto start = std::chrono::steady_clock::now();
  std::size_t round = 0;
  while (std::chrono::steady_clock::now() - start <
         milliseconds(10 * WARN_MS)) {
    submit_on(++round);
    ASSERT_TRUE(c.run_pinned([](client::Access&) {}));
    ASSERT_EQ(c.wait_or_pinned(GUARD), Waited::pinned);
  }
  // Now it stops pumping with three outstanding: the current one and one
  // on each other pinned cown. Only this stall may be reported, so the
  // first alert must say depth 3.
  submit_on(round + 1);
  submit_on(round + 2);
  std::optional<std::string> line = d.wait_for_log_line(is_alert, GUARD);
  ASSERT_TRUE(line) << "no alert for the stall";
  auto alert = nlohmann::json::parse(*line);
  EXPECT_EQ(alert["level"], "warning") << *line;
  EXPECT_EQ(alert["depth"], 3) << "the steady phase was reported: " << *line;
  EXPECT_EQ(alert["program"], "steady-pumper");
  EXPECT_EQ(alert["pid"], ::getpid());
  EXPECT_TRUE(alert["session"].is_number_unsigned()) << *line;
  EXPECT_GE(alert["age_ms"].get<std::int64_t>(), WARN_MS);
  EXPECT_NE(alert["message"].get<std::string>().find("steady-pumper"),
            std::string::npos) << "the sentence names the same values";
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(c.run_pinned([](client::Access&) {}));
  EXPECT_EQ(c.wait_or_pinned(GUARD), Waited::quiesced);
}

}  // namespace
}  // namespace bocd::testing

// The bocd command line against a real daemon: status, quiesce and stop,
// their output and their distinct exit codes.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <set>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "bocd/client/client.h"
#include "daemon_process.h"

namespace bocd::testing {
namespace {

TEST(Cli, StatusJsonReportsTheDaemonAndItsSessions) {
  DaemonProcess d({"--workers", "3"});
  client::Client c({d.socket(), "status-probe"});
  auto r = run_bocd({"status", "--json", "--socket", d.socket()});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  auto s = nlohmann::json::parse(r.out);
  EXPECT_EQ(s["workers"], 3) << r.out;
  EXPECT_EQ(s["in_flight"], 0) << r.out;
  EXPECT_EQ(s["pid"], d.pid());
  bool probe = false;
  for (const auto& x : s["sessions"]) {
    EXPECT_NE(x["role"], "admin") << "status lists its own session: " << r.out;
    if (x["program"] == "status-probe") {
      probe = true;
      EXPECT_EQ(x["pid"], ::getpid());
      EXPECT_EQ(x["role"], "client");
      EXPECT_EQ(x["in_flight"], 0);
    }
  }
  EXPECT_TRUE(probe) << r.out;
}

// The fields of the schema's SessionInfo, read from the schema itself (not
// from what the build derives from it).
std::vector<std::string> schema_session_fields() {
  std::ifstream in(std::string(BOCD_SOURCE_DIR) + "/proto/schema/bocd.fbs");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  auto start = text.find("table SessionInfo {");
  auto end = text.find('}', start);
  std::string body = text.substr(start, end - start);
  body = std::regex_replace(body, std::regex("//[^\n]*"), "");
  std::vector<std::string> out;
  std::regex field(R"(([a-z_0-9]+)\s*:)");
  for (std::sregex_iterator i(body.begin(), body.end(), field), e; i != e; ++i) {
    out.push_back((*i)[1]);
  }
  return out;
}

TEST(Cli, StatusTextAndJsonShowEveryFieldOfTheSchemasSessionRecord) {
  std::vector<std::string> fields = schema_session_fields();
  ASSERT_GE(fields.size(), 12u);
  DaemonProcess d;
  client::Client c({d.socket(), "fields"});
  auto r = run_bocd({"status", "--json", "--socket", d.socket()});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto session = nlohmann::json::parse(r.out)["sessions"].at(0);
  auto t = run_bocd({"status", "--socket", d.socket()});
  ASSERT_EQ(t.exit_code, 0) << t.out;
  std::istringstream lines(t.out);
  std::string header;
  while (std::getline(lines, header) && header.rfind("ID ", 0) != 0) {
  }
  std::istringstream words(header);
  std::set<std::string> columns{std::istream_iterator<std::string>(words), {}};
  for (const std::string& f : fields) {
    EXPECT_TRUE(session.contains(f)) << f << " missing from " << session;
    std::string column = f;
    for (char& ch : column) ch = ch == '_' ? '-' : char(std::toupper(ch));
    EXPECT_TRUE(columns.count(column)) << column << " missing from " << t.out;
  }
  EXPECT_EQ(session["program"], "fields");
}

TEST(Cli, QuiesceJsonIsOneObject) {
  DaemonProcess d;
  auto r = run_bocd({"quiesce", "--json", "--stats", "--socket", d.socket(),
                     "--timeout", "5"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  auto q = nlohmann::json::parse(r.out);
  EXPECT_EQ(q["quiesced"], true);
  EXPECT_GE(q["waited_s"].get<double>(), 0.0);
  EXPECT_EQ(q["status"]["in_flight"], 0);
}

TEST(Cli, QuiesceOnAnIdleDaemonExitsZeroAndKeepsServing) {
  DaemonProcess d;
  auto r = run_bocd({"quiesce", "--socket", d.socket(), "--timeout", "5"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(d.alive());
  EXPECT_EQ(run_bocd({"status", "--socket", d.socket()}).exit_code, 0);
}

TEST(Cli, UnreachableDaemonHasItsOwnExitCode) {
  auto r = run_bocd({"status", "--socket", "/tmp/bocd-no-such-dir/x.sock"});
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(r.out.find("/tmp/bocd-no-such-dir/x.sock"), std::string::npos);
}

TEST(Cli, VersionAndHelpNameTheProgram) {
  auto v = run_bocd({"--version"});
  EXPECT_EQ(v.exit_code, 0) << v.out;
  EXPECT_EQ(v.out.rfind("bocd ", 0), 0u) << v.out;
  auto h = run_bocd({"serve", "--help"});
  EXPECT_EQ(h.exit_code, 0) << h.out;
  EXPECT_NE(h.out.find("Usage: bocd serve"), std::string::npos) << h.out;
  EXPECT_NE(h.out.find("--stall-ms UINT:UINT in [0 - 60000]=1"),
            std::string::npos) << "defaults are shown: " << h.out;
}

TEST(Cli, UnwritableLogFileIsAFailureThatSaysSo) {
  char dir[] = "/tmp/bocd-cli-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  std::string socket = std::string(dir) + "/bocd.sock";
  // A directory where the log file should be: no process can open it.
  for (bool foreground : {true, false}) {
    std::vector<std::string> args = {"serve", "--socket", socket,
                                     "--workers", "0", "--log-file", dir};
    if (foreground) args.push_back("--foreground");
    auto r = run_bocd(args);
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_NE(r.out.find("cannot log to " + std::string(dir)),
              std::string::npos) << r.out;
  }
  ::rmdir(dir);
}

TEST(Cli, OwnedDirectoryGoesWithTheDaemon) {
  // A program's private daemon: its directory, socket and log go with it
  // however it is stopped (here SIGTERM, as when its program dies).
  DaemonProcess d({"--owned-dir", DaemonProcess::DIR});
  ASSERT_EQ(::access(d.dir().c_str(), F_OK), 0);
  EXPECT_EQ(d.stop(), 0);
  EXPECT_EQ(::access(d.dir().c_str(), F_OK), -1) << d.dir() << " was left";
}

TEST(Cli, UsageErrorHasItsOwnExitCode) {
  EXPECT_EQ(run_bocd({"status", "--no-such-flag"}).exit_code, 2);
  EXPECT_EQ(run_bocd({"serve", "--log-format", "xml"}).exit_code, 2);
}

TEST(Cli, StopEndsTheDaemonAndRemovesItsSocket) {
  DaemonProcess d;
  auto r = run_bocd({"stop", "--socket", d.socket()});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(d.wait_exit(), 0);
  EXPECT_EQ(::access(d.socket().c_str(), F_OK), -1);
  EXPECT_NE(d.log().find("stop requested by admin"), std::string::npos);
}

TEST(Cli, SecondDaemonOnALiveSocketIsRefused) {
  DaemonProcess d;
  auto r = run_bocd({"serve", "--foreground", "--socket", d.socket()});
  EXPECT_EQ(r.exit_code, 5) << r.out;
  EXPECT_NE(r.out.find("already serving"), std::string::npos) << r.out;
  EXPECT_TRUE(d.alive());
}

TEST(Cli, SigtermStopsGracefullyWithExitZero) {
  DaemonProcess d;
  EXPECT_EQ(d.stop(), 0);
  EXPECT_NE(d.log().find("stopping (SIGTERM)"), std::string::npos);
  EXPECT_EQ(::access(d.socket().c_str(), F_OK), -1);
}

}  // namespace
}  // namespace bocd::testing

namespace bocd::testing {
namespace {

// Every line of a JSON log, parsed; a line that is not one object fails.
std::vector<nlohmann::json> json_lines(const std::string& log) {
  std::vector<nlohmann::json> out;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    EXPECT_TRUE(j.is_object()) << "not one JSON object: " << line;
    out.push_back(std::move(j));
  }
  return out;
}

TEST(Cli, JsonLogLinesAreObjectsWithAZonedTimestamp) {
  DaemonProcess d({"--log-format", "json"});
  { client::Client c({d.socket()}); }  // a program's session: logged at info
  std::vector<nlohmann::json> lines = json_lines(d.log());
  EXPECT_GE(lines.size(), 3u);
  // 2026-12-07T02:10:00.123456Z: ISO 8601, UTC, microseconds.
  std::regex iso(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)");
  bool connected = false;
  for (const auto& j : lines) {
    EXPECT_TRUE(std::regex_match(j.value("ts", ""), iso)) << j;
    EXPECT_TRUE(j["level"].is_string()) << j;
    EXPECT_TRUE(j["message"].is_string()) << j;
    connected |= j["logger"] == "server" &&
                 j["message"].get<std::string>().rfind("session 1 connected",
                                                       0) == 0;
  }
  EXPECT_TRUE(connected) << d.log();
}

// A program's name is bytes it chose: quotes, backslashes, newlines,
// control characters, invalid UTF-8. Both JSON outputs stay one valid
// object, with invalid bytes replaced by U+FFFD and the rest intact.
TEST(Cli, JsonEscapesAnyProgramName) {
  const std::string name = "q\"uote b\\ack\nnew\tline\x01" "ctl \xff\xfe bad";
  const std::string shown =
      "q\"uote b\\ack\nnew\tline\x01" "ctl \xEF\xBF\xBD\xEF\xBF\xBD bad";
  DaemonProcess d({"--log-format", "json"});
  client::Client c({d.socket(), name});
  auto r = run_bocd({"status", "--json", "--socket", d.socket()});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  auto s = nlohmann::json::parse(r.out);
  ASSERT_EQ(s["sessions"].size(), 1u) << r.out;
  EXPECT_EQ(s["sessions"][0]["program"], shown);
  bool named = false;
  for (const auto& j : json_lines(d.log())) {
    named |= j["message"].get<std::string>().find(shown) != std::string::npos;
  }
  EXPECT_TRUE(named) << "the connect line names the program: " << d.log();
}

// The text log is one line per event: a program that puts a newline in
// its name cannot start a line of its own that reads like the daemon's.
TEST(Cli, TextLogShowsControlCharactersOfAProgramNameEscaped) {
  const std::string forged = "2026-01-01T00:00:00.000 info [server] forged";
  DaemonProcess d;
  {
    client::Client c({d.socket(), "evil\n" + forged + "\x01"});
    c.wait();
  }
  std::istringstream lines(d.log());
  bool named = false;
  for (std::string line; std::getline(lines, line);) {
    EXPECT_NE(line.rfind(forged, 0), 0u) << "a forged line: " << d.log();
    named |= line.find("program 'evil\\n" + forged + "\\x01'") !=
             std::string::npos;
  }
  EXPECT_TRUE(named) << "the connect line shows the name escaped: "
                     << d.log();
}

TEST(Cli, SighupReopensTheLogFileAfterRotation) {
  DaemonProcess d;
  std::string log = d.dir() + "/bocd.log";
  ASSERT_EQ(::rename(log.c_str(), (log + ".1").c_str()), 0);
  ::kill(d.pid(), SIGHUP);
  // Each status is a round trip through the daemon's event loop, which
  // handles the signal too; a bounded number of them, no sleeping.
  bool reopened = false;
  for (int i = 0; i < 200 && !reopened; ++i) {
    ASSERT_EQ(run_bocd({"status", "--socket", d.socket()}).exit_code, 0);
    reopened = d.log().find("reopened log file") != std::string::npos;
  }
  EXPECT_TRUE(reopened);
}

}  // namespace
}  // namespace bocd::testing

namespace bocd::testing {
namespace {

TEST(Cli, StaleSocketOfAKilledDaemonIsReplaced) {
  DaemonProcess first;
  std::string socket = first.socket();
  ::kill(first.pid(), SIGKILL);
  EXPECT_EQ(first.wait_exit(), 128 + SIGKILL);
  ASSERT_EQ(::access(socket.c_str(), F_OK), 0) << "SIGKILL leaves the file";
  std::string log = first.dir() + "/second.log";
  auto r = run_bocd({"serve", "--socket", socket, "--log-file", log});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(run_bocd({"status", "--socket", socket}).exit_code, 0);
  EXPECT_EQ(run_bocd({"stop", "--socket", socket}).exit_code, 0);
}

TEST(Cli, ConfigFileSetsServeOptions) {
  DaemonProcess probe;  // only for a private directory
  std::string dir = probe.dir();
  std::string config = dir + "/bocd.toml";
  std::string socket = dir + "/from-config.sock";
  {
    std::ofstream out(config);
    out << "[serve]\nworkers = 7\nsocket = \"" << socket << "\"\n"
        << "log-file = \"" << dir << "/config.log\"\n";
  }
  auto r = run_bocd({"serve", "--config", config});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto s = run_bocd({"status", "--json", "--socket", socket});
  EXPECT_NE(s.out.find("\"workers\":7"), std::string::npos) << s.out;
  EXPECT_EQ(run_bocd({"stop", "--socket", socket}).exit_code, 0);
}

TEST(Cli, AMisspeltConfigKeyIsAUsageErrorNamingIt) {
  DaemonProcess probe;  // only for a private directory
  std::string config = probe.dir() + "/typo.toml";
  {
    std::ofstream out(config);
    out << "[serve]\nlog_format = \"json\"\n";  // the option is log-format
  }
  auto r = run_bocd({"serve", "--config", config, "--socket",
                     probe.dir() + "/typo.sock"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("log_format"), std::string::npos) << r.out;
}

TEST(Cli, LogFileRotatesAtMaxBytes) {
  DaemonProcess d({"--log-max-bytes", "2048", "--log-files", "2"});
  // Each status adds connect and disconnect lines (~250 bytes).
  for (int i = 0; i < 40; ++i) {
    ASSERT_EQ(run_bocd({"status", "--socket", d.socket()}).exit_code, 0);
  }
  ASSERT_EQ(d.stop(), 0);  // it may still be logging the last disconnection
  EXPECT_EQ(::access((d.dir() + "/bocd.log.1").c_str(), F_OK), 0);
  EXPECT_LE(d.log().size(), 2048u);
}

}  // namespace
}  // namespace bocd::testing

namespace bocd::testing {
namespace {

TEST(Cli, ShippedExampleConfigIsValid) {
  DaemonProcess probe;  // a private directory
  std::string socket = probe.dir() + "/example.sock";
  auto r = run_bocd({"serve", "--config",
                     std::string(BOCD_SOURCE_DIR) + "/deploy/bocd.toml",
                     "--socket", socket, "--workers", "0", "--log-file",
                     probe.dir() + "/example.log"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(run_bocd({"stop", "--socket", socket}).exit_code, 0);
}

}  // namespace
}  // namespace bocd::testing

// The bocd command line against a real daemon: status, quiesce and stop,
// their output and their distinct exit codes.
#include <signal.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "bocd/client/client.h"
#include "daemon_process.h"

namespace bocd::testing {
namespace {

TEST(Cli, StatusJsonReportsTheDaemonAndItsSessions) {
  DaemonProcess d({"--workers", "3"});
  auto r = run_bocd({"status", "--json", "--socket", d.socket()});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("\"workers\":3"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("\"role\":\"admin\""), std::string::npos)
      << "status lists its own session: " << r.out;
  EXPECT_NE(r.out.find("\"in_flight\":0"), std::string::npos) << r.out;
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

TEST(Cli, JsonLogLinesAreObjectsNamingTheirLogger) {
  DaemonProcess d({"--log-format", "json"});
  { client::Client c({d.socket()}); }  // a program's session: logged at info
  std::string log = d.log();
  ASSERT_FALSE(log.empty());
  std::size_t pos = 0, lines = 0;
  while (pos < log.size()) {
    std::size_t end = log.find('\n', pos);
    std::string line = log.substr(pos, end - pos);
    EXPECT_EQ(line.rfind("{\"ts_ms\":", 0), 0u) << line;
    EXPECT_EQ(line.back(), '}') << line;
    pos = end + 1;
    ++lines;
  }
  EXPECT_GE(lines, 3u);
  EXPECT_NE(log.find("\"logger\":\"server\",\"msg\":\"session 1 connected"),
            std::string::npos) << log;
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

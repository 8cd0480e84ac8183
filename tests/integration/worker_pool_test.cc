// The daemon's worker pool (docs/architecture.md, The worker pool) with
// tests/support/test_worker standing in for `python -m bocd.worker`:
// behaviors submitted for the pool run on worker processes; a worker
// killed mid-behavior fails only that behavior and is replaced; stop takes
// the workers down.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "bocd/client/client.h"
#include "daemon_process.h"

namespace bocd::testing {
namespace {

using client::Client;
using client::CownRef;

std::vector<std::string> pool_args(int n) {
  return {"--workers", std::to_string(n), "--python", TEST_WORKER};
}

// Counts worker sessions with bounded status round trips until `n` are
// connected (workers connect back asynchronously after they start).
bool workers_connected(const DaemonProcess& d, int n) {
  std::string needle = "\"role\":\"worker\"";
  for (int i = 0; i < 500; ++i) {
    auto r = run_bocd({"status", "--json", "--socket", d.socket()});
    int count = 0;
    for (auto pos = r.out.find(needle); pos != std::string::npos;
         pos = r.out.find(needle, pos + 1)) {
      ++count;
    }
    if (count == n) return true;
  }
  return false;
}

TEST(WorkerPool, BehaviorsRunOnWorkersStartedForTheirProgram) {
  DaemonProcess d(pool_args(2));
  Client c({d.socket()});
  CownRef counter = c.create("0");
  CownRef last;
  for (int i = 0; i < 1000; ++i) {
    last = c.submit_to_workers({&counter, 1}, "incr", true);
  }
  EXPECT_EQ(c.read(counter).data, "1000");
  EXPECT_EQ(c.read(last).data, "1000");
  CownRef pid = c.submit_to_workers({}, "pid", true);
  std::string worker_pid = c.read(pid).data;
  EXPECT_NE(worker_pid, std::to_string(::getpid()));
  EXPECT_NE(d.log().find("worker pid " + worker_pid + " started for session"),
            std::string::npos) << d.log();
}

TEST(WorkerPool, EachProgramHasWorkersOfItsOwnWhichGoWithIt) {
  DaemonProcess d(pool_args(2));
  std::string first, second;
  {
    Client a({d.socket()});
    first = a.read(a.submit_to_workers({}, "pid", true)).data;
    Client b({d.socket()});
    second = b.read(b.submit_to_workers({}, "pid", true)).data;
    EXPECT_NE(first, second) << "two programs never share a worker";
  }
  // Both programs have gone: so have their workers.
  EXPECT_TRUE(workers_connected(d, 0)) << d.log();
}

TEST(WorkerPool, BodyThatThrowsLandsOnItsResultCown) {
  DaemonProcess d(pool_args(1));
  Client c({d.socket()});
  CownRef x = c.create("5");
  CownRef r = c.submit_to_workers({&x, 1}, "throw", true);
  auto v = c.read(r);
  EXPECT_TRUE(v.exception);
  EXPECT_EQ(v.data, "boom");
  EXPECT_EQ(c.read(x).data, "5");
}

TEST(WorkerPool, WorkerKilledMidBehaviorFailsItAndIsReplaced) {
  DaemonProcess d(pool_args(1));
  std::string fifo = d.dir() + "/hang.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  Client c({d.socket()});
  CownRef x = c.create("41");
  CownRef hung = c.submit_to_workers({&x, 1}, "hang:" + fifo, true);
  CownRef after = c.submit_to_workers({&x, 1}, "incr", true);
  // Blocks until the behavior is running on a worker and names its pid.
  std::ifstream in(fifo);
  int pid = 0;
  ASSERT_TRUE(in >> pid);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);

  auto lost = c.read(hung);
  EXPECT_TRUE(lost.exception);
  EXPECT_EQ(lost.error, client::Errc::executor_lost);
  EXPECT_NE(lost.data.find("pid " + std::to_string(pid)), std::string::npos)
      << lost.data;
  // The cown kept its last committed value, and the next behavior ran on
  // a new worker.
  EXPECT_EQ(c.read(after).data, "42");
  EXPECT_EQ(c.read(x).data, "42");
  EXPECT_NE(c.read(c.submit_to_workers({}, "pid", true)).data,
            std::to_string(pid));
  std::string log = d.log();
  EXPECT_NE(log.find("worker pid " + std::to_string(pid) +
                     " (session 1's) was killed by signal 9"),
            std::string::npos) << log;
}

TEST(WorkerPool, StopTakesTheWorkersDown) {
  DaemonProcess d(pool_args(2));
  Client c({d.socket()});
  std::string pid = c.read(c.submit_to_workers({}, "pid", true)).data;
  auto r = run_bocd({"stop", "--socket", d.socket()});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(d.wait_exit(), 0);
  std::string log = d.log();
  EXPECT_NE(log.find("worker pid " + pid + " (session 1's) was killed by "
                     "signal 15"),
            std::string::npos) << log;
}

TEST(WorkerPool, InterpreterThatCannotStartIsLoggedAndTheDaemonServes) {
  DaemonProcess d({"--workers", "1", "--python", "/nonexistent/python"});
  Client c({d.socket()});
  client::Value v = c.read(c.submit_to_workers({}, "pid", true));
  EXPECT_EQ(v.error, client::Errc::no_workers) << v.data;
  EXPECT_NE(d.log().find("could not be started ('/nonexistent/python'"),
            std::string::npos) << d.log();
  EXPECT_EQ(run_bocd({"status", "--socket", d.socket()}).exit_code, 0);
  EXPECT_TRUE(d.alive());
}

// Nothing waits in silence: a behavior no worker will run fails on its
// result cown, after about a second, saying why.
void expect_fails_with(const DaemonProcess& d, const std::string& why) {
  Client c({d.socket()});
  CownRef x = c.create("5");
  CownRef r = c.submit_to_workers({&x, 1}, "incr", true);
  client::Value v = c.read(r);
  EXPECT_EQ(v.error, client::Errc::no_workers) << v.data;
  EXPECT_NE(v.data.find("no worker can run it"), std::string::npos) << v.data;
  EXPECT_NE(v.data.find(why), std::string::npos) << v.data;
  EXPECT_EQ(c.read(x).data, "5") << "its cown was released unchanged";
}

TEST(WorkerPool, NoWorkerProcessesMeansBehaviorsFailSayingSo) {
  DaemonProcess d({"--workers", "0"});
  expect_fails_with(d, "starts no worker processes");
}

TEST(WorkerPool, AnInterpreterThatCannotStartFailsBehaviorsSayingWhy) {
  DaemonProcess d({"--workers", "1", "--python", "/nonexistent/python"});
  expect_fails_with(d, "could not be started ('/nonexistent/python'");
  auto r = run_bocd({"status", "--socket", d.socket()});
  EXPECT_NE(r.out.find("workers cannot run behaviors: "), std::string::npos)
      << r.out;
}

TEST(WorkerPool, WorkersThatDieAtStartUpAreExplainedInTheirOwnWords) {
  // An interpreter that cannot run bocd's worker: it says so and exits.
  std::string dir = ::testing::TempDir();
  std::string fake = dir + "/fake-python-" + std::to_string(::getpid());
  {
    std::ofstream f(fake);
    f << "#!/bin/sh\necho 'fake: No module named bocd' >&2\nexit 3\n";
  }
  ::chmod(fake.c_str(), 0755);
  DaemonProcess d({"--workers", "2", "--python", fake});
  expect_fails_with(d, "fake: No module named bocd");
  EXPECT_NE(d.log().find("fake: No module named bocd"), std::string::npos)
      << "the worker's output is in the daemon log: " << d.log();
  ::unlink(fake.c_str());
}

}  // namespace
}  // namespace bocd::testing

// Who may connect (SO_PEERCRED) and the socket's permissions
// (docs/service.md, Permission refused).
// The cross-user cases need root to take another uid; they skip otherwise.
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "daemon_process.h"
#include "raw_client.h"

namespace bocd::testing {
namespace {

constexpr uid_t NOBODY = 65534;
constexpr gid_t NOGROUP = 65534;

TEST(Security, SocketIs0600InA0700Directory) {
  DaemonProcess d;
  struct stat st{};
  ASSERT_EQ(::stat(d.socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(d.dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST(Security, MissingSocketDirectoryIsCreated0700) {
  std::string dir = "/tmp/bocd-mkdir-test-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  auto r = run_bocd({"serve", "--socket", dir + "/x/bocd.sock", "--log-file",
                     dir + "/log/bocd.log"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  struct stat st{};
  ASSERT_EQ(::stat((dir + "/x").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(run_bocd({"stop", "--socket", dir + "/x/bocd.sock"}).exit_code, 0);
  std::filesystem::remove_all(dir);
}

// Forks a child that becomes nobody (with `groups` as supplementary
// groups), connects, says Hello, and exits 0 if welcomed, 1 if closed.
int connect_as_nobody(const std::string& socket) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::setgid(NOGROUP) != 0 || ::setuid(NOBODY) != 0) std::_Exit(3);
    try {
      RawClient c(socket);
      c.send([](proto::Encoder& e) {
        e.hello(proto::fb::Role::Client, ::getpid(), "intruder");
      });
      auto f = c.next_frame();
      std::_Exit(f && envelope(*f)->message_as_Welcome() ? 0 : 1);
    } catch (...) {
      std::_Exit(2);
    }
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void open_up(const DaemonProcess& d) {
  // Let another user reach the socket at all, so SO_PEERCRED decides.
  ::chmod(d.dir().c_str(), 0755);
  ::chmod(d.socket().c_str(), 0666);
}

TEST(Security, OtherUserIsRefusedAndLogged) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to act as another user";
  DaemonProcess d;
  open_up(d);
  EXPECT_EQ(connect_as_nobody(d.socket()), 1);
  EXPECT_NE(d.log().find("refused connection from pid"), std::string::npos);
  EXPECT_NE(d.log().find("uid 65534"), std::string::npos);
  EXPECT_TRUE(d.alive());
}

TEST(Security, MemberOfTheTrustedGroupIsAdmitted) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to act as another user";
  group* g = ::getgrgid(NOGROUP);
  if (g == nullptr) GTEST_SKIP() << "no group 65534 on this machine";
  // No chmod by hand: --trust-group opens the socket and its directory.
  DaemonProcess d({"--trust-group", g->gr_name});
  EXPECT_EQ(connect_as_nobody(d.socket()), 0);
  EXPECT_NE(d.log().find("program 'intruder'"), std::string::npos);
}

TEST(Security, UnknownTrustGroupIsAStartupError) {
  auto r = run_bocd({"serve", "--foreground", "--socket",
                     "/tmp/bocd-nogroup.sock", "--trust-group",
                     "no-such-group-bocd"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("no-such-group-bocd"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace bocd::testing

// Whom the daemon and its clients trust (docs/service.md, Who is on the
// other end): a socket directory someone else made, a daemon of another
// uid, a symlink at the log path, the umask, and --trust-group. The
// cross-user cases create temporary users and groups (removed at the
// end), so they need root; they skip otherwise.
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include <gtest/gtest.h>

#include "bocd/client/client.h"
#include "daemon_process.h"

namespace bocd::testing {
namespace {

namespace fs = std::filesystem;
using client::Client;
using client::UntrustedDaemonError;

#define NEEDS_ROOT()                                                    \
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to create users and " \
                                        "act as them"

std::string unique(const char* role) {
  return std::string("bocdt") + role + std::to_string(::getpid() % 1000000);
}

// A group that exists for one test.
struct TempGroup {
  std::string name;
  gid_t gid = 0;
  explicit TempGroup(const char* role) : name(unique(role)) {
    if (std::system(("groupadd " + name).c_str()) != 0) {
      throw std::runtime_error("groupadd " + name + " failed");
    }
    gid = ::getgrnam(name.c_str())->gr_gid;
  }
  ~TempGroup() { (void)!std::system(("groupdel " + name).c_str()); }
};

// A user (with a group of its own, and `extra_group` if given) that exists
// for one test.
struct TempUser {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  explicit TempUser(const char* role, const std::string& extra_group = "")
      : name(unique(role)) {
    std::string cmd = "useradd -M -U -s /usr/sbin/nologin " + name;
    if (!extra_group.empty()) cmd += " -G " + extra_group;
    if (std::system(cmd.c_str()) != 0) {
      throw std::runtime_error(cmd + " failed");
    }
    passwd* pw = ::getpwnam(name.c_str());
    uid = pw->pw_uid;
    gid = pw->pw_gid;
  }
  ~TempUser() { (void)!std::system(("userdel " + name).c_str()); }
};

struct Outcome {
  int code = -1;
  std::string out;
};

// Runs `fn` in a child that is `user` (with its groups), with no
// $BOCD_SOCKET, $XDG_RUNTIME_DIR nor $BOCD_DAEMON_UID but `env`. Returns
// its exit code and what it wrote (fn's `out`, or an exec'd program's
// stdout and stderr).
Outcome as_user(const TempUser& user,
                const std::function<int(std::string& out)>& fn,
                const std::vector<std::pair<std::string, std::string>>&
                    env = {}) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) throw std::runtime_error("pipe failed");
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pipe_fds[0]);
    ::dup2(pipe_fds[1], 1);
    ::dup2(pipe_fds[1], 2);
    ::close(pipe_fds[1]);  // a daemon it starts holds only 1 and 2
    if (::initgroups(user.name.c_str(), user.gid) != 0 ||
        ::setgid(user.gid) != 0 || ::setuid(user.uid) != 0) {
      std::_Exit(125);
    }
    for (const char* v : {"BOCD_SOCKET", "XDG_RUNTIME_DIR", "BOCD_DAEMON_UID"}) {
      ::unsetenv(v);
    }
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    std::string out;
    int code = 0;
    try {
      code = fn(out);
    } catch (const std::exception& e) {
      out += std::string("unexpected: ") + e.what();
      code = 124;
    }
    (void)!::write(1, out.data(), out.size());
    std::_Exit(code);
  }
  ::close(pipe_fds[1]);
  Outcome r;
  r.out = read_all(pipe_fds[0]);
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

// Connects with `options`: 0 when connected and a behavior ran ("21 over
// <transport>" in `out`), 3 on UntrustedDaemonError, 4 on another
// connection error (what() in `out`).
int connect_and_run(std::string& out, client::Options options = {}) {
  try {
    Client c(std::move(options));
    auto x = c.create("20");
    c.submit({x}, [](client::Access& a) {
      a.mut(0) = std::to_string(std::stoi(a.get(0).data) + 1);
    });
    out = c.read(x).data + " over " + std::string(c.transport());
    return 0;
  } catch (const UntrustedDaemonError& e) {
    out = e.what();
    return 3;
  } catch (const client::ConnectionError& e) {
    out = e.what();
    return 4;
  }
}

// What connect_and_run() reports for a served program: the rings by
// default, the socket when this run asks for it (tools/test.sh runs the
// integration tests both ways).
std::string ran_over(const char* value) {
  const char* t = std::getenv("BOCD_TRANSPORT");
  bool socket = t != nullptr && std::string(t) == "socket";
  return std::string(value) + " over " + (socket ? "socket" : "ring");
}

int exec_bocd(const std::vector<std::string>& args) {
  std::vector<char*> argv{const_cast<char*>(bocd_binary())};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execv(argv[0], argv.data());
  return 127;
}

std::string mode_of(const std::string& path) {
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0) return "missing";
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", unsigned(st.st_mode & 07777));
  return buf;
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(Trust, ImpostorsDirectoryIsRefusedByTheVictimsClientAndDaemon) {
  NEEDS_ROOT();
  TempUser attacker("att"), victim("vic");
  const std::string dir = "/tmp/bocd-" + std::to_string(victim.uid);
  fs::remove_all(dir);
  // The attacker makes the victim's default directory first, 0777, and
  // listens there; it reports whether anyone connected once told to.
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t impostor = ::fork();
  if (impostor == 0) {
    ::close(go[1]);
    ::close(ready[0]);
    if (::setgid(attacker.gid) != 0 || ::setuid(attacker.uid) != 0) {
      std::_Exit(125);
    }
    ::mkdir(dir.c_str(), 0777);
    ::chmod(dir.c_str(), 0777);
    int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s/bocd.sock",
                  dir.c_str());
    if (::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::chmod(addr.sun_path, 0777) != 0 || ::listen(s, 8) != 0) {
      std::_Exit(126);
    }
    (void)!::write(ready[1], "r", 1);
    char c;
    (void)!::read(go[0], &c, 1);  // EOF: the victim has tried
    std::_Exit(::accept(s, nullptr, nullptr) < 0 ? 0 : 1);
  }
  ::close(go[0]);
  ::close(ready[1]);
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);

  Outcome client = as_user(victim, [](std::string& out) {
    return connect_and_run(out);
  });
  Outcome serve = as_user(victim, [](std::string&) {
    return exec_bocd({"serve", "--workers", "0"});
  });
  Outcome serve_fg = as_user(victim, [](std::string&) {
    return exec_bocd({"serve", "--foreground", "--workers", "0"});
  });
  ::close(go[1]);
  int status = 0;
  ::waitpid(impostor, &status, 0);

  EXPECT_EQ(client.code, 3) << client.out;
  for (const Outcome* o : {&client, &serve, &serve_fg}) {
    EXPECT_TRUE(contains(o->out, "unsafe directory " + dir)) << o->out;
    EXPECT_TRUE(contains(o->out, "uid " + std::to_string(attacker.uid)))
        << o->out;
    EXPECT_TRUE(contains(o->out, "mode 0777")) << o->out;
  }
  EXPECT_EQ(serve.code, 1) << serve.out;
  EXPECT_EQ(serve_fg.code, 1) << serve_fg.out;
  EXPECT_FALSE(fs::exists(dir + "/bocd.log"));
  EXPECT_EQ(mode_of(dir), "0777");  // not someone else's to change
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "the victim connected to the impostor";
  fs::remove_all(dir);
}

TEST(Trust, DaemonOfAnotherUidIsRefusedUnlessTrustedAndAGroupMemberRuns) {
  NEEDS_ROOT();
  TempGroup group("grp");
  TempUser member("mem", group.name), outsider("out");
  DaemonProcess d({"--trust-group", group.name});
  struct stat st{};
  ASSERT_EQ(::stat(d.socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  EXPECT_EQ(st.st_gid, group.gid);
  ASSERT_EQ(::stat(d.dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0750u);
  EXPECT_EQ(st.st_gid, group.gid);
  EXPECT_TRUE(contains(d.log(), "members of group " + group.name +
                                    " may connect and run code as uid 0"))
      << d.log();

  // A member that does not say it trusts root's daemon refuses it.
  std::string socket = d.socket();
  Outcome wary = as_user(member, [&](std::string& out) {
    return connect_and_run(out, {socket});
  });
  EXPECT_EQ(wary.code, 3) << wary.out;
  EXPECT_TRUE(contains(wary.out, "runs as uid 0 (root)")) << wary.out;
  EXPECT_TRUE(contains(wary.out, "uid " + std::to_string(member.uid)))
      << wary.out;

  Outcome by_option = as_user(member, [&](std::string& out) {
    client::Options o{socket};
    o.daemon_uid = 0;
    return connect_and_run(out, std::move(o));
  });
  EXPECT_EQ(by_option.code, 0) << by_option.out;
  // Another user attaches over the rings too: the daemon hands its
  // segment to any peer it let in.
  EXPECT_EQ(by_option.out, ran_over("21"));
  Outcome by_env = as_user(
      member, [&](std::string& out) { return connect_and_run(out, {socket}); },
      {{"BOCD_DAEMON_UID", "root"}});
  EXPECT_EQ(by_env.code, 0) << by_env.out;

  Outcome other = as_user(
      outsider,
      [&](std::string& out) { return connect_and_run(out, {socket}); },
      {{"BOCD_DAEMON_UID", "0"}});
  EXPECT_EQ(other.code, 4) << other.out;
  EXPECT_TRUE(contains(other.out, "Permission denied")) << other.out;
  // It says why: whose directory keeps the outsider out, and what would
  // let a user in.
  EXPECT_TRUE(contains(other.out, "the directory " + d.dir() +
                                      ": owner uid 0 (root), group " +
                                      group.name + ", mode 0750"))
      << other.out;
  EXPECT_TRUE(contains(other.out, "--trust-group")) << other.out;
  EXPECT_TRUE(d.alive());
}

// A service user's daemon: its members trust that uid, and so the
// directory it owns (0750, the group's), by saying so.
TEST(Trust, GroupMemberTrustsAServiceUsersDaemonAndItsDirectoryOnPurpose) {
  NEEDS_ROOT();
  TempGroup group("sgr");
  TempUser service("svc", group.name), member("smb", group.name);
  char tmpl[] = "/tmp/bocd-service-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string top = tmpl;
  ASSERT_EQ(::chown(top.c_str(), service.uid, service.gid), 0);
  ASSERT_EQ(::chmod(top.c_str(), 0711), 0);
  std::string dir = top + "/run";
  std::string socket = dir + "/bocd.sock";
  Outcome served = as_user(service, [&](std::string&) {
    return exec_bocd({"serve", "--workers", "0", "--socket", socket,
                      "--trust-group", group.name});
  });
  ASSERT_EQ(served.code, 0) << served.out;
  EXPECT_EQ(mode_of(dir), "0750");
  EXPECT_EQ(mode_of(socket), "0660");

  Outcome wary = as_user(member, [&](std::string& out) {
    return connect_and_run(out, {socket});
  });
  Outcome trusting = as_user(member, [&](std::string& out) {
    client::Options o{socket};
    o.daemon_uid = service.uid;
    return connect_and_run(out, std::move(o));
  });
  Outcome stopped = as_user(service, [&](std::string&) {
    return exec_bocd({"stop", "--socket", socket});
  });
  EXPECT_EQ(stopped.code, 0) << stopped.out;
  fs::remove_all(top);

  EXPECT_EQ(wary.code, 3) << wary.out;
  EXPECT_TRUE(contains(wary.out, "unsafe directory " + dir)) << wary.out;
  EXPECT_TRUE(contains(wary.out, "uid " + std::to_string(service.uid)))
      << wary.out;
  EXPECT_EQ(trusting.code, 0) << trusting.out;
  EXPECT_EQ(trusting.out, ran_over("21"));
}

TEST(Trust, AllowGroupIsRejectedNamingTrustGroup) {
  auto r = run_bocd({"serve", "--foreground", "--allow-group", "users"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_TRUE(contains(r.out, "--trust-group")) << r.out;
}

TEST(Trust, SymlinkAtTheLogPathIsNotFollowed) {
  char tmpl[] = "/tmp/bocd-trust-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  std::string target = dir + "/target";
  std::ofstream(target) << "untouched\n";
  ::mkdir((dir + "/d").c_str(), 0700);
  fs::create_symlink(target, dir + "/d/bocd.log");
  // Detached: the log beside the socket. Foreground: --log-file.
  auto detached = run_bocd({"serve", "--workers", "0", "--socket",
                            dir + "/d/bocd.sock"});
  auto foreground = run_bocd({"serve", "--foreground", "--workers", "0",
                              "--socket", dir + "/d/bocd.sock", "--log-file",
                              dir + "/d/bocd.log"});
  for (const auto* r : {&detached, &foreground}) {
    EXPECT_EQ(r->exit_code, 1) << r->out;
    EXPECT_TRUE(contains(r->out, dir + "/d/bocd.log is a symlink")) << r->out;
  }
  std::ifstream in(target);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), "untouched\n");
  EXPECT_FALSE(fs::exists(dir + "/d/bocd.sock"));
  fs::remove_all(dir);
}

class DetachedServeUnderUmask : public ::testing::TestWithParam<mode_t> {};

TEST_P(DetachedServeUnderUmask, MakesItsDirectory0700AndItsLog0600) {
  char tmpl[] = "/tmp/bocd-umask-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = std::string(tmpl) + "/d";
  mode_t old = ::umask(GetParam());
  auto r = run_bocd({"serve", "--workers", "0", "--socket", dir + "/s.sock"});
  ::umask(old);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(mode_of(dir), "0700");
  EXPECT_EQ(mode_of(dir + "/bocd.log"), "0600");
  EXPECT_EQ(mode_of(dir + "/s.sock"), "0600");
  EXPECT_EQ(run_bocd({"stop", "--socket", dir + "/s.sock"}).exit_code, 0);
  fs::remove_all(tmpl);
}

INSTANTIATE_TEST_SUITE_P(Trust, DetachedServeUnderUmask,
                         ::testing::Values(mode_t{0}, mode_t{022}));

TEST(Trust, LogRotatesBySizeKeepingTheConfiguredNumberOfFiles) {
  // Debug lines for each admin session fill a 1 KiB log quickly.
  DaemonProcess d({"--log-max-bytes", "1024", "--log-files", "2"});
  for (int i = 0; i < 40; ++i) {
    ASSERT_EQ(run_bocd({"status", "--socket", d.socket()}).exit_code, 0);
  }
  // Stopped first: it may still be logging the last disconnection.
  ASSERT_EQ(d.stop(), 0);
  std::string log = d.dir() + "/bocd.log";
  EXPECT_TRUE(fs::exists(log + ".1"));
  EXPECT_TRUE(fs::exists(log + ".2"));
  EXPECT_FALSE(fs::exists(log + ".3"));
  for (const std::string& f : {log, log + ".1", log + ".2"}) {
    EXPECT_EQ(mode_of(f), "0600") << f;
    EXPECT_LE(fs::file_size(f), 1024u) << f;
  }
}

}  // namespace
}  // namespace bocd::testing

// The daemon under a service manager, without one: the test plays
// systemd's part. It binds the NOTIFY_SOCKET datagram socket and reads
// what the daemon reports (READY=1, STATUS=, WATCHDOG=1, STOPPING=1), and
// passes a listening socket as fd 3 with LISTEN_FDS/LISTEN_PID set in the
// child after fork, as systemd does for socket activation.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "bocd/client/client.h"
#include "daemon_process.h"

namespace bocd::testing {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/bocd-sd-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp");
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string path;
};

sockaddr_un unix_address(const std::string& name, socklen_t& len) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, name.data(), name.size());
  if (name[0] == '@') addr.sun_path[0] = '\0';
  len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
  return addr;
}

// The service manager's end of NOTIFY_SOCKET: a path, or "@name".
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& name) : name_(name) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    socklen_t len;
    sockaddr_un addr = unix_address(name, len);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
      throw std::runtime_error("bind " + name + ": " + std::strerror(errno));
    }
  }
  ~NotifySocket() {
    ::close(fd_);
    if (name_[0] == '/') ::unlink(name_.c_str());
  }
  const std::string& name() const { return name_; }

  // The next datagram; nullopt if none comes within 10 s (a bound for a
  // hung daemon, not a timing check) or, with `wait` false, none is queued.
  std::optional<std::string> next(bool wait = true) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, wait ? 10000 : 0) != 1) return std::nullopt;
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0) return std::nullopt;
    std::string message(buf, n);
    seen_.push_back(message);
    return message;
  }
  // Reads until a datagram holds the line `line`; false if none came.
  bool wait_for(const std::string& line) {
    while (std::optional<std::string> m = next()) {
      if (has_line(*m, line)) return true;
    }
    return false;
  }
  // Everything queued (the daemon has exited: all it sent is here).
  void drain() {
    while (next(/*wait=*/false)) {
    }
  }
  bool saw(const std::string& line) const {
    for (const std::string& m : seen_) {
      if (has_line(m, line)) return true;
    }
    return false;
  }
  std::string seen() const {
    std::string all;
    for (const std::string& m : seen_) all += "[" + m + "] ";
    return all;
  }

 private:
  static bool has_line(const std::string& message, const std::string& line) {
    std::size_t at = 0;
    while (at <= message.size()) {
      std::size_t end = message.find('\n', at);
      if (end == std::string::npos) end = message.size();
      if (message.compare(at, end - at, line) == 0) return true;
      if (message.compare(at, line.size(), line) == 0 && line.back() == '=') {
        return true;  // a "VAR=" prefix
      }
      at = end + 1;
    }
    return false;
  }
  std::string name_;
  int fd_ = -1;
  std::vector<std::string> seen_;
};

// Writes `n` in decimal at `out` (async-signal-safe: used after fork).
void put_number(char* out, long n) {
  char digits[24];
  int k = 0;
  do {
    digits[k++] = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n > 0);
  while (k > 0) *out++ = digits[--k];
  *out = '\0';
}

struct Spawn {
  std::vector<std::string> args;
  std::vector<std::string> env;  // NAME=value, besides the test's own
  int fd3 = -1;                  // becomes fd 3, with LISTEN_FDS and
  int listen_fds = 1;            // LISTEN_PID: the child's pid, or 1
  bool listen_pid_is_child = true;
  bool watchdog_pid_is_child = false;  // else WATCHDOG_PID as in `env`
};

struct Child {
  pid_t pid = -1;
  int output = -1;  // its stdout and stderr

  int wait() {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  std::string read_output() {
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(output, buf, sizeof buf)) > 0) out.append(buf, n);
    return out;
  }
  ~Child() {
    if (output >= 0) ::close(output);
    if (pid > 0 && ::waitpid(pid, nullptr, WNOHANG) == 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
};

Child spawn(const Spawn& s) {
  std::vector<std::string> args = {bocd_binary()};
  args.insert(args.end(), s.args.begin(), s.args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The test's environment (sanitizer options, say), less what the test
  // sets itself.
  std::vector<std::string> env = s.env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string var = *e;
    bool ours = false;
    for (const char* name : {"NOTIFY_SOCKET=", "WATCHDOG_", "LISTEN_"}) {
      ours = ours || var.rfind(name, 0) == 0;
    }
    if (!ours) env.push_back(var);
  }
  if (s.fd3 >= 0) {
    env.push_back("LISTEN_FDS=" + std::to_string(s.listen_fds));
    if (!s.listen_pid_is_child) env.push_back("LISTEN_PID=1");
  }
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  // Filled in by the child with its own pid.
  char listen_pid[48] = "LISTEN_PID=";
  char watchdog_pid[48] = "WATCHDOG_PID=";
  if (s.fd3 >= 0 && s.listen_pid_is_child) envp.push_back(listen_pid);
  if (s.watchdog_pid_is_child) envp.push_back(watchdog_pid);
  envp.push_back(nullptr);
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    put_number(listen_pid + 11, ::getpid());
    put_number(watchdog_pid + 13, ::getpid());
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    // dup2 clears close-on-exec, except onto itself.
    if (s.fd3 == 3) ::fcntl(3, F_SETFD, 0);
    if (s.fd3 > 3) ::dup2(s.fd3, 3);
    for (int fd = s.fd3 >= 0 ? 4 : 3; fd < 1024; ++fd) ::close(fd);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(out[1]);
  return Child{pid, out[0]};
}

// A listening UNIX stream socket at `path`, as a socket unit makes one.
int listening_socket(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  socklen_t len;
  sockaddr_un addr = unix_address(path, len);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::listen(fd, 16) != 0) {
    throw std::runtime_error("listen " + path + ": " + std::strerror(errno));
  }
  return fd;
}

std::vector<std::string> serve_args(const TempDir& dir) {
  return {"serve", "--foreground", "--workers", "0", "--socket",
          dir.path + "/bocd.sock"};
}

TEST(SdNotify, ReadyWatchdogAndStoppingReachAPathSocket) {
  TempDir dir;
  NotifySocket notify(dir.path + "/notify");
  Child d = spawn({serve_args(dir),
                   {"NOTIFY_SOCKET=" + notify.name(), "WATCHDOG_USEC=200000"},
                   -1, /*watchdog_pid_is_child=*/true});
  ASSERT_TRUE(notify.wait_for("READY=1")) << notify.seen();
  EXPECT_TRUE(fs::is_socket(dir.path + "/bocd.sock"))
      << "READY=1 comes once the daemon listens";
  EXPECT_TRUE(notify.wait_for("STATUS=serving 0 programs, 0 workers"))
      << notify.seen();
  EXPECT_TRUE(notify.wait_for("WATCHDOG=1")) << notify.seen();
  // A second keep-alive: they are periodic, not a one-off.
  EXPECT_TRUE(notify.wait_for("WATCHDOG=1")) << notify.seen();
  ::kill(d.pid, SIGTERM);
  EXPECT_TRUE(notify.wait_for("STOPPING=1")) << notify.seen();
  EXPECT_EQ(d.wait(), 0) << d.read_output();
  notify.drain();
  EXPECT_TRUE(notify.saw("STATUS=stopping: closing sessions"))
      << "the stop says what it is doing: " << notify.seen();
}

TEST(SdNotify, StatusCountsTheProgramsConnected) {
  TempDir dir;
  NotifySocket notify(dir.path + "/notify");
  Child d = spawn({serve_args(dir), {"NOTIFY_SOCKET=" + notify.name()}});
  ASSERT_TRUE(notify.wait_for("STATUS=serving 0 programs, 0 workers"))
      << notify.seen();
  {
    client::Options o;
    o.socket = dir.path + "/bocd.sock";
    client::Client c(o);
    // The next periodic update (every few seconds) says so.
    EXPECT_TRUE(notify.wait_for("STATUS=serving 1 program, 0 workers"))
        << notify.seen();
  }
  ::kill(d.pid, SIGTERM);
  EXPECT_EQ(d.wait(), 0) << d.read_output();
}

TEST(SdNotify, AbstractSocketAndNoKeepAlivesForAnotherPid) {
  TempDir dir;
  NotifySocket notify("@bocd-sd-test-" + std::to_string(::getpid()));
  // WATCHDOG_PID names another process: the keep-alives are not asked of
  // this one. (Were they, the first would be sent right after READY=1.)
  Child d = spawn({serve_args(dir),
                   {"NOTIFY_SOCKET=" + notify.name(), "WATCHDOG_USEC=200000",
                    "WATCHDOG_PID=1"}});
  ASSERT_TRUE(notify.wait_for("READY=1")) << notify.seen();
  ::kill(d.pid, SIGTERM);
  EXPECT_TRUE(notify.wait_for("STOPPING=1")) << notify.seen();
  EXPECT_EQ(d.wait(), 0) << d.read_output();
  notify.drain();
  EXPECT_FALSE(notify.saw("WATCHDOG=1")) << notify.seen();
}

TEST(SdNotify, AMalformedVariableIsNamed) {
  TempDir dir;
  Child d = spawn({serve_args(dir),
                   {"NOTIFY_SOCKET=" + dir.path + "/notify",
                    "WATCHDOG_USEC=soon"}});
  EXPECT_EQ(d.wait(), 1);
  std::string out = d.read_output();
  EXPECT_NE(out.find("WATCHDOG_USEC='soon' is not a number"),
            std::string::npos) << out;
}

TEST(SocketActivation, AClientConnectsThroughThePassedSocket) {
  TempDir dir;
  std::string path = dir.path + "/passed.sock";
  int listener = listening_socket(path);
  NotifySocket notify(dir.path + "/notify");
  // No --socket: the passed socket is where the daemon serves.
  Child d = spawn({{"serve", "--foreground", "--workers", "0"},
                   {"NOTIFY_SOCKET=" + notify.name(),
                    "LISTEN_FDNAMES=bocd.socket"},
                   listener});
  ::close(listener);  // the daemon holds the only copy now
  ASSERT_TRUE(notify.wait_for("READY=1")) << notify.seen() << d.read_output();
  {
    client::Options o;
    o.socket = path;
    client::Client c(o);
    client::CownRef n = c.create("41");
    client::CownRef r = c.submit_with_result({n}, [](client::Access& x) {
      x.set_result(std::to_string(std::stoi(x.get(0).data) + 1));
    });
    EXPECT_EQ(c.read(r).data, "42");
  }
  auto status = run_bocd({"status", "--socket", path});
  EXPECT_EQ(status.exit_code, 0) << status.out;
  EXPECT_NE(status.out.find("on " + path), std::string::npos) << status.out;
  ::kill(d.pid, SIGTERM);
  EXPECT_EQ(d.wait(), 0) << d.read_output();
  // The socket unit made the file and keeps listening on it: not the
  // daemon's to remove.
  EXPECT_TRUE(fs::is_socket(path));
}

// systemd's own tool: it listens, waits for the first connection, then
// execs the daemon with the socket as fd 3, as a socket unit would.
TEST(SocketActivation, UnderSystemdSocketActivate) {
  const char* tool = "/usr/bin/systemd-socket-activate";
  if (::access(tool, X_OK) != 0) {
    GTEST_SKIP() << tool << " not found (Debian package systemd)";
  }
  TempDir dir;
  std::string path = dir.path + "/activated.sock";
  int out[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    ::execl(tool, tool, "-l", path.c_str(), bocd_binary(), "serve",
            "--foreground", "--workers", "0", nullptr);
    ::_exit(127);
  }
  ::close(out[1]);
  Child d{pid, out[0]};
  // It says so once it listens (a line); reads block until then.
  std::string said;
  char c;
  while (!(said.find("Listening on") != std::string::npos &&
           said.back() == '\n') &&
         ::read(d.output, &c, 1) == 1) {
    said += c;
  }
  ASSERT_NE(said.find("Listening on " + path), std::string::npos) << said;
  {
    client::Options o;
    o.socket = path;
    client::Client c(o);  // this connection starts the daemon
    client::CownRef n = c.create("1");
    client::CownRef r = c.submit_with_result({n}, [](client::Access& x) {
      x.set_result(x.get(0).data + "+1");
    });
    EXPECT_EQ(c.read(r).data, "1+1");
  }
  ::kill(d.pid, SIGTERM);
  EXPECT_EQ(d.wait(), 0);
  std::string log = said + d.read_output();
  EXPECT_NE(log.find("listening on " + path + " (fd 3 passed by the "
                     "service manager)"),
            std::string::npos) << log;
  EXPECT_TRUE(fs::is_socket(path)) << log;
}

TEST(SocketActivation, SocketsForAnotherPidAreLeftAlone) {
  TempDir dir;
  int listener = listening_socket(dir.path + "/passed.sock");
  NotifySocket notify(dir.path + "/notify");
  // LISTEN_PID names another process: the daemon binds its own --socket
  // (and removes it on stop, as always).
  Spawn s{serve_args(dir), {"NOTIFY_SOCKET=" + notify.name()}, listener};
  s.listen_pid_is_child = false;
  Child d = spawn(s);
  ::close(listener);
  ASSERT_TRUE(notify.wait_for("READY=1")) << notify.seen();
  EXPECT_TRUE(fs::is_socket(dir.path + "/bocd.sock"));
  ::kill(d.pid, SIGTERM);
  EXPECT_EQ(d.wait(), 0) << d.read_output();
  EXPECT_FALSE(fs::exists(dir.path + "/bocd.sock"));
}

TEST(SocketActivation, APassedSocketWinsOverSocketAndTheLogSaysSo) {
  TempDir dir;
  int listener = listening_socket(dir.path + "/passed.sock");
  NotifySocket notify(dir.path + "/notify");
  Child d = spawn({serve_args(dir), {"NOTIFY_SOCKET=" + notify.name()},
                   listener});
  ::close(listener);
  ASSERT_TRUE(notify.wait_for("READY=1")) << notify.seen();
  EXPECT_FALSE(fs::exists(dir.path + "/bocd.sock"));
  ::kill(d.pid, SIGTERM);
  EXPECT_EQ(d.wait(), 0);
  std::string out = d.read_output();
  EXPECT_NE(out.find("--socket " + dir.path + "/bocd.sock ignored: serving "
                     "on " + dir.path + "/passed.sock"),
            std::string::npos) << out;
}

TEST(SocketActivation, WhatIsWrongWithFd3IsNamed) {
  TempDir dir;
  std::string file = dir.path + "/file";
  int not_socket = ::open(file.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  int dgram = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int stream = listening_socket(dir.path + "/passed.sock");
  struct Case {
    int fd;
    int count;
    std::string says;
  };
  for (const Case& c : {
           Case{not_socket, 1,
                "fd 3 passed by the service manager is not a socket"},
           Case{dgram, 1, "fd 3 passed by the service manager is not a "
                          "listening UNIX stream socket"},
           Case{stream, 2, "LISTEN_FDS=2: the service manager passed more "
                           "than one socket"}}) {
    NotifySocket notify(dir.path + "/notify");
    Spawn s{serve_args(dir), {"NOTIFY_SOCKET=" + notify.name()}, c.fd,
            c.count};
    Child d = spawn(s);
    EXPECT_EQ(d.wait(), 1);
    std::string out = d.read_output();
    EXPECT_NE(out.find(c.says), std::string::npos) << out;
    // The service manager is told why too (systemctl status shows it).
    notify.drain();
    EXPECT_FALSE(notify.saw("READY=1")) << notify.seen();
    EXPECT_NE(notify.seen().find("STATUS=cannot serve: " + c.says),
              std::string::npos) << notify.seen();
  }
  ::close(not_socket);
  ::close(dgram);
  ::close(stream);
}

}  // namespace
}  // namespace bocd::testing

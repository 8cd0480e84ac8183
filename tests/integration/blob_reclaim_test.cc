// No shared-memory blob outlives its owners (docs/protocol.md,
// Shared-memory blobs), against the real daemon: a daemon started after
// another was SIGKILLed removes the dead one's blobs and leaves a live
// daemon's alone; a blob whose creator was killed before naming it goes
// when the creator's session closes; a name claiming another daemon
// instance or another process's session is refused and nothing is
// unlinked.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "bocd/client/blob.h"
#include "bocd/client/client.h"
#include "bocd/proto/blob_name.h"
#include "daemon_process.h"

namespace bocd::testing {
namespace {

using client::Blob;
using client::Client;
using client::CownRef;
using Names = std::vector<std::string>;

constexpr std::size_t kBig = 2u << 20;  // over the 1 MiB blob threshold

bool exists(const std::string& name) {
  return ::access(("/dev/shm/" + name).c_str(), F_OK) == 0;
}

// The /dev/shm entries whose names start with `prefix`.
Names shm_entries(const std::string& prefix) {
  Names out;
  DIR* d = ::opendir("/dev/shm");
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    if (std::strncmp(e->d_name, prefix.c_str(), prefix.size()) == 0) {
      out.emplace_back(e->d_name);
    }
  }
  ::closedir(d);
  return out;
}

// "bocd-<instance>-": what every object of a client's daemon starts with.
std::string instance_prefix(const Client& c) {
  return c.blob_prefix().substr(0, 5 + proto::BLOB_INSTANCE_HEX + 1);
}

// Under `ctest -j`, a daemon of another test may be sweeping /dev/shm at
// start-up and hold a dead instance's lock mid-sweep; the daemon under
// test then rightly leaves that instance to it. Waits until no sweep
// holds `instance`'s lock, and says whether one did.
bool wait_for_other_sweeper(const std::string& instance) {
  std::string id = instance.substr(5, proto::BLOB_INSTANCE_HEX);
  std::string path = "/dev/shm/" + proto::instance_lock_name(id);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;  // reclaimed: nothing to wait for
  bool held = ::flock(fd, LOCK_EX | LOCK_NB) != 0;
  if (held) ::flock(fd, LOCK_EX);  // the sweeper is done when it lets go
  ::close(fd);
  return held;
}

// Stores a cown whose value names a fresh `size`-byte blob of `c`.
std::string store_blob(Client& c, std::size_t size) {
  Blob b = Blob::create(c.blob_prefix(), size);
  std::memset(b.data(), 'v', size);
  c.create("big", {}, Names{b.name()});
  return b.name();
}

bool log_has(const DaemonProcess& d, const std::string& needle) {
  return d.log().find(needle) != std::string::npos;
}

// True once the daemon's log holds `needle`. A miss costs a round trip on
// `probe`, so the daemon has by then handled what its other sockets had
// queued (a killed peer's end of file).
bool log_shows(const DaemonProcess& d, Client& probe,
               const std::string& needle) {
  CownRef x = probe.create("probe");
  for (int i = 0; i < 200; ++i) {
    if (log_has(d, needle)) return true;
    probe.read(x);
  }
  return log_has(d, needle);
}

// tests/support/blob_client on `socket`: it made a blob and stays alive,
// never naming it, until kill().
class BlobClient {
 public:
  explicit BlobClient(const std::string& socket) {
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::close(out[0]);
      ::close(out[1]);
      ::execl(BLOB_CLIENT, BLOB_CLIENT, socket.c_str(), nullptr);
      std::_Exit(127);
    }
    ::close(out[1]);
    FILE* f = ::fdopen(out[0], "r");
    char name[128] = {};
    unsigned long long session = 0;
    // Blocks until the blob exists.
    if (std::fscanf(f, "%127s %llu", name, &session) == 2) {
      name_ = name;
      session_ = session;
    }
    std::fclose(f);
  }
  ~BlobClient() { kill(); }
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  const std::string& name() const { return name_; }
  std::uint64_t session() const { return session_; }

 private:
  pid_t pid_ = -1;
  std::string name_;
  std::uint64_t session_ = 0;
};

client::Options plain(const std::string& socket, const char* program) {
  client::Options o;
  o.socket = socket;
  o.program = program;
  return o;
}

// The first error the daemon reported to `c` (after a round trip).
std::string first_error(Client& c) {
  try {
    c.wait();
  } catch (const client::Error& e) {
    return e.what();
  }
  return "";
}

TEST(BlobReclaim, RestartAfterSigkillRemovesTheDeadDaemonsBlobsOnly) {
  // A second daemon, live throughout, with values in blobs of its own.
  DaemonProcess live;
  Client other(plain(live.socket(), "live-daemon-client"));
  Names kept;
  for (int i = 0; i < 3; ++i) kept.push_back(store_blob(other, kBig));
  other.wait();

  DaemonProcess dead;
  std::string instance;
  Names names;
  {
    Client c(plain(dead.socket(), "killed-daemon-client"));
    instance = instance_prefix(c);
    for (int i = 0; i < 100; ++i) names.push_back(store_blob(c, kBig));
    c.wait();
    ASSERT_EQ(shm_entries(instance).size(), 101u)
        << "100 blobs and the instance lock";
    ::kill(dead.pid(), SIGKILL);
    EXPECT_EQ(dead.wait_exit(), 128 + SIGKILL);
  }
  for (const std::string& n : names) ASSERT_TRUE(exists(n)) << n;

  // On the same socket: the dead daemon left its socket file behind.
  DaemonProcess next({"--socket", dead.socket()});
  bool other_swept = wait_for_other_sweeper(instance);
  EXPECT_EQ(shm_entries(instance), Names{}) << "all reclaimed at start-up";
  EXPECT_TRUE(other_swept || log_has(next, "reclaimed")) << next.log();
  for (const std::string& n : kept) EXPECT_TRUE(exists(n)) << n;
  EXPECT_EQ(shm_entries(instance_prefix(other)).size(), 4u)
      << "the live daemon's blobs and lock are untouched";
  Client again(plain(next.socket(), "after-restart"));
  EXPECT_EQ(again.read(again.create("ok")).data, "ok");
}

TEST(BlobReclaim, BlobOfAClientKilledBeforeNamingItGoesWithItsSession) {
  DaemonProcess d;
  Client c(plain(d.socket(), "bystander"));
  std::string mine = store_blob(c, 4096);
  BlobClient killed(d.socket());
  ASSERT_FALSE(killed.name().empty());
  ASSERT_TRUE(exists(killed.name()));
  killed.kill();
  EXPECT_TRUE(log_shows(d, c,
                        "session " + std::to_string(killed.session()) +
                            ": removed 1 shared-memory blob(s)"))
      << d.log();
  EXPECT_FALSE(exists(killed.name()));
  EXPECT_TRUE(exists(mine)) << "a named blob of another session stays";
}

TEST(BlobReclaim, NameOfAnotherInstanceOrProcessIsRefusedAndKept) {
  DaemonProcess d, d2;
  Client c(plain(d.socket(), "claimant"));
  // A real blob of another live daemon.
  Client c2(plain(d2.socket(), "owner"));
  std::string foreign = store_blob(c2, 4096);
  c2.wait();
  c.create("v", {}, Names{foreign});
  std::string why = first_error(c);
  EXPECT_NE(why.find("names daemon instance"), std::string::npos) << why;
  EXPECT_NE(why.find(foreign), std::string::npos) << why;
  EXPECT_TRUE(exists(foreign)) << "nothing unlinked";

  // A blob another process made on this daemon and never named.
  BlobClient maker(d.socket());
  ASSERT_FALSE(maker.name().empty());
  c.create("v", {}, Names{maker.name()});
  why = first_error(c);
  EXPECT_NE(why.find("names session " + std::to_string(maker.session()) +
                     " as its creator"),
            std::string::npos)
      << why;
  EXPECT_TRUE(exists(maker.name())) << "nothing unlinked";
  EXPECT_EQ(c.read(c.create("ok")).data, "ok") << "the session goes on";
}

}  // namespace
}  // namespace bocd::testing

#include "socket_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "bocd/proto/socket_dir.h"

namespace bocd::server {

namespace {

[[noreturn]] void fail(const std::string& dir, const std::string& why) {
  throw std::runtime_error("socket directory " + dir + ": " + why);
}

// Sets the mode on the directory itself (never a symlink's target): an
// explicit chmod, since mkdir's mode is cut by the umask.
void set_mode(const std::string& dir, std::optional<gid_t> trust_gid) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                   O_CLOEXEC);
  if (fd < 0) fail(dir, std::strerror(errno));
  bool ok = !trust_gid || ::fchown(fd, static_cast<uid_t>(-1), *trust_gid) == 0;
  int err = errno;
  ok = ok && ::fchmod(fd, trust_gid ? 0750 : 0700) == 0;
  if (!ok && err == 0) err = errno;
  ::close(fd);
  if (!ok) fail(dir, std::string("cannot set its group and mode: ") +
                         std::strerror(err));
}

// mkdir -p, but 0755 whatever the umask: a parent others could write
// would let them swap the socket's directory for their own.
void make_parents(const std::filesystem::path& parent) {
  if (parent.empty() || std::filesystem::exists(parent)) return;
  make_parents(parent.parent_path());
  if (::mkdir(parent.c_str(), 0755) == 0) ::chmod(parent.c_str(), 0755);
}

}  // namespace

void make_socket_dir(const std::string& dir, std::optional<gid_t> trust_gid) {
  std::string d = dir.empty() ? "." : dir;
  make_parents(std::filesystem::path(d).parent_path());
  bool made = ::mkdir(d.c_str(), 0700) == 0;
  if (!made && errno != EEXIST) fail(d, std::strerror(errno));
  std::string problem = proto::socket_dir_problem(d, {::geteuid()});
  if (!problem.empty()) throw std::runtime_error(problem);
  struct stat st{};
  if (::lstat(d.c_str(), &st) != 0) fail(d, std::strerror(errno));
  if (made || (trust_gid && st.st_uid == ::geteuid())) set_mode(d, trust_gid);
}

}  // namespace bocd::server

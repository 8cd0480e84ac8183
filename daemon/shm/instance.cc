#include "instance.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "bocd/proto/blob_name.h"

namespace bocd::shm {
namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

}  // namespace

InstanceLock::InstanceLock() {
  int dir = ::open(SHM_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) fail(std::string("cannot open ") + SHM_DIR);
  for (;;) {
    id_ = proto::new_blob_instance();
    std::string name = proto::instance_lock_name(id_);
    int fd = ::openat(dir, name.c_str(),
                      O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
      if (errno == EEXIST) continue;  // 64 random bits met: draw again
      ::close(dir);
      fail(std::string("cannot create ") + SHM_DIR + "/" + name);
    }
    // A sweeping daemon may take the new lock before this one does, think
    // the instance dead and unlink the object: after locking, the name
    // must still be this very object, else start over with a new id.
    struct stat held {}, named {};
    if (::flock(fd, LOCK_EX) == 0 && ::fstat(fd, &held) == 0 &&
        ::fstatat(dir, name.c_str(), &named, AT_SYMLINK_NOFOLLOW) == 0 &&
        held.st_ino == named.st_ino && held.st_dev == named.st_dev) {
      fd_ = fd;
      ::close(dir);
      return;
    }
    ::close(fd);
  }
}

InstanceLock::~InstanceLock() {
  if (fd_ < 0) return;
  std::string path = std::string(SHM_DIR) + "/" + proto::instance_lock_name(id_);
  ::unlink(path.c_str());
  ::close(fd_);
}

}  // namespace bocd::shm

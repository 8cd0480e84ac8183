#include "sweep.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <set>
#include <vector>

#include "bocd/proto/blob_name.h"
#include "instance.h"

namespace bocd::shm {
namespace {

// By hand with the *at calls rather than std::filesystem: every check and
// unlink is relative to one open directory and never follows a link, and
// the owner check needs the uid, which std::filesystem does not report.

// An open SHM_DIR (closed on scope exit); fd < 0 if it cannot be opened,
// and then there is nothing to sweep.
struct Dir {
  Dir() : fd(::open(SHM_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {}
  ~Dir() {
    if (fd >= 0) ::close(fd);
  }
  // The names of its entries (a snapshot: removing while reading a
  // directory may skip entries).
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    int copy = fd < 0 ? -1 : ::dup(fd);
    DIR* d = copy < 0 ? nullptr : ::fdopendir(copy);
    if (d == nullptr) {
      if (copy >= 0) ::close(copy);
      return out;
    }
    ::rewinddir(d);
    while (dirent* e = ::readdir(d)) {
      if (std::string_view(e->d_name).substr(0, 5) == "bocd-") {
        out.emplace_back(e->d_name);
      }
    }
    ::closedir(d);
    return out;
  }
  int fd;
};

// Removes `name` if it is a regular file of ours; adds it to `s`.
void remove_ours(const Dir& dir, const std::string& name, Swept& s) {
  struct stat st {};
  if (::fstatat(dir.fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
      !S_ISREG(st.st_mode) || st.st_uid != ::geteuid()) {
    return;
  }
  if (::unlinkat(dir.fd, name.c_str(), 0) == 0) {
    ++s.blobs;
    s.bytes += static_cast<std::uint64_t>(st.st_size);
  }
}

template <class Pick>
Swept remove_blobs(const Dir& dir, const std::vector<std::string>& names,
                   Pick pick) {
  Swept s;
  for (const std::string& name : names) {
    std::optional<proto::BlobOwner> owner = proto::parse_blob_name(name);
    if (owner && pick(name, *owner)) remove_ours(dir, name, s);
  }
  return s;
}

// The instance of a lock object's name, or "".
std::string_view lock_instance(std::string_view name) {
  constexpr std::string_view suffix = "-lock";
  if (name.size() != 5 + proto::BLOB_INSTANCE_HEX + suffix.size() ||
      name.substr(name.size() - suffix.size()) != suffix) {
    return {};
  }
  std::string_view id = name.substr(5, proto::BLOB_INSTANCE_HEX);
  return proto::valid_blob_instance(id) ? id : std::string_view{};
}

// Reclaims `instance` if its lock is missing or free: its blobs, then the
// lock object itself (while holding it, and only if the name is still the
// object locked).
Swept reclaim_if_dead(const Dir& dir, const std::vector<std::string>& names,
                      std::string_view instance) {
  std::string lock = proto::instance_lock_name(instance);
  int fd = ::openat(dir.fd, lock.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  struct stat held {};
  if (fd < 0) {
    if (errno != ENOENT) return {};  // cannot tell: leave it
  } else if (::fstat(fd, &held) != 0 || !S_ISREG(held.st_mode) ||
             held.st_uid != ::geteuid() ||
             ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);  // alive (locked), or not ours to judge
    return {};
  }
  Swept s = remove_blobs(dir, names, [&](const std::string&,
                                         const proto::BlobOwner& o) {
    return o.instance == instance;
  });
  s.instances = 1;
  if (fd >= 0) {
    struct stat named {};
    if (::fstatat(dir.fd, lock.c_str(), &named, AT_SYMLINK_NOFOLLOW) == 0 &&
        named.st_ino == held.st_ino && named.st_dev == held.st_dev) {
      ::unlinkat(dir.fd, lock.c_str(), 0);
    }
    ::close(fd);
  }
  return s;
}

}  // namespace

Swept sweep_dead(std::string_view own) {
  Dir dir;
  std::vector<std::string> names = dir.names();
  std::set<std::string, std::less<>> instances;
  for (const std::string& name : names) {
    if (auto owner = proto::parse_blob_name(name)) {
      instances.emplace(owner->instance);
    } else if (std::string_view id = lock_instance(name); !id.empty()) {
      instances.emplace(id);
    }
  }
  Swept total;
  for (const std::string& id : instances) {
    if (id != own) total += reclaim_if_dead(dir, names, id);
  }
  return total;
}

Swept sweep_creator(std::string_view instance, std::uint64_t creator,
                    const std::function<bool(const std::string&)>& keep) {
  Dir dir;
  return remove_blobs(dir, dir.names(), [&](const std::string& name,
                                            const proto::BlobOwner& o) {
    return o.instance == instance && o.creator == creator && !keep(name);
  });
}

Swept sweep_instance(std::string_view instance) {
  Dir dir;
  return remove_blobs(dir, dir.names(),
                      [&](const std::string&, const proto::BlobOwner& o) {
                        return o.instance == instance;
                      });
}

}  // namespace bocd::shm

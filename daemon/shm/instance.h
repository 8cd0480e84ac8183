// The daemon's blob instance: a random id its blob names carry
// (bocd/proto/blob_name.h) and a lock that says it is alive.
//
// The lock is the POSIX shared-memory object "bocd-<instance>-lock",
// created 0600 and held with flock(2) for the daemon's life. The kernel
// drops a flock when its holder dies, however it dies (SIGKILL included),
// so a starting daemon that can take the lock knows the instance is dead
// and may remove its blobs (sweep.h). Neither a pid (reused) nor a file in
// the daemon's socket directory (not findable from a blob name) says that.
// The descriptor is close-on-exec: a worker never inherits the lock.
#pragma once

#include <string>

namespace bocd::shm {

// Where POSIX shared-memory objects live on Linux (glibc's shm_open).
inline constexpr const char* SHM_DIR = "/dev/shm";

class InstanceLock {
 public:
  // Draws a fresh instance id (getrandom) and holds its lock. Throws
  // std::system_error naming the object when it cannot be made.
  InstanceLock();
  // Removes the lock object: only a daemon that stops cleanly gets here,
  // after its blobs are gone.
  ~InstanceLock();
  InstanceLock(const InstanceLock&) = delete;
  InstanceLock& operator=(const InstanceLock&) = delete;

  const std::string& id() const { return id_; }

 private:
  std::string id_;
  int fd_ = -1;
};

}  // namespace bocd::shm

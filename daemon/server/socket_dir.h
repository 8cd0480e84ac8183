// The directory that holds the daemon's socket (and, by default, its log):
// made by the daemon 0700 whatever the umask, or 0750 with a trusted group,
// and refused when someone else owns it or others may write to it (someone
// who can write there can plant a socket or a symlink for the daemon and
// its clients to use).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace bocd::server {

// Makes `dir` (and missing parents, as mkdir -p) if it does not exist:
// 0700, or 0750 with group `trust_gid`. An existing directory of the
// daemon's user is given that group and mode when `trust_gid` is set;
// anyone else's is never changed. Throws std::runtime_error naming the
// path, its owner and its mode when it is not safe (see
// proto::socket_dir_problem), or why it could not be made.
void make_socket_dir(const std::string& dir, std::optional<gid_t> trust_gid);

}  // namespace bocd::server

// Who is on the other end of a UNIX socket (SO_PEERCRED), and whether the
// daemon lets them in: the daemon's own uid, or a member of the group
// trusted with --trust-group (docs/service.md, Permission refused).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace bocd::server {

struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

// Reads the peer's credentials of a connected UNIX socket.
std::optional<PeerCredentials> peer_credentials(int fd);

// True when `peer` may use a daemon running as `self_uid`. With
// `trust_gid`, a peer whose primary or supplementary groups include it is
// admitted too.
bool peer_allowed(const PeerCredentials& peer, uid_t self_uid,
                  std::optional<gid_t> trust_gid);

}  // namespace bocd::server

// Where the daemon's socket is when nobody says: part of the contract
// between the daemon and every client.
#pragma once

#include <string>

namespace bocd::proto {

// $BOCD_SOCKET if set and non-empty; else $XDG_RUNTIME_DIR/bocd/bocd.sock;
// else /tmp/bocd-$UID/bocd.sock.
std::string default_socket_path();

}  // namespace bocd::proto

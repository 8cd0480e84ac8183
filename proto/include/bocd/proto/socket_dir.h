// Who may own the directory that holds the daemon's socket (and its log):
// part of the contract between the daemon and every client. A directory
// someone else owns or can write to lets them plant a socket or a symlink
// there, so both sides refuse it rather than talk through it.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace bocd::proto {

// Why `dir` is not safe to hold a socket or log of a daemon run by one of
// `owners`, or "" when it is: a real directory (not a symlink), owned by
// one of `owners` or by root (who can act as anyone anyway), with no write
// bit for its group or others. The message names the path, its owner and
// its mode. A directory that does not exist is "" too: whoever connects or
// creates there then reports that. Other stat errors are named.
std::string socket_dir_problem(const std::string& dir,
                               const std::vector<uid_t>& owners);

// The daemon uid a client trusts besides its own: $BOCD_DAEMON_UID, a
// number or a user name (for a system service run by root or a service
// user). Throws std::invalid_argument naming the value when it is neither.
std::optional<uid_t> trusted_daemon_uid_from_env();

// "uid N (name)", or "uid N" when it has no name.
std::string describe_uid(uid_t uid);

// "owner uid N (name), group G, mode 0750" of the file `st` describes:
// what an error refusing a path says about it.
std::string describe_owner(const struct stat& st);

}  // namespace bocd::proto

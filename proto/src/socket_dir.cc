#include "bocd/proto/socket_dir.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace bocd::proto {

std::string describe_uid(uid_t uid) {
  std::string s = "uid " + std::to_string(uid);
  // getpwuid_r: a client may call this from any thread.
  char buf[4096];
  passwd pw{};
  passwd* found = nullptr;
  if (::getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found) {
    s += std::string(" (") + found->pw_name + ")";
  }
  return s;
}

std::string describe_owner(const struct stat& st) {
  std::string group = std::to_string(st.st_gid);
  char buf[4096];
  struct group gr{};
  struct group* found = nullptr;
  if (::getgrgid_r(st.st_gid, &gr, buf, sizeof buf, &found) == 0 && found) {
    group = found->gr_name;
  }
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", unsigned(st.st_mode & 07777));
  return "owner " + describe_uid(st.st_uid) + ", group " + group +
         ", mode " + mode;
}

std::string socket_dir_problem(const std::string& dir,
                               const std::vector<uid_t>& owners) {
  std::string path = dir.empty() ? "." : dir;
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return "";
    return "cannot check the directory " + path + ": " +
           std::strerror(errno);
  }
  std::string where = path + " (" + describe_owner(st) + ")";
  if (S_ISLNK(st.st_mode)) {
    return "unsafe directory " + where +
           ": it is a symlink; it must be a real directory";
  }
  if (!S_ISDIR(st.st_mode)) {
    return where + " is not a directory";
  }
  std::string wanted;
  for (uid_t u : owners) wanted += describe_uid(u) + " or ";
  wanted += "root";
  bool owned = st.st_uid == 0 || std::find(owners.begin(), owners.end(),
                                           st.st_uid) != owners.end();
  if (!owned) {
    return "unsafe directory " + where + ": it must be owned by " +
           wanted + "; someone else made it (remove it, or choose another "
           "socket path)";
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return "unsafe directory " + where +
           ": its group or others may write to it (make it 0700, or 0750 "
           "for a trusted group)";
  }
  return "";
}

std::optional<uid_t> trusted_daemon_uid_from_env() {
  const char* v = std::getenv("BOCD_DAEMON_UID");
  if (v == nullptr || *v == '\0') return std::nullopt;
  char* end = nullptr;
  errno = 0;
  unsigned long n = std::strtoul(v, &end, 10);
  if (*end == '\0' && errno == 0 && v[0] != '-' && n <= 0xfffffffeul) {
    return static_cast<uid_t>(n);
  }
  char buf[4096];
  passwd pw{};
  passwd* found = nullptr;
  if (::getpwnam_r(v, &pw, buf, sizeof buf, &found) == 0 && found) {
    return found->pw_uid;
  }
  throw std::invalid_argument(std::string("BOCD_DAEMON_UID='") + v +
                              "' is neither a uid nor a user name");
}

}  // namespace bocd::proto

#include "log_file_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "bocd/proto/socket_dir.h"

namespace bocd::app {

namespace {

[[noreturn]] void fail(const std::string& what) {
  throw spdlog::spdlog_ex(what);
}

}  // namespace

LogFileSink::LogFileSink(std::string path, std::size_t max_bytes,
                         std::size_t max_files)
    : path_(std::move(path)), max_bytes_(max_bytes), max_files_(max_files) {
  std::filesystem::path p(path_);
  dir_ = p.parent_path().empty() ? "." : p.parent_path().string();
  name_ = p.filename().string();
  std::string problem = proto::socket_dir_problem(dir_, {::geteuid()});
  if (!problem.empty()) fail("log file " + path_ + ": " + problem);
  // The directory is held open so a rename of it later cannot move
  // rotation somewhere else.
  dir_fd_ = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                     O_CLOEXEC);
  if (dir_fd_ < 0) {
    fail("log file " + path_ + ": cannot open its directory: " +
         std::strerror(errno));
  }
  open();
}

LogFileSink::~LogFileSink() {
  if (fd_ >= 0) ::close(fd_);
  if (dir_fd_ >= 0) ::close(dir_fd_);
}

void LogFileSink::open() {
  int fd = ::openat(dir_fd_, name_.c_str(),
                    O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
                    0600);
  if (fd < 0 && errno == ELOOP) {
    fail("log file " + path_ + " is a symlink; refusing to follow it");
  }
  if (fd < 0) fail("cannot open log file " + path_ + ": " + std::strerror(errno));
  struct stat st{};
  ::fstat(fd, &st);
  if (!S_ISREG(st.st_mode) || st.st_uid != ::geteuid()) {
    ::close(fd);
    fail("log file " + path_ + " is not a regular file of " +
         proto::describe_uid(::geteuid()) + " (owner " +
         proto::describe_uid(st.st_uid) + ")");
  }
  // A file left by an older daemon may have the umask's mode.
  if ((st.st_mode & 077) != 0) ::fchmod(fd, 0600);
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  size_ = static_cast<std::size_t>(st.st_size);
}

void LogFileSink::rotate() {
  // Renames replace directory entries and never follow them.
  for (std::size_t k = max_files_; k > 0; --k) {
    std::string from = k == 1 ? name_ : name_ + "." + std::to_string(k - 1);
    std::string to = name_ + "." + std::to_string(k);
    ::renameat(dir_fd_, from.c_str(), dir_fd_, to.c_str());
  }
  try {
    open();
  } catch (const spdlog::spdlog_ex&) {
    size_ = 0;  // keep writing to the renamed file rather than lose lines
  }
}

void LogFileSink::sink_it_(const spdlog::details::log_msg& msg) {
  spdlog::memory_buf_t line;
  formatter_->format(msg, line);
  // Rotated before a line would take the file past the bound, so no file
  // exceeds it (but for a single longer line).
  if (max_bytes_ > 0 && size_ > 0 && size_ + line.size() > max_bytes_) {
    rotate();
  }
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a full disk must not stop the daemon
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  size_ += line.size();
}

}  // namespace bocd::app

// LogFileSink: the daemon's log file, opened without following symlinks in
// a directory only the daemon's user (or root) may write, created 0600
// whatever the umask, and rotated by size (bocd.log -> bocd.log.1 -> ...).
//
// Written by hand over spdlog's base_sink: spdlog's file sinks open by
// name with fopen, which follows a symlink planted at the path and creates
// the file with the umask's mode.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>

#include <spdlog/sinks/base_sink.h>

namespace bocd::app {

class LogFileSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  // Opens (appends to) `path`. `max_bytes` > 0: when a line would take the
  // file past that size, the file is renamed `path`.1 (older ones shift up
  // to `path`.`max_files`, the oldest dropped) and a new one begun. Throws spdlog::spdlog_ex naming
  // the path and what is wrong: an unsafe directory (owner, mode), a
  // symlink at the path, a file of another user's.
  LogFileSink(std::string path, std::size_t max_bytes, std::size_t max_files);
  ~LogFileSink() override;

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}  // every line is written at once

 private:
  void open();
  void rotate();

  std::string path_;
  std::string dir_;
  std::string name_;
  std::size_t max_bytes_;
  std::size_t max_files_;
  int dir_fd_ = -1;  // renames and reopens are relative to it
  int fd_ = -1;
  std::size_t size_ = 0;
};

}  // namespace bocd::app

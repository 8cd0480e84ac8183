// What a test can read of another process from /proc, and the test
// process's own descriptor limit: for resource-exhaustion tests that bound
// the daemon's work and memory.
#pragma once

#include <sys/types.h>

#include <string>

namespace bocd::testing {

// CPU time (user + system) the process has used, in seconds.
double cpu_seconds(pid_t pid);
// Its resident set (VmRSS), in bytes.
std::size_t rss_bytes(pid_t pid);
// Raises this process's RLIMIT_NOFILE soft limit to at least `n` (and the
// hard one, as root); false if it cannot.
bool raise_nofile(std::size_t n);
// Lines in `text`.
std::size_t count_lines(const std::string& text);
// Occurrences of `needle` in `text`.
std::size_t count_of(const std::string& text, const std::string& needle);

}  // namespace bocd::testing

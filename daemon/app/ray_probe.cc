#include "ray_probe.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include <nlohmann/json.hpp>

extern char** environ;

namespace bocd::app {

namespace {

// Everything the child writes, until it closes its end or `deadline`.
// Written by hand with posix_spawn and poll, as the worker provisioner
// starts processes: Boost.Process would bring Boost.Filesystem into the
// link for one call.
bool read_all(int fd, std::chrono::steady_clock::time_point deadline,
              std::string& out) {
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;
    out.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace

RayProbe probe_ray(const std::string& python, const std::string& address,
                   std::chrono::seconds timeout) {
  RayProbe probe;
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    probe.error = std::string("pipe: ") + std::strerror(errno);
    return probe;
  }
  std::vector<std::string> args = {python, "-m", "bocd.ray_bridge",
                                   "--probe", address};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  ::posix_spawn_file_actions_adddup2(&actions, out[1], 2);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, python.c_str(), &actions, nullptr,
                          argv.data(), environ);
  ::posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    probe.error = "cannot start '" + python + "': " + std::strerror(rc);
    return probe;
  }
  std::string text;
  bool ended = read_all(out[0], std::chrono::steady_clock::now() + timeout,
                        text);
  ::close(out[0]);
  if (!ended) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!ended) {
    probe.error = "no answer within " + std::to_string(timeout.count()) + " s";
    return probe;
  }
  // The last line is the probe's answer: {"cpus": N} or {"error": "..."}.
  std::size_t end = text.find_last_not_of('\n');
  std::size_t start = end == std::string::npos ? 0 : text.rfind('\n', end);
  std::string last = text.substr(start == std::string::npos ? 0 : start + 1);
  nlohmann::json answer =
      nlohmann::json::parse(last, nullptr, /*allow_exceptions=*/false);
  if (answer.is_object() && answer.contains("cpus") &&
      answer["cpus"].is_number_unsigned() && WIFEXITED(status) &&
      WEXITSTATUS(status) == 0) {
    probe.ok = true;
    probe.cpus = answer["cpus"].get<unsigned>();
    return probe;
  }
  probe.error = answer.is_object() && answer.contains("error") &&
                        answer["error"].is_string()
                    ? answer["error"].get<std::string>()
                    : text.substr(text.size() > 2000 ? text.size() - 2000 : 0);
  return probe;
}

}  // namespace bocd::app

// Checks, before the daemon serves, that the Ray cluster `bocd serve
// --executor ray` names answers, and how many CPUs it has (the default
// of --executor-slots). It runs `python -m bocd.ray_bridge --probe`, the
// bridge's own connection code, so the check is the one each bridge
// makes.
//
// Thread: any; blocks the caller until the probe ends or `timeout`.
#pragma once

#include <chrono>
#include <string>

namespace bocd::app {

struct RayProbe {
  bool ok = false;
  unsigned cpus = 0;   // when ok
  std::string error;   // when not: the probe's own words
};

// Runs `python -m bocd.ray_bridge --probe ADDRESS`; a probe that has not
// answered by `timeout` is killed and reported as unreachable.
RayProbe probe_ray(const std::string& python, const std::string& address,
                   std::chrono::seconds timeout);

}  // namespace bocd::app

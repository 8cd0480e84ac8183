#include "bocd/proto/socket_path.h"

#include <unistd.h>

#include <cstdlib>

namespace bocd::proto {

std::string default_socket_path() {
  const char* explicit_path = std::getenv("BOCD_SOCKET");
  if (explicit_path != nullptr && *explicit_path != '\0') return explicit_path;
  const char* runtime = std::getenv("XDG_RUNTIME_DIR");
  if (runtime != nullptr && *runtime != '\0') {
    return std::string(runtime) + "/bocd/bocd.sock";
  }
  return "/tmp/bocd-" + std::to_string(::getuid()) + "/bocd.sock";
}

}  // namespace bocd::proto

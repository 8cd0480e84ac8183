#include "bocd/proto/os_random.h"

#include <sys/random.h>

#include <cerrno>
#include <system_error>

namespace bocd::proto {

void os_random(void* out, std::size_t n) {
  auto* p = static_cast<unsigned char*>(out);
  while (n > 0) {
    // getrandom returns at most 32 MiB per call and may be interrupted by a
    // signal before the pool is ready: loop until everything is filled.
    ssize_t got = ::getrandom(p, n, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "getrandom");
    }
    p += got;
    n -= static_cast<std::size_t>(got);
  }
}

std::uint64_t os_random64() {
  std::uint64_t v = 0;
  os_random(&v, sizeof v);
  return v;
}

}  // namespace bocd::proto

// test_worker: a stand-in for `python -m bocd.worker` (its arguments are
// ignored), so the daemon's worker pool can be tested before the Python
// package exists. It connects as a worker to $BOCD_SOCKET and runs these
// payloads:
//   incr        add 1 to every cown (decimal); result: cown 0's new value
//   pid         result: this process's pid
//   throw       throws std::runtime_error("boom")
//   hang:FIFO   writes its pid to the FIFO, then blocks forever
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "bocd/client/client.h"

namespace {

void run(bocd::client::Access& a) {
  std::string_view p = a.payload();
  if (p == "incr") {
    for (std::size_t i = 0; i < a.size(); ++i) {
      a.mut(i) = std::to_string(std::stoll(a.get(i).data) + 1);
    }
    if (a.has_result() && a.size() > 0) a.set_result(a.get(0).data);
  } else if (p == "pid") {
    a.set_result(std::to_string(::getpid()));
  } else if (p == "throw") {
    throw std::runtime_error("boom");
  } else if (p.substr(0, 5) == "hang:") {
    std::string fifo(p.substr(5));
    int fd = ::open(fifo.c_str(), O_WRONLY);
    std::string pid = std::to_string(::getpid()) + "\n";
    (void)!::write(fd, pid.data(), pid.size());
    ::close(fd);
    for (;;) ::pause();
  } else {
    throw std::runtime_error("unknown payload: " + std::string(p));
  }
}

}  // namespace

int main() {
  const char* socket = std::getenv("BOCD_SOCKET");
  if (socket == nullptr) {
    std::fprintf(stderr, "test_worker: BOCD_SOCKET is not set\n");
    return 2;
  }
  bocd::client::Options options;
  options.socket = socket;
  options.program = "test_worker";
  options.worker = run;
  bocd::client::Client client(options);
  client.serve_until_closed();
  return 0;
}

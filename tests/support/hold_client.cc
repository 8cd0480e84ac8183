// hold_client SOCKET: a client that creates a cown holding "held", submits
// a behavior on it whose body prints "<cown id> <result id>" and then
// blocks forever, so the behavior stays RUNNING until the process is
// killed. Used to test what a client's death does to everyone else.
#include <unistd.h>

#include <atomic>
#include <cstdio>

#include "bocd/client/client.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: hold_client SOCKET\n");
    return 2;
  }
  bocd::client::Client client({argv[1], "hold_client"});
  auto cown = client.create("held");
  // Set right after submit returns; the body may start before that.
  std::atomic<std::uint64_t> result_id{0};
  auto body = [&](bocd::client::Access& a) {
    a.mut(0) = "changed but never committed";
    while (result_id.load() == 0) {
    }
    std::printf("%llu %llu\n", static_cast<unsigned long long>(cown.id),
                static_cast<unsigned long long>(result_id.load()));
    std::fflush(stdout);
    for (;;) ::pause();
  };
  result_id = client.submit_with_result({cown}, body).id;
  for (;;) ::pause();
}

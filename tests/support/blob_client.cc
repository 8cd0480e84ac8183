// blob_client SOCKET: a client that creates a shared-memory blob with its
// session's prefix, prints the blob's name and its session id, and then
// blocks forever without naming the blob to the daemon. Used to test what
// happens to a blob whose creator is killed before reporting it.
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "bocd/client/blob.h"
#include "bocd/client/client.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: blob_client SOCKET\n");
    return 2;
  }
  bocd::client::Client client({argv[1], "blob_client"});
  auto blob = bocd::client::Blob::create(client.blob_prefix(), 4096);
  std::memcpy(blob.data(), "never named", 11);
  std::printf("%s %llu\n", blob.name().c_str(),
              static_cast<unsigned long long>(client.session()));
  std::fflush(stdout);
  for (;;) ::pause();
}

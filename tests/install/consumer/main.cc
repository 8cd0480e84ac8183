// consumer SOCKET: stores 41 in a cown, runs a behavior that adds one,
// prints what the behavior left in its result cown.
#include <iostream>
#include <string>

#include "bocd/client/client.h"

int main(int argc, char** argv) {
  using namespace bocd::client;
  Options options;
  options.socket = argc > 1 ? argv[1] : "";
  Client c(options);
  CownRef n = c.create("41");
  CownRef r = c.submit_with_result({n}, [](Access& x) {
    x.set_result(std::to_string(std::stoi(x.get(0).data) + 1));
  });
  std::cout << c.read(r).data << "\n";
  c.wait();
}

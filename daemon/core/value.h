// A cown's value as the core stores it. The core never interprets the bytes
// (DESIGN D4); it only moves them between cowns, dispatches and commits.
#pragma once

#include <string>

#include "errc.h"

namespace bocd::core {

struct Value {
  // Opaque payload. std::string for its small-buffer optimisation: most
  // values in a busy program are a few bytes.
  std::string data;
  // The program's "this result holds a raised exception" flag.
  bool exception = false;
  // Set when the daemon produced this value itself (data is then a UTF-8
  // message), e.g. the executor of the behavior died.
  Errc error = Errc::none;

  friend bool operator==(const Value& a, const Value& b) {
    return a.data == b.data && a.exception == b.exception &&
           a.error == b.error;
  }
};

}  // namespace bocd::core

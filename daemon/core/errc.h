// Error results of the scheduling core. The core never throws: every command
// that can fail returns a Result. Errc is generated from bocd.proto.fb.ErrorCode
// in proto/schema/bocd.fbs, the one source of error codes, through
// bocd_error_list.inc (proto/error_list.cmake): a plain list, so the core
// stays free of flatbuffers. The server pins each value to the schema's.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace bocd::core {

enum class Errc : std::uint16_t {
#define BOCD_ERROR(wire_name, name) name,
#include "bocd_error_list.inc"
#undef BOCD_ERROR
};

// Number of Errc values; the server's map test iterates over them.
inline constexpr std::uint16_t ERRC_COUNT = 0
#define BOCD_ERROR(wire_name, name) +1
#include "bocd_error_list.inc"
#undef BOCD_ERROR
    ;

struct Failure {
  Errc code = Errc::none;
  std::string message;
};

// A value or a Failure, in the shape of std::expected (C++23), which the
// toolchain here does not ship.
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Failure f) : v_(std::move(f)) {}    // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  const Failure& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Failure> v_;
};

struct Ok {};
using Status = Result<Ok>;

inline Failure fail(Errc code, std::string message) {
  return Failure{code, std::move(message)};
}

}  // namespace bocd::core

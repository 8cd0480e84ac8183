// Error results of the scheduling core. The core never throws: every command
// that can fail returns a Result. Errc mirrors bocd.proto.fb.ErrorCode in
// proto/schema/bocd.fbs, which is the one source of error codes; the server
// pins each value to the schema's with static_assert.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace bocd::core {

enum class Errc : std::uint16_t {
  none = 0,
  malformed,
  version_mismatch,
  handshake_required,
  already_handshaken,
  not_permitted,
  unknown_cown,
  cown_exists,
  cown_out_of_range,
  too_many_cowns,
  unknown_behavior,
  mixed_pinned_owners,
  shutting_down,
  executor_lost,
  session_closed,
  too_many_in_flight,
  too_large,
  tag_capacity,   // messaging: no free queue for a new tag
  queue_full,     // messaging: the tag's queue holds its limit
  no_workers,     // no worker can run the behavior (none, or none starts)
  memory_cap,     // a program's stored values would pass its byte cap
  too_many_connections,  // the daemon refused a connection (its limit, fds)
};

// Number of Errc values; the server's map test iterates over them.
inline constexpr std::uint16_t ERRC_COUNT = 22;

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

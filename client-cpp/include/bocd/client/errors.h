// Errors of the C++ client. Daemon error codes (the schema's ErrorCode) map
// to std::error_code in the "bocd" category; losing the daemon is a
// ConnectionError naming the socket.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <system_error>

namespace bocd::client {

// bocd.proto.fb.ErrorCode value for value, generated from the schema's
// list (bocd_error_list.inc), with snake_case names.
enum class Errc : std::uint16_t {
#define BOCD_ERROR(wire_name, name) name,
#include "bocd_error_list.inc"
#undef BOCD_ERROR
};

const std::error_category& category();
inline std::error_code make_error_code(Errc e) {
  return {static_cast<int>(e), category()};
}

// The daemon refused a request.
class Error : public std::system_error {
 public:
  Error(Errc code, const std::string& message)
      : std::system_error(make_error_code(code), message), text_(message) {}
  // The daemon's words alone (what() appends the code's name).
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// The daemon cannot be reached or went away.
class ConnectionError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Nothing listens on the socket: no socket file, or a stale one nobody
// serves. Unlike a refusal (permissions, a daemon of another user), a
// program may then start a daemon of its own.
class NoDaemonError : public ConnectionError {
 public:
  using ConnectionError::ConnectionError;
};

// The socket's directory, or the daemon answering on it, is not one this
// user trusts: a directory someone else owns or may write to, or a daemon
// running as another uid than this process's or the one configured
// (Options::daemon_uid, $BOCD_DAEMON_UID). Never a reason to start a
// daemon of one's own instead: the message says what to fix.
class UntrustedDaemonError : public ConnectionError {
 public:
  using ConnectionError::ConnectionError;
};

// A wait or quiesce did not finish in time.
class Timeout : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace bocd::client

template <>
struct std::is_error_code_enum<bocd::client::Errc> : std::true_type {};

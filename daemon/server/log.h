// The server layer's logger, named "server", and its structured events.
// The app configures sinks before the server starts; if it has not (unit
// tests), spdlog's default sink is used.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>


#include <spdlog/spdlog.h>

#include "log_limit.h"

namespace bocd::server {

spdlog::logger& log();

// Logs `line` unless `limiter` suppresses lines of kind `key` now; the
// first line of a kind after some were suppressed says how many.
void log_limited(LogLimiter& limiter, std::string_view key,
                 spdlog::level::level_enum level, const std::string& line);
// One summary line per kind `limiter` drains (see LogLimiter::drain),
// prefixed with `who` ("session 3", "daemon").
void log_suppressed(LogLimiter& limiter, bool all, std::string_view who);

// One named value of a log event, e.g. {"session", 3}. A structured sink
// (JSON lines) shows each as a key of its own; the text sink shows only
// the sentence, which names the same values.
struct LogField {
  std::string_view name;
  std::variant<std::int64_t, std::uint64_t, double, bool, std::string_view>
      value;
};

// The fields of the event being logged on the calling thread: set for the
// duration of log_event() and empty otherwise. Sinks read them while they
// format, which is on the logging thread because every bocd logger is
// synchronous (an asynchronous logger would have to copy them).
std::span<const LogField> current_log_fields();

namespace detail {

void log_with_fields(spdlog::level::level_enum level,
                     std::span<const LogField> fields,
                     std::string_view sentence);

template <class T>
auto to_field_value(const T& v) {
  using V = decltype(LogField::value);
  if constexpr (std::is_same_v<T, bool>) {
    return V{v};
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    return V{static_cast<std::int64_t>(v)};
  } else if constexpr (std::is_integral_v<T>) {
    return V{static_cast<std::uint64_t>(v)};
  } else if constexpr (std::is_floating_point_v<T>) {
    return V{static_cast<double>(v)};
  } else {
    return V{std::string_view(v)};
  }
}

}  // namespace detail

// Logs an event on the server logger: the sentence `format` makes of the
// named arguments (fmt::arg("session", id), ...), each of which is also a
// field of the event. The format is checked at compile time.
template <class... T>
void log_event(spdlog::level::level_enum level,
               fmt::format_string<fmt::detail::named_arg<char, T>...> format,
               fmt::detail::named_arg<char, T>... args) {
  if (!log().should_log(level)) return;
  const LogField fields[] = {
      LogField{args.name, detail::to_field_value(args.value)}...};
  // Named args are views, which fmt takes only as rvalues.
  detail::log_with_fields(
      level, fields,
      fmt::vformat(fmt::string_view(format), fmt::make_format_args(std::move(args)...)));
}

}  // namespace bocd::server

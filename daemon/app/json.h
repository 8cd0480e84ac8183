// JSON text for the CLI's --json output and the daemon's JSON log lines,
// built with nlohmann-json. Strings there come from programs (names,
// messages) and may hold any bytes: dump_json() replaces invalid UTF-8
// with U+FFFD instead of throwing, and escapes quotes, backslashes and
// control characters.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace bocd::app {

// Objects keep their keys in insertion order, so output reads in the
// order the code builds it.
using Json = nlohmann::ordered_json;

// One line of compact JSON text (no trailing newline). Never throws.
std::string dump_json(const Json& value);

}  // namespace bocd::app

// The process exit codes of the bocd command, one per distinct outcome so
// scripts can tell them apart.
#pragma once

namespace bocd::app {

inline constexpr int EXIT_OK = 0;
inline constexpr int EXIT_FAILED = 1;       // runtime failure (see stderr)
inline constexpr int EXIT_USAGE = 2;        // bad command line
inline constexpr int EXIT_UNREACHABLE = 3;  // no daemon answers the socket
inline constexpr int EXIT_TIMEOUT = 4;      // --timeout elapsed
inline constexpr int EXIT_RUNNING = 5;      // serve: a daemon already serves

}  // namespace bocd::app

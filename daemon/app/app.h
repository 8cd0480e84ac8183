// The `bocd` command: parse the command line, run the subcommand.
#pragma once

namespace bocd::app {

// The whole program; returns the process exit code (exit_codes.h).
int main(int argc, char** argv);

}  // namespace bocd::app

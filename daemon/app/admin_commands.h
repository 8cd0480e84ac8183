// `bocd status`, `bocd quiesce` and `bocd stop`: the operator's commands,
// run over an admin session. Each returns the process exit code.
#pragma once

#include "options.h"

namespace bocd::app {

int run_status(const StatusOptions& options);
int run_quiesce(const QuiesceOptions& options);
int run_stop(const StopOptions& options);

}  // namespace bocd::app

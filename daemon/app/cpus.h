// How many physical cores this process may run on: the default for
// `bocd serve --workers`.
#pragma once

namespace bocd::app {

// Physical cores among the CPUs of this process's affinity mask (SMT
// siblings count once; read from sysfs), at least 1.
unsigned physical_cores();

}  // namespace bocd::app

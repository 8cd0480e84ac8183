// What this machine offers, for the defaults of `bocd serve`: physical
// cores (--workers) and memory (--max-program-bytes).
#pragma once

#include <cstdint>

namespace bocd::app {

// Physical cores among the CPUs of this process's affinity mask (SMT
// siblings count once; read from sysfs), at least 1.
unsigned physical_cores();

// Bytes of physical memory (sysconf), at least one page.
std::uint64_t physical_memory();

}  // namespace bocd::app

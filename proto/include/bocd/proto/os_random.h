// Bytes from the operating system's cryptographic source (getrandom(2)):
// what blob names, daemon instance ids and cown id prefixes are made of, so
// none of them can be guessed from earlier ones.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bocd::proto {

// Fills `out` with `n` random bytes. Blocks only until the kernel's pool is
// first initialised at boot; throws std::system_error if getrandom fails.
void os_random(void* out, std::size_t n);

// One random 64-bit word (os_random).
std::uint64_t os_random64();

}  // namespace bocd::proto

// Reclaiming blobs nobody will unlink (docs/protocol.md, Shared-memory
// blobs): those of a dead daemon instance, those a closed session made
// but never named to the daemon, and at a clean stop all of the
// daemon's own.
//
// Only entries of SHM_DIR that have the blob name form, are regular files
// and are owned by the daemon's own effective uid are removed; symbolic
// links are never followed (unlinkat removes the entry itself). SHM_DIR is
// sticky, so no other user can swap an entry between the check and the
// unlink.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace bocd::shm {

struct Swept {
  std::size_t blobs = 0;      // removed
  std::uint64_t bytes = 0;    // their sizes
  std::size_t instances = 0;  // dead instances reclaimed (sweep_dead)

  Swept& operator+=(const Swept& o) {
    blobs += o.blobs;
    bytes += o.bytes;
    instances += o.instances;
    return *this;
  }
};

// Removes the blobs and lock of every daemon instance other than `own`
// whose lock object is missing or not held (its daemon is dead). An
// instance whose lock cannot be opened or is not ours (another user's
// daemon, or anything odd) counts as alive and is left alone.
Swept sweep_dead(std::string_view own);

// Removes the blobs named for `instance` and session `creator` for which
// `keep(name)` is false (those the daemon was never told about).
Swept sweep_creator(std::string_view instance, std::uint64_t creator,
                    const std::function<bool(const std::string&)>& keep);

// Removes every blob named for `instance` (its daemon is stopping).
Swept sweep_instance(std::string_view instance);

}  // namespace bocd::shm

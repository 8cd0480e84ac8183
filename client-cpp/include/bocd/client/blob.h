// bocd::client::Blob: a shared-memory blob (docs/protocol.md,
// Shared-memory blobs).
//
// Large values and pickle-5 out-of-band buffers live in blobs and travel as
// names, never through the socket. One blob is one POSIX shared-memory
// object, created 0600 and mapped read-write. Its name is the session's
// prefix from the daemon (Client::blob_prefix(): daemon instance and
// creating session) followed by 128 bits from getrandom(2), so it can be
// neither guessed nor left behind: the daemon unlinks a blob once no
// stored value or queued behavior names it, removes the blobs a session
// made but never named when the session ends, and a starting daemon
// removes those of dead daemons (bocd/proto/blob_name.h). A mapping stays
// valid after the unlink until it is destroyed.
//
// Built on Boost.Interprocess rather than by hand: it owns the details of
// shm_open, ftruncate, mmap and unlink. Throws Error(too_large) or
// std::system_error-like boost exceptions (mapped to BlobError) on failure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include <boost/interprocess/mapped_region.hpp>

namespace bocd::client {

class BlobError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Blob {
 public:
  // Creates a new blob of `size` bytes, zero-filled, named `prefix` (a
  // session's Client::blob_prefix()) and random bits. Throws BlobError if
  // the prefix is not one (an older daemon gave none, say).
  static Blob create(const std::string& prefix, std::size_t size);
  // Maps the first `size` bytes of the existing blob `name`.
  Blob(std::string name, std::size_t size);

  // Removes the name; mappings stay valid. False if it did not exist.
  static bool unlink(const std::string& name);
  // Whether `name` has the form of a blob name (the daemon unlinks only
  // such names, and only of its own instance).
  static bool valid_name(const std::string& name);

  Blob(Blob&&) = default;
  Blob& operator=(Blob&&) = default;

  const std::string& name() const { return name_; }
  std::size_t size() const { return size_; }
  void* data() { return region_.get_address(); }
  std::uintptr_t address() const {
    return reinterpret_cast<std::uintptr_t>(region_.get_address());
  }

 private:
  Blob() = default;

  std::string name_;
  boost::interprocess::mapped_region region_;
  std::size_t size_ = 0;
};

}  // namespace bocd::client

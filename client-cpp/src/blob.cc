#include "bocd/client/blob.h"

#include <boost/interprocess/permissions.hpp>
#include <boost/interprocess/shared_memory_object.hpp>

#include "bocd/proto/blob_name.h"

namespace bocd::client {

namespace bip = boost::interprocess;

namespace {

// A zero-length mapping is not allowed; an empty blob maps one byte.
std::size_t mapped_size(std::size_t size) { return size ? size : 1; }

}  // namespace

Blob Blob::create(const std::string& prefix, std::size_t size) {
  if (!proto::valid_blob_prefix(prefix)) {
    throw BlobError("cannot create a shared-memory blob: '" + prefix +
                    "' is not a blob prefix from the daemon (an older "
                    "daemon, or no session yet)");
  }
  Blob b;
  b.name_ = proto::new_blob_name(prefix);
  b.size_ = size;
  try {
    bip::shared_memory_object shm(bip::create_only, b.name_.c_str(),
                                  bip::read_write, bip::permissions(0600));
    shm.truncate(static_cast<bip::offset_t>(mapped_size(size)));
    b.region_ = bip::mapped_region(shm, bip::read_write, 0, mapped_size(size));
  } catch (const bip::interprocess_exception& e) {
    bip::shared_memory_object::remove(b.name_.c_str());
    throw BlobError("cannot create shared-memory blob '" + b.name_ +
                    "' of " + std::to_string(size) + " bytes: " + e.what());
  }
  return b;
}

Blob::Blob(std::string name, std::size_t size)
    : name_(std::move(name)), size_(size) {
  if (!valid_name(name_)) {
    throw BlobError("not a bocd blob name: '" + name_ + "'");
  }
  try {
    bip::shared_memory_object shm(bip::open_only, name_.c_str(),
                                  bip::read_write);
    region_ = bip::mapped_region(shm, bip::read_write, 0, mapped_size(size));
  } catch (const bip::interprocess_exception& e) {
    throw BlobError("cannot map shared-memory blob '" + name_ +
                    "': " + e.what());
  }
}

bool Blob::unlink(const std::string& name) {
  return valid_name(name) &&
         bip::shared_memory_object::remove(name.c_str());
}

bool Blob::valid_name(const std::string& name) {
  return proto::valid_blob_name(name);
}

}  // namespace bocd::client

#include "bocd/client/blob.h"

#include <unistd.h>

#include <cstdio>
#include <random>

#include <boost/interprocess/permissions.hpp>
#include <boost/interprocess/shared_memory_object.hpp>

#include "bocd/proto/blob_name.h"

namespace bocd::client {

namespace bip = boost::interprocess;

namespace {

std::string fresh_name() {
  static thread_local std::mt19937_64 rng{
      (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}()};
  char buf[48];
  std::snprintf(buf, sizeof buf, "bocd-%x-%016llx",
                static_cast<unsigned>(::getpid()),
                static_cast<unsigned long long>(rng()));
  return buf;
}

// A zero-length mapping is not allowed; an empty blob maps one byte.
std::size_t mapped_size(std::size_t size) { return size ? size : 1; }

}  // namespace

Blob::Blob(std::size_t size) : name_(fresh_name()), size_(size) {
  try {
    bip::shared_memory_object shm(bip::create_only, name_.c_str(),
                                  bip::read_write, bip::permissions(0600));
    shm.truncate(static_cast<bip::offset_t>(mapped_size(size)));
    region_ = bip::mapped_region(shm, bip::read_write, 0, mapped_size(size));
  } catch (const bip::interprocess_exception& e) {
    bip::shared_memory_object::remove(name_.c_str());
    throw BlobError("cannot create a shared-memory blob of " +
                    std::to_string(size) + " bytes: " + e.what());
  }
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

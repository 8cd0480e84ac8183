#include "blobs.h"

#include <boost/interprocess/shared_memory_object.hpp>

#include "bocd/proto/blob_name.h"

namespace bocd::shm {

bool unlink_blob(const std::string& name) {
  // Never remove a name a client made up: only blob names, which all
  // start with "bocd-" and hold nothing but hex digits and dashes.
  if (!proto::valid_blob_name(name)) return false;
  return boost::interprocess::shared_memory_object::remove(name.c_str());
}

}  // namespace bocd::shm

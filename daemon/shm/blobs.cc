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

std::uint64_t blob_size(const std::string& name) {
  namespace bip = boost::interprocess;
  if (!proto::valid_blob_name(name)) return 0;
  try {
    bip::shared_memory_object shm(bip::open_only, name.c_str(), bip::read_only);
    bip::offset_t size = 0;
    return shm.get_size(size) && size > 0 ? static_cast<std::uint64_t>(size)
                                          : 0;
  } catch (const bip::interprocess_exception&) {
    return 0;  // gone already: it costs nothing
  }
}

}  // namespace bocd::shm

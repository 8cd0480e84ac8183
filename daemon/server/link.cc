#include "link.h"

namespace bocd::server {

void end_with(Link& link, proto::fb::ErrorCode code, const std::string& why) {
  std::vector<std::uint8_t> last;
  proto::Encoder(last).error(code, why, 0, 0, /*closing=*/true);
  link.close_saying(last, why);
}

void end_after_flush(Link& link, proto::fb::ErrorCode code,
                     const std::string& why) {
  proto::Encoder(link.out()).error(code, why, 0, 0, /*closing=*/true);
  link.close_after_flush(why);
}

}  // namespace bocd::server

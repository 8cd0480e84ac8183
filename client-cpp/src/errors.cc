#include "bocd/client/errors.h"

#include "bocd/proto/bocd_generated.h"

namespace bocd::client {
namespace {

#define BOCD_ERROR(wire_name, name)                     \
  static_assert(static_cast<std::uint16_t>(Errc::name) == \
                static_cast<std::uint16_t>(proto::fb::ErrorCode::wire_name));
#include "bocd_error_list.inc"
#undef BOCD_ERROR

class Category : public std::error_category {
 public:
  const char* name() const noexcept override { return "bocd"; }
  std::string message(int code) const override {
    auto e = static_cast<proto::fb::ErrorCode>(code);
    const char* n = proto::fb::EnumNameErrorCode(e);
    return (n != nullptr && *n != '\0') ? n : "unknown bocd error";
  }
};

}  // namespace

const std::error_category& category() {
  static const Category c;
  return c;
}

}  // namespace bocd::client

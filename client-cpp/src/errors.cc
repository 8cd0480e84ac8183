#include "bocd/client/errors.h"

#include "bocd/proto/bocd_generated.h"

namespace bocd::client {
namespace {

static_assert(static_cast<std::uint16_t>(Errc::too_many_connections) ==
                  static_cast<std::uint16_t>(proto::fb::ErrorCode::MAX),
              "client Errc must mirror every schema ErrorCode");

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

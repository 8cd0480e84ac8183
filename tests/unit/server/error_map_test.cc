// The schema's ErrorCode is the one source of error codes: the core's Errc
// and the client's Errc must map onto it one to one, with names.
#include <gtest/gtest.h>

#include "bocd/client/errors.h"
#include "server/error_map.h"

namespace bocd {
namespace {

TEST(ErrorMap, EveryCoreCodeMapsToANamedSchemaCode) {
  for (std::uint16_t i = 0; i < core::ERRC_COUNT; ++i) {
    auto wire = server::to_wire(static_cast<core::Errc>(i));
    EXPECT_EQ(static_cast<std::uint16_t>(wire), i);
    EXPECT_STRNE(proto::fb::EnumNameErrorCode(wire), "") << i;
  }
  EXPECT_EQ(static_cast<std::uint16_t>(proto::fb::ErrorCode::MAX) + 1,
            core::ERRC_COUNT);
}

TEST(ErrorMap, EverySchemaCodeHasAClientErrorCodeNamedAlike) {
  for (auto code : proto::fb::EnumValuesErrorCode()) {
    std::error_code ec = client::make_error_code(
        static_cast<client::Errc>(static_cast<std::uint16_t>(code)));
    EXPECT_EQ(ec.message(), proto::fb::EnumNameErrorCode(code));
    EXPECT_STREQ(ec.category().name(), "bocd");
  }
}

}  // namespace
}  // namespace bocd

// Slab (slots.h): slots never move as the table grows, and every index
// names its own slot across chunk boundaries.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/slots.h"

namespace bocd::core {
namespace {

TEST(SlabTest, SlotsKeepTheirPlaceAsTheTableGrows) {
  Slab<std::string> slab;
  std::vector<const std::string*> where;
  for (std::size_t i = 0; i < 10'000; ++i) {
    slab.emplace_back();
    EXPECT_EQ(slab.size(), i + 1);
    EXPECT_TRUE(slab[i].empty()) << "a new slot is default-constructed";
    slab[i] = std::to_string(i);
    where.push_back(&slab[i]);
  }
  for (std::size_t i = 0; i < where.size(); ++i) {
    EXPECT_EQ(&slab[i], where[i]) << i;
    EXPECT_EQ(slab[i], std::to_string(i));
  }
}

TEST(SlabTest, TakeSlotReusesFreedSlotsBeforeGrowing) {
  Slab<int> slab;
  std::vector<std::uint32_t> free;
  EXPECT_EQ(take_slot(slab, free), 0u);
  EXPECT_EQ(take_slot(slab, free), 1u);
  free.push_back(0);
  EXPECT_EQ(take_slot(slab, free), 0u);
  EXPECT_EQ(take_slot(slab, free), 2u);
  EXPECT_EQ(slab.size(), 3u);
}

}  // namespace
}  // namespace bocd::core

// Unit tests of FlatIndex, the open-addressing id -> slot map under the cown
// table and the session table (daemon/core/flat_index.h). The risky part is
// backward-shift deletion, so a random sequence is checked against
// std::unordered_map after every operation.
#include "core/flat_index.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <unordered_map>
#include <vector>

namespace bocd::core {
namespace {

TEST(FlatIndexTest, EmptyIndexFindsNothing) {
  FlatIndex index;
  EXPECT_EQ(index.find(1), FlatIndex::MISSING);
  index.erase(1);  // erasing from an empty index is a no-op
  EXPECT_EQ(index.size(), 0u);
}

TEST(FlatIndexTest, InsertedKeysAreFoundAndErasedOnesAreNot) {
  FlatIndex index;
  index.insert(7, 70);
  index.insert(8, 80);
  EXPECT_EQ(index.find(7), 70u);
  EXPECT_EQ(index.find(8), 80u);
  EXPECT_EQ(index.find(9), FlatIndex::MISSING);
  index.erase(7);
  index.erase(9);  // absent: nothing changes
  EXPECT_EQ(index.find(7), FlatIndex::MISSING);
  EXPECT_EQ(index.find(8), 80u);
  EXPECT_EQ(index.size(), 1u);
  index.erase(8);
  EXPECT_EQ(index.size(), 0u);
}

// Growing rehashes every key; none may be lost on the way.
TEST(FlatIndexTest, GrowingKeepsEveryKey) {
  FlatIndex index;
  constexpr std::uint64_t N = 5000;
  for (std::uint64_t k = 1; k <= N; ++k) {
    index.insert(k << 32 | k, static_cast<std::uint32_t>(k));
  }
  EXPECT_EQ(index.size(), N);
  for (std::uint64_t k = 1; k <= N; ++k) {
    ASSERT_EQ(index.find(k << 32 | k), k) << "key " << k;
  }
  for (std::uint64_t k = 1; k <= N; k += 2) index.erase(k << 32 | k);
  for (std::uint64_t k = 1; k <= N; ++k) {
    ASSERT_EQ(index.find(k << 32 | k), k % 2 ? FlatIndex::MISSING : k);
  }
  EXPECT_EQ(index.size(), N / 2);
}

// A small key pool at high load makes long probe runs that wrap around the
// end of the array, which is where backward shift can go wrong.
TEST(FlatIndexTest, RandomInsertEraseMatchesUnorderedMap) {
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    std::mt19937_64 rng(seed);
    FlatIndex index;
    std::unordered_map<std::uint64_t, std::uint32_t> ref;
    std::vector<std::uint64_t> pool;
    // 95 keys never grow the table past 128 slots (it grows at 3/4 full);
    // erasing less often than inserting keeps it about 60% full.
    for (int i = 0; i < 95; ++i) pool.push_back(rng() | 1);  // never 0
    for (int step = 0; step < 3000; ++step) {
      std::uint64_t key = pool[rng() % pool.size()];
      if (ref.count(key)) {
        if (rng() % 10 >= 3) continue;
        index.erase(key);
        ref.erase(key);
      } else {
        auto value = static_cast<std::uint32_t>(rng() % 1000);
        index.insert(key, value);
        ref[key] = value;
      }
      ASSERT_EQ(index.size(), ref.size()) << "seed " << seed;
      for (std::uint64_t k : pool) {
        auto it = ref.find(k);
        std::uint32_t want = it == ref.end() ? FlatIndex::MISSING : it->second;
        ASSERT_EQ(index.find(k), want) << "seed " << seed << " step " << step;
      }
    }
  }
}

}  // namespace
}  // namespace bocd::core

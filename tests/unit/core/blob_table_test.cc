// Unit tests of BlobTable: one count per naming, a name reported freed once
// when its last count goes (daemon/core/blob_table.h).
#include "core/blob_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace bocd::core {
namespace {

using Names = std::vector<std::string>;

TEST(BlobTableTest, EachNamingCountsOnce) {
  BlobTable t;
  t.add({"bocd-1-a", "bocd-1-b", "bocd-1-a"});
  EXPECT_EQ(t.count("bocd-1-a"), 2u);
  EXPECT_EQ(t.count("bocd-1-b"), 1u);
  EXPECT_EQ(t.count("bocd-1-c"), 0u);
  EXPECT_EQ(t.size(), 2u);
  Names names = t.names();
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (Names{"bocd-1-a", "bocd-1-b"}));
  EXPECT_FALSE(t.has_freed());
}

TEST(BlobTableTest, NameIsFreedOnceWhenItsLastCountGoes) {
  BlobTable t;
  t.add({"bocd-1-a"});
  t.add({"bocd-1-a"});
  t.release({"bocd-1-a"});
  EXPECT_FALSE(t.has_freed());
  EXPECT_EQ(t.count("bocd-1-a"), 1u);
  t.release({"bocd-1-a"});
  EXPECT_TRUE(t.has_freed());
  EXPECT_EQ(t.take_freed(), Names{"bocd-1-a"});
  EXPECT_FALSE(t.has_freed());
  EXPECT_TRUE(t.take_freed().empty()) << "reported once";
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.count("bocd-1-a"), 0u);
}

TEST(BlobTableTest, ReleasingAnUncountedNameChangesNothing) {
  BlobTable t;
  t.add({"bocd-1-a"});
  t.release({"bocd-1-zz"});
  t.release({});
  EXPECT_FALSE(t.has_freed());
  EXPECT_EQ(t.count("bocd-1-a"), 1u);
  EXPECT_EQ(t.size(), 1u);
}

TEST(BlobTableTest, RepeatedNameInOneReleaseFreesItOnce) {
  BlobTable t;
  t.add({"bocd-1-a", "bocd-1-a"});
  t.release({"bocd-1-a", "bocd-1-a", "bocd-1-a"});
  EXPECT_EQ(t.take_freed(), Names{"bocd-1-a"});
  EXPECT_EQ(t.size(), 0u);
}

TEST(BlobTableTest, FreedNameCountedAgainIsALiveBlobAgain) {
  BlobTable t;
  t.add({"bocd-1-a"});
  t.release({"bocd-1-a"});
  EXPECT_EQ(t.take_freed(), Names{"bocd-1-a"});
  t.add({"bocd-1-a"});
  EXPECT_EQ(t.count("bocd-1-a"), 1u);
  EXPECT_FALSE(t.has_freed());
}

}  // namespace
}  // namespace bocd::core

// The blob name form (bocd/proto/blob_name.h): what the daemon accepts and
// attributes, and what a new name looks like.
#include "bocd/proto/blob_name.h"

#include <gtest/gtest.h>

namespace bocd::proto {
namespace {

const std::string kInstance = "0123456789abcdef";

TEST(BlobName, NewNameCarriesItsInstanceAndCreator) {
  std::string prefix = blob_prefix(kInstance, 0x2a);
  EXPECT_EQ(prefix, "bocd-0123456789abcdef-000000000000002a-");
  ASSERT_TRUE(valid_blob_prefix(prefix));
  std::string name = new_blob_name(prefix);
  EXPECT_EQ(name.size(), BLOB_NAME_SIZE);
  auto owner = parse_blob_name(name);
  ASSERT_TRUE(owner.has_value()) << name;
  EXPECT_EQ(owner->instance, kInstance);
  EXPECT_EQ(owner->creator, 0x2au);
  EXPECT_NE(new_blob_name(prefix), name) << "128 random bits each";
}

TEST(BlobName, AnythingElseIsNotABlobName) {
  std::string good = new_blob_name(blob_prefix(kInstance, 1));
  std::string upper = good;
  upper[good.size() - 1] = 'A';
  std::string slash = good;
  slash[10] = '/';
  for (const std::string& bad :
       {std::string("bocd-1-00000000deadbeef"), std::string("../etc"),
        good.substr(0, good.size() - 1), good + "0", upper, slash,
        instance_lock_name(kInstance), std::string("")}) {
    EXPECT_FALSE(valid_blob_name(bad)) << bad;
  }
  EXPECT_TRUE(valid_blob_name(good));
  EXPECT_FALSE(valid_blob_prefix(good));
  EXPECT_FALSE(valid_blob_prefix(""));
}

TEST(BlobName, InstancesAreRandomHex) {
  std::string a = new_blob_instance(), b = new_blob_instance();
  EXPECT_TRUE(valid_blob_instance(a)) << a;
  EXPECT_NE(a, b);
  EXPECT_EQ(instance_lock_name(a), "bocd-" + a + "-lock");
}

}  // namespace
}  // namespace bocd::proto

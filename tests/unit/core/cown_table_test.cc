// Unit tests of CownTable: the slab of cowns, the id index and each owner's
// intrusive handle list (daemon/core/cown_table.h).
#include "core/cown_table.h"

#include <gtest/gtest.h>

#include <vector>

namespace bocd::core {
namespace {

const SessionId A{1};
const SessionId B{2};

Value val(const char* s) { return Value{s, false, Errc::none}; }

// Inserts cowns 1..n (offset by `base`) for `owner`, returning their slots.
std::vector<std::uint32_t> insert_n(CownTable& t, SessionId owner,
                                    std::uint64_t base, int n) {
  std::vector<std::uint32_t> out;
  for (int i = 1; i <= n; ++i) {
    out.push_back(t.insert(CownId{base + i}, Value{}, owner, false, owner));
  }
  return out;
}

TEST(CownTableTest, InsertedCownIsFoundById) {
  CownTable t;
  std::uint32_t c = t.insert(CownId{10}, val("x"), A, true, A);
  EXPECT_EQ(t.find(CownId{10}), c);
  EXPECT_EQ(t.find(CownId{11}), NONE);
  const Cown& cown = t.at(c);
  EXPECT_EQ(cown.id, CownId{10});
  EXPECT_EQ(cown.value, val("x"));
  EXPECT_EQ(cown.owner, A);
  EXPECT_TRUE(cown.owner_handle);
  EXPECT_TRUE(cown.pinned);
  EXPECT_EQ(cown.last_behavior, NONE);
  EXPECT_TRUE(cown.live);
  EXPECT_EQ(t.size(), 1u);
}

TEST(CownTableTest, DropHandleFreesIdleCown) {
  CownTable t;
  std::uint32_t c = t.insert(CownId{10}, val("x"), A, false, A);
  t.drop_handle(c);
  EXPECT_EQ(t.find(CownId{10}), NONE);
  EXPECT_FALSE(t.at(c).live);
  EXPECT_EQ(t.at(c).value, Value{}) << "a freed slot must not keep the bytes";
  EXPECT_EQ(t.size(), 0u);
}

TEST(CownTableTest, FreedSlotIsReused) {
  CownTable t;
  std::uint32_t c = t.insert(CownId{10}, Value{}, A, false, A);
  t.drop_handle(c);
  std::uint32_t d = t.insert(CownId{20}, val("y"), B, false, B);
  EXPECT_EQ(d, c);
  EXPECT_EQ(t.capacity(), 1u);
  EXPECT_EQ(t.find(CownId{20}), d);
  EXPECT_EQ(t.at(d).owner, B);
  t.drop_owner(B);
  EXPECT_EQ(t.size(), 0u);
}

TEST(CownTableTest, CownWithOwnerHandleIsNotFreed) {
  CownTable t;
  std::uint32_t c = t.insert(CownId{10}, Value{}, A, false, A);
  EXPECT_FALSE(t.free_if_unreferenced(c));
  EXPECT_EQ(t.find(CownId{10}), c);
  t.drop_handle(c);
  EXPECT_EQ(t.size(), 0u);
}

// A queued behavior keeps the cown alive after its owner lets go; the
// scheduler frees it when the queue empties.
TEST(CownTableTest, CownWithQueuedBehaviorIsNotFreed) {
  CownTable t;
  std::uint32_t c = t.insert(CownId{10}, val("x"), A, false, A);
  t.at(c).last_behavior = 0;
  t.drop_handle(c);
  EXPECT_EQ(t.find(CownId{10}), c);
  EXPECT_FALSE(t.at(c).owner_handle);
  EXPECT_TRUE(t.at(c).live);
  EXPECT_FALSE(t.free_if_unreferenced(c));
  EXPECT_EQ(t.at(c).value, val("x"));
  t.at(c).last_behavior = NONE;
  EXPECT_TRUE(t.free_if_unreferenced(c));
  EXPECT_EQ(t.find(CownId{10}), NONE);
  EXPECT_EQ(t.size(), 0u);
}

TEST(CownTableTest, DropOwnerFreesOnlyThatOwnersIdleCowns) {
  CownTable t;
  auto a = insert_n(t, A, 100, 3);
  auto b = insert_n(t, B, 200, 2);
  t.at(a[1]).last_behavior = 7;  // queued: must survive drop_owner
  t.drop_owner(A);
  EXPECT_EQ(t.find(CownId{101}), NONE);
  EXPECT_EQ(t.find(CownId{103}), NONE);
  EXPECT_EQ(t.find(CownId{102}), a[1]);
  EXPECT_FALSE(t.at(a[1]).owner_handle);
  EXPECT_EQ(t.find(CownId{201}), b[0]);
  EXPECT_EQ(t.find(CownId{202}), b[1]);
  EXPECT_TRUE(t.at(b[0]).owner_handle);
  EXPECT_EQ(t.size(), 3u);

  t.drop_owner(B);
  t.at(a[1]).last_behavior = NONE;
  EXPECT_TRUE(t.free_if_unreferenced(a[1]));
  EXPECT_EQ(t.size(), 0u);
}

// Dropping one handle unlinks it from the owner's list; drop_owner must
// still reach every other cown whether the dropped one was the list's head,
// middle or tail.
TEST(CownTableTest, DropHandleKeepsTheRestOfTheOwnerListLinked) {
  for (int victim = 0; victim < 3; ++victim) {
    CownTable t;
    auto a = insert_n(t, A, 100, 3);
    auto b = insert_n(t, B, 200, 1);
    t.drop_handle(a[victim]);
    EXPECT_EQ(t.size(), 3u) << "victim " << victim;
    t.drop_owner(A);
    EXPECT_EQ(t.size(), 1u) << "victim " << victim;
    EXPECT_EQ(t.find(CownId{201}), b[0]);
    t.drop_handle(b[0]);
    EXPECT_EQ(t.size(), 0u);
  }
}

TEST(CownTableTest, DroppingEveryHandleOneByOneEmptiesTheOwnerList) {
  CownTable t;
  auto a = insert_n(t, A, 100, 4);
  for (std::uint32_t c : a) t.drop_handle(c);
  EXPECT_EQ(t.size(), 0u);
  // The owner's list is gone; a new cown starts a fresh one.
  std::uint32_t c = t.insert(CownId{150}, Value{}, A, false, A);
  t.drop_owner(A);
  EXPECT_EQ(t.find(CownId{150}), NONE);
  EXPECT_FALSE(t.at(c).live);
  EXPECT_EQ(t.size(), 0u);
}

TEST(CownTableTest, DropOwnerOfUnknownOwnerDoesNothing) {
  CownTable t;
  insert_n(t, A, 100, 2);
  t.drop_owner(B);
  EXPECT_EQ(t.size(), 2u);
  t.drop_owner(A);
  t.drop_owner(A);  // idempotent: the list is already gone
  EXPECT_EQ(t.size(), 0u);
}

}  // namespace
}  // namespace bocd::core

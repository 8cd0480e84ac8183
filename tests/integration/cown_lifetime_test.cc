// Cown lifetime against the real daemon (docs/protocol.md, Cown lifetime):
// short-lived cowns do not accumulate, and a cown embedded in another
// cown's value lives as long as that value, whoever created it.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "bocd/client/admin.h"
#include "bocd/client/client.h"
#include "daemon_process.h"

namespace bocd::testing {
namespace {

using client::Access;
using client::Client;
using client::CownRef;

constexpr auto BOUND = std::chrono::seconds(30);  // a hung daemon, not timing

std::uint64_t cowns_in(const DaemonProcess& d) {
  client::AdminClient admin(d.socket());
  return admin.status(BOUND).cowns;
}

client::Options options(const DaemonProcess& d, const char* program) {
  client::Options o;
  o.socket = d.socket();
  o.program = program;
  return o;
}

// Each cown gets a behavior with a result cown whose value embeds it; both
// handles are dropped at once, so each pair is freed by a cascade when
// the behavior has run: the result goes, then the cown it embedded.
TEST(CownLifetime, HundredThousandShortLivedCownsLeaveTheCountAtItsBaseline) {
  constexpr int TOTAL = 100000, BATCH = 10000;
  DaemonProcess d;
  Client c(options(d, "short-lived"));
  const std::uint64_t baseline = cowns_in(d);
  for (int done = 0; done < TOTAL; done += BATCH) {
    for (int i = 0; i < BATCH; ++i) {
      CownRef x = c.create(std::to_string(done + i));
      CownRef r = c.submit_with_result({x}, [x](Access& a) {
        a.set_result("saw " + a.get(0).data, false, {x.id});
      });
      c.drop(x);
      c.drop(r);
    }
    c.wait();
    ASSERT_EQ(cowns_in(d), baseline) << "after " << done + BATCH << " cowns";
  }
  // One pair kept by its result's handle: the result's value keeps x.
  CownRef x = c.create("last");
  CownRef r = c.submit_with_result({x}, [x](Access& a) {
    a.set_result("saw " + a.get(0).data, false, {x.id});
  });
  c.drop(x);
  client::Value v = c.read(r);
  EXPECT_EQ(v.data, "saw last");
  EXPECT_EQ(v.refs, std::vector<std::uint64_t>{x.id});
  EXPECT_EQ(cowns_in(d), baseline + 2);
  c.drop(r);
  c.wait();
  EXPECT_EQ(cowns_in(d), baseline);
  EXPECT_TRUE(c.take_errors().empty());
}

TEST(CownLifetime, CownInAnotherCownsValueOutlivesItsCreatorUntilOverwritten) {
  DaemonProcess d;
  const std::uint64_t baseline = cowns_in(d);
  Client keeper(options(d, "keeper"));
  CownRef inner, outer;
  {
    Client creator(options(d, "creator"));
    inner = creator.create("inner");
    const std::uint64_t refs[] = {inner.id};
    outer = creator.create("embeds inner", refs);
    creator.wait();  // both exist before another session names them
    const std::uint64_t held[] = {outer.id};
    keeper.hold(held);
    keeper.wait();
  }  // the creator disconnects: its handles on both are dropped
  EXPECT_EQ(cowns_in(d), baseline + 2);
  EXPECT_EQ(keeper.read(inner).data, "inner") << "outer's value embeds it";

  // Editing the bytes keeps the value's refs; replacing them frees inner.
  keeper.submit({outer}, [](Access& a) { a.mut(0) += ", edited"; });
  client::Value v = keeper.read(outer);
  EXPECT_EQ(v.data, "embeds inner, edited");
  EXPECT_EQ(v.refs, std::vector<std::uint64_t>{inner.id});
  EXPECT_EQ(cowns_in(d), baseline + 2);
  keeper.submit({outer}, [](Access& a) {
    a.mut(0) = "plain";
    a.set_refs(0, {});
  });
  keeper.wait();
  EXPECT_EQ(cowns_in(d), baseline + 1) << "overwriting the value freed inner";
  try {
    keeper.read(inner);
    FAIL() << "inner is still readable";
  } catch (const client::Error& e) {
    EXPECT_EQ(e.code(), client::Errc::unknown_cown);
  }
  keeper.drop(outer);
  keeper.wait();
  EXPECT_EQ(cowns_in(d), baseline);
}

}  // namespace
}  // namespace bocd::testing

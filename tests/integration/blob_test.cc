// Shared-memory blobs against the real daemon (docs/protocol.md,
// Shared-memory blobs): a blob named by a value lives while a stored value
// or a live behavior names it, the daemon unlinks it after that and at
// stop, and it refuses names that are not blob names. Each check of
// /dev/shm follows a round trip (read() or wait()) issued after the command
// that freed the blob: the daemon unlinks while handling that command,
// before it answers the next one.
#include <unistd.h>

#include <atomic>
#include <optional>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "bocd/client/blob.h"
#include "bocd/client/client.h"
#include "bocd/proto/blob_name.h"
#include "daemon_process.h"

namespace bocd::testing {
namespace {

using client::Access;
using client::Blob;
using client::BlobError;
using client::Client;
using client::CownRef;
using Names = std::vector<std::string>;

client::Options plain(const DaemonProcess& d) {
  client::Options o;
  o.socket = d.socket();
  o.program = "blob-test";
  return o;
}

bool exists(const std::string& blob) {
  return ::access(("/dev/shm/" + blob).c_str(), F_OK) == 0;
}

// A prefix of the blob name form, for blobs no daemon sees.
const std::string kLonePrefix = proto::blob_prefix("0123456789abcdef", 1);

// A blob holding `text` named with `prefix` (a session's), unlinked at the
// end of the test whatever happened.
struct TestBlob {
  TestBlob(const std::string& prefix, const std::string& text)
      : blob(Blob::create(prefix, text.size())) {
    std::memcpy(blob.data(), text.data(), text.size());
  }
  ~TestBlob() { Blob::unlink(blob.name()); }
  const std::string& name() const { return blob.name(); }
  std::string text() {
    return std::string(static_cast<const char*>(blob.data()), blob.size());
  }
  Blob blob;
};

client::Errc first_error(Client& c) {
  try {
    c.wait();
  } catch (const client::Error& e) {
    return static_cast<client::Errc>(e.code().value());
  }
  return client::Errc::none;
}

TEST(Blob, MappingANameSeesTheSameBytes) {
  TestBlob b(kLonePrefix, "shared bytes");
  ASSERT_TRUE(Blob::valid_name(b.name())) << b.name();
  ASSERT_TRUE(exists(b.name()));
  Blob mapped(b.name(), b.blob.size());
  EXPECT_EQ(std::string(static_cast<const char*>(mapped.data()), 12),
            "shared bytes");
  static_cast<char*>(mapped.data())[0] = 'S';
  EXPECT_EQ(b.text(), "Shared bytes");
}

TEST(Blob, MappingAMissingOrForeignNameThrows) {
  std::string gone;
  {
    TestBlob b(kLonePrefix, "x");
    gone = b.name();
  }
  ASSERT_FALSE(exists(gone));
  EXPECT_THROW(Blob(gone, 1), BlobError);
  EXPECT_THROW(Blob("bocd-1-00000000deadbeef", 1), BlobError);
  EXPECT_THROW(Blob("../etc", 1), BlobError);
  EXPECT_THROW(Blob("notablob", 1), BlobError);
  EXPECT_FALSE(Blob::unlink(gone));
}

TEST(Blob, OverwrittenValueUnlinksItsBlob) {
  DaemonProcess d;
  Client c(plain(d));
  TestBlob b(c.blob_prefix(), "payload");
  CownRef x = c.create("names a blob", {}, Names{b.name()});
  c.wait();
  EXPECT_TRUE(exists(b.name()));
  c.submit({x}, [](Access& a) {
    a.mut(0) = "plain";
    a.set_blobs(0, {});
  });
  EXPECT_EQ(c.read(x).data, "plain");
  EXPECT_FALSE(exists(b.name())) << "no value names it";
  EXPECT_EQ(b.text(), "payload") << "a mapping outlives the unlink";
}

TEST(Blob, ValueNamingItsBlobAgainKeepsIt) {
  DaemonProcess d;
  Client c(plain(d));
  TestBlob b(c.blob_prefix(), "kept");
  CownRef x = c.create("v1", {}, Names{b.name()});
  std::string name = b.name();
  c.submit({x}, [name](Access& a) {
    a.mut(0) = "v2";
    a.set_blobs(0, {name});
  });
  EXPECT_EQ(c.read(x).data, "v2");
  EXPECT_TRUE(exists(b.name()));
  c.drop(x);
  c.wait();
  EXPECT_FALSE(exists(b.name())) << "freeing the cown frees its blobs";
}

TEST(Blob, BlobNamedByTwoCownsGoesWithTheSecond) {
  DaemonProcess d;
  Client c(plain(d));
  TestBlob b(c.blob_prefix(), "twice");
  CownRef x = c.create("x", {}, Names{b.name()});
  CownRef y = c.create("y", {}, Names{b.name()});
  c.submit({x}, [](Access& a) {
    a.mut(0) = "x2";
    a.set_blobs(0, {});
  });
  EXPECT_EQ(c.read(x).data, "x2");
  EXPECT_TRUE(exists(b.name())) << "y still names it";
  c.submit({y}, [](Access& a) {
    a.mut(0) = "y2";
    a.set_blobs(0, {});
  });
  EXPECT_EQ(c.read(y).data, "y2");
  EXPECT_FALSE(exists(b.name()));
}

TEST(Blob, PayloadAndResultBlobsLiveAsLongAsTheyAreNamed) {
  DaemonProcess d;
  Client c(plain(d));
  // Both clients are of this process: each may name the other's blobs.
  TestBlob payload(c.blob_prefix(), "in"), result(c.blob_prefix(), "out");
  std::string result_name = result.name();
  client::Options wo;
  wo.socket = d.socket();
  wo.program = "blob-worker";
  std::atomic<int> payload_seen{0};  // runs that found the payload blob
  wo.worker = [&](Access& a) {
    if (exists(std::string(a.payload()))) ++payload_seen;
    a.set_result("r", false, {}, {result_name});
  };
  Client w(wo);
  CownRef r = c.submit_to_workers({}, payload.name(), true, 0, {},
                                  Names{payload.name()});
  EXPECT_EQ(c.read(r).data, "r");
  EXPECT_EQ(payload_seen.load(), 1) << "alive while running";
  EXPECT_FALSE(exists(payload.name())) << "freed when the behavior completed";
  EXPECT_TRUE(exists(result.name())) << "the result cown's value names it";
  c.drop(r);
  c.wait();
  EXPECT_FALSE(exists(result.name()));
}

TEST(Blob, DaemonStopUnlinksTheBlobsOfCownsStillHeld) {
  DaemonProcess d;
  std::optional<TestBlob> b;
  {
    Client c(plain(d));
    b.emplace(c.blob_prefix(), "left over");
    c.create("held", {}, Names{b->name()});
    c.wait();
    EXPECT_TRUE(exists(b->name()));
    EXPECT_EQ(d.stop(), 0);
  }
  EXPECT_FALSE(exists(b->name()));
}

// Cowns whose values embed each other outlive every handle and session
// (cown_table.h); their blobs go only when the daemon stops.
TEST(Blob, DaemonStopUnlinksBlobsACycleKeeps) {
  DaemonProcess d;
  std::optional<TestBlob> b;
  std::string name;
  {
    Client c(plain(d));
    b.emplace(c.blob_prefix(), "in a cycle");
    name = b->name();
    CownRef x = c.create("x", {}, Names{name});
    CownRef y = c.create("y", std::vector<std::uint64_t>{x.id});
    c.submit({x}, [y, name](Access& a) {
      a.mut(0) = "x embeds y";
      a.set_refs(0, {y.id});
      a.set_blobs(0, {name});
    });
    ASSERT_EQ(c.read(x).refs, std::vector<std::uint64_t>{y.id});
    c.drop(x);
    c.drop(y);
    c.wait();
  }
  EXPECT_TRUE(exists(name)) << "the cycle still names it";
  EXPECT_EQ(d.stop(), 0);
  EXPECT_FALSE(exists(name));
  EXPECT_NE(d.log().find("removed 1 shared-memory blob(s)"),
            std::string::npos) << d.log();
}

TEST(Blob, NameThatIsNotABlobIsRefusedAndTheSessionGoesOn) {
  DaemonProcess d;
  Client c(plain(d));
  for (const std::string bad : {"../etc", "notablob", "bocd-1-/../x"}) {
    SCOPED_TRACE(bad);
    CownRef x = c.create("v", {}, Names{bad});
    EXPECT_EQ(first_error(c), client::Errc::not_permitted);
    try {
      c.read(x);
      ADD_FAILURE() << "the refused cown exists";
    } catch (const client::Error& e) {
      EXPECT_EQ(e.code(), client::Errc::unknown_cown);
    }
    c.submit_to_workers({}, "p", false, 0, {}, Names{bad});
    EXPECT_EQ(first_error(c), client::Errc::not_permitted);
  }
  EXPECT_EQ(c.read(c.create("ok")).data, "ok");
}

// A completion naming a bad blob is refused like any bad completion: the
// behavior stays running (its cown held) until a valid one arrives.
TEST(Blob, ReleaseNamingANonBlobIsRefused) {
  DaemonProcess d;
  Client c(plain(d));
  CownRef x = c.create("v1");
  CownRef y = c.create("other");
  client::Lease lease = c.acquire(x);
  client::Value bad{"v2"};
  bad.blobs = {"../etc"};
  c.release(lease, &bad);
  EXPECT_EQ(c.read(y).data, "other") << "a round trip after the release";
  std::vector<client::Error> errors = c.take_errors();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].code(), client::Errc::not_permitted);
  EXPECT_NE(std::string(errors[0].what()).find("../etc"), std::string::npos);
  // The refused release ends the hold without committing: the cown keeps
  // its value and is free again (nothing waits on it for ever).
  EXPECT_EQ(c.read(x).data, "v1") << "nothing of the refused value committed";
  client::Lease again = c.acquire(x);
  client::Value good{"v3"};
  c.release(again, &good);
  EXPECT_EQ(c.read(x).data, "v3");
}

}  // namespace
}  // namespace bocd::testing

// Who may name a cown (docs/protocol.md, Who may name a cown): a program
// names its own cowns and those its behaviors made, its workers act for
// it, and another program's id is refused with the same answer as an id
// that names nothing.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/core.h"
#include "core/hex.h"
#include "scheduler_test_util.h"

namespace bocd::core {
namespace {

using namespace test;

class SchedulerCapabilityTest : public SchedulerWithClient {
 protected:
  SessionGrant b = s.open_session(Role::client, 2, "b");
  CownId secret = cown(a, 1);
  void SetUp() override {
    ASSERT_TRUE(s.create_cown(a.id, secret, val("a's secret"), false));
  }
  // `r` must have failed with unknown_cown, naming `id`.
  template <class T>
  static void expect_refused(const Result<T>& r, CownId id) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::unknown_cown);
    const std::string& m = r.error().message;
    EXPECT_NE(m.find("another program's"), std::string::npos) << m;
    EXPECT_NE(m.find(hex(id.value)), std::string::npos) << m;
  }
};

TEST_F(SchedulerCapabilityTest, AnotherProgramCannotRequestHoldOrEmbedACown) {
  expect_refused(s.submit(b.id, on({secret})), secret);
  expect_refused(s.submit(b.id, pooled({secret})), secret);
  expect_refused(s.hold_cowns(b.id, {secret}), secret);
  expect_refused(s.submit(b.id, with_refs(on({}), {secret})), secret);
  Value v = val("embeds a's");
  v.refs = {secret};
  expect_refused(s.create_cown(b.id, cown(b, 1), v, false), secret);
  Value m = val("message");
  m.refs = {secret};
  expect_refused(s.mail_send(b.id, {}, "t", m), secret);
  expect_refused(s.mail_board(b.id, {}, secret), secret);
  EXPECT_EQ(s.value_of(secret)->data, "a's secret");
  EXPECT_EQ(s.check_invariants(), "");
}

TEST_F(SchedulerCapabilityTest, AnIdOfAnotherProgramGetsTheAnswerOfAMissingId) {
  Status other = s.hold_cowns(b.id, {secret});
  Status missing = s.hold_cowns(b.id, {cown(a, 99)});
  ASSERT_FALSE(other.ok());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(other.error().code, missing.error().code);
  std::string o = other.error().message, m = missing.error().message;
  EXPECT_EQ(o.substr(0, o.rfind(' ')), m.substr(0, m.rfind(' ')))
      << "only the id differs, so a guesser cannot tell which exist";
}

TEST_F(SchedulerCapabilityTest, TheOwnerNamesItsCownsAndWhatItsBehaviorsMade) {
  SessionGrant w = s.open_session(Role::worker, 3, "w",
                                  SessionOptions{a.id, false});
  drain(s);
  CownId made_in_body = cown(w, 1);
  BehaviorId bh = submit_ok(s, a.id, pooled({secret}));
  ASSERT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{bh});
  // The worker acts for program a: it holds a's cown, and a cown it makes
  // belongs to a, which may then name it once handed it in a value.
  EXPECT_TRUE(s.hold_cowns(w.id, {secret}));
  ASSERT_TRUE(s.create_cown(w.id, made_in_body, val("made"), false));
  Value v = val("points at made");
  v.refs = {made_in_body};
  complete_ok(s, w.id, bh, {{secret, v}});
  EXPECT_TRUE(s.hold_cowns(a.id, {made_in_body}));
  BehaviorId again = submit_ok(s, a.id, on({made_in_body}));
  EXPECT_TRUE(running(s, again));
  expect_refused(s.hold_cowns(b.id, {made_in_body}), made_in_body);
  complete_ok(s, a.id, again);
  EXPECT_EQ(s.check_invariants(), "");
}

TEST_F(SchedulerCapabilityTest, AWorkerForOneProgramCannotNameAnothers) {
  SessionGrant wb = s.open_session(Role::worker, 4, "wb",
                                   SessionOptions{b.id, false});
  expect_refused(s.hold_cowns(wb.id, {secret}), secret);
  Value v = val("x");
  v.refs = {secret};
  expect_refused(s.create_cown(wb.id, cown(wb, 1), v, false), secret);
}

TEST_F(SchedulerCapabilityTest, ASharedWorkerActsForTheProgramsItIsRunning) {
  // A worker that connected on its own serves every program without
  // workers of its own: it may name a's cowns while it holds a behavior
  // of a's, and not after.
  SessionGrant w = s.open_session(Role::worker, 5, "shared");
  expect_refused(s.hold_cowns(w.id, {secret}), secret);
  BehaviorId bh = submit_ok(s, a.id, pooled({secret}));
  ASSERT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{bh});
  EXPECT_TRUE(s.hold_cowns(w.id, {secret}));
  CownId made = cown(w, 1);
  ASSERT_TRUE(s.create_cown(w.id, made, val("made for a"), false));
  complete_ok(s, w.id, bh);
  EXPECT_TRUE(s.hold_cowns(a.id, {made})) << "made in a's behavior: a's";
  expect_refused(s.hold_cowns(b.id, {made}), made);
  CownId other = cown(w, 2);
  Value v = val("x");
  v.refs = {made};
  expect_refused(s.create_cown(w.id, other, v, false), made);
  EXPECT_EQ(s.check_invariants(), "");
}

TEST_F(SchedulerCapabilityTest, AWorkersOtherSessionsActForItsPrograms) {
  // A body waits (acquire, receive) over a second session of its worker's
  // process: that session acts for the same programs.
  SessionGrant bound = s.open_session(Role::worker, 7, "w",
                                      SessionOptions{a.id, false});
  SessionGrant waits = s.open_session(Role::client, 7, "w/wait");
  EXPECT_TRUE(s.hold_cowns(waits.id, {secret}));
  s.close_session(waits.id);
  s.close_session(bound.id);

  SessionGrant shared = s.open_session(Role::worker, 8, "shared");
  SessionGrant shared_waits = s.open_session(Role::client, 8, "shared/wait");
  expect_refused(s.hold_cowns(shared_waits.id, {secret}), secret);
  BehaviorId bh = submit_ok(s, a.id, pooled({}));
  ASSERT_EQ(dispatched_to(s, shared.id), std::vector<BehaviorId>{bh});
  EXPECT_TRUE(s.hold_cowns(shared_waits.id, {secret}));
  complete_ok(s, shared.id, bh);
  EXPECT_EQ(s.check_invariants(), "");
}

TEST_F(SchedulerCapabilityTest, SameProgramIsWhatNamingGoesBy) {
  SessionGrant again = s.open_session(Role::client, 1, "a, second session");
  SessionGrant bound = s.open_session(Role::worker, 7, "w",
                                      SessionOptions{a.id, false});
  EXPECT_TRUE(s.same_program(a.id, again.id));
  EXPECT_TRUE(s.same_program(bound.id, a.id));
  EXPECT_FALSE(s.same_program(a.id, b.id));
  s.close_session(again.id);
  EXPECT_FALSE(s.same_program(a.id, again.id)) << "a closed session is none";
}

TEST_F(SchedulerCapabilityTest, AReusedPidIsAnotherProgram) {
  SessionGrant first = s.open_session(Role::client, 9, "first");
  CownId kept = cown(first, 1);
  ASSERT_TRUE(s.create_cown(first.id, kept, val("first's"), false));
  ASSERT_TRUE(s.hold_cowns(a.id, {}));
  Value v = val("keeps it");
  v.refs = {kept};
  ASSERT_TRUE(s.create_cown(first.id, cown(first, 2), v, false));
  s.close_session(first.id);  // its cowns live on in each other's value
  SessionGrant next = s.open_session(Role::client, 9, "next");
  expect_refused(s.hold_cowns(next.id, {kept}), kept);
}

}  // namespace
}  // namespace bocd::core

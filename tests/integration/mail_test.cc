// Messaging (docs/protocol.md, Messaging) through the C++ client against
// the real daemon: per-tag FIFO, polls and parked receives, cancel, return,
// the configured limits with bocpy's words, cowns kept alive by messages in
// flight and freed when nothing holds them, and a worker process's second
// connection messaging for a program whose behavior it runs, after its
// barrier and in its own order. Waits for events are receives, round trips
// and bodies the test holds; every timeout is only a guard against a hung
// daemon.
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "bocd/client/admin.h"
#include "bocd/client/client.h"
#include "daemon_process.h"
#include "mail_support.h"
#include "raw_client.h"

namespace bocd::testing {
namespace {

using namespace mail;  // NOLINT: the helpers this file shares

// ---- Send, receive, park, cancel --------------------------------------

TEST(Mail, SendThenPollReceivesEachTagInFifoOrder) {
  DaemonProcess d;
  Client c(options(d, "fifo"));
  for (int i = 0; i < 3; ++i) {
    c.mail_send(0, "a", text("a" + std::to_string(i)));
    c.mail_send(0, "b", text("b" + std::to_string(i)));
  }
  Value raised = text("raised");
  raised.exception = true;
  c.mail_send(0, "b", raised);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(poll_data(c, "a"), "a" + std::to_string(i));
  }
  EXPECT_EQ(poll_data(c, "a"), "(none)") << "tag a is empty now";
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(poll_data(c, "b"), "b" + std::to_string(i));
  }
  Mail last = poll(c, {"b"});
  ASSERT_TRUE(last.got);
  EXPECT_EQ(last.value.data, "raised");
  EXPECT_TRUE(last.value.exception) << "the exception flag travels";
  EXPECT_EQ(poll_data(c, "b"), "(none)");
  c.wait();
  EXPECT_TRUE(c.take_errors().empty());
}

TEST(Mail, PollOfATagNeverUsedReturnsNothing) {
  DaemonProcess d;
  Client c(options(d, "empty"));
  Mail m = poll(c, {"nothing-here"});
  EXPECT_FALSE(m.got);
  EXPECT_EQ(m.tag, "");
  EXPECT_EQ(m.value.data, "");
  EXPECT_FALSE(poll(c, {"x", "y", "z"}).got);
}

TEST(Mail, MultiTagReceiveTakesTheFirstNamedTagThatHasAMessage) {
  DaemonProcess d;
  Client c(options(d, "multi"));
  c.mail_send(0, "b", text("b0"));
  c.mail_send(0, "a", text("a0"));
  c.mail_send(0, "b", text("b1"));
  Mail first = poll(c, {"a", "b"});
  ASSERT_TRUE(first.got);
  EXPECT_EQ(first.tag, "a");
  EXPECT_EQ(first.value.data, "a0");
  Mail second = poll(c, {"a", "b"});
  ASSERT_TRUE(second.got);
  EXPECT_EQ(second.tag, "b");
  EXPECT_EQ(second.value.data, "b0");
  Mail third = poll(c, {"c", "b", "a"});
  ASSERT_TRUE(third.got);
  EXPECT_EQ(third.tag, "b");
  EXPECT_EQ(third.value.data, "b1");
  EXPECT_FALSE(poll(c, {"a", "b"}).got);
}

TEST(Mail, ParkedReceiveIsAnsweredBySendFromAnotherThread) {
  DaemonProcess d;
  Client c(options(d, "parked"));
  std::uint64_t r = c.mail_receive(0, {"t"}, true);
  expect_parked(c, r);
  std::optional<Mail> got;
  std::thread receiver([&] { got = c.mail_wait(r, GUARD); });
  std::thread sender([&] { c.mail_send(0, "t", text("hello")); });
  sender.join();
  receiver.join();
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(got->got);
  EXPECT_EQ(got->tag, "t");
  EXPECT_EQ(got->value.data, "hello");
  c.mail_release(r, 0);
  EXPECT_FALSE(poll(c, {"t"}).got) << "the message went to the receive only";
}

TEST(Mail, ParkedReceivesAreAnsweredOldestFirstAndByAnyOfTheirTags) {
  DaemonProcess d;
  Client c(options(d, "waiters"));
  std::uint64_t r1 = c.mail_receive(0, {"t"}, true);
  std::uint64_t r2 = c.mail_receive(0, {"t"}, true);
  std::uint64_t r3 = c.mail_receive(0, {"x", "y"}, true);
  expect_parked(c, r1);
  expect_parked(c, r2);
  expect_parked(c, r3);
  c.mail_send(0, "t", text("first"));
  expect_parked(c, r2);
  c.mail_send(0, "y", text("on y"));
  c.mail_send(0, "t", text("second"));
  Mail m1 = answer(c, r1), m2 = answer(c, r2), m3 = answer(c, r3);
  EXPECT_EQ(m1.value.data, "first");
  EXPECT_EQ(m2.value.data, "second");
  EXPECT_TRUE(m3.got);
  EXPECT_EQ(m3.tag, "y");
  EXPECT_EQ(m3.value.data, "on y");
  for (const Mail* m : {&m1, &m2, &m3}) c.mail_release(m->request, 0);
}

TEST(Mail, TwoClientsAreTwoProgramsWithSeparateQueues) {
  DaemonProcess d;
  Client a(options(d, "program-a"));
  Client b(options(d, "program-b"));
  a.mail_send(0, "t", text("from a"));
  EXPECT_EQ(poll_data(b, "t"), "(none)") << "b does not see a's queue";
  std::uint64_t parked = b.mail_receive(0, {"t"}, true);
  a.mail_send(0, "t", text("a again"));
  expect_parked(b, parked);
  b.mail_send(0, "t", text("from b"));
  EXPECT_EQ(answer(b, parked).value.data, "from b");
  b.mail_release(parked, 0);
  EXPECT_EQ(poll_data(a, "t"), "from a");
  EXPECT_EQ(poll_data(a, "t"), "a again");
  EXPECT_EQ(poll_data(a, "t"), "(none)");
  EXPECT_EQ(poll_data(b, "t"), "(none)");
}

TEST(Mail, CancelEndsAParkedReceiveWithNothing) {
  DaemonProcess d;
  Client c(options(d, "cancel"));
  std::uint64_t r = c.mail_receive(0, {"t"}, true);
  expect_parked(c, r);
  c.mail_cancel(r);
  Mail m = answer(c, r);
  EXPECT_FALSE(m.got);
  EXPECT_EQ(m.value.data, "");
  // A message sent after the cancel is not lost to the ended receive.
  c.mail_send(0, "t", text("later"));
  EXPECT_EQ(poll_data(c, "t"), "later");
}

TEST(Mail, CancelAfterDeliveryStillReturnsTheMessage) {
  DaemonProcess d;
  Client c(options(d, "late-cancel"));
  std::uint64_t r = c.mail_receive(0, {"t"}, true);
  expect_parked(c, r);
  // The send's reply comes after the delivery to r on this connection, so
  // the cancel below reaches a receive that is no longer parked.
  c.mail_send(0, "t", text("delivered"));
  c.mail_cancel(r);
  Mail m = answer(c, r);
  EXPECT_TRUE(m.got) << "a cancel after delivery lost the message";
  EXPECT_EQ(m.value.data, "delivered");
  c.mail_release(r, 0);
  EXPECT_EQ(poll_data(c, "t"), "(none)") << "delivered once, not requeued";
  // Nothing stray answers the next receive.
  c.mail_send(0, "t", text("next"));
  EXPECT_EQ(poll_data(c, "t"), "next");
}

// ---- Return -------------------------------------------------------------

TEST(Mail, ReturnPutsTheMessageBackAtTheHeadOfItsTag) {
  DaemonProcess d;
  Client c(options(d, "return"));
  c.mail_send(0, "t", text("first"));
  c.mail_send(0, "t", text("second"));
  std::uint64_t r = c.mail_receive(0, {"t"}, false);
  Mail m = answer(c, r);
  ASSERT_TRUE(m.got);
  EXPECT_EQ(m.value.data, "first");
  EXPECT_EQ(answer(c, r).value.data, "first")
      << "the answer is kept until the request ends";
  c.mail_return(r);
  expect_refused([&] { c.mail_wait(r, milliseconds(0)); }, Errc::not_permitted,
                 "no such receive in progress");
  EXPECT_EQ(poll_data(c, "t"), "first") << "not back at the head";
  EXPECT_EQ(poll_data(c, "t"), "second");
  EXPECT_EQ(poll_data(c, "t"), "(none)") << "returned once, not twice";
  c.wait();
  EXPECT_TRUE(c.take_errors().empty()) << "a Return is not answered";
}

TEST(Mail, ReturnedMessageGoesToAReceiveParkedOnItsTag) {
  DaemonProcess d;
  Client c(options(d, "return-to-parked"));
  c.mail_send(0, "t", text("only"));
  std::uint64_t first = c.mail_receive(0, {"t"}, false);
  ASSERT_TRUE(answer(c, first).got);
  std::uint64_t parked = c.mail_receive(0, {"x", "t"}, true);
  expect_parked(c, parked);
  c.mail_return(first);
  Mail m = answer(c, parked);
  ASSERT_TRUE(m.got) << "the returned message did not reach the parked "
                        "receive";
  EXPECT_EQ(m.tag, "t");
  EXPECT_EQ(m.value.data, "only");
  c.mail_release(parked, 0);
  EXPECT_EQ(poll_data(c, "t"), "(none)") << "delivered once, not requeued";
}

TEST(Mail, MessagingFromABodyOnTheExecutorThreadIsALogicError) {
  DaemonProcess d;
  Client c(options(d, "from-body"));
  CownRef x = c.create("x");
  int refused = 0;
  c.submit({x}, [&](Access&) {
    for (auto call :
         {+[](Client& cl) { cl.mail_send(0, "t", text("no")); },
          +[](Client& cl) { cl.mail_receive(0, {"t"}, false); },
          +[](Client& cl) { cl.mail_drain(0, {"t"}); },
          +[](Client& cl) { cl.mail_set_tags(0, {}); }}) {
      try {
        call(c);
      } catch (const std::logic_error&) {
        ++refused;
      }
    }
  });
  c.wait();
  EXPECT_EQ(refused, 4);
  EXPECT_EQ(poll_data(c, "t"), "(none)");
}

// ---- Limits (--max-tags 2 --max-messages 3) ----------------------------

std::vector<std::string> small_limits() {
  return {"--max-tags", "2", "--max-messages", "3"};
}

TEST(MailLimits, FullQueueAndTagCapacityAreRefusedWithBocpysWords) {
  DaemonProcess d(small_limits());
  Client c(options(d, "limits"));
  for (int i = 0; i < 3; ++i) c.mail_send(0, "a", text(std::to_string(i)));
  expect_refused([&] { c.mail_send(0, "a", text("3")); }, Errc::queue_full,
                 "Message queue is full");
  EXPECT_EQ(poll_data(c, "a"), "0");
  c.mail_send(0, "a", text("3"));  // room again
  c.mail_send(0, "b", text("b"));  // the second tag
  expect_refused([&] { c.mail_send(0, "x", text("x")); }, Errc::tag_capacity,
                 "No queue available for tag 'x': tag capacity exceeded");
  expect_refused([&] { answer(c, c.mail_receive(0, {"x"}, false)); },
                 Errc::tag_capacity, "No message queue found for tag: 'x'");
  expect_refused([&] { answer(c, c.mail_receive(0, {"a", "x"}, true)); },
                 Errc::tag_capacity, "No message queue found for tag: 'x'");
  expect_refused([&] { c.mail_drain(0, {"x"}); }, Errc::tag_capacity,
                 "No message queue found for tag: 'x'");
  expect_refused([&] { c.mail_set_tags(0, {"p", "q", "r"}); },
                 Errc::tag_capacity, "Only 2 or fewer tags supported");
  // Refusals change nothing and the session goes on.
  for (const char* v : {"1", "2", "3"}) EXPECT_EQ(poll_data(c, "a"), v);
  EXPECT_EQ(poll_data(c, "b"), "b");
  c.wait();
  EXPECT_TRUE(c.take_errors().empty()) << "refusals are thrown, not queued";
}

TEST(MailLimits, SetTagsDropsEveryMessageAndRebindsTheQueues) {
  DaemonProcess d(small_limits());
  Client c(options(d, "set-tags"));
  c.mail_send(0, "a", text("a"));
  c.mail_send(0, "b", text("b"));
  c.mail_set_tags(0, {"c"});
  c.mail_send(0, "c", text("c"));
  EXPECT_EQ(poll_data(c, "a"), "(none)") << "set_tags dropped a's message";
  // "c" and now "a" hold both queues: "b" was unbound and has none.
  expect_refused([&] { c.mail_send(0, "b", text("b")); }, Errc::tag_capacity,
                 "No queue available for tag 'b': tag capacity exceeded");
  EXPECT_EQ(poll_data(c, "c"), "c");
  c.mail_send(0, "c", text("c2"));
  c.mail_set_tags(0, {});  // every queue back to auto-assign, all dropped
  c.mail_send(0, "p", text("p"));
  c.mail_send(0, "q", text("q"));
  EXPECT_EQ(poll_data(c, "p"), "p");
  EXPECT_EQ(poll_data(c, "q"), "q");
  expect_refused([&] { c.mail_drain(0, {"c"}); }, Errc::tag_capacity,
                 "No message queue found for tag: 'c'");
}

// ---- Cowns named by messages --------------------------------------------

TEST(MailLifetime, CownNamedByAMessageStaysAliveInFlight) {
  DaemonProcess d;
  Client c(options(d, "in-flight"));
  const std::uint64_t baseline = cowns_in(d);
  CownRef x = c.create("payload");
  c.mail_send(0, "t", text("names x", {x.id}));
  c.drop(x);
  c.wait();  // the drop has been handled: only the message keeps x
  EXPECT_EQ(cowns_in(d), baseline + 1);
  std::uint64_t r = c.mail_receive(0, {"t"}, false);
  Mail m = answer(c, r);
  ASSERT_TRUE(m.got);
  EXPECT_EQ(m.value.data, "names x");
  ASSERT_EQ(m.value.refs, std::vector<std::uint64_t>{x.id});
  c.wait();
  EXPECT_EQ(cowns_in(d), baseline + 1) << "the lease keeps x";
  c.hold(m.value.refs);
  c.mail_release(r, 0);
  EXPECT_EQ(c.read(x).data, "payload");
  EXPECT_EQ(cowns_in(d), baseline + 1) << "now held by the receiver";
  c.drop(x);
  c.wait();
  EXPECT_EQ(cowns_in(d), baseline);
  EXPECT_TRUE(c.take_errors().empty());
}

TEST(MailLifetime, DrainSetTagsAndAnUnheldReleaseFreeTheCowns) {
  DaemonProcess d;
  Client c(options(d, "freeing"));
  const std::uint64_t baseline = cowns_in(d);
  std::vector<CownRef> xs;
  for (const char* tag : {"drained", "reset", "released"}) {
    xs.push_back(c.create(tag));
    c.mail_send(0, tag, text(tag, {xs.back().id}));
    c.drop(xs.back());
  }
  c.wait();
  EXPECT_EQ(cowns_in(d), baseline + 3);
  c.mail_drain(0, {"drained"});
  c.wait();
  EXPECT_EQ(cowns_in(d), baseline + 2) << "drain freed the first";
  std::uint64_t r = c.mail_receive(0, {"released"}, false);
  ASSERT_TRUE(answer(c, r).got);
  c.mail_set_tags(0, {});
  c.wait();
  EXPECT_EQ(cowns_in(d), baseline + 1) << "set_tags freed the queued one";
  c.mail_release(r, 0);  // no handle taken: nothing keeps it
  c.wait();
  EXPECT_EQ(cowns_in(d), baseline);
  expect_refused([&] { c.read(xs[2]); }, Errc::unknown_cown,
                 "cown " + hex(xs[2].id) +
                     " named in the request set does not exist or is "
                     "another program's");
}

TEST(MailLifetime, ReturnedMessageKeepsItsCownUntilReceivedAndReleased) {
  DaemonProcess d;
  Client c(options(d, "returned"));
  const std::uint64_t baseline = cowns_in(d);
  CownRef x = c.create("payload");
  c.mail_send(0, "t", text("names x", {x.id}));
  c.drop(x);
  std::uint64_t r = c.mail_receive(0, {"t"}, false);
  ASSERT_TRUE(answer(c, r).got);
  c.mail_return(r);
  c.wait();  // the Return has been handled: only the queue keeps x
  EXPECT_EQ(cowns_in(d), baseline + 1) << "the returned message lost x";
  std::uint64_t again = c.mail_receive(0, {"t"}, false);
  Mail m = answer(c, again);
  ASSERT_TRUE(m.got);
  EXPECT_EQ(m.value.refs, std::vector<std::uint64_t>{x.id});
  c.hold(m.value.refs);
  c.mail_release(again, 0);
  EXPECT_EQ(c.read(x).data, "payload");
  c.drop(x);
  c.wait();
  EXPECT_EQ(cowns_in(d), baseline);
  EXPECT_TRUE(c.take_errors().empty());
}

TEST(MailLifetime, ProgramLeavingWithALeaseAndAQueuedMessageLeaksNothing) {
  DaemonProcess d;
  const std::uint64_t baseline = cowns_in(d);
  std::uint64_t session = 0;
  {
    Client c(options(d, "leaver"));
    session = c.session();
    CownRef leased = c.create("leased"), queued = c.create("queued");
    c.mail_send(0, "t", text("1", {leased.id}));
    c.mail_send(0, "t", text("2", {queued.id}));
    c.drop(leased);
    c.drop(queued);
    ASSERT_TRUE(answer(c, c.mail_receive(0, {"t"}, false)).got);
    c.wait();
    EXPECT_EQ(cowns_in(d), baseline + 2);
  }  // disconnects holding the lease, one message still queued
  EXPECT_TRUE(gone_leaving(d, session, baseline))
      << "cowns now: " << cowns_in(d) << ", baseline " << baseline;
}

TEST(MailLifetime, WorkerSideReceiverLeavingWithALeaseLeaksNothing) {
  DaemonProcess d;
  HeldWorker w(d);
  Client p(options(d, "program"));
  const std::uint64_t baseline = cowns_in(d);
  CownRef x = p.create("x");
  p.mail_send(0, "t", text("names x", {x.id}));
  p.drop(x);
  p.submit_to_workers({}, "held", false);
  Running running = w.next();
  ASSERT_EQ(running.program, p.session());
  std::uint64_t session = 0;
  {
    Client m(options(d, "worker-mailer"));
    session = m.session();
    Mail got = answer(m, m.mail_receive(p.session(), {"t"}, false,
                                        running.behavior));
    ASSERT_TRUE(got.got) << "a client of a worker's process reads the "
                            "program's queue";
    EXPECT_EQ(got.value.refs, std::vector<std::uint64_t>{x.id});
    EXPECT_EQ(cowns_in(d), baseline + 1);
  }  // disconnects without mail_release; the program stays
  EXPECT_TRUE(gone_leaving(d, session, baseline))
      << "cowns now: " << cowns_in(d) << ", baseline " << baseline;
  EXPECT_EQ(poll_data(p, "t"), "(none)") << "the message is not requeued";
}

// ---- A worker's second connection ---------------------------------------

// Every kind of Mail naming `program` and `behavior` from `m` is refused
// with not_permitted in exactly `words`.
void expect_every_kind_refused(Client& m, std::uint64_t program,
                               std::uint64_t behavior,
                               const std::string& words) {
  SCOPED_TRACE("program " + std::to_string(program) + ", behavior " +
               std::to_string(behavior));
  expect_refused(
      [&] { m.mail_send(program, "t", text("planted"), {}, behavior); },
      Errc::not_permitted, words);
  expect_refused(
      [&] { answer(m, m.mail_receive(program, {"t"}, false, behavior)); },
      Errc::not_permitted, words);
  expect_refused([&] { m.mail_drain(program, {"t"}, behavior); },
                 Errc::not_permitted, words);
  expect_refused([&] { m.mail_set_tags(program, {"t"}, behavior); },
                 Errc::not_permitted, words);
}

// A client of a worker's process uses a program's queues only while it
// names a behavior of that program running on a worker of its process:
// not with no behavior, another program's, or one that has completed.
TEST(MailWorker, ProcessNamesARunningBehaviorOfTheProgramWhoseQueuesItUses) {
  DaemonProcess d;
  HeldWorker w(d);
  Client p(options(d, "program"));
  Client q(options(d, "other-program"));
  Client m(options(d, "worker-mailer"));
  CownRef p_done = p.submit_to_workers({}, "p's", true);
  Running p_run = w.next();
  ASSERT_EQ(p_run.program, p.session());
  // One worker, one behavior at a time: q's waits until p's ends.
  CownRef q_done = q.submit_to_workers({}, "q's", true);

  m.mail_send(p.session(), "t", text("kept"), {}, p_run.behavior);
  expect_every_kind_refused(m, p.session(), 0, NOT_ITS_BEHAVIOR);
  expect_every_kind_refused(m, q.session(), p_run.behavior, NOT_ITS_BEHAVIOR);
  // The refusals changed nothing: the drains and set_tags dropped nothing,
  // the sends queued nothing.
  EXPECT_EQ(poll_data(p, "t"), "kept");
  EXPECT_EQ(poll_data(p, "t"), "(none)");
  EXPECT_EQ(poll_data(q, "t"), "(none)");

  w.finish(p_run);
  p.read(p_done);  // p's behavior has completed
  Running q_run = w.next();
  ASSERT_EQ(q_run.program, q.session());
  expect_every_kind_refused(m, p.session(), p_run.behavior, NOT_ITS_BEHAVIOR);
  expect_every_kind_refused(m, p.session(), q_run.behavior, NOT_ITS_BEHAVIOR);
  m.mail_send(q.session(), "t", text("for q"), {}, q_run.behavior);
  EXPECT_EQ(poll_data(q, "t"), "for q");
  EXPECT_EQ(poll_data(p, "t"), "(none)");
  w.finish(q_run);
  q.read(q_done);
}

// A pool behavior on the worker client creates a cown in its body and
// sends it to the program from a second client of this process, after the
// worker's barrier: the program receives it and reads the cown.
TEST(MailWorker, BodySendsACownItCreatedAfterTheWorkersBarrier) {
  DaemonProcess d;
  std::atomic<Client*> self{nullptr};
  Client mailer(options(d, "worker-mailer"));
  Client w(worker_options(d, [&](Access& a) {
    Client& worker = *self.load();
    CownRef made = worker.create("made by the body");
    client::MailBarrier after = worker.mail_barrier();
    EXPECT_EQ(after.session, worker.session());
    mailer.mail_send(a.session(), "out", text("names it", {made.id}), after,
                     a.behavior());
    worker.drop(made);  // the queued message keeps it
    a.set_result(std::to_string(made.id));
  }));
  self = &w;
  Client p(options(d, "program"));
  const std::uint64_t baseline = cowns_in(d);
  CownRef result = p.submit_to_workers({}, "make", true);
  std::uint64_t made = std::stoull(p.read(result).data);
  p.drop(result);
  std::uint64_t r = p.mail_receive(0, {"out"}, true);
  Mail m = answer(p, r);
  ASSERT_TRUE(m.got);
  EXPECT_EQ(m.value.data, "names it");
  ASSERT_EQ(m.value.refs, std::vector<std::uint64_t>{made});
  p.hold(m.value.refs);
  p.mail_release(r, 0);
  EXPECT_EQ(p.read(CownRef{made}).data, "made by the body");
  p.drop(CownRef{made});
  p.wait();
  EXPECT_EQ(cowns_in(d), baseline);
  EXPECT_TRUE(p.take_errors().empty());
}

TEST(MailWorker, ReceiveParkedOnAProgramThatClosesIsRefused) {
  DaemonProcess d;
  HeldWorker w(d);
  auto p = std::make_unique<Client>(options(d, "program"));
  Client m(options(d, "worker-mailer"));
  const std::uint64_t program = p->session();
  p->submit_to_workers({}, "held", false);
  Running running = w.next();
  ASSERT_EQ(running.program, program);
  std::uint64_t r = m.mail_receive(program, {"t"}, true, running.behavior);
  expect_parked(m, r);
  p.reset();
  expect_refused([&] { answer(m, r); }, Errc::session_closed,
                 "program session " + std::to_string(program) +
                     " closed while a receive waited");
  // Once its behavior has ended, naming it is refused. The one worker
  // starts the next pool behavior only after that end.
  w.finish(running);
  Client q(options(d, "next-program"));
  q.submit_to_workers({}, "next", false);
  EXPECT_EQ(w.next().program, q.session());
  expect_every_kind_refused(m, program, running.behavior, NOT_ITS_BEHAVIOR);
}

// One poll of the program's own `tag`; the caller releases what it got.
Mail poll_program(Client& p, const std::string& tag) {
  return answer(p, p.mail_receive(0, {tag}, false));
}

// The next frame on a raw worker session: a Dispatch, whose behavior and
// result cown it returns.
struct Dispatched {
  std::uint64_t behavior = 0;
  std::uint64_t program = 0;
  std::uint64_t result = 0;
};
Dispatched next_dispatch(RawClient& worker) {
  auto f = worker.next_frame();
  if (!f) {
    ADD_FAILURE() << "the worker's connection closed";
    return {};
  }
  const auto* dispatch = envelope(*f)->message_as_Dispatch();
  if (dispatch == nullptr) {
    ADD_FAILURE() << "expected a Dispatch on the worker";
    return {};
  }
  return {dispatch->behavior(), dispatch->session(), dispatch->result()};
}

// Completes `b` on a raw worker, its result cown getting `result`.
void complete(RawClient& worker, const Dispatched& b, const char* result) {
  proto::CownValueRef update{b.result, {result}};
  worker.send([&](proto::Encoder& e) {
    e.complete(b.behavior, {&update, b.result != 0 ? 1u : 0u});
  });
}

// The barrier at the protocol level, where the order is in the test's
// hands: a raw worker session running the program's pool behavior and a
// raw mailer of this process naming it.
TEST(MailWorker, SendWithAfterWaitsUntilTheWorkersFramesAreHandled) {
  DaemonProcess d;
  RawClient worker(d.socket());
  std::uint64_t base = 0;
  std::uint64_t ws = worker.handshake(fb::Role::Worker, &base);  // frame 1
  Client p(options(d, "program"));
  CownRef done = p.submit_to_workers({}, "make", true);
  Dispatched b = next_dispatch(worker);
  ASSERT_EQ(b.program, p.session());
  RawClient mailer(d.socket());
  mailer.handshake();
  const std::uint64_t made = base + 1;
  const std::uint64_t refs[] = {made};
  proto::ValueRef value{"names it", false, fb::ErrorCode::None, refs};
  const std::vector<std::string> out = {"out"};

  // Without `after` the cown is not there yet.
  mailer.send([&](proto::Encoder& e) {
    e.mail(1, fb::MailKind::Send, p.session(), out, false, &value,
           b.behavior);
  });
  auto f = mailer.next_frame();
  ASSERT_TRUE(f);
  const auto* err = envelope(*f)->message_as_Error();
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(err->code(), fb::ErrorCode::UnknownCown);
  EXPECT_EQ(err->request(), 1u);

  // With `after` = the worker's second frame: it waits for it.
  mailer.send([&](proto::Encoder& e) {
    e.mail(2, fb::MailKind::Send, p.session(), out, false, &value,
           b.behavior, ws, 2);
    e.status_request(3);
  });
  f = mailer.next_frame();
  ASSERT_TRUE(f);
  const auto* status = envelope(*f)->message_as_Status();
  ASSERT_NE(status, nullptr) << "the Send was handled before its barrier";
  EXPECT_EQ(status->request(), 3u);
  EXPECT_FALSE(poll_program(p, "out").got);

  worker.send([&](proto::Encoder& e) {
    e.create_cown(made, {"made by the worker"}, false);
  });
  f = mailer.next_frame();
  ASSERT_TRUE(f);
  const auto* reply = envelope(*f)->message_as_MailReply();
  ASSERT_NE(reply, nullptr) << "the Send was refused or lost";
  EXPECT_EQ(reply->request(), 2u);
  EXPECT_FALSE(reply->got());

  Mail m = poll_program(p, "out");
  ASSERT_TRUE(m.got);
  ASSERT_EQ(m.value.refs, std::vector<std::uint64_t>{made});
  p.hold(m.value.refs);
  p.mail_release(m.request, 0);
  EXPECT_EQ(p.read(CownRef{made}).data, "made by the worker");
  complete(worker, b, "done");
  EXPECT_EQ(p.read(done).data, "done");
}

// Once a Mail op from one connection waits for a worker's frames, every
// later op from that connection waits behind it, barrier or not; another
// connection's ops do not.
TEST(MailWorker, OpsAfterAHeldBackOneWaitBehindItInOrder) {
  DaemonProcess d;
  RawClient worker(d.socket());
  std::uint64_t ws = worker.handshake(fb::Role::Worker);  // frame 1
  RawClient mailer(d.socket());
  mailer.handshake();
  Client other(options(d, "other"));
  proto::ValueRef held{"held back"};
  const std::vector<std::string> t = {"t"};
  mailer.send([&](proto::Encoder& e) {
    e.mail(1, fb::MailKind::Send, 0, t, false, &held, 0, ws, 2);
    e.mail(2, fb::MailKind::Receive, 0, t, false, nullptr);  // a poll
    e.status_request(3);
  });
  auto f = mailer.next_frame();
  ASSERT_TRUE(f);
  const auto* status = envelope(*f)->message_as_Status();
  ASSERT_NE(status, nullptr)
      << "the poll behind the held-back Send was answered first";
  EXPECT_EQ(status->request(), 3u);
  // Another connection is not held: its own send and poll go through.
  other.mail_send(0, "t", text("not held"));
  EXPECT_EQ(poll_data(other, "t"), "not held");

  worker.send([](proto::Encoder& e) { e.status_request(1); });  // frame 2
  f = mailer.next_frame();
  ASSERT_TRUE(f);
  const auto* sent = envelope(*f)->message_as_MailReply();
  ASSERT_NE(sent, nullptr);
  EXPECT_EQ(sent->request(), 1u);
  f = mailer.next_frame();
  ASSERT_TRUE(f);
  const auto* polled = envelope(*f)->message_as_MailReply();
  ASSERT_NE(polled, nullptr);
  EXPECT_EQ(polled->request(), 2u);
  EXPECT_TRUE(polled->got()) << "the poll ran before the Send it followed";
  ASSERT_NE(polled->value(), nullptr);
  ASSERT_NE(polled->value()->data(), nullptr);
  EXPECT_EQ(std::string(polled->value()->data()->begin(),
                        polled->value()->data()->end()),
            "held back");
}

TEST(MailWorker, SendWaitingOnAWorkerThatLeavesIsAnsweredNotLost) {
  DaemonProcess d;
  auto worker = std::make_unique<RawClient>(d.socket());
  std::uint64_t base = 0;
  std::uint64_t ws = worker->handshake(fb::Role::Worker, &base);
  Client p(options(d, "program"));
  CownRef done = p.submit_to_workers({}, "held", true);
  Dispatched b = next_dispatch(*worker);
  ASSERT_EQ(b.program, p.session());
  RawClient mailer(d.socket());
  mailer.handshake();
  const std::uint64_t refs[] = {base + 1};
  proto::ValueRef value{"names it", false, fb::ErrorCode::None, refs};
  const std::vector<std::string> out = {"out"};
  mailer.send([&](proto::Encoder& e) {
    e.mail(7, fb::MailKind::Send, p.session(), out, false, &value,
           b.behavior, ws, 5);
    e.status_request(8);
  });
  auto f = mailer.next_frame();
  ASSERT_TRUE(f);
  ASSERT_NE(envelope(*f)->message_as_Status(), nullptr);
  worker.reset();  // leaves before sending its frames 2..5
  f = mailer.next_frame();
  ASSERT_TRUE(f) << "the daemon closed the mailer";
  const auto* err = envelope(*f)->message_as_Error();
  ASSERT_NE(err, nullptr) << "expected an Error answering the Send";
  EXPECT_EQ(err->request(), 7u);
  // Handled as if it came now: no worker of this process is left (nor the
  // behavior it ran), so the mailer may no longer name another program's
  // queues.
  EXPECT_EQ(err->code(), fb::ErrorCode::NotPermitted);
  EXPECT_EQ(err->message() ? err->message()->str() : "",
            "a program may use only its own message queues");
  EXPECT_FALSE(poll_program(p, "out").got);
  EXPECT_EQ(p.read(done).error, Errc::executor_lost)
      << "the behavior on the worker that left was not failed";
}


// ---- The noticeboard (Mail Board) -----------------------------------------

// The reply carries the board's committed value: not the one a running
// behavior is writing, and then what it committed, from a worker's body
// and from a body on the submitter, refs included.
TEST(MailBoard, ReplyCarriesTheValueBehaviorsCommitted) {
  DaemonProcess d;
  std::mutex mu;
  std::condition_variable cv;
  bool started = false, go = false;
  Client w(worker_options(d, [&](Access& a) {
    {
      std::unique_lock<std::mutex> lock(mu);
      started = true;
      cv.notify_all();
      cv.wait_for(lock, GUARD, [&] { return go; });
    }
    a.mut(0) = "written by a worker";
  }));
  auto let_go = [&] {
    std::lock_guard<std::mutex> lock(mu);
    go = true;
    cv.notify_all();
  };
  Client p(options(d, "board-writer"));
  EXPECT_EQ(p.mail_board(0, 0).cown, 0u) << "a board before any proposal";
  CownRef board = p.create("empty");
  Mail first = p.mail_board(0, board.id);
  EXPECT_EQ(first.cown, board.id);
  EXPECT_TRUE(first.got);
  EXPECT_EQ(first.value.data, "empty");

  const CownRef on_board[] = {board};
  CownRef done = p.submit_to_workers(on_board, "write", true);
  {
    std::unique_lock<std::mutex> lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, GUARD, [&] { return started; }))
        << "the worker's body never started";
  }
  Mail during = p.mail_board(0, 0);
  EXPECT_EQ(during.cown, board.id);
  EXPECT_EQ(during.value.data, "empty")
      << "the reply carried a value not yet committed";
  let_go();
  p.read(done);  // the behavior has completed: its write is committed
  Mail after = p.mail_board(0, 0);
  EXPECT_EQ(after.cown, board.id);
  EXPECT_TRUE(after.got);
  EXPECT_EQ(after.value.data, "written by a worker");

  CownRef entry = p.create("an entry's cown");
  p.submit({board}, [entry](Access& a) {
    a.mut(0) = "names an entry";
    a.set_refs(0, {entry.id});
  });
  p.wait();
  Mail last = p.mail_board(0, 0);
  EXPECT_EQ(last.cown, board.id);
  EXPECT_EQ(last.value.data, "names an entry");
  EXPECT_EQ(last.value.refs, std::vector<std::uint64_t>{entry.id});
  EXPECT_TRUE(p.take_errors().empty());
}

// A client of a worker's process reaches the board of the program whose
// behavior it runs (proposing, then reading), never another program's.
TEST(MailBoard, WorkerProcessReachesOnlyTheBoardOfTheProgramItRuns) {
  DaemonProcess d;
  HeldWorker w(d);
  Client p(options(d, "program"));
  Client q(options(d, "other-program"));
  Client m(options(d, "worker-mailer"));
  CownRef p_board = p.create("p's board");
  EXPECT_EQ(p.mail_board(0, p_board.id).cown, p_board.id);
  p.submit_to_workers({}, "held", false);
  Running running = w.next();
  ASSERT_EQ(running.program, p.session());

  CownRef mine = m.create("the mailer's");
  expect_refused(
      [&] { m.mail_board(p.session(), mine.id, {}, 0); },
      Errc::not_permitted, NOT_ITS_BEHAVIOR);
  expect_refused(
      [&] { m.mail_board(q.session(), mine.id, {}, running.behavior); },
      Errc::not_permitted, NOT_ITS_BEHAVIOR);
  Mail seen = m.mail_board(p.session(), mine.id, {}, running.behavior);
  EXPECT_EQ(seen.cown, p_board.id) << "the program's first proposal won";
  EXPECT_EQ(seen.value.data, "p's board");
  EXPECT_EQ(q.mail_board(0, 0).cown, 0u) << "the refusal set q's board";
  EXPECT_EQ(m.mail_board(0, 0).cown, 0u) << "the mailer's own board is "
                                            "not the program's";
  w.finish(running);
}

// The board is referenced by the program while it is open: it outlives
// the program's handle (with what its value names) and is freed when the
// program closes. A proposal that lost keeps no reference.
TEST(MailLifetime, BoardOutlivesTheProgramsHandleAndGoesWithTheProgram) {
  DaemonProcess d;
  const std::uint64_t baseline = cowns_in(d);
  std::uint64_t session = 0;
  {
    Client p(options(d, "board-owner"));
    session = p.session();
    CownRef entry = p.create("entry");
    const std::uint64_t refs[] = {entry.id};
    CownRef board = p.create("names entry", refs);
    CownRef late = p.create("proposed too late");
    for (CownRef proposed : {board, late}) {
      Mail set = p.mail_board(0, proposed.id);
      EXPECT_EQ(set.cown, board.id) << "the first proposal wins";
      p.mail_release_snapshot(set.request, 0);  // it names entry
    }
    p.drop(entry);
    p.drop(board);
    p.drop(late);
    p.wait();  // the drops are handled: only the board keeps the two
    EXPECT_EQ(cowns_in(d), baseline + 2)
        << "expected the board and the cown its value names";
    Mail m = p.mail_board(0, 0);
    EXPECT_EQ(m.cown, board.id);
    EXPECT_TRUE(m.got);
    EXPECT_EQ(m.value.data, "names entry");
    EXPECT_EQ(m.value.refs, std::vector<std::uint64_t>{entry.id});
    // Still a cown behaviors can write: dropping the entry's ref frees it,
    // once the snapshot's lease on it is released too.
    p.submit({board}, [](Access& a) {
      a.mut(0) = "no entries";
      a.set_refs(0, {});
    });
    p.wait();
    EXPECT_EQ(cowns_in(d), baseline + 2)
        << "the snapshot keeps what it names until released";
    p.mail_release_snapshot(m.request, 0);
    p.wait();
    EXPECT_EQ(cowns_in(d), baseline + 1) << "only the board is left";
    EXPECT_EQ(p.mail_board(0, 0).value.data, "no entries");
    EXPECT_TRUE(p.take_errors().empty());
  }  // the program closes
  EXPECT_TRUE(gone_leaving(d, session, baseline))
      << "cowns now: " << cowns_in(d) << ", baseline " << baseline;
}

}  // namespace
}  // namespace bocd::testing

// Streams of messages through the C++ client against the real daemon
// (docs/protocol.md, "Pipelined sends and lent messages"): sends spent
// from credit arrive in order and to the limit exactly; lent messages are
// taken in order, given back when another session receives the tag (the
// client answers the recall by itself), and given back by a body that
// ends. Waits are receives and round trips; timeouts only guard against a
// hung daemon.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "bocd/client/client.h"
#include "daemon_process.h"
#include "mail_support.h"
#include "raw_client.h"

namespace bocd::testing {
namespace {

using namespace mail;  // NOLINT: the messaging test helpers

constexpr int N = 600;  // past the credit (256) and a lent batch (64)

std::string nth(int i) { return "m" + std::to_string(i); }

// A round trip on `c`'s connection: the daemon has handled every send
// `c` made before it (credited sends are not answered, so another
// session's poll could otherwise come first).
void settle(Client& c) { c.mail_drain(0, {}); }

// Takes the next message of `tag` for `program` as a worker process's
// messaging client acting for behavior `r` does, and releases it.
std::string take_for(Client& c, const Running& r, const std::string& tag) {
  std::uint64_t req = c.mail_receive(r.program, {tag}, false, r.behavior);
  Mail m = answer(c, req);
  c.mail_release(req, r.behavior);
  return m.got ? m.value.data : "(none)";
}

// A program whose behavior runs held on a worker client of this process,
// and the client that worker process messages with (acting for it).
struct HeldBody {
  explicit HeldBody(const DaemonProcess& d)
      : w(d),
        p(options(d, "program")),
        m(options(d, "worker-mailer")),
        done(p.submit_to_workers({}, "holds a worker", true)),
        run(w.next()) {}
  ~HeldBody() {
    w.finish(run);
    p.read(done);
  }
  HeldWorker w;
  Client p;
  Client m;
  client::CownRef done;
  Running run;
};

TEST(MailStream, ASendStreamArrivesInOrderAndStopsExactlyAtTheLimit) {
  DaemonProcess d({"--max-messages", "700"});
  Client c(options(d, "stream"));
  for (int i = 0; i < 700; ++i) c.mail_send(0, "t", text(nth(i)));
  expect_refused([&] { c.mail_send(0, "t", text("one too many")); },
                 Errc::queue_full, "Message queue is full");
  for (int i = 0; i < 700; ++i) ASSERT_EQ(poll_data(c, "t"), nth(i));
  EXPECT_EQ(poll_data(c, "t"), "(none)");
}

TEST(MailStream, ARecallGivesTheUnreceivedBackAheadOfTheRest) {
  DaemonProcess d;
  HeldBody h(d);
  Client& p = h.p;
  Client& m = h.m;
  const Running& run = h.run;
  for (int i = 0; i < N; ++i) p.mail_send(0, "t", text(nth(i)));
  settle(p);
  // The worker side takes m0 (and is lent what follows), then m1..m3.
  for (int i = 0; i < 4; ++i) ASSERT_EQ(take_for(m, run, "t"), nth(i));
  // The program receives too: the daemon recalls the batch, m's client
  // gives back m4.. by itself, and they come first.
  EXPECT_EQ(poll_data(p, "t"), nth(4));
  EXPECT_EQ(take_for(m, run, "t"), nth(5));
  for (int i = 6; i < N; ++i) ASSERT_EQ(poll_data(p, "t"), nth(i));
  EXPECT_EQ(poll_data(p, "t"), "(none)");
}

TEST(MailStream, ABodyThatEndsGivesBackWhatItDidNotReceiveAndSettlesItsSends) {
  DaemonProcess d;
  HeldBody h(d);
  Client& p = h.p;
  Client& m = h.m;
  const Running& run = h.run;
  for (int i = 0; i < 10; ++i) p.mail_send(0, "t", text(nth(i)));
  settle(p);
  EXPECT_EQ(take_for(m, run, "t"), nth(0));
  EXPECT_EQ(take_for(m, run, "t"), nth(1));
  // The body sends too: past the first, from credit, unanswered.
  for (int i = 0; i < 300; ++i) {
    m.mail_send(run.program, "u", text(nth(i)), {}, run.behavior);
  }
  m.mail_settle();  // what a worker does when a body ends
  h.w.finish(run);
  p.read(h.done);
  for (int i = 2; i < 10; ++i) ASSERT_EQ(poll_data(p, "t"), nth(i));
  EXPECT_EQ(poll_data(p, "t"), "(none)");
  for (int i = 0; i < 300; ++i) ASSERT_EQ(poll_data(p, "u"), nth(i));
  EXPECT_EQ(poll_data(p, "u"), "(none)");
}

TEST(MailStream, AReturnedMessageGoesBackAheadOfTheBatchItBrought) {
  DaemonProcess d;
  Client c(options(d, "returns"));
  for (int i = 0; i < 10; ++i) c.mail_send(0, "t", text(nth(i)));
  std::uint64_t first = c.mail_receive(0, {"t"}, false);
  EXPECT_EQ(answer(c, first).value.data, nth(0));
  c.mail_return(first);  // interrupted before it could take m0
  std::uint64_t local = c.mail_receive(0, {"t"}, false);
  EXPECT_EQ(answer(c, local).value.data, nth(0));
  c.mail_return(local);  // one taken from a lent batch goes back there
  for (int i = 0; i < 10; ++i) ASSERT_EQ(poll_data(c, "t"), nth(i));
  // A receive of several tags sees what was lent under them.
  c.mail_send(0, "a", text("a0"));
  c.mail_send(0, "a", text("a1"));
  c.mail_send(0, "b", text("b0"));
  EXPECT_EQ(poll_data(c, "a"), "a0");
  EXPECT_EQ(poll(c, {"b", "a"}).value.data, "b0");
  EXPECT_EQ(poll(c, {"b", "a"}).value.data, "a1");
  c.mail_drain(0, {"a"});
}

// A peer that speaks the stream frames wrongly (a send spending credit it
// was never given, give-backs of batches it never had, with any count)
// changes nothing of anyone's and keeps its session: a send is refused
// in words, a give-back of nothing is nothing. Its Hello did not say
// `streams` (an older client): it is lent nothing.
TEST(MailStream, WrongCreditAndGiveBacksChangeNothing) {
  DaemonProcess d({"--max-messages", "2"});
  RawClient raw(d.socket());
  std::uint64_t me = raw.handshake();
  Client other(options(d, "other"));
  other.mail_send(0, "t", text("theirs"));
  const std::vector<std::string> t = {"t"};
  const proto::ValueRef v{"mine"};
  raw.send([&](proto::Encoder& e) {
    // Credited with no credit: ordinary sends, so the third is refused.
    for (std::uint64_t r = 1; r <= 3; ++r) {
      e.mail(r, fb::MailKind::Send, 0, t, false, &v, 0, 0, 0, 0, true);
    }
    // Batches nobody lent, its own program's and another's.
    e.mail(0, fb::MailKind::Unlend, 0, t, false, nullptr, 0, 0, 0, 0, false,
           1000000, 7);
    e.mail(0, fb::MailKind::Unlend, other.session(), t, false, nullptr, 0, 0,
           0, 0, false, 3, 1);
    e.mail(4, fb::MailKind::Unlend, 0, t, true, nullptr, 0, 0, 0, 0, false,
           5, 99);
  });
  auto f = raw.next_frame();
  ASSERT_TRUE(f);
  const auto* err = envelope(*f)->message_as_Error();
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(err->request(), 3u);
  EXPECT_EQ(err->code(), fb::ErrorCode::QueueFull);
  f = raw.next_frame();
  ASSERT_TRUE(f);
  const auto* answered = envelope(*f)->message_as_MailReply();
  ASSERT_NE(answered, nullptr) << "a give-back with wait is answered";
  EXPECT_EQ(answered->request(), 4u);
  EXPECT_FALSE(answered->got());
  // Its two sends are queued, the other program's one is untouched.
  raw.send([&](proto::Encoder& e) {
    e.mail(5, fb::MailKind::Receive, 0, t, false, nullptr);
  });
  f = raw.next_frame();
  ASSERT_TRUE(f);
  const auto* got = envelope(*f)->message_as_MailReply();
  ASSERT_NE(got, nullptr);
  EXPECT_TRUE(got->got());
  EXPECT_EQ(got->request(), 5u);
  EXPECT_TRUE(got->lent() == nullptr || got->lent()->size() == 0)
      << "its Hello did not say streams: nothing is lent to it";
  EXPECT_EQ(poll_data(other, "t"), "theirs");
  EXPECT_EQ(poll_data(other, "t"), "(none)");
  (void)me;
}

}  // namespace
}  // namespace bocd::testing

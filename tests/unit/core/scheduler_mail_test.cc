// Messaging in the core: per-program queues, parked receives, leases that
// keep a message's cowns alive until the receiver has taken them, limits,
// and what a program's close does to receives waiting on its queues.
#include "scheduler_test_util.h"

namespace bocd::core::test {
namespace {

class SchedulerMailTest : public SchedulerWithClient {
 protected:
  Status send(SessionId caller, const std::string& tag, std::string data,
              SessionId program = {}, BehaviorId behavior = {}) {
    Value v = val(std::move(data));
    Result<std::uint32_t> r = s.mail_send(caller, program, tag, v, behavior);
    if (!r) return r.error();
    return Ok{};
  }
  // A behavior of `program` running on worker `w` (a worker's messaging
  // names one): submitted on a fresh cown and dispatched.
  BehaviorId running_on(SessionGrant w, SessionGrant program) {
    CownId c = cown(program, ++cowns_made_);
    EXPECT_TRUE(s.create_cown(program.id, c, Value{}, false));
    BehaviorId b = submit_ok(s, program.id, pooled({c}));
    EXPECT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{b});
    return b;
  }
  std::uint64_t cowns_made_ = 100;
  // The one MailEvent the last command produced.
  MailEvent one_event() {
    std::vector<MailEvent> mail = drain(s).mail;
    EXPECT_EQ(mail.size(), 1u);
    return mail.empty() ? MailEvent{} : mail[0];
  }
  std::string take(SessionId receiver, std::uint64_t request) {
    const Value* v = s.mail_lease(receiver, request);
    std::string out = v ? v->data : "<no lease>";
    s.mail_release(receiver, request);
    return out;
  }
};

TEST_F(SchedulerMailTest, FifoPerTagAndTagsAreIndependent) {
  ASSERT_TRUE(send(a.id, "x", "x1"));
  ASSERT_TRUE(send(a.id, "y", "y1"));
  ASSERT_TRUE(send(a.id, "x", "x2"));
  ASSERT_TRUE(s.mail_receive(a.id, {}, 1, {"x"}, false));
  MailEvent e = one_event();
  EXPECT_TRUE(e.got);
  EXPECT_EQ(e.tag, "x");
  EXPECT_EQ(take(a.id, 1), "x1");
  ASSERT_TRUE(s.mail_receive(a.id, {}, 2, {"y", "x"}, false));
  EXPECT_EQ(one_event().tag, "y") << "the first tag with a message wins";
  EXPECT_EQ(take(a.id, 2), "y1");
  ASSERT_TRUE(s.mail_receive(a.id, {}, 3, {"y", "x"}, false));
  EXPECT_EQ(one_event().tag, "x");
  EXPECT_EQ(take(a.id, 3), "x2");
  ASSERT_TRUE(s.mail_receive(a.id, {}, 4, {"x"}, false));
  EXPECT_FALSE(one_event().got) << "a poll of an empty queue";
  EXPECT_EQ(s.check_invariants(), "");
}

TEST_F(SchedulerMailTest, AParkedReceiveIsAnsweredBySendOrCancel) {
  SessionGrant w = s.open_session(Role::worker, 3, "w");
  BehaviorId body = running_on(w, a);
  ASSERT_TRUE(s.mail_receive(w.id, a.id, 7, {"t"}, true, body));
  EXPECT_TRUE(drain(s).mail.empty()) << "parked";
  ASSERT_TRUE(send(a.id, "t", "hello"));
  MailEvent e = one_event();
  EXPECT_EQ(e.to, w.id);
  EXPECT_EQ(e.request, 7u);
  EXPECT_TRUE(e.got);
  EXPECT_EQ(take(w.id, 7), "hello");
  EXPECT_EQ(s.mail_queued(a.id), 0u) << "handed over, not queued";

  ASSERT_TRUE(s.mail_receive(a.id, {}, 8, {"t"}, true));
  s.mail_cancel(a.id, 8);
  EXPECT_FALSE(one_event().got);
  s.mail_cancel(a.id, 8);
  EXPECT_TRUE(drain(s).mail.empty()) << "a second cancel has nothing to end";
  ASSERT_TRUE(send(a.id, "t", "kept"));
  EXPECT_TRUE(drain(s).mail.empty()) << "no one waits: queued";
  EXPECT_EQ(s.mail_queued(a.id), 1u);
  EXPECT_EQ(s.check_invariants(), "");
}

TEST_F(SchedulerMailTest, LimitsOnTagsAndQueueLength) {
  Limits l;
  l.mail = MailLimits{2, 3, 0, 0};
  Scheduler t(l);
  SessionGrant p = t.open_session(Role::client, 1, "p");
  auto send_t = [&](const std::string& tag) {
    Value v = val("m");
    return t.mail_send(p.id, {}, tag, v);
  };
  ASSERT_TRUE(send_t("a"));
  ASSERT_TRUE(send_t("b"));
  auto third = send_t("c");
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code, Errc::tag_capacity);
  EXPECT_EQ(third.error().message,
            "No queue available for tag 'c': tag capacity exceeded");
  Status recv = t.mail_receive(p.id, {}, 1, {"c"}, false);
  ASSERT_FALSE(recv);
  EXPECT_EQ(recv.error().message, "No message queue found for tag: 'c'");
  ASSERT_TRUE(send_t("a"));
  ASSERT_TRUE(send_t("a"));
  auto full = send_t("a");
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, Errc::queue_full);
  EXPECT_EQ(full.error().message, "Message queue is full");
  ASSERT_TRUE(t.mail_set_tags(p.id, {}, {"c"}));
  EXPECT_EQ(t.mail_queued(p.id), 0u) << "set_tags drops every message";
  ASSERT_TRUE(send_t("c"));
  ASSERT_TRUE(send_t("d"));
  EXPECT_FALSE(t.mail_set_tags(p.id, {}, {"1", "2", "3"}));
  EXPECT_EQ(t.check_invariants(), "");
}

TEST_F(SchedulerMailTest, AMessageKeepsItsCownsAliveUntilReleased) {
  CownId c = cown(a, 1);
  ASSERT_TRUE(s.create_cown(a.id, c, val("inside"), false));
  Value msg = val("names c");
  msg.refs = {c};
  msg.blobs = {"/bocd-msg"};
  ASSERT_TRUE(s.mail_send(a.id, {}, "t", msg));
  ASSERT_TRUE(s.drop_cown(a.id, c));
  EXPECT_EQ(s.cown_count(), 1u) << "queued: the message keeps it";
  EXPECT_EQ(s.blob_count("/bocd-msg"), 1u);
  ASSERT_TRUE(s.mail_receive(a.id, {}, 1, {"t"}, false));
  drain(s);
  EXPECT_EQ(s.cown_count(), 1u) << "leased: still kept";
  ASSERT_TRUE(s.hold_cowns(a.id, {c}));  // what the receiver does first
  s.mail_release(a.id, 1);
  EXPECT_EQ(s.cown_count(), 1u) << "now held by the receiver";
  EXPECT_EQ(drain(s).freed, std::vector<std::string>{"/bocd-msg"});
  ASSERT_TRUE(s.drop_cown(a.id, c));
  expect_idle(s, 0);
}

TEST_F(SchedulerMailTest, MessagesNameLiveCownsOnly) {
  Value msg = val("x");
  msg.refs = {cown(a, 9)};
  auto st = s.mail_send(a.id, {}, "t", msg);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::unknown_cown);
  EXPECT_EQ(s.mail_queued(a.id), 0u);
  EXPECT_EQ(s.check_invariants(), "");
}

TEST_F(SchedulerMailTest, EachProgramHasItsOwnQueues) {
  SessionGrant b = s.open_session(Role::client, 2, "b");
  SessionGrant w = s.open_session(Role::worker, 3, "w");
  BehaviorId of_b = running_on(w, b);
  ASSERT_TRUE(send(a.id, "t", "for a"));
  ASSERT_TRUE(send(w.id, "t", "for b, from b's behavior", b.id, of_b));
  EXPECT_FALSE(send(b.id, "t", "into a's", a.id)) << "not its own";
  EXPECT_FALSE(send(w.id, "t", "no program"));
  EXPECT_FALSE(send(w.id, "t", "a's, from b's behavior", a.id, of_b))
      << "only the program whose behavior it runs";
  ASSERT_TRUE(s.mail_receive(b.id, {}, 1, {"t"}, false));
  EXPECT_EQ(take(b.id, 1), "for b, from b's behavior");
  complete_ok(s, w.id, of_b);
  EXPECT_FALSE(send(w.id, "t", "after it ended", b.id, of_b));
  BehaviorId of_a = running_on(w, a);
  ASSERT_TRUE(s.mail_receive(w.id, a.id, 2, {"t"}, false, of_a));
  EXPECT_EQ(take(w.id, 2), "for a");
  EXPECT_EQ(s.check_invariants(), "");
}

TEST_F(SchedulerMailTest, AWorkerProcessMessagesForAProgramOverAClientSession) {
  SessionGrant w = s.open_session(Role::worker, 3, "w");
  SessionGrant wmail = s.open_session(Role::client, 3, "w/mail");
  SessionGrant other = s.open_session(Role::client, 4, "other");
  BehaviorId body = running_on(w, a);
  ASSERT_TRUE(send(wmail.id, "t", "from a worker", a.id, body));
  EXPECT_FALSE(send(other.id, "t", "not a worker's", a.id, body));
  ASSERT_TRUE(s.mail_receive(a.id, {}, 1, {"t"}, false));
  EXPECT_EQ(take(a.id, 1), "from a worker");
  s.close_session(w.id);
  EXPECT_FALSE(send(wmail.id, "t", "its worker is gone", a.id, body));
  EXPECT_EQ(s.check_invariants(), "");
}

TEST_F(SchedulerMailTest, ReleasedIntoABehaviorTheCownsLastUntilItEnds) {
  SessionGrant w = s.open_session(Role::worker, 3, "w");
  CownId c = cown(a, 1), q = cown(a, 2);
  ASSERT_TRUE(s.create_cown(a.id, c, val(""), false));
  ASSERT_TRUE(s.create_cown(a.id, q, val(""), false));
  Value msg = val("m");
  msg.refs = {c};
  ASSERT_TRUE(s.mail_send(a.id, {}, "t", msg));
  ASSERT_TRUE(s.drop_cown(a.id, c));
  BehaviorId b = submit_ok(s, a.id, pooled({q}));
  drain(s);
  ASSERT_TRUE(s.mail_receive(w.id, a.id, 1, {"t"}, false, b));
  drain(s);
  s.mail_release(w.id, 1, b);  // the body's handles are borrowed
  EXPECT_EQ(s.cown_count(), 2u) << "kept while b runs";
  EXPECT_EQ(s.check_invariants(), "");
  complete_ok(s, w.id, b);
  ASSERT_TRUE(s.drop_cown(a.id, q));
  expect_idle(s, 0);
}

TEST_F(SchedulerMailTest, ClosingAProgramEndsReceivesWaitingOnItsQueues) {
  SessionGrant w = s.open_session(Role::worker, 3, "w");
  CownId c = cown(a, 1);
  ASSERT_TRUE(s.create_cown(a.id, c, val(""), false));
  Value msg = val("queued");
  msg.refs = {c};
  ASSERT_TRUE(s.mail_send(a.id, {}, "full", msg));
  BehaviorId body = running_on(w, a);
  ASSERT_TRUE(s.mail_receive(w.id, a.id, 5, {"empty"}, true, body));
  s.close_session(a.id);
  std::vector<MailEvent> mail = drain(s).mail;
  ASSERT_EQ(mail.size(), 1u);
  MailEvent e = mail[0];
  EXPECT_EQ(e.to, w.id);
  EXPECT_FALSE(e.got);
  EXPECT_EQ(e.code, Errc::session_closed);
  s.close_session(w.id);  // ends body, a's last behavior
  drain(s);
  expect_idle(s, 0);  // the queued message let its cown go
}

TEST_F(SchedulerMailTest, AReceiverThatClosesReleasesItsLeases) {
  SessionGrant w = s.open_session(Role::worker, 3, "w");
  CownId c = cown(a, 1);
  ASSERT_TRUE(s.create_cown(a.id, c, val(""), false));
  Value msg = val("m");
  msg.refs = {c};
  ASSERT_TRUE(s.mail_send(a.id, {}, "t", msg));
  ASSERT_TRUE(s.drop_cown(a.id, c));
  BehaviorId body = running_on(w, a);
  ASSERT_TRUE(s.mail_receive(w.id, a.id, 1, {"t"}, false, body));
  drain(s);
  EXPECT_EQ(s.cown_count(), 2u) << "c, and the cown body runs on";
  s.close_session(w.id);
  drain(s);
  s.close_session(a.id);
  expect_idle(s, 0);
}

TEST_F(SchedulerMailTest, ReceivesNameTagsAndRequestsOnce) {
  Status none = s.mail_receive(a.id, {}, 1, {}, true);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Errc::malformed);
  ASSERT_TRUE(s.mail_receive(a.id, {}, 2, {"t"}, true));
  Status again = s.mail_receive(a.id, {}, 2, {"t"}, true);
  ASSERT_FALSE(again) << "parked under that request already";
  CownId c = cown(a, 1);
  ASSERT_TRUE(s.create_cown(a.id, c, val(""), false));
  Value msg = val("m");
  msg.refs = {c};
  ASSERT_TRUE(s.mail_send(a.id, {}, "t", msg));  // leased to request 2
  drain(s);
  ASSERT_TRUE(send(a.id, "t", "second"));
  Status leased = s.mail_receive(a.id, {}, 2, {"t"}, false);
  ASSERT_FALSE(leased) << "leased under that request: would drop its refs";
  EXPECT_EQ(leased.error().message, "receive request 2 is already in use");
  s.mail_release(a.id, 2);
  ASSERT_TRUE(s.drop_cown(a.id, c));
  EXPECT_FALSE(s.mail_set_tags(a.id, {}, {"x", "y", "x"}));
  s.close_session(a.id);
  expect_idle(s, 0);
}

TEST_F(SchedulerMailTest, AReturnedMessageGoesBackFirstInLine) {
  ASSERT_TRUE(send(a.id, "t", "first"));
  ASSERT_TRUE(send(a.id, "t", "second"));
  ASSERT_TRUE(s.mail_receive(a.id, {}, 1, {"t"}, false));
  drain(s);
  s.mail_return(a.id, 1);  // the receiver was interrupted
  EXPECT_EQ(s.mail_queued(a.id), 2u);
  ASSERT_TRUE(s.mail_receive(a.id, {}, 2, {"t"}, false));
  drain(s);
  EXPECT_EQ(take(a.id, 2), "first");
  ASSERT_TRUE(s.mail_receive(a.id, {}, 3, {"t"}, true));
  EXPECT_EQ(drain(s).mail.size(), 1u) << "second, at once";
  EXPECT_EQ(take(a.id, 3), "second");
  ASSERT_TRUE(s.mail_receive(a.id, {}, 4, {"u"}, true));  // parks
  ASSERT_TRUE(send(a.id, "u", "for the parked one"));
  drain(s);
  ASSERT_TRUE(s.mail_receive(a.id, {}, 5, {"u"}, true));  // parks too
  s.mail_return(a.id, 4);
  MailEvent e = one_event();
  EXPECT_EQ(e.request, 5u) << "a returned message goes to a parked receive";
  EXPECT_EQ(take(a.id, 5), "for the parked one");
  EXPECT_EQ(s.check_invariants(), "");
}

TEST_F(SchedulerMailTest, AClosedProgramsRunningBehaviorFindsNoQueues) {
  SessionGrant w = s.open_session(Role::worker, 3, "w");
  BehaviorId body = running_on(w, a);
  s.close_session(a.id);  // body still runs
  EXPECT_FALSE(send(w.id, "t", "to nobody", a.id, body));
  EXPECT_FALSE(s.mail_board(w.id, a.id, {}, body));
  EXPECT_EQ(s.mail_queued(a.id), 0u);
  complete_ok(s, w.id, body);
  expect_idle(s, 0);
}

TEST_F(SchedulerMailTest, TheFirstBoardSetIsTheProgramsUntilItCloses) {
  SessionGrant w = s.open_session(Role::worker, 3, "w");
  CownId first = cown(a, 1), second = cown(a, 2);
  ASSERT_TRUE(s.create_cown(a.id, first, val("{}"), false));
  ASSERT_TRUE(s.create_cown(a.id, second, val("{}"), false));
  Result<CownId> none = s.mail_board(a.id, {}, {});
  ASSERT_TRUE(none);
  EXPECT_FALSE(none.value()) << "asking sets nothing";
  EXPECT_EQ(s.mail_board(a.id, {}, first).value(), first);
  EXPECT_EQ(s.mail_board(a.id, {}, second).value(), first) << "first wins";
  BehaviorId body = running_on(w, a);
  EXPECT_EQ(s.mail_board(w.id, a.id, {}, body).value(), first)
      << "a worker running a's behavior finds a's board";
  ASSERT_TRUE(s.drop_cown(a.id, first));
  ASSERT_TRUE(s.drop_cown(a.id, second));
  ASSERT_NE(s.committed(first), nullptr) << "the board keeps its cown";
  EXPECT_EQ(s.committed(first)->data, "{}");
  SessionGrant b = s.open_session(Role::client, 2, "b");
  EXPECT_FALSE(s.mail_board(b.id, {}, cown(b, 9))) << "no such cown";
  EXPECT_EQ(s.mail_board(a.id, {}, cown(a, 9)).value(), first)
      << "once set, a proposal is not looked at";
  complete_ok(s, w.id, body);
  s.close_session(a.id);
  expect_idle(s, 0);
}

}  // namespace
}  // namespace bocd::core::test

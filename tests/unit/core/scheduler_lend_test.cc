// The two messaging speed rules in the core (docs/protocol.md, "Pipelined
// sends and lent messages"): credit for a program's own unanswered sends,
// and batches lent to a tag's one receiver, given back when it says, when
// another session receives there, or when it closes.
#include "scheduler_test_util.h"

namespace bocd::core::test {
namespace {

class SchedulerLendTest : public ::testing::Test {
 protected:
  static Limits limits(std::uint32_t messages, std::uint32_t credit,
                       std::uint32_t lend) {
    Limits l;
    l.mail = MailLimits{4, messages, credit, lend};
    return l;
  }
  Scheduler s{limits(100, 3, 4)};
  SessionGrant a = s.open_session(Role::client, 1, "a", STREAMS);

  Result<std::uint32_t> send(const std::string& tag, std::string data,
                             bool credited = false) {
    Value v = val(std::move(data));
    return s.mail_send(a.id, {}, tag, v, {}, credited);
  }
  // Sends "0".."n-1" under `tag` (acknowledged).
  void send_n(const std::string& tag, int n) {
    for (int i = 0; i < n; ++i) ASSERT_TRUE(send(tag, std::to_string(i)));
  }
  // The data of the messages a receive's event delivered and lent.
  std::vector<std::string> got(SessionId to, std::uint64_t request,
                               const MailEvent& e) {
    std::vector<std::string> out;
    if (!e.got) return out;
    out.push_back(s.mail_lease(to, request)->data);
    s.mail_release(to, request);
    const std::deque<Value>* lent = s.mail_lent(e.program, to, request);
    for (std::uint32_t i = 0; lent != nullptr && i < e.lent; ++i) {
      out.push_back((*lent)[i].data);
    }
    return out;
  }
  MailEvent receive(SessionId who, std::uint64_t request,
                    std::vector<std::string> tags) {
    EXPECT_TRUE(s.mail_receive(who, {}, request, tags, false));
    for (const MailEvent& e : drain(s).mail) {
      if (e.to == who && e.request == request && !e.recall) return e;
    }
    return MailEvent{};
  }
  // A behavior of `a` running on a worker, and that worker process's
  // messaging session.
  std::pair<SessionGrant, BehaviorId> worker_body() {
    SessionGrant w = s.open_session(Role::worker, 3, "w");
    SessionGrant ws = s.open_session(Role::client, 3, "w/wait", STREAMS);
    CownId c = cown(a, 1);
    EXPECT_TRUE(s.create_cown(a.id, c, Value{}, false));
    BehaviorId body = submit_ok(s, a.id, pooled({c}));
    EXPECT_EQ(dispatched_to(s, w.id), std::vector<BehaviorId>{body});
    return {ws, body};
  }
};

using Strings = std::vector<std::string>;

TEST_F(SchedulerLendTest, ASessionThatDidNotSayStreamsGetsNeitherCreditNorLending) {
  SessionGrant old = s.open_session(Role::client, 5, "an older client");
  for (int i = 0; i < 3; ++i) {
    Value v = val(std::to_string(i));
    Result<std::uint32_t> r = s.mail_send(old.id, {}, "t", v);
    ASSERT_TRUE(r);
    EXPECT_EQ(r.value(), 0u) << "no credit";
  }
  ASSERT_TRUE(s.mail_receive(old.id, {}, 1, {"t"}, false));
  MailEvent e = drain(s).mail.at(0);
  EXPECT_TRUE(e.got);
  EXPECT_EQ(e.lent, 0u) << "nothing lent: it would drop it";
  EXPECT_EQ(s.mail_queued(old.id), 2u);
  EXPECT_EQ(s.check_invariants(), "");
}

TEST_F(SchedulerLendTest, WithCreditOneSenderStillMeetsTheLimitExactly) {
  Scheduler t{limits(5, 3, 0)};
  SessionGrant p = t.open_session(Role::client, 1, "p", STREAMS);
  auto send_t = [&](bool credited) {
    Value v = val("m");
    return t.mail_send(p.id, {}, "t", v, {}, credited);
  };
  Result<std::uint32_t> first = send_t(false);
  ASSERT_TRUE(first);
  EXPECT_EQ(first.value(), 3u) << "the most it grants at once";
  for (int i = 0; i < 3; ++i) {
    Result<std::uint32_t> c = send_t(true);
    ASSERT_TRUE(c);
    EXPECT_EQ(c.value(), 0u) << "a credited send is not answered";
  }
  Result<std::uint32_t> fifth = send_t(false);
  ASSERT_TRUE(fifth) << "4 queued of 5";
  EXPECT_EQ(fifth.value(), 0u) << "no room left to reserve";
  auto sixth = send_t(false);
  ASSERT_FALSE(sixth);
  EXPECT_EQ(sixth.error().code, Errc::queue_full);
  EXPECT_EQ(t.mail_queued(p.id), 5u);
  EXPECT_EQ(t.check_invariants(), "");
}

TEST_F(SchedulerLendTest, CreditBlocksNoOtherSenderAndGoesWithSetTags) {
  Scheduler t{limits(4, 3, 0)};
  SessionGrant p = t.open_session(Role::client, 1, "p", STREAMS);
  SessionGrant w = t.open_session(Role::worker, 3, "w");
  CownId c = cown(p, 1);
  ASSERT_TRUE(t.create_cown(p.id, c, Value{}, false));
  BehaviorId body = submit_ok(t, p.id, pooled({c}));
  ASSERT_EQ(dispatched_to(t, w.id), std::vector<BehaviorId>{body});
  auto from_worker = [&](const std::string& data) {
    Value v = val(data);
    return t.mail_send(w.id, p.id, "t", v, body);
  };
  Value v = val("m");
  ASSERT_EQ(t.mail_send(p.id, {}, "t", v).value(), 3u);
  for (int i = 0; i < 3; ++i) {
    Result<std::uint32_t> ok = from_worker("w");
    ASSERT_TRUE(ok) << "outstanding credit takes no place";
    EXPECT_EQ(ok.value(), 0u) << "no room left to grant";
  }
  auto refused = from_worker("w");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::queue_full);
  Value credited = val("c");
  ASSERT_TRUE(t.mail_send(p.id, {}, "t", credited, {}, true))
      << "what the sender was promised is queued past the limit";
  EXPECT_EQ(t.mail_queued(p.id), 5u);
  ASSERT_TRUE(t.mail_set_tags(p.id, {}, {"t"}));
  Value late = val("late");
  ASSERT_EQ(t.mail_send(p.id, {}, "t", late).value(), 3u);
  ASSERT_TRUE(t.mail_set_tags(p.id, {}, {"t"}));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(from_worker("w"));
  Value after = val("after set_tags");
  auto ordinary = t.mail_send(p.id, {}, "t", after, {}, true);
  ASSERT_FALSE(ordinary)
      << "set_tags dropped the credit: an ordinary send, refused when full";
  EXPECT_EQ(ordinary.error().code, Errc::queue_full);
  EXPECT_EQ(t.check_invariants(), "");
}

TEST_F(SchedulerLendTest, EachSenderSpendsItsOwnCreditAndTakesItAlongWhenItCloses) {
  Scheduler t{limits(8, 3, 0)};
  SessionGrant p = t.open_session(Role::client, 1, "p", STREAMS);
  SessionGrant w = t.open_session(Role::worker, 3, "w");
  SessionGrant ws = t.open_session(Role::client, 3, "w/wait", STREAMS);
  CownId c = cown(p, 1);
  ASSERT_TRUE(t.create_cown(p.id, c, Value{}, false));
  BehaviorId body = submit_ok(t, p.id, pooled({c}));
  ASSERT_EQ(dispatched_to(t, w.id), std::vector<BehaviorId>{body});
  auto send_as = [&](SessionGrant who, bool credited) {
    Value v = val("m");
    return who.id == p.id ? t.mail_send(p.id, {}, "t", v, {}, credited)
                          : t.mail_send(ws.id, p.id, "t", v, body, credited);
  };
  ASSERT_EQ(send_as(ws, false).value(), 3u)
      << "a worker process's messaging session gets credit too";
  ASSERT_EQ(send_as(p, false).value(), 3u) << "8 - 2 queued - 3 held";
  ASSERT_TRUE(send_as(ws, true));
  ASSERT_TRUE(send_as(p, true));
  EXPECT_EQ(t.mail_queued(p.id), 4u) << "each spent one of its own";
  t.close_session(ws.id);  // two unspent: they go with it
  for (std::uint64_t r = 1; r <= 2; ++r) {
    ASSERT_TRUE(t.mail_receive(p.id, {}, r, {"t"}, false));
    t.mail_release(p.id, r);
  }
  EXPECT_EQ(send_as(p, false).value(), 3u)
      << "8 - 3 queued - 2 held by p (ws's two went with it: else 1)";
  EXPECT_EQ(t.check_invariants(), "");
}

TEST_F(SchedulerLendTest, AReceiveLendsTheNextMessagesToTheTagsOneReceiver) {
  send_n("t", 7);
  MailEvent e = receive(a.id, 1, {"t"});
  EXPECT_EQ(got(a.id, 1, e), (Strings{"0", "1", "2", "3", "4"}))
      << "one delivered, four lent";
  EXPECT_EQ(s.mail_queued(a.id), 2u);
  e = receive(a.id, 2, {"t"});
  EXPECT_EQ(got(a.id, 2, e), (Strings{"5"}))
      << "no second batch while one is out";
  s.mail_unlend(a.id, {}, 1, 0, false, 0);  // all four taken
  EXPECT_EQ(s.mail_lent(a.id, a.id, 1), nullptr);
  e = receive(a.id, 3, {"t"});
  EXPECT_EQ(got(a.id, 3, e), (Strings{"6"}));
  EXPECT_EQ(s.check_invariants(), "");
}

TEST_F(SchedulerLendTest, GivenBackTheUnreceivedGoFirstInLineInOrder) {
  send_n("t", 5);
  MailEvent e = receive(a.id, 1, {"t"});
  EXPECT_EQ(got(a.id, 1, e).size(), 5u);
  ASSERT_TRUE(send("t", "5"));
  s.mail_unlend(a.id, {}, 1, 2, true, 9);  // "3" and "4" were not taken
  MailEvent answer = drain(s).mail.at(0);
  EXPECT_EQ(answer.request, 9u);
  EXPECT_FALSE(answer.got);
  EXPECT_EQ(s.mail_queued(a.id), 3u);
  e = receive(a.id, 2, {"t"});
  EXPECT_EQ(got(a.id, 2, e), (Strings{"3", "4", "5"}));
  s.mail_unlend(a.id, {}, 1, 2, false, 0);
  EXPECT_EQ(s.mail_queued(a.id), 0u) << "a batch goes back once";
  EXPECT_EQ(s.check_invariants(), "");
}

TEST_F(SchedulerLendTest, AnotherReceiverRecallsTheBatchAndEndsLending) {
  auto [ws, body] = worker_body();
  send_n("t", 6);
  ASSERT_TRUE(s.mail_receive(ws.id, a.id, 1, {"t"}, false, body));
  MailEvent e = drain(s).mail.at(0);
  EXPECT_EQ(got(ws.id, 1, e), (Strings{"0", "1", "2", "3", "4"}));
  // Main receives too: the holder is asked to give back, and main waits
  // for what it gives back, which comes before "5".
  ASSERT_TRUE(s.mail_receive(a.id, {}, 2, {"t"}, true));
  std::vector<MailEvent> mail = drain(s).mail;
  ASSERT_EQ(mail.size(), 1u);
  EXPECT_TRUE(mail[0].recall);
  EXPECT_EQ(mail[0].to, ws.id);
  EXPECT_EQ(mail[0].request, 1u);
  EXPECT_EQ(mail[0].tag, "t");
  ASSERT_TRUE(s.mail_receive(a.id, {}, 3, {"t"}, false));
  EXPECT_TRUE(drain(s).mail.empty()) << "a poll waits for the batch too";
  ASSERT_TRUE(send("t", "6"));
  EXPECT_TRUE(drain(s).mail.empty()) << "a new message queues behind it";
  // The holder took "1" and gives back "2".."4": oldest receive first.
  s.mail_unlend(ws.id, a.id, 1, 3, false, 0);
  mail = drain(s).mail;
  ASSERT_EQ(mail.size(), 2u);
  EXPECT_EQ(mail[0].request, 2u);
  EXPECT_EQ(got(a.id, 2, mail[0]), (Strings{"2"})) << "shared: nothing lent";
  EXPECT_EQ(got(a.id, 3, mail[1]), (Strings{"3"}));
  EXPECT_EQ(s.mail_queued(a.id), 3u);
  e = receive(a.id, 4, {"t"});
  EXPECT_EQ(got(a.id, 4, e), (Strings{"4"})) << "no lending once shared";
  EXPECT_EQ(s.check_invariants(), "");
}

TEST_F(SchedulerLendTest, AHolderThatClosesGivesItsWholeBatchBack) {
  auto [ws, body] = worker_body();
  send_n("t", 3);
  ASSERT_TRUE(s.mail_receive(ws.id, a.id, 1, {"t"}, false, body));
  MailEvent e = drain(s).mail.at(0);
  EXPECT_EQ(got(ws.id, 1, e), (Strings{"0", "1", "2"}));
  ASSERT_TRUE(s.mail_receive(a.id, {}, 2, {"t"}, true));  // parks
  drain(s);
  s.close_session(ws.id);
  std::vector<MailEvent> mail = drain(s).mail;
  ASSERT_EQ(mail.size(), 1u);
  EXPECT_EQ(got(a.id, 2, mail[0]), (Strings{"1"}))
      << "which it received is unknown: all of it comes back";
  EXPECT_EQ(s.mail_queued(a.id), 1u);
  EXPECT_EQ(s.check_invariants(), "");
}

TEST_F(SchedulerLendTest, OnlyPlainValuesAreLentAndABatchKeepsItsTagAcrossSetTags) {
  CownId c = cown(a, 1);
  ASSERT_TRUE(s.create_cown(a.id, c, Value{}, false));
  send_n("t", 2);
  Value names = val("names c");
  names.refs = {c};
  ASSERT_TRUE(s.mail_send(a.id, {}, "t", names));
  ASSERT_TRUE(send("t", "after"));
  MailEvent e = receive(a.id, 1, {"t"});
  EXPECT_EQ(got(a.id, 1, e), (Strings{"0", "1"}))
      << "lending stops at a value naming a cown";
  ASSERT_TRUE(s.mail_set_tags(a.id, {}, {"u"}));
  EXPECT_EQ(s.mail_queued(a.id), 0u);
  s.mail_unlend(a.id, {}, 1, 1, false, 0);
  e = receive(a.id, 2, {"t"});
  EXPECT_EQ(got(a.id, 2, e), (Strings{"1"}))
      << "given back under its tag, bound again";
  EXPECT_EQ(s.check_invariants(), "");
}

}  // namespace
}  // namespace bocd::core::test

// Broken and hostile input against the real daemon: each kind of bad frame
// or protocol misuse is answered with a typed Error or by closing that one
// session, never by harming the daemon or another client. Every test keeps
// a well-behaved client connected across the bad input and checks
// afterwards that it is still served, that the daemon is alive, and that
// the daemon's log names the reason.
#include <sys/wait.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "daemon_process.h"
#include "raw_client.h"

namespace bocd::testing {
namespace {

namespace fb = proto::fb;
using Bytes = std::vector<std::uint8_t>;

// Bound on the Status round trips spent waiting for the daemon to handle
// an event on another socket. Each poll is a round trip, not a sleep.
constexpr int MAX_POLLS = 200;

// One frame from the daemon, or the connection's close. The envelope is
// re-derived from the owned bytes, so a Reply may be copied freely.
class Reply {
 public:
  explicit Reply(std::optional<Bytes> body) : body_(std::move(body)) {}

  const fb::Envelope* env() const {
    return body_ ? envelope(*body_) : nullptr;
  }
  template <class T>
  const T* as() const {
    const fb::Envelope* e = env();
    return e ? e->template message_as<T>() : nullptr;
  }
  std::string kind() const {
    if (!body_) return "(connection closed)";
    const fb::Envelope* e = env();
    return e ? fb::EnumNameMessage(e->message_type()) : "(invalid frame)";
  }

 private:
  std::optional<Bytes> body_;
};

Reply next_reply(RawClient& c) { return Reply(c.next_frame()); }

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

// Expects the next frame to be an Error with `code` answering `tag`.
void expect_error(RawClient& c, fb::ErrorCode code, std::uint64_t tag = 0) {
  Reply r = next_reply(c);
  const auto* e = r.as<fb::Error>();
  ASSERT_NE(e, nullptr) << "expected Error " << fb::EnumNameErrorCode(code)
                        << ", got " << r.kind();
  std::string text = e->message() ? e->message()->str() : "";
  EXPECT_EQ(e->code(), code) << fb::EnumNameErrorCode(e->code()) << ": "
                             << text;
  EXPECT_EQ(e->tag(), tag) << "Error " << fb::EnumNameErrorCode(e->code())
                           << " does not echo the tag: " << text;
}

// The daemon closes `c` without sending it anything more.
void expect_closed_silently(RawClient& c) {
  EXPECT_EQ(c.read_until_closed(), 0);
}

// The daemon ends `c`'s session: its last frame is a closing Error with
// `code` whose message starts with `why`, then nothing more.
void expect_closed_saying(RawClient& c, fb::ErrorCode code,
                          const std::string& why) {
  Reply r = next_reply(c);
  const auto* e = r.as<fb::Error>();
  ASSERT_NE(e, nullptr) << "expected a closing Error, got " << r.kind();
  EXPECT_TRUE(e->closing());
  EXPECT_EQ(e->code(), code) << fb::EnumNameErrorCode(e->code());
  std::string text = e->message() ? e->message()->str() : "";
  EXPECT_EQ(text.rfind(why, 0), 0u) << text;
  EXPECT_EQ(c.read_until_closed(), 0);
}

// One round trip: StatusRequest `request`, then its Status reply.
Reply status_of(RawClient& c, std::uint64_t request) {
  c.send([&](proto::Encoder& e) { e.status_request(request); });
  Reply r = next_reply(c);
  const auto* s = r.as<fb::Status>();
  EXPECT_NE(s, nullptr) << "expected Status, got " << r.kind();
  if (s != nullptr) {
    EXPECT_EQ(s->request(), request);
  }
  return r;
}

const fb::SessionInfo* find_session(const fb::Status& s, std::uint64_t id) {
  if (s.sessions() == nullptr) return nullptr;
  for (const fb::SessionInfo* info : *s.sessions()) {
    if (info->id() == id) return info;
  }
  return nullptr;
}

// Polls Status on `probe` until `session` is gone and nothing is in flight
// anywhere in the daemon. False if that never happens within the bound.
bool session_gone(RawClient& probe, std::uint64_t session) {
  for (int i = 0; i < MAX_POLLS; ++i) {
    Reply r = status_of(probe, 5000 + i);
    const auto* s = r.as<fb::Status>();
    if (s == nullptr) return false;
    if (find_session(*s, session) == nullptr && s->in_flight() == 0) {
      return true;
    }
  }
  return false;
}

bool line_has_all(const std::string& line,
                  const std::vector<std::string>& needles) {
  for (const auto& n : needles) {
    if (line.find(n) == std::string::npos) return false;
  }
  return true;
}

bool log_has_line(const DaemonProcess& d,
                  const std::vector<std::string>& needles) {
  std::istringstream in(d.log());
  for (std::string line; std::getline(in, line);) {
    if (line_has_all(line, needles)) return true;
  }
  return false;
}

// True once one line of the daemon's log holds every needle. A miss costs
// a Status round trip on `probe`, so the daemon has by then handled what
// was already queued on other sockets.
bool log_shows(const DaemonProcess& d, RawClient& probe,
               const std::vector<std::string>& needles) {
  for (int i = 0; i < MAX_POLLS; ++i) {
    if (log_has_line(d, needles)) return true;
    status_of(probe, 9000 + i);
  }
  return log_has_line(d, needles);
}

// A client that follows the protocol. Connected before the bad input, it
// must be served afterwards exactly as before.
class GoodClient {
 public:
  explicit GoodClient(const std::string& socket) : raw_(socket) {
    session_ = raw_.handshake(fb::Role::Client, &id_base_);
  }
  RawClient& raw() { return raw_; }
  std::uint64_t id_base() const { return id_base_; }

  // Creates a cown, runs one behavior on it end to end (Submit, Dispatch,
  // Complete, Quiesce) and sees itself listed in Status.
  void expect_served() {
    std::uint64_t cown = id_base_ + next_id_++;
    std::uint64_t tag = 100 + next_id_;
    std::uint64_t ids[] = {cown};
    raw_.send([&](proto::Encoder& e) {
      e.create_cown(cown, {"before"}, false);
      e.submit(tag, ids, 0, fb::Executor::Submitter, 0, "payload");
    });
    Reply d = next_reply(raw_);
    const auto* dispatch = d.as<fb::Dispatch>();
    ASSERT_NE(dispatch, nullptr) << "expected Dispatch, got " << d.kind();
    EXPECT_EQ(dispatch->tag(), tag);
    EXPECT_EQ(dispatch->session(), session_);
    complete_and_quiesce(dispatch->behavior(), cown, tag);
    Reply s = status_of(raw_, tag);
    const auto* status = s.as<fb::Status>();
    ASSERT_NE(status, nullptr);
    EXPECT_NE(find_session(*status, session_), nullptr);
  }

  void complete_and_quiesce(std::uint64_t behavior, std::uint64_t cown,
                            std::uint64_t request) {
    proto::CownValueRef update{cown, {"after"}};
    raw_.send([&](proto::Encoder& e) {
      e.complete(behavior, {&update, 1});
      e.quiesce(request);
    });
    Reply q = next_reply(raw_);
    const auto* quiesced = q.as<fb::Quiesced>();
    ASSERT_NE(quiesced, nullptr) << "expected Quiesced, got " << q.kind();
    EXPECT_EQ(quiesced->request(), request);
  }

 private:
  RawClient raw_;
  std::uint64_t session_ = 0;
  std::uint64_t id_base_ = 0;
  std::uint64_t next_id_ = 1;
};

// The common end of every test: the daemon lives, the good client is still
// served, and one log line names why the bad input was refused.
void expect_unharmed(DaemonProcess& d, GoodClient& good,
                     const std::vector<std::string>& reason) {
  EXPECT_TRUE(d.alive());
  good.expect_served();
  EXPECT_TRUE(log_shows(d, good.raw(), reason))
      << "no log line holds all of: " << ::testing::PrintToString(reason);
  EXPECT_TRUE(d.alive());
}

Bytes frame_of(const Bytes& body) {
  Bytes out;
  proto::append_header(out, static_cast<std::uint32_t>(body.size()));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

std::string disconnected(std::uint64_t session) {
  return "session " + std::to_string(session) + " disconnected";
}

// A framing error from one session: that session is closed, its last frame
// a closing Error naming `reason`, the daemon logs `reason`, and a
// well-behaved session is unharmed.
void expect_closes_only_its_session(std::vector<std::string> daemon_args,
                                    const Bytes& bytes,
                                    const std::string& reason,
                                    fb::ErrorCode code =
                                        fb::ErrorCode::Malformed) {
  DaemonProcess d(std::move(daemon_args));
  GoodClient good(d.socket());
  RawClient bad(d.socket());
  std::uint64_t bad_session = bad.handshake();
  bad.send_bytes(bytes);
  expect_closed_saying(bad, code, reason);
  EXPECT_TRUE(session_gone(good.raw(), bad_session));
  expect_unharmed(d, good, {disconnected(bad_session), reason});
}

TEST(BadInput, GarbageBytesCloseOnlyThatSession) {
  expect_closes_only_its_session(
      {}, frame_of(Bytes(32, 0xFF)),
      "malformed frame: frame is not a valid Envelope");
}

TEST(BadInput, TruncatedFrameThenCloseLeavesDaemonServing) {
  DaemonProcess d;
  GoodClient good(d.socket());
  std::optional<RawClient> bad(std::in_place, d.socket());
  std::uint64_t bad_session = bad->handshake();
  Bytes partial;
  proto::append_header(partial, 100);
  partial.insert(partial.end(), 10, 0x00);
  bad->send_bytes(partial);
  bad.reset();
  EXPECT_TRUE(session_gone(good.raw(), bad_session));
  expect_unharmed(d, good,
                  {disconnected(bad_session), "peer closed the connection"});
}

TEST(BadInput, OversizedLengthClosesSession) {
  // Only the header is ever sent: a daemon that waited for the body would
  // leave the closed-read to run into its bound and fail.
  Bytes header;
  proto::append_header(header, 1u << 20);
  expect_closes_only_its_session(
      {"--max-frame", "4096"}, header,
      "frame length exceeds the limit of 4096 bytes");
}

TEST(BadInput, ZeroLengthFrameClosesSession) {
  expect_closes_only_its_session(
      {}, Bytes(proto::FRAME_HEADER_BYTES, 0), "empty frame");
}

TEST(BadInput, WrongProtocolVersionGetsTypedErrorThenClose) {
  DaemonProcess d;
  GoodClient good(d.socket());
  RawClient bad(d.socket());
  std::uint32_t version = proto::PROTOCOL_VERSION + 1;
  bad.send([&](proto::Encoder& e) {
    e.hello(fb::Role::Client, ::getpid(), "from-the-future", version);
  });
  expect_error(bad, fb::ErrorCode::VersionMismatch);
  expect_closed_silently(bad);
  expect_unharmed(d, good,
                  {"VersionMismatch",
                   "protocol version " + std::to_string(version) +
                       " is not the daemon's " +
                       std::to_string(proto::PROTOCOL_VERSION)});
}

TEST(BadInput, MessageBeforeHandshakeGetsHandshakeRequired) {
  DaemonProcess d;
  GoodClient good(d.socket());
  RawClient bad(d.socket());
  bad.send([](proto::Encoder& e) { e.status_request(7); });
  expect_error(bad, fb::ErrorCode::HandshakeRequired);
  expect_closed_silently(bad);
  expect_unharmed(d, good,
                  {"HandshakeRequired", "expected Hello, got StatusRequest"});
}

TEST(BadInput, SecondHelloIsRefused) {
  DaemonProcess d;
  GoodClient good(d.socket());
  RawClient bad(d.socket());
  std::uint64_t bad_session = bad.handshake();
  // The second Hello claims Admin: it must not change the session's role.
  bad.send([](proto::Encoder& e) {
    e.hello(fb::Role::Admin, ::getpid(), "now-an-admin");
  });
  expect_error(bad, fb::ErrorCode::AlreadyHandshaken);
  Reply r = status_of(bad, 1);
  const auto* status = r.as<fb::Status>();
  ASSERT_NE(status, nullptr);
  const fb::SessionInfo* info = find_session(*status, bad_session);
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->role(), fb::Role::Client);
  bad.send([](proto::Encoder& e) { e.stop(2); });
  expect_error(bad, fb::ErrorCode::NotPermitted);
  expect_unharmed(d, good, {"AlreadyHandshaken", "Hello sent twice"});
}

TEST(BadInput, UnknownCownIdGetsTypedError) {
  DaemonProcess d;
  GoodClient good(d.socket());
  RawClient bad(d.socket());
  std::uint64_t base = 0;
  bad.handshake(fb::Role::Client, &base);
  std::uint64_t missing[] = {base + 77};
  bad.send([&](proto::Encoder& e) {
    e.submit(42, missing, 0, fb::Executor::Workers, 0, "");
  });
  expect_error(bad, fb::ErrorCode::UnknownCown, 42);
  // The session continues: the same id may now be created.
  bad.send([&](proto::Encoder& e) {
    e.create_cown(missing[0], {"now it exists"}, false);
  });
  Reply r = status_of(bad, 1);
  ASSERT_NE(r.as<fb::Status>(), nullptr);
  EXPECT_EQ(r.as<fb::Status>()->cowns(), 1u);
  expect_unharmed(d, good, {"UnknownCown", "cown " + hex(missing[0]) +
                                               " named in the request set "
                                               "does not exist"});
}

TEST(BadInput, BehaviorOverTheCownLimitIsRefused) {
  DaemonProcess d({"--max-cowns", "4"});
  GoodClient good(d.socket());
  RawClient bad(d.socket());
  std::uint64_t base = 0;
  bad.handshake(fb::Role::Client, &base);
  std::vector<std::uint64_t> ids = {base + 1, base + 2, base + 3, base + 4,
                                    base + 5};
  bad.send([&](proto::Encoder& e) {
    for (auto id : ids) e.create_cown(id, {"x"}, false);
    e.submit(5, ids, 0, fb::Executor::Submitter, 0, "");
  });
  expect_error(bad, fb::ErrorCode::TooManyCowns, 5);
  // The limit itself is allowed, and the session continues.
  bad.send([&](proto::Encoder& e) {
    e.submit(4, std::span(ids).first(4), 0, fb::Executor::Submitter, 0, "");
  });
  Reply r = next_reply(bad);
  const auto* dispatch = r.as<fb::Dispatch>();
  ASSERT_NE(dispatch, nullptr) << "expected Dispatch, got " << r.kind();
  EXPECT_EQ(dispatch->tag(), 4u);
  ASSERT_NE(dispatch->cowns(), nullptr);
  EXPECT_EQ(dispatch->cowns()->size(), 4u);
  expect_unharmed(d, good, {"TooManyCowns",
                            "behavior requests 5 cowns; the limit is 4"});
}

TEST(BadInput, CownIdOutsideSessionRangeIsRefused) {
  DaemonProcess d;
  GoodClient good(d.socket());
  RawClient bad(d.socket());
  std::uint64_t base = 0;
  bad.handshake(fb::Role::Client, &base);
  std::uint64_t theirs = good.id_base() + 1;  // the good client's range
  bad.send([&](proto::Encoder& e) {
    e.create_cown(theirs, {"stolen"}, false);
    e.create_cown(base, {"n = 0"}, false);  // n must be >= 1
    e.submit(9, {}, theirs, fb::Executor::Workers, 0, "");
  });
  expect_error(bad, fb::ErrorCode::CownOutOfRange);
  expect_error(bad, fb::ErrorCode::CownOutOfRange);
  expect_error(bad, fb::ErrorCode::CownOutOfRange, 9);
  Reply r = status_of(bad, 1);
  ASSERT_NE(r.as<fb::Status>(), nullptr);
  EXPECT_EQ(r.as<fb::Status>()->cowns(), 0u);
  // The good client's first cown is exactly `theirs`: still free.
  expect_unharmed(d, good, {"CownOutOfRange", "cown id " + hex(theirs) +
                                                  " is outside this "
                                                  "session's id range"});
}

TEST(BadInput, AdminMayNotSubmit) {
  DaemonProcess d;
  GoodClient good(d.socket());
  RawClient admin(d.socket());
  admin.handshake(fb::Role::Admin);
  admin.send([](proto::Encoder& e) {
    e.submit(3, {}, 0, fb::Executor::Workers, 0, "");
  });
  // Submit.tag is "echoed in Dispatch and Error" (schema).
  expect_error(admin, fb::ErrorCode::NotPermitted, 3);
  admin.send([](proto::Encoder& e) { e.create_cown(1, {"x"}, false); });
  expect_error(admin, fb::ErrorCode::NotPermitted);
  // An admin takes no cown handles either
  // (docs/protocol.md, Cown lifetime).
  const std::uint64_t ids[] = {1};
  admin.send([&](proto::Encoder& e) { e.hold_cown(ids); });
  expect_error(admin, fb::ErrorCode::NotPermitted);
  Reply r = status_of(admin, 1);
  ASSERT_NE(r.as<fb::Status>(), nullptr);
  EXPECT_EQ(r.as<fb::Status>()->in_flight(), 0u);
  expect_unharmed(d, good, {"NotPermitted", "may not send Submit"});
}

TEST(BadInput, MessageMeantForClientsIsNotPermittedFromOne) {
  DaemonProcess d;
  GoodClient good(d.socket());
  RawClient bad(d.socket());
  bad.handshake();
  bad.send([](proto::Encoder& e) {
    e.welcome(1, 2, 3, 4, 5);
    e.dispatch(1, 2, 3, {}, 0, "", false);
    e.error(fb::ErrorCode::ExecutorLost, "forged", 0, 0);
  });
  for (int i = 0; i < 3; ++i) expect_error(bad, fb::ErrorCode::NotPermitted);
  ASSERT_NE(status_of(bad, 1).as<fb::Status>(), nullptr);
  expect_unharmed(d, good, {"NotPermitted", "may not send Dispatch"});
}

// Bodies that verify as flatbuffers, or nearly, but are no usable Envelope.
std::vector<Bytes> wrong_shapes() {
  std::vector<Bytes> out;
  auto finish = [&](flatbuffers::FlatBufferBuilder& fbb, auto root) {
    fbb.Finish(root);
    out.emplace_back(fbb.GetBufferPointer(),
                     fbb.GetBufferPointer() + fbb.GetSize());
  };
  flatbuffers::FlatBufferBuilder a, b, c, e;
  finish(a, fb::CreateEnvelope(a));  // union type NONE
  finish(b, fb::CreateEnvelope(b, fb::Message::Hello, 0));  // no table
  auto hello = fb::CreateHello(c, proto::PROTOCOL_VERSION, fb::Role::Client,
                               1, c.CreateString("x"));
  finish(c, fb::CreateEnvelope(c, static_cast<fb::Message>(99),
                               hello.Union()));  // type beyond the schema
  // A Hello as the root, not wrapped in an Envelope.
  finish(e, fb::CreateHello(e, proto::PROTOCOL_VERSION, fb::Role::Client, 1,
                            e.CreateString("x")));
  return out;
}

TEST(BadInput, ValidFlatbufferOfWrongShapeIsRejected) {
  DaemonProcess d;
  GoodClient good(d.socket());
  std::vector<std::uint64_t> sessions;
  for (const Bytes& body : wrong_shapes()) {
    std::string why;
    ASSERT_EQ(proto::verify_envelope(body, why), nullptr)
        << "shape " << sessions.size() << " is a valid Envelope";
    RawClient bad(d.socket());
    sessions.push_back(bad.handshake());
    bad.send_bytes(frame_of(body));
    expect_closed_saying(bad, fb::ErrorCode::Malformed, "malformed frame: ");
  }
  for (std::uint64_t s : sessions) {
    EXPECT_TRUE(log_shows(d, good.raw(), {disconnected(s), "malformed frame"}))
        << "session " << s;
  }
  expect_unharmed(d, good,
                  {"malformed frame: Envelope holds no known message"});
}

TEST(BadInput, DisconnectWithQueuedBehaviorsRemovesTheSession) {
  DaemonProcess d;
  GoodClient good(d.socket());
  RawClient admin(d.socket());
  admin.handshake(fb::Role::Admin);
  std::optional<RawClient> a(std::in_place, d.socket());
  std::uint64_t base = 0;
  std::uint64_t a_session = a->handshake(fb::Role::Client, &base);
  std::uint64_t c[] = {base + 1};
  a->send([&](proto::Encoder& e) {
    e.create_cown(c[0], {"v0"}, false);
    e.submit(1, c, 0, fb::Executor::Submitter, 0, "first");
    e.submit(2, c, base + 2, fb::Executor::Submitter, 0, "second");
  });
  Reply first = next_reply(*a);
  ASSERT_NE(first.as<fb::Dispatch>(), nullptr) << first.kind();
  EXPECT_EQ(first.as<fb::Dispatch>()->tag(), 1u);
  // Not completed: the first runs on A, the second waits behind it.
  Reply r = status_of(*a, 3);
  ASSERT_NE(r.as<fb::Status>(), nullptr);
  EXPECT_EQ(r.as<fb::Status>()->in_flight(), 2u);
  EXPECT_EQ(r.as<fb::Status>()->cowns(), 2u);  // c and the result cown
  a.reset();
  EXPECT_TRUE(session_gone(admin, a_session));
  Reply after = status_of(admin, 4);
  ASSERT_NE(after.as<fb::Status>(), nullptr);
  EXPECT_EQ(after.as<fb::Status>()->cowns(), 0u);
  expect_unharmed(d, good,
                  {disconnected(a_session), "peer closed the connection"});
}

// Cowns are capabilities: a program that learns or guesses another's cown
// id can neither queue on it, hold it, nor embed it, and hears the same
// answer as for an id that names nothing. The owner is untouched.
TEST(BadInput, AnotherProgramsCownIsRefusedAsIfItDidNotExist) {
  DaemonProcess d;
  GoodClient good(d.socket());
  RawClient a(d.socket());
  std::uint64_t base = 0;
  a.handshake(fb::Role::Client, &base);
  std::uint64_t c[] = {base + 1};
  a.send([&](proto::Encoder& e) { e.create_cown(c[0], {"a's"}, false); });
  ASSERT_NE(status_of(a, 1).as<fb::Status>(), nullptr);

  const std::string refused = "cown " + hex(c[0]) +
                              " named in the request set does not exist or "
                              "is another program's";
  // Another program: another process, which learnt the id.
  pid_t thief = ::fork();
  if (thief == 0) {
    RawClient t(d.socket());
    t.handshake();
    t.send([&](proto::Encoder& e) {
      e.submit(7, c, 0, fb::Executor::Submitter, 0, "steal");
      e.hold_cown(c);
    });
    Reply submit = next_reply(t), hold = next_reply(t);
    const auto* e1 = submit.as<fb::Error>();
    const auto* e2 = hold.as<fb::Error>();
    bool refused = e1 != nullptr && e1->code() == fb::ErrorCode::UnknownCown &&
                   e1->tag() == 7 && e2 != nullptr &&
                   e2->code() == fb::ErrorCode::UnknownCown;
    std::_Exit(refused ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(thief, &status, 0), thief);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the other program was not refused";

  // The owner still runs on it and reads its value.
  a.send([&](proto::Encoder& e) {
    e.submit(2, c, 0, fb::Executor::Submitter, 0, "mine");
  });
  Reply r = next_reply(a);
  const auto* dispatch = r.as<fb::Dispatch>();
  ASSERT_NE(dispatch, nullptr) << "expected Dispatch, got " << r.kind();
  const fb::Value* v = dispatch->cowns()->Get(0)->value();
  EXPECT_EQ(std::string(v->data()->begin(), v->data()->end()), "a's");
  expect_unharmed(d, good, {"UnknownCown", refused});
}

// ---- Messaging (Mail) -----------------------------------------------------

// Sends one Mail with `request`; `value` only for Send.
void send_mail(RawClient& c, std::uint64_t request, fb::MailKind kind,
               const std::vector<std::string>& tags, std::uint64_t program = 0,
               const proto::ValueRef* value = nullptr, bool wait = false,
               std::uint64_t behavior = 0) {
  c.send([&](proto::Encoder& e) {
    e.mail(request, kind, program, tags, wait, value, behavior);
  });
}

// Expects the next frame to be an Error with `code` answering Mail
// `request`, in exactly the daemon's `words`.
void expect_mail_error(RawClient& c, fb::ErrorCode code,
                       std::uint64_t request, const std::string& words) {
  Reply r = next_reply(c);
  const auto* e = r.as<fb::Error>();
  ASSERT_NE(e, nullptr) << "expected Error " << fb::EnumNameErrorCode(code)
                        << " (" << words << "), got " << r.kind();
  EXPECT_EQ(e->code(), code) << fb::EnumNameErrorCode(e->code());
  EXPECT_EQ(e->request(), request);
  EXPECT_EQ(e->message() ? e->message()->str() : "", words);
}

// Expects the next frame to be the MailReply to `request`; returns it.
Reply expect_mail_reply(RawClient& c, std::uint64_t request, bool got) {
  Reply r = next_reply(c);
  const auto* m = r.as<fb::MailReply>();
  EXPECT_NE(m, nullptr) << "expected MailReply, got " << r.kind();
  if (m != nullptr) {
    EXPECT_EQ(m->request(), request);
    EXPECT_EQ(m->got(), got) << "MailReply " << request;
  }
  return r;
}

std::string mail_data(const Reply& r) {
  const auto* m = r.as<fb::MailReply>();
  if (m == nullptr || m->value() == nullptr || m->value()->data() == nullptr) {
    return "";
  }
  return std::string(m->value()->data()->begin(), m->value()->data()->end());
}

TEST(BadInput, MailSendNamingZeroOrTwoTagsIsRefusedAndTheSessionGoesOn) {
  DaemonProcess d;
  GoodClient good(d.socket());
  RawClient bad(d.socket());
  bad.handshake();
  proto::ValueRef v{"lost?"};
  send_mail(bad, 1, fb::MailKind::Send, {}, 0, &v);
  expect_mail_error(bad, fb::ErrorCode::Malformed, 1,
                    "Mail Send names one tag");
  send_mail(bad, 2, fb::MailKind::Send, {"a", "b"}, 0, &v);
  expect_mail_error(bad, fb::ErrorCode::Malformed, 2,
                    "Mail Send names one tag");
  // Neither queued anything; the session's messaging still works.
  send_mail(bad, 3, fb::MailKind::Receive, {"a", "b"});
  expect_mail_reply(bad, 3, false);
  proto::ValueRef ok{"kept"};
  send_mail(bad, 4, fb::MailKind::Send, {"a"}, 0, &ok);
  expect_mail_reply(bad, 4, false);
  send_mail(bad, 5, fb::MailKind::Receive, {"b", "a"});
  EXPECT_EQ(mail_data(expect_mail_reply(bad, 5, true)), "kept");
  expect_unharmed(d, good, {"Malformed", "Mail Send names one tag"});
}

TEST(BadInput, MailSendCarryingNoValueIsRefused) {
  DaemonProcess d;
  GoodClient good(d.socket());
  RawClient bad(d.socket());
  bad.handshake();
  send_mail(bad, 1, fb::MailKind::Send, {"t"});
  expect_mail_error(bad, fb::ErrorCode::Malformed, 1,
                    "Mail Send carries no value");
  send_mail(bad, 2, fb::MailKind::Receive, {"t"});
  expect_mail_reply(bad, 2, false);  // nothing was queued
  proto::ValueRef empty{""};  // an empty value is still a value
  send_mail(bad, 3, fb::MailKind::Send, {"t"}, 0, &empty);
  expect_mail_reply(bad, 3, false);
  send_mail(bad, 4, fb::MailKind::Receive, {"t"});
  expect_mail_reply(bad, 4, true);
  expect_unharmed(d, good, {"Malformed", "Mail Send carries no value"});
}

TEST(BadInput, ReceiveNamingNoTagIsRefused) {
  DaemonProcess d;
  GoodClient good(d.socket());
  RawClient bad(d.socket());
  bad.handshake();
  // A waiting one would otherwise park for good: no send can match it.
  send_mail(bad, 1, fb::MailKind::Receive, {}, 0, nullptr, true);
  expect_mail_error(bad, fb::ErrorCode::Malformed, 1,
                    "a receive names no tag");
  send_mail(bad, 2, fb::MailKind::Receive, {});
  expect_mail_error(bad, fb::ErrorCode::Malformed, 2,
                    "a receive names no tag");
  // Request 1 was never parked: the number is free, and a Cancel of it
  // has nothing to answer.
  send_mail(bad, 1, fb::MailKind::Cancel, {});
  proto::ValueRef v{"v"};
  send_mail(bad, 3, fb::MailKind::Send, {"t"}, 0, &v);
  expect_mail_reply(bad, 3, false);
  send_mail(bad, 1, fb::MailKind::Receive, {"t"}, 0, nullptr, true);
  EXPECT_EQ(mail_data(expect_mail_reply(bad, 1, true)), "v");
  expect_unharmed(d, good, {"Malformed", "a receive names no tag"});
}

TEST(BadInput, SetTagsNamingATagTwiceIsRefusedAndDropsNothing) {
  DaemonProcess d;
  GoodClient good(d.socket());
  RawClient bad(d.socket());
  bad.handshake();
  proto::ValueRef v{"kept"};
  send_mail(bad, 1, fb::MailKind::Send, {"x"}, 0, &v);
  expect_mail_reply(bad, 1, false);
  send_mail(bad, 2, fb::MailKind::SetTags, {"x", "y", "x"});
  expect_mail_error(bad, fb::ErrorCode::Malformed, 2,
                    "set_tags names 'x' twice");
  send_mail(bad, 3, fb::MailKind::Receive, {"x"});
  EXPECT_EQ(mail_data(expect_mail_reply(bad, 3, true)), "kept")
      << "the refused set_tags dropped the queued message";
  send_mail(bad, 4, fb::MailKind::SetTags, {"x", "y"});
  expect_mail_reply(bad, 4, false);
  expect_unharmed(d, good, {"Malformed", "set_tags names 'x' twice"});
}

TEST(BadInput, UnknownMailKindIsRefusedAndTheSessionGoesOn) {
  DaemonProcess d;
  GoodClient good(d.socket());
  RawClient bad(d.socket());
  bad.handshake();
  // The first kind past the schema's last (Return was 6), and two more.
  const auto first_unknown =
      static_cast<std::uint8_t>(static_cast<int>(fb::MailKind::MAX) + 1);
  for (std::uint8_t kind : {first_unknown, std::uint8_t{42},
                            std::uint8_t{255}}) {
    send_mail(bad, 100 + kind, static_cast<fb::MailKind>(kind), {"t"});
    expect_mail_error(bad, fb::ErrorCode::Malformed, 100 + kind,
                      "unknown Mail kind");
  }
  ASSERT_NE(status_of(bad, 1).as<fb::Status>(), nullptr);
  send_mail(bad, 2, fb::MailKind::Receive, {"t"});
  expect_mail_reply(bad, 2, false);
  expect_unharmed(d, good, {"Malformed", "unknown Mail kind"});
}

TEST(BadInput, AdminMayNotMail) {
  DaemonProcess d;
  GoodClient good(d.socket());
  RawClient admin(d.socket());
  admin.handshake(fb::Role::Admin);
  proto::ValueRef v{"x"};
  send_mail(admin, 3, fb::MailKind::Send, {"t"}, 0, &v);
  expect_mail_error(admin, fb::ErrorCode::NotPermitted, 3,
                    "admin sessions may not send Mail");
  send_mail(admin, 4, fb::MailKind::Receive, {"t"}, 0, nullptr, true);
  expect_mail_error(admin, fb::ErrorCode::NotPermitted, 4,
                    "admin sessions may not send Mail");
  send_mail(admin, 5, fb::MailKind::SetTags, {});
  expect_mail_error(admin, fb::ErrorCode::NotPermitted, 5,
                    "admin sessions may not send Mail");
  ASSERT_NE(status_of(admin, 1).as<fb::Status>(), nullptr);
  expect_unharmed(d, good,
                  {"NotPermitted", "admin sessions may not send Mail"});
}

TEST(BadInput, ClientMayNotUseAnotherProgramsQueues) {
  DaemonProcess d;
  GoodClient good(d.socket());
  RawClient victim(d.socket());
  std::uint64_t program = victim.handshake();
  RawClient bad(d.socket());
  std::uint64_t bad_session = bad.handshake();
  const std::string words = "a program may use only its own message queues";
  proto::ValueRef v{"planted"};
  for (std::uint64_t named : {program, bad_session + 1000}) {
    send_mail(bad, 1, fb::MailKind::Send, {"t"}, named, &v);
    expect_mail_error(bad, fb::ErrorCode::NotPermitted, 1, words);
    send_mail(bad, 2, fb::MailKind::Receive, {"t"}, named, nullptr, true);
    expect_mail_error(bad, fb::ErrorCode::NotPermitted, 2, words);
    send_mail(bad, 3, fb::MailKind::Drain, {"t"}, named);
    expect_mail_error(bad, fb::ErrorCode::NotPermitted, 3, words);
    send_mail(bad, 4, fb::MailKind::SetTags, {"t"}, named);
    expect_mail_error(bad, fb::ErrorCode::NotPermitted, 4, words);
  }
  // Naming itself is the same as 0: its own queues.
  send_mail(bad, 5, fb::MailKind::Send, {"t"}, bad_session, &v);
  expect_mail_reply(bad, 5, false);
  send_mail(bad, 6, fb::MailKind::Receive, {"t"});
  EXPECT_EQ(mail_data(expect_mail_reply(bad, 6, true)), "planted");
  send_mail(victim, 7, fb::MailKind::Receive, {"t"});
  expect_mail_reply(victim, 7, false);  // nothing was planted there
  expect_unharmed(d, good, {"NotPermitted", words});
}

// The behavior of the next frame on raw worker `w`, a Dispatch for
// `program`.
std::uint64_t next_dispatch(RawClient& w, std::uint64_t program) {
  Reply r = next_reply(w);
  const auto* d = r.as<fb::Dispatch>();
  EXPECT_NE(d, nullptr) << "expected Dispatch, got " << r.kind();
  if (d == nullptr) return 0;
  EXPECT_EQ(d->session(), program);
  return d->behavior();
}

// What the daemon says when a worker session names no behavior it runs of
// the program whose queues or board it asks for.
const std::string WORKER_NOT_RUNNING =
    "a worker may use only the message queues of a program whose behavior "
    "it is running";

// The scene the worker-trust tests start from: program p's behavior runs
// on the only worker and q's waits behind it (a worker runs one at a
// time). `first` encodes p's frames that go before its submit (a cown to
// name, say). Returns p's running behavior.
std::uint64_t p_runs_q_waits(RawClient& worker, RawClient& p,
                             std::uint64_t p_session, RawClient& q,
                             const std::function<void(proto::Encoder&)>& first =
                                 nullptr) {
  p.send([&](proto::Encoder& e) {
    if (first) first(e);
    e.submit(1, {}, 0, fb::Executor::Workers, 0, "p's");
  });
  const std::uint64_t p_run = next_dispatch(worker, p_session);
  q.send([](proto::Encoder& e) {
    e.submit(2, {}, 0, fb::Executor::Workers, 0, "q's");
  });
  EXPECT_NE(status_of(q, 3).as<fb::Status>(), nullptr);
  return p_run;
}

// A worker session uses a program's queues only naming a behavior of that
// program it is running: not none, not another program's, not one it has
// completed.
TEST(BadInput, WorkerNamingNoBehaviorOfTheProgramItRunsIsRefused) {
  DaemonProcess d;
  GoodClient good(d.socket());
  RawClient admin(d.socket());
  std::uint64_t admin_session = admin.handshake(fb::Role::Admin);
  RawClient worker(d.socket());
  std::uint64_t worker_session = worker.handshake(fb::Role::Worker);
  RawClient p(d.socket());
  std::uint64_t p_session = p.handshake();
  RawClient q(d.socket());
  std::uint64_t q_session = q.handshake();
  const std::uint64_t p_run = p_runs_q_waits(worker, p, p_session, q);
  const std::string& words = WORKER_NOT_RUNNING;
  proto::ValueRef v{"for the program"};
  for (auto kind : {fb::MailKind::Send, fb::MailKind::Receive,
                    fb::MailKind::Drain, fb::MailKind::SetTags}) {
    const proto::ValueRef* value = kind == fb::MailKind::Send ? &v : nullptr;
    send_mail(worker, 10, kind, {"t"}, p_session, value);  // no behavior
    expect_mail_error(worker, fb::ErrorCode::NotPermitted, 10, words);
    // p's behavior, naming another session's queues.
    for (std::uint64_t named :
         {std::uint64_t{0}, admin_session, worker_session, q_session}) {
      send_mail(worker, 11, kind, {"t"}, named, value, false, p_run);
      expect_mail_error(worker, fb::ErrorCode::NotPermitted, 11, words);
    }
  }
  send_mail(worker, 12, fb::MailKind::Send, {"t"}, p_session, &v, false,
            p_run);
  expect_mail_reply(worker, 12, false);
  send_mail(p, 13, fb::MailKind::Receive, {"t"});
  EXPECT_EQ(mail_data(expect_mail_reply(p, 13, true)), "for the program");
  send_mail(q, 14, fb::MailKind::Receive, {"t"});
  expect_mail_reply(q, 14, false);  // nothing was planted there

  // p's behavior completes; q's then runs on the worker.
  worker.send([&](proto::Encoder& e) { e.complete(p_run, {}); });
  const std::uint64_t q_run = next_dispatch(worker, q_session);
  send_mail(worker, 15, fb::MailKind::Send, {"t"}, p_session, &v, false,
            p_run);
  expect_mail_error(worker, fb::ErrorCode::NotPermitted, 15, words);
  send_mail(worker, 16, fb::MailKind::Send, {"t"}, p_session, &v, false,
            q_run);
  expect_mail_error(worker, fb::ErrorCode::NotPermitted, 16, words);
  send_mail(worker, 17, fb::MailKind::Send, {"t"}, q_session, &v, false,
            q_run);
  expect_mail_reply(worker, 17, false);
  send_mail(q, 18, fb::MailKind::Receive, {"t"});
  EXPECT_EQ(mail_data(expect_mail_reply(q, 18, true)), "for the program");
  send_mail(p, 19, fb::MailKind::Receive, {"t"});
  expect_mail_reply(p, 19, false);
  worker.send([&](proto::Encoder& e) { e.complete(q_run, {}); });
  ASSERT_NE(status_of(worker, 20).as<fb::Status>(), nullptr);
  expect_unharmed(d, good, {"NotPermitted", words});
}

// Mail.after_session names a worker session of the sender's own process:
// not one of another process (the daemon's pool worker here), not a
// client, not a session that does not exist. Refused even when its frames
// are already handled.
TEST(BadInput, MailWaitingForASessionNotAWorkerOfItsProcessIsRefused) {
  DaemonProcess d({"--workers", "1", "--python", TEST_WORKER});
  GoodClient good(d.socket());
  RawClient mailer(d.socket());
  std::uint64_t base = 0;
  std::uint64_t mailer_session = mailer.handshake(fb::Role::Client, &base);
  // The pool's worker, once it has run a behavior that names its pid; the
  // mailer's own behavior on the result runs after it (no worker of this
  // process is connected yet to take the pool's).
  const std::uint64_t result[] = {base + 1};
  mailer.send([&](proto::Encoder& e) {
    e.submit(1, {}, result[0], fb::Executor::Workers, 0, "pid");
    e.submit(2, result, 0, fb::Executor::Submitter, 0, "");
  });
  Reply dispatched = next_reply(mailer);
  const auto* dispatch = dispatched.as<fb::Dispatch>();
  ASSERT_NE(dispatch, nullptr) << "expected Dispatch, got "
                               << dispatched.kind();
  ASSERT_NE(dispatch->cowns(), nullptr);
  ASSERT_EQ(dispatch->cowns()->size(), 1u);
  const fb::Value* pid = dispatch->cowns()->Get(0)->value();
  ASSERT_NE(pid, nullptr);
  ASSERT_NE(pid->data(), nullptr);
  const std::string worker_pid(pid->data()->begin(), pid->data()->end());
  ASSERT_NE(worker_pid, std::to_string(::getpid()));
  mailer.send([&](proto::Encoder& e) {
    e.complete(dispatch->behavior(), {});
  });
  std::uint64_t foreign = 0;
  Reply r = status_of(mailer, 3);
  const auto* s = r.as<fb::Status>();
  ASSERT_NE(s, nullptr);
  for (const fb::SessionInfo* info : *s->sessions()) {
    if (info->role() == fb::Role::Worker &&
        std::to_string(info->pid()) == worker_pid) {
      foreign = info->id();
    }
  }
  ASSERT_NE(foreign, 0u) << "no worker session of pid " << worker_pid;
  RawClient own_worker(d.socket());
  std::uint64_t own = own_worker.handshake(fb::Role::Worker);

  const std::string words =
      "a Mail may wait only for a worker session of its own process";
  proto::ValueRef v{"v"};
  const std::vector<std::string> t = {"t"};
  const std::uint64_t not_ours[] = {foreign, mailer_session, own + 1000};
  for (std::uint64_t after : not_ours) {
    mailer.send([&](proto::Encoder& e) {
      e.mail(1, fb::MailKind::Send, 0, t, false, &v, 0, after, 1);
    });
    expect_mail_error(mailer, fb::ErrorCode::NotPermitted, 1, words);
    mailer.send([&](proto::Encoder& e) {
      e.mail(2, fb::MailKind::Receive, 0, t, false, nullptr, 0, after, 1);
    });
    expect_mail_error(mailer, fb::ErrorCode::NotPermitted, 2, words);
  }
  // Its own worker, whose first frame is handled: at once.
  mailer.send([&](proto::Encoder& e) {
    e.mail(3, fb::MailKind::Send, 0, t, false, &v, 0, own, 1);
  });
  expect_mail_reply(mailer, 3, false);
  send_mail(mailer, 4, fb::MailKind::Receive, {"t"});
  EXPECT_EQ(mail_data(expect_mail_reply(mailer, 4, true)), "v");
  send_mail(mailer, 5, fb::MailKind::Receive, {"t"});
  expect_mail_reply(mailer, 5, false);  // the refused sends queued nothing
  expect_unharmed(d, good, {"NotPermitted", words});
}

// Each Mail op held back is a frame copy in the daemon: one connection may
// have 1024 waiting; the next is refused, and the held ones still run, in
// order, once the worker's frame comes.
TEST(BadInput, MailOpsHeldBackPastTheBoundAreRefused) {
  DaemonProcess d;
  GoodClient good(d.socket());
  RawClient worker(d.socket());
  std::uint64_t ws = worker.handshake(fb::Role::Worker);  // frame 1
  RawClient mailer(d.socket());
  mailer.handshake();
  constexpr std::uint64_t BOUND = 1024;
  const std::vector<std::string> t = {"t"};
  mailer.send([&](proto::Encoder& e) {
    // The first waits for the worker's frame 2; the rest wait behind it.
    e.mail(1, fb::MailKind::Drain, 0, t, false, nullptr, 0, ws, 2);
    for (std::uint64_t r = 2; r <= BOUND + 1; ++r) {
      e.mail(r, fb::MailKind::Drain, 0, t, false, nullptr);
    }
  });
  expect_mail_error(mailer, fb::ErrorCode::TooManyInFlight, BOUND + 1,
                    "too many Mail ops waiting for a worker's frames");
  worker.send([](proto::Encoder& e) { e.status_request(1); });  // frame 2
  for (std::uint64_t r = 1; r <= BOUND; ++r) {
    Reply reply = next_reply(mailer);
    const auto* m = reply.as<fb::MailReply>();
    ASSERT_NE(m, nullptr) << "expected MailReply " << r << ", got "
                          << reply.kind();
    ASSERT_EQ(m->request(), r);
  }
  ASSERT_NE(status_of(mailer, 2).as<fb::Status>(), nullptr);
  expect_unharmed(d, good,
                  {"TooManyInFlight",
                   "too many Mail ops waiting for a worker's frames"});
}

TEST(BadInput, MailSendNamingAMissingCownOrAForeignBlobIsRefused) {
  DaemonProcess d;
  GoodClient good(d.socket());
  RawClient bad(d.socket());
  std::uint64_t base = 0;
  bad.handshake(fb::Role::Client, &base);
  const std::uint64_t missing[] = {base + 9};
  proto::ValueRef dangling{"dangling", false, fb::ErrorCode::None, missing};
  send_mail(bad, 1, fb::MailKind::Send, {"t"}, 0, &dangling);
  expect_mail_error(bad, fb::ErrorCode::UnknownCown, 1,
                    "cown " + hex(missing[0]) +
                        " named in a message does not exist or is another program's");
  const std::string blobs[] = {"/etc/passwd"};
  proto::ValueRef foreign{"foreign", false, fb::ErrorCode::None, {}, blobs};
  send_mail(bad, 2, fb::MailKind::Send, {"t"}, 0, &foreign);
  expect_mail_error(bad, fb::ErrorCode::NotPermitted, 2,
                    "'/etc/passwd' is not a bocd shared-memory blob name");
  send_mail(bad, 3, fb::MailKind::Receive, {"t"});
  expect_mail_reply(bad, 3, false);  // neither was queued
  expect_unharmed(d, good,
                  {"UnknownCown", "named in a message does not exist"});
}

TEST(BadInput, CancelReleaseAndReturnNamingNoReceiveAreIgnored) {
  DaemonProcess d;
  GoodClient good(d.socket());
  RawClient bad(d.socket());
  bad.handshake();
  send_mail(bad, 50, fb::MailKind::Cancel, {});
  send_mail(bad, 51, fb::MailKind::Release, {});
  send_mail(bad, 54, fb::MailKind::Return, {});
  // None is answered: the next frame is the Status.
  ASSERT_NE(status_of(bad, 52).as<fb::Status>(), nullptr);
  send_mail(bad, 53, fb::MailKind::Receive, {"t"});
  expect_mail_reply(bad, 53, false);
  EXPECT_TRUE(d.alive());
  good.expect_served();
}

// A receive may not reuse the request number of one still parked or
// leased: it is refused, and the message it would have taken (naming a
// cown) stays queued; when the session goes, nothing keeps the cown.
TEST(BadInput, ReceiveReusingARequestNumberInUseIsRefusedAndLeaksNoCown) {
  DaemonProcess d;
  GoodClient good(d.socket());
  RawClient admin(d.socket());
  admin.handshake(fb::Role::Admin);
  std::optional<RawClient> bad(std::in_place, d.socket());
  std::uint64_t base = 0;
  std::uint64_t bad_session = bad->handshake(fb::Role::Client, &base);
  const std::uint64_t x[] = {base + 1};
  proto::ValueRef v{"names x", false, fb::ErrorCode::None, x};
  bad->send([&](proto::Encoder& e) { e.create_cown(x[0], {"x"}, false); });
  send_mail(*bad, 1, fb::MailKind::Send, {"t"}, 0, &v);
  expect_mail_reply(*bad, 1, false);
  send_mail(*bad, 2, fb::MailKind::Send, {"t"}, 0, &v);
  expect_mail_reply(*bad, 2, false);
  bad->send([&](proto::Encoder& e) { e.drop_cown(x[0]); });
  send_mail(*bad, 5, fb::MailKind::Receive, {"t"});
  expect_mail_reply(*bad, 5, true);
  send_mail(*bad, 5, fb::MailKind::Receive, {"t"});
  expect_mail_error(*bad, fb::ErrorCode::Malformed, 5,
                    "receive request 5 is already in use");
  // Parked, too.
  send_mail(*bad, 6, fb::MailKind::Receive, {"empty"}, 0, nullptr, true);
  send_mail(*bad, 6, fb::MailKind::Receive, {"t"}, 0, nullptr, true);
  expect_mail_error(*bad, fb::ErrorCode::Malformed, 6,
                    "receive request 6 is already in use");
  Reply before = status_of(admin, 1);
  ASSERT_NE(before.as<fb::Status>(), nullptr);
  EXPECT_EQ(before.as<fb::Status>()->cowns(), 1u) << "the lease keeps x";
  // The refused receives took nothing: the second message is still queued
  // for a receive under a free number.
  send_mail(*bad, 7, fb::MailKind::Receive, {"t"});
  expect_mail_reply(*bad, 7, true);
  send_mail(*bad, 8, fb::MailKind::Receive, {"t"});
  expect_mail_reply(*bad, 8, false);
  bad.reset();
  EXPECT_TRUE(session_gone(admin, bad_session));
  Reply after = status_of(admin, 2);
  ASSERT_NE(after.as<fb::Status>(), nullptr);
  EXPECT_EQ(after.as<fb::Status>()->cowns(), 0u)
      << "a lease or the parked receive leaked x";
  expect_unharmed(d, good, {"Malformed", "receive request 5 is already in use"});
}


// ---- The noticeboard (Mail Board) -------------------------------------------

// Sends Mail Board `request` proposing `cown` (0: only asks) for `program`
// (0: the sender's own), acting for `behavior`.
void send_board(RawClient& c, std::uint64_t request, std::uint64_t cown,
                std::uint64_t program = 0, std::uint64_t behavior = 0) {
  c.send([&](proto::Encoder& e) {
    e.mail(request, fb::MailKind::Board, program, {}, false, nullptr,
           behavior, 0, 0, cown);
  });
}

// Expects the MailReply to Board `request` naming `board` (0: none set,
// so got = false and no value) and, when set, carrying `committed`.
void expect_board(RawClient& c, std::uint64_t request, std::uint64_t board,
                  const std::string& committed = "") {
  SCOPED_TRACE("Board request " + std::to_string(request));
  Reply r = expect_mail_reply(c, request, board != 0);
  const auto* m = r.as<fb::MailReply>();
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->cown(), board) << "the board named is " << hex(m->cown())
                              << ", expected " << hex(board);
  if (board == 0) {
    EXPECT_EQ(m->value(), nullptr) << "no board, yet a value came";
  } else {
    EXPECT_EQ(mail_data(r), committed);
  }
}

// A proposal naming a cown that does not exist is refused and sets
// nothing: the program still has no board, and a live cown proposed next
// becomes it.
TEST(BadInput, BoardProposingAMissingCownIsRefusedAndSetsNoBoard) {
  DaemonProcess d;
  GoodClient good(d.socket());
  RawClient bad(d.socket());
  std::uint64_t base = 0;
  bad.handshake(fb::Role::Client, &base);
  const std::uint64_t missing = base + 9;
  send_board(bad, 1, missing);
  expect_mail_error(bad, fb::ErrorCode::UnknownCown, 1,
                    "cown " + hex(missing) +
                        " named in a noticeboard does not exist or is another program's");
  send_board(bad, 2, 0);
  expect_board(bad, 2, 0);
  // Created, dropped and then proposed: gone by then, refused the same.
  const std::uint64_t dropped = base + 2;
  bad.send([&](proto::Encoder& e) {
    e.create_cown(dropped, {"short-lived"}, false);
    e.drop_cown(dropped);
  });
  send_board(bad, 3, dropped);
  expect_mail_error(bad, fb::ErrorCode::UnknownCown, 3,
                    "cown " + hex(dropped) +
                        " named in a noticeboard does not exist or is another program's");
  send_board(bad, 4, 0);
  expect_board(bad, 4, 0);
  const std::uint64_t live = base + 1;
  bad.send([&](proto::Encoder& e) {
    e.create_cown(live, {"the board"}, false);
  });
  send_board(bad, 5, live);
  expect_board(bad, 5, live, "the board");
  expect_unharmed(d, good,
                  {"UnknownCown", "named in a noticeboard does not exist"});
}

// The first live cown proposed is the board for good: a later proposal is
// ignored and answered with the first, and another program's board is its
// own.
TEST(BadInput, BoardKeepsTheFirstCownProposed) {
  DaemonProcess d;
  GoodClient good(d.socket());
  RawClient p(d.socket());
  std::uint64_t base = 0;
  p.handshake(fb::Role::Client, &base);
  const std::uint64_t first = base + 1, second = base + 2;
  p.send([&](proto::Encoder& e) {
    e.create_cown(first, {"first"}, false);
    e.create_cown(second, {"second"}, false);
  });
  send_board(p, 1, first);
  expect_board(p, 1, first, "first");
  send_board(p, 2, second);
  expect_board(p, 2, first, "first");
  send_board(p, 3, 0);
  expect_board(p, 3, first, "first");
  // A missing cown proposed once a board is set changes nothing either.
  send_board(p, 4, base + 9);
  Reply r = next_reply(p);
  if (const auto* m = r.as<fb::MailReply>()) {
    EXPECT_EQ(m->cown(), first);
  } else {
    EXPECT_NE(r.as<fb::Error>(), nullptr) << "got " << r.kind();
  }
  send_board(p, 5, 0);
  expect_board(p, 5, first, "first");

  RawClient q(d.socket());
  std::uint64_t q_base = 0;
  q.handshake(fb::Role::Client, &q_base);
  send_board(q, 6, 0);
  expect_board(q, 6, 0);
  q.send([&](proto::Encoder& e) {
    e.create_cown(q_base + 1, {"q's"}, false);
  });
  send_board(q, 7, q_base + 1);
  expect_board(q, 7, q_base + 1, "q's");
  send_board(p, 8, 0);
  expect_board(p, 8, first, "first");
  EXPECT_TRUE(d.alive());
  good.expect_served();
}

TEST(BadInput, AdminMayNotAskForABoard) {
  DaemonProcess d;
  GoodClient good(d.socket());
  RawClient p(d.socket());
  std::uint64_t base = 0;
  std::uint64_t program = p.handshake(fb::Role::Client, &base);
  p.send([&](proto::Encoder& e) {
    e.create_cown(base + 1, {"proposed by the admin"}, false);
  });
  ASSERT_NE(status_of(p, 1).as<fb::Status>(), nullptr);  // it exists
  RawClient admin(d.socket());
  admin.handshake(fb::Role::Admin);
  const std::string words = "admin sessions may not send Mail";
  send_board(admin, 2, base + 1);
  expect_mail_error(admin, fb::ErrorCode::NotPermitted, 2, words);
  send_board(admin, 3, base + 1, program);
  expect_mail_error(admin, fb::ErrorCode::NotPermitted, 3, words);
  send_board(admin, 4, 0);
  expect_mail_error(admin, fb::ErrorCode::NotPermitted, 4, words);
  // The program's board was not set by either.
  send_board(p, 5, 0);
  expect_board(p, 5, 0);
  ASSERT_NE(status_of(admin, 6).as<fb::Status>(), nullptr);
  expect_unharmed(d, good, {"NotPermitted", words});
}

// A worker session reaches a program's board only naming a behavior of
// that program it is running: not none, not another program's, not one it
// has completed. A refused proposal sets no board.
TEST(BadInput, WorkerNamingNoRunningBehaviorOfTheProgramGetsNoBoard) {
  DaemonProcess d;
  GoodClient good(d.socket());
  RawClient worker(d.socket());
  std::uint64_t worker_base = 0;
  std::uint64_t worker_session =
      worker.handshake(fb::Role::Worker, &worker_base);
  RawClient p(d.socket());
  std::uint64_t p_base = 0;
  std::uint64_t p_session = p.handshake(fb::Role::Client, &p_base);
  RawClient q(d.socket());
  std::uint64_t q_session = q.handshake();
  const std::uint64_t x = p_base + 1;
  const std::uint64_t p_run = p_runs_q_waits(
      worker, p, p_session, q,
      [&](proto::Encoder& e) { e.create_cown(x, {"x"}, false); });
  const std::string& words = WORKER_NOT_RUNNING;
  send_board(worker, 10, x, p_session);  // no behavior
  expect_mail_error(worker, fb::ErrorCode::NotPermitted, 10, words);
  send_board(worker, 11, 0, p_session);
  expect_mail_error(worker, fb::ErrorCode::NotPermitted, 11, words);
  for (std::uint64_t named : {std::uint64_t{0}, worker_session, q_session}) {
    send_board(worker, 12, x, named, p_run);  // p's behavior, not p
    expect_mail_error(worker, fb::ErrorCode::NotPermitted, 12, words);
  }
  send_board(p, 13, 0);
  expect_board(p, 13, 0);
  send_board(q, 14, 0);
  expect_board(q, 14, 0);

  send_board(worker, 15, x, p_session, p_run);
  expect_board(worker, 15, x, "x");
  send_board(p, 16, 0);
  expect_board(p, 16, x, "x");

  // p's behavior completes; q's then runs on the worker.
  worker.send([&](proto::Encoder& e) { e.complete(p_run, {}); });
  const std::uint64_t q_run = next_dispatch(worker, q_session);
  send_board(worker, 17, 0, p_session, p_run);
  expect_mail_error(worker, fb::ErrorCode::NotPermitted, 17, words);
  send_board(worker, 18, 0, p_session, q_run);
  expect_mail_error(worker, fb::ErrorCode::NotPermitted, 18, words);
  send_board(worker, 19, 0, q_session, q_run);
  expect_board(worker, 19, 0);
  const std::uint64_t made = worker_base + 1;  // made by q's body
  worker.send([&](proto::Encoder& e) {
    e.create_cown(made, {"q's board"}, false);
  });
  send_board(worker, 20, made, q_session, q_run);
  expect_board(worker, 20, made, "q's board");
  send_board(q, 21, 0);
  expect_board(q, 21, made, "q's board");
  worker.send([&](proto::Encoder& e) { e.complete(q_run, {}); });
  ASSERT_NE(status_of(worker, 22).as<fb::Status>(), nullptr);
  expect_unharmed(d, good, {"NotPermitted", words});
}

}  // namespace
}  // namespace bocd::testing

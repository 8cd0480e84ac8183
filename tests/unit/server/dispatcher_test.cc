// The Dispatcher over a real Scheduler, with its peers as fake Links: no
// socket, no io_context. Frames are built with proto::Encoder and handed to
// on_frame as a link would; what the Dispatcher sends is decoded from each
// link's out() buffer with the real FrameBuffer.
#include "server/dispatcher.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bocd/proto/blob_name.h"
#include "bocd/proto/codec.h"
#include "bocd/proto/framing.h"
#include "server/link.h"

namespace bocd::server {
namespace {

namespace fb = proto::fb;

// One frame body, copied 8-aligned as verify_envelope needs.
struct Frame {
  std::vector<std::uint64_t> words;
  std::size_t size = 0;

  explicit Frame(std::span<const std::uint8_t> body)
      : words((body.size() + 7) / 8), size(body.size()) {
    std::memcpy(words.data(), body.data(), body.size());
  }
  std::span<const std::uint8_t> body() const {
    return {reinterpret_cast<const std::uint8_t*>(words.data()), size};
  }
  const fb::Envelope* envelope() const {
    std::string why;
    return proto::verify_envelope(body(), why);
  }
  fb::Message type() const {
    const fb::Envelope* e = envelope();
    return e ? e->message_type() : fb::Message::NONE;
  }
  template <class T>
  const T* as() const {
    const fb::Envelope* e = envelope();
    return e ? e->message_as<T>() : nullptr;
  }
};

// Splits framed bytes into bodies with the transport's own decoder.
std::vector<Frame> split(const std::vector<std::uint8_t>& bytes) {
  if (bytes.empty()) return {};  // nothing sent (memcpy takes no null)
  proto::FrameBuffer buf(proto::DEFAULT_MAX_FRAME_BYTES);
  auto space = buf.prepare(bytes.size());
  std::memcpy(space.data(), bytes.data(), bytes.size());
  buf.commit(bytes.size());
  std::vector<Frame> frames;
  std::span<const std::uint8_t> body;
  while (buf.next(body) == proto::FrameBuffer::Next::frame) {
    frames.emplace_back(body);
    buf.pop();
  }
  EXPECT_EQ(buf.buffered(), 0u) << "a partial frame was sent";
  return frames;
}

// A Link as the Dispatcher sees one; the test plays its transport.
class FakeLink final : public Link {
 public:
  FakeLink(FrameHandler& handler, pid_t pid)
      : handler_(handler), peer_{pid, ::getuid(), ::getgid()} {}

  std::vector<std::uint8_t>& out() override { return out_; }
  void flush_soon() override { ++flushes; }
  void close(const std::string& reason) override {
    if (closed_) return;
    closed_ = true;
    reason_ = reason;
    out_.clear();
    ++on_closed_calls;
    handler_.on_closed(*this, reason);
  }
  void close_after_flush(const std::string& reason) override {
    if (closed_ || closing_) return;
    closing_ = true;
    closing_reason_ = reason;
  }
  // All of it "fits": kept for the test to read after the close.
  void close_saying(std::span<const std::uint8_t> last,
                    const std::string& reason) override {
    if (closed_) return;
    last_word_.assign(last.begin(), last.end());
    close(reason);
  }
  std::vector<Frame> last_word() { return split(last_word_); }
  void handshake_done() override { handshaken = true; }
  void hold_open_until_exit() override {}
  bool closed() const override { return closed_; }
  const PeerCredentials& peer() const override { return peer_; }

  // Delivers the frames `fn` encodes, one on_frame each, as a transport
  // would: none after the link stops reading.
  void send(const std::function<void(proto::Encoder&)>& fn) {
    std::vector<std::uint8_t> bytes;
    proto::Encoder enc(bytes);
    fn(enc);
    send_bytes(bytes);
  }
  void send_bytes(const std::vector<std::uint8_t>& bytes) {
    for (const Frame& f : split(bytes)) {
      if (closed_ || closing_) return;
      handler_.on_frame(*this, f.body());
    }
  }
  // What was sent since the last take; then, like a transport whose
  // flush ended, completes a close_after_flush.
  std::vector<Frame> take() {
    std::vector<Frame> frames = split(out_);
    out_.clear();
    if (closing_) close(closing_reason_);
    return frames;
  }
  // The one frame sent since the last take (fails the test otherwise).
  Frame take_one() {
    std::vector<Frame> frames = take();
    EXPECT_EQ(frames.size(), 1u);
    return frames.empty() ? Frame(std::span<const std::uint8_t>{})
                          : std::move(frames.front());
  }
  const std::string& reason() const { return reason_; }

  int flushes = 0;
  int on_closed_calls = 0;
  bool handshaken = false;

 private:
  FrameHandler& handler_;
  PeerCredentials peer_;
  std::vector<std::uint8_t> out_;
  std::vector<std::uint8_t> last_word_;  // close_saying's frame
  bool closed_ = false;
  bool closing_ = false;
  std::string reason_, closing_reason_;
};

std::string instance_id() {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx",
                0xd15a7c4e00000000ull ^ static_cast<unsigned long long>(
                                             ::getpid()));
  return buf;
}

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest()
      : dispatcher_(scheduler_, info()) {}

  DaemonInfo info() {
    DaemonInfo i;
    i.version = "test";
    i.workers = 0;
    i.max_frame_bytes = 1 << 20;
    i.max_cowns_per_behavior = 16;
    i.now = [this] { return now_; };
    i.started = now_;
    i.notice_keys = 32;
    i.max_in_flight = 1000;
    i.blob_instance = instance_id();
    return i;
  }

  std::shared_ptr<FakeLink> open(pid_t pid = 4242) {
    auto l = std::make_shared<FakeLink>(dispatcher_, pid);
    dispatcher_.on_open(l);
    return l;
  }
  struct Admitted {
    std::shared_ptr<FakeLink> link;
    std::uint64_t session = 0;
    std::uint64_t id_base = 0;
  };
  // A link that has said Hello in `role` and read its Welcome.
  Admitted admit(fb::Role role = fb::Role::Client, pid_t pid = 4242) {
    Admitted a{open(pid)};
    a.link->send([&](proto::Encoder& e) { e.hello(role, pid, "prog"); });
    Frame f = a.link->take_one();
    const auto* w = f.as<fb::Welcome>();
    EXPECT_NE(w, nullptr) << fb::EnumNameMessage(f.type());
    if (w != nullptr) {
      a.session = w->session();
      a.id_base = w->id_base();
    }
    return a;
  }
  std::size_t sessions_open() { return scheduler_.sessions().size(); }

  std::chrono::steady_clock::time_point now_{std::chrono::seconds(1000)};
  core::Scheduler scheduler_;
  Dispatcher dispatcher_;
};

TEST_F(DispatcherTest, HelloIsAnsweredWithAWelcomeDescribingTheSession) {
  auto link = open(777);
  link->send([](proto::Encoder& e) { e.hello(fb::Role::Client, 1, "prog"); });
  Frame f = link->take_one();
  const auto* w = f.as<fb::Welcome>();
  ASSERT_NE(w, nullptr) << fb::EnumNameMessage(f.type());
  EXPECT_NE(w->session(), 0u);
  EXPECT_GT(w->id_count(), 1u);
  EXPECT_EQ(w->max_cowns_per_behavior(), 16u);
  EXPECT_EQ(w->max_frame_bytes(), 1u << 20);
  EXPECT_EQ(w->notice_keys(), 32u);
  EXPECT_EQ(w->max_in_flight(), 1000u);
  ASSERT_NE(w->blob_prefix(), nullptr);
  EXPECT_EQ(w->blob_prefix()->str(),
            proto::blob_prefix(instance_id(), w->session()));
  EXPECT_TRUE(link->handshaken);
  EXPECT_GT(link->flushes, 0);
  // The kernel's pid (the link's credentials), not the one Hello claims.
  ASSERT_EQ(sessions_open(), 1u);
  EXPECT_EQ(scheduler_.sessions()[0].pid, 777);
  EXPECT_EQ(scheduler_.sessions()[0].program, "prog");
}

TEST_F(DispatcherTest, MalformedFrameClosesOnlyItsOwnLinkNamingTheProblem) {
  Admitted good = admit();
  Admitted bad = admit();
  ASSERT_EQ(sessions_open(), 2u);
  std::vector<std::uint8_t> garbage(4 + 16, 0xff);
  garbage[0] = 16;  // a 16-byte body, then bytes no Verifier accepts
  garbage[1] = garbage[2] = garbage[3] = 0;
  bad.link->send_bytes(garbage);
  // Closed at once (its session ends before anything more can be sent
  // to it), its last frame saying why.
  EXPECT_TRUE(bad.link->closed());
  std::vector<Frame> words = bad.link->last_word();
  ASSERT_EQ(words.size(), 1u);
  const Frame& last = words.front();
  const auto* e = last.as<fb::Error>();
  ASSERT_NE(e, nullptr) << fb::EnumNameMessage(last.type());
  EXPECT_TRUE(e->closing());
  EXPECT_EQ(e->code(), fb::ErrorCode::Malformed);
  ASSERT_NE(e->message(), nullptr);
  EXPECT_EQ(e->message()->str().rfind("malformed frame: ", 0), 0u);
  EXPECT_TRUE(bad.link->closed());
  EXPECT_EQ(bad.link->on_closed_calls, 1);
  EXPECT_EQ(bad.link->reason().rfind("malformed frame: ", 0), 0u)
      << bad.link->reason();
  EXPECT_EQ(sessions_open(), 1u);
  EXPECT_EQ(dispatcher_.peer_count(), 1u);
  // The other session is served as before.
  EXPECT_FALSE(good.link->closed());
  good.link->send([](proto::Encoder& e) { e.status_request(9); });
  Frame f = good.link->take_one();
  const auto* s = f.as<fb::Status>();
  ASSERT_NE(s, nullptr) << fb::EnumNameMessage(f.type());
  EXPECT_EQ(s->request(), 9u);
  ASSERT_NE(s->sessions(), nullptr);
  EXPECT_EQ(s->sessions()->size(), 1u);
}

TEST_F(DispatcherTest, MessageBeforeHelloIsRefusedAndTheLinkClosedAfterIt) {
  auto link = open();
  link->send([](proto::Encoder& e) { e.status_request(7); });
  EXPECT_FALSE(link->closed());  // not before the error has been sent
  Frame f = link->take_one();
  const auto* err = f.as<fb::Error>();
  ASSERT_NE(err, nullptr) << fb::EnumNameMessage(f.type());
  EXPECT_EQ(err->code(), fb::ErrorCode::HandshakeRequired);
  EXPECT_EQ(err->request(), 7u);
  EXPECT_EQ(err->message()->str(), "expected Hello, got StatusRequest");
  EXPECT_TRUE(link->closed());
  EXPECT_EQ(link->reason(), "message before handshake");
  EXPECT_EQ(dispatcher_.peer_count(), 0u);
  EXPECT_EQ(sessions_open(), 0u);
}

// Runs `body` submitted by `program` on cown `cown` (created with
// `value`) on `worker`; returns the Dispatch the worker got.
std::optional<Frame> dispatch_one(FakeLink& program, FakeLink& worker,
                                  std::uint64_t cown, std::uint64_t result,
                                  std::string_view value) {
  const std::uint64_t ids[] = {cown};
  program.send([&](proto::Encoder& e) {
    e.create_cown(cown, {value}, false);
    e.submit(1, ids, result, fb::Executor::Workers, 0, "body");
  });
  EXPECT_TRUE(program.take().empty());  // nothing refused
  std::vector<Frame> got = worker.take();
  if (got.size() != 1 || got[0].as<fb::Dispatch>() == nullptr) {
    ADD_FAILURE() << "the worker was sent " << got.size() << " frames";
    return std::nullopt;
  }
  return std::move(got[0]);
}

// The value of cown `id`, as a behavior the program runs itself on it
// sees it (so the cown must be free for it to run).
std::string value_seen(FakeLink& program, std::uint64_t id, std::uint64_t tag,
                       fb::ErrorCode* error = nullptr) {
  const std::uint64_t ids[] = {id};
  program.send([&](proto::Encoder& e) {
    e.submit(tag, ids, 0, fb::Executor::Submitter, 0, "");
  });
  std::vector<Frame> got = program.take();
  if (got.size() != 1) {
    ADD_FAILURE() << got.size() << " frames";
    return {};
  }
  const auto* d = got[0].as<fb::Dispatch>();
  if (d == nullptr || d->cowns() == nullptr || d->cowns()->size() != 1) {
    ADD_FAILURE() << "expected a Dispatch of one cown, got "
                  << fb::EnumNameMessage(got[0].type());
    return {};
  }
  EXPECT_EQ(d->tag(), tag);
  EXPECT_TRUE(d->own());
  const fb::Value* v = d->cowns()->Get(0)->value();
  if (error != nullptr) *error = v ? v->error() : fb::ErrorCode::None;
  program.send([&](proto::Encoder& e) { e.complete(d->behavior(), {}); });
  if (v == nullptr || v->data() == nullptr) return {};
  return std::string(v->data()->begin(), v->data()->end());
}

TEST_F(DispatcherTest, SubmittedBehaviorRunsOnAWorkerAndItsResultReachesTheProgram) {
  Admitted worker = admit(fb::Role::Worker, 100);
  Admitted program = admit(fb::Role::Client, 200);
  const std::uint64_t cown = program.id_base + 1, result = program.id_base + 2;
  std::optional<Frame> f =
      dispatch_one(*program.link, *worker.link, cown, result, "in");
  ASSERT_TRUE(f);
  const auto* d = f->as<fb::Dispatch>();
  EXPECT_EQ(d->session(), program.session);
  EXPECT_EQ(d->result(), result);
  EXPECT_FALSE(d->own());
  ASSERT_EQ(d->cowns()->size(), 1u);
  EXPECT_EQ(d->cowns()->Get(0)->id(), cown);
  const fb::Value* in = d->cowns()->Get(0)->value();
  EXPECT_EQ(std::string(in->data()->begin(), in->data()->end()), "in");
  EXPECT_EQ(std::string(d->payload()->begin(), d->payload()->end()), "body");

  proto::CownValueRef updates[] = {{cown, {"out"}}, {result, {"done"}}};
  worker.link->send([&](proto::Encoder& e) {
    e.complete(d->behavior(), updates);
  });
  EXPECT_TRUE(worker.link->take().empty());
  EXPECT_EQ(value_seen(*program.link, result, 2), "done");
  EXPECT_EQ(value_seen(*program.link, cown, 3), "out");
  EXPECT_EQ(scheduler_.in_flight(), 0u);
}

TEST_F(DispatcherTest, WorkerLinkClosingMidBehaviorFailsItAndReleasesItsCowns) {
  Admitted worker = admit(fb::Role::Worker, 100);
  Admitted program = admit(fb::Role::Client, 200);
  const std::uint64_t cown = program.id_base + 1, result = program.id_base + 2;
  ASSERT_TRUE(dispatch_one(*program.link, *worker.link, cown, result, "kept"));
  worker.link->close("peer closed the connection");
  EXPECT_EQ(worker.link->on_closed_calls, 1);
  EXPECT_EQ(sessions_open(), 1u);
  fb::ErrorCode error = fb::ErrorCode::None;
  std::string why = value_seen(*program.link, result, 2, &error);
  EXPECT_EQ(error, fb::ErrorCode::ExecutorLost);
  EXPECT_NE(why.find("disconnected"), std::string::npos) << why;
  // The cown is free again, with the value it had before.
  EXPECT_EQ(value_seen(*program.link, cown, 3), "kept");
  EXPECT_EQ(scheduler_.in_flight(), 0u);
}

// A Mail Send that waits for `frames` frames of `worker`, from a client
// session of the same process.
void send_after(FakeLink& mailer, std::uint64_t request,
                std::uint64_t worker, std::uint64_t frames) {
  const std::string tags[] = {"t"};
  proto::ValueRef v{"m"};
  mailer.send([&](proto::Encoder& e) {
    e.mail(request, fb::MailKind::Send, 0, tags, false, &v, 0, worker, frames);
  });
}

bool acknowledged(FakeLink& mailer, std::uint64_t request) {
  std::vector<Frame> got = mailer.take();
  if (got.empty()) return false;
  EXPECT_EQ(got.size(), 1u);
  const auto* r = got[0].as<fb::MailReply>();
  EXPECT_NE(r, nullptr) << fb::EnumNameMessage(got[0].type());
  return r != nullptr && r->request() == request;
}

TEST_F(DispatcherTest, MailBarrierHoldsASendUntilTheWorkerSessionsFramesAreHandled) {
  Admitted worker = admit(fb::Role::Worker, 300);  // its Hello: frame 1
  Admitted mailer = admit(fb::Role::Client, 300);
  send_after(*mailer.link, 5, worker.session, 3);
  EXPECT_FALSE(acknowledged(*mailer.link, 5));
  worker.link->send([](proto::Encoder& e) { e.status_request(1); });
  EXPECT_FALSE(acknowledged(*mailer.link, 5));  // 2 of 3
  worker.link->send([](proto::Encoder& e) { e.status_request(2); });
  EXPECT_TRUE(acknowledged(*mailer.link, 5));
  // The message was queued, not merely acknowledged.
  const std::string tags[] = {"t"};
  mailer.link->send([&](proto::Encoder& e) {
    e.mail(6, fb::MailKind::Receive, 0, tags, false, nullptr);
  });
  std::vector<Frame> got = mailer.link->take();
  ASSERT_EQ(got.size(), 1u);
  const auto* r = got[0].as<fb::MailReply>();
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(r->got());
}

TEST_F(DispatcherTest, MailBarrierIsReleasedWhenTheWorkerSessionCloses) {
  Admitted worker = admit(fb::Role::Worker, 300);
  Admitted mailer = admit(fb::Role::Client, 300);
  send_after(*mailer.link, 5, worker.session, 100);
  EXPECT_FALSE(acknowledged(*mailer.link, 5));
  worker.link->close("peer closed the connection");
  EXPECT_TRUE(acknowledged(*mailer.link, 5));
}

TEST_F(DispatcherTest, MailMayWaitOnlyForAWorkerOfItsOwnProcess) {
  Admitted worker = admit(fb::Role::Worker, 300);
  Admitted mailer = admit(fb::Role::Client, 301);
  send_after(*mailer.link, 5, worker.session, 1);
  std::vector<Frame> got = mailer.link->take();
  ASSERT_EQ(got.size(), 1u);
  const auto* err = got[0].as<fb::Error>();
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(err->code(), fb::ErrorCode::NotPermitted);
  EXPECT_EQ(err->request(), 5u);
}

TEST_F(DispatcherTest, ReplacedLinkCarriesTheSameSession) {
  Admitted worker = admit(fb::Role::Worker, 300);
  Admitted mailer = admit(fb::Role::Client, 300);
  auto next = std::make_shared<FakeLink>(dispatcher_, 300);
  EXPECT_FALSE(dispatcher_.replace_link(12345, next));
  ASSERT_TRUE(dispatcher_.replace_link(worker.link->key, next));
  EXPECT_EQ(next->key, worker.link->key);
  EXPECT_TRUE(next->handshaken);
  EXPECT_EQ(dispatcher_.peer_count(), 2u);

  // Frames on either link count for the session's barrier (Hello: 1).
  send_after(*mailer.link, 5, worker.session, 3);
  next->send([](proto::Encoder& e) { e.status_request(1); });
  EXPECT_FALSE(acknowledged(*mailer.link, 5));
  worker.link->send([](proto::Encoder& e) { e.status_request(2); });
  EXPECT_TRUE(acknowledged(*mailer.link, 5));
  // Replies to both went to the current link.
  EXPECT_TRUE(worker.link->take().empty());
  std::vector<Frame> replies = next->take();
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].as<fb::Status>()->request(), 1u);
  EXPECT_EQ(replies[1].as<fb::Status>()->request(), 2u);

  // A behavior is dispatched to the new link, and completed through it.
  Admitted program = admit(fb::Role::Client, 400);
  const std::uint64_t cown = program.id_base + 1, result = program.id_base + 2;
  std::optional<Frame> f =
      dispatch_one(*program.link, *next, cown, result, "in");
  ASSERT_TRUE(f);
  proto::CownValueRef done[] = {{result, {"via the new link"}}};
  next->send([&](proto::Encoder& e) {
    e.complete(f->as<fb::Dispatch>()->behavior(), done);
  });
  EXPECT_EQ(value_seen(*program.link, result, 2), "via the new link");

  // The new link's close ends the session, once, and closes the old link.
  ASSERT_EQ(sessions_open(), 3u);
  next->close("ring peer gone");
  EXPECT_EQ(sessions_open(), 2u);
  EXPECT_TRUE(worker.link->closed());
  EXPECT_EQ(worker.link->reason(), "ring peer gone");
  EXPECT_EQ(next->on_closed_calls, 1);
  EXPECT_EQ(worker.link->on_closed_calls, 1);
  EXPECT_EQ(dispatcher_.peer_count(), 2u);
}

TEST_F(DispatcherTest, ReplacedLinksOldLinkClosingEndsTheSessionToo) {
  Admitted worker = admit(fb::Role::Worker, 300);
  auto next = std::make_shared<FakeLink>(dispatcher_, 300);
  ASSERT_TRUE(dispatcher_.replace_link(worker.link->key, next));
  worker.link->close("peer closed the connection");
  EXPECT_EQ(sessions_open(), 0u);
  EXPECT_TRUE(next->closed());
  EXPECT_EQ(next->reason(), "peer closed the connection");
  EXPECT_EQ(dispatcher_.peer_count(), 0u);
}

TEST_F(DispatcherTest, LinkCannotBeReplacedBeforeTheHandshake) {
  auto link = open();
  auto next = std::make_shared<FakeLink>(dispatcher_, 4242);
  EXPECT_FALSE(dispatcher_.replace_link(link->key, next));
  EXPECT_EQ(next->key, 0u);
}

}  // namespace
}  // namespace bocd::server

namespace bocd::server {
namespace {

// Plays the ring transport: makes the Welcome with its terms and hands
// back a fresh FakeLink, or refuses as a transport out of memory would.
class FakeUpgrader final : public Upgrader {
 public:
  explicit FakeUpgrader(FrameHandler& handler) : handler_(handler) {}
  Result upgrade(const std::shared_ptr<Link>& current,
                 const EncodeWelcome& welcome) override {
    ++calls;
    Result r;
    if (!why_not.empty()) {
      r.why = why_not;
      return r;
    }
    proto::Encoder enc(welcome_sent);
    welcome(enc, Terms{1 << 16, 0});
    next = std::make_shared<FakeLink>(handler_, current->peer().pid);
    r.link = next;
    return r;
  }
  int calls = 0;
  std::string why_not;
  std::vector<std::uint8_t> welcome_sent;
  std::shared_ptr<FakeLink> next;

 private:
  FrameHandler& handler_;
};

TEST_F(DispatcherTest, HelloAskingForRingsMovesTheSessionToTheUpgradedLink) {
  FakeUpgrader up(dispatcher_);
  dispatcher_.set_upgrader(&up);
  auto link = open();
  proto::Encoder::HelloExtras extras;
  extras.ring = true;
  link->send([&](proto::Encoder& e) {
    e.hello(fb::Role::Client, 1, "prog", extras);
  });
  EXPECT_EQ(up.calls, 1);
  // The Welcome went with the upgrade, carrying its terms, not on the
  // socket link.
  EXPECT_TRUE(link->take().empty());
  std::vector<Frame> w = split(up.welcome_sent);
  ASSERT_EQ(w.size(), 1u);
  ASSERT_NE(w[0].as<fb::Welcome>(), nullptr);
  EXPECT_EQ(w[0].as<fb::Welcome>()->ring_bytes(), 1u << 16);
  ASSERT_NE(up.next, nullptr);
  EXPECT_TRUE(up.next->handshaken);
  // Later replies go to the new link.
  up.next->send([](proto::Encoder& e) { e.status_request(9); });
  EXPECT_EQ(up.next->take_one().type(), fb::Message::Status);
  EXPECT_TRUE(link->take().empty());
}

TEST_F(DispatcherTest, HelloWithoutRingsOrWithNoneToGiveStaysOnItsLink) {
  FakeUpgrader up(dispatcher_);
  dispatcher_.set_upgrader(&up);
  Admitted plain = admit();  // Hello.ring not set: the upgrader is not asked
  EXPECT_EQ(up.calls, 0);
  up.why_not = "out of memory";
  auto link = open();
  proto::Encoder::HelloExtras extras;
  extras.ring = true;
  link->send([&](proto::Encoder& e) {
    e.hello(fb::Role::Client, 1, "prog", extras);
  });
  EXPECT_EQ(up.calls, 1);
  Frame f = link->take_one();
  ASSERT_NE(f.as<fb::Welcome>(), nullptr);
  EXPECT_EQ(f.as<fb::Welcome>()->ring_bytes(), 0u);
  EXPECT_FALSE(link->closed());
}

}  // namespace
}  // namespace bocd::server

// Runs the frame fuzz target as an ordinary test where libFuzzer is not
// linked (the gcc build): every file of the corpus directory given as
// argv[1], then a fixed-seed stream of mutations of valid frames of every
// message kind. A failing input aborts inside the target, so reaching the
// summary means every input passed.
//
//   frame_fuzz_replay CORPUS_DIR          replay, then mutate
//   frame_fuzz_replay --write-corpus DIR  write the seed corpus (this is
//                                         how tests/fuzz/corpus/frame was
//                                         made)
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "bocd/proto/codec.h"
#include "mutate.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size);

namespace {

namespace fb = bocd::proto::fb;
namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

constexpr std::uint64_t SEED = 20240601;
constexpr int MUTATIONS = 20000;

struct Counts {
  int passed = 0;
  int failed = 0;
  void run(const Bytes& input) {
    if (LLVMFuzzerTestOneInput(input.data(), input.size()) == 0) {
      ++passed;
    } else {
      ++failed;
    }
  }
};

void encode_status(bocd::proto::Encoder& e) {
  auto& fbb = e.builder();
  std::vector<flatbuffers::Offset<fb::SessionInfo>> sessions = {
      fb::CreateSessionInfo(fbb, 1, fb::Role::Admin, 10,
                            fbb.CreateString("bocd"), 0),
      fb::CreateSessionInfo(fbb, 2, fb::Role::Client, 11,
                            fbb.CreateString("app.py"), 3)};
  auto status = fb::CreateStatus(fbb, 7, fbb.CreateString("0.1.0"), 99, 1234,
                                 4, 5, 3, 42, fbb.CreateVector(sessions));
  e.finish(fb::Message::Status, status.Union());
}

// One valid frame of every message kind, named after it.
std::vector<std::pair<std::string, Bytes>> sample_frames() {
  using bocd::proto::CownValueRef;
  std::vector<std::pair<std::string, Bytes>> out;
  auto add = [&](const char* name, auto&& fn) {
    Bytes b;
    bocd::proto::Encoder e(b);
    fn(e);
    out.emplace_back(name, std::move(b));
  };
  const std::uint64_t ids[] = {0x1234'0000'0001, 0x1234'0000'0002};
  const CownValueRef values[] = {
      {ids[0], {"one"}},
      {ids[1], {"lost", true, fb::ErrorCode::ExecutorLost}}};
  add("hello", [](auto& e) { e.hello(fb::Role::Client, 42, "app.py"); });
  add("welcome", [](auto& e) {
    e.welcome(3, 0x1234ull << 32, 1ull << 32, 1024, 4096);
  });
  add("create_cown", [&](auto& e) { e.create_cown(ids[0], {"v"}, true); });
  add("drop_cown", [&](auto& e) { e.drop_cown(ids[0]); });
  add("submit", [&](auto& e) {
    e.submit(9, ids, ids[1] + 1, fb::Executor::Submitter, 0, "payload");
  });
  add("complete", [&](auto& e) { e.complete(0x1'0000'0003, values); });
  add("quiesce", [](auto& e) { e.quiesce(5); });
  add("status_request", [](auto& e) { e.status_request(6); });
  add("stop", [](auto& e) { e.stop(7); });
  add("dispatch", [&](auto& e) {
    e.dispatch(0x1'0000'0003, 9, 3, values, ids[1] + 1, "payload", true);
  });
  add("quiesced", [](auto& e) { e.quiesced(5); });
  add("status", [](auto& e) { encode_status(e); });
  add("stopping", [](auto& e) { e.stopping(7); });
  add("error", [](auto& e) {
    e.error(fb::ErrorCode::UnknownCown, "cown 0x1 does not exist", 9, 0);
  });
  // Cown lifetime: cown ids embedded in values and payloads, and held
  // handles.
  const CownValueRef with_refs[] = {{ids[0], {"holds 2", false, {}, ids}}};
  add("hold_cown", [&](auto& e) { e.hold_cown(ids); });
  add("submit_refs", [&](auto& e) {
    e.submit(9, ids, 0, fb::Executor::Workers, 0, "payload", ids);
  });
  add("complete_refs", [&](auto& e) { e.complete(0x1'0000'0003, with_refs); });
  // Shared-memory blobs named by a payload and by a value.
  const std::string blobs[] = {"bocd-1234-1", "bocd-1234-2"};
  const CownValueRef with_blobs[] = {{ids[0], {"big", false, {}, {}, blobs}}};
  add("submit_blobs", [&](auto& e) {
    e.submit(9, ids, 0, fb::Executor::Workers, 0, "payload", {}, blobs);
  });
  add("complete_blobs",
      [&](auto& e) { e.complete(0x1'0000'0003, with_blobs, 1500); });
  add("output", [](auto& e) { e.output(3, 1, "hello\n"); });
  add("pinned_freed", [&](auto& e) { e.pinned_freed(ids); });
  // Messaging: a send with a value, a waiting receive from a worker acting
  // for a behavior, a board proposal, and the replies.
  const std::string tags[] = {"jobs", "done"};
  const bocd::proto::ValueRef mail_value{"msg", false, {}, ids, blobs};
  add("mail_send", [&](auto& e) {
    e.mail(1, fb::MailKind::Send, 0, std::span(tags, 1), false, &mail_value,
           0, 3, 17);
  });
  add("mail_receive", [&](auto& e) {
    e.mail(2, fb::MailKind::Receive, 3, tags, true, nullptr, 0x1'0000'0003);
  });
  add("mail_board", [&](auto& e) {
    e.mail(3, fb::MailKind::Board, 0, {}, false, nullptr, 0, 0, 0, ids[0]);
  });
  add("mail_reply", [&](auto& e) {
    e.mail_reply(2, true, "jobs", &mail_value);
  });
  add("mail_reply_board",
      [&](auto& e) { e.mail_reply(3, false, "", nullptr, ids[0]); });
  // The stream rules: a credited send, a give-back, a reply granting
  // credit, one lending two plain values, a recall.
  const bocd::proto::ValueRef plain{"p"};
  add("mail_send_credited", [&](auto& e) {
    e.mail(4, fb::MailKind::Send, 0, std::span(tags, 1), false, &plain, 0, 0,
           0, 0, true);
  });
  add("mail_unlend", [&](auto& e) {
    e.mail(5, fb::MailKind::Unlend, 3, std::span(tags, 1), true, nullptr, 0,
           0, 0, 0, false, 7, 2);
  });
  add("mail_reply_credit", [&](auto& e) {
    e.mail_reply(1, false, "", nullptr, 0, bocd::proto::MailExtra{256});
  });
  const bocd::proto::ValueRef two[] = {plain, plain};
  add("mail_reply_lent", [&](auto& e) {
    e.mail_reply(2, true, "jobs", &plain, 0,
                 bocd::proto::MailExtra{0, two, false});
  });
  add("mail_recall", [&](auto& e) {
    e.mail_reply(2, false, "jobs", nullptr, 0,
                 bocd::proto::MailExtra{0, {}, true});
  });
  add("sync", [](auto& e) { e.sync(8); });
  add("synced", [](auto& e) { e.synced(8, 2); });
  add("blocked", [](auto& e) { e.blocked(0x1'0000'0003); });
  const std::uint64_t behaviors[] = {0x1'0000'0004, 0x1'0000'0005};
  add("recalled",
      [&](auto& e) { e.recalled(0x1'0000'0003, behaviors); });
  add("unhandled", [&](auto& e) {
    e.unhandled(ids[1] + 1, {"ValueError", true});
  });
  add("quiesced_count", [](auto& e) { e.quiesced(5, 12); });
  return out;
}

// Fails unless `frames` holds a frame of every member of the Message union,
// so a message type added to the schema gets a seed (and this test fails
// until it does).
void check_every_type(const std::vector<std::pair<std::string, Bytes>>& frames) {
  std::vector<fb::Message> seen;
  for (const auto& [name, bytes] : frames) {
    // The body copied to 8-byte alignment, as FrameBuffer keeps it.
    std::size_t n = bytes.size() - bocd::proto::FRAME_HEADER_BYTES;
    std::vector<std::uint64_t> aligned((n + 7) / 8);
    std::memcpy(aligned.data(),
                bytes.data() + bocd::proto::FRAME_HEADER_BYTES, n);
    std::span<const std::uint8_t> body(
        reinterpret_cast<const std::uint8_t*>(aligned.data()), n);
    std::string why;
    const fb::Envelope* env = bocd::proto::verify_envelope(body, why);
    if (env == nullptr) {
      std::fprintf(stderr, "sample %s does not verify: %s\n", name.c_str(),
                   why.c_str());
      std::exit(1);
    }
    seen.push_back(env->message_type());
  }
  for (fb::Message type : fb::EnumValuesMessage()) {
    if (type == fb::Message::NONE) continue;
    if (std::find(seen.begin(), seen.end(), type) == seen.end()) {
      std::fprintf(stderr, "no sample frame of message %s\n",
                   fb::EnumNameMessage(type));
      std::exit(1);
    }
  }
}

Bytes named(const std::vector<std::pair<std::string, Bytes>>& frames,
            const std::string& name) {
  for (const auto& [n, bytes] : frames) {
    if (n == name) return bytes;
  }
  std::abort();
}

// The seed corpus: every kind, plus broken frames the daemon must survive.
std::vector<std::pair<std::string, Bytes>> seed_corpus() {
  auto out = sample_frames();
  const Bytes submit = named(out, "submit");
  Bytes both = named(out, "hello");
  both.insert(both.end(), submit.begin(), submit.end());
  out.emplace_back("hello_then_submit", both);
  out.emplace_back("truncated_submit",
                   Bytes(submit.begin(), submit.begin() + submit.size() / 2));
  out.emplace_back("header_only", Bytes(submit.begin(), submit.begin() + 4));
  out.emplace_back("empty_frame", Bytes{0, 0, 0, 0});
  out.emplace_back("oversized_length", Bytes{0, 0, 0, 0x40, 1, 2, 3});
  Bytes garbage = {24, 0, 0, 0};
  for (int i = 0; i < 24; ++i) {
    garbage.push_back(static_cast<std::uint8_t>(i * 37 + 11));
  }
  out.emplace_back("garbage", garbage);
  return out;
}

int write_corpus(const fs::path& dir) {
  fs::create_directories(dir);
  for (const auto& [name, bytes] : seed_corpus()) {
    std::ofstream f(dir / name, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  }
  std::printf("wrote %zu files to %s\n", seed_corpus().size(), dir.c_str());
  return 0;
}

// Replays every regular file of `dir`; returns how many there were.
int replay_corpus(const fs::path& dir, Counts& counts) {
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream f(entry.path(), std::ios::binary);
    Bytes bytes((std::istreambuf_iterator<char>(f)),
                std::istreambuf_iterator<char>());
    counts.run(bytes);
    ++files;
  }
  return files;
}

// One to three valid frames back to back, then one to four mutations; half
// the time the first header is made to match the body again, so the
// mutation reaches the verifier instead of stopping at the framing.
Bytes mutant(const std::vector<std::pair<std::string, Bytes>>& samples,
             std::mt19937_64& rng) {
  Bytes b;
  for (int k = 0, n = 1 + static_cast<int>(rng() % 3); k < n; ++k) {
    const Bytes& s = samples[rng() % samples.size()].second;
    b.insert(b.end(), s.begin(), s.end());
  }
  for (int k = 0, n = 1 + static_cast<int>(rng() % 4); k < n; ++k) {
    bocd::fuzz::mutate_once(b, rng);
  }
  if (rng() % 2 == 0 && b.size() >= bocd::proto::FRAME_HEADER_BYTES) {
    Bytes fixed;
    bocd::proto::append_header(fixed, static_cast<std::uint32_t>(b.size() - 4));
    std::copy(fixed.begin(), fixed.end(), b.begin());
  }
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--write-corpus") {
    return write_corpus(argv[2]);
  }
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR | --write-corpus DIR\n",
                 argv[0]);
    return 2;
  }
  Counts counts;
  if (replay_corpus(argv[1], counts) == 0) {
    std::fprintf(stderr, "no corpus files in %s\n", argv[1]);
    return 1;
  }
  auto samples = sample_frames();
  check_every_type(samples);
  std::mt19937_64 rng(SEED);
  for (int i = 0; i < MUTATIONS; ++i) counts.run(mutant(samples, rng));
  std::printf("%d passed, %d failed (corpus %s, %d mutations, seed %llu)\n",
              counts.passed, counts.failed, argv[1], MUTATIONS,
              static_cast<unsigned long long>(SEED));
  return counts.failed == 0 ? 0 : 1;
}

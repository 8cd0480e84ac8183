#include "function_ref.h"

#include <gtest/gtest.h>

#include <string>

namespace bocd::client {
namespace {

TEST(FunctionRef, CallsTheLambdaItRefersToWithItsArguments) {
  std::string seen;
  auto append = [&seen](const std::string& s, int n) {
    seen += s + std::to_string(n);
    return static_cast<int>(seen.size());
  };
  FunctionRef<int(const std::string&, int)> ref(append);
  EXPECT_EQ(ref("a", 1), 2);
  EXPECT_EQ(ref("b", 22), 5);
  EXPECT_EQ(seen, "a1b22");
}

// A callable that counts its copies and moves: a reference takes neither.
struct Counted {
  int* copies;
  int calls = 0;
  Counted(int* c) : copies(c) {}
  Counted(const Counted& o) : copies(o.copies), calls(o.calls) { ++*copies; }
  Counted(Counted&& o) noexcept : copies(o.copies), calls(o.calls) {
    ++*copies;
  }
  void operator()() { ++calls; }
};

TEST(FunctionRef, NeitherCopiesNorMovesTheCallable) {
  int copies = 0;
  Counted f(&copies);
  FunctionRef<void()> ref(f);
  ref();
  ref();
  FunctionRef<void()> again = ref;  // copies the reference only
  again();
  EXPECT_EQ(copies, 0);
  EXPECT_EQ(f.calls, 3);
}

TEST(FunctionRef, PassesReferenceArgumentsThrough) {
  auto set = [](int& out) { out = 7; };
  FunctionRef<void(int&)> ref(set);
  int x = 0;
  ref(x);
  EXPECT_EQ(x, 7);
}

// The use it exists for: a temporary lambda argument of a virtual call.
struct Sink {
  virtual ~Sink() = default;
  virtual void take(FunctionRef<void(std::string&)> fill) = 0;
};
struct StringSink : Sink {
  std::string text;
  void take(FunctionRef<void(std::string&)> fill) override { fill(text); }
};

TEST(FunctionRef, ATemporaryLambdaLivesThroughTheCall) {
  StringSink sink;
  Sink& s = sink;
  std::string big(100, 'x');  // a capture too large for a small buffer
  s.take([big, n = 3](std::string& out) { out = big.substr(0, n); });
  EXPECT_EQ(sink.text, "xxx");
}

}  // namespace
}  // namespace bocd::client

// Runs a fuzz target whose input is any byte string (scheduler_fuzz) as an
// ordinary test where libFuzzer is not linked (the gcc builds): every file
// of the corpus directory, then INPUTS more, deterministically from a fixed
// seed: half are corpus files with one to eight mutations (mutate.h), half
// random bytes of random length. A failing input aborts inside the target,
// so reaching the summary means every input passed. Hand-written because
// libFuzzer needs clang; with clang, tools/fuzz.sh runs the libFuzzer
// build of the same target instead.
//
//   <target>_replay CORPUS_DIR [INPUTS]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "mutate.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size);

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

constexpr std::uint64_t SEED = 20261207;
constexpr long DEFAULT_INPUTS = 2000;
constexpr std::size_t MAX_RANDOM = 2048;

std::vector<Bytes> read_corpus(const fs::path& dir) {
  std::vector<Bytes> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream f(entry.path(), std::ios::binary);
    out.emplace_back(std::istreambuf_iterator<char>(f),
                     std::istreambuf_iterator<char>());
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR [INPUTS]\n", argv[0]);
    return 2;
  }
  long inputs = argc == 3 ? std::strtol(argv[2], nullptr, 10) : DEFAULT_INPUTS;
  std::vector<Bytes> corpus = read_corpus(argv[1]);
  if (corpus.empty()) {
    std::fprintf(stderr, "no corpus files in %s\n", argv[1]);
    return 1;
  }
  for (const Bytes& b : corpus) LLVMFuzzerTestOneInput(b.data(), b.size());
  std::mt19937_64 rng(SEED);
  for (long i = 0; i < inputs; ++i) {
    Bytes b;
    if (i % 2 == 0) {
      b = corpus[rng() % corpus.size()];
      for (int k = 0, n = 1 + static_cast<int>(rng() % 8); k < n; ++k) {
        bocd::fuzz::mutate_once(b, rng);
      }
    } else {
      b.resize(rng() % MAX_RANDOM);
      for (std::uint8_t& x : b) x = static_cast<std::uint8_t>(rng());
    }
    LLVMFuzzerTestOneInput(b.data(), b.size());
  }
  std::printf("%zu corpus files and %ld generated inputs passed (seed %llu)\n",
              corpus.size(), inputs, static_cast<unsigned long long>(SEED));
  return 0;
}

// The regression replay of one fuzz target, without libFuzzer or sanitizers (fuzz/README.md):
//
//   fuzz_replay_<name> DIR...
//
// runs LLVMFuzzerTestOneInput over every file of the DIRs (fuzz/corpus/<name>/ and
// fuzz/regressions/<name>/; a missing DIR is skipped, but at least one input must be found), then
// over pseudo-random mutations of them (bit flips, byte changes, insertions, deletions,
// truncations, duplicated blocks, splices of two inputs) from a fixed seed, so every run tries the
// same inputs. A crash or a failed INGESTOR_FUZZ_CHECK aborts the process (ctest reports the
// failure); the input is first written to ./fuzz-replay-crash-<name> and named on stderr.
//
// Environment: FUZZ_REPLAY_MUTATIONS (default 3000) mutations in all; FUZZ_REPLAY_SEED (default 1).
// Mutated inputs are at most kMaxLen (8192) bytes.

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

constexpr size_t kMaxLen = 8192;

// What is running, for the crash handler (which may only use async-signal-safe calls).
std::string g_current;      // the input bytes
std::string g_description;  // "fuzz/corpus/x/seed1" or "mutation 17 of fuzz/corpus/x/seed1"
std::string g_crash_path;   // where the handler writes the input

void write_str(int fd, const char* s) {
  ssize_t ignored = ::write(fd, s, std::strlen(s));
  (void)ignored;
}

void on_fatal_signal(int sig) {
  write_str(2, "\nfuzz_replay: crashed on ");
  write_str(2, g_description.c_str());
  const int fd = ::open(g_crash_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0) {
    ssize_t ignored = ::write(fd, g_current.data(), g_current.size());
    (void)ignored;
    ::close(fd);
    write_str(2, "; input saved as ");
    write_str(2, g_crash_path.c_str());
  }
  write_str(2, "\n");
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void run(const std::string& input, std::string description) {
  g_current = input;
  g_description = std::move(description);
  // A copy in a buffer of its own size, so a read past the end is a read past an allocation.
  std::unique_ptr<uint8_t[]> buf(new uint8_t[input.size()]);
  std::memcpy(buf.get(), input.data(), input.size());
  LLVMFuzzerTestOneInput(buf.get(), input.size());
}

// splitmix64: small, fast and the same everywhere.
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  size_t below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(next() % n); }
};

// Bytes that matter to the parsers fuzzed here: delimiters of text formats and boundary values.
constexpr unsigned char kInteresting[] = {0,   1,    0x7f, 0x80, 0xff, '\n', '\r', ' ', '\t',
                                          '"', '\\', '<',  '>',  '&',  '%',  '=',  ':', ';',
                                          ',', '{',  '}',  '[',  ']',  '/',  '$',  '0', 'f'};
constexpr uint32_t kInterestingU32[] = {0,          1,          0x7f,       0xff,
                                        0x7fffffff, 0x80000000, 0xffffffff, 1u << 30};

void mutate_once(std::string& s, const std::vector<std::string>& pool, Rng& rng) {
  switch (rng.below(9)) {
    case 0:  // flip one bit
      if (!s.empty()) s[rng.below(s.size())] ^= static_cast<char>(1u << rng.below(8));
      break;
    case 1:  // set a byte to an interesting value
      if (!s.empty()) {
        s[rng.below(s.size())] = static_cast<char>(kInteresting[rng.below(sizeof kInteresting)]);
      }
      break;
    case 2:  // insert 1..4 random or interesting bytes
      for (size_t n = 1 + rng.below(4); n > 0; --n) {
        const char c = rng.below(2)
                           ? static_cast<char>(rng.next())
                           : static_cast<char>(kInteresting[rng.below(sizeof kInteresting)]);
        s.insert(s.begin() + static_cast<std::ptrdiff_t>(rng.below(s.size() + 1)), c);
      }
      break;
    case 3:  // delete a run of bytes
      if (!s.empty()) {
        const size_t at = rng.below(s.size());
        s.erase(at, 1 + rng.below(std::min<size_t>(16, s.size() - at)));
      }
      break;
    case 4:  // truncate
      s.resize(rng.below(s.size() + 1));
      break;
    case 5: {  // duplicate a block somewhere else
      if (s.empty()) break;
      const size_t at = rng.below(s.size());
      const std::string block = s.substr(at, 1 + rng.below(std::min<size_t>(64, s.size() - at)));
      s.insert(rng.below(s.size() + 1), block);
      break;
    }
    case 6: {  // overwrite 4 bytes with an interesting little-endian u32
      if (s.size() < 4) break;
      const uint32_t v = kInterestingU32[rng.below(std::size(kInterestingU32))];
      const size_t at = rng.below(s.size() - 3);
      for (int i = 0; i < 4; ++i) s[at + static_cast<size_t>(i)] = static_cast<char>(v >> (8 * i));
      break;
    }
    case 7: {  // splice: a prefix of this input and a suffix of another
      const std::string& other = pool[rng.below(pool.size())];
      s = s.substr(0, rng.below(s.size() + 1)) + other.substr(rng.below(other.size() + 1));
      break;
    }
    default:  // change a byte to a random value
      if (!s.empty()) s[rng.below(s.size())] = static_cast<char>(rng.next());
      break;
  }
}

size_t env_number(const char* name, size_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return static_cast<size_t>(std::strtoull(v, nullptr, 10));
}

}  // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  const std::string self = fs::path(argv[0]).filename().string();
  std::string name = self;
  if (name.starts_with("fuzz_replay_")) name.erase(0, std::strlen("fuzz_replay_"));
  g_crash_path = "fuzz-replay-crash-" + name;
  for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) ::signal(sig, on_fatal_signal);

  struct Input {
    std::string path;
    std::string bytes;
  };
  std::vector<Input> inputs;
  for (int i = 1; i < argc; ++i) {
    std::error_code ec;
    if (!fs::is_directory(argv[i], ec)) continue;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(argv[i])) {
      if (e.is_regular_file() && e.path().filename().string()[0] != '.') files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      inputs.push_back({f.string(), std::string(std::istreambuf_iterator<char>(in), {})});
    }
  }
  if (inputs.empty()) {
    std::fprintf(stderr, "%s: no inputs found in the given directories\n", self.c_str());
    return 2;
  }

  const auto start = std::chrono::steady_clock::now();
  for (const auto& in : inputs) run(in.bytes, in.path);

  std::vector<std::string> pool;
  for (const auto& in : inputs) pool.push_back(in.bytes);
  const size_t mutations = env_number("FUZZ_REPLAY_MUTATIONS", 3000);
  Rng rng{env_number("FUZZ_REPLAY_SEED", 1)};
  for (size_t m = 0; m < mutations; ++m) {
    const size_t from = m % inputs.size();
    std::string s = inputs[from].bytes;
    for (size_t n = 1 + rng.below(4); n > 0; --n) mutate_once(s, pool, rng);
    if (s.size() > kMaxLen) s.resize(kMaxLen);
    run(s, "mutation " + std::to_string(m) + " of " + inputs[from].path);
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  std::printf("%s: %zu inputs and %zu mutations passed in %lld ms\n", self.c_str(), inputs.size(),
              mutations, static_cast<long long>(ms));
  return 0;
}

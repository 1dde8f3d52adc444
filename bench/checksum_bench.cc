// What each body checksum costs on one core, per byte of a 1 MiB buffer: the consumer checks a
// download against the object's CRC32C / CRC32 / CRC64NVME, else hashes it with MD5 (OpenSSL
// here; the lanes worker is measured by the store and consumer benchmarks).
//   build/bench/ingestor_micro_bench --benchmark_filter=Checksum --benchmark_repetitions=5
#include <benchmark/benchmark.h>

#include <string>

#include "base/hash.h"

namespace {

const std::string& buffer() {
  static const std::string b = [] {
    std::string d(1 << 20, '\0');
    for (size_t i = 0; i < d.size(); ++i) d[i] = static_cast<char>((i * 131) ^ (i >> 9));
    return d;
  }();
  return b;
}

template <class F>
void run(benchmark::State& state, F f) {
  const std::string& d = buffer();
  for (auto _ : state) benchmark::DoNotOptimize(f(d));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(d.size()));
}

void ChecksumCrc32c(benchmark::State& s) {
  run(s, [](const std::string& d) { return ingestor::crc32c(d); });
}
void ChecksumCrc32(benchmark::State& s) {
  run(s, [](const std::string& d) { return ingestor::crc32(d); });
}
void ChecksumCrc64Nvme(benchmark::State& s) {
  run(s, [](const std::string& d) { return ingestor::crc64nvme(d); });
}
void ChecksumMd5(benchmark::State& s) {
  run(s, [](const std::string& d) { return ingestor::md5(d); });
}

}  // namespace

BENCHMARK(ChecksumCrc32c);
BENCHMARK(ChecksumCrc32);
BENCHMARK(ChecksumCrc64Nvme);
BENCHMARK(ChecksumMd5);

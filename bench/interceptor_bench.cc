// What the routing benchmark's four interceptors cost per event on one thread, with nothing else
// running: the floor under `run_bench.py --only routing` (docs/PERFORMANCE.md, "Routing").
// A batch of 1000 events sliced from one buffer of 'x' lines, as the netcat source makes them
// and as loadgen sends them, goes through uuid, search_replace (^x{4} -> yyyy), regex_filter
// (DEBUG, excluded) and regex_extractor (^(\w{2}) -> route), then is freed.
//   build/bench/ingestor_micro_bench --benchmark_filter=Interceptors --benchmark_repetitions=5
#define PCRE2_CODE_UNIT_WIDTH 8
#include <benchmark/benchmark.h>
#include <pcre2.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "agent/interceptors/regex_extractor_interceptor.h"
#include "agent/interceptors/regex_filter_interceptor.h"
#include "agent/interceptors/search_replace_interceptor.h"
#include "agent/interceptors/uuid_interceptor.h"
#include "core/config/diagnostics.h"
#include "core/config/spec.h"
#include "core/event.h"

namespace {

using namespace ingestor;

Settings settings(const ComponentSpec& spec, Context ctx) {
  Diagnostics d;
  Settings s = Settings::validate(spec, ctx, "source", "r1", "a1.sources.r1.interceptors.i.", d);
  if (d.has_errors()) std::abort();
  return s;
}

std::vector<std::unique_ptr<Interceptor>> routing_chain(int which) {
  std::vector<std::unique_ptr<Interceptor>> v;
  if (which < 0 || which == 0)
    v.push_back(std::make_unique<UuidInterceptor>(settings(uuid_interceptor_spec(), {})));
  if (which < 0 || which == 1)
    v.push_back(std::move(*SearchReplaceInterceptor::create(settings(
        search_replace_interceptor_spec(), {{"searchPattern", "^x{4}"}, {"replaceString", "yyyy"}}))));
  if (which < 0 || which == 2)
    v.push_back(std::move(*RegexFilterInterceptor::create(settings(
        regex_filter_interceptor_spec(), {{"regex", "DEBUG"}, {"excludeEvents", "true"}}))));
  if (which < 0 || which == 3)
    v.push_back(std::move(*RegexExtractorInterceptor::create(
        settings(regex_extractor_interceptor_spec(), {{"regex", "^(\\w{2})"},
                                                      {"serializers", "s1"},
                                                      {"serializers.s1.name", "route"}}))));
  return v;
}

// range(0): line size; range(1): -1 for the chain, else one interceptor (0 uuid, 1
// search_replace, 2 regex_filter, 3 regex_extractor).
void Interceptors(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0)), n = 1000;
  auto chain = routing_chain(static_cast<int>(state.range(1)));
  for (auto _ : state) {
    state.PauseTiming();
    Chunk* c = Chunk::make(size * n);
    std::memset(c->data(), 'x', size * n);
    c->ref(static_cast<uint32_t>(n - 1));
    Batch batch;
    batch.reserve(n);
    for (size_t i = 0; i < n; ++i)
      batch.emplace_back(Slice(ChunkRef::adopt(c), c->data() + i * size, size - 1));
    state.ResumeTiming();
    for (auto& i : chain) i->intercept(batch);
    batch.clear();  // frees on this thread: no allocator contention in this figure
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n));
}
BENCHMARK(Interceptors)
    ->ArgsProduct({{100, 1000}, {-1, 0, 1, 2, 3}})
    ->Unit(benchmark::kMicrosecond);

// The floor under the regex interceptors: PCRE2's JIT alone matching the three patterns once
// per event (search, filter, extract; UTF mode, no UTF check, no replacement, no headers), on
// the same 'x' lines.
void Pcre2Floor(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  const std::string line(size - 1, 'x');
  std::vector<pcre2_code*> codes;
  for (const char* p : {"^x{4}", "DEBUG", "^(\\w{2})"}) {
    int err = 0;
    PCRE2_SIZE off = 0;
    pcre2_code* c = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(p), PCRE2_ZERO_TERMINATED,
                                  PCRE2_UTF, &err, &off, nullptr);
    if (!c || pcre2_jit_compile(c, PCRE2_JIT_COMPLETE) != 0) std::abort();
    codes.push_back(c);
  }
  pcre2_match_data* md = pcre2_match_data_create(16, nullptr);
  for (auto _ : state)
    for (pcre2_code* c : codes)
      benchmark::DoNotOptimize(pcre2_jit_match(c, reinterpret_cast<PCRE2_SPTR>(line.data()),
                                               line.size(), 0, 0, md, nullptr));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  pcre2_match_data_free(md);
  for (pcre2_code* c : codes) pcre2_code_free(c);
}
BENCHMARK(Pcre2Floor)->Arg(100)->Arg(1000);

}  // namespace

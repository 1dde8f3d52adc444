// ingestor-s3load: PutObject / GetObject load through the project's own S3 client (src/s3), so
// that `ingestor store` and its peers (moto_server, MinIO) are measured with the same client.
//
//   ingestor-s3load --endpoint http://127.0.0.1:P --bucket B --op put|get --size S --count N
//                   [--concurrency C] [--prefix K] [--access-key A --secret-key S]
//                   [--region R] [--create-bucket] [--checksum crc32c|md5]
//
// C threads share N requests (the client is synchronous: one request in flight per thread). PUT
// writes objects <prefix>/<i> for i in [0, N) with the same S random bytes; GET reads them back
// (run a PUT with the same --prefix, --size and --count first) and checks each body's length.
// Every request is attempted once: a failure is reported and makes the exit status 1, so a figure
// never hides retries. Prints one JSON line:
//   {"op":"put","size":S,"count":N,"concurrency":C,"seconds":T,"objects_per_s":...,
//    "mib_per_s":...,"p50_ms":...,"p99_ms":...,"errors":E}
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "s3/credentials.h"
#include "s3/s3_client.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace ingestor;

struct Args {
  std::string endpoint;
  std::string bucket = "bench";
  std::string op = "put";
  std::string prefix = "obj";
  std::string access_key = "AK";
  std::string secret_key = "SK";
  std::string region = "us-east-1";
  uint64_t size = 1024;
  long count = 1000;
  int concurrency = 16;
  bool create_bucket = false;
  // What each PUT carries for the server to verify: crc32c (x-amz-checksum-crc32c, unsigned
  // payload: what the agent's S3 sink sends by default) or md5 (Content-MD5 + signed SHA-256).
  std::string checksum = "crc32c";
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "%s\nusage: ingestor-s3load --endpoint URL --op put|get --size BYTES --count N "
               "[--concurrency C] [--bucket B] [--prefix P] [--access-key A] [--secret-key S] "
               "[--region R] [--create-bucket] [--checksum crc32c|md5]\n",
               why.c_str());
  std::exit(2);
}

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) usage(k + " needs a value");
      return argv[++i];
    };
    if (k == "--endpoint")
      a.endpoint = val();
    else if (k == "--bucket")
      a.bucket = val();
    else if (k == "--op")
      a.op = val();
    else if (k == "--prefix")
      a.prefix = val();
    else if (k == "--access-key")
      a.access_key = val();
    else if (k == "--secret-key")
      a.secret_key = val();
    else if (k == "--region")
      a.region = val();
    else if (k == "--size")
      a.size = std::stoull(val());
    else if (k == "--count")
      a.count = std::stol(val());
    else if (k == "--concurrency")
      a.concurrency = std::stoi(val());
    else if (k == "--create-bucket")
      a.create_bucket = true;
    else if (k == "--checksum")
      a.checksum = val();
    else
      usage("unknown argument " + k);
  }
  if (a.endpoint.empty()) usage("--endpoint is required");
  if (a.op != "put" && a.op != "get") usage("--op must be put or get");
  if (a.count < 1 || a.concurrency < 1) usage("--count and --concurrency must be >= 1");
  if (a.checksum != "crc32c" && a.checksum != "md5") usage("--checksum must be crc32c or md5");
  return a;
}

std::unique_ptr<s3::S3Client> make_client(const Args& a) {
  s3::S3ClientOptions o;
  o.endpoint = a.endpoint;
  o.region = a.region;
  o.addressing = s3::Addressing::kPath;
  std::vector<std::unique_ptr<s3::CredentialsProvider>> p;
  p.push_back(std::make_unique<s3::StaticCredentialsProvider>(
      s3::Credentials{a.access_key, a.secret_key, ""}));
  o.credentials = std::make_shared<s3::CredentialsChain>(std::move(p));
  o.body_checksum = a.checksum == "md5" ? s3::BodyChecksum::kContentMd5 : s3::BodyChecksum::kCrc32c;
  o.max_attempts = 1;  // a retry would hide a failure inside a latency figure
  // One pooled keep-alive connection per thread, and room for a GET body of --size.
  o.http.max_idle_per_host = static_cast<size_t>(a.concurrency);
  o.http.max_body = std::max<size_t>(o.http.max_body, a.size + 1);
  auto c = s3::S3Client::create(std::move(o));
  if (!c) {
    std::fprintf(stderr, "s3 client: %s\n", c.error().message.c_str());
    std::exit(1);
  }
  return std::move(*c);
}

std::string random_bytes(uint64_t n) {
  std::string s(n, '\0');
  std::mt19937_64 rng(42);
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

std::string key_of(const Args& a, long i) { return a.prefix + "/" + std::to_string(i); }

// One request; returns false (after printing why) when it failed.
bool one_request(s3::S3Client& client, const Args& a, const std::string& body, long i) {
  if (a.op == "put") {
    auto r = client.put_object({a.bucket, key_of(a, i), s3::Body::memory(body), {}, {}, false});
    if (r) return true;
    std::fprintf(stderr, "%s\n", r.error().describe().c_str());
    return false;
  }
  auto r = client.get_object_bytes(a.bucket, key_of(a, i));
  if (!r) {
    std::fprintf(stderr, "%s\n", r.error().describe().c_str());
    return false;
  }
  if (r->size() != a.size) {
    std::fprintf(stderr, "GetObject %s: %zu bytes, expected %llu\n", key_of(a, i).c_str(),
                 r->size(), static_cast<unsigned long long>(a.size));
    return false;
  }
  return true;
}

double percentile_ms(std::vector<double>& sorted_ms, double q) {
  if (sorted_ms.empty()) return 0;
  size_t idx = static_cast<size_t>(q * static_cast<double>(sorted_ms.size() - 1) + 0.5);
  return sorted_ms[std::min(idx, sorted_ms.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse_args(argc, argv);
  auto client = make_client(a);
  if (a.create_bucket) {
    if (auto s = client->create_bucket(a.bucket); !s) {
      std::fprintf(stderr, "%s\n", s.error().describe().c_str());
      return 1;
    }
  }
  const std::string body = a.op == "put" ? random_bytes(a.size) : std::string();

  // Threads take request numbers from a shared counter, so a slow request does not leave a
  // fixed share of the work stranded on one thread.
  std::atomic<long> next{0};
  std::atomic<long> errors{0};
  std::mutex mu;
  std::vector<double> latencies_ms;  // guarded by mu
  latencies_ms.reserve(static_cast<size_t>(a.count));

  auto worker = [&] {
    std::vector<double> mine;
    for (long i = next++; i < a.count; i = next++) {
      auto t0 = Clock::now();
      if (!one_request(*client, a, body, i)) ++errors;
      mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    std::lock_guard lock(mu);
    latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
  };

  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < a.concurrency; ++t) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();

  std::sort(latencies_ms.begin(), latencies_ms.end());
  const double bytes = static_cast<double>(a.size) * static_cast<double>(a.count);
  std::printf(
      "{\"op\":\"%s\",\"size\":%llu,\"count\":%ld,\"concurrency\":%d,\"seconds\":%.6f,"
      "\"objects_per_s\":%.1f,\"mib_per_s\":%.2f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"errors\":%ld}\n",
      a.op.c_str(), static_cast<unsigned long long>(a.size), a.count, a.concurrency, secs,
      static_cast<double>(a.count) / secs, bytes / secs / (1024.0 * 1024.0),
      percentile_ms(latencies_ms, 0.50), percentile_ms(latencies_ms, 0.99), errors.load());
  return errors.load() == 0 ? 0 : 1;
}

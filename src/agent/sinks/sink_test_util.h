#pragma once
// Tests only (the sinks' unit tests):
// - read_null_container: reads a null-codec Avro container of Flume events back with the Avro
//   primitives (the header's metadata and sync marker, then blocks, each ending in the sync
//   marker). Malformed input throws (Result::value()), which fails the calling test. The runtime
//   tests read our files with implementations that are not ours (tests/avro_files.py).
// - FileSizeLimit: while it lives, writes beyond `limit` bytes fail with EFBIG after a short write
//   (RLIMIT_FSIZE, SIGXFSZ ignored): a failed write at a chosen size, without a full disk.

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/avro.h"
#include "base/avro_container.h"
#include "core/flume_avro.h"

namespace ingestor::sink_test {

struct AvroFile {
  std::map<std::string, std::string> meta;
  std::vector<int64_t> block_counts;
  std::vector<Event> events;
};

inline AvroFile read_null_container(std::string_view bytes) {
  AvroFile f;
  AvroReader r(bytes);
  EXPECT_EQ(r.read_fixed(4).value(), std::string_view("Obj\x01", 4));
  for (int64_t n; (n = r.read_block_count().value()) != 0;)
    for (int64_t i = 0; i < n; ++i) {
      std::string k(r.read_string().value());
      f.meta[k] = std::string(r.read_bytes().value());
    }
  std::string sync(r.read_fixed(kAvroSyncSize).value());
  while (!r.at_end()) {
    const int64_t count = r.read_long().value();
    AvroReader d(r.read_bytes().value());
    for (int64_t i = 0; i < count; ++i) f.events.push_back(read_avro_flume_event(d).value());
    EXPECT_TRUE(d.at_end());
    EXPECT_EQ(r.read_fixed(kAvroSyncSize).value(), sync);
    f.block_counts.push_back(count);
  }
  return f;
}

struct FileSizeLimit {
  rlimit old{};
  void (*old_handler)(int);
  explicit FileSizeLimit(rlim_t limit) {
    old_handler = std::signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &old);
    rlimit l = old;
    l.rlim_cur = limit;
    setrlimit(RLIMIT_FSIZE, &l);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, old_handler);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;
};

}  // namespace ingestor::sink_test

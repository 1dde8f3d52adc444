#pragma once
// FaultFs: an Fs that wraps another (usually Fs::posix()) for crash and fault tests of durable
// formats. It records, per file, how many bytes were made durable by sync(), and can:
//  - drop unsynced data as a power cut would (power_cut(): every file written through it is
//    truncated to its synced length; files that existed before and were never opened for writing
//    keep their length);
//  - fail the next N writes or syncs, or make the next write short;
//  - report a chosen free-space reading;
//  - count syncs and slow them down (to observe group commit).
//
// Thread-safety: all methods may be called from any thread.

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>

#include "base/fs.h"

namespace ingestor {

class FaultFs final : public Fs {
 public:
  explicit FaultFs(Fs& base = Fs::posix()) : base_(base) {}

  Result<std::unique_ptr<FsFile>> open(const std::string& path, OpenMode mode) override;
  Status remove(const std::string& path) override;
  Status rename(const std::string& from, const std::string& to) override;
  Status sync_dir(const std::string& dir) override { return base_.sync_dir(dir); }
  Result<std::vector<std::string>> list_dir(const std::string& dir) override {
    return base_.list_dir(dir);
  }
  Status make_dirs(const std::string& dir) override { return base_.make_dirs(dir); }
  bool exists(const std::string& path) override { return base_.exists(path); }
  Result<uint64_t> free_space(const std::string& dir) override;
  Result<std::unique_ptr<FsLock>> lock(const std::string& path) override {
    return base_.lock(path);
  }

  // Truncates every file written through this Fs to the bytes its last successful sync covered.
  // Call it only when nothing writes (the channel under test was abandoned).
  void power_cut();

  // The next `n` fsyncs of files whose path contains `match` ("" = any file) fail.
  void fail_next_syncs(int n, std::string match = {}) {
    std::lock_guard<std::mutex> lk(match_mu_);
    fail_syncs_match_ = std::move(match);
    fail_syncs_ = n;
  }
  void fail_next_writes(int n) { fail_writes_ = n; }
  // The next write stores at most `max_bytes` and reports that count (a short write).
  void short_next_write(size_t max_bytes) {
    std::lock_guard<std::mutex> lk(mu_);
    short_write_ = max_bytes;
  }
  void set_free_space(std::optional<uint64_t> bytes) {
    std::lock_guard<std::mutex> lk(mu_);
    free_space_ = bytes;
  }
  void set_sync_delay(std::chrono::microseconds d) { sync_delay_us_ = d.count(); }
  // Successful file syncs so far.
  int64_t syncs() const { return syncs_.load(); }
  int64_t writes() const { return writes_.load(); }

 private:
  class FaultFile;
  friend class FaultFile;
  Fs& base_;
  std::mutex mu_;
  std::map<std::string, uint64_t> synced_;  // path -> durable length, for files written here
  std::optional<size_t> short_write_;
  std::optional<uint64_t> free_space_;
  std::atomic<int> fail_syncs_{0};
  std::mutex match_mu_;
  std::string fail_syncs_match_;  // guarded by match_mu_
  std::atomic<int> fail_writes_{0};
  std::atomic<int64_t> sync_delay_us_{0};
  std::atomic<int64_t> syncs_{0};
  std::atomic<int64_t> writes_{0};
};

}  // namespace ingestor

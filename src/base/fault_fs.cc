#include "base/fault_fs.h"

#include <thread>

namespace ingestor {

class FaultFs::FaultFile final : public FsFile {
 public:
  FaultFile(FaultFs& fs, std::unique_ptr<FsFile> f) : fs_(fs), f_(std::move(f)) {}

  Result<size_t> writev(const struct iovec* iov, int iovcnt) override {
    fs_.writes_.fetch_add(1);
    if (take_one(fs_.fail_writes_)) return make_error(Errc::kIo, "write " + path() + ": injected");
    std::optional<size_t> limit;
    {
      std::lock_guard<std::mutex> lk(fs_.mu_);
      limit.swap(fs_.short_write_);
    }
    if (!limit) return f_->writev(iov, iovcnt);
    // Write only the first `*limit` bytes of the vector.
    std::vector<struct iovec> cut;
    size_t left = *limit;
    for (int i = 0; i < iovcnt && left > 0; ++i) {
      size_t n = std::min(left, iov[i].iov_len);
      cut.push_back({iov[i].iov_base, n});
      left -= n;
    }
    if (cut.empty()) return size_t{0};
    return f_->writev(cut.data(), static_cast<int>(cut.size()));
  }
  Result<size_t> pread(char* buf, size_t n, uint64_t offset) override {
    return f_->pread(buf, n, offset);
  }
  Status sync() override {
    if (int64_t d = fs_.sync_delay_us_.load(); d > 0)
      std::this_thread::sleep_for(std::chrono::microseconds(d));
    bool matches;
    {
      std::lock_guard<std::mutex> lk(fs_.match_mu_);
      matches = path().find(fs_.fail_syncs_match_) != std::string::npos;
    }
    if (matches && take_one(fs_.fail_syncs_))
      return make_error(Errc::kIo, "fsync " + path() + ": injected");
    // An fsync covers what was written before it began, not what another thread appends
    // meanwhile (the file channel's writer and syncer run concurrently).
    auto sz = f_->size();
    if (!sz) return sz.error();
    if (auto s = f_->sync(); !s) return s;
    fs_.syncs_.fetch_add(1);
    std::lock_guard<std::mutex> lk(fs_.mu_);
    fs_.synced_[path()] = *sz;
    return {};
  }
  Status truncate(uint64_t size) override {
    if (auto s = f_->truncate(size); !s) return s;
    std::lock_guard<std::mutex> lk(fs_.mu_);
    auto it = fs_.synced_.find(path());
    if (it != fs_.synced_.end() && it->second > size) it->second = size;
    return {};
  }
  Result<uint64_t> size() override { return f_->size(); }
  const std::string& path() const override { return f_->path(); }

 private:
  static bool take_one(std::atomic<int>& n) {
    int v = n.load();
    while (v > 0) {
      if (n.compare_exchange_weak(v, v - 1)) return true;
    }
    return false;
  }
  FaultFs& fs_;
  std::unique_ptr<FsFile> f_;
};

Result<std::unique_ptr<FsFile>> FaultFs::open(const std::string& path, OpenMode mode) {
  auto f = base_.open(path, mode);
  if (!f) return f.error();
  if (mode != OpenMode::kRead) {
    std::lock_guard<std::mutex> lk(mu_);
    if (mode == OpenMode::kCreateTrunc) {
      synced_[path] = 0;
    } else if (!synced_.count(path)) {
      auto sz = (*f)->size();
      synced_[path] = sz ? *sz : 0;  // what existed before counts as durable
    }
  }
  return std::unique_ptr<FsFile>(std::make_unique<FaultFile>(*this, std::move(*f)));
}

Status FaultFs::remove(const std::string& path) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    synced_.erase(path);
  }
  return base_.remove(path);
}

Status FaultFs::rename(const std::string& from, const std::string& to) {
  if (auto s = base_.rename(from, to); !s) return s;
  std::lock_guard<std::mutex> lk(mu_);
  auto it = synced_.find(from);
  if (it != synced_.end()) {
    synced_[to] = it->second;
    synced_.erase(from);
  } else {
    synced_.erase(to);
  }
  return {};
}

Result<uint64_t> FaultFs::free_space(const std::string& dir) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (free_space_) return *free_space_;
  }
  return base_.free_space(dir);
}

void FaultFs::power_cut() {
  std::lock_guard<std::mutex> lk(mu_);
  for (const auto& [path, len] : synced_) {
    auto f = base_.open(path, OpenMode::kAppend);
    if (!f) continue;
    (void)(*f)->truncate(len);
  }
}

}  // namespace ingestor

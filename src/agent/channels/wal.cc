#include "agent/channels/wal.h"

#include <limits.h>

#include <algorithm>
#include <charconv>

#include "base/hash.h"
#include "base/log.h"

namespace ingestor::fc {

namespace {
constexpr size_t kScanBuffer = 1 << 20;
constexpr int kMaxIov = IOV_MAX;
// How long the syncer waits for the other recent committers before it fsyncs.
constexpr auto kGroupWait = std::chrono::microseconds(300);
}  // namespace

std::string segment_name(uint32_t id) { return "log-" + std::to_string(id); }

Result<std::vector<SegmentFile>> list_segments(Fs& fs, const std::vector<std::string>& dirs) {
  std::vector<SegmentFile> out;
  for (const auto& d : dirs) {
    auto names = fs.list_dir(d);
    if (!names) return names.error();
    for (const auto& n : *names) {
      if (n.size() <= 4 || n.compare(0, 4, "log-") != 0) continue;
      uint32_t id = 0;
      auto [p, ec] = std::from_chars(n.data() + 4, n.data() + n.size(), id);
      if (ec != std::errc() || p != n.data() + n.size()) continue;
      out.push_back({id, d + "/" + n});
    }
  }
  std::sort(out.begin(), out.end(),
            [](const SegmentFile& a, const SegmentFile& b) { return a.id < b.id; });
  return out;
}

// ---------------------------------------------------------------------------------------------

Wal::Wal(Fs& fs, WalOptions options) : fs_(fs), opts_(std::move(options)) {}

Wal::~Wal() { stop(true); }

std::string Wal::segment_path(uint32_t id) const {
  return opts_.dirs[id % opts_.dirs.size()] + "/" + segment_name(id);
}

Status Wal::open_segment(uint32_t id) {
  const std::string path = segment_path(id);
  auto f = fs_.open(path, OpenMode::kCreateTrunc);
  if (!f) return f.error();
  std::string h = encode_segment_header(id);
  std::vector<struct iovec> iov{{h.data(), h.size()}};
  std::shared_ptr<FsFile> old = std::move(cur_);
  cur_ = std::move(*f);
  Status s = write_all(iov);
  if (s) s = cur_->sync();
  if (s) s = fs_.sync_dir(opts_.dirs[id % opts_.dirs.size()]);
  if (!s) {
    cur_ = std::move(old);
    (void)fs_.remove(path);
    return s;
  }
  cur_size_ = kSegmentHeaderSize;
  note_synced(id, kSegmentHeaderSize);
  written_end_.store(kSegmentHeaderSize);
  cur_id_.store(id);
  last_sync_ = std::chrono::steady_clock::now();
  return {};
}

Status Wal::roll() {
  if (cur_ && cur_size_ > synced_end() && !need_roll_) {
    if (auto s = cur_->sync(); !s) return s;
    note_synced(cur_id_.load(), cur_size_);
  }
  if (auto s = open_segment(cur_id_.load() + 1); !s) return s;
  need_roll_ = false;
  return {};
}

Status Wal::write_all(std::vector<struct iovec>& iov) {
  size_t idx = 0;
  while (idx < iov.size()) {
    int cnt = static_cast<int>(std::min<size_t>(iov.size() - idx, kMaxIov));
    auto n = cur_->writev(iov.data() + idx, cnt);
    if (!n) return n.error();
    if (*n == 0) return make_error(Errc::kIo, "write " + cur_->path() + ": no progress");
    size_t left = *n;
    while (left > 0 && idx < iov.size()) {
      if (left >= iov[idx].iov_len) {
        left -= iov[idx].iov_len;
        ++idx;
      } else {
        iov[idx].iov_base = static_cast<char*>(iov[idx].iov_base) + left;
        iov[idx].iov_len -= left;
        left = 0;
      }
    }
  }
  return {};
}

Status Wal::start(uint32_t first_id, std::function<void()> maintenance) {
  if (auto s = open_segment(first_id); !s) return s;
  maintenance_ = std::move(maintenance);
  stopping_ = false;
  if (opts_.fsync_per_transaction) syncer_ = std::thread([this] { sync_loop(); });
  thread_ = std::thread([this] { run(); });
  return {};
}

void Wal::poke() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    poked_ = true;
  }
  cv_.notify_one();
}

void Wal::submit(std::string record, Done done) {
  bool closed = false;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stopping_ || !thread_.joinable()) {
      closed = true;
    } else {
      pending_.push_back({std::move(record), std::move(done)});
      cv_.notify_one();
      return;
    }
  }
  if (closed) done(make_error(Errc::kChannelClosed, "the file channel is stopped"), 0, 0);
}

void Wal::stop(bool drain) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!thread_.joinable()) return;
    stopping_ = true;
    drain_ = drain;
  }
  cv_.notify_one();
  thread_.join();
  if (syncer_.joinable()) {
    {
      std::lock_guard<std::mutex> lk(sync_mu_);
      sync_stop_ = true;
    }
    sync_cv_.notify_one();
    syncer_.join();
  }
  if (drain && cur_ && cur_size_ > synced_end() && !need_roll_) {
    if (cur_->sync()) note_synced(cur_id_.load(), cur_size_);
  }
  if (!drain) cur_.reset();
}

uint64_t Wal::safe_read_end(uint32_t seg) const {
  uint32_t cur = cur_id_.load();
  uint64_t end = written_end_.load();
  if (seg < cur) return UINT64_MAX;
  if (seg == cur) return end;
  return 0;
}

Status Wal::sync_now() {
  if (!cur_ || cur_size_ <= synced_end() || need_roll_) return {};
  if (auto s = cur_->sync(); !s) {
    need_roll_ = true;
    return s;
  }
  note_synced(cur_id_.load(), cur_size_);
  last_sync_ = std::chrono::steady_clock::now();
  return {};
}

void Wal::run() {
  std::vector<Request> batch;
  for (;;) {
    bool stop = false, drain = true;
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait_for(lk, std::chrono::milliseconds(100),
                   [&] { return !pending_.empty() || stopping_ || poked_; });
      poked_ = false;
      batch.swap(pending_);
      stop = stopping_;
      drain = drain_;
    }
    if (sync_failed_.load()) handle_sync_failure();
    if (stop && !drain) {
      for (auto& r : batch)
        r.done(make_error(Errc::kChannelClosed, "the file channel is stopped"), 0, 0);
      batch.clear();
      break;
    }
    if (!batch.empty()) {
      write_group(batch);
      batch.clear();
    }
    if (!opts_.fsync_per_transaction && cur_size_ > synced_end() &&
        std::chrono::steady_clock::now() - last_sync_ >= opts_.fsync_interval) {
      if (auto s = sync_now(); !s) log::error("file channel: {}", s.error().message);
    }
    if (stop) {
      std::lock_guard<std::mutex> lk(mu_);
      if (pending_.empty()) break;
      continue;
    }
    if (maintenance_) maintenance_();
  }
}

uint64_t Wal::synced_end() const {
  std::lock_guard<std::mutex> lk(sync_mu_);
  return synced_seg_ == cur_id_.load() ? synced_end_ : 0;
}

void Wal::note_synced(uint32_t seg, uint64_t end) {
  std::lock_guard<std::mutex> lk(sync_mu_);
  if (seg > synced_seg_ || (seg == synced_seg_ && end > synced_end_)) {
    synced_seg_ = seg;
    synced_end_ = end;
  }
}

size_t Wal::waiting() const {
  size_t n = 0;
  for (const auto& w : to_sync_) n += w.reqs.size();
  return n;
}

size_t Wal::recent_sync_max() const {
  size_t m = 0;
  for (size_t n : recent_syncs_) m = std::max(m, n);
  return m;
}

void Wal::wait_synced() {
  if (!syncer_.joinable()) return;
  std::unique_lock<std::mutex> lk(sync_mu_);
  synced_cv_.wait(lk, [&] { return completed_ == handed_; });
}

void Wal::handle_sync_failure() {
  std::shared_ptr<FsFile> file;
  uint64_t from = 0;
  {
    std::lock_guard<std::mutex> lk(sync_mu_);
    sync_failed_.store(false);
    file = failed_file_;
    from = failed_from_;
  }
  if (!file) return;
  // Best effort: the records of the failed groups must not come back at replay (their
  // committers were told they failed and may send them again).
  (void)file->truncate(from);
  if (file == cur_) {
    cur_size_ = std::min(cur_size_, from);
    written_end_.store(std::min(written_end_.load(), from));
    need_roll_ = true;
  }
}

void Wal::complete(Written& w, const Status& sync_status) {
  for (size_t k = 0; k < w.reqs.size(); ++k) {
    if (k < w.durable)
      w.reqs[k].done({}, w.placed[k].seg, w.placed[k].off);
    else if (k < w.ok && sync_status.has_value())
      w.reqs[k].done({}, w.placed[k].seg, w.placed[k].off);
    else
      w.reqs[k].done(k < w.ok ? sync_status : w.err, 0, 0);
  }
}

void Wal::sync_loop() {
  std::vector<Written> batch;
  for (;;) {
    bool stop = false, drain = true;
    {
      std::unique_lock<std::mutex> lk(sync_mu_);
      sync_cv_.wait(lk, [&] { return !to_sync_.empty() || sync_stop_; });
      // Committers that wait for their acknowledgement before committing again come back right
      // after an fsync completed them, one after the other. When more committers were active
      // recently than have records waiting now, wait briefly for the rest: one fsync for all of
      // them, rather than one each in turn.
      const size_t want = recent_sync_max();
      if (!sync_stop_ && waiting() < want)
        sync_cv_.wait_for(lk, kGroupWait, [&] { return waiting() >= want || sync_stop_; });
      batch.swap(to_sync_);
      stop = sync_stop_;
    }
    size_t records = 0;
    for (const auto& w : batch) records += w.reqs.size();
    {
      std::lock_guard<std::mutex> lk(mu_);
      drain = drain_;
    }
    if (stop && !drain) {  // a simulated crash: written, never acknowledged
      for (auto& w : batch) {
        w.ok = w.durable;
        w.err = make_error(Errc::kChannelClosed, "the file channel is stopped");
        complete(w, {});
      }
    } else {
      // Every group in `batch` was written before this fsync begins, so one fsync per file
      // (almost always one: the current segment) makes all of them durable.
      std::vector<std::pair<FsFile*, Status>> synced;
      for (auto& w : batch) {
        Status st;
        if (w.ok > w.durable) {
          std::shared_ptr<FsFile> failed;
          {
            std::lock_guard<std::mutex> lk(sync_mu_);
            failed = failed_file_;
          }
          auto it = std::find_if(synced.begin(), synced.end(),
                                 [&](const auto& p) { return p.first == w.file.get(); });
          if (failed == w.file) {
            st = make_error(Errc::kIo, "an earlier fsync of " + w.file->path() + " failed");
          } else if (it != synced.end()) {
            st = it->second;
          } else {
            st = w.file->sync();
            synced.push_back({w.file.get(), st});
          }
          if (st.has_value()) note_synced(w.seg, w.end);
          if (!st.has_value() && failed != w.file) {
            log::error(
                "file channel: fsync of {} failed: {}; the records since fail, the log moves "
                "to a new segment",
                w.file->path(), st.error().message);
            std::lock_guard<std::mutex> lk(sync_mu_);
            failed_file_ = w.file;
            failed_from_ = w.start;
            sync_failed_.store(true);
          }
        }
        complete(w, st);
      }
    }
    {
      std::lock_guard<std::mutex> lk(sync_mu_);
      completed_ += batch.size();
      // The committers just completed plus those already waiting: how many are active. (Those
      // waiting arrived during this fsync; counting only each fsync's own records would keep
      // two committers alternating, one fsync each, for ever.)
      recent_syncs_[recent_idx_++ % recent_syncs_.size()] = records + waiting();
    }
    synced_cv_.notify_all();
    batch.clear();
    if (stop) {
      std::lock_guard<std::mutex> lk(sync_mu_);
      if (to_sync_.empty()) break;
    }
  }
}

void Wal::write_group(std::vector<Request>& batch) {
  std::vector<Placed> placed(batch.size());
  std::vector<struct iovec> iov;
  iov.reserve(std::min<size_t>(batch.size(), 4096));
  Status err;
  size_t failed_from = batch.size();
  size_t seg_first = 0;  // first record of this group in the current segment
  uint64_t seg_start = cur_size_;
  size_t i = 0;
  while (i < batch.size()) {
    if (need_roll_ || !cur_ ||
        (cur_size_ > kSegmentHeaderSize &&
         cur_size_ + batch[i].bytes.size() > opts_.max_file_size)) {
      if (auto s = roll(); !s) {
        // If its fsync failed, what this group wrote to the old segment is not durable either.
        err = s;
        failed_from = seg_first;
        break;
      }
      seg_first = i;
      seg_start = cur_size_;
    }
    iov.clear();
    uint64_t off = cur_size_;
    size_t j = i;
    while (j < batch.size() && (j == i || off + batch[j].bytes.size() <= opts_.max_file_size)) {
      iov.push_back({batch[j].bytes.data(), batch[j].bytes.size()});
      placed[j] = {cur_id_.load(), off};
      off += batch[j].bytes.size();
      ++j;
    }
    if (auto s = write_all(iov); !s) {
      err = s;
      failed_from = seg_first;
      break;
    }
    cur_size_ = off;
    if (j < batch.size()) {
      // The rest goes to the next segment: this one is sealed by roll() (which syncs it).
      i = j;
      continue;
    }
    i = j;
  }
  if (!err.has_value()) {
    log::error(
        "file channel: write to {} failed: {}; records of this group fail, the log moves "
        "to a new segment",
        segment_path(cur_id_.load()), err.error().message);
    if (cur_ && cur_->truncate(seg_start)) cur_size_ = seg_start;
    need_roll_ = true;
  } else {
    written_end_.store(cur_size_);
  }
  groups_.fetch_add(1);
  Written w;
  w.reqs = std::move(batch);
  w.placed = std::move(placed);
  w.durable = seg_first;  // earlier records went to a segment that roll() synced
  w.ok = failed_from;
  w.err = err;
  w.file = cur_;
  w.start = seg_start;
  w.seg = cur_id_.load();
  w.end = cur_size_;
  batch.clear();
  if (!syncer_.joinable()) {  // fsyncInterval mode: acknowledged once written
    w.durable = w.ok;
    complete(w, {});
    return;
  }
  {
    std::lock_guard<std::mutex> lk(sync_mu_);
    to_sync_.push_back(std::move(w));
    ++handed_;
  }
  sync_cv_.notify_one();
}

// ---------------------------------------------------------------------------------------------

Result<std::unique_ptr<SegmentScanner>> SegmentScanner::open(Fs& fs, const std::string& path,
                                                             uint32_t id) {
  auto f = fs.open(path, OpenMode::kRead);
  if (!f) return f.error();
  auto sz = (*f)->size();
  if (!sz) return sz.error();
  std::unique_ptr<SegmentScanner> s(new SegmentScanner(std::move(*f), *sz));
  auto h = s->get(0, kSegmentHeaderSize);
  if (!h || !check_segment_header(h, id))
    return make_error(Errc::kCorrupt,
                      path + ": not a valid segment header for log-" + std::to_string(id));
  return s;
}

const char* SegmentScanner::get(uint64_t off, size_t n) {
  if (off >= buf_off_ && off + n <= buf_off_ + buf_len_) return buf_.data() + (off - buf_off_);
  if (off + n > size_) return nullptr;
  if (buf_.size() < kScanBuffer) buf_.resize(kScanBuffer);
  size_t want = static_cast<size_t>(std::min<uint64_t>(kScanBuffer, size_ - off));
  auto r = f_->pread(buf_.data(), want, off);
  buf_off_ = off;
  buf_len_ = r ? *r : 0;
  if (buf_len_ < n) return nullptr;
  return buf_.data();
}

Result<SegmentScanner::Outcome> SegmentScanner::next() {
  off_ = next_;
  header_sane_ = false;
  takes_.clear();
  if (off_ >= size_) return Outcome::kEnd;
  const char* p = get(off_, kRecordHeaderSize);
  if (!p || !parse_record_header(p, &h_)) return Outcome::kCorrupt;
  char hdr[kRecordHeaderSize];
  std::copy(p, p + kRecordHeaderSize, hdr);
  if (off_ + kRecordHeaderSize + h_.payload_len > size_) return Outcome::kCorrupt;
  header_sane_ = true;
  uint64_t pos = off_ + kRecordHeaderSize;
  uint64_t left = h_.payload_len;
  uint32_t crc = 0;
  const size_t step = kScanBuffer - kScanBuffer % 12;
  pos_block_.clear();
  while (left > 0) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(left, step));
    const char* q = get(pos, n);
    if (!q) return make_error(Errc::kIo, "read " + f_->path() + " failed during replay");
    crc = crc32c(std::string_view(q, n), crc);
    if (pos_block_.size() < h_.position_len)  // the position block opens the payload
      pos_block_.append(q, std::min<size_t>(n, h_.position_len - pos_block_.size()));
    if (h_.type == RecordType::kTake) {
      for (size_t k = 0; k + 12 <= n; k += 12)
        takes_.push_back({get_u64(q + k), get_u32(q + k + 8)});
    }
    pos += n;
    left -= n;
  }
  if (record_crc(crc, hdr) != h_.crc) return Outcome::kCorrupt;
  if (h_.position_len > 0 &&
      read_position_block(pos_block_.data(), pos_block_.size(), &position_.first,
                          &position_.second) != h_.position_len)
    return Outcome::kCorrupt;  // checksummed, yet not a position block
  next_ = off_ + kRecordHeaderSize + h_.payload_len;
  return Outcome::kRecord;
}

bool SegmentScanner::skip_corrupt() {
  if (!header_sane_) return false;
  next_ = off_ + kRecordHeaderSize + h_.payload_len;
  return true;
}

}  // namespace ingestor::fc

#include "agent/channels/file_channel.h"

#include <algorithm>
#include <utility>

#include "agent/channels/checkpoint.h"
#include "agent/channels/replay.h"
#include "base/log.h"

namespace ingestor {

// ---------------------------------------------------------------------------------------------

class FileChannel::FileTransaction final : public Transaction {
 public:
  explicit FileTransaction(FileChannel& ch) : ch_(ch) {}
  ~FileTransaction() override {
    if (!finished_) rollback(nullptr);
  }

  Status put(Batch& events) override {
    ch_.counters_.event_put_attempt.add(static_cast<int64_t>(events.size()));
    if (!taken_ranges_.empty())
      return make_error(Errc::kInvalidArgument, "a transaction may hold puts or takes, not both");
    if (puts_.size() + events.size() > ch_.transaction_capacity()) {
      return make_error(Errc::kChannelFull,
                        "Put queue for FileBackedTransaction of capacity " +
                            std::to_string(ch_.transaction_capacity()) +
                            " full, consider committing more frequently, increasing capacity or "
                            "increasing thread count. [channel=" +
                            ch_.name() + "]");
    }
    if (puts_.empty()) {
      puts_ = std::move(events);
    } else {
      for (auto& e : events) puts_.push_back(std::move(e));
    }
    events.clear();
    return {};
  }

  const Batch& taken() const override { return takes_; }

  // Kept for the put record written at commit (a take transaction ignores it).
  void set_position(std::string_view source, PositionUpdate update) override {
    position_.emplace(std::string(source), std::move(update));
  }

  Result<size_t> take(size_t max) override {
    if (!puts_.empty())
      return make_error(Errc::kInvalidArgument, "a transaction may hold puts or takes, not both");
    size_t room = ch_.transaction_capacity() - consumed_;
    if (max > room) {
      if (room == 0) {
        return make_error(Errc::kChannelFull,
                          "Take list for FileBackedTransaction, capacity " +
                              std::to_string(ch_.transaction_capacity()) +
                              " full, consider committing more frequently, increasing capacity, "
                              "or increasing thread count. [channel=" +
                              ch_.name() + "]");
      }
      max = room;
    }
    const size_t before = takes_.size();
    size_t consumed = 0;
    std::lock_guard<std::mutex> tl(ch_.take_mu_);
    if (!ch_.reader_) return size_t{0};
    while (consumed < max) {
      fc::Range front;
      {
        std::lock_guard<std::mutex> lk(ch_.mu_);
        if (ch_.queue_.empty()) break;
        front = ch_.queue_.front();
      }
      fc::Range work = front;
      auto o = ch_.reader_->read(work, max - consumed, takes_);
      if (!o) {
        ch_.take_errors_.add();
        log::warn("file channel {}: take failed: {}", ch_.name(), o.error().message);
        if (consumed == 0) return o.error();
        break;
      }
      if (o->consumed == 0) break;
      {
        std::lock_guard<std::mutex> lk(ch_.mu_);
        fc::Range& f = ch_.queue_.front();
        f.left_in_rec = work.left_in_rec;
        f.off = work.off;
        f.seq_at_off = work.seq_at_off;
        f.lo = work.lo;
        f.count -= o->consumed;  // the writer may have grown f.count meanwhile
        if (f.count == 0) ch_.queue_.pop_front();
        ch_.queued_ -= o->consumed;
        fc::Range t = front;
        t.count = o->consumed;
        taken_ranges_.push_back(t);
        if (!seqs_.empty() && seqs_.back().lo + seqs_.back().count == t.lo)
          seqs_.back().count += t.count;
        else
          seqs_.push_back({t.lo, t.count});
        if (tx_id_ == 0) {
          tx_id_ = ch_.next_tx_id_++;
          ch_.inflight_[tx_id_] = &taken_ranges_;
        }
      }
      consumed += o->consumed;
      if (o->corrupt > 0) ch_.report_corruption(o->problem, static_cast<int64_t>(o->corrupt));
    }
    consumed_ += consumed;
    size_t n = takes_.size() - before;
    ch_.counters_.event_take_attempt.add(static_cast<int64_t>(n + (n < max ? 1 : 0)));
    return n;
  }

  Status commit() override {
    std::mutex mu;
    std::condition_variable cv;
    bool finished = false;
    Status result;
    commit_async([&](Status s) {
      std::lock_guard<std::mutex> lk(mu);
      result = std::move(s);
      finished = true;
      cv.notify_one();
    });
    std::unique_lock<std::mutex> lk(mu);
    cv.wait(lk, [&] { return finished; });
    return result;
  }

  void commit_async(std::function<void(Status)> done) override {
    if (finished_) {
      done({});
      return;
    }
    // A position update alone (the interceptors dropped the whole batch) commits as a put record
    // with no event.
    if (!puts_.empty() || (position_ && taken_ranges_.empty())) return commit_puts(std::move(done));
    if (!taken_ranges_.empty()) return commit_takes(std::move(done));
    finished_ = true;
    done({});
  }

  void rollback(Batch* puts_out) override {
    if (finished_) return;
    finished_ = true;
    position_.reset();  // a rolled-back transaction moves no position
    if (!puts_.empty()) {
      if (puts_out)
        for (auto& e : puts_) puts_out->push_back(std::move(e));
      puts_.clear();
    }
    if (!taken_ranges_.empty()) {
      {
        std::lock_guard<std::mutex> tl(ch_.take_mu_);
        std::lock_guard<std::mutex> lk(ch_.mu_);
        // Back to the head, in the original order.
        for (auto it = taken_ranges_.rbegin(); it != taken_ranges_.rend(); ++it) {
          ch_.queue_.push_front(*it);
          ch_.queued_ += it->count;
        }
        ch_.inflight_.erase(tx_id_);
      }
      taken_ranges_.clear();
      takes_.clear();
      ch_.notify_takers();
    }
  }

 private:
  void commit_puts(std::function<void(Status)> done) {
    const uint64_t n = puts_.size();
    auto fail = [&](Error e) {
      ch_.put_errors_.add();
      done(std::move(e));
    };
    if (ch_.stopped_.load())
      return done(
          make_error(Errc::kChannelClosed, "the file channel " + ch_.name() + " is stopped"));
    if (position_ &&
        fc::encoded_position_size(position_->first, position_->second) > fc::kMaxPositionBlock)
      return fail(make_error(Errc::kTooLarge, "the position update of source " + position_->first +
                                                  " is over 16 MiB and cannot be written"));
    if (!fc::encode_put(puts_, record_, position_ ? &*position_ : nullptr))
      return fail(make_error(Errc::kTooLarge, "a put transaction over 1 GiB cannot be written"));
    if (auto s = ch_.check_space(record_.size()); !s) return fail(s.error());
    std::lock_guard<std::mutex> lk(ch_.mu_);
    if (!ch_.open_)
      return done(
          make_error(Errc::kChannelClosed, "the file channel " + ch_.name() + " is stopped"));
    if (ch_.queued_ + ch_.pending_puts_ + n > ch_.capacity()) {
      return done(make_error(
          Errc::kChannelFull,
          "The channel has reached it's capacity. This might be the result of a sink on the "
          "channel having too low of batch size, a downstream system running slower than normal, "
          "or that the channel capacity is just too low. [channel=" +
              ch_.name() + "]"));
    }
    const uint64_t first = ch_.next_seq_;
    ch_.next_seq_ += n;
    ch_.pending_puts_ += n;
    fc::seal_put(record_, first);
    // Submitted under the channel lock: log order is sequence order.
    ch_.wal_->submit(std::move(record_), [this, n, first, done = std::move(done)](
                                             Status s, uint32_t seg, uint64_t off) {
      record_.clear();
      {
        std::lock_guard<std::mutex> lk2(ch_.mu_);
        ch_.pending_puts_ -= n;
        if (s) {
          fc::append_range(ch_.queue_, fc::Range{seg, 0, off, first, first, n});
          ch_.queued_ += n;
          // In log order with the events, under the same lock: a checkpoint sees both or neither.
          if (position_) apply_position_update(ch_.positions_[position_->first], position_->second);
        }
      }
      if (!s) {
        ch_.put_errors_.add();
        done(std::move(s));
        return;
      }
      ch_.counters_.event_put_success.add(static_cast<int64_t>(n));
      puts_.clear();
      position_.reset();
      finished_ = true;
      if (n > 0) ch_.notify_takers();
      done({});
    });
  }

  void commit_takes(std::function<void(Status)> done) {
    if (ch_.stopped_.load())
      return done(
          make_error(Errc::kChannelClosed, "the file channel " + ch_.name() + " is stopped"));
    fc::encode_take(seqs_, record_);
    ch_.wal_->submit(std::move(record_),
                     [this, done = std::move(done)](Status s, uint32_t, uint64_t) {
                       record_.clear();
                       if (!s) {
                         ch_.take_errors_.add();
                         done(std::move(s));
                         return;
                       }
                       {
                         std::lock_guard<std::mutex> lk(ch_.mu_);
                         ch_.inflight_.erase(tx_id_);
                       }
                       ch_.counters_.event_take_success.add(static_cast<int64_t>(takes_.size()));
                       finished_ = true;
                       done({});
                     });
  }

  FileChannel& ch_;
  Batch puts_;
  Batch takes_;
  std::vector<fc::Range> taken_ranges_;  // exact, for rollback (and the checkpoint, in flight)
  std::vector<fc::SeqRange> seqs_;       // for the take record
  size_t consumed_ = 0;                  // events removed from the queue (incl. corrupt ones)
  uint64_t tx_id_ = 0;
  std::optional<fc::PositionRecord> position_;  // set_position(): written with the puts
  std::string record_;
  bool finished_ = false;
};

// ---------------------------------------------------------------------------------------------

FileChannel::FileChannel(std::string name, FileChannelOptions options, Fs& fs)
    : Channel(std::move(name), "file"), opts_(std::move(options)), fs_(fs) {}

FileChannel::~FileChannel() { stop(); }

Tx FileChannel::begin() { return Tx(std::make_unique<FileTransaction>(*this)); }

Status FileChannel::lock_dirs() {
  std::vector<std::string> dirs{opts_.checkpoint_dir};
  for (const auto& d : opts_.data_dirs) dirs.push_back(d);
  if (opts_.use_dual_checkpoints) dirs.push_back(opts_.backup_checkpoint_dir);
  for (const auto& d : dirs) {
    if (auto s = fs_.make_dirs(d); !s) return s;
    auto l = fs_.lock(d + "/in_use.lock");
    if (!l) {
      locks_.clear();
      if (l.error().code == Errc::kConflict)
        return make_error(
            Errc::kConflict,
            "Cannot lock " + d + ". The directory is already locked. [channel=" + name() + "]");
      return l.error();
    }
    locks_.push_back(std::move(*l));
  }
  return {};
}

Status FileChannel::start() {
  if (auto s = lock_dirs(); !s) return s;
  // The checkpoint: the primary, else the backup, else a full replay.
  std::optional<fc::Checkpoint> ckpt;
  auto c = fc::read_checkpoint(fs_, opts_.checkpoint_dir);
  if (c) {
    ckpt = std::move(*c);
  } else {
    log::warn("file channel {}: {}", name(), c.error().message);
  }
  if (!ckpt && opts_.use_dual_checkpoints) {
    auto b = fc::read_checkpoint(fs_, opts_.backup_checkpoint_dir);
    if (b && *b) {
      log::warn("file channel {}: using the backup checkpoint in {}", name(),
                opts_.backup_checkpoint_dir);
      ckpt = std::move(*b);
    }
  }
  auto t0 = std::chrono::steady_clock::now();
  auto r = fc::replay(fs_, opts_.data_dirs, ckpt);
  if (!r) {
    locks_.clear();
    return make_error(r.error().code,
                      "file channel " + name() + ": replay failed: " + r.error().message);
  }
  for (const auto& p : r->problems) log::warn("file channel {}: {}", name(), p);
  if (r->corrupt > 0) report_corruption("corrupt log data found during replay", r->corrupt);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  log::info("file channel {}: replayed {} records ({} bytes) in {} ms: {} events queued", name(),
            r->records, r->bytes, ms, r->events);
  {
    std::lock_guard<std::mutex> lk(mu_);
    queue_ = std::move(r->queue);
    queued_ = r->events;
    next_seq_ = r->next_seq;
    positions_ = std::move(r->positions);
  }
  oldest_segment_ = r->first_segment;
  fc::WalOptions wo{opts_.data_dirs, static_cast<uint64_t>(opts_.max_file_size),
                    opts_.fsync_per_transaction, opts_.fsync_interval};
  wal_ = std::make_unique<fc::Wal>(fs_, std::move(wo));
  reader_ = std::make_unique<fc::LogReader>(
      fs_, [w = wal_.get()](uint32_t seg) { return w->segment_path(seg); },
      [w = wal_.get()](uint32_t seg) { return w->safe_read_end(seg); });
  if (oldest_segment_ == 0) oldest_segment_ = r->last_segment + 1;
  // A checkpoint right away bounds the next start-up by what is written from now on.
  ckpt_requested_ = 1;
  last_checkpoint_ = std::chrono::steady_clock::now();
  if (auto s = wal_->start(r->last_segment + 1, [this] { maintenance(); }); !s) {
    locks_.clear();
    wal_.reset();
    reader_.reset();
    return s;
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    open_ = true;
  }
  stopped_ = false;
  counters_.started();
  return {};
}

void FileChannel::stop() {
  if (!wal_ || stopped_.exchange(true)) return;
  {
    std::lock_guard<std::mutex> lk(mu_);
    open_ = false;
  }
  wal_->stop(true);
  if (opts_.checkpoint_on_close) {
    if (auto s = do_checkpoint(); !s)
      log::error("file channel {}: checkpoint on close failed: {}", name(), s.error().message);
  }
  locks_.clear();
  counters_.stopped();
  wake();
}

void FileChannel::crash_for_test() {
  if (!wal_ || stopped_.exchange(true)) return;
  {
    std::lock_guard<std::mutex> lk(mu_);
    open_ = false;
  }
  wal_->stop(false);
  locks_.clear();
  wake();
}

Status FileChannel::refresh_space_locked(bool force) {
  const auto now = std::chrono::steady_clock::now();
  if (!force && space_free_ != UINT64_MAX && now - space_checked_ < opts_.space_check_interval)
    return {};
  uint64_t least = UINT64_MAX;
  for (const auto& d : opts_.data_dirs) {
    auto f = fs_.free_space(d);
    if (!f) return make_error(Errc::kIo, f.error().message);
    if (*f < least) {
      least = *f;
      space_dir_ = d;
    }
  }
  space_free_ = least;
  space_checked_ = now;
  note_space_locked();
  return {};
}

void FileChannel::note_space_locked() {
  const uint64_t min = static_cast<uint64_t>(opts_.minimum_required_space);
  const bool low = space_free_ < min;
  if (low && !space_low_) {
    log::warn(
        "file channel {}: usable space exhausted in {}: only {} bytes remaining, required {} "
        "bytes; puts are refused until space returns (takes go on: draining frees space)",
        name(), space_dir_, space_free_, min);
  } else if (!low && space_low_) {
    log::info("file channel {}: usable space is back ({} bytes); puts resume", name(), space_free_);
  }
  space_low_ = low;
}

Status FileChannel::check_space(uint64_t bytes) {
  std::lock_guard<std::mutex> lk(space_mu_);
  if (auto s = refresh_space_locked(false); !s) return s;
  if (space_free_ < static_cast<uint64_t>(opts_.minimum_required_space)) {
    return make_error(Errc::kChannelFull,
                      "Usable space exhausted, only " + std::to_string(space_free_) +
                          " bytes remaining, required " +
                          std::to_string(opts_.minimum_required_space) + " bytes");
  }
  // Between two readings, the estimate goes down by what each put writes (as Flume's
  // CachedFSUsableSpace.decrement): otherwise a burst of commits within one spaceCheckInterval
  // writes past the reserve, into ENOSPC, where even take records and checkpoints fail.
  space_free_ -= std::min(bytes, space_free_);
  note_space_locked();
  return {};
}

void FileChannel::report_corruption(const std::string& what, int64_t n) {
  corrupt_.add(n);
  if (!unhealthy_.exchange(true))
    log::error("file channel {}: corruption detected; the channel is unhealthy", name());
  log::warn("file channel {}: {} ({} skipped)", name(), what, n);
}

void FileChannel::notify_takers() {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lk(mu_);
    wake = waiters_ > 0;
  }
  if (wake) cv_.notify_all();
}

void FileChannel::maintenance() {
  bool requested = false;
  {
    std::lock_guard<std::mutex> lk(ckpt_mu_);
    requested = ckpt_requested_ > ckpt_done_;
  }
  const auto now = std::chrono::steady_clock::now();
  if (!requested && now - last_checkpoint_ < opts_.checkpoint_interval) return;
  uint64_t target;
  {
    std::lock_guard<std::mutex> lk(ckpt_mu_);
    target = ckpt_requested_;
  }
  wal_->wait_synced();  // the snapshot must cover every record written so far
  Status s = do_checkpoint();
  last_checkpoint_ = now;
  if (!s) log::error("file channel {}: checkpoint failed: {}", name(), s.error().message);
  {
    std::lock_guard<std::mutex> lk(ckpt_mu_);
    ckpt_done_ = std::max(ckpt_done_, target);
    ckpt_status_ = s;
  }
  ckpt_cv_.notify_all();
}

// Runs on the writer thread after Wal::wait_synced() (or after the log stopped): every record
// written so far has been applied to the queue, so the snapshot below reflects the log exactly up
// to its current end.
Status FileChannel::do_checkpoint() {
  if (auto s = wal_->sync_now(); !s) {
    ckpt_errors_.add();
    return s;
  }
  roll_if_low_on_space();
  fc::Checkpoint c;
  uint32_t keep_from;
  {
    std::lock_guard<std::mutex> lk(mu_);
    c.log_seg = wal_->current_segment();
    c.log_off = wal_->current_end();
    c.next_seq = next_seq_;
    c.positions = positions_;
    for (const auto& [id, ranges] : inflight_)
      for (const auto& r : *ranges) c.queue.push_back(r);
    c.queue.insert(c.queue.end(), queue_.begin(), queue_.end());
  }
  keep_from = c.log_seg;
  for (const auto& r : c.queue) keep_from = std::min(keep_from, r.seg);
  if (auto s = fc::write_checkpoint(fs_, opts_.checkpoint_dir, c); !s) {
    ckpt_errors_.add();
    return s;
  }
  if (opts_.use_dual_checkpoints) {
    if (auto s = fc::write_checkpoint(fs_, opts_.backup_checkpoint_dir, c); !s) {
      ckpt_backup_errors_.add();
      log::warn("file channel {}: backup checkpoint failed: {}", name(), s.error().message);
    }
  }
  // Segments before the checkpoint's position that no queued or in-flight event needs.
  if (oldest_segment_ < keep_from) {
    std::lock_guard<std::mutex> tl(take_mu_);
    for (uint32_t id = oldest_segment_; id < keep_from; ++id) {
      if (reader_) reader_->forget(id);
      if (auto s = fs_.remove(wal_->segment_path(id)); !s) {
        log::warn("file channel {}: {}", name(), s.error().message);
        keep_from = id;
        break;
      }
    }
    oldest_segment_ = keep_from;
    for (const auto& d : opts_.data_dirs) (void)fs_.sync_dir(d);
  }
  return {};
}

// Writer thread. Segments are deleted only below the log's current one, so with a large
// maxFileSize (Flume's default is 2 GB) a drained channel on a full volume would keep all its
// data in the current segment and never get the space back: when space is low and no queued or
// in-flight event lies in the current segment, start a new one so the checkpoint that follows can
// delete it.
void FileChannel::roll_if_low_on_space() {
  if (stopped_.load() || wal_->current_end() <= fc::kSegmentHeaderSize) return;
  {
    std::lock_guard<std::mutex> lk(space_mu_);
    if (auto s = refresh_space_locked(true); !s) return;
    if (!space_low_) return;
  }
  const uint32_t cur = wal_->current_segment();
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (const auto& r : queue_)
      if (r.seg == cur) return;
    for (const auto& [id, ranges] : inflight_)
      for (const auto& r : *ranges)
        if (r.seg == cur) return;
  }
  if (auto s = wal_->roll_now(); !s)
    log::warn("file channel {}: cannot start a new segment to free space: {}", name(),
              s.error().message);
  else
    log::info(
        "file channel {}: space is low and segment {} holds no queued event: rolled to a "
        "new segment so that it can be deleted",
        name(), cur);
}

Status FileChannel::checkpoint_for_test() {
  std::unique_lock<std::mutex> lk(ckpt_mu_);
  uint64_t target = ++ckpt_requested_;
  if (wal_) wal_->poke();
  ckpt_cv_.wait(lk, [&] { return ckpt_done_ >= target; });
  return ckpt_status_;
}

std::optional<PositionMap> FileChannel::committed_positions(std::string_view source) const {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = positions_.find(source);
  if (it == positions_.end()) return std::nullopt;
  return it->second;
}

size_t FileChannel::queue_ranges_for_test() const {
  std::lock_guard<std::mutex> lk(mu_);
  return queue_.size();
}

bool FileChannel::wait_for_events(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lk(mu_);
  if (queued_ > 0) return true;
  uint64_t gen = wake_gen_;
  ++waiters_;
  cv_.wait_for(lk, timeout, [&] { return queued_ > 0 || wake_gen_ != gen; });
  --waiters_;
  return queued_ > 0;
}

void FileChannel::wake() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    ++wake_gen_;
  }
  cv_.notify_all();
}

size_t FileChannel::size() const {
  std::lock_guard<std::mutex> lk(mu_);
  return static_cast<size_t>(queued_);
}

void FileChannel::collect_metrics(MetricList& out) const {
  Channel::collect_metrics(out);
  bool open;
  {
    std::lock_guard<std::mutex> lk(mu_);
    open = open_;
  }
  out.emplace_back("Open", open ? "true" : "false");
  out.emplace_back("Closed", open ? "0" : "1");
  out.emplace_back("Unhealthy", unhealthy_.load() ? "1" : "0");
  out.emplace_back("EventPutErrorCount", std::to_string(put_errors_.get()));
  out.emplace_back("EventTakeErrorCount", std::to_string(take_errors_.get()));
  out.emplace_back("CheckpointWriteErrorCount", std::to_string(ckpt_errors_.get()));
  out.emplace_back("CheckpointBackupWriteErrorCount", std::to_string(ckpt_backup_errors_.get()));
  out.emplace_back("CorruptRecordCount", std::to_string(corrupt_.get()));
}

}  // namespace ingestor

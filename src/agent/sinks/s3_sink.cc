#include "agent/sinks/s3_sink.h"

#include <fcntl.h>

#include <algorithm>
#include <random>
#include <set>

#include "base/hash.h"
#include "base/log.h"
#include "core/take_group.h"
#include "s3/credentials.h"
#include "s3/s3_client.h"

namespace ingestor {

using Clock = std::chrono::steady_clock;

S3Sink::S3Sink(std::string name, std::string type, S3SinkOptions options, BucketPath path,
               BucketPath prefix)
    : Sink(std::move(name), std::move(type)),
      opts_(std::move(options)),
      dead_letters_file_(opts_.dead_letter_dir, this->name()),
      path_pattern_(std::move(path)),
      prefix_pattern_(std::move(prefix)),
      ser_(opts_.serializer) {}

Result<std::unique_ptr<S3Sink>> S3Sink::create(std::string name, std::string type,
                                               S3SinkOptions options) {
  auto path = BucketPath::compile(options.key_path);
  if (!path) return path.error();
  auto prefix = BucketPath::compile(options.file_prefix);
  if (!prefix) return prefix.error();
  return std::unique_ptr<S3Sink>(new S3Sink(std::move(name), std::move(type), std::move(options),
                                            std::move(*path), std::move(*prefix)));
}

S3Sink::~S3Sink() { stop(); }

std::string S3Sink::object_key(const std::string& path, const std::string& prefix, uint64_t n,
                               const std::string& suffix) {
  std::string key = path;
  while (!key.empty() && key.back() == '/') key.pop_back();
  while (!key.empty() && key.front() == '/') key.erase(0, 1);
  if (!key.empty()) key += '/';
  return key + prefix + "." + std::to_string(n) + suffix;
}

Status S3Sink::start() {
  s3::S3ClientOptions co;
  co.endpoint = opts_.endpoint;
  co.region = opts_.region;
  if (opts_.path_style)
    co.addressing = *opts_.path_style ? s3::Addressing::kPath : s3::Addressing::kVirtual;
  s3::CredentialsChainOptions cc;
  if (!opts_.access_key.empty())
    cc.explicit_credentials =
        s3::Credentials{opts_.access_key, opts_.secret_key, opts_.session_token};
  co.credentials = s3::CredentialsChain::make_default(cc);
  co.http.timeout = opts_.call_timeout;
  co.body_checksum = opts_.body_checksum;
  auto client = s3::S3Client::create(co);
  if (!client) return make_error(Errc::kConfig, "S3 client: " + client.error().message);
  client_ = std::move(*client);

  std::vector<StagedObject> recovered;
  auto st = S3Staging::open(opts_.staging_dir, &recovered);
  if (!st) return st.error();
  staging_ = std::move(*st);
  if (!recovered.empty()) {
    log::info("sink {}: {} staged objects from a previous run will be uploaded under their keys",
              name(), recovered.size());
  }
  abort_orphans(recovered);
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = false;
    for (auto& o : recovered) uploads_.push_back(Upload{o, 0, Clock::now()});
  }
  uploader_ = std::thread([this] { uploader_loop(); });
  {
    std::lock_guard<std::mutex> lk(sync_mu_);
    sync_stopping_ = false;
  }
  syncer_ = std::thread([this] { syncer_loop(); });
  counters_.started();
  return {};
}

void S3Sink::abort_orphans(const std::vector<StagedObject>& objs) {
  // Multipart uploads a previous run started for keys it staged: abort them; the objects are
  // uploaded again from staging. Best effort: a failure here is retried by S3's lifecycle rule.
  std::map<std::string, std::set<std::string>> keys;  // bucket -> keys
  for (const auto& o : objs) keys[o.bucket].insert(o.key);
  for (const auto& [bucket, ks] : keys) {
    s3::ListMultipartUploadsRequest req;
    req.bucket = bucket;
    for (int page = 0; page < 100; ++page) {
      auto r = client_->list_multipart_uploads(req);
      if (!r) {
        log::warn("sink {}: cannot list multipart uploads in {}: {}", name(), bucket,
                  r.error().describe());
        break;
      }
      for (const auto& u : r->uploads) {
        if (!ks.count(u.key)) continue;
        if (auto a = client_->abort_multipart_upload(bucket, u.key, u.upload_id); !a)
          log::warn("sink {}: cannot abort upload {} of {}: {}", name(), u.upload_id, u.key,
                    a.error().describe());
        else
          log::info("sink {}: aborted orphaned multipart upload of {}", name(), u.key);
      }
      if (!r->is_truncated) break;
      req.key_marker = r->next_key_marker;
      req.upload_id_marker = r->next_upload_id_marker;
    }
  }
}

void S3Sink::stop() {
  if (!staging_) return;
  if (inflight_ && !finish_inflight()) {
    log::error("sink {}: the last group's staging commit failed: {}", name(),
               inflight_->failed->message);
    (void)fail_groups(*inflight_->failed, nullptr);
  }
  {
    std::lock_guard<std::mutex> lk(sync_mu_);
    sync_stopping_ = true;
  }
  sync_cv_.notify_all();
  if (syncer_.joinable()) syncer_.join();
  // Close every open object: flush, commit, seal, queue.
  std::vector<std::string> open;
  for (auto& [bp, w] : writers_) open.push_back(bp);
  for (auto& bp : open) {
    if (auto s = close_writer(bp); !s) log::error("sink {}: {}", name(), s.error().message);
  }
  // Give the uploader a bounded time to drain; what is left stays staged for the next start.
  {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait_for(lk,
                 std::min<std::chrono::milliseconds>(opts_.call_timeout, std::chrono::seconds(10)),
                 [&] { return uploads_.empty(); });
    stopping_ = true;
  }
  cv_.notify_all();
  if (uploader_.joinable()) uploader_.join();
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!uploads_.empty())
      log::warn("sink {}: {} objects still staged in {}; they are uploaded at the next start",
                name(), uploads_.size(), opts_.staging_dir);
  }
  staging_.reset();
  client_.reset();
  counters_.stopped();
}

Status S3Sink::open_writer(Writer& w) {
  uint64_t& n = next_n_[w.bucket_path];
  if (n == 0) n = static_cast<uint64_t>(now_epoch_ms()) + 1;  // Flume: creation ms + 1
  std::string key = object_key(w.path, w.prefix, n++, opts_.effective_suffix());
  Result<StagedObject> obj = make_error(Errc::kInternal, "");
  {
    std::lock_guard<std::mutex> lk(mu_);
    obj = staging_->create(opts_.bucket, key);
  }
  if (!obj) {
    counters_.connection_failed.add();
    return obj.error();
  }
  w.id = obj->id;
  w.count = 0;
  w.bytes = 0;
  w.opened = Clock::now();
  w.roll = false;
  ser_.new_file(w.ser);
  counters_.connection_created.add();
  return {};
}

Status S3Sink::flush_writers() {
  if (auto s = finish_inflight(); !s) return s;
  for (auto& [bp, w] : writers_) {
    // avro_event: the open block ends here, so a commit covers whole blocks only.
    if (auto s = ser_.end_block(w.ser, w.pending); !s) return s;
    if (w.pending.empty()) continue;
    batch_buf_.clear();
    if (opts_.codec == Codec::kNone) {
      batch_buf_.swap(w.pending);
    } else {
      // One member/frame per batch: the committed prefix of the object is always decodable.
      if (!compressor_) {
        auto comp = make_compressor(opts_.codec);
        if (!comp) return comp.error();
        compressor_ = std::move(*comp);
      } else if (auto s = compressor_->reset(); !s) {
        return s;
      }
      if (auto s = compressor_->write(w.pending, batch_buf_); !s) return s;
      if (auto s = compressor_->finish(batch_buf_); !s) return s;
      w.pending.clear();
    }
    Status s;
    {
      std::lock_guard<std::mutex> lk(mu_);
      s = staging_->append(w.id, batch_buf_);
    }
    if (!s) return s;
    w.bytes += static_cast<int64_t>(batch_buf_.size());
    if (opts_.roll_size > 0 && w.bytes >= opts_.roll_size) w.roll = true;
  }
  return {};
}

Status S3Sink::close_writer(const std::string& bucket_path) {
  auto it = writers_.find(bucket_path);
  if (it == writers_.end()) return {};
  Writer& w = it->second;
  Result<StagedObject> sealed = make_error(Errc::kInternal, "");
  if (auto s = commit_staged(); !s) return s;
  {
    std::lock_guard<std::mutex> lk(mu_);
    sealed = staging_->seal(w.id, /*with_md5=*/false);  // needed only after a 412: see upload_one
    if (sealed) {
      if (sealed->size == 0) {
        staging_->remove(w.id);  // never upload an empty object
      } else {
        uploads_.push_back(Upload{*sealed, 0, Clock::now()});
      }
    }
  }
  if (!sealed) return sealed.error();
  cv_.notify_all();
  writers_.erase(it);
  return {};
}

Status S3Sink::commit_staged() {
  if (auto s = finish_inflight(); !s) return s;
  // Dead letters are durable before the high water that covers them.
  if (auto s = dead_letters_file_.sync(); !s) return s;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (auto s = staging_->commit(serialized_high_); !s) return s;
  }
  for (auto& [bp, w] : writers_) {
    if (!w.pending.empty()) continue;  // not flushed: not part of this commit
    w.committed_count = w.count;
    w.committed_bytes = w.bytes;
  }
  return {};
}

Error S3Sink::discard_uncommitted(Error why) {
  // The failed group's takes roll back and its events are taken again: nothing of them may stay
  // in a writer or in staging, or the next commit would stage them twice.
  counters_.event_write_fail.add();
  for (auto& [bp, w] : writers_) {
    w.pending.clear();
    ser_.discard(w.ser, w.committed_bytes);
    w.count = w.committed_count;
    w.bytes = w.committed_bytes;
    w.roll = (opts_.roll_count > 0 && w.count >= opts_.roll_count) ||
             (opts_.roll_size > 0 && w.bytes >= opts_.roll_size);
  }
  serialized_high_ = 0;
  std::lock_guard<std::mutex> lk(mu_);
  if (auto s = staging_->abort(); !s)
    log::error("sink {}: cannot discard a failed batch from staging: {}", name(),
               s.error().message);
  return why;
}

Status S3Sink::dead_letter(const Event& e, const std::string& reason) {
  dead_letters_.add();
  return dead_letters_file_.write(e, reason);
}

std::chrono::steady_clock::time_point S3Sink::next_timer() const {
  auto t = Clock::time_point::max();
  for (const auto& [bp, w] : writers_) {
    if (opts_.roll_interval_s > 0)
      t = std::min(t, w.opened + std::chrono::seconds(opts_.roll_interval_s));
    if (opts_.idle_timeout_s > 0)
      t = std::min(t, w.last_event + std::chrono::seconds(opts_.idle_timeout_s));
  }
  return t;
}

Result<SinkStatus> S3Sink::process() {
  // Timed rolls: interval and idle. A timed close ends Flume's BucketWriter (a fresh N next time).
  auto now = Clock::now();
  std::vector<std::string> due;
  for (const auto& [bp, w] : writers_) {
    if ((opts_.roll_interval_s > 0 &&
         now >= w.opened + std::chrono::seconds(opts_.roll_interval_s)) ||
        (opts_.idle_timeout_s > 0 &&
         now >= w.last_event + std::chrono::seconds(opts_.idle_timeout_s)))
      due.push_back(bp);
  }
  for (const auto& bp : due) {
    if (auto s = close_writer(bp); !s) return fail_groups(s.error(), nullptr);
    next_n_.erase(bp);
  }
  // Every way out of process() but a new group handed to the syncer finishes the group in
  // flight first: the runner may sleep next, and the group's takes would wait with it. Staged
  // bytes count the group in flight.
  auto staged_bytes = [&] {
    std::lock_guard<std::mutex> lk(mu_);
    return staging_->staged_bytes() + (inflight_ ? inflight_->bytes : 0);
  };
  if (staged_bytes() > static_cast<uint64_t>(opts_.max_staged_bytes)) {
    if (auto s = finish_inflight(); !s) return fail_groups(s.error(), nullptr);
    std::lock_guard<std::mutex> lk(mu_);
    if (staging_->staged_bytes() > static_cast<uint64_t>(opts_.max_staged_bytes)) {
      return make_error(Errc::kUnavailable,
                        "staging holds " + std::to_string(staging_->staged_bytes()) +
                            " bytes awaiting upload (s3.maxStagedBytes " +
                            std::to_string(opts_.max_staged_bytes) +
                            "): S3 is not keeping up; last upload error: " +
                            (last_upload_error_.empty() ? "none" : last_upload_error_));
    }
  }

  // One batch per take transaction, as Flume; while the channel holds full batches, more of them
  // (up to kGroupTakes, or kGroupBytes serialized) share one staging commit: its two fsyncs are
  // what a batch costs, whatever its size. The group before this one may still be in flight on
  // the syncer thread: its fsyncs overlap this group's takes and serialization.
  auto group = std::make_unique<TakeGroup>(*channel_);
  int64_t taken = 0, skipped = 0;
  uint64_t staged_high = 0, staged_bytes_now = 0;
  staged_bytes_now = staged_bytes();
  {
    std::lock_guard<std::mutex> lk(mu_);
    staged_high = staging_->high_water();
  }
  serialized_high_ = 0;
  group_bytes_ = 0;
  for (;;) {
    Tx& tx = group->begin();
    auto n = tx.take(opts_.batch_size);
    if (!n) {
      counters_.channel_read_fail.add();
      if (group->size() == 1) {
        group.reset();
        if (auto s = finish_inflight(); !s) return fail_groups(s.error(), nullptr);
        return n.error();
      }
      group->drop_last();  // stage what the group already took
      break;
    }
    if (*n == 0) {
      group->drop_last();
      break;
    }
    (*n < opts_.batch_size ? counters_.batch_underflow : counters_.batch_complete).add();
    counters_.event_drain_attempt.add(static_cast<int64_t>(*n));
    taken += static_cast<int64_t>(*n);
    if (auto s = stage(tx.taken(), staged_high, &skipped); !s)
      return fail_groups(s.error(), group.get());
    if (*n < opts_.batch_size || group->size() >= kGroupTakes || group_bytes_ >= kGroupBytes ||
        staged_bytes_now + group_bytes_ >= static_cast<uint64_t>(opts_.max_staged_bytes))
      break;  // s3.maxStagedBytes is exceeded by one batch at most, as without groups
  }
  if (group->empty()) {
    counters_.batch_empty.add();
    const bool finished = inflight_ != nullptr;
    if (auto s = finish_inflight(); !s) return fail_groups(s.error(), nullptr);
    return finished ? SinkStatus::kReady : SinkStatus::kBackoff;
  }
  // Appending waits for the group in flight (flush_writers() finishes it first).
  if (auto s = flush_writers(); !s) return fail_groups(s.error(), group.get());
  if (auto s = start_commit(std::move(group), taken, skipped); !s)
    return fail_groups(s.error(), nullptr);
  // Count and size rolls close once the object's data is committed: close_writer() waits for
  // the group just handed over (rolls are rare: one per object).
  std::vector<std::string> rolled;
  for (const auto& [bp, w] : writers_)
    if (w.roll) rolled.push_back(bp);
  for (const auto& bp : rolled)
    if (auto s = close_writer(bp); !s) return fail_groups(s.error(), nullptr);
  return SinkStatus::kReady;
}

Status S3Sink::start_commit(std::unique_ptr<TakeGroup> group, int64_t taken, int64_t skipped) {
  // Dead letters are durable before the high water that covers them (rare: synchronously).
  if (auto s = dead_letters_file_.sync(); !s) return s;
  auto f = std::make_unique<InFlight>();
  f->group = std::move(group);
  f->taken = taken;
  f->skipped = skipped;
  f->bytes = group_bytes_;
  {
    std::lock_guard<std::mutex> lk(mu_);
    f->commit = staging_->prepare_commit(serialized_high_);
  }
  for (const auto& [bp, w] : writers_)
    if (w.pending.empty()) f->writers.emplace_back(bp, w.count, w.bytes);
  inflight_ = std::move(f);
  {
    std::lock_guard<std::mutex> lk(sync_mu_);
    sync_job_ = inflight_.get();
  }
  sync_cv_.notify_all();
  return {};
}

void S3Sink::syncer_loop() {
  std::unique_lock<std::mutex> lk(sync_mu_);
  for (;;) {
    sync_cv_.wait(lk, [&] { return sync_stopping_ || sync_job_ != nullptr; });
    if (sync_job_ == nullptr) return;
    InFlight* job = sync_job_;
    lk.unlock();
    Status synced = job->commit.empty() ? Status{} : S3Staging::sync_commit(job->commit);
    Status took = synced ? job->group->commit() : Status{};
    lk.lock();
    job->synced = std::move(synced);
    job->take_committed = std::move(took);
    job->done = true;
    sync_job_ = nullptr;
    sync_cv_.notify_all();
  }
}

Status S3Sink::finish_inflight() {
  if (!inflight_) return {};
  InFlight& f = *inflight_;
  {
    std::unique_lock<std::mutex> lk(sync_mu_);
    sync_cv_.wait(lk, [&] { return f.done; });
  }
  if (!f.failed) {
    Status recorded;
    {
      std::lock_guard<std::mutex> lk(mu_);
      recorded = f.commit.empty() ? Status{} : staging_->finish_commit(f.commit, f.synced);
    }
    if (!recorded) {
      f.failed = recorded.error();
    } else {
      // The staged data is durable, whatever became of the take commit.
      for (const auto& [bp, count, bytes] : f.writers) {
        auto it = writers_.find(bp);
        if (it == writers_.end()) continue;
        it->second.committed_count = count;
        it->second.committed_bytes = bytes;
      }
      if (!f.take_committed) f.failed = f.take_committed.error();
    }
  }
  if (f.failed) return *f.failed;
  if (f.skipped > 0) {
    replays_skipped_.add(f.skipped);
    log::info("sink {}: {} redelivered events were already staged before a restart; skipped",
              name(), f.skipped);
  }
  counters_.event_drain_success.add(f.taken);
  inflight_.reset();
  queue_filled_parts();
  return {};
}

Error S3Sink::fail_groups(Error why, TakeGroup* current) {
  // Newest first: the current group's events return to the channel's head, then the group in
  // flight's in front of them. A group in flight that did commit is recorded, not rolled back.
  if (current) current->rollback();
  if (inflight_ && !finish_inflight()) {
    inflight_->group->rollback();
    inflight_.reset();
  }
  return discard_uncommitted(std::move(why));
}

Status S3Sink::stage(const Batch& events, uint64_t staged_high, int64_t* skipped) {
  const int64_t now_ms = now_epoch_ms();
  const auto now = Clock::now();
  // With no header or time escape in the path and prefix (the common case) every event of the
  // batch goes to one bucket: expand and look it up once, not per event.
  const bool constant = path_pattern_.is_constant() && prefix_pattern_.is_constant();
  std::string p, f, bp;
  bool expanded = false;
  auto it = writers_.end();
  for (const Event& e : events) {
    const bool tracked = e.seq != 0 && sole_taker_;
    if (tracked && e.seq <= staged_high) {
      ++*skipped;  // staged before a crash; its take was not committed then
      continue;
    }
    if (auto why = ser_.reject(e)) {  // SequenceFile: a timestamp header that is no number
      if (auto s = dead_letter(e, *why); !s) return s;
      if (tracked) serialized_high_ = std::max(serialized_high_, e.seq);
      continue;
    }
    // Where does the event go? Flume's bucket: expanded path + "/" + expanded prefix.
    if (!constant || !expanded) {
      auto pr = path_pattern_.expand(e.headers, now_ms, opts_.time);
      auto fr = pr ? prefix_pattern_.expand(e.headers, now_ms, opts_.time) : pr;
      if (!pr || !fr) {
        if (auto s = dead_letter(e, (!pr ? pr : fr).error().message); !s) return s;
        if (tracked) serialized_high_ = std::max(serialized_high_, e.seq);
        continue;
      }
      p = std::move(*pr);
      f = std::move(*fr);
      bp = p + "/" + f;
      expanded = true;
      it = writers_.find(bp);
    } else if (it == writers_.end()) {
      it = writers_.find(bp);
    }
    if (it != writers_.end() && it->second.roll) {
      // Count/size roll inside the batch: flush it, close it; the same BucketWriter goes on
      // with N+1 (Flume reuses the writer after a count or size roll).
      if (auto s = flush_writers(); !s) return s;
      if (auto s = close_writer(bp); !s) return s;
      it = writers_.end();
    }
    if (it == writers_.end()) {
      if (static_cast<int64_t>(writers_.size()) >= opts_.max_open_files) {
        // LRU: close the writer idle the longest.
        auto eldest = std::min_element(writers_.begin(), writers_.end(), [](auto& a, auto& b) {
          return a.second.last_event < b.second.last_event;
        });
        if (auto s = flush_writers(); !s) return s;
        if (auto s = close_writer(eldest->first); !s) return s;
      }
      Writer w;
      w.bucket_path = bp;
      w.path = p;
      w.prefix = f;
      if (auto s = open_writer(w); !s) return s;
      it = writers_.emplace(bp, std::move(w)).first;
    }
    Writer& w = it->second;
    const size_t before = w.pending.size() + w.ser.held();
    if (auto s = ser_.add(w.ser, e, w.pending); !s) return s;
    const size_t buffered = w.pending.size() + w.ser.held();
    group_bytes_ += buffered - std::min(before, buffered);
    if (tracked) serialized_high_ = std::max(serialized_high_, e.seq);
    ++w.count;
    w.last_event = now;
    // Size rolls count encoded bytes: known before the upload only without compression.
    if (opts_.codec == Codec::kNone && !ser_.compresses()) {
      int64_t encoded = w.bytes + static_cast<int64_t>(buffered);
      if (opts_.roll_size > 0 && encoded >= opts_.roll_size) w.roll = true;
    }
    if (opts_.roll_count > 0 && w.count >= opts_.roll_count) w.roll = true;
  }
  return {};
}

// ---- uploads -----------------------------------------------------------------------------------

void S3Sink::queue_filled_parts() {
  // Large objects go up as multipart parts while they fill, so sealing one leaves only its last
  // part to upload. Only committed (fsynced) bytes: staging never rewrites them.
  bool queued = false;
  for (auto& [bp, w] : writers_) {
    const int64_t full = (w.committed_bytes - w.parts_queued) / opts_.part_size * opts_.part_size;
    if (full <= 0) continue;
    std::lock_guard<std::mutex> lk(mu_);
    auto o = staging_->object(w.id);
    if (!o) continue;
    uploads_.push_back(Upload{*o, 0, Clock::now(), true});
    w.parts_queued += full;
    queued = true;
  }
  if (queued) cv_.notify_all();
}

void S3Sink::uploader_loop() {
  std::mt19937 rng(std::random_device{}());
  for (;;) {
    Upload u;
    {
      std::unique_lock<std::mutex> lk(mu_);
      for (;;) {
        if (stopping_) return;
        if (!uploads_.empty()) {
          auto wake = uploads_.front().not_before;
          if (wake <= Clock::now()) break;
          cv_.wait_until(lk, wake);
        } else {
          cv_.wait(lk);
        }
      }
      u = uploads_.front();
      uploads_.pop_front();
      if (u.parts_only) {
        // Parts go up as far as the object is committed now, not as far as it was when this
        // entry was queued: parts that became ready meanwhile go up together (kParallelParts),
        // and the entries queued for them find nothing left to do.
        if (auto now = staging_->object(u.obj.id)) u.obj = *now;
      }
    }
    Status s = upload_one(u);
    std::lock_guard<std::mutex> lk(mu_);
    if (s) upload_errors_in_a_row_.set(0);
    if (s && u.parts_only) {
      last_upload_error_.clear();
    } else if (s) {
      staging_->remove(u.obj.id);
      objects_uploaded_.add();
      last_upload_ms_.set(now_epoch_ms());
      counters_.connection_closed.add();
      last_upload_error_.clear();
    } else {
      ++u.attempts;
      upload_failures_.add();
      upload_errors_in_a_row_.add();
      counters_.connection_failed.add();
      last_upload_error_ = s.error().message;
      int64_t base = std::min<int64_t>(60000, 1000LL << std::min(u.attempts - 1, 6));
      auto delay = std::chrono::milliseconds(base / 2 + rng() % (base / 2 + 1));
      log::warn("sink {}: upload of s3://{}/{} failed (attempt {}), retrying in {} ms: {}", name(),
                u.obj.bucket, u.obj.key, u.attempts, delay.count(), s.error().message);
      u.not_before = Clock::now() + delay;
      uploads_.push_front(u);  // keep order: objects of one path go up in sequence
    }
    cv_.notify_all();
  }
}

Status S3Sink::upload_parts(const StagedObject& o, Multipart& mp, bool last) {
  if (mp.upload_id.empty()) {
    auto id = client_->create_multipart_upload(o.bucket, o.key);
    if (!id) return id.error().to_error();
    mp.upload_id = *id;
  }
  const uint64_t part = static_cast<uint64_t>(opts_.part_size);
  auto ready = [&](uint64_t off) { return off < o.size && (last || o.size - off >= part); };
  while (ready(mp.uploaded)) {
    // The parts ready now go up together, up to kParallelParts: one part at a time leaves the
    // store's fsync of each part, and our read of the next, on the critical path.
    std::vector<s3::UploadPartRequest> reqs;
    for (uint64_t off = mp.uploaded; reqs.size() < kParallelParts && ready(off);) {
      const uint64_t len = std::min<uint64_t>(part, o.size - off);
      s3::UploadPartRequest pr;
      pr.bucket = o.bucket;
      pr.key = o.key;
      pr.upload_id = mp.upload_id;
      pr.part_number = static_cast<int>(mp.parts.size() + reqs.size() + 1);
      pr.body = s3::Body::file_range(o.data_path, off, len);
      reqs.push_back(std::move(pr));
      off += len;
    }
    std::vector<std::optional<s3::ClientResult<s3::CompletedPart>>> done(reqs.size());
    {
      std::vector<std::thread> helpers;
      for (size_t i = 1; i < reqs.size(); ++i)
        helpers.emplace_back([&, i] { done[i] = client_->upload_part(reqs[i]); });
      done[0] = client_->upload_part(reqs[0]);
      for (auto& t : helpers) t.join();
    }
    // In part order; a part after a failed one is uploaded again by the retry.
    for (size_t i = 0; i < reqs.size(); ++i) {
      auto& r = *done[i];
      if (!r) {
        if (r.error().not_found()) multipart_.erase(o.id);  // NoSuchUpload: begin again
        return r.error().to_error();
      }
      if (auto raw = from_hex(s3::etag_unquoted(r->etag))) mp.part_md5s += *raw;
      mp.parts.push_back(std::move(*r));
      mp.uploaded += reqs[i].body.size();
    }
  }
  return {};
}

Status S3Sink::upload_one(Upload& u) {
  const StagedObject& o = u.obj;
  if (u.parts_only) return upload_parts(o, multipart_[o.id], false);
  std::string expected_etag;
  s3::ClientResult<std::string> etag = std::string();
  auto mp = multipart_.find(o.id);
  if (mp == multipart_.end() && static_cast<int64_t>(o.size) <= opts_.part_size) {
    s3::PutObjectRequest req;
    req.bucket = o.bucket;
    req.key = o.key;
    req.body = s3::Body::file_range(o.data_path, 0, o.size);
    req.if_none_match = true;
    etag = client_->put_object(req);
    if (!etag && etag.error().precondition_failed()) {
      // Only now is the MD5 needed: to tell a replay from somebody else's object.
      expected_etag = o.md5_hex;
      if (expected_etag.empty()) {
        auto md5 = md5_of_file(o.data_path, o.size);
        if (!md5) return md5.error();
        expected_etag = *md5;
      }
    }
  } else {
    if (mp == multipart_.end()) mp = multipart_.emplace(o.id, Multipart{}).first;
    if (auto s = upload_parts(o, mp->second, true); !s) return s;
    const Multipart& m = mp->second;
    expected_etag = to_hex(md5(m.part_md5s)) + "-" + std::to_string(m.parts.size());
    etag = client_->complete_multipart_upload(o.bucket, o.key, m.upload_id, m.parts, true);
    if (!etag) (void)client_->abort_multipart_upload(o.bucket, o.key, m.upload_id);
    multipart_.erase(mp);  // done, or aborted: a retry begins a new upload
  }
  if (etag) return {};
  if (!etag.error().precondition_failed()) return etag.error().to_error();
  // The key exists: a replay of an upload that succeeded before a crash, or somebody else's.
  auto head = client_->head_object(o.bucket, o.key);
  if (!head) return head.error().to_error();
  if (s3::etag_unquoted(head->etag) == expected_etag && head->size == o.size) {
    duplicates_avoided_.add();
    log::info("sink {}: s3://{}/{} is already there with the same content (a replay)", name(),
              o.bucket, o.key);
    return {};
  }
  std::string renamed = o.key + "-" + std::to_string(now_epoch_ms());
  log::error("sink {}: s3://{}/{} exists with other content; uploading as {}", name(), o.bucket,
             o.key, renamed);
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (auto s = staging_->rekey(o.id, renamed); !s) return s;
  }
  u.obj.key = renamed;
  return make_error(Errc::kConflict, "key taken; renamed to " + renamed);
}

void S3Sink::collect_metrics(MetricList& out) const {
  counters_.collect(out);
  out.emplace_back("ObjectsUploaded", std::to_string(objects_uploaded_.get()));
  out.emplace_back("UploadFailures", std::to_string(upload_failures_.get()));
  out.emplace_back("DeadLetterCount", std::to_string(dead_letters_.get()));
  out.emplace_back("ReplaysDetected", std::to_string(duplicates_avoided_.get()));
  out.emplace_back("RedeliveriesSkipped", std::to_string(replays_skipped_.get()));
  // For "no object for N roll intervals while events arrive" (deploy/prometheus/alerts.yml).
  out.emplace_back("LastUploadTime", std::to_string(last_upload_ms_.get()));
  // Failed upload attempts since the last one that succeeded (the uploader retries them while
  // process() keeps staging): > 0 shows the sink as failing on the status page and in alerts.
  out.emplace_back("UploadErrorsInARow", std::to_string(upload_errors_in_a_row_.get()));
  out.emplace_back("RollInterval", std::to_string(opts_.roll_interval_s));
  std::lock_guard<std::mutex> lk(mu_);
  out.emplace_back("StagedBytes", std::to_string(staging_ ? staging_->staged_bytes() : 0));
  out.emplace_back("UploadsPending", std::to_string(uploads_.size()));
}

}  // namespace ingestor

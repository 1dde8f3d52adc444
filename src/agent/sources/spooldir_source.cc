#include "agent/sources/spooldir_source.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "base/file.h"

namespace ingestor {

namespace {

// The open file, read with pread(2).
class FdInput final : public SpoolInput {
 public:
  explicit FdInput(int fd) : fd_(fd) {}
  ~FdInput() override { ::close(fd_); }
  Result<size_t> pread(char* buf, size_t n, uint64_t offset) override {
    for (;;) {
      ssize_t r = ::pread(fd_, buf, n, static_cast<off_t>(offset));
      if (r >= 0) return static_cast<size_t>(r);
      if (errno != EINTR)
        return make_error(Errc::kIo, std::string("read: ") + std::strerror(errno));
    }
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

SpoolFileId id_of(const struct stat& st) {
  return {static_cast<uint64_t>(st.st_ino), static_cast<uint64_t>(st.st_size),
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

std::string dir_of(const std::string& path) {
  return std::filesystem::path(path).parent_path().string();
}

std::string base_of(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

// rename(2) that never replaces `to`.
int rename_noreplace(const std::string& from, const std::string& to) {
  return ::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE);
}

}  // namespace

struct SpoolDirectorySource::Current {
  std::string path, rel;
  SpoolFileId id;
  std::unique_ptr<FdInput> input;
  uint64_t committed = 0;  // bytes whose events are committed
  bool sent_any = false;   // a batch of this file committed (Flume's empty event otherwise)
};

SpoolDirectorySource::SpoolDirectorySource(std::string name,
                                           std::shared_ptr<ChannelProcessor> processor,
                                           SpoolDirOptions options)
    : Source(std::move(name), "spooldir", std::move(processor)),
      o_(std::move(options)),
      picker_(o_.picker()) {
  deser_ = o_.deserializer == DeserializerKind::kLine ? make_line_deserializer(o_.line)
                                                      : make_blob_deserializer(o_.blob);
  pos_ = std::make_unique<SourcePositions>(this->name(), *processor_, o_.position_file());
}

SpoolDirectorySource::~SpoolDirectorySource() { stop(); }

Status SpoolDirectorySource::start() {
  struct stat st;
  if (::stat(o_.spool_dir.c_str(), &st) != 0)
    return make_error(Errc::kConfig, "Directory does not exist: " + o_.spool_dir);
  if (!S_ISDIR(st.st_mode))
    return make_error(Errc::kConfig, "Path is not a directory: " + o_.spool_dir);
  if (Status s = make_dirs(o_.tracker_dir); !s)
    return make_error(Errc::kIo, "Unable to mkdir nonexistent meta directory " + o_.tracker_dir +
                                     ": " + s.error().message);
  auto lock = Fs::posix().lock(o_.lock_file());
  if (!lock)
    return make_error(lock.error().code, "spooldir source " + name() + ": " + o_.spool_dir +
                                             " is read by another source (" + lock.error().message +
                                             ")");
  lock_ = std::move(*lock);
  if (o_.delete_policy == DeletePolicy::kImmediate ||
      o_.tracking_policy == TrackingPolicy::kRename) {
    // Flume's canary: a file we cannot rename or delete would be re-read after every restart.
    const std::string canary =
        o_.spool_dir + "/flume-spooldir-perm-check-" + std::to_string(::getpid()) + ".canary";
    int fd = ::open(canary.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    bool ok = fd >= 0 && ::write(fd, "testing flume file permissions\n", 31) == 31;
    if (fd >= 0) ::close(fd);
    ok = ok && ::unlink(canary.c_str()) == 0;
    if (!ok)
      return make_error(
          Errc::kIo, "Unable to read and modify files in the spooling directory: " + o_.spool_dir);
  }
  if (std::filesystem::exists(o_.tracker_dir + "/.flumespool-main.meta"))
    log::warn(
        "spooldir source {}: {}/.flumespool-main.meta was left by Flume and is not read: a file "
        "Flume had half read is read again from its start",
        name(), log::escape(o_.tracker_dir));
  auto loaded = pos_->load();
  if (!loaded)
    return make_error(loaded.error().code,
                      "spooldir source " + name() + ": cannot resume: " + loaded.error().message);
  resume_value_.reset();
  if (*loaded) {
    auto it = (*loaded)->find(kPositionKey);
    if (it != (*loaded)->end()) resume_value_ = it->second;
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = false;
  }
  counters_.started();
  running_ = true;
  thread_ = std::thread([this] { run(); });
  log::info("spooldir source {} reading {}", name(), log::escape(o_.spool_dir));
  return {};
}

void SpoolDirectorySource::stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (running_.exchange(false)) {
    if (Status s = pos_->flush(); !s)
      log::warn("spooldir source {}: cannot write {}: {}", name(), pos_->file(), s.error().message);
    cur_.reset();
    lock_.reset();
    counters_.stopped();
  }
}

void SpoolDirectorySource::collect_metrics(MetricList& out) const {
  counters_.collect(out);
  out.emplace_back("FilesCompletedCount", std::to_string(files_completed_.get()));
  out.emplace_back("FilesMovedAsideCount", std::to_string(files_moved_aside_.get()));
  out.emplace_back("EventsTruncatedCount", std::to_string(events_truncated_.get()));
}

bool SpoolDirectorySource::pause(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lk(mu_);
  return !cv_.wait_for(lk, d, [this] { return stopping_; });
}

void SpoolDirectorySource::run() {
  if (resume_value_) resume(*resume_value_);
  for (;;) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (stopping_) return;
    }
    if (cur_) {
      step();
      continue;
    }
    auto next = picker_.next();
    if (!next) {
      if (list_log_.allow())
        log::error("spooldir source {}: {}", name(), log::escape(next.error().message));
      counters_.generic_processing_fail.add();
      if (!pause(o_.poll_delay)) return;
      continue;
    }
    if (!*next) {
      if (!pause(o_.poll_delay)) return;
      continue;
    }
    SpoolCandidate& c = **next;
    if (!c.conflict.empty()) {
      move_aside(c.path, c.conflict);
      continue;
    }
    if (!open_file(c.path, c.rel, std::nullopt)) picker_.reset();
  }
}

void SpoolDirectorySource::resume(const std::string& value) {
  auto p = parse_spool_position(value);
  if (!p) {
    log::error("spooldir source {}: the position in {} is damaged ({}); starting afresh", name(),
               pos_->file(), p.error().message);
    counters_.generic_processing_fail.add();
    (void)clear_position();
    return;
  }
  const std::string prefix = o_.spool_dir + "/";
  struct stat st;
  const bool exists = ::stat(p->path.c_str(), &st) == 0;
  if (exists && p->path.starts_with(prefix) && S_ISREG(st.st_mode) &&
      static_cast<uint64_t>(st.st_ino) == p->id.inode) {
    if (id_of(st) != p->id) {
      move_aside(p->path, "it changed while the agent was stopped, after " +
                              std::to_string(p->offset) + " bytes of it were delivered");
      if (!cur_) (void)clear_position();
      return;
    }
    if (open_file(p->path, p->path.substr(prefix.size()), *p)) return;
  }
  // The file is gone: completed just before the stop (renamed, deleted, marked), or moved away.
  struct stat done;
  const bool renamed = ::stat((p->path + o_.file_suffix).c_str(), &done) == 0 &&
                       static_cast<uint64_t>(done.st_ino) == p->id.inode;
  const bool deleted =
      !exists && o_.delete_policy == DeletePolicy::kImmediate && p->offset == p->id.size;
  if (!renamed && !deleted)
    log::warn(
        "spooldir source {}: the file being read at the last stop, {}, is gone or replaced; {} "
        "of its {} bytes had been delivered",
        name(), log::escape(p->path), p->offset, p->id.size);
  (void)clear_position();
}

bool SpoolDirectorySource::open_file(const std::string& path, const std::string& rel,
                                     std::optional<SpoolPosition> resume_at) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      log::warn("spooldir source {}: Could not find file: {}", name(), log::escape(path));
    } else {
      log::error("spooldir source {}: Exception opening file: {}: {}", name(), log::escape(path),
                 std::strerror(errno));
      counters_.generic_processing_fail.add();
    }
    return false;
  }
  auto cur = std::make_unique<Current>();
  cur->input = std::make_unique<FdInput>(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    counters_.generic_processing_fail.add();
    return false;
  }
  cur->path = path;
  cur->rel = rel;
  cur->id = id_of(st);
  if (resume_at) {
    cur->committed = resume_at->offset;
    cur->sent_any = true;
  }
  if (Status s = deser_->open(*cur->input, cur->committed, cur->id.size); !s) {
    log::error("spooldir source {}: Exception opening file: {}: {}", name(), log::escape(path),
               s.error().message);
    counters_.generic_processing_fail.add();
    return false;
  }
  if (resume_at)
    log::info("spooldir source {}: resuming {} at byte {} of {}", name(), log::escape(path),
              cur->committed, cur->id.size);
  cur_ = std::move(cur);
  return true;
}

void SpoolDirectorySource::step() {
  Current& c = *cur_;
  Batch batch;
  const size_t max = std::max<size_t>(1, std::min(o_.batch_size, processor().max_batch()));
  auto n = deser_->read(batch, max, kMaxBatchBytes);
  if (!n) {
    counters_.event_read_fail.add();
    move_aside(c.path, n.error().message + ", after " + std::to_string(c.committed) +
                           " bytes of it were delivered");
    return;
  }
  if (uint64_t t = deser_->take_truncated()) {
    events_truncated_.add(static_cast<int64_t>(t));
    if (truncate_log_.allow())
      log::warn(
          "spooldir source {}: {}: Line length exceeds max ({}), truncating line! ({} events)",
          name(), log::escape(c.path),
          o_.deserializer == DeserializerKind::kLine ? o_.line.max_line_length
                                                     : o_.blob.max_blob_length,
          t);
  }
  struct stat st;
  if (::fstat(cur_->input->fd(), &st) != 0 || id_of(st) != c.id) {
    move_aside(c.path,
               "File has changed size or mtime since it was picked up (still being "
               "written?), after " +
                   std::to_string(c.committed) + " bytes of it were delivered");
    return;
  }
  if (*n == 0) {
    if (c.sent_any) return complete();
    batch.emplace_back();  // Flume: a file whose first read yields nothing gives one empty event
  }
  if (o_.file_header || o_.basename_header) {
    const std::string base = base_of(c.path);
    for (Event& e : batch) {
      if (o_.file_header) e.headers.set(o_.file_header_key, c.path);
      if (o_.basename_header) e.headers.set(o_.basename_header_key, base);
    }
  }
  const uint64_t offset = deser_->offset();
  PositionUpdate update{{kPositionKey, encode_spool_position({c.path, c.id, offset})}};
  if (!commit(batch, update)) return;
  c.committed = offset;
  c.sent_any = true;
}

bool SpoolDirectorySource::commit(Batch& batch, const PositionUpdate& update) {
  const auto n = static_cast<int64_t>(batch.size());
  if (n) {
    counters_.event_received.add(n);
    counters_.append_batch_received.add();
  }
  PutProgress progress;
  pos_->attach(progress, update);
  auto backoff = std::chrono::milliseconds(250);
  for (;;) {
    Status s = processor().process(batch, progress);
    if (s) break;
    counters_.channel_write_fail.add();
    if (channel_log_.allow()) {
      if (s.error().code == Errc::kChannelFull)
        log::warn(
            "spooldir source {}: The channel is full, and cannot write data now. The source will "
            "try again after {} milliseconds",
            name(), backoff.count());
      else
        log::warn(
            "spooldir source {}: The channel threw an exception, and cannot write data now. The "
            "source will try again after {} milliseconds: {}",
            name(), backoff.count(), s.error().message);
    }
    if (!pause(backoff)) return false;
    backoff = std::min(backoff * 2, o_.max_backoff);
  }
  if (n) {
    counters_.event_accepted.add(n);
    counters_.append_batch_accepted.add();
  }
  if (Status s = pos_->committed(update); !s) {
    counters_.generic_processing_fail.add();
    if (pos_log_.allow())
      log::warn("spooldir source {}: cannot write the position file {}: {}", name(), pos_->file(),
                s.error().message);
  }
  return true;
}

bool SpoolDirectorySource::clear_position() {
  Batch none;
  return commit(none, {{kPositionKey, ""}});
}

void SpoolDirectorySource::complete() {
  Current& c = *cur_;
  const std::string path = c.path;
  const std::string dir = dir_of(path);
  std::string failed;
  if (o_.delete_policy == DeletePolicy::kImmediate) {
    log::info("spooldir source {}: Preparing to delete file {}", name(), log::escape(path));
    if (::unlink(path.c_str()) != 0) {
      if (errno == ENOENT)
        log::warn("spooldir source {}: Unable to delete nonexistent file: {}", name(),
                  log::escape(path));
      else
        failed = "Unable to delete spool file: " + path + ": " + std::strerror(errno);
    }
  } else if (o_.tracking_policy == TrackingPolicy::kRename) {
    const std::string dest = path + o_.file_suffix;
    log::info("spooldir source {}: Preparing to move file {} to {}", name(), log::escape(path),
              log::escape(dest));
    if (rename_noreplace(path, dest) != 0) {
      if (errno == EEXIST)
        return move_aside(path, "all of it was delivered, but " + dest +
                                    " exists already: File name has been re-used with "
                                    "different files");
      failed = "Unable to move " + path + " to " + dest + ": " + std::strerror(errno);
    }
  } else {
    const std::string marker = picker_.marker_path(c.rel);
    log::info("spooldir source {}: Preparing to create tracker file for {} at {}", name(),
              log::escape(path), log::escape(marker));
    if (std::filesystem::exists(marker)) {
      // Written before a crash that came before the position was cleared, or a conflict.
      auto text = read_whole_file(Fs::posix(), marker);
      auto id = text ? parse_spool_marker(*text) : Result<std::optional<SpoolFileId>>(text.error());
      if (!id || (*id && **id != c.id))
        return move_aside(path, "all of it was delivered, but its tracker file " + marker +
                                    " exists already for another file");
    } else if (Status s = make_dirs(dir_of(marker)); !s) {
      failed = "Could not create tracker file: " + marker + ": " + s.error().message;
    } else if (Status w = write_file_atomic(Fs::posix(), dir_of(marker), base_of(marker),
                                            encode_spool_marker(c.id));
               !w) {
      failed = "Could not create tracker file: " + marker + ": " + w.error().message;
    }
  }
  if (failed.empty() && o_.tracking_policy == TrackingPolicy::kRename) {
    if (Status s = fsync_dir(dir); !s) failed = s.error().message;
  } else if (failed.empty() && o_.delete_policy == DeletePolicy::kImmediate) {
    if (Status s = fsync_dir(dir); !s) failed = s.error().message;
  }
  if (!failed.empty()) {
    // The file stays current, fully read: the next step() tries to mark it again.
    counters_.generic_processing_fail.add();
    if (list_log_.allow())
      log::error("spooldir source {}: {}; trying again in {} ms", name(), log::escape(failed),
                 o_.max_backoff.count());
    (void)pause(o_.max_backoff);
    return;
  }
  // Only now may the position forget the file: a crash before this line finds it marked.
  if (!clear_position()) return;
  files_completed_.add();
  cur_.reset();
}

void SpoolDirectorySource::move_aside(const std::string& path, const std::string& why) {
  std::string dest = path + o_.error_suffix;
  for (int i = 1; rename_noreplace(path, dest) != 0; ++i) {
    if (errno != EEXIST || i > 1000) {
      counters_.generic_processing_fail.add();
      if (list_log_.allow())
        log::error("spooldir source {}: cannot move {} aside ({}): {}; trying again in {} ms",
                   name(), log::escape(path), std::strerror(errno), log::escape(why),
                   o_.max_backoff.count());
      (void)pause(o_.max_backoff);
      return;
    }
    dest = path + "." + std::to_string(i) + o_.error_suffix;
  }
  (void)fsync_dir(dir_of(path));
  files_moved_aside_.add();
  log::error("spooldir source {}: moved {} aside to {}: {}", name(), log::escape(path),
             log::escape(dest), log::escape(why));
  if (cur_ && cur_->path == path) {
    cur_.reset();
    (void)clear_position();
  }
}

}  // namespace ingestor

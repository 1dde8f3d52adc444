#include "agent/sources/taildir_source.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "agent/sources/taildir_position_file.h"

namespace ingestor {

const ComponentSpec& taildir_source_spec() {
  static const ComponentSpec spec{
      "source",
      "TAILDIR",
      "org.apache.flume.source.taildir.TaildirSource",
      "Tails files matched by a regex per directory, one event per line; resumes at the "
      "positions committed with the events (Flume's JSON position file).",
      {
          {"filegroups", KeyType::kList, std::nullopt, true, "Space-separated file group names"},
          {"filegroups.*", KeyType::kPrefix, std::nullopt, false,
           "filegroups.<g> = <directory>/<regex matching whole file names>"},
          {"positionFile", KeyType::kString, "~/.flume/taildir_position.json", false,
           "Position file, Flume's JSON: [{\"inode\":N,\"pos\":N,\"file\":\"/abs/path\"}]"},
          {"headers.*", KeyType::kPrefix, std::nullopt, false,
           "headers.<g>.<key> = value: a static header on every event of group <g>"},
          {"byteOffsetHeader", KeyType::kBool, "false", false,
           "Add header 'byteoffset': the line's offset in its file"},
          {"skipToEnd", KeyType::kBool, "false", false,
           "At start, files without a saved position start at their end"},
          {"idleTimeout", KeyType::kLong, "120000", false,
           "ms without a commit before a file is read to its end (an unterminated last line "
           "included) and closed",
           0},
          {"writePosInterval", KeyType::kLong, "3000", false,
           "ms between position file writes when the channel stores the positions", 1},
          {"batchSize", KeyType::kInt, "100", false, "Lines per channel transaction", 1},
          {"maxBatchCount", KeyType::kLong, "9223372036854775807", false,
           "Full batches read from one file in a row before moving on (<= 0: the default)"},
          {"backoffSleepIncrement", KeyType::kLong, "1000", false,
           "ms added to the idle wait after each poll that found nothing", 0},
          {"maxBackoffSleep", KeyType::kLong, "5000", false, "Longest idle wait, ms", 0},
          {"cachePatternMatching", KeyType::kBool, "true", false,
           "List a directory again only when its mtime changed"},
          {"fileHeader", KeyType::kBool, "false", false,
           "Add the file's absolute path as a header (fileHeaderKey)"},
          {"fileHeaderKey", KeyType::kString, "file", false, "Name of the file header"},
      }};
  return spec;
}

Result<TaildirOptions> taildir_source_options(const Settings& s,
                                              std::vector<std::string>* warnings) {
  TaildirOptions o;
  const std::vector<std::string> names = s.list("filegroups");
  if (names.empty()) return make_error(Errc::kConfig, "filegroups: no file group given");
  const Context paths = s.sub("filegroups.");
  for (const auto& [g, v] : paths)
    if (std::find(names.begin(), names.end(), g) == names.end() && warnings)
      warnings->push_back("filegroups." + g + " is not in filegroups: ignored");
  for (const std::string& g : names) {
    auto it = paths.find(g);
    if (it == paths.end() || it->second.find_first_not_of(" \t") == std::string::npos)
      return make_error(Errc::kConfig,
                        "filegroups." + g + ": missing (each group needs <directory>/<regex>)");
    std::string v = it->second;
    v.erase(0, v.find_first_not_of(" \t"));
    v.erase(v.find_last_not_of(" \t") + 1);
    const size_t slash = v.rfind('/');
    if (slash == std::string::npos || slash + 1 == v.size())
      return make_error(Errc::kConfig,
                        "filegroups." + g + ": expected <directory>/<regex>, got '" + v + "'");
    std::string dir = slash == 0 ? "/" : v.substr(0, slash);
    if (dir.front() != '/') {  // Flume's File resolves it against the working directory
      std::error_code ec;
      dir = std::filesystem::absolute(dir, ec).string();
    }
    auto re = Regex::compile(v.substr(slash + 1), "filegroups." + g);
    if (!re) return re.error();
    o.groups.push_back({g, std::move(dir), std::move(*re), {}});
  }
  for (const auto& [k, v] : s.sub("headers.")) {
    const size_t dot = k.find('.');
    auto grp = std::find_if(o.groups.begin(), o.groups.end(), [&](const TaildirGroup& x) {
      return dot != std::string::npos && x.name == k.substr(0, dot);
    });
    if (dot == std::string::npos || dot + 1 == k.size())
      return make_error(Errc::kConfig, "headers." + k + ": expected headers.<group>.<key>");
    if (grp == o.groups.end())
      return make_error(Errc::kConfig, "headers." + k + ": no file group '" + k.substr(0, dot) +
                                           "' in filegroups");
    grp->headers.emplace_back(k.substr(dot + 1), v);
  }
  o.position_file = s.str("positionFile");
  if (o.position_file.rfind("~/", 0) == 0) {
    const char* home = std::getenv("HOME");
    o.position_file = std::string(home ? home : "") + o.position_file.substr(1);
  }
  o.byte_offset_header = s.boolean("byteOffsetHeader");
  o.skip_to_end = s.boolean("skipToEnd");
  o.idle_timeout = std::chrono::milliseconds(s.i64("idleTimeout"));
  o.write_pos_interval = std::chrono::milliseconds(s.i64("writePosInterval"));
  o.batch_size = static_cast<size_t>(s.i64("batchSize"));
  o.max_batch_count = s.i64("maxBatchCount");
  if (o.max_batch_count <= 0) {
    if (warnings)
      warnings->push_back(
          "Invalid maxBatchCount specified, initializing source default maxBatchCount of "
          "9223372036854775807");
    o.max_batch_count = INT64_MAX;
  }
  o.backoff_increment =
      std::chrono::milliseconds(std::max<int64_t>(1, s.i64("backoffSleepIncrement")));
  o.max_backoff = std::chrono::milliseconds(std::max<int64_t>(1, s.i64("maxBackoffSleep")));
  o.cache_pattern_matching = s.boolean("cachePatternMatching");
  o.file_header = s.boolean("fileHeader");
  o.file_header_key = s.str("fileHeaderKey");
  return o;
}

TaildirSource::TaildirSource(std::string name, std::shared_ptr<ChannelProcessor> processor,
                             TaildirOptions options)
    : Source(std::move(name), "TAILDIR", std::move(processor)), opts_(std::move(options)) {}

TaildirSource::~TaildirSource() {
  stop();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

Status TaildirSource::prepare() {
  std::filesystem::path pf(opts_.position_file);
  if (pf.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(pf.parent_path(), ec);
    if (ec)
      return make_error(Errc::kIo,
                        "positionFile " + log::escape(opts_.position_file) +
                            ": Error creating positionFile parent directories: " + ec.message());
  }
  positions_ = std::make_unique<SourcePositions>(name(), processor(), opts_.position_file,
                                                 taildir_position_format());
  positions_->set_write_interval(opts_.write_pos_interval);
  auto saved = positions_->load();
  if (!saved)
    return make_error(saved.error().code,
                      "taildir source " + name() + ": cannot read its positionFile " +
                          saved.error().message +
                          " (fix or remove it: starting over would send every file again)");
  if (!positions_->in_channel() && *saved && (*saved)->empty() &&
      std::filesystem::file_size(opts_.position_file) == 0)
    log::warn(
        "taildir source {}: positionFile {} is empty (Flume leaves it so when no file "
        "matched): every file starts at {}",
        name(), log::escape(opts_.position_file), opts_.skip_to_end ? "its end" : "0");
  files_ = std::make_unique<TaildirFiles>(opts_, counters_);
  files_->start(*saved, pending_);
  if (!pending_.empty()) {
    Batch none;
    if (!deliver(nullptr, none)) return make_error(Errc::kChannelClosed, "stopped while starting");
  }
  next_idle_check_ =
      std::chrono::steady_clock::now() +
      std::min<std::chrono::milliseconds>(opts_.idle_timeout, std::chrono::seconds(5));
  return {};
}

Status TaildirSource::start() {
  counters_.started();
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return make_error(Errc::kIo, std::string("eventfd: ") + std::strerror(errno));
  if (Status s = prepare(); !s) return s;
  thread_ = std::thread([this] { run(); });
  return {};
}

void TaildirSource::stop() {
  if (stopping_.exchange(true)) return;
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
  }
  if (thread_.joinable()) thread_.join();
  if (positions_) {
    if (Status s = positions_->flush(); !s)
      log::warn("taildir source {}: cannot write positionFile {}: {}", name(),
                log::escape(opts_.position_file), s.error().message);
  }
  files_.reset();
  counters_.stopped();
}

void TaildirSource::wait(std::chrono::milliseconds d, bool wake_on_files) {
  struct pollfd fds[2];
  int n = 0;
  if (wake_fd_ >= 0) fds[n++] = {wake_fd_, POLLIN, 0};
  if (wake_on_files && files_ && files_->wait_fd() >= 0) fds[n++] = {files_->wait_fd(), POLLIN, 0};
  if (n == 0) {
    std::this_thread::sleep_for(d);
    return;
  }
  (void)::poll(fds, static_cast<nfds_t>(n), static_cast<int>(d.count()));
}

void TaildirSource::run() {
  int64_t backoffs = 0;
  while (!stopping_) {
    if (process() == PollStatus::kReady) {
      backoffs = 0;
      continue;
    }
    if (stopping_) break;
    ++backoffs;
    auto d =
        std::min<std::chrono::milliseconds>(opts_.backoff_increment * backoffs, opts_.max_backoff);
    const auto to_idle = std::chrono::duration_cast<std::chrono::milliseconds>(
        next_idle_check_ - std::chrono::steady_clock::now());
    d = std::max<std::chrono::milliseconds>(std::chrono::milliseconds(1), std::min(d, to_idle));
    wait(d, true);
    if (files_->drain_events()) backoffs = 0;  // something changed: poll again promptly
  }
}

bool TaildirSource::deliver(TailFile* f, Batch& batch) {
  PositionUpdate update = std::move(pending_);
  pending_.clear();
  if (f) update.emplace_back(TaildirFiles::key_of(*f), TaildirFiles::value_of(*f));
  PutProgress progress;
  positions_->attach(progress, update);
  const size_t n = batch.size();
  if (n) {
    counters_.append_batch_received.add(1);
    counters_.event_received.add(n);
  }
  auto delay = std::chrono::milliseconds(10);
  for (;;) {
    Status s = processor().process(batch, progress);
    if (s) break;
    if (stopping_) {
      if (f) files_->rewind(*f);
      return false;
    }
    counters_.channel_write_fail.add(1);
    if (full_log_.allow())
      log::warn(
          "taildir source {}: The channel is full or unexpected failure ({}). The source "
          "will try again after {} ms",
          name(), s.error().message, delay.count());
    wait(delay, false);
    delay = std::min<std::chrono::milliseconds>(delay * 2, opts_.max_backoff);
  }
  if (n) {
    counters_.append_batch_accepted.add(1);
    counters_.event_accepted.add(n);
  }
  if (f) files_->committed(*f);
  if (Status s = positions_->committed(update); !s) {
    counters_.generic_processing_fail.add(1);
    if (fail_log_.allow())
      log::warn(
          "taildir source {}: cannot write positionFile {}: {} (tried again at the next "
          "commit)",
          name(), log::escape(opts_.position_file), s.error().message);
  }
  return true;
}

void TaildirSource::read_to_end(TailFile& f, bool partial_ok, bool& ready) {
  const size_t max = std::max<size_t>(1, std::min(opts_.batch_size, processor().max_batch()));
  int64_t full = 0;
  while (!stopping_) {
    Batch batch;
    auto n = files_->read_lines(f, max, partial_ok, batch);
    if (!n) {
      counters_.event_read_fail.add(1);
      if (fail_log_.allow())
        log::error("taildir source {}: Unable to tail files: {}", name(), n.error().message);
      files_->rewind(f);
      return;
    }
    if (f.read_pos == f.pos) return;
    if (!deliver(&f, batch)) return;
    if (*n < max) return;
    if (++full >= opts_.max_batch_count) {
      ready = true;
      return;
    }
  }
}

PollStatus TaildirSource::process() {
  files_->drain_events();
  bool ready = false;
  for (TailFile* f : files_->scan(pending_)) {
    if (stopping_) return PollStatus::kBackoff;
    read_to_end(*f, f->deleted, ready);
  }
  // Idle files (Flume's checker, every min(idleTimeout, 5 s)) and deleted ones (at once): read
  // to the end, the unterminated last line included, then closed (dropped when no longer
  // matched).
  const auto now = std::chrono::steady_clock::now();
  const bool idle_pass = now >= next_idle_check_;
  if (idle_pass)
    next_idle_check_ =
        now + std::min<std::chrono::milliseconds>(opts_.idle_timeout, std::chrono::seconds(5));
  const auto as_of = idle_all_ ? now + opts_.idle_timeout : now;
  idle_all_ = false;
  for (TailFile* f : files_->idle_files(as_of, !idle_pass)) {
    bool more = false;
    for (uint64_t before = ~uint64_t{0}; before != f->read_pos && !stopping_;) {
      before = f->read_pos;
      read_to_end(*f, true, more);
    }
    if (stopping_) return PollStatus::kBackoff;
    files_->close(*f, pending_);
  }
  if (!pending_.empty() && !stopping_) {
    Batch none;
    (void)deliver(nullptr, none);  // position changes with no line to carry them
  }
  return ready ? PollStatus::kReady : PollStatus::kBackoff;
}

}  // namespace ingestor

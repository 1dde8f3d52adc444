#include "agent/sinks/hdfs_local_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "base/log.h"
#include "core/take_group.h"

namespace ingestor {

using Clock = std::chrono::steady_clock;

Result<HdfsLocalOptions> hdfs_local_options(const std::string& name, const Settings& s,
                                            const std::string& directory) {
  HdfsLocalOptions o;
  if (auto st = read_flume_file_options("hdfs.", s, o); !st) return st.error();
  o.directory = directory;
  while (o.directory.size() > 1 && o.directory.back() == '/') o.directory.pop_back();
  o.dead_letter_dir = s.str("deadLetterDir");
  if (o.dead_letter_dir.empty()) o.dead_letter_dir = "ingestor-data/dead-letter/" + name;
  return o;
}

HdfsLocalSink::HdfsLocalSink(std::string name, HdfsLocalOptions options, BucketPath path,
                             BucketPath prefix)
    : Sink(std::move(name), "hdfs"),
      opts_(std::move(options)),
      path_pattern_(std::move(path)),
      prefix_pattern_(std::move(prefix)),
      dead_letters_file_(opts_.dead_letter_dir, this->name()),
      ser_(opts_.serializer) {}

Result<std::unique_ptr<HdfsLocalSink>> HdfsLocalSink::create(std::string name,
                                                             HdfsLocalOptions options) {
  auto path = BucketPath::compile(options.directory);
  if (!path) return make_error(Errc::kConfig, "hdfs.path: " + path.error().message);
  auto prefix = BucketPath::compile(options.file_prefix);
  if (!prefix) return make_error(Errc::kConfig, "hdfs.filePrefix: " + prefix.error().message);
  return std::unique_ptr<HdfsLocalSink>(
      new HdfsLocalSink(std::move(name), std::move(options), std::move(*path), std::move(*prefix)));
}

HdfsLocalSink::~HdfsLocalSink() { stop(); }

std::string HdfsLocalSink::file_path(const std::string& dir, const std::string& prefix, uint64_t n,
                                     const std::string& suffix, const std::string& in_use_prefix,
                                     const std::string& in_use_suffix) {
  std::string name = prefix + "." + std::to_string(n) + suffix + in_use_suffix;
  size_t slash = name.rfind('/');  // a filePrefix may name a subdirectory
  name.insert(slash == std::string::npos ? 0 : slash + 1, in_use_prefix);
  return dir + "/" + name;
}

Status HdfsLocalSink::start() {
  recover_in_use();
  counters_.started();
  return {};
}

void HdfsLocalSink::recover_in_use() {
  // Only a path without escapes names one directory to look in; and without an in-use prefix or
  // suffix nothing tells a file being written from a closed one.
  if (!path_pattern_.is_constant()) return;
  if (opts_.in_use_prefix.empty() && opts_.in_use_suffix.empty()) return;
  std::error_code ec;
  const std::string dir = path_pattern_.pattern();
  const std::string tail = opts_.effective_suffix() + opts_.in_use_suffix;
  for (const auto& ent : std::filesystem::directory_iterator(dir, ec)) {
    std::string n = ent.path().filename().string();
    if (!ent.is_regular_file(ec) || n.size() <= opts_.in_use_prefix.size() + tail.size() ||
        n.rfind(opts_.in_use_prefix, 0) != 0 || !n.ends_with(tail))
      continue;
    std::string final_name =
        n.substr(opts_.in_use_prefix.size(),
                 n.size() - opts_.in_use_prefix.size() - opts_.in_use_suffix.size());
    // <prefix>.<N><suffix>
    std::string stem = final_name.substr(0, final_name.size() - opts_.effective_suffix().size());
    size_t dot = stem.rfind('.');
    if (dot == std::string::npos || dot + 1 == stem.size() ||
        !std::all_of(stem.begin() + static_cast<long>(dot) + 1, stem.end(),
                     [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    if (prefix_pattern_.is_constant() && stem.substr(0, dot) != prefix_pattern_.pattern()) continue;
    std::string from = dir + "/" + n, to = dir + "/" + final_name;
    if (std::filesystem::exists(to, ec)) {
      log::warn("sink {}: in-use file {} from a previous run left as it is: {} exists", name(),
                from, to);
      continue;
    }
    auto f = File::open(from, O_RDONLY);
    if (!f || !f->fsync() || std::rename(from.c_str(), to.c_str()) != 0) {
      log::warn("sink {}: cannot close in-use file {} from a previous run", name(), from);
      continue;
    }
    log::info("sink {}: closed in-use file {} from a previous run as {}", name(), from, to);
  }
  if (!ec) (void)fsync_dir(dir);
}

void HdfsLocalSink::stop() {
  std::vector<std::string> open;
  for (auto& [bucket, w] : writers_) open.push_back(bucket);
  for (auto& bucket : open)
    if (auto s = close_writer(bucket); !s) log::error("sink {}: {}", name(), s.error().message);
  writers_.clear();
  counters_.stopped();
}

Status HdfsLocalSink::open_writer(const std::string& bucket, const std::string& dir,
                                  const std::string& prefix, Writer& w) {
  uint64_t& n = next_n_[bucket];
  if (n == 0) n = static_cast<uint64_t>(now_epoch_ms()) + 1;  // Flume: creation ms + 1
  const std::string suffix = opts_.effective_suffix();
  w.final_path = file_path(dir, prefix, n, suffix);
  w.in_use_path = file_path(dir, prefix, n, suffix, opts_.in_use_prefix, opts_.in_use_suffix);
  ++n;
  std::string parent = std::filesystem::path(w.in_use_path).parent_path().string();
  if (auto made = make_dirs(parent); !made) {
    counters_.connection_failed.add();
    return made;
  }
  auto f = File::open(w.in_use_path, O_WRONLY | O_CREAT | O_APPEND);
  if (!f) {
    counters_.connection_failed.add();
    return f.error();
  }
  w.file = std::move(*f);
  w.count = w.bytes = w.committed_count = w.committed_bytes = 0;
  w.opened = w.last_event = Clock::now();
  w.roll = false;
  ser_.new_file(w.ser);
  counters_.connection_created.add();
  return {};
}

Status HdfsLocalSink::write_pending(Writer& w) {
  // avro_event: the open block ends here, so what the file holds is always whole blocks.
  if (auto s = ser_.end_block(w.ser, w.pending); !s) return s;
  if (w.pending.empty()) return {};
  std::string_view out = w.pending;
  if (opts_.codec != Codec::kNone) {
    // One member/stream/frame per write: a file cut short is decodable up to its last write.
    if (!compressor_) {
      auto comp = make_compressor(opts_.codec);
      if (!comp) return comp.error();
      compressor_ = std::move(*comp);
    } else if (auto s = compressor_->reset(); !s) {
      return s;
    }
    buf_.clear();
    if (auto s = compressor_->write(w.pending, buf_); !s) return s;
    if (auto s = compressor_->finish(buf_); !s) return s;
    out = buf_;
  }
  if (auto s = w.file.write_all(out); !s) {
    w.torn = true;  // a short write may have left part of `out` in the file
    return s;
  }
  w.bytes += static_cast<int64_t>(out.size());
  w.pending.clear();
  if (opts_.roll_size > 0 && w.bytes >= opts_.roll_size) w.roll = true;
  return {};
}

Status HdfsLocalSink::flush_writers() {
  for (auto& [bucket, w] : writers_)
    if (auto s = write_pending(w); !s) return s;
  return {};
}

Status HdfsLocalSink::close_writer(const std::string& bucket) {
  auto it = writers_.find(bucket);
  if (it == writers_.end()) return {};
  Writer& w = it->second;
  Status st = write_pending(w);
  if (st) st = w.file.fsync();  // durable before it gets its final name
  Status c = w.file.close();
  if (st) st = c;
  if (st && w.in_use_path != w.final_path &&
      std::rename(w.in_use_path.c_str(), w.final_path.c_str()) != 0)
    st = make_error(
        Errc::kIo, "rename " + w.in_use_path + " to " + w.final_path + ": " + std::strerror(errno));
  if (st) (void)fsync_dir(std::filesystem::path(w.final_path).parent_path().string());
  writers_.erase(it);
  if (!st) {
    counters_.connection_failed.add();
    return st;
  }
  counters_.connection_closed.add();
  files_closed_.add();
  return {};
}

Status HdfsLocalSink::stage(const Batch& events) {
  const int64_t now_ms = now_epoch_ms();
  const auto now = Clock::now();
  // With no escape in the path and prefix every event goes to one bucket: expand it once.
  const bool constant = path_pattern_.is_constant() && prefix_pattern_.is_constant();
  std::string dir, prefix, bucket;
  bool expanded = false;
  auto it = writers_.end();
  for (const Event& e : events) {
    if (auto why = ser_.reject(e)) {  // SequenceFile: a timestamp header that is no number
      dead_letters_.add();
      if (auto s = dead_letters_file_.write(e, *why); !s) return s;
      continue;
    }
    if (!constant || !expanded) {
      auto pr = path_pattern_.expand(e.headers, now_ms, opts_.time);
      auto fr = pr ? prefix_pattern_.expand(e.headers, now_ms, opts_.time) : pr;
      if (!pr || !fr) {
        dead_letters_.add();
        if (auto s = dead_letters_file_.write(e, (!pr ? pr : fr).error().message); !s) return s;
        continue;
      }
      dir = std::move(*pr);
      prefix = std::move(*fr);
      bucket = dir + "/" + prefix;
      expanded = true;
      it = writers_.find(bucket);
    } else if (it == writers_.end()) {
      it = writers_.find(bucket);
    }
    if (it != writers_.end() && it->second.roll) {
      // Count/size roll: close the file; the same bucket goes on with N + 1.
      if (auto s = close_writer(bucket); !s) return s;
      it = writers_.end();
    }
    if (it == writers_.end()) {
      if (static_cast<int64_t>(writers_.size()) >= opts_.max_open_files) {
        auto eldest = std::min_element(writers_.begin(), writers_.end(), [](auto& a, auto& b) {
          return a.second.last_event < b.second.last_event;
        });
        if (auto s = close_writer(eldest->first); !s) return s;
      }
      Writer w;
      if (auto s = open_writer(bucket, dir, prefix, w); !s) return s;
      it = writers_.emplace(bucket, std::move(w)).first;
    }
    Writer& w = it->second;
    const size_t before = w.pending.size() + w.ser.held();
    if (auto s = ser_.add(w.ser, e, w.pending); !s) return s;
    const size_t buffered = w.pending.size() + w.ser.held();
    group_bytes_ += buffered - std::min(before, buffered);
    ++w.count;
    w.last_event = now;
    // Size rolls count encoded bytes: known before the write only without compression (an
    // avro_event block adds its count, size and sync marker, and the file its header).
    if (opts_.codec == Codec::kNone && !ser_.compresses() &&
        opts_.roll_size > 0 && w.bytes + static_cast<int64_t>(buffered) >= opts_.roll_size)
      w.roll = true;
    // Write as the buffer fills: writes of kWriteBytes whose bytes are still in the CPU's cache.
    if (buffered >= kWriteBytes)
      if (auto s = write_pending(w); !s) return s;
    if (opts_.roll_count > 0 && w.count >= opts_.roll_count) w.roll = true;
  }
  return {};
}

void HdfsLocalSink::discard_uncommitted() {
  // The takes roll back and their events come again: nothing of them may stay in a file.
  counters_.event_write_fail.add();
  for (auto& [bucket, w] : writers_) {
    w.pending.clear();
    ser_.discard(w.ser, w.committed_bytes);
    if ((w.bytes != w.committed_bytes || w.torn) &&
        ::ftruncate(w.file.fd(), w.committed_bytes) != 0)
      log::error("sink {}: cannot truncate {} after a failed write: {}", name(), w.in_use_path,
                 std::strerror(errno));
    w.torn = false;
    w.count = w.committed_count;
    w.bytes = w.committed_bytes;
    w.roll = (opts_.roll_count > 0 && w.count >= opts_.roll_count) ||
             (opts_.roll_size > 0 && w.bytes >= opts_.roll_size);
  }
}

std::chrono::steady_clock::time_point HdfsLocalSink::next_timer() const {
  auto t = Clock::time_point::max();
  for (const auto& [bucket, w] : writers_) {
    if (opts_.roll_interval_s > 0)
      t = std::min(t, w.opened + std::chrono::seconds(opts_.roll_interval_s));
    if (opts_.idle_timeout_s > 0)
      t = std::min(t, w.last_event + std::chrono::seconds(opts_.idle_timeout_s));
  }
  return t;
}

Result<SinkStatus> HdfsLocalSink::process() {
  // Timed rolls: interval and idle end the bucket's writer (a fresh N next time, as Flume).
  const auto now = Clock::now();
  std::vector<std::string> due;
  for (const auto& [bucket, w] : writers_) {
    if ((opts_.roll_interval_s > 0 &&
         now >= w.opened + std::chrono::seconds(opts_.roll_interval_s)) ||
        (opts_.idle_timeout_s > 0 &&
         now >= w.last_event + std::chrono::seconds(opts_.idle_timeout_s)))
      due.push_back(bucket);
  }
  for (const auto& bucket : due) {
    if (auto s = close_writer(bucket); !s) return s.error();
    next_n_.erase(bucket);
  }

  // One batch per take, as Flume; while the channel holds full batches, more takes share one
  // write per file and one commit (the file channel group-commits them).
  TakeGroup group(*channel_);
  int64_t taken = 0;
  group_bytes_ = 0;
  for (;;) {
    Tx& tx = group.begin();
    auto n = tx.take(opts_.batch_size);
    if (!n) {
      counters_.channel_read_fail.add();
      group.drop_last();
      if (group.empty()) return n.error();
      break;
    }
    if (*n == 0) {
      group.drop_last();
      break;
    }
    (*n < opts_.batch_size ? counters_.batch_underflow : counters_.batch_complete).add();
    counters_.event_drain_attempt.add(static_cast<int64_t>(*n));
    taken += static_cast<int64_t>(*n);
    if (auto s = stage(tx.taken()); !s) {
      discard_uncommitted();
      return s.error();  // the group rolls back
    }
    if (*n < opts_.batch_size || group.size() >= kGroupTakes || group_bytes_ >= kGroupBytes) break;
  }
  if (group.empty()) {
    counters_.batch_empty.add();
    return SinkStatus::kBackoff;
  }
  Status st = flush_writers();
  if (st) st = dead_letters_file_.sync();
  if (st) st = group.commit();
  if (!st) {
    discard_uncommitted();
    return st.error();
  }
  counters_.event_drain_success.add(taken);
  std::vector<std::string> rolled;
  for (auto& [bucket, w] : writers_) {
    w.committed_count = w.count;
    w.committed_bytes = w.bytes;
    if (w.roll) rolled.push_back(bucket);
  }
  for (const auto& bucket : rolled)
    if (auto s = close_writer(bucket); !s) return s.error();
  return SinkStatus::kReady;
}

void HdfsLocalSink::collect_metrics(MetricList& out) const {
  counters_.collect(out);
  out.emplace_back("FilesClosed", std::to_string(files_closed_.get()));
  out.emplace_back("DeadLetterCount", std::to_string(dead_letters_.get()));
  out.emplace_back("RollInterval", std::to_string(opts_.roll_interval_s));
}

}  // namespace ingestor

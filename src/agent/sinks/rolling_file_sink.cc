#include "agent/sinks/rolling_file_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "base/log.h"
#include "core/take_group.h"

namespace ingestor {

const ComponentSpec& rolling_file_sink_spec() {
  static const ComponentSpec spec{
      "sink",
      "file_roll",
      "org.apache.flume.sink.RollingFileSink",
      "Writes events to files in a local directory, rolling them on a timer.",
      {
          {"sink.directory", KeyType::kString, std::nullopt, true, "Directory for the files"},
          {"sink.rollInterval", KeyType::kLong, "30", false,
           "Seconds before a new file is started; 0 writes one file", 0},
          {"sink.batchSize", KeyType::kInt, "100", false, "Events taken per transaction", 1},
          {"sink.serializer", KeyType::kString, "TEXT", false,
           "text, header_and_text or avro_event"},
          {"sink.serializer.*", KeyType::kPrefix, std::nullopt, false,
           "Serializer options: appendNewline (true); avro_event: compressionCodec (null), "
           "syncIntervalBytes (2048000)"},
          {"sink.pathManager", KeyType::kString, "DEFAULT", false,
           "DEFAULT (<prefix><startMillis>-<n>) or ROLLTIME (<prefix><yyyyMMddHHmmss>-<n>)"},
          {"sink.pathManager.prefix", KeyType::kString, "", false, "File name prefix"},
          {"sink.pathManager.extension", KeyType::kString, "", false,
           "File name extension, without the dot"},
      }};
  return spec;
}

Result<RollingFileSinkOptions> rolling_file_sink_options(const Settings& s) {
  RollingFileSinkOptions o;
  o.directory = s.str("sink.directory");
  o.roll_interval_s = s.i64("sink.rollInterval");
  o.batch_size = static_cast<size_t>(s.i64("sink.batchSize"));
  Context ser = s.sub("sink.serializer.");
  if (auto err = serializer_options(s.str("sink.serializer"), ser, o.serializer))
    return make_error(Errc::kConfig, "sink.serializer: " + *err);
  std::string pm = s.str("sink.pathManager");
  for (auto& c : pm) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (pm == "ROLLTIME") {
    o.rolltime_names = true;
  } else if (pm != "DEFAULT") {
    return make_error(Errc::kConfig,
                      "sink.pathManager: expected DEFAULT or ROLLTIME, got '" + pm + "'");
  }
  o.prefix = s.str("sink.pathManager.prefix");
  o.extension = s.str("sink.pathManager.extension");
  return o;
}

RollingFileSink::RollingFileSink(std::string name, RollingFileSinkOptions options)
    : Sink(std::move(name), "file_roll"), opts_(std::move(options)), ser_(opts_.serializer) {}

RollingFileSink::~RollingFileSink() { (void)close_current(); }

Status RollingFileSink::start() {
  if (auto s = make_dirs(opts_.directory); !s)
    return make_error(Errc::kConfig, "sink.directory: " + s.error().message);
  series_ms_ = now_epoch_ms();
  counters_.started();
  return {};
}

void RollingFileSink::stop() {
  if (auto s = close_current(); !s) log::error("sink {}: {}", name(), s.error().message);
  counters_.stopped();
}

std::string RollingFileSink::next_name() {
  std::string stamp;
  if (opts_.rolltime_names) {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    localtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%d%H%M%S", &tm);
    stamp = buf;
  } else {
    stamp = std::to_string(series_ms_);
  }
  std::string n = opts_.prefix + stamp + "-" + std::to_string(++index_);
  if (!opts_.extension.empty()) n += "." + opts_.extension;
  return opts_.directory + "/" + n;
}

Status RollingFileSink::open_next() {
  auto f = File::open(next_name(), O_WRONLY | O_CREAT | O_APPEND);
  if (!f) {
    counters_.connection_failed.add();
    return f.error();
  }
  file_ = std::move(*f);
  file_bytes_ = 0;
  opened_at_ = std::chrono::steady_clock::now();
  counters_.connection_created.add();
  return {};
}

Status RollingFileSink::close_current() {
  if (!file_.is_open()) return {};
  ser_.new_file(ser_file_);  // the next file starts with its own header (avro_event)
  Status s = file_.fsync();
  Status c = file_.close();
  if (!s) return s;
  if (!c) return c;
  counters_.connection_closed.add();
  return {};
}

std::chrono::steady_clock::time_point RollingFileSink::next_timer() const {
  if (!file_.is_open() || opts_.roll_interval_s <= 0)
    return std::chrono::steady_clock::time_point::max();
  return opened_at_ + std::chrono::seconds(opts_.roll_interval_s);
}

Result<SinkStatus> RollingFileSink::process() {
  if (file_.is_open() && std::chrono::steady_clock::now() >= next_timer()) {
    if (auto s = close_current(); !s) {
      counters_.connection_failed.add();
      return s.error();
    }
  }
  // One batch per take, as Flume; while the channel holds full batches, more takes share one
  // commit (up to kGroupBytes), and the buffer is written each time it reaches kWriteBytes.
  TakeGroup group(*channel_);
  int64_t taken = 0;
  size_t group_bytes = 0;
  buf_.clear();
  // What a failed call left in the open block was rolled back; a header not written is due again.
  ser_.discard(ser_file_, file_.is_open() ? file_bytes_ : 0);
  // A failed write cuts the file back to here: the group's takes roll back, so none of its bytes
  // may stay (and an avro_event file stays whole blocks).
  const int64_t group_start = file_.is_open() ? file_bytes_ : 0;
  auto write_buf = [&]() -> Status {
    if (buf_.empty()) return {};
    if (!file_.is_open())
      if (auto s = open_next(); !s) return s;
    if (auto s = file_.write_all(buf_); !s) {
      counters_.event_write_fail.add();
      if (::ftruncate(file_.fd(), group_start) != 0)
        log::error("sink {}: cannot cut a file back after a failed write: {}", name(),
                   std::strerror(errno));
      (void)file_.close();  // the next batch starts a new file
      ser_.new_file(ser_file_);
      return s;             // the takes roll back
    }
    file_bytes_ += static_cast<int64_t>(buf_.size());
    buf_.clear();
    return {};
  };
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
    for (const Event& e : tx.taken()) {
      const size_t before = buf_.size() + ser_file_.held();
      if (auto s = ser_.add(ser_file_, e, buf_); !s) return s.error();
      const size_t after = buf_.size() + ser_file_.held();
      group_bytes += after - std::min(before, after);
      if (after >= kWriteBytes) {
        if (auto s = ser_.end_block(ser_file_, buf_); !s) return s.error();
        if (auto s = write_buf(); !s) return s.error();
      }
    }
    if (*n < opts_.batch_size || group_bytes >= kGroupBytes) break;
  }
  if (group.empty()) {
    counters_.batch_empty.add();
    return SinkStatus::kBackoff;
  }
  if (auto s = ser_.end_block(ser_file_, buf_); !s) return s.error();
  if (auto s = write_buf(); !s) return s.error();
  if (auto s = group.commit(); !s) return s.error();
  counters_.event_drain_success.add(taken);
  return SinkStatus::kReady;
}

}  // namespace ingestor

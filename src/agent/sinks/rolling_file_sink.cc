#include "agent/sinks/rolling_file_sink.h"

#include <fcntl.h>

#include <ctime>

#include "base/log.h"

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
          {"sink.serializer", KeyType::kString, "TEXT", false, "text or header_and_text"},
          {"sink.serializer.*", KeyType::kPrefix, std::nullopt, false,
           "Serializer options: appendNewline (true)"},
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
    : Sink(std::move(name), "file_roll"), opts_(std::move(options)) {}

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
  opened_at_ = std::chrono::steady_clock::now();
  counters_.connection_created.add();
  return {};
}

Status RollingFileSink::close_current() {
  if (!file_.is_open()) return {};
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
  Tx tx = channel_->begin();
  auto n = tx.take(opts_.batch_size);
  if (!n) {
    counters_.channel_read_fail.add();
    return n.error();
  }
  if (*n == 0) {
    counters_.batch_empty.add();
    return SinkStatus::kBackoff;
  }
  (*n < opts_.batch_size ? counters_.batch_underflow : counters_.batch_complete).add();
  counters_.event_drain_attempt.add(static_cast<int64_t>(*n));
  buf_.clear();
  for (const Event& e : tx.taken()) serialize_event(opts_.serializer, e, buf_);
  if (!file_.is_open()) {
    if (auto s = open_next(); !s) return s.error();
  }
  if (auto s = file_.write_all(buf_); !s) {
    counters_.event_write_fail.add();
    (void)file_.close();  // the next batch starts a new file
    return s.error();     // the Tx rolls back
  }
  if (auto s = tx.commit(); !s) return s.error();
  counters_.event_drain_success.add(static_cast<int64_t>(*n));
  return SinkStatus::kReady;
}

}  // namespace ingestor

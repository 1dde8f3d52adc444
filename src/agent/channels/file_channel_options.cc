#include "agent/channels/file_channel_options.h"

#include <cstdlib>

namespace ingestor {

namespace {

std::string expand_home(std::string p) {
  if (!p.empty() && p[0] == '~') {
    const char* home = std::getenv("HOME");
    p = std::string(home ? home : "") + p.substr(1);
  }
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

std::vector<std::string> split_dirs(const std::string& s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t c = s.find(',', pos);
    if (c == std::string::npos) c = s.size();
    std::string d = s.substr(pos, c - pos);
    size_t b = d.find_first_not_of(" \t");
    size_t e = d.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(expand_home(d.substr(b, e - b + 1)));
    pos = c + 1;
  }
  return out;
}

}  // namespace

const ComponentSpec& file_channel_spec() {
  static const ComponentSpec spec{
      "channel",
      "file",
      "org.apache.flume.channel.file.FileChannel",
      "Durable channel: a write-ahead log with group commit and checkpoints.",
      {
          {"checkpointDir", KeyType::kString, "~/.flume/file-channel/checkpoint", false,
           "Directory of the checkpoint"},
          {"dataDirs", KeyType::kString, "~/.flume/file-channel/data", false,
           "Comma-separated directories of the log segments"},
          {"useDualCheckpoints", KeyType::kBool, "false", false,
           "Also write the checkpoint to backupCheckpointDir"},
          {"backupCheckpointDir", KeyType::kString, "", false,
           "Directory of the backup checkpoint (must differ from the others)"},
          {"capacity", KeyType::kLong, "1000000", false, "Maximum number of events in the channel"},
          {"transactionCapacity", KeyType::kLong, "10000", false,
           "Maximum events one transaction may put or take"},
          {"checkpointInterval", KeyType::kLong, "30000", false,
           "Milliseconds between checkpoints"},
          {"maxFileSize", KeyType::kLong, "2146435071", false,
           "Maximum size of one log segment in bytes"},
          {"minimumRequiredSpace", KeyType::kLong, "524288000", false,
           "Puts fail when the data directory has less free space than this (at least 1 MiB)"},
          {"keep-alive", KeyType::kInt, "3", false,
           "Seconds a source keeps retrying a put into a full channel before it fails"},
          {"checkpointOnClose", KeyType::kBool, "true", false, "Write a checkpoint on stop"},
          {"fsyncPerTransaction", KeyType::kBool, "true", false,
           "Acknowledge a commit only after its data is fsynced (group commit)"},
          {"fsyncInterval", KeyType::kInt, "5", false,
           "Seconds between fsyncs when fsyncPerTransaction is false"},
          {"use-log-replay-v1", KeyType::kBool, "false", false, "Accepted for Flume; no effect"},
          {"use-fast-replay", KeyType::kBool, "false", false, "Accepted for Flume; no effect"},
          {"compressBackupCheckpoint", KeyType::kBool, "false", false,
           "Accepted for Flume; no effect"},
          {"checkpointOnCloseTimeout", KeyType::kString, std::nullopt, false,
           "Accepted for Flume; no effect"},
          {"write-timeout", KeyType::kString, std::nullopt, false,
           "Deprecated in Flume; no effect"},
          {"checkpoint-timeout", KeyType::kString, std::nullopt, false,
           "Deprecated in Flume; no effect"},
          {"encryption.*", KeyType::kPrefix, std::nullopt, false,
           "Flume's log encryption; not supported (a warning)"},
      }};
  return spec;
}

Result<FileChannelOptions> file_channel_options(const Settings& s, Diagnostics& diags,
                                                const std::string& name) {
  FileChannelOptions o;
  o.checkpoint_dir = expand_home(s.str("checkpointDir"));
  o.data_dirs = split_dirs(s.str("dataDirs"));
  if (o.data_dirs.empty()) return make_error(Errc::kConfig, "dataDirs names no directory");
  o.use_dual_checkpoints = s.boolean("useDualCheckpoints");
  o.backup_checkpoint_dir = expand_home(s.str("backupCheckpointDir"));
  if (o.use_dual_checkpoints) {
    if (o.backup_checkpoint_dir.empty())
      return make_error(Errc::kConfig,
                        "backupCheckpointDir must be set when useDualCheckpoints is true");
    if (o.backup_checkpoint_dir == o.checkpoint_dir)
      return make_error(Errc::kConfig, "backupCheckpointDir must differ from checkpointDir");
    for (const auto& d : o.data_dirs)
      if (d == o.backup_checkpoint_dir)
        return make_error(Errc::kConfig, "backupCheckpointDir must differ from dataDirs");
  }
  for (const auto& d : o.data_dirs)
    if (d == o.checkpoint_dir)
      return make_error(Errc::kConfig, "checkpointDir and dataDirs must be different directories");
  o.capacity = s.i64("capacity");
  if (o.capacity <= 0) {
    diags.warning("channel", name, "capacity",
                  "capacity " + std::to_string(o.capacity) + " is not positive; using 1000000");
    o.capacity = 1000000;
  }
  o.transaction_capacity = s.i64("transactionCapacity");
  if (o.transaction_capacity <= 0) {
    diags.warning("channel", name, "transactionCapacity",
                  "transactionCapacity " + std::to_string(o.transaction_capacity) +
                      " is not positive; using 10000");
    o.transaction_capacity = 10000;
  }
  if (o.transaction_capacity > o.capacity) {
    return make_error(Errc::kConfig,
                      "File Channel transaction capacity cannot be greater than the capacity of "
                      "the channel (transactionCapacity " +
                          std::to_string(o.transaction_capacity) + ", capacity " +
                          std::to_string(o.capacity) + ")");
  }
  int64_t ci = s.i64("checkpointInterval");
  o.checkpoint_interval = std::chrono::milliseconds(ci > 0 ? ci : 30000);
  int64_t mfs = s.i64("maxFileSize");
  o.max_file_size = (mfs > 0 && mfs < 2146435071) ? mfs : 2146435071;
  o.minimum_required_space = std::max<int64_t>(s.i64("minimumRequiredSpace"), 1 << 20);
  int64_t ka = s.i64("keep-alive");
  o.keep_alive = std::chrono::milliseconds(ka < 0 ? 0 : ka * 1000);
  o.checkpoint_on_close = s.boolean("checkpointOnClose");
  o.fsync_per_transaction = s.boolean("fsyncPerTransaction");
  int64_t fi = s.i64("fsyncInterval");
  o.fsync_interval = std::chrono::milliseconds((fi > 0 ? fi : 5) * 1000);
  if (!s.sub("encryption.").empty())
    diags.warning("channel", name, "encryption",
                  "file channel encryption is not supported; the log is written in clear");
  return o;
}

}  // namespace ingestor

#pragma once
// FileChannel configuration: Flume's keys and defaults (flume.md 3.6), as a ComponentSpec table
// and a pure parsing function.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/config/spec.h"

namespace ingestor {

struct FileChannelOptions {
  std::string checkpoint_dir;          // default ~/.flume/file-channel/checkpoint
  std::vector<std::string> data_dirs;  // default ~/.flume/file-channel/data
  bool use_dual_checkpoints = false;
  std::string backup_checkpoint_dir;
  int64_t capacity = 1000000;
  int64_t transaction_capacity = 10000;
  std::chrono::milliseconds checkpoint_interval{30000};
  int64_t max_file_size = 2146435071;
  int64_t minimum_required_space = 524288000;
  std::chrono::milliseconds keep_alive{3000};
  bool checkpoint_on_close = true;
  bool fsync_per_transaction = true;
  std::chrono::milliseconds fsync_interval{5000};
  // Not a Flume key: how long a free-space reading is reused before statvfs is asked again.
  std::chrono::milliseconds space_check_interval{100};
};

const ComponentSpec& file_channel_spec();
// Reads the options with Flume's fallbacks (non-positive capacity -> default with a warning,
// maxFileSize capped at its default, minimumRequiredSpace at least 1 MiB). Errors: capacity below
// transactionCapacity, useDualCheckpoints without backupCheckpointDir, or a backup directory equal
// to another directory.
Result<FileChannelOptions> file_channel_options(const Settings& s, Diagnostics& diags,
                                                const std::string& name);

}  // namespace ingestor

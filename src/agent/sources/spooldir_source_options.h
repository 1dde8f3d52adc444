#pragma once
// The spooldir source's configuration (Flume's SpoolDirectorySource keys, flume-components.md
// 1.2): the ComponentSpec table and its parsing into SpoolDirOptions, a pure function.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "agent/sources/spool_deserializer.h"
#include "agent/sources/spool_file_picker.h"
#include "core/config/spec.h"

namespace ingestor {

const ComponentSpec& spooldir_source_spec();

enum class DeletePolicy { kNever, kImmediate };
enum class TrackingPolicy { kRename, kTrackerDir };
enum class DeserializerKind { kLine, kBlob };

struct SpoolDirOptions {
  std::string spool_dir;    // absolute
  std::string tracker_dir;  // absolute (relative trackerDir resolved against spoolDir)
  std::string file_suffix = ".COMPLETED";
  std::string error_suffix = ".ERROR";  // not in Flume: files moved aside
  DeletePolicy delete_policy = DeletePolicy::kNever;
  TrackingPolicy tracking_policy = TrackingPolicy::kRename;
  bool file_header = false;
  std::string file_header_key = "file";
  bool basename_header = false;
  std::string basename_header_key = "basename";
  std::shared_ptr<const Regex> include, ignore;
  ConsumeOrder consume_order = ConsumeOrder::kOldest;
  bool recursive = false;
  std::chrono::milliseconds poll_delay{500};
  std::chrono::milliseconds max_backoff{4000};
  size_t batch_size = 100;
  DeserializerKind deserializer = DeserializerKind::kLine;
  LineDeserializerOptions line;
  BlobDeserializerOptions blob;

  // The position file (core/source_position.h) and the lock that keeps a second source off the
  // same directory, both in the tracker directory.
  std::string position_file() const { return tracker_dir + "/positions"; }
  std::string lock_file() const { return tracker_dir + "/in_use.lock"; }
  SpoolPickerOptions picker() const;
};

// Reads and checks the options. `warnings` receives what is accepted but deserves a word
// (bufferMaxLineLength, ignored keys). Errors name the key.
[[nodiscard]] Result<SpoolDirOptions> spooldir_source_options(const Settings& s,
                                                              std::vector<std::string>* warnings);

}  // namespace ingestor

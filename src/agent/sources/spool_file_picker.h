#pragma once
// SpoolFilePicker: which file of the spool directory the spooldir source reads next (Flume's
// ReliableSpoolingFileEventReader.getNextFile).
//
// Candidates are regular files (symbolic links followed) whose name does not start with '.', does
// not end with `fileSuffix` or `errorSuffix`, matches `includePattern` and does not match
// `ignorePattern` (whole-name matches against the name only; both matching: ignored). With
// `recursiveDirectorySearch`, sub-directories are searched too, except those whose name starts
// with '.' or matches `ignorePattern`, and the tracker directory. Each candidate is then checked
// against what was completed before:
//  - rename policy: `<path><fileSuffix>` exists -> a name that reappeared (conflict);
//  - tracker_dir policy: a marker `<trackerDir>/<relative path><fileSuffix>` exists -> completed
//    (skipped, as Flume) when the marker is empty (Flume's) or names this very file; a conflict
//    when it names another file (a reused name, or the file changed after it was completed).
// Conflicting files are returned with `conflict` set: the source moves them aside.
//
// Order (`consumeOrder`): oldest / youngest by mtime, a tie to the lexicographically smaller
// path; random. Unlike Flume, which lists the whole tree again for every file (quadratic in the
// number of files waiting), one listing is sorted once and consumed; the directory is listed again
// when it is used up. Memory: one entry per file waiting.
// Thread-safety: used by the source's thread only.

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "base/regex.h"
#include "base/result.h"

namespace ingestor {

enum class ConsumeOrder { kOldest, kYoungest, kRandom };
// "oldest", "youngest", "random", any case.
std::optional<ConsumeOrder> consume_order_from_name(std::string_view name);

struct SpoolPickerOptions {
  std::string spool_dir;  // absolute, no trailing '/'
  std::string file_suffix = ".COMPLETED";
  std::string error_suffix = ".ERROR";
  std::shared_ptr<const Regex> include, ignore;  // null: Flume's defaults (^.*$ and ^$)
  bool recursive = false;
  ConsumeOrder order = ConsumeOrder::kOldest;
  std::string tracker_dir;           // absolute; markers are looked up here when `use_markers`
  bool use_markers = false;          // trackingPolicy = tracker_dir (and deletePolicy = never)
  bool check_completed_name = true;  // rename policy: `<path><fileSuffix>` means a reused name
};

struct SpoolCandidate {
  std::string path;  // spool_dir + '/' + rel
  std::string rel;   // relative to spool_dir
  int64_t mtime_ns = 0;
  std::string conflict;  // non-empty: why the file must be moved aside instead of read
};

class SpoolFilePicker {
 public:
  explicit SpoolFilePicker(SpoolPickerOptions o, uint64_t seed = std::random_device{}());

  // The next file to read or move aside; nullopt when none is waiting (or the listing failed:
  // the error is returned).
  [[nodiscard]] Result<std::optional<SpoolCandidate>> next();
  // Forgets the cached listing (after a file was found gone, or at a new poll round).
  void reset() { queue_.clear(); }

  // Lists and orders every candidate now (next() consumes such a listing).
  [[nodiscard]] Result<std::vector<SpoolCandidate>> list() const;

  // The marker path of a file for the tracker_dir policy.
  std::string marker_path(const std::string& rel) const {
    return o_.tracker_dir + "/" + rel + o_.file_suffix;
  }

 private:
  [[nodiscard]] Status scan(const std::string& dir, const std::string& rel_prefix,
                            std::vector<SpoolCandidate>& out) const;
  bool wanted_name(const std::string& name) const;
  // Completed before (skip), conflicting (set `c.conflict`), or new.
  bool already_completed(SpoolCandidate& c, uint64_t inode, uint64_t size) const;

  SpoolPickerOptions o_;
  std::deque<SpoolCandidate> queue_;
  mutable std::mt19937_64 rng_;
};

}  // namespace ingestor

#pragma once
// TaildirFiles: the taildir source's view of its files (reference/flume-components.md 1.1):
// which files match the groups, where each one is read up to, and reading their lines.
//
// Files are tracked by inode, as Flume does, but unlike Flume (FLUME-3233 family):
//  - rename rotation (`mv app.log app.log.1`, logrotate `create`): the renamed inode keeps being
//    read through its open descriptor, or reopened under its new name found in the directory, to
//    its end, until it has been idle for idleTimeout (then its last line, even unterminated, is
//    sent and it is dropped); the new file is read from 0. When the pattern also matches the new
//    name, the same inode simply changes path: nothing is read twice.
//  - after a restart, an entry whose file was renamed (while the agent was down, or before it and
//    still being read to its end) is found again by its inode in the same directory and read on
//    from its position, unless it is now shorter than that position (a reused inode);
//  - copytruncate (same inode, shorter than its position): read again from 0;
//  - a deleted file still open is read to its end at once, then dropped.
// A line ends at "\n" ("\r\n" loses the "\r", a lone "\r" stays). A last line without its newline
// waits for it, and is sent as it is when the file goes idle (Flume's behaviour).
//
// Memory: one read buffer (a 256 KiB Chunk) shared by every file; event bodies are slices of it,
// and a new buffer is taken when the current one is full (the old one lives while events in the
// channel refer to it). A line longer than the buffer grows one buffer up to kMaxLine (16 MiB);
// longer lines are cut there (a warning). Per file: one TailFile (~150 bytes plus its path) and,
// while it is active, one descriptor, closed after idleTimeout without a commit.
//
// inotify watches each group's directory and wakes the source (wait_fd()); without inotify
// (inotify_init or the watch failing: a warning and a counter) the source polls.
//
// Thread-safety: used by the source's thread only.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/regex.h"
#include "base/result.h"
#include "core/event.h"
#include "core/metrics.h"
#include "core/source_position.h"

namespace ingestor {

struct TaildirGroup {
  std::string name;
  std::string dir;  // absolute, no trailing '/' (except "/" itself)
  Regex pattern;    // matched against the whole file name (Java's Pattern.matches)
  std::vector<std::pair<std::string, std::string>> headers;  // headers.<g>.<key>
};

struct TaildirOptions {
  std::vector<TaildirGroup> groups;
  std::string position_file;
  bool byte_offset_header = false;
  bool skip_to_end = false;
  bool cache_pattern_matching = true;
  bool file_header = false;
  std::string file_header_key = "file";
  std::chrono::milliseconds idle_timeout{120000};
  std::chrono::milliseconds write_pos_interval{3000};
  std::chrono::milliseconds backoff_increment{1000};
  std::chrono::milliseconds max_backoff{5000};
  size_t batch_size = 100;
  int64_t max_batch_count = INT64_MAX;
  bool use_inotify = true;  // not a key: tests turn it off to exercise the polling fallback
};

struct TailFile {
  uint64_t inode = 0;
  size_t group = 0;
  std::string path;            // where the file is now
  int fd = -1;                 // open while active
  uint64_t pos = 0;            // committed: the start of the first line not yet sent
  uint64_t read_pos = 0;       // after the lines read and not yet committed
  uint64_t size = 0;           // at the last scan
  int64_t mtime_ns = 0;        // at the last scan
  int64_t read_mtime_ns = -1;  // mtime when last read (Flume's lastUpdated)
  bool matched = true;         // matched its group's pattern at the last scan
  bool deleted = false;        // unlinked while open: read to the end now, then dropped
  std::chrono::steady_clock::time_point last_active;  // last commit, or when first seen
};

class TaildirFiles {
 public:
  static constexpr size_t kChunk = 256 * 1024;
  static constexpr size_t kMaxLine = 16 * 1024 * 1024;

  TaildirFiles(const TaildirOptions& opts, SourceCounters& counters);
  ~TaildirFiles();
  TaildirFiles(const TaildirFiles&) = delete;
  TaildirFiles& operator=(const TaildirFiles&) = delete;

  // At start: sets up inotify, lists the groups, and places each file: at its saved position
  // (same inode, and same path or its saved path no longer that inode's), else at 0, or at its end
  // with skipToEnd. Saved entries of files renamed while the agent was down are found again (see
  // above). Appends to `update` the position changes this implies (entries of files that are gone
  // erased, renamed ones' new path, positions past the end reset to 0).
  void start(const std::optional<PositionMap>& saved, PositionUpdate& update);

  // Reads pending inotify events (non-blocking). True when there were any.
  bool drain_events();
  // The descriptor to wait on for changes (inotify), -1 when polling.
  int wait_fd() const { return inotify_fd_; }

  // Lists the groups (Flume's cachePatternMatching rule) and stats the files. Returns the files
  // that need reading (size differs from the read position, mtime moved, or deleted), oldest mtime
  // first within a group, groups in configuration order. Appends position changes to `update`
  // (path changes, truncations, dropped files). Pointers stay valid until the next scan() or
  // close_idle().
  std::vector<TailFile*> scan(PositionUpdate& update);

  // Reads up to `max` lines of `f` from f.read_pos into `out`, advancing f.read_pos. With
  // `partial_ok`, an unterminated last line is read too. Returns the number of events added.
  [[nodiscard]] Result<size_t> read_lines(TailFile& f, size_t max, bool partial_ok, Batch& out);
  // After the events read from `f` committed / failed.
  void committed(TailFile& f);
  void rewind(TailFile& f) { f.read_pos = f.pos; }

  // Open files with no commit for idleTimeout (Flume's idle checker), and deleted ones; only the
  // deleted ones with `deleted_only`.
  std::vector<TailFile*> idle_files(std::chrono::steady_clock::time_point now,
                                    bool deleted_only = false);
  // Closes `f` after its idle read; a file that no longer matches (renamed away, deleted) is
  // dropped and its position erased in `update`. `f` is invalid afterwards when dropped.
  void close(TailFile& f, PositionUpdate& update);

  // "<pos> <path>" at f.read_pos, the value this file's entry gets when the batch commits.
  static std::string value_of(const TailFile& f);
  static std::string key_of(const TailFile& f) { return std::to_string(f.inode); }

  size_t tracked() const { return files_.size(); }
  size_t open_files() const;
  bool inotify_active() const { return inotify_fd_ >= 0; }
  const TailFile* find(uint64_t inode) const;

 private:
  struct Entry {
    std::string name;
    uint64_t inode;
    bool matches;
  };
  struct Listing {
    bool exists = false;
    bool warned_missing = false;
    int watch = -1;
    int64_t dir_mtime_ns = -1;   // the directory's mtime at the last listing
    std::vector<Entry> entries;  // every non-directory entry of the directory
  };
  void add_watch(size_t g);
  void list_group(size_t g);
  void apply_saved(const PositionMap& saved, PositionUpdate& update);
  bool open_file(TailFile& f);
  void close_fd(TailFile& f);
  void drop(uint64_t inode, PositionUpdate& update);
  std::string path_in(size_t g, const std::string& name) const;
  void emit(const TailFile& f, Slice body, uint64_t offset, Batch& out) const;

  const TaildirOptions& opts_;
  SourceCounters& counters_;
  std::vector<Listing> listings_;  // one per group
  std::map<uint64_t, std::unique_ptr<TailFile>> files_;
  int inotify_fd_ = -1;
  bool started_ = false;
  ChunkRef chunk_;
  size_t fill_ = 0;  // bytes of chunk_ referenced by events (never overwritten)
};

}  // namespace ingestor

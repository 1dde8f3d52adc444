#pragma once
// The spooldir source's small on-disk records (docs/formats/spooldir.md):
//
//  - SpoolPosition: the value of the source's position key "current" (core/source_position.h):
//    the file being read, its identity at pickup (inode, size, mtime) and the byte offset just
//    after the last committed event. Text: "spool1 <offset> <inode> <size> <mtime_ns> <path>";
//    the path is everything after the fifth space (any bytes).
//  - SpoolMarker: the content of a tracker_dir marker file
//    (`<trackerDir>/<path relative to spoolDir><fileSuffix>`): the identity of the file it
//    completed, "ingestor-spooldir-marker 1 <inode> <size> <mtime_ns>\n". Flume's markers are
//    empty: an empty marker is read as "completed, identity unknown".
//
// Both parsers take untrusted text (a damaged file) and never fail other than with kCorrupt.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace ingestor {

// A file's identity as the source saw it when it picked the file up.
struct SpoolFileId {
  uint64_t inode = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const SpoolFileId&) const = default;
};

struct SpoolPosition {
  std::string path;  // absolute, as the source built it (spoolDir + '/' + relative name)
  SpoolFileId id;
  uint64_t offset = 0;  // bytes of the file whose events are committed
  bool operator==(const SpoolPosition&) const = default;
};

std::string encode_spool_position(const SpoolPosition& p);
[[nodiscard]] Result<SpoolPosition> parse_spool_position(std::string_view text);

std::string encode_spool_marker(const SpoolFileId& id);
// nullopt for an empty (Flume) marker.
[[nodiscard]] Result<std::optional<SpoolFileId>> parse_spool_marker(std::string_view text);

}  // namespace ingestor

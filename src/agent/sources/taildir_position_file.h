#pragma once
// Flume's taildir position file (reference/flume-components.md 1.1, "Position file";
// docs/formats/taildir_position.md), as the PositionFileFormat of the taildir source's
// SourcePositions (core/source_position.h).
//
// On disk, byte for byte as Flume 1.11 writes it with Gson (one line, no white space, no newline
// at the end, keys in this order, paths with Gson's HTML-safe escaping):
//   [{"inode":2496006,"pos":1234,"file":"/var/log/test1/example.log"},...]
// In the PositionMap: key = the inode in decimal, value = "<pos> <path>" (taildir_position_value).
//
// Reading accepts what Flume's Gson reader accepts (keys in any order, white space, numbers
// written as integral decimals or as strings of digits) and an empty file (Flume writes one when
// no file matched), and refuses the rest with a message saying where: a missing or unknown key
// (Flume's start() fails on both), a negative or fractional number, anything that is not an array
// of objects. Pure functions, no I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "core/source_position.h"

namespace ingestor {

// "<pos> <path>": the PositionMap value of one file.
std::string taildir_position_value(uint64_t pos, std::string_view path);

struct TaildirPosition {
  uint64_t pos = 0;
  std::string path;
};
// The inverse of taildir_position_value; nullopt for a value it did not produce.
std::optional<TaildirPosition> parse_taildir_position_value(std::string_view value);
// The inode of a PositionMap key; nullopt when it is not a decimal number.
std::optional<uint64_t> parse_taildir_inode(std::string_view key);

// The JSON text of `map` (entries whose key or value cannot be parsed are skipped), ordered by
// inode. An empty map is written "[]".
std::string write_taildir_positions(const PositionMap& map);

// Parses Flume's JSON. Errors are kCorrupt with a message naming the entry and the problem
// (the caller prefixes the file name).
[[nodiscard]] Result<PositionMap> read_taildir_positions(std::string_view text);

// Both, for SourcePositions.
PositionFileFormat taildir_position_format();

}  // namespace ingestor

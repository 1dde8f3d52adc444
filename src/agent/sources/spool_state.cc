#include "agent/sources/spool_state.h"

#include <charconv>

namespace ingestor {

namespace {

constexpr std::string_view kPositionTag = "spool1 ";
constexpr std::string_view kMarkerTag = "ingestor-spooldir-marker 1 ";

// Reads a decimal number ending with `end` from the front of `in`.
template <class T>
bool take_number(std::string_view& in, char end, T& out) {
  auto [p, ec] = std::from_chars(in.data(), in.data() + in.size(), out);
  if (ec != std::errc() || p == in.data() || p == in.data() + in.size() || *p != end) return false;
  in.remove_prefix(static_cast<size_t>(p - in.data()) + 1);
  return true;
}

std::string id_text(const SpoolFileId& id) {
  return std::to_string(id.inode) + ' ' + std::to_string(id.size) + ' ' +
         std::to_string(id.mtime_ns);
}

}  // namespace

std::string encode_spool_position(const SpoolPosition& p) {
  std::string out(kPositionTag);
  out += std::to_string(p.offset);
  out += ' ';
  out += id_text(p.id);
  out += ' ';
  out += p.path;
  return out;
}

Result<SpoolPosition> parse_spool_position(std::string_view in) {
  if (in.substr(0, kPositionTag.size()) != kPositionTag)
    return make_error(Errc::kCorrupt, "not a spooldir position (no 'spool1' tag)");
  in.remove_prefix(kPositionTag.size());
  SpoolPosition p;
  if (!take_number(in, ' ', p.offset) || !take_number(in, ' ', p.id.inode) ||
      !take_number(in, ' ', p.id.size) || !take_number(in, ' ', p.id.mtime_ns))
    return make_error(Errc::kCorrupt, "spooldir position: damaged numbers");
  if (in.empty()) return make_error(Errc::kCorrupt, "spooldir position: no path");
  if (p.offset > p.id.size)
    return make_error(Errc::kCorrupt, "spooldir position: offset past the file's size");
  p.path = std::string(in);
  return p;
}

std::string encode_spool_marker(const SpoolFileId& id) {
  return std::string(kMarkerTag) + id_text(id) + '\n';
}

Result<std::optional<SpoolFileId>> parse_spool_marker(std::string_view in) {
  if (in.empty()) return std::optional<SpoolFileId>();
  if (in.substr(0, kMarkerTag.size()) != kMarkerTag)
    return make_error(Errc::kCorrupt, "not a spooldir marker");
  in.remove_prefix(kMarkerTag.size());
  SpoolFileId id;
  if (!take_number(in, ' ', id.inode) || !take_number(in, ' ', id.size) ||
      !take_number(in, '\n', id.mtime_ns) || !in.empty())
    return make_error(Errc::kCorrupt, "spooldir marker: damaged numbers");
  return std::optional<SpoolFileId>(id);
}

}  // namespace ingestor

#include "agent/sources/taildir_position_file.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <vector>

namespace ingestor {

namespace json = boost::json;

namespace {

bool parse_u64(std::string_view s, uint64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Gson's JsonWriter.string with htmlSafe (its default): the short escapes, \u00XX for the other
// control characters, \u2028/\u2029, and <>&=' as \u003c \u003e \u0026 \u003d \u0027. Other bytes,
// UTF-8 and invalid sequences alike, are written as they are.
void gson_string(std::string_view s, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\f':
        out += "\\f";
        continue;
      default:
        break;
    }
    if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == '=' || c == '\'') {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else if (c == 0xE2 && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
               (static_cast<unsigned char>(s[i + 2]) == 0xA8 ||
                static_cast<unsigned char>(s[i + 2]) == 0xA9)) {
      out += static_cast<unsigned char>(s[i + 2]) == 0xA8 ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

// A non-negative whole number as Gson's nextLong reads it: an integer, an integral double, or a
// string of digits.
std::optional<uint64_t> whole_number(const json::value& v) {
  switch (v.kind()) {
    case json::kind::int64:
      if (v.get_int64() < 0) return std::nullopt;
      return static_cast<uint64_t>(v.get_int64());
    case json::kind::uint64:
      return v.get_uint64();
    case json::kind::double_: {
      const double d = v.get_double();
      if (!(d >= 0) || d != std::floor(d) || d >= 18446744073709551616.0) return std::nullopt;
      return static_cast<uint64_t>(d);
    }
    case json::kind::string: {
      uint64_t n = 0;
      if (!parse_u64(std::string_view(v.get_string()), n)) return std::nullopt;
      return n;
    }
    default:
      return std::nullopt;
  }
}

}  // namespace

std::string taildir_position_value(uint64_t pos, std::string_view path) {
  std::string v = std::to_string(pos);
  v += ' ';
  v += path;
  return v;
}

std::optional<TaildirPosition> parse_taildir_position_value(std::string_view value) {
  const size_t sp = value.find(' ');
  if (sp == std::string_view::npos) return std::nullopt;
  TaildirPosition p;
  if (!parse_u64(value.substr(0, sp), p.pos)) return std::nullopt;
  p.path = std::string(value.substr(sp + 1));
  return p;
}

std::optional<uint64_t> parse_taildir_inode(std::string_view key) {
  uint64_t n = 0;
  if (!parse_u64(key, n)) return std::nullopt;
  return n;
}

std::string write_taildir_positions(const PositionMap& map) {
  struct Entry {
    uint64_t inode;
    TaildirPosition p;
  };
  std::vector<Entry> entries;
  entries.reserve(map.size());
  for (const auto& [k, v] : map) {
    auto inode = parse_taildir_inode(k);
    auto p = parse_taildir_position_value(v);
    if (inode && p) entries.push_back({*inode, std::move(*p)});
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.inode < b.inode; });
  std::string out = "[";
  for (const Entry& e : entries) {
    if (out.size() > 1) out += ',';
    out += "{\"inode\":";
    out += std::to_string(e.inode);
    out += ",\"pos\":";
    out += std::to_string(e.p.pos);
    out += ",\"file\":";
    gson_string(e.p.path, out);
    out += '}';
  }
  out += ']';
  return out;
}

Result<PositionMap> read_taildir_positions(std::string_view text) {
  PositionMap map;
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return map;  // Flume's empty
  json::parse_options opts;
  opts.allow_invalid_utf8 = true;  // paths are bytes; Flume wrote them in the platform charset
  opts.max_depth = 8;
  boost::system::error_code ec;
  json::value doc = json::parse(json::string_view(text.data(), text.size()), ec, {}, opts);
  if (ec) return Error{Errc::kCorrupt, "not valid JSON (" + ec.message() + ")"};
  if (!doc.is_array())
    return Error{Errc::kCorrupt, "expected a JSON array of {\"inode\",\"pos\",\"file\"} objects"};
  const json::array& arr = doc.get_array();
  for (size_t i = 0; i < arr.size(); ++i) {
    const std::string where = "entry " + std::to_string(i + 1) + ": ";
    if (!arr[i].is_object()) return Error{Errc::kCorrupt, where + "expected an object"};
    const json::object& o = arr[i].get_object();
    std::optional<uint64_t> inode, pos;
    std::optional<std::string> file;
    for (const auto& kv : o) {
      const std::string_view key(kv.key());
      if (key == "inode") {
        if (!(inode = whole_number(kv.value())))
          return Error{Errc::kCorrupt, where + "\"inode\" is not a whole number 0 or more"};
      } else if (key == "pos") {
        if (!(pos = whole_number(kv.value())))
          return Error{Errc::kCorrupt, where + "\"pos\" is not a whole number 0 or more"};
      } else if (key == "file") {
        if (!kv.value().is_string())
          return Error{Errc::kCorrupt, where + "\"file\" is not a string"};
        file = std::string(kv.value().get_string());
      } else {
        return Error{Errc::kCorrupt, where + "unknown key (Flume's keys: inode, pos, file)"};
      }
    }
    if (!inode || !pos || !file)
      return Error{Errc::kCorrupt, where + "missing " +
                                       std::string(!inode ? "\"inode\""
                                                   : !pos ? "\"pos\""
                                                          : "\"file\"")};
    map.insert_or_assign(std::to_string(*inode), taildir_position_value(*pos, *file));
  }
  return map;
}

PositionFileFormat taildir_position_format() {
  return {write_taildir_positions, read_taildir_positions};
}

}  // namespace ingestor

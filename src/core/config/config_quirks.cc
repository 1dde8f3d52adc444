#include "core/config/config_quirks.h"

#include <array>
#include <map>
#include <string_view>

namespace ingestor {

namespace {

constexpr std::string_view kNbsp = "\xC2\xA0";

std::string where(const PropertyLine& l) { return l.origin + ":" + std::to_string(l.line); }

bool has_nbsp(std::string_view s) { return s.find(kNbsp) != std::string_view::npos; }

std::string trim(std::string s) {
  size_t b = 0, e = s.size();
  while (b < e && static_cast<unsigned char>(s[b]) <= 0x20) ++b;
  while (e > b && static_cast<unsigned char>(s[e - 1]) <= 0x20) --e;
  return s.substr(b, e - b);
}

std::string nbsp_to_space(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    if (s.substr(i, 2) == kNbsp) {
      out += ' ';
      i += 2;
    } else {
      out += s[i++];
    }
  }
  return trim(std::move(out));
}

// The first word of a pasted shell command, as Java parses it into a key.
bool shell_command(const PropertyLine& l) {
  const std::string& k = l.key;
  if (k.empty()) return false;
  if (k[0] == '$' && (k.size() == 1 || k[1] != '{')) return true;  // a prompt
  static constexpr std::array<std::string_view, 12> kCommands = {
      "sudo", "nohup", "export", "cd",   "echo",   "cat",
      "java", "bash",  "sh",     "exec", "source", "flume-ng"};
  for (auto c : kCommands)
    if (k == c) return true;
  const auto slash = k.rfind('/');
  return slash != std::string::npos && k.substr(slash + 1) == "flume-ng";
}

// Text in a value that reads like a trailing comment.
const char* trailing_comment(const std::string& v) {
  if (v.find(" #") != std::string::npos || v.find("\t#") != std::string::npos) return "#";
  if (v.find(" //") != std::string::npos) return "//";
  return nullptr;
}

}  // namespace

Properties apply_config_quirks(const std::vector<PropertyLine>& lines, bool lenient,
                               Diagnostics& diags) {
  Properties out;
  std::map<std::string, const PropertyLine*> first_seen;
  for (const PropertyLine& raw : lines) {
    if (raw.key.rfind("//", 0) == 0) {
      diags.warning("file", where(raw), "",
                    "a '//' line is not a comment in a properties file (only '#' and '!' are); "
                    "ignored, as Flume ignores it");
      continue;
    }
    if (shell_command(raw)) {
      diags.warning(
          "file", where(raw), "",
          "looks like a pasted shell command ('" + raw.key + " ...'), not a property; ignored");
      continue;
    }
    PropertyLine l = raw;
    auto blank = [](const std::string& t) {
      return nbsp_to_space(t).find_first_not_of(" \t\f") == std::string::npos;
    };
    if (has_nbsp(l.key) && blank(l.key) && blank(l.value)) {
      // Java reads it as a key of no agent, which Flume ignores: harmless in either mode.
      diags.warning("file", where(raw), "",
                    "a line of non-breaking spaces (U+00A0) only; ignored, as Flume ignores it");
      continue;
    }
    if (has_nbsp(l.key) || has_nbsp(l.value)) {
      // Strict: an error, but the line is still read with a plain space so that the one error
      // does not bring others (a channel with no type, a source with no channel) after it.
      if (!lenient) {
        diags.error("file", where(raw), nbsp_to_space(raw.key),
                    "non-breaking space (U+00A0) in the " +
                        std::string(has_nbsp(l.key) ? "key" : "value") +
                        "; Flume would keep it as part of the text (use a plain space, or "
                        "--lenient to read it as one)");
      } else {
        diags.warning("file", where(raw), nbsp_to_space(raw.key),
                      "non-breaking space (U+00A0) read as a plain space");
      }
      l.key = nbsp_to_space(l.key);
      l.value = nbsp_to_space(l.value);
    }
    if (const char* c = trailing_comment(l.value)) {
      diags.warning("file", where(raw), l.key,
                    std::string("'") + c +
                        "' inside a value is part of the value (comments take a whole line): '" +
                        l.value + "'");
    }
    if (auto it = first_seen.find(l.key); it != first_seen.end()) {
      diags.warning("file", where(raw), l.key,
                    "set again (first at " + where(*it->second) + "): the last value wins");
    } else {
      first_seen.emplace(l.key, &raw);
    }
    out.set(l.key, l.value);
  }
  return out;
}

}  // namespace ingestor

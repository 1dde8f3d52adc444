#include "core/config/spec.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <set>

#include "core/config/suggest.h"

// Settings keeps a pointer to its ComponentSpec: the spec must outlive it (specs are static
// tables beside each component's code, so in practice they live for the whole process).

namespace ingestor {

namespace {

constexpr size_t kMaxKnownListed = 10;

std::string_view trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && static_cast<unsigned char>(s[b]) <= 0x20) ++b;
  while (e > b && static_cast<unsigned char>(s[e - 1]) <= 0x20) --e;
  return s.substr(b, e - b);
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// "serializer.*" -> "serializer."
std::string_view prefix_of(const KeySpec& ks) {
  std::string_view k = ks.key;
  if (!k.empty() && k.back() == '*') k.remove_suffix(1);
  return k;
}

bool under_prefix(const KeySpec& ks, std::string_view key) {
  const std::string_view p = prefix_of(ks);
  return key.size() > p.size() && key.substr(0, p.size()) == p;
}

}  // namespace

// Declared in spec.h.
bool parse_java_integer(std::string_view text, int64_t& out, bool& overflow) {
  std::string_view s = trim(text);
  overflow = false;
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return false;
  uint64_t v = 0;
  const uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (limit - d) / 10) overflow = true;
    if (!overflow) v = v * 10 + d;
  }
  if (overflow) return true;
  out = negative ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
  return true;
}

// Declared in spec.h.
std::optional<int64_t> parse_whole_number(std::string_view text, int64_t min, int64_t max) {
  int64_t v = 0;
  bool overflow = false;
  if (!parse_java_integer(text, v, overflow) || overflow || v < min || v > max) return std::nullopt;
  return v;
}

// Declared in spec.h.
std::string expected_whole_number(int64_t min, int64_t max, std::string_view unit) {
  std::string what = "expected a whole number";
  if (!unit.empty()) what += " of " + std::string(unit);
  if (max == std::numeric_limits<int64_t>::max())
    return what + ", " + std::to_string(min) + " or more";
  return what + " from " + std::to_string(min) + " to " + std::to_string(max);
}

namespace {

// Double.parseDouble on a trimmed value: optional sign, decimal or exponent notation, an optional
// f/F/d/D suffix, "NaN" and "Infinity".
bool parse_java_double(std::string_view text, double& out) {
  std::string_view s = trim(text);
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "NaN") {
    out = std::nan("");
    return true;
  }
  if (s == "Infinity") {
    out = negative ? -HUGE_VAL : HUGE_VAL;
    return true;
  }
  if (!s.empty() && std::strchr("fFdD", s.back()) != nullptr) s.remove_suffix(1);
  if (s.empty() || !(std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '.')) return false;
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::general);
  if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v)) return false;
  out = negative ? -v : v;
  return true;
}

std::vector<std::string> split_words(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && static_cast<unsigned char>(s[i]) <= 0x20) ++i;
    size_t j = i;
    while (j < s.size() && static_cast<unsigned char>(s[j]) > 0x20) ++j;
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

std::string component_label(const ComponentSpec& spec) {
  std::string name(spec.alias.empty() ? spec.class_name : spec.alias);
  if (name.empty()) return std::string(spec.kind);
  return name + " " + std::string(spec.kind);
}

struct Found {
  const KeySpec* spec = nullptr;
  bool via_alias = false;
};

Found find_key(const ComponentSpec& spec, std::string_view key) {
  for (const auto& ks : spec.keys) {
    if (ks.type == KeyType::kPrefix) {
      if (under_prefix(ks, key)) return {&ks, false};
    } else if (ks.key == key) {
      return {&ks, false};
    }
  }
  for (const auto& ks : spec.keys) {
    if (!ks.alias.empty() && ks.alias == key) return {&ks, true};
  }
  return {};
}

int64_t type_min(KeyType t) {
  return t == KeyType::kInt ? std::numeric_limits<int32_t>::min()
                            : std::numeric_limits<int64_t>::min();
}
int64_t type_max(KeyType t) {
  return t == KeyType::kInt ? std::numeric_limits<int32_t>::max()
                            : std::numeric_limits<int64_t>::max();
}

std::string unknown_key_message(const ComponentSpec& spec, const std::string& key) {
  std::string msg = "unknown key '" + key + "' for " + component_label(spec);
  std::vector<std::string> storage;  // candidate spellings for prefix keys
  storage.reserve(spec.keys.size());
  std::vector<std::string_view> cands;
  for (const auto& ks : spec.keys) {
    if (ks.type == KeyType::kPrefix) {
      // Compare "serialiser.appendNewline" with "serializer.appendNewline": the prefix takes the
      // place of as many dot-separated parts of the key as it has.
      const std::string_view p = prefix_of(ks);
      size_t pos = 0;
      bool enough = true;
      for (size_t n = std::count(p.begin(), p.end(), '.'); n > 0 && enough; --n) {
        pos = key.find('.', pos);
        enough = pos != std::string::npos;
        if (enough) ++pos;
      }
      storage.push_back(std::string(p) + (enough ? key.substr(pos) : std::string()));
      cands.push_back(storage.back());
    } else {
      cands.push_back(ks.key);
    }
  }
  if (auto m = closest_match(key, cands)) return msg + "; did you mean '" + std::string(*m) + "'?";
  if (spec.keys.empty()) return msg + " (it takes no keys)";
  msg += " (known: ";
  for (size_t i = 0; i < spec.keys.size(); ++i) {
    if (i == kMaxKnownListed) {
      msg += ", ...";
      break;
    }
    if (i > 0) msg += ", ";
    msg += spec.keys[i].key;
  }
  return msg + ")";
}

std::string range_message(int64_t lo, int64_t hi, KeyType t, std::string_view got, bool below) {
  const bool lo_set = lo != type_min(t), hi_set = hi != type_max(t);
  if (lo_set == hi_set) {
    return "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " +
           std::string(got);
  }
  if (below) return "must be at least " + std::to_string(lo) + ", got " + std::string(got);
  return "must be at most " + std::to_string(hi) + ", got " + std::string(got);
}

const char* type_name(KeyType t) {
  switch (t) {
    case KeyType::kString:
      return "string";
    case KeyType::kInt:
      return "int";
    case KeyType::kLong:
      return "long";
    case KeyType::kBool:
      return "bool";
    case KeyType::kDouble:
      return "double";
    case KeyType::kList:
      return "list";
    case KeyType::kPrefix:
      return "string";
  }
  return "string";
}

}  // namespace

Settings Settings::validate(const ComponentSpec& spec, const Context& ctx, std::string_view kind,
                            std::string_view component, std::string_view key_prefix,
                            Diagnostics& diags, bool lenient) {
  Settings s;
  s.spec_ = &spec;
  const std::string k_kind(kind), k_comp(component);
  auto full = [&](std::string_view key) { return std::string(key_prefix) + std::string(key); };
  std::set<std::string_view> given;  // canonical keys given, valid or not

  for (const auto& [key, raw] : ctx) {
    const Found f = find_key(spec, key);
    if (f.spec == nullptr) {
      if (lenient) {
        diags.warning(k_kind, k_comp, full(key), unknown_key_message(spec, key) + "; ignored");
      } else {
        diags.error(k_kind, k_comp, full(key), unknown_key_message(spec, key));
      }
      continue;
    }
    const KeySpec& ks = *f.spec;
    const std::string canonical = ks.type == KeyType::kPrefix ? key : std::string(ks.key);
    if (ks.type != KeyType::kPrefix) given.insert(ks.key);
    if (f.via_alias && ctx.count(canonical)) {
      diags.warning(k_kind, k_comp, full(key),
                    "'" + key + "' is an older spelling of '" + canonical +
                        "', which is also set; using '" + canonical + "'");
      continue;
    }
    const std::string value(trim(raw));
    switch (ks.type) {
      case KeyType::kInt:
      case KeyType::kLong: {
        int64_t v = 0;
        bool overflow = false;
        if (!parse_java_integer(value, v, overflow)) {
          diags.error(k_kind, k_comp, full(key), "expected an integer, got '" + value + "'");
          continue;
        }
        const int64_t lo = std::max(ks.min, type_min(ks.type));
        const int64_t hi = std::min(ks.max, type_max(ks.type));
        const bool negative = !value.empty() && value[0] == '-';
        if (overflow || v < lo || v > hi) {
          const bool below = overflow ? negative : v < lo;
          diags.error(k_kind, k_comp, full(key), range_message(lo, hi, ks.type, value, below));
          continue;
        }
        s.values_[canonical] = std::to_string(v);
        break;
      }
      case KeyType::kBool:
        if (iequals(value, "true") || iequals(value, "false")) {
          s.values_[canonical] = iequals(value, "true") ? "true" : "false";
        } else if (lenient) {
          diags.warning(k_kind, k_comp, full(key),
                        "expected true or false, got '" + value + "'; reads as false");
          s.values_[canonical] = "false";
        } else {
          diags.error(k_kind, k_comp, full(key), "expected true or false, got '" + value + "'");
        }
        break;
      case KeyType::kDouble: {
        double d = 0;
        if (!parse_java_double(value, d)) {
          diags.error(k_kind, k_comp, full(key), "expected a number, got '" + value + "'");
          continue;
        }
        s.values_[canonical] = value;
        break;
      }
      case KeyType::kString:
      case KeyType::kList:
      case KeyType::kPrefix:
        s.values_[canonical] = value;
        break;
    }
  }

  for (const auto& ks : spec.keys) {
    if (!ks.required) continue;
    bool present = given.count(ks.key) > 0;
    if (ks.type == KeyType::kPrefix) {
      for (const auto& [key, v] : ctx) present = present || under_prefix(ks, key);
    }
    if (!present) {
      diags.error(k_kind, k_comp, full(ks.key),
                  "missing required key '" + std::string(ks.key) + "'");
    }
  }
  return s;
}

namespace {

// The value of `key` (given, else the default) and its spec; nullptr spec when unknown.
struct Lookup {
  const KeySpec* spec = nullptr;
  const std::string* given = nullptr;
  std::optional<std::string_view> value;
};

Lookup lookup_value(const ComponentSpec* spec, const Context& values, std::string_view key) {
  Lookup l;
  if (spec == nullptr) return l;
  const Found f = find_key(*spec, key);
  if (f.spec == nullptr) return l;
  l.spec = f.spec;
  const std::string canonical =
      f.spec->type == KeyType::kPrefix ? std::string(key) : std::string(f.spec->key);
  if (auto it = values.find(canonical); it != values.end()) {
    l.given = &it->second;
    l.value = it->second;
  } else if (f.spec->default_value) {
    l.value = *f.spec->default_value;
  }
  return l;
}

}  // namespace

std::string Settings::str(std::string_view key) const {
  const Lookup l = lookup_value(spec_, values_, key);
  return l.value ? std::string(*l.value) : std::string();
}

int64_t Settings::i64(std::string_view key) const {
  const Lookup l = lookup_value(spec_, values_, key);
  int64_t v = 0;
  bool overflow = false;
  if (l.value && parse_java_integer(*l.value, v, overflow) && !overflow) return v;
  if (l.spec && l.spec->default_value && parse_java_integer(*l.spec->default_value, v, overflow) &&
      !overflow) {
    return v;
  }
  return 0;
}

bool Settings::boolean(std::string_view key) const {
  const Lookup l = lookup_value(spec_, values_, key);
  return l.value && iequals(trim(*l.value), "true");
}

double Settings::dbl(std::string_view key) const {
  const Lookup l = lookup_value(spec_, values_, key);
  double d = 0;
  if (l.value && parse_java_double(*l.value, d)) return d;
  if (l.spec && l.spec->default_value && parse_java_double(*l.spec->default_value, d)) return d;
  return 0;
}

std::vector<std::string> Settings::list(std::string_view key) const {
  const Lookup l = lookup_value(spec_, values_, key);
  return l.value ? split_words(*l.value) : std::vector<std::string>{};
}

bool Settings::has(std::string_view key) const {
  return lookup_value(spec_, values_, key).given != nullptr;
}

// Accepts "serializer.", "serializer" or "serializer.*".
Context Settings::sub(std::string_view prefix) const {
  std::string p(prefix);
  if (!p.empty() && p.back() == '*') p.pop_back();
  if (!p.empty() && p.back() != '.') p += '.';
  return subcontext(values_, p);
}

std::string describe(const ComponentSpec& spec) {
  std::string out = component_label(spec);
  if (!spec.class_name.empty() && spec.class_name != spec.alias) {
    out += " (" + std::string(spec.class_name) + ")";
  }
  out += "\n";
  if (!spec.summary.empty()) out += "  " + std::string(spec.summary) + "\n";
  if (spec.keys.empty()) return out + "\n  (no keys)\n";

  struct Row {
    std::string key, type, def, req, help;
  };
  std::vector<Row> rows;
  rows.push_back({"key", "type", "default", "required", "help"});
  for (const auto& ks : spec.keys) {
    Row r;
    r.key = ks.key;
    r.type = type_name(ks.type);
    if (ks.type == KeyType::kInt || ks.type == KeyType::kLong) {
      const bool lo = ks.min > type_min(ks.type), hi = ks.max < type_max(ks.type);
      if (lo && hi) {
        r.type += " " + std::to_string(ks.min) + ".." + std::to_string(ks.max);
      } else if (lo) {
        r.type += " >= " + std::to_string(ks.min);
      } else if (hi) {
        r.type += " <= " + std::to_string(ks.max);
      }
    }
    if (!ks.default_value) {
      r.def = "-";
    } else if (ks.default_value->empty()) {
      r.def = "\"\"";
    } else {
      r.def = *ks.default_value;
    }
    r.req = ks.required ? "yes" : "no";
    r.help = ks.help;
    if (!ks.alias.empty()) {
      r.help += (r.help.empty() ? "" : " ") + std::string("(also: ") + std::string(ks.alias) + ")";
    }
    rows.push_back(std::move(r));
  }
  size_t wk = 0, wt = 0, wd = 0, wr = 0;
  for (const auto& r : rows) {
    wk = std::max(wk, r.key.size());
    wt = std::max(wt, r.type.size());
    wd = std::max(wd, r.def.size());
    wr = std::max(wr, r.req.size());
  }
  auto pad = [](const std::string& s, size_t w) { return s + std::string(w - s.size() + 2, ' '); };
  out += "\n";
  for (const auto& r : rows) {
    std::string line =
        "  " + pad(r.key, wk) + pad(r.type, wt) + pad(r.def, wd) + pad(r.req, wr) + r.help;
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

}  // namespace ingestor

#include "agent/interceptors/regex_extractor_interceptor.h"

#include <cctype>

#include "base/log.h"

namespace ingestor {

namespace {

constexpr std::string_view kPassThrough =
    "org.apache.flume.interceptor.RegexExtractorInterceptorPassThroughSerializer";
constexpr std::string_view kMillis =
    "org.apache.flume.interceptor.RegexExtractorInterceptorMillisSerializer";

log::Throttle unparsed_throttle;

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t\r\n\f");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n\f") - b + 1);
}

}  // namespace

const ComponentSpec& regex_extractor_interceptor_spec() {
  static const ComponentSpec spec{
      "interceptor",
      "regex_extractor",
      "org.apache.flume.interceptor.RegexExtractorInterceptor$Builder",
      "Copies the capture groups of a regex match in the body into headers.",
      {
          {"regex", KeyType::kString, std::nullopt, true, "Regex (Java syntax), first match"},
          {"serializers", KeyType::kList, std::nullopt, true,
           "Serializer names, one per capture group in order"},
          {"serializers.*", KeyType::kPrefix, std::nullopt, false,
           "serializers.<s>.name (header, required), .type (DEFAULT or the millis serializer "
           "class), .pattern (Joda-Time pattern for the millis serializer)"},
      }};
  return spec;
}

Result<std::unique_ptr<RegexExtractorInterceptor>> RegexExtractorInterceptor::create(
    const Settings& s) {
  auto re = Regex::compile(s.str("regex"), "regex");
  if (!re) return re.error();
  std::unique_ptr<RegexExtractorInterceptor> out(new RegexExtractorInterceptor(std::move(*re)));
  const std::vector<std::string> names = s.list("serializers");
  if (names.empty())
    return make_error(Errc::kConfig, "serializers: Must supply at least one name and serializer");
  const Context sub = s.sub("serializers.");
  for (const auto& n : names) {
    const std::string key = "serializers." + n + ".";
    auto get = [&](const char* k) -> std::string {
      auto it = sub.find(n + "." + k);
      return it == sub.end() ? std::string() : trim(it->second);
    };
    for (const auto& [k, v] : sub) {
      if (k.rfind(n + ".", 0) != 0) continue;
      const std::string leaf = k.substr(n.size() + 1);
      if (leaf != "name" && leaf != "type" && leaf != "pattern")
        return make_error(Errc::kConfig,
                          "serializers." + k + ": unknown key (known: name, type, pattern)");
    }
    Serializer ser;
    ser.header = get("name");
    if (ser.header.empty())
      return make_error(Errc::kConfig, key + "name: Supplied name cannot be empty.");
    std::string type = get("type");
    std::string upper = type;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (type.empty() || upper == "DEFAULT" || type == kPassThrough) {
      if (!get("pattern").empty())
        return make_error(Errc::kConfig, key + "pattern: only the millis serializer (" +
                                             std::string(kMillis) + ") takes a pattern");
    } else if (type == kMillis) {
      const std::string pattern = get("pattern");
      if (pattern.empty())
        return make_error(Errc::kConfig, key + "pattern: Must configure with a valid pattern");
      auto p = JodaParser::compile(pattern, TimeZone::local());
      if (!p) return make_error(Errc::kConfig, key + "pattern: " + p.error().message);
      ser.millis = std::move(*p);
    } else {
      return make_error(Errc::kConfig, key + "type: serializer '" + type +
                                           "' is not supported (supported: DEFAULT, " +
                                           std::string(kMillis) +
                                           "; custom serializer classes cannot be loaded)");
    }
    out->serializers_.push_back(std::move(ser));
  }
  return out;
}

void RegexExtractorInterceptor::intercept(Batch& events) {
  std::vector<Regex::Group> groups;
  for (Event& e : events) {
    if (!re_.find(e.body.view(), groups)) continue;
    const size_t n = std::min(serializers_.size(), groups.size() - 1);
    for (size_t i = 0; i < n; ++i) {
      const Regex::Group& g = groups[i + 1];
      if (!g) continue;  // the group did not take part
      const Serializer& s = serializers_[i];
      if (!s.millis) {
        e.headers.set(s.header, std::string(*g));
        continue;
      }
      if (auto ms = s.millis->parse(*g)) {
        e.headers.set(s.header, std::to_string(*ms));
      } else if (unparsed_throttle.allow()) {
        log::warn("regex_extractor: '{}' does not match the pattern of header {}; header not set",
                  log::escape(*g, 200), s.header);
      }
    }
  }
}

}  // namespace ingestor

#include "agent/sinks/serializer.h"

#include <algorithm>
#include <cctype>

namespace ingestor {

namespace {
std::string lower(std::string_view s) {
  std::string r(s);
  std::transform(r.begin(), r.end(), r.begin(), [](unsigned char c) { return std::tolower(c); });
  return r;
}
}  // namespace

std::optional<SerializerType> serializer_from_name(std::string_view name) {
  std::string n = lower(name);
  if (n == "text" || n == "org.apache.flume.serialization.bodytexteventserializer$builder")
    return SerializerType::kText;
  if (n == "header_and_text" ||
      n == "org.apache.flume.serialization.headerandbodytexteventserializer$builder")
    return SerializerType::kHeaderAndText;
  return std::nullopt;
}

std::optional<std::string> serializer_options(std::string_view type_name, const Context& sub,
                                              SerializerOptions& out) {
  auto t = serializer_from_name(type_name);
  if (!t) {
    return "unknown serializer '" + std::string(type_name) +
           "' (supported: text, header_and_text; avro_event is not supported)";
  }
  out.type = *t;
  for (const auto& [k, v] : sub) {
    if (k == "appendNewline") {
      std::string lv = lower(v);
      if (lv != "true" && lv != "false") return "appendNewline: expected true or false, got '" + v + "'";
      out.append_newline = lv == "true";
    } else {
      return "unknown serializer key '" + k + "' (known: appendNewline)";
    }
  }
  return std::nullopt;
}

std::string java_map_string(const Headers& h) {
  std::string s = "{";
  bool first = true;
  for (const auto& [k, v] : h) {
    if (!first) s += ", ";
    first = false;
    s += k;
    s += '=';
    s += v;
  }
  s += '}';
  return s;
}

void serialize_event(const SerializerOptions& o, const Event& e, std::string& out) {
  if (o.type == SerializerType::kHeaderAndText) {
    out += java_map_string(e.headers);
    out += ' ';
  }
  out.append(e.body.data(), e.body.size());
  if (o.append_newline) out += '\n';
}

}  // namespace ingestor

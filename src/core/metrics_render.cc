#include "core/metrics_render.h"

#include <cctype>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>

namespace ingestor {

namespace {

void json_string(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

std::string label_escape(const std::string& s) {
  std::string r;
  for (char c : s) {
    if (c == '\\' || c == '"') r += '\\';
    if (c == '\n') {
      r += "\\n";
      continue;
    }
    r += c;
  }
  return r;
}

bool is_gauge(const std::string& attr) {
  static const std::set<std::string, std::less<>> kGauges = {"ChannelSize",
                                                             "ChannelCapacity",
                                                             "ChannelFillPercentage",
                                                             "OpenConnectionCount",
                                                             "StartTime",
                                                             "StopTime",
                                                             "Open",
                                                             "Closed",
                                                             "Unhealthy",
                                                             "ConsecutiveErrors",
                                                             "BackingOff",
                                                             "StagedBytes",
                                                             "UploadsPending",
                                                             "LastUploadTime",
                                                             "KafkaConsumerLag",
                                                             "RollInterval",
                                                             "UploadErrorsInARow"};
  return kGauges.count(attr) > 0;
}

// A sample value as Prometheus takes it: numbers as they are, Flume's "true"/"false" as 1/0;
// anything else has no sample (one bad value would make the whole scrape fail).
std::optional<std::string> prometheus_value(const std::string& v) {
  if (v == "true") return "1";
  if (v == "false") return "0";
  if (v.empty()) return std::nullopt;
  char* end = nullptr;
  std::strtod(v.c_str(), &end);
  if (end != v.c_str() + v.size()) return std::nullopt;
  return v;
}

}  // namespace

std::string snake_case(const std::string& camel) {
  std::string r;
  for (size_t i = 0; i < camel.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(camel[i]);
    if (std::isupper(c)) {
      if (i > 0 && !std::isupper(static_cast<unsigned char>(camel[i - 1]))) r += '_';
      r += static_cast<char>(std::tolower(c));
    } else if (std::isalnum(c)) {
      r += static_cast<char>(c);
    } else {
      r += '_';
    }
  }
  return r;
}

std::string render_flume_json(const std::vector<const Component*>& components) {
  std::string out = "{";
  bool first = true;
  for (const Component* c : components) {
    MetricList m;
    c->collect_metrics(m);
    if (!first) out += ',';
    first = false;
    json_string(out, std::string(c->metrics_group()) + "." + c->name());
    out += ":{";
    for (const auto& [k, v] : m) {
      json_string(out, k);
      out += ':';
      json_string(out, v);
      out += ',';
    }
    json_string(out, "Type");
    out += ':';
    json_string(out, c->metrics_group());
    out += '}';
  }
  out += '}';
  return out;
}

std::string render_prometheus(const std::vector<const Component*>& components) {
  // Group samples by metric name so each name gets one TYPE line.
  std::map<std::string, std::vector<std::string>> samples;
  std::map<std::string, bool> gauge;
  for (const Component* c : components) {
    MetricList m;
    c->collect_metrics(m);
    std::string group = c->metrics_group();
    for (auto& ch : group) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    for (const auto& [k, v] : m) {
      auto value = prometheus_value(v);
      if (!value) continue;
      // A per-partition attribute "Name.<partition>@<topic>" (the Kafka consumer lag) is the
      // metric Name with a partition label.
      std::string attr = k, partition;
      if (size_t dot = k.find('.'); dot != std::string::npos) {
        attr = k.substr(0, dot);
        partition = ",partition=\"" + label_escape(k.substr(dot + 1)) + "\"";
      }
      std::string name = "ingestor_" + group + "_" + snake_case(attr);
      gauge[name] = is_gauge(attr);
      samples[name].push_back(name + "{component=\"" + label_escape(c->name()) + "\",type=\"" +
                              label_escape(c->type()) + "\"" + partition + "} " + *value);
    }
  }
  std::string out;
  for (const auto& [name, lines] : samples) {
    out += "# TYPE " + name + (gauge[name] ? " gauge\n" : " counter\n");
    for (const auto& l : lines) out += l + "\n";
  }
  return out;
}

}  // namespace ingestor

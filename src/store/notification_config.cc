#include "store/notification_config.h"

#include <cctype>
#include <pugixml.hpp>

#include "store/store_xml.h"

namespace ingestor::store {

namespace {

std::string_view local(const pugi::xml_node& n) {
  std::string_view s = n.name();
  auto c = s.find(':');
  return c == std::string_view::npos ? s : s.substr(c + 1);
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

bool known_event(std::string_view e) {
  static const char* kEvents[] = {"s3:ObjectCreated:*",
                                  "s3:ObjectCreated:Put",
                                  "s3:ObjectCreated:Post",
                                  "s3:ObjectCreated:Copy",
                                  "s3:ObjectCreated:CompleteMultipartUpload",
                                  "s3:ObjectRemoved:*",
                                  "s3:ObjectRemoved:Delete",
                                  "s3:ObjectRemoved:DeleteMarkerCreated"};
  for (const char* k : kEvents)
    if (e == k) return true;
  return false;
}

const char* arn_element(std::string_view kind) {
  if (kind == "QueueConfiguration") return "Queue";
  if (kind == "TopicConfiguration") return "Topic";
  return "CloudFunction";
}

}  // namespace

std::optional<std::string> target_of_arn(std::string_view arn) {
  std::vector<std::string_view> f;
  size_t i = 0;
  for (;;) {
    size_t j = arn.find(':', i);
    f.push_back(arn.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
    if (j == std::string_view::npos) break;
    i = j + 1;
  }
  if (f.size() < 6 || f[0] != "arn") return std::nullopt;
  if (f.back() == "webhook" && !f[4].empty()) return std::string(f[4]);
  return std::string(f.back());
}

ApiResult<std::vector<NotificationRule>> parse_notification_config(
    std::string_view xml, const std::map<std::string, std::string>& targets) {
  std::vector<NotificationRule> rules;
  if (xml.find_first_not_of(" \t\r\n") == std::string_view::npos) return err::malformed_xml();
  pugi::xml_document doc;
  auto r = doc.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!r || !doc.document_element() || local(doc.document_element()) != "NotificationConfiguration")
    return err::malformed_xml();
  int n = 0;
  for (auto c : doc.document_element().children()) {
    if (c.type() != pugi::node_element) continue;
    std::string kind(local(c));
    if (kind == "EventBridgeConfiguration") continue;
    if (kind != "QueueConfiguration" && kind != "TopicConfiguration" &&
        kind != "CloudFunctionConfiguration")
      return err::malformed_xml();
    NotificationRule rule;
    rule.kind = kind;
    ++n;
    bool have_prefix = false, have_suffix = false;
    for (auto f : c.children()) {
      if (f.type() != pugi::node_element) continue;
      auto name = local(f);
      if (name == "Id") {
        rule.id = f.text().get();
      } else if (name == "Queue" || name == "Topic" || name == "CloudFunction") {
        rule.arn = f.text().get();
      } else if (name == "Event") {
        std::string e = f.text().get();
        if (!known_event(e))
          return err::invalid_argument("The event is not supported for notifications", "Event", e);
        rule.events.push_back(e);
      } else if (name == "Filter") {
        for (auto key : f.children()) {
          if (key.type() != pugi::node_element) continue;
          if (local(key) != "S3Key") return err::malformed_xml();
          for (auto fr : key.children()) {
            if (fr.type() != pugi::node_element) continue;
            if (local(fr) != "FilterRule") return err::malformed_xml();
            std::string fname, fvalue;
            for (auto x : fr.children()) {
              if (local(x) == "Name") fname = lower(x.text().get());
              if (local(x) == "Value") fvalue = x.text().get();
            }
            if (fname == "prefix" && !have_prefix) {
              have_prefix = true;
              rule.prefix = fvalue;
            } else if (fname == "suffix" && !have_suffix) {
              have_suffix = true;
              rule.suffix = fvalue;
            } else {
              return err::invalid_argument("Cannot specify more than one prefix rule in a filter.",
                                           "FilterRule", fname);
            }
          }
        }
      } else {
        return err::malformed_xml();
      }
    }
    if (rule.events.empty() || rule.arn.empty()) return err::malformed_xml();
    auto target = target_of_arn(rule.arn);
    if (!target || !targets.contains(*target)) {
      return err::invalid_argument("Unable to validate the following destination configurations",
                                   rule.arn, "The destination is not a declared --notify-target");
    }
    if (rule.id.empty()) rule.id = "rule-" + std::to_string(n);
    rules.push_back(std::move(rule));
  }
  return rules;
}

std::string render_notification_config(const std::vector<NotificationRule>& rules) {
  std::string out =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<NotificationConfiguration "
      "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  for (const auto& r : rules) {
    out += "<" + r.kind + ">";
    out += "<Id>" + xml_escape(r.id) + "</Id>";
    const char* a = arn_element(r.kind);
    out += std::string("<") + a + ">" + xml_escape(r.arn) + "</" + a + ">";
    for (const auto& e : r.events) out += "<Event>" + xml_escape(e) + "</Event>";
    if (!r.prefix.empty() || !r.suffix.empty()) {
      out += "<Filter><S3Key>";
      if (!r.prefix.empty())
        out += "<FilterRule><Name>prefix</Name><Value>" + xml_escape(r.prefix) +
               "</Value></FilterRule>";
      if (!r.suffix.empty())
        out += "<FilterRule><Name>suffix</Name><Value>" + xml_escape(r.suffix) +
               "</Value></FilterRule>";
      out += "</S3Key></Filter>";
    }
    out += "</" + r.kind + ">";
  }
  out += "</NotificationConfiguration>";
  return out;
}

bool rule_matches(const NotificationRule& rule, std::string_view event_name, std::string_view key) {
  bool ev = false;
  for (const auto& e : rule.events) {
    std::string_view s = e;
    if (s.starts_with("s3:")) s.remove_prefix(3);
    if (s == event_name) ev = true;
    if (s.ends_with(":*") && event_name.starts_with(s.substr(0, s.size() - 1))) ev = true;
  }
  return ev && key.starts_with(rule.prefix) && key.ends_with(rule.suffix);
}

}  // namespace ingestor::store

#include "store/cors.h"

#include <algorithm>
#include <pugixml.hpp>

#include "store/store_xml.h"

namespace ingestor::store {

namespace {

constexpr size_t kMaxRules = 100;

std::string_view local(std::string_view s) {
  auto c = s.find(':');
  return c == std::string_view::npos ? s : s.substr(c + 1);
}

std::string lower(std::string_view s) {
  std::string r(s);
  std::transform(r.begin(), r.end(), r.begin(), [](unsigned char c) { return std::tolower(c); });
  return r;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

void join(std::string& out, const std::vector<std::string>& v) {
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ", ";
    out += v[i];
  }
}

}  // namespace

ApiResult<std::vector<CorsRule>> parse_cors_config(std::string_view xml) {
  pugi::xml_document doc;
  auto r = doc.load_buffer(xml.data(), xml.size(),
                           pugi::parse_default | pugi::parse_ws_pcdata_single, pugi::encoding_utf8);
  if (!r || !doc.document_element()) return err::malformed_xml();
  auto root = doc.document_element();
  if (local(root.name()) != "CORSConfiguration") return err::malformed_xml();
  std::vector<CorsRule> rules;
  for (auto rn : root.children()) {
    if (rn.type() != pugi::node_element) continue;
    if (local(rn.name()) != "CORSRule") return err::malformed_xml();
    CorsRule rule;
    for (auto f : rn.children()) {
      if (f.type() != pugi::node_element) continue;
      std::string_view n = local(f.name());
      std::string v = f.text().get();
      if (n == "AllowedMethod") {
        static const char* kMethods[] = {"GET", "PUT", "HEAD", "POST", "DELETE"};
        if (std::none_of(std::begin(kMethods), std::end(kMethods),
                         [&](const char* m) { return v == m; }))
          return err::invalid_request(
              "Found unsupported HTTP method in CORS config. "
              "Unsupported method is " +
              v);
        rule.allowed_methods.push_back(v);
      } else if (n == "AllowedOrigin") {
        if (std::count(v.begin(), v.end(), '*') > 1)
          return err::invalid_request("AllowedOrigin \"" + v +
                                      "\" can not have more than one wildcard.");
        rule.allowed_origins.push_back(v);
      } else if (n == "AllowedHeader") {
        rule.allowed_headers.push_back(lower(v));
      } else if (n == "ExposeHeader") {
        rule.expose_headers.push_back(v);
      } else if (n == "MaxAgeSeconds") {
        if (v.empty() || v.size() > 9 || v.find_first_not_of("0123456789") != std::string::npos)
          return err::malformed_xml();
        rule.max_age_seconds = std::stoi(v);
      } else if (n == "ID") {
        rule.id = v;
      } else {
        return err::malformed_xml();
      }
    }
    if (rule.allowed_methods.empty() || rule.allowed_origins.empty()) return err::malformed_xml();
    rules.push_back(std::move(rule));
    if (rules.size() > kMaxRules)
      return err::invalid_request(
          "The number of CORS rules should not exceed allowed limit of "
          "100 rules.");
  }
  if (rules.empty()) return err::malformed_xml();
  return rules;
}

std::string render_cors_config(const std::vector<CorsRule>& rules) {
  std::string out =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CORSConfiguration "
      "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  auto el = [&](const char* name, const std::string& v) {
    out += '<';
    out += name;
    out += '>';
    out += xml_escape(v);
    out += "</";
    out += name;
    out += '>';
  };
  for (const auto& r : rules) {
    out += "<CORSRule>";
    if (!r.id.empty()) el("ID", r.id);
    for (const auto& v : r.allowed_headers) el("AllowedHeader", v);
    for (const auto& v : r.allowed_methods) el("AllowedMethod", v);
    for (const auto& v : r.allowed_origins) el("AllowedOrigin", v);
    for (const auto& v : r.expose_headers) el("ExposeHeader", v);
    if (r.max_age_seconds) el("MaxAgeSeconds", std::to_string(*r.max_age_seconds));
    out += "</CORSRule>";
  }
  out += "</CORSConfiguration>";
  return out;
}

bool cors_origin_matches(std::string_view pattern, std::string_view origin) {
  auto star = pattern.find('*');
  if (star == std::string_view::npos) return pattern == origin;
  std::string_view head = pattern.substr(0, star), tail = pattern.substr(star + 1);
  return origin.size() >= head.size() + tail.size() && origin.starts_with(head) &&
         origin.ends_with(tail);
}

const CorsRule* match_cors_rule(const std::vector<CorsRule>& rules, std::string_view origin,
                                std::string_view method,
                                const std::vector<std::string>& request_headers) {
  for (const auto& r : rules) {
    if (!contains(r.allowed_methods, method)) continue;
    if (std::none_of(r.allowed_origins.begin(), r.allowed_origins.end(),
                     [&](const std::string& p) { return cors_origin_matches(p, origin); }))
      continue;
    bool headers_ok =
        std::all_of(request_headers.begin(), request_headers.end(), [&](const std::string& h) {
          return std::any_of(r.allowed_headers.begin(), r.allowed_headers.end(),
                             [&](const std::string& p) { return cors_origin_matches(p, h); });
        });
    if (headers_ok) return &r;
  }
  return nullptr;
}

std::vector<std::pair<std::string, std::string>> cors_headers(
    const CorsRule& rule, std::string_view origin, const std::vector<std::string>& request_headers,
    bool preflight) {
  std::vector<std::pair<std::string, std::string>> h;
  const bool any = contains(rule.allowed_origins, "*");
  h.emplace_back("Access-Control-Allow-Origin", any ? "*" : std::string(origin));
  std::string methods;
  join(methods, rule.allowed_methods);
  h.emplace_back("Access-Control-Allow-Methods", methods);
  if (!any) h.emplace_back("Access-Control-Allow-Credentials", "true");
  if (preflight && !request_headers.empty()) {
    std::string v;
    join(v, request_headers);
    h.emplace_back("Access-Control-Allow-Headers", v);
  }
  if (!rule.expose_headers.empty()) {
    std::string v;
    join(v, rule.expose_headers);
    h.emplace_back("Access-Control-Expose-Headers", v);
  }
  if (rule.max_age_seconds)
    h.emplace_back("Access-Control-Max-Age", std::to_string(*rule.max_age_seconds));
  h.emplace_back("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method");
  return h;
}

std::vector<std::string> split_header_list(std::string_view v) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= v.size()) {
    size_t j = v.find(',', i);
    if (j == std::string_view::npos) j = v.size();
    auto t = trim(v.substr(i, j - i));
    if (!t.empty()) out.push_back(lower(t));
    i = j + 1;
  }
  return out;
}

}  // namespace ingestor::store

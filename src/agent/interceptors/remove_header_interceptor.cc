#include "agent/interceptors/remove_header_interceptor.h"

#include <algorithm>

namespace ingestor {

const ComponentSpec& remove_header_interceptor_spec() {
  static const ComponentSpec spec{
      "interceptor",
      "remove_header",
      "org.apache.flume.interceptor.RemoveHeaderInterceptor$Builder",
      "Removes headers by name, by list or by regex.",
      {
          {"withName", KeyType::kString, std::nullopt, false, "Header name to remove"},
          {"fromList", KeyType::kString, std::nullopt, false, "List of header names to remove"},
          {"fromListSeparator", KeyType::kString, "\\s*,\\s*", false, "Regex separating fromList"},
          {"matching", KeyType::kString, std::nullopt, false,
           "Regex: headers whose whole name matches are removed"},
      }};
  return spec;
}

Result<std::unique_ptr<RemoveHeaderInterceptor>> RemoveHeaderInterceptor::create(
    const Settings& s) {
  std::unique_ptr<RemoveHeaderInterceptor> r(new RemoveHeaderInterceptor());
  r->with_name_ = s.str("withName");
  try {
    if (s.has("fromList")) {
      std::regex sep(s.str("fromListSeparator"));
      std::string list = s.str("fromList");
      for (std::sregex_token_iterator it(list.begin(), list.end(), sep, -1), end; it != end; ++it)
        if (it->length() > 0) r->from_list_.push_back(*it);
    }
  } catch (const std::regex_error& e) {
    return make_error(Errc::kConfig, std::string("fromListSeparator: invalid regex: ") + e.what());
  }
  try {
    if (s.has("matching")) r->matching_.emplace(s.str("matching"));
  } catch (const std::regex_error& e) {
    return make_error(Errc::kConfig, std::string("matching: invalid regex: ") + e.what());
  }
  return r;
}

void RemoveHeaderInterceptor::intercept(Batch& events) {
  for (Event& e : events) {
    if (e.headers.empty()) continue;
    e.headers.erase_if([&](const std::string& k) {
      if (!with_name_.empty() && k == with_name_) return true;
      if (std::find(from_list_.begin(), from_list_.end(), k) != from_list_.end()) return true;
      return matching_ && std::regex_match(k, *matching_);
    });
  }
}

}  // namespace ingestor

#include "agent/interceptors/regex_filter_interceptor.h"

#include <algorithm>

namespace ingestor {

const ComponentSpec& regex_filter_interceptor_spec() {
  static const ComponentSpec spec{
      "interceptor",
      "regex_filter",
      "org.apache.flume.interceptor.RegexFilteringInterceptor$Builder",
      "Keeps (or with excludeEvents drops) the events whose body matches a regex.",
      {
          {"regex", KeyType::kString, ".*", false, "Regex (Java syntax), a partial match"},
          {"excludeEvents", KeyType::kBool, "false", false,
           "true: drop the matching events; false: keep only them"},
      }};
  return spec;
}

Result<std::unique_ptr<RegexFilterInterceptor>> RegexFilterInterceptor::create(const Settings& s) {
  auto re = Regex::compile(s.str("regex"), "regex");
  if (!re) return re.error();
  return std::unique_ptr<RegexFilterInterceptor>(
      new RegexFilterInterceptor(std::move(*re), s.boolean("excludeEvents")));
}

void RegexFilterInterceptor::intercept(Batch& events) {
  std::erase_if(events, [&](const Event& e) { return re_.find(e.body.view()) == exclude_; });
}

}  // namespace ingestor

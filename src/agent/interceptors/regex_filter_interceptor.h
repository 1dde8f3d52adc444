#pragma once
// RegexFilteringInterceptor (`regex_filter`): keeps the events whose body has a match of `regex`
// (default ".*": everything; Java's find(), a partial match) and drops the others; with
// `excludeEvents = true` drops the matching ones instead. Dropped events vanish silently, as in
// Flume. The body is read as UTF-8 (invalid bytes as U+FFFD, as a JVM with a UTF-8 default).

#include <memory>

#include "base/regex.h"
#include "core/config/spec.h"
#include "core/interceptor.h"

namespace ingestor {

const ComponentSpec& regex_filter_interceptor_spec();

class RegexFilterInterceptor final : public Interceptor {
 public:
  static Result<std::unique_ptr<RegexFilterInterceptor>> create(const Settings& s);
  void intercept(Batch& events) override;

 private:
  RegexFilterInterceptor(Regex re, bool exclude) : re_(std::move(re)), exclude_(exclude) {}
  Regex re_;
  bool exclude_;
};

}  // namespace ingestor

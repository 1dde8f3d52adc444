#pragma once
// RegexExtractorInterceptor (`regex_extractor`): on the first match of `regex` (required; Java's
// find() on the body read as UTF-8), capture group i goes to the i-th serializer of
// `serializers = s1 s2 ...` (required), as the header `serializers.<s>.name` (required). Groups
// beyond the list are skipped; no match leaves the headers as they are.
// Serializer types (`serializers.<s>.type`):
//  - `DEFAULT` (when absent; any case, since Flume's guide writes `default` and Flume itself only
//    takes `DEFAULT`) or
//    org.apache.flume.interceptor.RegexExtractorInterceptorPassThroughSerializer: the text as it
//    is;
//  - org.apache.flume.interceptor.RegexExtractorInterceptorMillisSerializer with `pattern`
//    (required, a Joda-Time pattern, in the agent's local zone): epoch milliseconds.
// Other serializer classes cannot be loaded: a configuration error. Where Flume writes a null
// header (a group that did not take part) or throws at event time (a value the millis pattern
// does not parse, which fails the whole batch), the header is left unset here, with a warning
// at most once a second.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/joda_format.h"
#include "base/regex.h"
#include "core/config/spec.h"
#include "core/interceptor.h"

namespace ingestor {

const ComponentSpec& regex_extractor_interceptor_spec();

class RegexExtractorInterceptor final : public Interceptor {
 public:
  static Result<std::unique_ptr<RegexExtractorInterceptor>> create(const Settings& s);
  void intercept(Batch& events) override;

 private:
  struct Serializer {
    std::string header;
    std::optional<JodaParser> millis;
  };
  explicit RegexExtractorInterceptor(Regex re) : re_(std::move(re)) {}
  Regex re_;
  std::vector<Serializer> serializers_;
};

}  // namespace ingestor

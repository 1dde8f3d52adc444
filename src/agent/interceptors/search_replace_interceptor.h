#pragma once
// SearchAndReplaceInterceptor (`search_replace`): replaces every non-overlapping match of
// `searchPattern` (required; Java regex on PCRE2) in the body by `replaceString` (default empty:
// matches are deleted; Java replacement syntax `$1`, `${name}`, `\x`). The body is decoded with
// `charset` (default UTF-8), replaced, and encoded back, as Flume. A body with no match is left
// as it is (no copy). A bad pattern, charset or group reference is a configuration error naming
// its key (Flume throws for a bad reference at event time).

#include <memory>
#include <string>

#include "base/charset.h"
#include "base/regex.h"
#include "core/config/spec.h"
#include "core/interceptor.h"

namespace ingestor {

const ComponentSpec& search_replace_interceptor_spec();

class SearchReplaceInterceptor final : public Interceptor {
 public:
  static Result<std::unique_ptr<SearchReplaceInterceptor>> create(const Settings& s);
  void intercept(Batch& events) override;

 private:
  SearchReplaceInterceptor(Regex re, Regex::Replacement r, Charset cs)
      : re_(std::move(re)), replacement_(std::move(r)), charset_(cs) {}
  Regex re_;
  Regex::Replacement replacement_;
  Charset charset_;
};

}  // namespace ingestor

#pragma once
// RemoveHeaderInterceptor (`remove_header`): removes the header `withName`, every header named
// in `fromList` (split by the regex `fromListSeparator`, default "\s*,\s*"), and every header whose
// name fully matches the regex `matching`.

#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "core/config/spec.h"
#include "core/interceptor.h"

namespace ingestor {

const ComponentSpec& remove_header_interceptor_spec();

class RemoveHeaderInterceptor final : public Interceptor {
 public:
  // Fails on an invalid regex, naming the key.
  static Result<std::unique_ptr<RemoveHeaderInterceptor>> create(const Settings& s);
  void intercept(Batch& events) override;

 private:
  RemoveHeaderInterceptor() = default;
  std::string with_name_;
  std::vector<std::string> from_list_;
  std::optional<std::regex> matching_;
};

}  // namespace ingestor

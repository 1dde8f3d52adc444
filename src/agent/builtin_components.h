#pragma once
// The component types the agent knows: one explicit list (builtin_components.cc), one line per
// type with its Flume alias and class name. Type names match Flume's rules: an alias
// case-insensitively, or the class name exactly.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/channel.h"
#include "core/channel_processor.h"
#include "core/config/spec.h"
#include "core/interceptor.h"
#include "core/sink.h"
#include "core/source.h"

namespace ingestor {
namespace net {
class IoPool;
}

// What factories may need beyond their own settings.
struct BuildEnv {
  net::IoPool* pool = nullptr;
  std::string conf_dir;  // the agent's -c directory ("" when not given)
  Diagnostics* diags = nullptr;
  bool lenient = false;
};

struct SourceType {
  const ComponentSpec& (*spec)();
  std::function<Result<std::unique_ptr<Source>>(const std::string& name, const Settings&,
                                                std::shared_ptr<ChannelProcessor>, BuildEnv&)>
      make;
};
struct ChannelType {
  const ComponentSpec& (*spec)();
  std::function<Result<std::unique_ptr<Channel>>(const std::string& name, const Settings&,
                                                 BuildEnv&)>
      make;
};
struct SinkType {
  const ComponentSpec& (*spec)();
  std::function<Result<std::unique_ptr<Sink>>(const std::string& name, const Settings&, BuildEnv&)>
      make;
};
struct InterceptorType {
  const ComponentSpec& (*spec)();
  std::function<Result<std::unique_ptr<Interceptor>>(const Settings&)> make;
};

const std::vector<SourceType>& source_types();
const std::vector<ChannelType>& channel_types();
const std::vector<SinkType>& sink_types();
const std::vector<InterceptorType>& interceptor_types();

// Lookup by alias (any case) or class name (exact). nullptr when unknown.
const SourceType* find_source_type(std::string_view type);
const ChannelType* find_channel_type(std::string_view type);
const SinkType* find_sink_type(std::string_view type);
const InterceptorType* find_interceptor_type(std::string_view type);

// A Flume type that is known and deliberately not supported, with the message saying why and what
// to use instead (`morphline` interceptors); nullopt otherwise.
std::optional<std::string> refused_type(std::string_view kind, std::string_view type);

// Any kind, for `--describe TYPE` (selectors and sink processors included).
const ComponentSpec* find_spec(std::string_view type);
// "netcat, http, ..." for messages.
std::string known_aliases(std::string_view kind);

}  // namespace ingestor

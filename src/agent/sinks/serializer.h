#pragma once
// Event serializers (flume.md 3.9): `text` writes the body then "\n"; `header_and_text` writes the
// headers as Java's Map.toString ("{k1=v1, k2=v2}"), a space, the body, then "\n". Both take
// `appendNewline` (default true). Used by file_roll and the S3 sink; they append to a buffer so a
// whole batch goes out in one write.

#include <optional>
#include <string>
#include <string_view>

#include "core/config/agent_config.h"
#include "core/event.h"

namespace ingestor {

enum class SerializerType { kText, kHeaderAndText };

struct SerializerOptions {
  SerializerType type = SerializerType::kText;
  bool append_newline = true;
};

// Parses the alias (case-insensitive: text, header_and_text) or Flume's class names. nullopt for
// anything else.
std::optional<SerializerType> serializer_from_name(std::string_view name);
// Reads `serializer.appendNewline` from the keys under the serializer prefix.
// Errors name the key.
std::optional<std::string> serializer_options(std::string_view type_name, const Context& sub,
                                              SerializerOptions& out);

// "{k1=v1, k2=v2}" as java.util.AbstractMap.toString.
std::string java_map_string(const Headers& h);

void serialize_event(const SerializerOptions& o, const Event& e, std::string& out);

}  // namespace ingestor

#pragma once
// Small string helpers for configuration values (ASCII only: Flume's keys and type names).

#include <string>
#include <string_view>
#include <vector>

namespace ingestor {

// `s` with A-Z turned into a-z; other bytes unchanged.
std::string ascii_lower(std::string_view s);

// `a` and `b` equal ignoring ASCII case (Flume's equalsIgnoreCase on type names and key values).
bool ascii_iequals(std::string_view a, std::string_view b);

// The white-space separated words of `s` (Flume's list values: `a1.sinks = k1 k2`).
std::vector<std::string> split_words(std::string_view s);

}  // namespace ingestor

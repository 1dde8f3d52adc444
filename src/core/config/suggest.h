#pragma once
// "Did you mean" helpers shared by agent_config.cc and spec.cc (internal to core/config).

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace ingestor {

// Optimal-string-alignment distance (Levenshtein plus adjacent transpositions), ASCII
// case-insensitive: "prot" -> "port" is 1, "batchsize" -> "batchSize" is 0.
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` when it is near enough to be a likely typo (distance 1 for
// words of up to 3 chars, 2 up to 8, 3 beyond; never the whole word); the first one on a tie.
std::optional<std::string_view> closest_match(std::string_view word,
                                              const std::vector<std::string_view>& candidates);

}  // namespace ingestor

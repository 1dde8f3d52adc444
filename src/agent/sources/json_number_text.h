#pragma once
// JSON parsed as Gson reads it into strings: every number keeps the literal text it was sent as
// ("1.0", "0.10", "1e400", a 30-digit id), where a json::value would turn it into a double or an
// integer and print it back differently ("1E0", "1E-1", "Infinity", lost digits). Built on
// Boost.JSON's basic_parser, whose number callbacks see the number's text.

#include <boost/json/parse_options.hpp>
#include <boost/json/value.hpp>
#include <string_view>

#include "base/result.h"

namespace ingestor {

// Parses one JSON document; each number becomes a json::string holding its text as sent. Strings,
// booleans, null, arrays and objects are as json::parse makes them (the last of duplicate keys
// wins). Error: Boost.JSON's message ("syntax error", "extra data", ...), Errc::kInvalidArgument.
[[nodiscard]] Result<boost::json::value> parse_json_number_text(
    std::string_view text, const boost::json::parse_options& options);

}  // namespace ingestor

#pragma once
// What may go into an HTTP response header: values that come from a request (a query parameter,
// stored metadata, a peer's header) must not carry CR, LF or other control characters, which
// would split the response (issue 16). Pure functions.

#include <string_view>

namespace ingestor::net {

// A field value without control characters: no byte below 0x20 but HTAB, no DEL. Bytes from 0x80
// (obs-text, UTF-8) are allowed.
bool is_safe_header_value(std::string_view value);
// A field name: one or more RFC 9110 token characters.
bool is_header_name(std::string_view name);

}  // namespace ingestor::net

#pragma once
// Character decoding for the spooldir LINE deserializer, one character at a time with its byte
// length, so that every event ends at a known byte offset of the file (the position that commits
// with it). Java's rules (ResettableFileInputStream with a CharsetDecoder):
//  - UTF-8: a malformed sequence is its maximal valid prefix (at least one byte), as Java's
//  decoder;
//  - UTF-16: a high surrogate followed by anything but a low one is one malformed 4-byte unit;
//  - UTF-32: values past U+10FFFF and surrogates are malformed;
//  - US-ASCII: bytes >= 0x80 are malformed; ISO-8859-1 has none.
// "UTF-16" and "UTF-32" read a byte-order mark at offset 0 (spool_bom), big-endian without one.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/charset.h"

namespace ingestor {

enum class DecodeErrorPolicy { kFail, kReplace, kIgnore };
// "FAIL", "REPLACE", "IGNORE", any case.
std::optional<DecodeErrorPolicy> decode_error_policy_from_name(std::string_view name);

// A byte-order-fixed charset to decode with.
enum class SpoolCodec { kUtf8, kUtf16Be, kUtf16Le, kUtf32Be, kUtf32Le, kLatin1, kAscii };

// The codec for `cs` given the first bytes of the file (up to 4), and how many of them are a
// byte-order mark to skip when reading from offset 0.
struct SpoolBom {
  SpoolCodec codec;
  size_t skip;
};
SpoolBom spool_bom(Charset cs, std::string_view head);

// Decodes the character at the front of `in` (CharStep: base/charset.h). kShort: `in` ends inside a
// character and more bytes may follow (`at_eof` false); at the end of the file an incomplete tail
// is kMalformed.
CharStep decode_char(std::string_view in, SpoolCodec codec, bool at_eof);

}  // namespace ingestor

#pragma once
// Charsets as Java names them, for Flume's `encoding` (netcat) and the HTTP source's Content-Type
// charset: UTF-8, UTF-16 (big-endian, BOM on encode, BOM honoured on decode), UTF-16BE, UTF-16LE,
// UTF-32 (big-endian), UTF-32BE, UTF-32LE, ISO-8859-1 (Latin-1), US-ASCII. Names match
// case-insensitively, with Java's aliases (utf8, latin1, iso8859_1, ascii, ...).
// Invalid input is replaced by U+FFFD on decode and '?' on encode to a narrow charset, as Java's
// String(bytes, cs) / getBytes(cs) do.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ingestor {

enum class Charset {
  kUtf8,
  kUtf16,
  kUtf16Be,
  kUtf16Le,
  kUtf32,
  kUtf32Be,
  kUtf32Le,
  kLatin1,
  kAscii
};

// nullopt for an unknown or unsupported name.
std::optional<Charset> charset_from_name(std::string_view name);
// The canonical Java name ("UTF-16BE").
const char* charset_name(Charset cs);

// Decodes `bytes` in `cs` into UTF-8.
std::string decode_to_utf8(std::string_view bytes, Charset cs);
// Encodes UTF-8 `text` into `cs` (Java's String.getBytes(cs)).
std::string encode_from_utf8(std::string_view text, Charset cs);

// True when `bytes` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF):
// what decode_to_utf8(bytes, kUtf8) would return unchanged.
bool is_valid_utf8(std::string_view bytes);

// One character decoded from the front of a byte stream, with the bytes it took.
struct CharStep {
  enum Kind : uint8_t { kChar, kMalformed, kShort };
  Kind kind;
  uint8_t len;  // bytes consumed (kChar, kMalformed); 0 for kShort
  char32_t cp;  // kChar only
};

// The UTF-8 character at the front of `in` (not empty). A malformed sequence is kMalformed and
// consumes its maximal valid prefix (at least one byte), as Java's decoder. kShort: `in` ends
// inside a character and more bytes may follow (`at_eof` false); at the end of the stream an
// incomplete tail is kMalformed.
CharStep utf8_step(std::string_view in, bool at_eof);

// Appends code point `cp` (at most U+10FFFF, not a surrogate) to `out` as UTF-8.
void append_utf8(std::string& out, char32_t cp);

// Number of UTF-16 code units (Java chars) in UTF-8 text: what Java's String.length() would say.
size_t utf16_length(std::string_view utf8);

}  // namespace ingestor

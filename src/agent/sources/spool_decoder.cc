#include "agent/sources/spool_decoder.h"

#include <cctype>

namespace ingestor {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(a[i])) != static_cast<unsigned char>(b[i]))
      return false;
  return true;
}

unsigned byte(std::string_view in, size_t i) { return static_cast<unsigned char>(in[i]); }

CharStep decode_utf16(std::string_view in, bool big, bool at_eof) {
  auto unit = [&](size_t i) -> char32_t {
    return big ? (byte(in, i) << 8) | byte(in, i + 1) : (byte(in, i + 1) << 8) | byte(in, i);
  };
  if (in.size() < 2) {
    if (!at_eof) return {CharStep::kShort, 0, 0};
    return {CharStep::kMalformed, static_cast<uint8_t>(in.size()), 0};
  }
  char32_t u = unit(0);
  if (u >= 0xDC00 && u <= 0xDFFF) return {CharStep::kMalformed, 2, 0};
  if (u < 0xD800 || u > 0xDBFF) return {CharStep::kChar, 2, u};
  if (in.size() < 4) {
    if (!at_eof) return {CharStep::kShort, 0, 0};
    return {CharStep::kMalformed, static_cast<uint8_t>(in.size()), 0};
  }
  char32_t v = unit(2);
  if (v < 0xDC00 || v > 0xDFFF) return {CharStep::kMalformed, 4, 0};
  return {CharStep::kChar, 4, 0x10000 + ((u - 0xD800) << 10) + (v - 0xDC00)};
}

CharStep decode_utf32(std::string_view in, bool big, bool at_eof) {
  if (in.size() < 4) {
    if (!at_eof) return {CharStep::kShort, 0, 0};
    return {CharStep::kMalformed, static_cast<uint8_t>(in.size()), 0};
  }
  char32_t v = 0;
  for (size_t k = 0; k < 4; ++k) v = (v << 8) | byte(in, big ? k : 3 - k);
  if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return {CharStep::kMalformed, 4, 0};
  return {CharStep::kChar, 4, v};
}

}  // namespace

std::optional<DecodeErrorPolicy> decode_error_policy_from_name(std::string_view name) {
  if (iequals(name, "FAIL")) return DecodeErrorPolicy::kFail;
  if (iequals(name, "REPLACE")) return DecodeErrorPolicy::kReplace;
  if (iequals(name, "IGNORE")) return DecodeErrorPolicy::kIgnore;
  return std::nullopt;
}

SpoolBom spool_bom(Charset cs, std::string_view head) {
  switch (cs) {
    case Charset::kUtf8:
      return {SpoolCodec::kUtf8, 0};
    case Charset::kUtf16:
      if (head.substr(0, 2) == "\xFE\xFF") return {SpoolCodec::kUtf16Be, 2};
      if (head.substr(0, 2) == "\xFF\xFE") return {SpoolCodec::kUtf16Le, 2};
      return {SpoolCodec::kUtf16Be, 0};
    case Charset::kUtf16Be:
      return {SpoolCodec::kUtf16Be, 0};
    case Charset::kUtf16Le:
      return {SpoolCodec::kUtf16Le, 0};
    case Charset::kUtf32:
      if (head.substr(0, 4) == std::string_view("\x00\x00\xFE\xFF", 4))
        return {SpoolCodec::kUtf32Be, 4};
      if (head.substr(0, 4) == std::string_view("\xFF\xFE\x00\x00", 4))
        return {SpoolCodec::kUtf32Le, 4};
      return {SpoolCodec::kUtf32Be, 0};
    case Charset::kUtf32Be:
      return {SpoolCodec::kUtf32Be, 0};
    case Charset::kUtf32Le:
      return {SpoolCodec::kUtf32Le, 0};
    case Charset::kLatin1:
      return {SpoolCodec::kLatin1, 0};
    case Charset::kAscii:
      return {SpoolCodec::kAscii, 0};
  }
  return {SpoolCodec::kUtf8, 0};
}

CharStep decode_char(std::string_view in, SpoolCodec codec, bool at_eof) {
  if (in.empty()) return {CharStep::kShort, 0, 0};
  switch (codec) {
    case SpoolCodec::kUtf8:
      return utf8_step(in, at_eof);
    case SpoolCodec::kUtf16Be:
    case SpoolCodec::kUtf16Le:
      return decode_utf16(in, codec == SpoolCodec::kUtf16Be, at_eof);
    case SpoolCodec::kUtf32Be:
    case SpoolCodec::kUtf32Le:
      return decode_utf32(in, codec == SpoolCodec::kUtf32Be, at_eof);
    case SpoolCodec::kLatin1:
      return {CharStep::kChar, 1, byte(in, 0)};
    case SpoolCodec::kAscii: {
      const unsigned b = byte(in, 0);
      if (b >= 0x80) return {CharStep::kMalformed, 1, 0};
      return {CharStep::kChar, 1, b};
    }
  }
  return {CharStep::kMalformed, 1, 0};
}

}  // namespace ingestor

#include "base/charset.h"

#include <array>
#include <cctype>
#include <cstdint>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ingestor {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

struct Alias {
  std::string_view name;  // lower case
  Charset cs;
};

// Java's canonical names and aliases (java.nio.charset.StandardCharsets / sun.nio.cs), lower case.
constexpr std::array kAliases = {
    Alias{"utf-8", Charset::kUtf8},
    Alias{"utf8", Charset::kUtf8},
    Alias{"unicode-1-1-utf-8", Charset::kUtf8},
    Alias{"utf-16", Charset::kUtf16},
    Alias{"utf_16", Charset::kUtf16},
    Alias{"utf16", Charset::kUtf16},
    Alias{"unicode", Charset::kUtf16},
    Alias{"unicodebig", Charset::kUtf16},
    Alias{"utf-16be", Charset::kUtf16Be},
    Alias{"utf_16be", Charset::kUtf16Be},
    Alias{"iso-10646-ucs-2", Charset::kUtf16Be},
    Alias{"x-utf-16be", Charset::kUtf16Be},
    Alias{"unicodebigunmarked", Charset::kUtf16Be},
    Alias{"utf-16le", Charset::kUtf16Le},
    Alias{"utf_16le", Charset::kUtf16Le},
    Alias{"x-utf-16le", Charset::kUtf16Le},
    Alias{"unicodelittleunmarked", Charset::kUtf16Le},
    Alias{"utf-32", Charset::kUtf32},
    Alias{"utf_32", Charset::kUtf32},
    Alias{"utf32", Charset::kUtf32},
    Alias{"utf-32be", Charset::kUtf32Be},
    Alias{"utf_32be", Charset::kUtf32Be},
    Alias{"x-utf-32be", Charset::kUtf32Be},
    Alias{"utf-32le", Charset::kUtf32Le},
    Alias{"utf_32le", Charset::kUtf32Le},
    Alias{"x-utf-32le", Charset::kUtf32Le},
    Alias{"iso-8859-1", Charset::kLatin1},
    Alias{"iso8859-1", Charset::kLatin1},
    Alias{"iso8859_1", Charset::kLatin1},
    Alias{"iso_8859_1", Charset::kLatin1},
    Alias{"iso_8859-1", Charset::kLatin1},
    Alias{"iso_8859-1:1987", Charset::kLatin1},
    Alias{"8859_1", Charset::kLatin1},
    Alias{"iso-ir-100", Charset::kLatin1},
    Alias{"latin1", Charset::kLatin1},
    Alias{"l1", Charset::kLatin1},
    Alias{"ibm819", Charset::kLatin1},
    Alias{"ibm-819", Charset::kLatin1},
    Alias{"cp819", Charset::kLatin1},
    Alias{"819", Charset::kLatin1},
    Alias{"csisolatin1", Charset::kLatin1},
    Alias{"us-ascii", Charset::kAscii},
    Alias{"ascii", Charset::kAscii},
    Alias{"ascii7", Charset::kAscii},
    Alias{"us", Charset::kAscii},
    Alias{"iso646-us", Charset::kAscii},
    Alias{"iso-ir-6", Charset::kAscii},
    Alias{"ansi_x3.4-1986", Charset::kAscii},
    Alias{"ansi_x3.4-1968", Charset::kAscii},
    Alias{"iso_646.irv:1991", Charset::kAscii},
    Alias{"iso_646.irv:1983", Charset::kAscii},
    Alias{"ibm367", Charset::kAscii},
    Alias{"cp367", Charset::kAscii},
    Alias{"csascii", Charset::kAscii},
    Alias{"646", Charset::kAscii},
    Alias{"default", Charset::kAscii},
};

void put_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Reads one code point from UTF-8 at s[i], advancing i. A malformed sequence yields U+FFFD and
// consumes its maximal valid prefix (at least one byte), the Unicode "maximal subpart" practice
// that Java's UTF-8 decoder follows.
char32_t next_utf8(std::string_view s, size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {  // the common case, without the call
    ++i;
    return b0;
  }
  const CharStep st = utf8_step(s.substr(i), /*at_eof=*/true);
  i += st.len;
  return st.kind == CharStep::kChar ? st.cp : kReplacement;
}

void decode_utf16(std::string_view b, bool big, std::string& out) {
  auto unit = [&](size_t i) -> char16_t {
    const auto x = static_cast<unsigned char>(b[i]), y = static_cast<unsigned char>(b[i + 1]);
    return big ? static_cast<char16_t>((x << 8) | y) : static_cast<char16_t>((y << 8) | x);
  };
  size_t i = 0;
  while (i + 1 < b.size()) {
    char16_t u = unit(i);
    i += 2;
    if (u >= 0xD800 && u <= 0xDBFF) {
      if (i + 1 < b.size()) {
        char16_t v = unit(i);
        i += 2;
        if (v >= 0xDC00 && v <= 0xDFFF) {
          put_utf8(out, 0x10000 + ((char32_t(u) - 0xD800) << 10) + (char32_t(v) - 0xDC00));
        } else {
          // Java reports a high surrogate followed by anything but a low one as one malformed
          // 4-byte sequence: both units become a single U+FFFD.
          put_utf8(out, kReplacement);
        }
        continue;
      }
      // A high surrogate at the end of input: what is left (2 or 3 bytes) is one malformed tail.
      put_utf8(out, kReplacement);
      return;
    } else if (u >= 0xDC00 && u <= 0xDFFF) {
      put_utf8(out, kReplacement);
    } else {
      put_utf8(out, u);
    }
  }
  if (i < b.size()) put_utf8(out, kReplacement);  // odd trailing byte
}

void decode_utf32(std::string_view b, bool big, std::string& out) {
  size_t i = 0;
  for (; i + 3 < b.size(); i += 4) {
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      const auto byte = static_cast<unsigned char>(b[i + (big ? k : 3 - k)]);
      v = (v << 8) | byte;
    }
    if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
      put_utf8(out, kReplacement);
    } else {
      put_utf8(out, v);
    }
  }
  if (i < b.size()) put_utf8(out, kReplacement);  // truncated tail
}

void put16(std::string& out, char16_t u, bool big) {
  const char hi = static_cast<char>(u >> 8), lo = static_cast<char>(u & 0xFF);
  if (big) {
    out.push_back(hi);
    out.push_back(lo);
  } else {
    out.push_back(lo);
    out.push_back(hi);
  }
}

void put32(std::string& out, char32_t cp, bool big) {
  for (int k = 0; k < 4; ++k) {
    const int shift = big ? 24 - 8 * k : 8 * k;
    out.push_back(static_cast<char>((cp >> shift) & 0xFF));
  }
}

}  // namespace

CharStep utf8_step(std::string_view in, bool at_eof) {
  const unsigned b0 = static_cast<unsigned char>(in[0]);
  if (b0 < 0x80) return {CharStep::kChar, 1, b0};
  size_t need;
  char32_t cp;
  unsigned lo = 0x80, hi = 0xBF;  // range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    cp = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    cp = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return {CharStep::kMalformed, 1, 0};
  }
  for (size_t k = 1; k <= need; ++k) {
    if (k >= in.size()) {
      if (!at_eof) return {CharStep::kShort, 0, 0};
      return {CharStep::kMalformed, static_cast<uint8_t>(k), 0};
    }
    const unsigned b = static_cast<unsigned char>(in[k]);
    if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF))
      return {CharStep::kMalformed, static_cast<uint8_t>(k), 0};
    cp = (cp << 6) | (b & 0x3F);
  }
  return {CharStep::kChar, static_cast<uint8_t>(need + 1), cp};
}

void append_utf8(std::string& out, char32_t cp) { put_utf8(out, cp); }

std::optional<Charset> charset_from_name(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const Alias& a : kAliases)
    if (a.name == lower) return a.cs;
  return std::nullopt;
}

const char* charset_name(Charset cs) {
  switch (cs) {
    case Charset::kUtf8:
      return "UTF-8";
    case Charset::kUtf16:
      return "UTF-16";
    case Charset::kUtf16Be:
      return "UTF-16BE";
    case Charset::kUtf16Le:
      return "UTF-16LE";
    case Charset::kUtf32:
      return "UTF-32";
    case Charset::kUtf32Be:
      return "UTF-32BE";
    case Charset::kUtf32Le:
      return "UTF-32LE";
    case Charset::kLatin1:
      return "ISO-8859-1";
    case Charset::kAscii:
      return "US-ASCII";
  }
  return "UTF-8";
}

std::string decode_to_utf8(std::string_view bytes, Charset cs) {
  std::string out;
  switch (cs) {
    case Charset::kUtf8: {
      out.reserve(bytes.size());
      size_t i = 0;
      while (i < bytes.size()) put_utf8(out, next_utf8(bytes, i));
      return out;
    }
    case Charset::kUtf16: {
      // Java: a leading BOM picks the byte order and is dropped; no BOM means big-endian.
      bool big = true;
      if (bytes.size() >= 2) {
        const auto a = static_cast<unsigned char>(bytes[0]),
                   b = static_cast<unsigned char>(bytes[1]);
        if (a == 0xFE && b == 0xFF) {
          bytes.remove_prefix(2);
        } else if (a == 0xFF && b == 0xFE) {
          big = false;
          bytes.remove_prefix(2);
        }
      }
      out.reserve(bytes.size());
      decode_utf16(bytes, big, out);
      return out;
    }
    case Charset::kUtf16Be:
    case Charset::kUtf16Le:
      out.reserve(bytes.size());
      decode_utf16(bytes, cs == Charset::kUtf16Be, out);
      return out;
    case Charset::kUtf32: {
      bool big = true;
      if (bytes.size() >= 4) {
        if (bytes.substr(0, 4) == std::string_view("\x00\x00\xFE\xFF", 4)) {
          bytes.remove_prefix(4);
        } else if (bytes.substr(0, 4) == std::string_view("\xFF\xFE\x00\x00", 4)) {
          big = false;
          bytes.remove_prefix(4);
        }
      }
      decode_utf32(bytes, big, out);
      return out;
    }
    case Charset::kUtf32Be:
    case Charset::kUtf32Le:
      decode_utf32(bytes, cs == Charset::kUtf32Be, out);
      return out;
    case Charset::kLatin1:
      out.reserve(bytes.size());
      for (char c : bytes) put_utf8(out, static_cast<unsigned char>(c));
      return out;
    case Charset::kAscii:
      out.reserve(bytes.size());
      for (char c : bytes) {
        const auto b = static_cast<unsigned char>(c);
        put_utf8(out, b < 0x80 ? char32_t(b) : kReplacement);
      }
      return out;
  }
  return out;
}

std::string encode_from_utf8(std::string_view text, Charset cs) {
  std::string out;
  if (cs == Charset::kUtf8) {
    // Re-encode so that invalid input comes out as U+FFFD, as a Java String would hold it.
    out.reserve(text.size());
    size_t i = 0;
    while (i < text.size()) put_utf8(out, next_utf8(text, i));
    return out;
  }
  // Java's String.getBytes returns an empty array for an empty string, with no BOM even for
  // UTF-16.
  if (text.empty()) return out;
  bool big = cs == Charset::kUtf16 || cs == Charset::kUtf16Be || cs == Charset::kUtf32 ||
             cs == Charset::kUtf32Be;
  if (cs == Charset::kUtf16) put16(out, 0xFEFF, true);  // Java writes a BOM for "UTF-16" only
  size_t i = 0;
  while (i < text.size()) {
    const char32_t cp = next_utf8(text, i);
    switch (cs) {
      case Charset::kUtf16:
      case Charset::kUtf16Be:
      case Charset::kUtf16Le:
        if (cp >= 0x10000) {
          const char32_t v = cp - 0x10000;
          put16(out, static_cast<char16_t>(0xD800 + (v >> 10)), big);
          put16(out, static_cast<char16_t>(0xDC00 + (v & 0x3FF)), big);
        } else {
          put16(out, static_cast<char16_t>(cp), big);
        }
        break;
      case Charset::kUtf32:
      case Charset::kUtf32Be:
      case Charset::kUtf32Le:
        put32(out, cp, big);
        break;
      case Charset::kLatin1:
        // One '?' per unmappable code point (a surrogate pair is one character for Java's encoder).
        out.push_back(cp <= 0xFF ? static_cast<char>(cp) : '?');
        break;
      case Charset::kAscii:
        out.push_back(cp < 0x80 ? static_cast<char>(cp) : '?');
        break;
      case Charset::kUtf8:
        break;
    }
  }
  return out;
}

namespace {

// Where the first byte >= 0x80 of s[from..] is (s.size() when none): 16 bytes at a time, then
// one. Bodies are mostly ASCII, and every regex interceptor checks its subject.
size_t skip_ascii(std::string_view s, size_t i) {
#if defined(__SSE2__)
  for (; i + 16 <= s.size(); i += 16) {
    int high = _mm_movemask_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i)));
    if (high != 0) return i + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(high)));
  }
#else
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    if (w & 0x8080808080808080ull) break;
  }
#endif
  while (i < s.size() && static_cast<unsigned char>(s[i]) < 0x80) ++i;
  return i;
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  for (size_t i = skip_ascii(s, 0); i < s.size(); i = skip_ascii(s, i)) {
    const size_t start = i;
    if (next_utf8(s, i) == kReplacement) {
      // U+FFFD itself is valid: EF BF BD.
      if (!(i - start == 3 && s.substr(start, 3) == "\xEF\xBF\xBD")) return false;
    }
  }
  return true;
}

size_t utf16_length(std::string_view utf8) {
  size_t n = 0, i = 0;
  while (i < utf8.size()) n += next_utf8(utf8, i) >= 0x10000 ? 2 : 1;
  return n;
}

}  // namespace ingestor

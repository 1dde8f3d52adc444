#include "base/charset.h"

#include <gtest/gtest.h>

#include <string>

namespace ingestor {
namespace {

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int x : b) s.push_back(static_cast<char>(x));
  return s;
}

// "aé€😀": 1-, 2-, 3- and 4-byte UTF-8 sequences (U+0061, U+00E9, U+20AC, U+1F600).
const std::string kText = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";
const std::string kFffd = "\xEF\xBF\xBD";

TEST(CharsetTest, NamesAndJavaAliasesMatchCaseInsensitively) {
  EXPECT_EQ(charset_from_name("UTF-8"), Charset::kUtf8);
  EXPECT_EQ(charset_from_name("utf8"), Charset::kUtf8);
  EXPECT_EQ(charset_from_name("utf-16"), Charset::kUtf16);
  EXPECT_EQ(charset_from_name("UTF_16LE"), Charset::kUtf16Le);
  EXPECT_EQ(charset_from_name("UnicodeBigUnmarked"), Charset::kUtf16Be);
  EXPECT_EQ(charset_from_name("x-utf-32le"), Charset::kUtf32Le);
  EXPECT_EQ(charset_from_name("UTF32"), Charset::kUtf32);
  EXPECT_EQ(charset_from_name("latin1"), Charset::kLatin1);
  EXPECT_EQ(charset_from_name("ISO8859_1"), Charset::kLatin1);
  EXPECT_EQ(charset_from_name("iso-8859-1"), Charset::kLatin1);
  EXPECT_EQ(charset_from_name("ASCII"), Charset::kAscii);
  EXPECT_EQ(charset_from_name("us-ascii"), Charset::kAscii);
  EXPECT_EQ(charset_from_name("windows-1252"), std::nullopt);
  EXPECT_EQ(charset_from_name(""), std::nullopt);
  EXPECT_EQ(charset_from_name(" utf-8"), std::nullopt);  // Java does not trim either
}

TEST(CharsetTest, CanonicalNamesRoundTrip) {
  for (Charset cs :
       {Charset::kUtf8, Charset::kUtf16, Charset::kUtf16Be, Charset::kUtf16Le, Charset::kUtf32,
        Charset::kUtf32Be, Charset::kUtf32Le, Charset::kLatin1, Charset::kAscii}) {
    EXPECT_EQ(charset_from_name(charset_name(cs)), cs) << charset_name(cs);
  }
  EXPECT_STREQ(charset_name(Charset::kUtf16Be), "UTF-16BE");
  EXPECT_STREQ(charset_name(Charset::kLatin1), "ISO-8859-1");
}

TEST(CharsetTest, Utf16EncodeIsBigEndianWithBom) {
  EXPECT_EQ(encode_from_utf8("ab", Charset::kUtf16), bytes({0xFE, 0xFF, 0, 'a', 0, 'b'}));
  // Java's "".getBytes("UTF-16") is empty: no BOM for an empty string.
  EXPECT_EQ(encode_from_utf8("", Charset::kUtf16), "");
  EXPECT_EQ(encode_from_utf8(kText, Charset::kUtf16),
            bytes({0xFE, 0xFF, 0x00, 0x61, 0x00, 0xE9, 0x20, 0xAC, 0xD8, 0x3D, 0xDE, 0x00}));
  EXPECT_EQ(encode_from_utf8(kText, Charset::kUtf16Be),
            bytes({0x00, 0x61, 0x00, 0xE9, 0x20, 0xAC, 0xD8, 0x3D, 0xDE, 0x00}));
  EXPECT_EQ(encode_from_utf8(kText, Charset::kUtf16Le),
            bytes({0x61, 0x00, 0xE9, 0x00, 0xAC, 0x20, 0x3D, 0xD8, 0x00, 0xDE}));
}

TEST(CharsetTest, Utf32EncodeHasNoBom) {
  EXPECT_EQ(encode_from_utf8("a\xC3\xA9", Charset::kUtf32), bytes({0, 0, 0, 0x61, 0, 0, 0, 0xE9}));
  EXPECT_EQ(encode_from_utf8("\xF0\x9F\x98\x80", Charset::kUtf32Be), bytes({0, 0x01, 0xF6, 0x00}));
  EXPECT_EQ(encode_from_utf8("\xF0\x9F\x98\x80", Charset::kUtf32Le), bytes({0x00, 0xF6, 0x01, 0}));
}

TEST(CharsetTest, NarrowCharsetsEncodeUnmappableAsQuestionMark) {
  EXPECT_EQ(encode_from_utf8(kText, Charset::kLatin1), bytes({'a', 0xE9, '?', '?'}));
  EXPECT_EQ(encode_from_utf8(kText, Charset::kAscii), "a???");
}

TEST(CharsetTest, DecodeRoundTripsEveryCharset) {
  for (Charset cs : {Charset::kUtf8, Charset::kUtf16, Charset::kUtf16Be, Charset::kUtf16Le,
                     Charset::kUtf32, Charset::kUtf32Be, Charset::kUtf32Le}) {
    EXPECT_EQ(decode_to_utf8(encode_from_utf8(kText, cs), cs), kText) << charset_name(cs);
  }
  EXPECT_EQ(decode_to_utf8(bytes({'a', 0xE9, 0xFF}), Charset::kLatin1), "a\xC3\xA9\xC3\xBF");
}

TEST(CharsetTest, Utf16DecodeHonoursBomAndDefaultsToBigEndian) {
  EXPECT_EQ(decode_to_utf8(bytes({0xFE, 0xFF, 0, 'h', 0, 'i'}), Charset::kUtf16), "hi");
  EXPECT_EQ(decode_to_utf8(bytes({0xFF, 0xFE, 'h', 0, 'i', 0}), Charset::kUtf16), "hi");
  EXPECT_EQ(decode_to_utf8(bytes({0, 'h', 0, 'i'}), Charset::kUtf16), "hi");
  // The fixed-order charsets keep a BOM as U+FEFF (ZWNBSP), as Java does.
  EXPECT_EQ(decode_to_utf8(bytes({0xFE, 0xFF, 0, 'h'}), Charset::kUtf16Be), "\xEF\xBB\xBFh");
  EXPECT_EQ(decode_to_utf8(bytes({0, 0, 0xFE, 0xFF, 0, 0, 0, 'h'}), Charset::kUtf32), "h");
  EXPECT_EQ(decode_to_utf8(bytes({0xFF, 0xFE, 0, 0, 'h', 0, 0, 0}), Charset::kUtf32), "h");
}

TEST(CharsetTest, InvalidInputDecodesToReplacementCharacter) {
  // UTF-8: a lone continuation byte, a truncated sequence, an encoded surrogate, an overlong form.
  EXPECT_EQ(decode_to_utf8(bytes({'a', 0x80, 'b'}), Charset::kUtf8), "a" + kFffd + "b");
  EXPECT_EQ(decode_to_utf8(bytes({'a', 0xE2, 0x82}), Charset::kUtf8), "a" + kFffd);
  EXPECT_EQ(decode_to_utf8(bytes({0xE2, 0x82, 'x'}), Charset::kUtf8), kFffd + "x");
  EXPECT_EQ(decode_to_utf8(bytes({0xED, 0xA0, 0x80}), Charset::kUtf8), kFffd + kFffd + kFffd);
  EXPECT_EQ(decode_to_utf8(bytes({0xC0, 0xAF}), Charset::kUtf8), kFffd + kFffd);
  EXPECT_EQ(decode_to_utf8(bytes({0xF5, 'a'}), Charset::kUtf8), kFffd + "a");
  // UTF-16: a lone low surrogate, a high surrogate followed by a letter (one malformed 4-byte
  // sequence, as Java), an odd trailing byte.
  EXPECT_EQ(decode_to_utf8(bytes({0xDC, 0x00, 0, 'a'}), Charset::kUtf16Be), kFffd + "a");
  EXPECT_EQ(decode_to_utf8(bytes({0xD8, 0x3D, 0, 'a', 0, 'b'}), Charset::kUtf16Be), kFffd + "b");
  EXPECT_EQ(decode_to_utf8(bytes({0, 'a', 0x00}), Charset::kUtf16Be), "a" + kFffd);
  EXPECT_EQ(decode_to_utf8(bytes({0, 'a', 0xD8, 0x3D, 0x01}), Charset::kUtf16Be), "a" + kFffd);
  // UTF-32: out of range, a surrogate, a truncated tail.
  EXPECT_EQ(decode_to_utf8(bytes({0, 0x11, 0, 0, 0, 0, 0, 'a'}), Charset::kUtf32Be), kFffd + "a");
  EXPECT_EQ(decode_to_utf8(bytes({0, 0, 0xD8, 0}), Charset::kUtf32Be), kFffd);
  EXPECT_EQ(decode_to_utf8(bytes({0, 0, 0, 'a', 0, 0}), Charset::kUtf32Be), "a" + kFffd);
  // US-ASCII: any byte over 0x7F.
  EXPECT_EQ(decode_to_utf8(bytes({'a', 0xE9}), Charset::kAscii), "a" + kFffd);
}

TEST(CharsetTest, InvalidUtf8InputEncodesAsAJavaStringWould) {
  // Invalid UTF-8 stands for U+FFFD: '?' in narrow charsets, FFFD in wide ones.
  EXPECT_EQ(encode_from_utf8(bytes({'a', 0xFF}), Charset::kUtf8), "a" + kFffd);
  EXPECT_EQ(encode_from_utf8(bytes({'a', 0xFF}), Charset::kLatin1), "a?");
  EXPECT_EQ(encode_from_utf8(bytes({'a', 0xFF}), Charset::kUtf16Be), bytes({0, 'a', 0xFF, 0xFD}));
}

TEST(CharsetTest, Utf16LengthCountsJavaChars) {
  EXPECT_EQ(utf16_length(""), 0u);
  EXPECT_EQ(utf16_length("abc"), 3u);
  EXPECT_EQ(utf16_length(kText), 5u);  // a, é, € and a surrogate pair
  EXPECT_EQ(utf16_length(bytes({'a', 0xFF, 0xFE})), 3u);
}

TEST(CharsetTest, ValidUtf8IsWhatDecodingLeavesUnchanged) {
  for (std::string s : {std::string(""), std::string("plain ascii text, long enough"),
                        std::string("\xc3\xa9t\xc3\xa9"), std::string("\xef\xbf\xbd"),
                        std::string("\xf0\x9f\x98\x80 emoji"), std::string("\xf4\x8f\xbf\xbf")})
    EXPECT_TRUE(is_valid_utf8(s)) << s;
  for (std::string s :
       {std::string("\xff"), std::string("abcdefgh\xc3"), std::string("\xc0\x80"),
        std::string("\xed\xa0\x80"), std::string("\xf4\x90\x80\x80"), std::string("12345678\x80")})
    EXPECT_FALSE(is_valid_utf8(s)) << s;
  for (std::string s : {std::string("x\xfe\xc3\xa9"), std::string("\xe2\x82\xac\xe2\x82")})
    EXPECT_EQ(is_valid_utf8(s), decode_to_utf8(s, Charset::kUtf8) == s);
}

// The ASCII fast paths read 64 and 8 bytes at a time: a non-ASCII byte is seen wherever it
// falls in or after a block, and a valid sequence straddling two blocks is accepted.
TEST(Charset, ValidUtf8AtEveryOffsetOfALongBody) {
  for (size_t at = 0; at < 200; ++at) {
    std::string bad(200, 'x');
    bad[at] = '\x80';
    EXPECT_FALSE(is_valid_utf8(bad)) << at;
    std::string good(200, 'x');
    good.replace(at, 2, "\xC3\xA9");  // e-acute
    good.resize(200);
    EXPECT_EQ(is_valid_utf8(good), at < 199) << at;  // at 199 only its lead byte is left
  }
}

}  // namespace
}  // namespace ingestor

#include "store/keys.h"

#include <openssl/rand.h>

#include <cassert>
#include <cstdio>
#include <random>

#include "base/charset.h"

namespace ingestor::store {

namespace {
bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool looks_like_ipv4(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find('.', i);
    if (j == std::string_view::npos) j = s.size();
    std::string_view p = s.substr(i, j - i);
    if (p.empty() || p.size() > 3) return false;
    for (char c : p)
      if (c < '0' || c > '9') return false;
    ++parts;
    i = j + 1;
  }
  return parts == 4;
}
}  // namespace

bool is_valid_bucket_name(std::string_view name) {
  if (name.size() < 3 || name.size() > 63) return false;
  if (!is_lower_alnum(name.front()) || !is_lower_alnum(name.back())) return false;
  for (char c : name)
    if (!is_lower_alnum(c) && c != '.' && c != '-') return false;
  if (name.find("..") != std::string_view::npos || name.find(".-") != std::string_view::npos ||
      name.find("-.") != std::string_view::npos)
    return false;
  if (name.starts_with("xn--") || name.ends_with("-s3alias") || name.ends_with("--ol-s3"))
    return false;
  return !looks_like_ipv4(name);
}

ApiStatus validate_key(std::string_view key) {
  if (key.size() > kMaxKeyBytes) return err::key_too_long(key.size());
  if (key.empty()) return err::invalid_argument("Object key must not be empty");
  if (!is_valid_utf8(key)) return err::invalid_uri("Object key is not valid UTF-8.");
  return {};
}

std::string url_encode_for_listing(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~' || c == '/') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string new_content_id() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) {
    // OpenSSL's CSPRNG failing is not expected; fall back to the OS device through std.
    thread_local std::mt19937_64 gen{std::random_device{}()};
    for (auto& x : b) x = static_cast<unsigned char>(gen());
  }
  char out[33];
  for (int i = 0; i < 16; ++i) std::snprintf(out + 2 * i, 3, "%02x", b[i]);
  return std::string(out, 32);
}

bool is_valid_content_id(std::string_view id) {
  if (id.size() != 32) return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string content_path(const std::string& data_dir, std::string_view id) {
  assert(is_valid_content_id(id));
  std::string p = data_dir;
  p += "/objects/";
  p.append(id.substr(0, 2));
  p += '/';
  p.append(id);
  return p;
}

std::string temp_path(const std::string& data_dir, std::string_view id) {
  assert(is_valid_content_id(id));
  std::string p = data_dir;
  p += "/tmp/";
  p.append(id);
  p += ".part";
  return p;
}

}  // namespace ingestor::store

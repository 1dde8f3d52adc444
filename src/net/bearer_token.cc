#include "net/bearer_token.h"

#include <openssl/rand.h>

#include <cstdlib>

#include "base/file.h"
#include "base/hash.h"

namespace ingestor::net {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim_trailing(std::string_view s) {
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

}  // namespace

std::string bearer_token_problem(std::string_view token) {
  if (token.empty()) return "is empty";
  if (token.size() < kMinBearerTokenBytes)
    return "is " + std::to_string(token.size()) + " characters; at least " +
           std::to_string(kMinBearerTokenBytes) + " are needed (e.g. `openssl rand -hex 32`)";
  if (token.size() > kMaxBearerTokenBytes)
    return "is longer than " + std::to_string(kMaxBearerTokenBytes) + " characters";
  for (size_t i = 0; i < token.size(); ++i) {
    auto c = static_cast<unsigned char>(token[i]);
    if (c < 0x21 || c > 0x7e)
      return "holds a character that is not visible ASCII (a space, a control character or a "
             "non-ASCII byte) at offset " +
             std::to_string(i);
  }
  return {};
}

Result<std::string> load_bearer_token(std::string_view file_flag, const std::string& file,
                                      const char* env) {
  if (!file.empty()) {
    auto content = read_file(file);
    if (!content)
      return make_error(Errc::kConfig,
                        std::string(file_flag) + " '" + file + "': " + content.error().message);
    std::string token(trim_trailing(*content));
    if (auto why = bearer_token_problem(token); !why.empty())
      return make_error(Errc::kConfig,
                        std::string(file_flag) + " '" + file + "': the token " + why);
    return token;
  }
  const char* v = env ? std::getenv(env) : nullptr;
  if (!v) return std::string();
  std::string token(trim_trailing(v));
  if (auto why = bearer_token_problem(token); !why.empty())
    return make_error(Errc::kConfig, std::string(env) + ": the token " + why);
  return token;
}

Result<std::string> new_bearer_token() {
  unsigned char b[32];
  if (RAND_bytes(b, sizeof b) != 1)
    return make_error(Errc::kInternal, "cannot make a random token: OpenSSL's RAND_bytes failed");
  return to_hex(std::string_view(reinterpret_cast<const char*>(b), sizeof b));
}

std::string bearer_authorization(std::string_view token) { return "Bearer " + std::string(token); }

bool bearer_authorized(const std::string* authorization, std::string_view token) {
  if (!authorization || token.empty()) return false;
  std::string_view v = *authorization;
  auto sp = v.find(' ');
  if (sp == std::string_view::npos || !iequals(v.substr(0, sp), "Bearer")) return false;
  v.remove_prefix(sp);
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  v = trim_trailing(v);
  return constant_time_equal(as_bytes(sha256(v)), as_bytes(sha256(token)));
}

}  // namespace ingestor::net

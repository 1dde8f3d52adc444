#include "consumer/path_safety.h"

namespace ingestor::consumer {

namespace {
Error bad(std::string m) { return make_error(Errc::kInvalidArgument, std::move(m)); }
}  // namespace

Status check_bucket_name(std::string_view b) {
  if (b.empty() || b.size() > 255) return bad("bucket name must be 1 to 255 bytes");
  if (b.front() == '.') return bad("bucket name must not start with '.'");
  for (char c : b) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_';
    if (!ok) return bad("bucket name has a character outside [A-Za-z0-9._-]");
  }
  return {};
}

Status check_key(std::string_view key) {
  if (key.empty()) return bad("empty key");
  if (key.size() > 1024) return bad("key longer than 1024 bytes");
  for (unsigned char c : key) {
    if (c == 0) return bad("key contains a NUL byte");
    if (c < 0x20 || c == 0x7f) return bad("key contains a control character");
  }
  if (key.front() == '/') return bad("key is an absolute path (starts with '/')");
  size_t start = 0;
  while (start <= key.size()) {
    size_t slash = key.find('/', start);
    std::string_view seg =
        key.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (seg.empty()) return bad("key has an empty path segment ('//' or a trailing '/')");
    if (seg == "." || seg == "..")
      return bad("key segment '" + std::string(seg) + "' would leave or alias a directory");
    if (seg.size() > 255) return bad("key segment longer than 255 bytes");
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return {};
}

Result<std::string> object_path(std::string_view dir, std::string_view bucket,
                                std::string_view key) {
  if (auto st = check_bucket_name(bucket); !st) return st.error();
  if (auto st = check_key(key); !st) return st.error();
  std::string p(dir);
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  p += '/';
  p += bucket;
  p += '/';
  p += key;
  return p;
}

}  // namespace ingestor::consumer

#include "store/request.h"

namespace ingestor::store {

ApiResult<Address> parse_address(std::string_view target, std::string_view host,
                                 std::string_view domain) {
  Address a;
  auto qpos = target.find('?');
  std::string_view raw_path = target.substr(0, qpos);
  if (qpos != std::string_view::npos) a.raw_query = std::string(target.substr(qpos + 1));
  if (raw_path.empty() || raw_path.front() != '/') return err::invalid_uri();
  auto decoded = s3::percent_decode(raw_path, false);
  if (!decoded) return err::invalid_uri();
  a.decoded_path = *decoded;

  // Host without port (IPv6 literals in brackets keep their colons).
  std::string_view h = host;
  if (!h.empty() && h.front() != '[') {
    auto c = h.rfind(':');
    if (c != std::string_view::npos) h = h.substr(0, c);
  }
  std::string hl(h);
  for (auto& ch : hl) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (!domain.empty() && hl.size() > domain.size() + 1 && hl.ends_with(domain) &&
      hl[hl.size() - domain.size() - 1] == '.') {
    a.virtual_host = true;
    a.bucket = hl.substr(0, hl.size() - domain.size() - 1);
    a.key = decoded->substr(1);
    return a;
  }
  std::string_view p = *decoded;
  p.remove_prefix(1);
  auto slash = p.find('/');
  if (slash == std::string_view::npos) {
    a.bucket = std::string(p);
  } else {
    a.bucket = std::string(p.substr(0, slash));
    a.key = std::string(p.substr(slash + 1));
  }
  return a;
}

std::optional<std::string> query_value(const std::vector<s3::QueryParam>& q,
                                       std::string_view name) {
  for (const auto& p : q)
    if (p.name == name) return p.value;
  return std::nullopt;
}

}  // namespace ingestor::store

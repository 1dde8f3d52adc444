// Fuzz target `acl_cors` (fuzz/README.md): the access-control inputs `ingestor store` reads from
// clients: AccessControlPolicy documents (PutBucketAcl / PutObjectAcl), CORSConfiguration
// documents (PutBucketCors), and x-amz-acl / x-amz-grant-* header values.
//
// Input: byte 0 selects the parser (modulo 3), the rest is the body or header value.
//
// Invariants: errors are 400s; the grants of a policy read back the same from acl_xml() and from
// their stored form; a CORS configuration rendered by render_cors_config() reads back the same
// rules; a stored ACL never lets an anonymous request do more than AllUsers was granted.

#include <cstdint>
#include <string>
#include <string_view>

#include "base/fuzz_check.h"
#include "store/acl.h"
#include "store/cors.h"

namespace {

using namespace ingestor;
using namespace ingestor::store;

void check_client_error(const ApiError& e) {
  INGESTOR_FUZZ_CHECK(e.status == 400, e.code + ": " + e.message);
}

const Users& users() {
  static const Users u({{"ingestor", "AK1", "s1"}, {"alt", "AK2", "s2"}});
  return u;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      auto grants = parse_acl_xml(body, users());
      if (!grants) {
        check_client_error(grants.error());
        break;
      }
      auto again = parse_acl_xml(acl_xml("ingestor", *grants), users());
      INGESTOR_FUZZ_CHECK(again.has_value() && *again == *grants, acl_xml("ingestor", *grants));
      const std::string text = grants_to_text(*grants, "ingestor");
      INGESTOR_FUZZ_CHECK(grants_from_text(text, "ingestor") == *grants, text);
      bool anyone_reads = false;
      for (const auto& g : *grants)
        anyone_reads = anyone_reads || (g.kind == Grant::Kind::kAllUsers &&
                                        (g.permission & kPermRead) == kPermRead);
      INGESTOR_FUZZ_CHECK(acl_allows("ingestor", text, nullptr, kPermRead) == anyone_reads, text);
      break;
    }
    case 1: {
      auto rules = parse_cors_config(body);
      if (!rules) {
        check_client_error(rules.error());
        break;
      }
      const std::string rendered = render_cors_config(*rules);
      auto again = parse_cors_config(rendered);
      INGESTOR_FUZZ_CHECK(again.has_value() && again->size() == rules->size(), rendered);
      for (size_t i = 0; i < rules->size(); ++i) {
        INGESTOR_FUZZ_CHECK((*again)[i].allowed_origins == (*rules)[i].allowed_origins, rendered);
        INGESTOR_FUZZ_CHECK((*again)[i].allowed_methods == (*rules)[i].allowed_methods, rendered);
      }
      (void)match_cors_rule(*rules, "https://a.example", "GET", split_header_list("x-a, x-b"));
      break;
    }
    default: {
      RawRequest req;
      req.headers.push_back({"x-amz-grant-read", std::string(body)});
      auto g = acl_from_headers(req, users(), "ingestor", "ingestor");
      if (!g) check_client_error(g.error());
      RawRequest canned;
      canned.headers.push_back({"x-amz-acl", std::string(body)});
      auto c = acl_from_headers(canned, users(), "alt", "ingestor");
      if (!c) check_client_error(c.error());
      break;
    }
  }
  return 0;
}

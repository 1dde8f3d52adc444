// Fuzz target `store_xml` (fuzz/README.md): the XML request bodies `ingestor store` reads from
// clients: CompleteMultipartUpload and DeleteObjects (store_xml.h), CreateBucketConfiguration,
// and PutBucketNotificationConfiguration (notification_config.h).
//
// Input: byte 0 selects the parser (modulo 4), the rest is the body.
//
// Invariants: errors are MalformedXML (400), or InvalidArgument (400) for a notification rule;
// CompleteMultipartUpload gives 1..n parts with numbers of at most 9 digits, and the list the
// client module writes for those parts (build_complete_multipart_upload) reads back the same;
// DeleteObjects gives 1..1000 keys; a notification configuration rendered by
// render_notification_config() reads back as the same rules.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "base/fuzz_check.h"
#include "s3/xml.h"
#include "store/notification_config.h"
#include "store/store_xml.h"

namespace {

using namespace ingestor;
using namespace ingestor::store;

void check_client_error(const ApiError& e) {
  INGESTOR_FUZZ_CHECK(e.status == 400, e.code + ": " + e.message);
  INGESTOR_FUZZ_CHECK(e.code == "MalformedXML" || e.code == "InvalidArgument", e.code);
}

bool same_rules(const std::vector<NotificationRule>& a, const std::vector<NotificationRule>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].kind != b[i].kind || a[i].id != b[i].id || a[i].arn != b[i].arn ||
        a[i].events != b[i].events || a[i].prefix != b[i].prefix || a[i].suffix != b[i].suffix) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view xml(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: {
      auto parts = parse_complete_multipart(xml);
      if (!parts) {
        check_client_error(parts.error());
        break;
      }
      INGESTOR_FUZZ_CHECK(!parts->empty());
      std::vector<s3::CompletedPart> out;
      for (const auto& p : *parts) {
        INGESTOR_FUZZ_CHECK(p.part_number >= 0 && p.part_number <= 999999999);
        out.push_back({p.part_number, p.etag, ""});
      }
      const std::string written = s3::build_complete_multipart_upload(out);
      auto again = parse_complete_multipart(written);
      INGESTOR_FUZZ_CHECK(again.has_value(), written);
      INGESTOR_FUZZ_CHECK(again->size() == parts->size(), written);
      for (size_t i = 0; i < parts->size(); ++i) {
        INGESTOR_FUZZ_CHECK((*again)[i].part_number == (*parts)[i].part_number, written);
        INGESTOR_FUZZ_CHECK((*again)[i].etag == std::string(s3::etag_unquoted((*parts)[i].etag)),
                            written);
      }
      break;
    }
    case 1: {
      auto del = parse_delete(xml);
      if (!del) {
        check_client_error(del.error());
        break;
      }
      INGESTOR_FUZZ_CHECK(!del->keys.empty() && del->keys.size() <= 1000);
      std::vector<DeleteOutcome> outcomes;
      for (const auto& k : del->keys) outcomes.push_back({k, std::nullopt});
      (void)delete_result_xml(outcomes, del->quiet);
      break;
    }
    case 2: {
      auto loc = parse_create_bucket(xml);
      if (!loc) check_client_error(loc.error());
      break;
    }
    default: {
      const std::map<std::string, std::string> targets = {{"hook", "http://127.0.0.1:1/"},
                                                          {"relay", "http://127.0.0.1:2/"}};
      auto rules = parse_notification_config(xml, targets);
      if (!rules) {
        check_client_error(rules.error());
        break;
      }
      for (const auto& r : *rules) {
        INGESTOR_FUZZ_CHECK(!r.events.empty() && !r.id.empty());
        const auto target = target_of_arn(r.arn);
        INGESTOR_FUZZ_CHECK(target && targets.contains(*target), r.arn);
        (void)rule_matches(r, "ObjectCreated:Put", "logs/2026/a.log");
      }
      const std::string rendered = render_notification_config(*rules);
      auto again = parse_notification_config(rendered, targets);
      INGESTOR_FUZZ_CHECK(again.has_value(), again.error().message + "\n" + rendered);
      INGESTOR_FUZZ_CHECK(same_rules(*rules, *again), rendered);
      break;
    }
  }
  return 0;
}

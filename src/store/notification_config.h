#pragma once
// Bucket notification configuration (PutBucketNotificationConfiguration XML, aws.md 2.10) and the
// matching of an object-created event against it. Targets are webhooks declared on the command
// line (--notify-target NAME=URL); an ARN names its target either MinIO-style
// (arn:minio:sqs::NAME:webhook, the account field) or by its last field
// (arn:aws:sqs:us-east-1:123456789012:NAME, arn:aws:lambda:...:function:NAME). Pure functions.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/store_error.h"

namespace ingestor::store {

struct NotificationRule {
  std::string kind;  // "QueueConfiguration", "TopicConfiguration", "CloudFunctionConfiguration"
  std::string id;
  std::string arn;
  std::vector<std::string> events;  // "s3:ObjectCreated:*", "s3:ObjectCreated:Put", ...
  std::string prefix, suffix;
};

// Parses and validates a configuration body: MalformedXML if unreadable; InvalidArgument for a
// rule without an event, an unknown event or filter name, a repeated filter rule, or an ARN that
// names no declared target ("Unable to validate the following destination configurations").
// Rules without an Id get one ("rule-<n>"). EventBridgeConfiguration is accepted and ignored.
[[nodiscard]] ApiResult<std::vector<NotificationRule>> parse_notification_config(
    std::string_view xml, const std::map<std::string, std::string>& targets);

// Canonical XML of the rules (what GetBucketNotificationConfiguration returns).
std::string render_notification_config(const std::vector<NotificationRule>& rules);

// The target name an ARN refers to (see above); nullopt for an ARN of fewer than 6 fields.
std::optional<std::string> target_of_arn(std::string_view arn);

// True if `rule` selects `event_name` ("ObjectCreated:Put", no "s3:" prefix) for `key`.
bool rule_matches(const NotificationRule& rule, std::string_view event_name, std::string_view key);

}  // namespace ingestor::store

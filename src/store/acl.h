#pragma once
// Identities and access control of `ingestor store`: the users a request can sign as (one access
// key each), S3 access control lists (grants, canned ACLs, x-amz-grant-* headers, the
// AccessControlPolicy document) and the permission check every request passes. Pure functions
// and immutable data; thread-safe. Semantics follow S3's ACLs (AWS docs acl-overview.html):
// - a bucket's READ lists it (ListObjects, ListObjectVersions, ListMultipartUploads, HeadBucket),
//   its WRITE creates, overwrites and deletes any object in it (and multipart uploads);
// - an object's READ reads it (GetObject, HeadObject, GetObjectAttributes, a copy's source);
// - READ_ACP / WRITE_ACP read / replace the ACL; FULL_CONTROL is all four;
// - the owner of a bucket or object always has READ_ACP and WRITE_ACP (so it can undo an ACL that
//   shuts it out); bucket configuration (delete, CORS, notifications) is the bucket owner's alone.
// Stored form of an ACL (the `acl` columns, docs/formats/store.md): "" for the default, the
// owner's FULL_CONTROL alone (what every row written before schema version 4 has), else a JSON
// array of [grantee type, id or group, permission], e.g. [["Group","AllUsers","READ"]].

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/request.h"
#include "store/store_error.h"

namespace ingestor::store {

// The main account's name (--access-key): it owns every bucket and object written before schema
// version 4.
inline constexpr const char* kMainAccount = "ingestor";

// One identity: `name` is its canonical user id and display name (S3's Owner/ID and DisplayName).
struct User {
  std::string name;
  std::string access_key;
  std::string secret_key;
};

// The users of a store: the main account (--access-key, named StoreOptions::owner, "ingestor",
// which owns every bucket and object written before schema version 4) and those added with
// `--user NAME:ACCESS_KEY:SECRET_KEY`.
class Users {
 public:
  Users() = default;
  // users.front() is the main account. Names and access keys must be unique (checked by
  // validate()).
  explicit Users(std::vector<User> users) : users_(std::move(users)) {}
  // Why this list cannot be used ("" if it can): an empty field, a duplicate name or access key,
  // a name outside [A-Za-z0-9._-] or longer than 64.
  std::string validate() const;
  const User* by_access_key(std::string_view access_key) const;
  const User* by_name(std::string_view name) const;
  const User& main() const { return users_.front(); }
  const std::vector<User>& all() const { return users_; }

 private:
  std::vector<User> users_;
};

// `NAME:ACCESS_KEY:SECRET_KEY` (the secret may contain ':') -> User; nullopt if malformed.
std::optional<User> parse_user_flag(std::string_view v);

enum Permission : uint8_t {
  kPermRead = 1,
  kPermWrite = 2,
  kPermReadAcp = 4,
  kPermWriteAcp = 8,
  kPermFullControl = 15,
};

struct Grant {
  enum class Kind : uint8_t { kUser, kAllUsers, kAuthenticatedUsers, kLogDelivery };
  Kind kind = Kind::kUser;
  std::string id;  // kUser: the user's name (canonical id)
  Permission permission = kPermRead;
  bool operator==(const Grant&) const = default;
};
using Grants = std::vector<Grant>;

// The ACL a new bucket or object gets by default: its owner's FULL_CONTROL.
Grants default_grants(const std::string& owner);
// The stored form ("" for default_grants(owner)).
std::string grants_to_text(const Grants& grants, const std::string& owner);
// Parses the stored form (an unreadable one reads as the default: the owner alone).
Grants grants_from_text(std::string_view text, const std::string& owner);

// Whether `who` (nullptr: an anonymous request) has `perm` on a resource owned by `owner` whose
// stored ACL is `acl`.
bool acl_allows(std::string_view owner, std::string_view acl, const User* who, Permission perm);

// A canned ACL (x-amz-acl): private, public-read, public-read-write, authenticated-read,
// bucket-owner-read, bucket-owner-full-control, log-delivery-write; InvalidArgument otherwise.
// Group grants come first and the owner's FULL_CONTROL last, as RGW lists them.
[[nodiscard]] ApiResult<Grants> canned_acl(std::string_view name, const std::string& owner,
                                           const std::string& bucket_owner);

// The ACL a request sets with its headers: x-amz-acl, or x-amz-grant-read / -write / -read-acp /
// -write-acp / -full-control (comma-separated id="...", uri="...", emailAddress="..."), or
// nullopt when it has neither. InvalidRequest for both kinds at once, InvalidArgument for an
// unknown user id or group, UnresolvableGrantByEmailAddress for an e-mail address (the store
// knows none).
[[nodiscard]] ApiResult<std::optional<Grants>> acl_from_headers(const RawRequest& req,
                                                                const Users& users,
                                                                const std::string& owner,
                                                                const std::string& bucket_owner);

// GetBucketAcl / GetObjectAcl body.
std::string acl_xml(const std::string& owner, const Grants& grants);
// PutBucketAcl / PutObjectAcl body: the grants of an AccessControlPolicy. MalformedACLError for a
// document that is not one, InvalidArgument / UnresolvableGrantByEmailAddress as above.
[[nodiscard]] ApiResult<Grants> parse_acl_xml(std::string_view xml, const Users& users);

namespace err {
ApiError malformed_acl();
ApiError unresolvable_email(const std::string& email);
}  // namespace err

}  // namespace ingestor::store

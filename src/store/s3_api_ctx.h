#pragma once
// Internal to s3_api*.cc: the per-request state the handlers share.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "store/s3_api.h"
#include "store/store_xml.h"

namespace ingestor::store {

struct S3Api::Ctx {
  const S3Api* api = nullptr;
  RawRequest req;
  Address addr;
  std::vector<s3::QueryParam> query;
  s3::AuthResult auth;
  const User* user = nullptr;  // the signer; nullptr for an anonymous request
  std::string request_id;

  bool has(std::string_view name) const { return query_value(query, name).has_value(); }
  std::optional<std::string> q(std::string_view name) const { return query_value(query, name); }
  std::optional<std::string> h(std::string_view name) const { return req.header(name); }
  std::string resource() const { return addr.decoded_path; }

  Response ok(int status = 200) const {
    Response r;
    r.status = status;
    r.headers.emplace_back("x-amz-request-id", request_id);
    r.headers.emplace_back("x-amz-id-2", request_id);
    return r;
  }
  Response xml(std::string body, int status = 200) const {
    Response r = ok(status);
    r.headers.emplace_back("Content-Type", "application/xml");
    r.body = std::move(body);
    return r;
  }
  Response fail(const ApiError& e) const {
    Response r = api->error(e, req.method, resource());
    // The body names the request as the x-amz-request-id header does.
    if (!r.body.empty()) r.body = error_xml(e, resource(), request_id);
    r.headers.emplace_back("x-amz-request-id", request_id);
    r.headers.emplace_back("x-amz-id-2", request_id);
    return r;
  }
  Prepared now(Response r) const {
    Prepared p;
    p.response = std::move(r);
    return p;
  }
  Prepared now_fail(const ApiError& e) const { return now(fail(e)); }
  EventContext event() const {
    EventContext ev;
    ev.request_id = request_id;
    ev.source_ip = req.remote_ip.empty() ? "127.0.0.1" : req.remote_ip;
    ev.principal = auth.access_key_id.empty() ? "anonymous" : auth.access_key_id;
    return ev;
  }
  bool owns(const std::string& owner) const { return user != nullptr && user->name == owner; }
};

// Helpers shared by s3_api.cc, object_api.cc and access_api.cc.
ObjectMeta meta_from_headers(const S3Api::Ctx& c);
// The ACL a request sets on a new object (x-amz-acl / x-amz-grant-*, else the default) in the
// stored form, for `owner` in a bucket owned by `bucket_owner`.
ApiResult<std::string> object_acl_from_request(const S3Api::Ctx& c, const Users& users,
                                               const std::string& owner,
                                               const std::string& bucket_owner);
// A max-keys style count: default when absent, capped at 1000; *bad on junk or < 0.
int parse_max(const std::optional<std::string>& v, int dflt, bool* bad);
// Parses "1".."10000" (InvalidArgument otherwise).
ApiResult<int> parse_part_number(const std::optional<std::string>& v);
// "/bucket/key?versionId=..." (leading '/' optional, URL-encoded) -> {bucket, key}.
ApiResult<std::pair<std::string, std::string>> parse_copy_source(const std::string& v);

}  // namespace ingestor::store

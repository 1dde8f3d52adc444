#pragma once
// S3Api: the S3 REST API of `ingestor store` over ObjectStore, independent of the transport.
// The server calls prepare() on an io thread once the request header has arrived (parse,
// authenticate, route, plan the body), feeds the body to the Operation's BodyPipeline, then runs
// Operation::finish on the blocking pool. Routing table: aws.md 2.1.
// Thread-safety: prepare() may run concurrently from every io thread.

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/file.h"
#include "s3/sigv4.h"
#include "store/acl.h"
#include "store/body_pipeline.h"
#include "store/object_store.h"
#include "store/request.h"

namespace ingestor::store {

class StoreMetrics;

struct ApiOptions {
  std::string access_key;  // the main account's (named StoreOptions::owner)
  std::string secret_key;
  std::vector<User> users;  // more users (--user NAME:ACCESS_KEY:SECRET_KEY)
  std::string region = "us-east-1";
  std::string virtual_host_domain = "localhost";
  size_t xml_body_limit = 2 << 20;
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // A streamed body: `length` bytes of `content` from `offset` (GetObject).
  std::optional<Content> content;
  uint64_t offset = 0, length = 0;
  // HEAD: headers only, but Content-Length as for GET.
  bool head = false;
  bool close = false;  // close the connection after this response
};

struct Operation {
  std::unique_ptr<BodyPipeline> body;  // null: the body (if any) is read and discarded
  std::function<Response(BodyPipeline*)> finish;
};

// Either an immediate response (an error found before the body) or an operation.
struct Prepared {
  std::optional<Response> response;
  Operation op;
};

class S3Api {
 public:
  S3Api(ObjectStore& store, ApiOptions options);

  Prepared prepare(const RawRequest& req);
  // The response for an error (XML body, or no body for HEAD and 304).
  Response error(const ApiError& e, const std::string& method, const std::string& resource) const;
  std::string next_request_id();
  // Requests received so far (metrics).
  uint64_t requests() const { return request_seq_.load(std::memory_order_relaxed); }
  // Serves GET /_ingestor/metrics and /_ingestor/prometheus from `m` (store_metrics.h); must
  // outlive this S3Api. Unset: those paths are S3 requests like any other.
  void set_metrics(const StoreMetrics* m) { metrics_ = m; }

  struct Ctx;  // per-request state shared by the handlers (s3_api_ctx.h)

 private:
  Prepared route(std::shared_ptr<Ctx> c);
  Prepared bucket_op(std::shared_ptr<Ctx> c);
  Prepared put_object(std::shared_ptr<Ctx> c);
  Prepared copy_object(std::shared_ptr<Ctx> c);
  Prepared get_object(std::shared_ptr<Ctx> c, bool head);
  Prepared upload_part(std::shared_ptr<Ctx> c);
  Prepared multipart_op(std::shared_ptr<Ctx> c);
  Prepared list_objects(std::shared_ptr<Ctx> c);
  ApiResult<BodyPlan> plan_body(Ctx& c, bool object_data, bool object_checksums = false);
  // `object_checksums`: the x-amz-checksum-* headers describe the object being made
  // (CompleteMultipartUpload), not this body.
  Prepared with_xml_body(std::shared_ptr<Ctx> c,
                         std::function<Response(Ctx&, const std::string&)> f,
                         bool object_checksums = false);

  // access_api.cc: ACLs, CORS, ListObjectVersions, GetObjectAttributes, CORS preflight.
  // The bucket's owner and ACL when the requester may `perm` on it (0: only its owner may);
  // NoSuchBucket, or AccessDenied (also for an x-amz-expected-bucket-owner that is not its
  // owner).
  ApiResult<BucketAccess> check_bucket(const Ctx& c, unsigned perm);
  Prepared bucket_acl(std::shared_ptr<Ctx> c);
  Prepared object_acl(std::shared_ptr<Ctx> c);
  Prepared bucket_cors(std::shared_ptr<Ctx> c);
  Prepared list_versions(std::shared_ptr<Ctx> c);
  Prepared object_attributes(std::shared_ptr<Ctx> c);
  Prepared preflight(std::shared_ptr<Ctx> c);
  // Adds the Access-Control-* headers of the bucket's CORS rule matching the request's Origin.
  void add_cors(const std::shared_ptr<Ctx>& c, Prepared& p);

  ObjectStore& store_;
  ApiOptions options_;
  Users users_;
  s3::SigningKeyCache key_cache_;
  std::atomic<uint64_t> request_seq_{0};
  const StoreMetrics* metrics_ = nullptr;
};

}  // namespace ingestor::store

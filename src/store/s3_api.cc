#include "store/s3_api.h"

#include <cstdio>

#include "base/log.h"
#include "net/header_value.h"
#include "store/keys.h"
#include "store/s3_api_ctx.h"
#include "store/store_metrics.h"

namespace ingestor::store {

namespace {

bool is_unsupported_subresource(const S3Api::Ctx& c) {
  static const char* kUnsupported[] = {"policy",
                                       "lifecycle",
                                       "tagging",
                                       "website",
                                       "replication",
                                       "logging",
                                       "encryption",
                                       "ownershipControls",
                                       "publicAccessBlock",
                                       "requestPayment",
                                       "object-lock",
                                       "accelerate",
                                       "analytics",
                                       "inventory",
                                       "metrics",
                                       "intelligent-tiering",
                                       "retention",
                                       "legal-hold",
                                       "torrent",
                                       "restore",
                                       "select",
                                       "policyStatus"};
  for (const char* s : kUnsupported)
    if (c.has(s)) return true;
  return false;
}

// Issue 16: a value that may come back as a response header (stored Content-* and x-amz-meta-*
// headers, response-* overrides, Origin in CORS answers) must not split the response. Every
// request header is checked (a control character is invalid in any of them, RFC 9110 5.5), and
// every response-* query parameter: 400 InvalidArgument. StoreServer checks what it writes too.
ApiStatus check_header_inputs(const RawRequest& req, const std::vector<s3::QueryParam>& query) {
  auto bad = [](const std::string& name, const std::string& value) {
    return err::invalid_argument("A header value may not contain control characters (CR, LF, ...)",
                                 name, log::escape(value, 256));
  };
  for (const auto& h : req.headers)
    if (!net::is_safe_header_value(h.value)) return bad(h.name, h.value);
  for (const auto& q : query)
    if (q.name.starts_with("response-") && !net::is_safe_header_value(q.value))
      return bad(q.name, q.value);
  return {};
}

// Issue 16: the store does not encrypt at rest, so a request asking for server-side encryption
// (SSE-C customer keys, SSE-KMS, DSSE-KMS, and SSE-S3 AES256 too: it would be a promise the data
// on disk does not keep) is refused rather than stored in the clear: 501 NotImplemented.
ApiStatus check_no_sse(const RawRequest& req) {
  for (const auto& h : req.headers) {
    std::string n = h.name;
    for (auto& ch : n) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (n.starts_with("x-amz-server-side-encryption") ||
        n.starts_with("x-amz-copy-source-server-side-encryption"))
      return err::not_implemented(
          "Server-side encryption is not implemented by ingestor store: objects are stored "
          "unencrypted, so requests with " +
          n + " are refused.");
  }
  return {};
}

// A request that brings new data (PutObject, UploadPart, CopyObject: every PUT on a key but
// ?acl) is refused before its body is read when the data dir's file system would keep less than
// StoreOptions::min_free_space free after it. A copy's size is not known here: the floor alone.
ApiResult<void> check_free_space(const ObjectStore& store, const RawRequest& req) {
  const uint64_t floor = store.options().min_free_space;
  if (floor == 0) return {};
  uint64_t size = req.content_length.value_or(0);
  if (auto decoded = req.header("x-amz-decoded-content-length")) {
    try {
      size = std::stoull(*decoded);
    } catch (...) {
      // malformed: left to the body pipeline, which answers it
    }
  }
  auto free = store.free_space();
  if (!free) return {};  // cannot tell: the write itself will say
  if (*free >= size && *free - size >= floor) return {};
  std::string msg = "The store's disk is nearly full: " + std::to_string(*free) + " bytes free, ";
  msg += "this request needs " + std::to_string(size) + " and the store keeps ";
  msg += std::to_string(floor) + " free (" + store.options().min_free_space_setting;
  msg += ") so that objects can still be deleted. ";
  return err::insufficient_storage(msg + "Delete objects or add space.");
}

}  // namespace

int parse_max(const std::optional<std::string>& v, int dflt, bool* bad) {
  if (!v) return dflt;
  if (v->empty() || v->size() > 9 || v->find_first_not_of("-0123456789") != std::string::npos) {
    *bad = true;
    return dflt;
  }
  int n = std::stoi(*v);
  if (n < 0) *bad = true;
  return std::min(n, 1000);
}

S3Api::S3Api(ObjectStore& store, ApiOptions options)
    : store_(store), options_(std::move(options)), key_cache_(16) {
  std::vector<User> users{{store_.options().owner, options_.access_key, options_.secret_key}};
  users.insert(users.end(), options_.users.begin(), options_.users.end());
  users_ = Users(std::move(users));
}

std::string S3Api::next_request_id() {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llX",
                static_cast<unsigned long long>(++request_seq_ + (uint64_t{0x1A} << 56)));
  return buf;
}

Response S3Api::error(const ApiError& e, const std::string& method,
                      const std::string& resource) const {
  Response r;
  r.status = e.status;
  if (method == "HEAD" || e.status == 304) {
    r.head = true;
    return r;
  }
  r.headers.emplace_back("Content-Type", "application/xml");
  r.body = error_xml(e, resource, "");
  return r;
}

Prepared S3Api::prepare(const RawRequest& req) {
  auto c = std::make_shared<Ctx>();
  c->api = this;
  c->req = req;
  c->request_id = next_request_id();
  if (metrics_ && (req.method == "GET" || req.method == "HEAD") &&
      (req.target == "/_ingestor/metrics" || req.target == "/_ingestor/prometheus")) {
    // Counts only, no object data: unauthenticated, like the other roles' /metrics.
    Response r;
    const bool prom = req.target == "/_ingestor/prometheus";
    r.body = prom ? metrics_->prometheus() : metrics_->json();
    r.headers.emplace_back("Content-Type",
                           prom ? "text/plain; version=0.0.4; charset=utf-8" : "application/json");
    r.head = req.method == "HEAD";
    return Prepared{.response = std::move(r), .op = {}};
  }
  std::string host = req.header("host").value_or("");
  auto addr = parse_address(req.target, host, options_.virtual_host_domain);
  if (!addr) {
    c->addr.decoded_path = req.target;
    return c->now_fail(addr.error());
  }
  c->addr = std::move(*addr);
  c->query = s3::parse_query(c->addr.raw_query);
  if (auto in = check_header_inputs(req, c->query); !in) return c->now_fail(in.error());
  // A CORS preflight carries no credentials (a browser sends it before the request it asks about).
  if (req.method == "OPTIONS") return preflight(c);

  // Authentication: every request must be signed.
  s3::SigningRequest sr;
  sr.method = req.method;
  sr.path = c->addr.decoded_path;
  sr.query = c->query;
  sr.headers = req.headers;
  if (c->addr.virtual_host) sr.virtual_bucket = c->addr.bucket;
  s3::VerifyOptions vo;
  vo.region = "";  // any region in the scope
  vo.cache = &key_cache_;
  auto lookup = [this](std::string_view akid) -> std::optional<s3::Credentials> {
    const User* u = users_.by_access_key(akid);
    if (!u) return std::nullopt;
    return s3::Credentials{u->access_key, u->secret_key, ""};
  };
  auto auth = s3::verify_request(sr, lookup, std::chrono::system_clock::now(), vo);
  if (!auth) return c->now_fail(ApiError::from(auth.error()));
  // An anonymous request gets what the ACLs grant AllUsers (every operation checks).
  if (auth->kind != s3::AuthKind::kAnonymous) c->user = users_.by_access_key(auth->access_key_id);
  c->auth = std::move(*auth);
  Prepared p = route(c);
  if (!c->addr.bucket.empty() && c->h("origin")) add_cors(c, p);
  return p;
}

Prepared S3Api::route(std::shared_ptr<Ctx> c) {
  const std::string& m = c->req.method;
  if (c->addr.bucket.empty()) {
    if (m != "GET") return c->now_fail(err::method_not_allowed());
    if (!c->user) return c->now_fail(err::access_denied());
    Prepared p;
    p.op.finish = [this, c](BodyPipeline*) {
      auto b = store_.list_buckets(c->user->name);
      if (!b) return c->fail(b.error());
      return c->xml(list_buckets_xml(*b, c->user->name));
    };
    return p;
  }
  if (is_unsupported_subresource(*c))
    return c->now_fail(
        err::not_implemented("This subresource is not implemented by ingestor store."));
  if (c->addr.key.empty()) return bucket_op(c);
  if (auto v = validate_key(c->addr.key); !v) return c->now_fail(v.error());
  if (auto sse = check_no_sse(c->req); !sse) return c->now_fail(sse.error());
  if (m == "PUT" && !c->has("acl")) {
    if (auto room = check_free_space(store_, c->req); !room) return c->now_fail(room.error());
  }
  if (c->has("acl")) return object_acl(c);
  if (c->has("attributes") && m == "GET") return object_attributes(c);
  if (c->has("versionId")) {
    // An unversioned store: every object is version "null".
    if (c->q("versionId").value_or("") != "null")
      return c->now_fail(ApiError("NoSuchVersion", 404, "The specified version does not exist.")
                             .with("Key", c->addr.key)
                             .with("VersionId", c->q("versionId").value_or("")));
  }
  if (m == "PUT") {
    if (c->has("partNumber") || c->has("uploadId")) return upload_part(c);
    if (c->h("x-amz-copy-source")) return copy_object(c);
    return put_object(c);
  }
  if (m == "GET" || m == "HEAD") {
    if (c->has("uploadId") && m == "GET") return multipart_op(c);
    return get_object(c, m == "HEAD");
  }
  if (m == "DELETE") {
    if (c->has("uploadId")) return multipart_op(c);
    Prepared p;
    p.op.finish = [this, c](BodyPipeline*) {
      if (auto b = check_bucket(*c, kPermWrite); !b) return c->fail(b.error());
      auto s = store_.delete_object(c->addr.bucket, c->addr.key);
      if (!s) return c->fail(s.error());
      return c->ok(204);
    };
    return p;
  }
  if (m == "POST") {
    if (c->has("uploads") || c->has("uploadId")) return multipart_op(c);
    return c->now_fail(err::not_implemented("POST object uploads are not implemented."));
  }
  return c->now_fail(err::method_not_allowed());
}

Prepared S3Api::with_xml_body(std::shared_ptr<Ctx> c,
                              std::function<Response(Ctx&, const std::string&)> f,
                              bool object_checksums) {
  auto plan = plan_body(*c, false, object_checksums);
  if (!plan) return c->now_fail(plan.error());
  plan->memory_limit = options_.xml_body_limit;
  auto body = BodyPipeline::create(std::move(*plan), std::nullopt);
  if (!body) return c->now_fail(body.error());
  Prepared p;
  p.op.body = std::move(*body);
  p.op.finish = [c, f = std::move(f)](BodyPipeline* b) {
    if (auto s = b->finish(); !s) return c->fail(s.error());
    return f(*c, b->memory());
  };
  return p;
}

Prepared S3Api::bucket_op(std::shared_ptr<Ctx> c) {
  const std::string& m = c->req.method;
  const std::string& bucket = c->addr.bucket;
  Prepared p;
  if (c->has("acl")) return bucket_acl(c);
  if (c->has("cors")) return bucket_cors(c);
  if (m == "PUT") {
    if (c->has("notification")) {
      if (auto b = check_bucket(*c, 0); !b) return c->now_fail(b.error());
      return with_xml_body(c, [this](Ctx& c, const std::string& body) {
        auto s = store_.put_notification(c.addr.bucket, body);
        if (!s) return c.fail(s.error());
        return c.ok();
      });
    }
    if (c->has("versioning")) return c->now_fail(err::not_implemented());
    if (!is_valid_bucket_name(bucket)) return c->now_fail(err::invalid_bucket_name(bucket));
    if (!c->user) return c->now_fail(err::access_denied());
    auto grants = acl_from_headers(c->req, users_, c->user->name, c->user->name);
    if (!grants) return c->now_fail(grants.error());
    std::string acl = *grants ? grants_to_text(**grants, c->user->name) : "";
    return with_xml_body(c, [this, acl](Ctx& c, const std::string& body) {
      auto lc = parse_create_bucket(body);
      if (!lc) return c.fail(lc.error());
      auto s = store_.create_bucket(c.addr.bucket, c.user->name, acl);
      if (!s) {
        // Legacy us-east-1 behaviour (and moto's): re-creating your own bucket succeeds, and
        // resets its ACL.
        if (s.error().code != "BucketAlreadyOwnedByYou" || store_.options().region != "us-east-1")
          return c.fail(s.error());
        if (auto r = store_.put_bucket_acl(c.addr.bucket, acl); !r) return c.fail(r.error());
      }
      Response r = c.ok();
      r.headers.emplace_back("Location", "/" + c.addr.bucket);
      return r;
    });
  }
  if (m == "HEAD") {
    p.op.finish = [this, c](BodyPipeline*) {
      auto s = check_bucket(*c, kPermRead);
      if (!s) return c->fail(s.error());
      Response r = c->ok();
      r.headers.emplace_back("x-amz-bucket-region", store_.options().region);
      r.head = true;
      return r;
    };
    return p;
  }
  if (m == "DELETE") {
    if (c->has("notification")) return c->now_fail(err::method_not_allowed());
    p.op.finish = [this, c](BodyPipeline*) {
      if (auto b = check_bucket(*c, 0); !b) return c->fail(b.error());
      auto s = store_.delete_bucket(c->addr.bucket);
      if (!s) return c->fail(s.error());
      return c->ok(204);
    };
    return p;
  }
  if (m == "POST") {
    if (!c->has("delete")) return c->now_fail(err::method_not_allowed());
    if (auto b = check_bucket(*c, kPermWrite); !b) return c->now_fail(b.error());
    return with_xml_body(c, [this](Ctx& c, const std::string& body) {
      auto req = parse_delete(body);
      if (!req) return c.fail(req.error());
      auto out = store_.delete_objects(c.addr.bucket, req->keys);
      if (!out) return c.fail(out.error());
      return c.xml(delete_result_xml(*out, req->quiet));
    });
  }
  if (m != "GET") return c->now_fail(err::method_not_allowed());
  if (c->has("versions")) return list_versions(c);
  if (c->has("notification")) {
    p.op.finish = [this, c](BodyPipeline*) {
      if (auto b = check_bucket(*c, 0); !b) return c->fail(b.error());
      auto x = store_.get_notification(c->addr.bucket);
      if (!x) return c->fail(x.error());
      return c->xml(*x);
    };
    return p;
  }
  if (c->has("location")) {
    p.op.finish = [this, c](BodyPipeline*) {
      if (auto s = check_bucket(*c, 0); !s) return c->fail(s.error());
      return c->xml(location_xml(store_.options().region));
    };
    return p;
  }
  if (c->has("versioning")) {
    p.op.finish = [this, c](BodyPipeline*) {
      if (auto s = check_bucket(*c, 0); !s) return c->fail(s.error());
      return c->xml(
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<VersioningConfiguration "
          "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>");
    };
    return p;
  }
  if (c->has("uploads")) return multipart_op(c);
  return list_objects(c);
}

Prepared S3Api::list_objects(std::shared_ptr<Ctx> c) {
  ListObjectsParams lp;
  lp.version = c->q("list-type").value_or("1") == "2" ? 2 : 1;
  lp.bucket = c->addr.bucket;
  lp.prefix = c->q("prefix").value_or("");
  lp.delimiter = c->q("delimiter").value_or("");
  auto enc = c->q("encoding-type");
  if (enc && !enc->empty()) {
    if (*enc != "url")
      return c->now_fail(err::invalid_argument("Invalid Encoding Method specified in Request",
                                               "encoding-type", *enc));
    lp.url_encoding = true;
  }
  bool bad = false;
  lp.max_keys = parse_max(c->q("max-keys"), 1000, &bad);
  if (bad)
    return c->now_fail(
        err::invalid_argument("Provided max-keys not an integer or within integer "
                              "range",
                              "max-keys", c->q("max-keys").value_or("")));
  lp.fetch_owner = c->q("fetch-owner").value_or("") == "true";
  ListQuery q;
  q.prefix = lp.prefix;
  q.delimiter = lp.delimiter;
  q.max_keys = lp.max_keys;
  if (lp.version == 2) {
    lp.start_after = c->q("start-after").value_or("");
    lp.continuation_token = c->q("continuation-token").value_or("");
    lp.continuation_token_sent = c->has("continuation-token");
    q.after = lp.start_after;
    if (!lp.continuation_token.empty()) {  // an empty token is no token
      auto cur = decode_continuation_token(lp.continuation_token);
      if (!cur)
        return c->now_fail(err::invalid_argument("The continuation token provided is incorrect",
                                                 "continuation-token", lp.continuation_token));
      q.after = std::max(*cur, q.after);
    }
  } else {
    lp.marker = c->q("marker").value_or("");
    q.after = lp.marker;
  }
  Prepared p;
  p.op.finish = [this, c, lp, q](BodyPipeline*) {
    auto b = check_bucket(*c, kPermRead);
    if (!b) return c->fail(b.error());
    auto page = store_.list_objects(c->addr.bucket, q);
    if (!page) return c->fail(page.error());
    return c->xml(list_objects_xml(lp, *page, b->owner));
  };
  return p;
}

ApiResult<BodyPlan> S3Api::plan_body(Ctx& c, bool object_data, bool object_checksums) {
  BodyPlan plan;
  plan.mode = c.auth.payload_mode;
  if (plan.mode == s3::PayloadMode::kSha256) plan.expected_sha256 = c.auth.payload_sha256;
  bool streaming = plan.mode == s3::PayloadMode::kStreamingSigned ||
                   plan.mode == s3::PayloadMode::kStreamingSignedTrailer ||
                   plan.mode == s3::PayloadMode::kStreamingUnsignedTrailer;
  if (streaming) {
    s3::ChunkedDecoderOptions o;
    o.mode = plan.mode;
    o.signing.amz_date = c.auth.amz_date;
    o.signing.scope = c.auth.scope;
    o.signing.key = c.auth.signing_key;
    o.signing.seed_signature = c.auth.seed_signature;
    auto dl = c.h("x-amz-decoded-content-length");
    if (!dl) return err::missing_content_length();
    if (dl->empty() || dl->size() > 19 || dl->find_first_not_of("0123456789") != std::string::npos)
      return err::invalid_argument("Invalid x-amz-decoded-content-length",
                                   "x-amz-decoded-content-length", *dl);
    o.decoded_content_length = std::stoull(*dl);
    o.declared_trailers = c.h("x-amz-trailer").value_or("");
    plan.expected_size = o.decoded_content_length;
    plan.chunked = std::move(o);
  } else if (c.req.content_length) {
    plan.expected_size = c.req.content_length;
  } else if (!c.req.chunked && object_data) {
    return err::missing_content_length();
  }
  if (plan.expected_size && *plan.expected_size > kMaxPutSize)
    return err::entity_too_large(*plan.expected_size, kMaxPutSize);
  if (auto md5 = c.h("content-md5")) {
    auto raw = base64_decode(*md5);
    if (!raw || raw->size() != 16) return err::invalid_digest();
    plan.content_md5 = std::move(*raw);
  }
  for (const auto& hd : c.req.headers) {
    auto alg = s3::checksum_from_header(hd.name);
    if (!alg || object_checksums) continue;
    auto raw = base64_decode(hd.value);
    if (!raw || hd.value.size() != s3::checksum_base64_length(*alg)) {
      // A value that cannot be the checksum of any body does not match this one (issue 16).
      return err::bad_digest(std::string("Value for ") + s3::checksum_header(*alg) +
                             " header is invalid.");
    }
    plan.header_checksums.emplace_back(*alg, hd.value);
  }
  auto requested = c.h("x-amz-sdk-checksum-algorithm");
  if (requested) {
    auto alg = s3::checksum_from_name(*requested);
    if (!alg)
      return err::invalid_request(
          "Checksum algorithm provided is unsupported. Please try again "
          "with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, "
          "SHA256]");
    if (object_data) plan.compute = *alg;
  }
  return plan;
}

}  // namespace ingestor::store

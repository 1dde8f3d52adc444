// S3Api: access control (bucket and object ACLs, the permission check of bucket operations),
// CORS (bucket configuration, preflight OPTIONS, Access-Control-* headers on responses),
// ListObjectVersions of an unversioned store (every object is version "null") and
// GetObjectAttributes. Semantics: acl.h, cors.h; formats: aws.md 2.x.
#include <algorithm>

#include "store/cors.h"
#include "store/keys.h"
#include "store/s3_api.h"
#include "store/s3_api_ctx.h"

namespace ingestor::store {

namespace {

constexpr const char* kDecl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
constexpr const char* kNs = "http://s3.amazonaws.com/doc/2006-03-01/";

void el(std::string& out, const char* name, std::string_view text) {
  out += '<';
  out += name;
  out += '>';
  out += xml_escape(text);
  out += "</";
  out += name;
  out += '>';
}

struct VersionsParams {
  std::string bucket, prefix, delimiter, key_marker, version_id_marker;
  int max_keys = 1000;
  bool url_encoding = false;
};

std::string list_versions_xml(const VersionsParams& p, const ListPage& page,
                              const std::string& owner) {
  auto enc = [&](const std::string& s) { return p.url_encoding ? url_encode_for_listing(s) : s; };
  std::string out = kDecl;
  out += "<ListVersionsResult xmlns=\"";
  out += kNs;
  out += "\">";
  el(out, "Name", p.bucket);
  el(out, "Prefix", enc(p.prefix));
  el(out, "KeyMarker", enc(p.key_marker));
  el(out, "VersionIdMarker", p.version_id_marker);
  if (page.truncated) {
    el(out, "NextKeyMarker", enc(page.last));
    el(out, "NextVersionIdMarker", "null");
  }
  el(out, "MaxKeys", std::to_string(p.max_keys));
  if (!p.delimiter.empty()) el(out, "Delimiter", enc(p.delimiter));
  if (p.url_encoding) el(out, "EncodingType", "url");
  el(out, "IsTruncated", page.truncated ? "true" : "false");
  for (const auto& c : page.contents) {
    out += "<Version>";
    el(out, "Key", enc(c.key));
    el(out, "VersionId", "null");
    el(out, "IsLatest", "true");
    el(out, "LastModified", xml_time(c.mtime_ms));
    el(out, "ETag", "\"" + c.etag + "\"");
    el(out, "Size", std::to_string(c.size));
    out += "<Owner>";
    el(out, "ID", owner);
    el(out, "DisplayName", owner);
    out += "</Owner>";
    el(out, "StorageClass", "STANDARD");
    out += "</Version>";
  }
  for (const auto& cp : page.common_prefixes) {
    out += "<CommonPrefixes>";
    el(out, "Prefix", enc(cp));
    out += "</CommonPrefixes>";
  }
  out += "</ListVersionsResult>";
  return out;
}

bool wants(const std::vector<std::string>& attrs, std::string_view name) {
  return std::find(attrs.begin(), attrs.end(), name) != attrs.end();
}

}  // namespace

ApiResult<BucketAccess> S3Api::check_bucket(const Ctx& c, unsigned perm) {
  auto b = store_.bucket_access(c.addr.bucket);
  if (!b) return b.error();
  if (auto expected = c.h("x-amz-expected-bucket-owner"); expected && *expected != b->owner)
    return err::access_denied();
  bool ok = perm == 0 ? c.owns(b->owner)
                      : acl_allows(b->owner, b->acl, c.user, static_cast<Permission>(perm));
  if (!ok) return err::access_denied();
  return b;
}

Prepared S3Api::bucket_acl(std::shared_ptr<Ctx> c) {
  const std::string& m = c->req.method;
  if (m == "GET") {
    Prepared p;
    p.op.finish = [this, c](BodyPipeline*) {
      auto b = check_bucket(*c, kPermReadAcp);
      if (!b) return c->fail(b.error());
      return c->xml(acl_xml(b->owner, grants_from_text(b->acl, b->owner)));
    };
    return p;
  }
  if (m != "PUT") return c->now_fail(err::method_not_allowed());
  auto b = check_bucket(*c, kPermWriteAcp);
  if (!b) return c->now_fail(b.error());
  auto from_headers = acl_from_headers(c->req, users_, b->owner, b->owner);
  if (!from_headers) return c->now_fail(from_headers.error());
  std::optional<Grants> headers_acl = *from_headers;
  return with_xml_body(c, [this, owner = b->owner, headers_acl](Ctx& c, const std::string& body) {
    Grants grants;
    bool blank = body.find_first_not_of(" \t\r\n") == std::string::npos;
    if (headers_acl) {
      if (!blank)
        return c.fail(err::invalid_request(
            "Specifying both an access control policy and ACL headers is not allowed"));
      grants = *headers_acl;
    } else {
      if (blank) return c.fail(err::malformed_acl());
      auto g = parse_acl_xml(body, users_);
      if (!g) return c.fail(g.error());
      grants = std::move(*g);
    }
    auto s = store_.put_bucket_acl(c.addr.bucket, grants_to_text(grants, owner));
    if (!s) return c.fail(s.error());
    return c.ok();
  });
}

Prepared S3Api::object_acl(std::shared_ptr<Ctx> c) {
  const std::string& m = c->req.method;
  if (m != "GET" && m != "PUT") return c->now_fail(err::method_not_allowed());
  auto object = [this, c]() -> ApiResult<ObjectMeta> {
    auto o = store_.head_object(c->addr.bucket, c->addr.key);
    if (!o) {
      if (o.error().code == "NoSuchKey" && !check_bucket(*c, kPermRead))
        return err::access_denied();
      return o.error();
    }
    return o;
  };
  if (m == "GET") {
    Prepared p;
    p.op.finish = [c, object](BodyPipeline*) {
      auto o = object();
      if (!o) return c->fail(o.error());
      if (!acl_allows(o->owner, o->acl, c->user, kPermReadAcp))
        return c->fail(err::access_denied());
      return c->xml(acl_xml(o->owner, grants_from_text(o->acl, o->owner)));
    };
    return p;
  }
  auto o = object();
  if (!o) return c->now_fail(o.error());
  if (!acl_allows(o->owner, o->acl, c->user, kPermWriteAcp))
    return c->now_fail(err::access_denied());
  auto b = store_.bucket_access(c->addr.bucket);
  if (!b) return c->now_fail(b.error());
  auto from_headers = acl_from_headers(c->req, users_, o->owner, b->owner);
  if (!from_headers) return c->now_fail(from_headers.error());
  std::optional<Grants> headers_acl = *from_headers;
  return with_xml_body(c, [this, owner = o->owner, headers_acl](Ctx& c, const std::string& body) {
    Grants grants;
    bool blank = body.find_first_not_of(" \t\r\n") == std::string::npos;
    if (headers_acl) {
      if (!blank)
        return c.fail(err::invalid_request(
            "Specifying both an access control policy and ACL headers is not allowed"));
      grants = *headers_acl;
    } else {
      if (blank) return c.fail(err::malformed_acl());
      auto g = parse_acl_xml(body, users_);
      if (!g) return c.fail(g.error());
      grants = std::move(*g);
    }
    auto s = store_.put_object_acl(c.addr.bucket, c.addr.key, grants_to_text(grants, owner));
    if (!s) return c.fail(s.error());
    return c.ok();
  });
}

Prepared S3Api::bucket_cors(std::shared_ptr<Ctx> c) {
  const std::string& m = c->req.method;
  auto b = check_bucket(*c, 0);
  if (!b) return c->now_fail(b.error());
  if (m == "GET") {
    if (b->cors_xml.empty())
      return c->now_fail(
          ApiError("NoSuchCORSConfiguration", 404, "The CORS configuration does not exist")
              .with("BucketName", c->addr.bucket));
    return c->now(c->xml(b->cors_xml));
  }
  if (m == "DELETE") {
    Prepared p;
    p.op.finish = [this, c](BodyPipeline*) {
      if (auto s = store_.put_bucket_cors(c->addr.bucket, ""); !s) return c->fail(s.error());
      return c->ok(204);
    };
    return p;
  }
  if (m != "PUT") return c->now_fail(err::method_not_allowed());
  return with_xml_body(c, [this](Ctx& c, const std::string& body) {
    auto rules = parse_cors_config(body);
    if (!rules) return c.fail(rules.error());
    if (auto s = store_.put_bucket_cors(c.addr.bucket, render_cors_config(*rules)); !s)
      return c.fail(s.error());
    return c.ok();
  });
}

Prepared S3Api::list_versions(std::shared_ptr<Ctx> c) {
  VersionsParams vp;
  vp.bucket = c->addr.bucket;
  vp.prefix = c->q("prefix").value_or("");
  vp.delimiter = c->q("delimiter").value_or("");
  vp.key_marker = c->q("key-marker").value_or("");
  vp.version_id_marker = c->q("version-id-marker").value_or("");
  auto enc = c->q("encoding-type");
  if (enc && !enc->empty()) {
    if (*enc != "url")
      return c->now_fail(err::invalid_argument("Invalid Encoding Method specified in Request",
                                               "encoding-type", *enc));
    vp.url_encoding = true;
  }
  bool bad = false;
  vp.max_keys = parse_max(c->q("max-keys"), 1000, &bad);
  if (bad)
    return c->now_fail(
        err::invalid_argument("Provided max-keys not an integer or within integer range",
                              "max-keys", c->q("max-keys").value_or("")));
  ListQuery q;
  q.prefix = vp.prefix;
  q.delimiter = vp.delimiter;
  q.max_keys = vp.max_keys;
  q.after = vp.key_marker;
  Prepared p;
  p.op.finish = [this, c, vp, q](BodyPipeline*) {
    auto b = check_bucket(*c, kPermRead);
    if (!b) return c->fail(b.error());
    auto page = store_.list_objects(c->addr.bucket, q);
    if (!page) return c->fail(page.error());
    return c->xml(list_versions_xml(vp, *page, b->owner));
  };
  return p;
}

Prepared S3Api::object_attributes(std::shared_ptr<Ctx> c) {
  std::vector<std::string> attrs;
  if (auto v = c->h("x-amz-object-attributes")) {
    size_t i = 0;
    while (i <= v->size()) {
      size_t j = v->find(',', i);
      if (j == std::string::npos) j = v->size();
      std::string a = v->substr(i, j - i);
      a.erase(0, a.find_first_not_of(' '));
      a.erase(a.find_last_not_of(' ') + 1);
      static const char* kKnown[] = {"ETag", "Checksum", "ObjectParts", "StorageClass",
                                     "ObjectSize"};
      if (std::none_of(std::begin(kKnown), std::end(kKnown), [&](const char* k) { return a == k; }))
        return c->now_fail(err::invalid_argument("Invalid attribute name specified.",
                                                 "x-amz-object-attributes", a));
      attrs.push_back(a);
      i = j + 1;
    }
  }
  if (attrs.empty())
    return c->now_fail(err::invalid_argument("Minimum of one object attribute must be specified.",
                                             "x-amz-object-attributes", ""));
  bool bad = false;
  int max_parts = parse_max(c->h("x-amz-max-parts"), 1000, &bad);
  int marker = parse_max(c->h("x-amz-part-number-marker"), 0, &bad);
  if (bad)
    return c->now_fail(
        err::invalid_argument("Invalid x-amz-max-parts or x-amz-part-number-marker"));
  Prepared p;
  p.op.finish = [this, c, attrs, max_parts, marker](BodyPipeline*) {
    auto o = store_.head_object(c->addr.bucket, c->addr.key);
    if (!o) {
      if (o.error().code == "NoSuchKey" && !check_bucket(*c, kPermRead))
        return c->fail(err::access_denied());
      return c->fail(o.error());
    }
    if (!acl_allows(o->owner, o->acl, c->user, kPermRead)) return c->fail(err::access_denied());
    std::string out = kDecl;
    out += "<GetObjectAttributesResponse xmlns=\"";
    out += kNs;
    out += "\">";
    if (wants(attrs, "ETag")) el(out, "ETag", o->etag);
    if (wants(attrs, "Checksum") && !o->checksums.empty() &&
        (o->parts_count == 0 || !o->checksum_type.empty())) {
      out += "<Checksum>";
      for (const auto& [alg, v] : o->checksums) el(out, ("Checksum" + alg).c_str(), v);
      el(out, "ChecksumType", o->checksum_type.empty() ? "FULL_OBJECT" : o->checksum_type);
      out += "</Checksum>";
    }
    if (wants(attrs, "ObjectParts") && o->parts_count > 0) {
      auto parts = store_.object_part_list(c->addr.bucket, c->addr.key);
      if (!parts) return c->fail(parts.error());
      out += "<ObjectParts>";
      el(out, "PartsCount", std::to_string(o->parts_count));
      el(out, "PartNumberMarker", std::to_string(marker));
      el(out, "MaxParts", std::to_string(max_parts));
      int shown = 0, last = marker;
      bool truncated = false;
      std::string list;
      for (const auto& part : *parts) {
        if (part.part_number <= marker) continue;
        if (shown == max_parts) {
          truncated = true;
          break;
        }
        list += "<Part>";
        el(list, "PartNumber", std::to_string(part.part_number));
        el(list, "Size", std::to_string(part.size));
        for (const auto& [alg, v] : part.checksums) el(list, ("Checksum" + alg).c_str(), v);
        list += "</Part>";
        last = part.part_number;
        ++shown;
      }
      el(out, "IsTruncated", truncated ? "true" : "false");
      if (truncated) el(out, "NextPartNumberMarker", std::to_string(last));
      out += list;
      out += "</ObjectParts>";
    }
    if (wants(attrs, "StorageClass")) el(out, "StorageClass", "STANDARD");
    if (wants(attrs, "ObjectSize")) el(out, "ObjectSize", std::to_string(o->size));
    out += "</GetObjectAttributesResponse>";
    Response r = c->xml(std::move(out));
    r.headers.emplace_back("Last-Modified", http_time(o->mtime_ms));
    return r;
  };
  return p;
}

Prepared S3Api::preflight(std::shared_ptr<Ctx> c) {
  auto origin = c->h("origin");
  auto method = c->h("access-control-request-method");
  if (c->addr.bucket.empty()) return c->now_fail(err::method_not_allowed());
  if (!origin || !method)
    return c->now_fail(
        ApiError("BadRequest", 400, "Insufficient information. Origin request header needed."));
  auto b = store_.bucket_access(c->addr.bucket);
  if (!b) return c->now_fail(b.error());
  auto forbidden = [&] {
    return c->now_fail(
        ApiError("AccessForbidden", 403, "CORSResponse: This CORS request is not allowed.")
            .with("Method", *method)
            .with("ResourceType", c->addr.key.empty() ? "BUCKET" : "OBJECT"));
  };
  if (b->cors_xml.empty()) return forbidden();
  auto rules = parse_cors_config(b->cors_xml);
  if (!rules) return forbidden();
  auto requested = split_header_list(c->h("access-control-request-headers").value_or(""));
  const CorsRule* rule = match_cors_rule(*rules, *origin, *method, requested);
  if (!rule) return forbidden();
  Response r = c->ok();
  for (auto& h : cors_headers(*rule, *origin, requested, true)) r.headers.push_back(std::move(h));
  return c->now(std::move(r));
}

void S3Api::add_cors(const std::shared_ptr<Ctx>& c, Prepared& p) {
  auto b = store_.bucket_access(c->addr.bucket);
  if (!b || b->cors_xml.empty()) return;
  auto rules = parse_cors_config(b->cors_xml);
  if (!rules) return;
  std::string origin = *c->h("origin");
  // As RGW does, a request naming the method it stands for (Access-Control-Request-Method) is
  // matched with that method.
  std::string method = c->h("access-control-request-method").value_or(c->req.method);
  const CorsRule* rule = match_cors_rule(*rules, origin, method, {});
  if (!rule) return;
  auto headers = cors_headers(*rule, origin, {}, false);
  if (p.response) {
    for (const auto& h : headers) p.response->headers.push_back(h);
    return;
  }
  auto finish = std::move(p.op.finish);
  p.op.finish = [finish = std::move(finish), headers](BodyPipeline* body) {
    Response r = finish(body);
    for (const auto& h : headers) r.headers.push_back(h);
    return r;
  };
}

}  // namespace ingestor::store

// S3Api: object and multipart operations (PutObject, CopyObject, GetObject/HeadObject with Range
// and preconditions, UploadPart(Copy), Create/Complete/Abort/ListParts/ListMultipartUploads).
#include <algorithm>
#include <cctype>

#include "base/hash.h"
#include "s3/checksum.h"
#include "store/keys.h"
#include "store/s3_api.h"
#include "store/s3_api_ctx.h"

namespace ingestor::store {

namespace {

constexpr size_t kMaxUserMetadata = 2048;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

// "a", "b", W/"c" or * against an ETag (without quotes).
bool etag_list_matches(const std::string& list, const std::string& etag) {
  size_t i = 0;
  while (i <= list.size()) {
    size_t j = list.find(',', i);
    if (j == std::string::npos) j = list.size();
    std::string_view t(list.data() + i, j - i);
    while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
    while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
    if (t.starts_with("W/")) t.remove_prefix(2);
    if (t == "*" || strip_quotes(t) == etag) return true;
    i = j + 1;
  }
  return false;
}

int64_t to_secs(int64_t ms) { return ms / 1000; }

std::optional<int64_t> http_date_secs(const std::optional<std::string>& v) {
  if (!v) return std::nullopt;
  auto t = s3::parse_http_date(*v);
  if (!t) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::seconds>(t->time_since_epoch()).count();
}

// GetObject preconditions in S3's order (aws.md 2.3).
ApiStatus check_get_conditions(const S3Api::Ctx& c, const ObjectMeta& m) {
  auto im = c.h("if-match");
  auto ius = http_date_secs(c.h("if-unmodified-since"));
  auto inm = c.h("if-none-match");
  auto ims = http_date_secs(c.h("if-modified-since"));
  int64_t mt = to_secs(m.mtime_ms);
  if (im) {
    if (!etag_list_matches(*im, m.etag)) return err::precondition_failed("If-Match");
  } else if (ius && mt > *ius) {
    return err::precondition_failed("If-Unmodified-Since");
  }
  if (inm) {
    if (etag_list_matches(*inm, m.etag)) return err::not_modified();
  } else if (ims && mt <= *ims) {
    return err::not_modified();
  }
  return {};
}

// "bytes=a-b" / "bytes=a-" / "bytes=-n" -> [first, last]; nullopt for no usable range (the
// header is then ignored, as S3 does for a malformed one); InvalidRange if unsatisfiable.
ApiResult<std::optional<std::pair<uint64_t, uint64_t>>> parse_range(const std::string& v,
                                                                    uint64_t size) {
  using R = std::optional<std::pair<uint64_t, uint64_t>>;
  if (!v.starts_with("bytes=")) return R();
  std::string spec = v.substr(6);
  if (spec.find(',') != std::string::npos) return R();
  auto dash = spec.find('-');
  if (dash == std::string::npos) return R();
  std::string a = spec.substr(0, dash), b = spec.substr(dash + 1);
  auto num = [](const std::string& s) -> std::optional<uint64_t> {
    if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    return std::stoull(s);
  };
  if (a.empty()) {
    auto n = num(b);
    if (!n) return R();
    if (*n == 0 || size == 0) return err::invalid_range(size, v);
    uint64_t first = *n >= size ? 0 : size - *n;
    return R(std::make_pair(first, size - 1));
  }
  auto first = num(a);
  if (!first) return R();
  std::optional<uint64_t> last;
  if (!b.empty()) {
    last = num(b);
    if (!last || *last < *first) return R();
  }
  if (*first >= size) return err::invalid_range(size, v);
  uint64_t l = last ? std::min(*last, size - 1) : size - 1;
  return R(std::make_pair(*first, l));
}

void add_object_headers(Response& r, const ObjectMeta& m, const S3Api::Ctx& c) {
  r.headers.emplace_back("ETag", "\"" + m.etag + "\"");
  r.headers.emplace_back("Last-Modified", http_time(m.mtime_ms));
  r.headers.emplace_back("Accept-Ranges", "bytes");
  std::string ctype = c.q("response-content-type").value_or(m.content_type);
  r.headers.emplace_back("Content-Type", ctype);
  static const std::pair<const char*, const char*> kOverrides[] = {
      {"Cache-Control", "response-cache-control"},
      {"Content-Disposition", "response-content-disposition"},
      {"Content-Encoding", "response-content-encoding"},
      {"Content-Language", "response-content-language"},
      {"Expires", "response-expires"}};
  for (const auto& [name, param] : kOverrides) {
    if (auto o = c.q(param)) {
      r.headers.emplace_back(name, *o);
      continue;
    }
    for (const auto& [k, v] : m.headers)
      if (iequals(k, name)) r.headers.emplace_back(name, v);
  }
  for (const auto& [k, v] : m.user_meta) r.headers.emplace_back(k, v);
  if (m.parts_count > 0 && c.has("partNumber"))
    r.headers.emplace_back("x-amz-mp-parts-count", std::to_string(m.parts_count));
}

// x-amz-copy-source-range: "bytes=first-last" with first <= last (InvalidArgument otherwise; a
// range past the source's end is InvalidRange, found when the source is read).
ApiResult<std::pair<uint64_t, uint64_t>> parse_copy_source_range(const std::string& v) {
  auto bad = [&] {
    return err::invalid_argument(
        "The x-amz-copy-source-range value must be of the form bytes=first-last where first and "
        "last are the zero-based offsets of the first and last bytes to copy",
        "x-amz-copy-source-range", v);
  };
  if (!v.starts_with("bytes=")) return bad();
  std::string spec = v.substr(6);
  auto dash = spec.find('-');
  if (dash == std::string::npos) return bad();
  std::string a = spec.substr(0, dash), b = spec.substr(dash + 1);
  auto num = [](const std::string& s) -> std::optional<uint64_t> {
    if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    return std::stoull(s);
  };
  auto first = num(a), last = num(b);
  if (!first || !last || *first > *last) return bad();
  return std::make_pair(*first, *last);
}

PutConditions put_conditions(const S3Api::Ctx& c) {
  PutConditions pc;
  if (auto inm = c.h("if-none-match"); inm && strip_quotes(*inm) == "*")
    pc.if_none_match_star = true;
  pc.if_match = c.h("if-match");
  return pc;
}

}  // namespace

ObjectMeta meta_from_headers(const S3Api::Ctx& c) {
  ObjectMeta m;
  m.bucket = c.addr.bucket;
  m.key = c.addr.key;
  if (auto ct = c.h("content-type"); ct && !ct->empty()) m.content_type = *ct;
  for (const char* name : {"Cache-Control", "Content-Disposition", "Content-Encoding",
                           "Content-Language", "Expires"}) {
    auto v = c.h(name);
    if (!v) continue;
    if (iequals(name, "Content-Encoding")) {
      // aws-chunked is a transfer detail, not the object's encoding.
      std::string kept;
      size_t i = 0;
      while (i <= v->size()) {
        size_t j = v->find(',', i);
        if (j == std::string::npos) j = v->size();
        std::string t = v->substr(i, j - i);
        while (!t.empty() && t.front() == ' ') t.erase(0, 1);
        while (!t.empty() && t.back() == ' ') t.pop_back();
        if (!t.empty() && !iequals(t, "aws-chunked")) kept += (kept.empty() ? "" : ", ") + t;
        i = j + 1;
      }
      if (kept.empty()) continue;
      m.headers.emplace_back(name, kept);
      continue;
    }
    m.headers.emplace_back(name, *v);
  }
  for (const auto& h : c.req.headers) {
    std::string n = lower(h.name);
    if (n.starts_with("x-amz-meta-")) m.user_meta.emplace_back(n, h.value);
  }
  return m;
}

ApiResult<std::string> object_acl_from_request(const S3Api::Ctx& c, const Users& users,
                                               const std::string& owner,
                                               const std::string& bucket_owner) {
  auto grants = acl_from_headers(c.req, users, owner, bucket_owner);
  if (!grants) return grants.error();
  return *grants ? grants_to_text(**grants, owner) : std::string();
}

ApiResult<int> parse_part_number(const std::optional<std::string>& v) {
  auto bad = [&] {
    return err::invalid_argument("Part number must be an integer between 1 and 10000, inclusive",
                                 "partNumber", v.value_or(""));
  };
  if (!v || v->empty() || v->size() > 6 || v->find_first_not_of("0123456789") != std::string::npos)
    return bad();
  int n = std::stoi(*v);
  if (n < 1 || n > kMaxPartNumber) return bad();
  return n;
}

ApiResult<std::pair<std::string, std::string>> parse_copy_source(const std::string& v) {
  std::string s = v;
  if (auto q = s.find('?'); q != std::string::npos) {
    if (s.find("versionId=", q) != std::string::npos && s.substr(q) != "?versionId=null")
      return err::not_implemented("Copying a version is not supported (unversioned store).");
    s = s.substr(0, q);
  }
  auto d = s3::percent_decode(s, false);
  if (!d) return err::invalid_argument("Invalid copy source encoding", "x-amz-copy-source", v);
  std::string_view p = *d;
  if (p.starts_with('/')) p.remove_prefix(1);
  auto slash = p.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == p.size())
    return err::invalid_argument(
        "Copy Source must mention the source bucket and key: "
        "sourcebucket/sourcekey",
        "x-amz-copy-source", v);
  return std::make_pair(std::string(p.substr(0, slash)), std::string(p.substr(slash + 1)));
}

Prepared S3Api::put_object(std::shared_ptr<Ctx> c) {
  ObjectMeta meta = meta_from_headers(*c);
  size_t meta_size = 0;
  for (const auto& [k, v] : meta.user_meta) meta_size += k.size() - 11 + v.size();
  if (meta_size > kMaxUserMetadata)
    return c->now_fail(ApiError("MetadataTooLarge", 400,
                                "Your metadata headers exceed the maximum allowed metadata size.")
                           .with("Size", std::to_string(meta_size))
                           .with("MaxSizeAllowed", std::to_string(kMaxUserMetadata)));
  auto plan = plan_body(*c, true);
  if (!plan) return c->now_fail(plan.error());
  auto bucket = check_bucket(*c, kPermWrite);
  if (!bucket) return c->now_fail(bucket.error());
  // An anonymous writer's object belongs to the bucket's owner.
  meta.owner = c->user ? c->user->name : bucket->owner;
  auto acl = object_acl_from_request(*c, users_, meta.owner, bucket->owner);
  if (!acl) return c->now_fail(acl.error());
  meta.acl = std::move(*acl);
  auto file = store_.stage();
  if (!file) return c->now_fail(file.error());
  auto body = BodyPipeline::create(std::move(*plan), std::move(*file));
  if (!body) return c->now_fail(body.error());
  Prepared p;
  p.op.body = std::move(*body);
  p.op.finish = [this, c, meta = std::move(meta)](BodyPipeline* b) mutable {
    if (auto s = b->finish(); !s) return c->fail(s.error());
    meta.size = b->size();
    meta.etag = b->md5_hex();
    meta.checksums = b->checksums();
    auto r = store_.put_object(b->take_file(), std::move(meta), put_conditions(*c), c->event());
    if (!r) return c->fail(r.error());
    Response res = c->ok();
    res.headers.emplace_back("ETag", "\"" + r->etag + "\"");
    for (const auto& [alg, v] : r->checksums)
      res.headers.emplace_back("x-amz-checksum-" + lower(alg), v);
    return res;
  };
  return p;
}

Prepared S3Api::copy_object(std::shared_ptr<Ctx> c) {
  auto src = parse_copy_source(*c->h("x-amz-copy-source"));
  if (!src) return c->now_fail(src.error());
  if (auto v = validate_key(src->second); !v) return c->now_fail(v.error());
  std::string directive = c->h("x-amz-metadata-directive").value_or("COPY");
  if (directive != "COPY" && directive != "REPLACE")
    return c->now_fail(
        err::invalid_argument("Unknown metadata directive.", "MetadataDirective", directive));
  bool replace = directive == "REPLACE";
  if (!replace && src->first == c->addr.bucket && src->second == c->addr.key)
    return c->now_fail(err::invalid_request(
        "This copy request is illegal because it is trying to copy an object to itself without "
        "changing the object's metadata, storage class, website redirect location or "
        "encryption attributes."));
  auto bucket = check_bucket(*c, kPermWrite);
  if (!bucket) return c->now_fail(bucket.error());
  std::string owner = c->user ? c->user->name : bucket->owner;
  auto acl = object_acl_from_request(*c, users_, owner, bucket->owner);
  if (!acl) return c->now_fail(acl.error());
  Prepared p;
  p.op.finish = [this, c, src = *src, replace, owner, acl = *acl](BodyPipeline*) {
    ObjectMeta dst = meta_from_headers(*c);
    dst.owner = owner;
    dst.acl = acl;
    // The source must be readable by the requester (its ACL), and meet the copy-source
    // preconditions.
    auto sm = store_.head_object(src.first, src.second);
    if (!sm) return c->fail(sm.error());
    if (!acl_allows(sm->owner, sm->acl, c->user, kPermRead)) return c->fail(err::access_denied());
    if (auto m = c->h("x-amz-copy-source-if-match"); m && !etag_list_matches(*m, sm->etag))
      return c->fail(err::precondition_failed("x-amz-copy-source-If-Match"));
    if (auto n = c->h("x-amz-copy-source-if-none-match"); n && etag_list_matches(*n, sm->etag))
      return c->fail(err::precondition_failed("x-amz-copy-source-If-None-Match"));
    auto r = store_.copy_object(src.first, src.second, std::move(dst), replace, put_conditions(*c),
                                c->event());
    if (!r) return c->fail(r.error());
    return c->xml(copy_object_xml(r->etag, r->mtime_ms, false));
  };
  return p;
}

Prepared S3Api::get_object(std::shared_ptr<Ctx> c, bool head) {
  Prepared p;
  p.op.finish = [this, c, head](BodyPipeline*) {
    auto o = store_.open_object(c->addr.bucket, c->addr.key);
    if (!o) {
      // A missing key is only told to those who may list the bucket (S3 answers 403 otherwise).
      if (o.error().code == "NoSuchKey" && !check_bucket(*c, kPermRead))
        return c->fail(err::access_denied());
      return c->fail(o.error());
    }
    auto& [m, content] = *o;
    if (!acl_allows(m.owner, m.acl, c->user, kPermRead)) return c->fail(err::access_denied());
    if (auto s = check_get_conditions(*c, m); !s) {
      Response r = c->fail(s.error());
      if (s.error().status == 304) {
        r.headers.emplace_back("ETag", "\"" + m.etag + "\"");
        r.headers.emplace_back("Last-Modified", http_time(m.mtime_ms));
      }
      return r;
    }
    std::optional<std::pair<uint64_t, uint64_t>> range;
    bool empty_part = false;
    if (auto pn = c->q("partNumber")) {
      auto n = parse_part_number(pn);
      if (!n) return c->fail(n.error());
      if (!content.parts.empty()) {
        // By the part number it was uploaded as (as S3 does; a Complete may skip numbers).
        auto it = std::find_if(content.parts.begin(), content.parts.end(),
                               [&](const ContentPart& p) { return p.part_number == *n; });
        if (it == content.parts.end()) return c->fail(err::invalid_part_number());
        if (it->size == 0)
          empty_part = true;
        else
          range = std::make_pair(it->start, it->start + it->size - 1);
      } else if (m.parts_count > 1) {
        // Completed before schema version 3, into one file: the part boundaries are gone.
        return c->fail(err::not_implemented("GetObject by part number of a multipart object"));
      } else if (*n != 1) {
        // A single-part object is its own part 1.
        return c->fail(err::invalid_part_number());
      }
    } else if (auto rh = c->h("range")) {
      auto r = parse_range(*rh, m.size);
      if (!r) return c->fail(r.error());
      range = *r;
    }
    Response res = c->ok(range ? 206 : 200);
    add_object_headers(res, m, *c);
    if (!range && c->h("x-amz-checksum-mode").value_or("") == "ENABLED" &&
        (m.parts_count == 0 || !m.checksum_type.empty())) {
      for (const auto& [alg, v] : m.checksums)
        res.headers.emplace_back("x-amz-checksum-" + lower(alg), v);
      // A single PUT's checksum is of the whole object (S3 sends the type since 2025).
      if (!m.checksums.empty())
        res.headers.emplace_back("x-amz-checksum-type",
                                 m.checksum_type.empty() ? "FULL_OBJECT" : m.checksum_type);
    }
    res.offset = range ? range->first : 0;
    res.length = range ? range->second - range->first + 1 : empty_part ? 0 : m.size;
    if (range) {
      res.headers.emplace_back("Content-Range", "bytes " + std::to_string(range->first) + "-" +
                                                    std::to_string(range->second) + "/" +
                                                    std::to_string(m.size));
    }
    res.head = head;
    if (!head && content.data) {
      res.body =
          content.data->substr(static_cast<size_t>(res.offset), static_cast<size_t>(res.length));
    } else if (!head && res.length > 0) {
      res.content = std::move(content);
    }
    return res;
  };
  return p;
}

Prepared S3Api::upload_part(std::shared_ptr<Ctx> c) {
  auto pn = parse_part_number(c->q("partNumber"));
  if (!pn) return c->now_fail(pn.error());
  auto upload_id = c->q("uploadId");
  if (!upload_id || upload_id->empty())
    return c->now_fail(err::invalid_request("UploadPart requires partNumber and uploadId"));
  if (auto b = check_bucket(*c, kPermWrite); !b) return c->now_fail(b.error());
  if (auto u = store_.get_upload(c->addr.bucket, c->addr.key, *upload_id); !u)
    return c->now_fail(u.error());
  int part = *pn;
  if (auto cs = c->h("x-amz-copy-source")) {
    auto src = parse_copy_source(*cs);
    if (!src) return c->now_fail(src.error());
    std::optional<std::pair<uint64_t, uint64_t>> range;
    if (auto r = c->h("x-amz-copy-source-range")) {
      auto parsed = parse_copy_source_range(*r);
      if (!parsed) return c->now_fail(parsed.error());
      range = *parsed;
    }
    Prepared p;
    p.op.finish = [this, c, src = *src, range, part, upload_id = *upload_id](BodyPipeline*) {
      auto sm = store_.head_object(src.first, src.second);
      if (!sm) return c->fail(sm.error());
      if (!acl_allows(sm->owner, sm->acl, c->user, kPermRead)) return c->fail(err::access_denied());
      auto r = store_.copy_part(c->addr.bucket, c->addr.key, upload_id, part, src.first, src.second,
                                range);
      if (!r) return c->fail(r.error());
      return c->xml(copy_object_xml(r->etag, r->mtime_ms, true));
    };
    return p;
  }
  auto plan = plan_body(*c, true);
  if (!plan) return c->now_fail(plan.error());
  auto file = store_.stage();
  if (!file) return c->now_fail(file.error());
  auto body = BodyPipeline::create(std::move(*plan), std::move(*file));
  if (!body) return c->now_fail(body.error());
  Prepared p;
  p.op.body = std::move(*body);
  p.op.finish = [this, c, part, upload_id = *upload_id](BodyPipeline* b) {
    if (auto s = b->finish(); !s) return c->fail(s.error());
    auto r = store_.put_part(c->addr.bucket, c->addr.key, upload_id, part, b->take_file(),
                             b->md5_hex(), b->checksums());
    if (!r) return c->fail(r.error());
    Response res = c->ok();
    res.headers.emplace_back("ETag", "\"" + r->etag + "\"");
    for (const auto& [alg, v] : r->checksums)
      res.headers.emplace_back("x-amz-checksum-" + lower(alg), v);
    return res;
  };
  return p;
}

Prepared S3Api::multipart_op(std::shared_ptr<Ctx> c) {
  const std::string& m = c->req.method;
  Prepared p;
  if (m == "POST" && c->has("uploads")) {
    auto bucket = check_bucket(*c, kPermWrite);
    if (!bucket) return c->now_fail(bucket.error());
    ObjectMeta proto = meta_from_headers(*c);
    proto.owner = c->user ? c->user->name : bucket->owner;
    auto acl = object_acl_from_request(*c, users_, proto.owner, bucket->owner);
    if (!acl) return c->now_fail(acl.error());
    proto.acl = std::move(*acl);
    std::string alg = c->h("x-amz-checksum-algorithm").value_or("");
    if (!alg.empty() && !s3::checksum_from_name(alg))
      return c->now_fail(err::invalid_request(
          "Checksum algorithm provided is unsupported. Please try again with any of the valid "
          "types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]"));
    std::string type = c->h("x-amz-checksum-type").value_or("");
    if (!type.empty() && type != "COMPOSITE" && type != "FULL_OBJECT")
      return c->now_fail(err::invalid_request("Value for x-amz-checksum-type is invalid."));
    p.op.finish = [this, c, proto = std::move(proto), alg, type](BodyPipeline*) {
      auto id = store_.create_upload(proto, alg, type);
      if (!id) return c->fail(id.error());
      Response r = c->xml(initiate_multipart_xml(c->addr.bucket, c->addr.key, *id));
      if (!alg.empty()) r.headers.emplace_back("x-amz-checksum-algorithm", alg);
      if (!type.empty()) r.headers.emplace_back("x-amz-checksum-type", type);
      return r;
    };
    return p;
  }
  if (m == "GET" && c->addr.key.empty()) {  // ListMultipartUploads
    ListUploadsParams lp;
    lp.bucket = c->addr.bucket;
    lp.prefix = c->q("prefix").value_or("");
    lp.delimiter = c->q("delimiter").value_or("");
    lp.key_marker = c->q("key-marker").value_or("");
    lp.upload_id_marker = c->q("upload-id-marker").value_or("");
    lp.url_encoding = c->q("encoding-type").value_or("") == "url";
    bool bad = false;
    lp.max_uploads = parse_max(c->q("max-uploads"), 1000, &bad);
    if (bad) return c->now_fail(err::invalid_argument("Invalid max-uploads", "max-uploads", ""));
    p.op.finish = [this, c, lp](BodyPipeline*) mutable {
      if (auto b = check_bucket(*c, kPermRead); !b) return c->fail(b.error());
      auto r = store_.list_uploads(lp.bucket, lp.prefix, lp.key_marker, lp.upload_id_marker,
                                   lp.max_uploads);
      if (!r) return c->fail(r.error());
      lp.truncated = r->second;
      if (lp.truncated && !r->first.empty()) {
        lp.next_key_marker = r->first.back().key;
        lp.next_upload_id_marker = r->first.back().upload_id;
      }
      return c->xml(list_uploads_xml(lp, r->first, {}, store_.options().owner));
    };
    return p;
  }
  std::string upload_id = c->q("uploadId").value_or("");
  if (m == "GET") {  // ListParts
    bool bad = false;
    int max = parse_max(c->q("max-parts"), 1000, &bad);
    int marker = 0;
    if (auto mk = c->q("part-number-marker"); mk && !mk->empty()) marker = parse_max(mk, 0, &bad);
    if (bad) return c->now_fail(err::invalid_argument("Invalid max-parts or part-number-marker"));
    p.op.finish = [this, c, upload_id, max, marker](BodyPipeline*) {
      if (auto b = check_bucket(*c, kPermWrite); !b) return c->fail(b.error());
      auto r = store_.list_parts(c->addr.bucket, c->addr.key, upload_id, marker, max);
      if (!r) return c->fail(r.error());
      ListPartsParams lp{c->addr.bucket, c->addr.key, upload_id, marker, max, r->second, 0};
      if (!r->first.empty()) lp.next_marker = r->first.back().part_number;
      return c->xml(list_parts_xml(lp, r->first, store_.options().owner));
    };
    return p;
  }
  if (m == "DELETE") {
    p.op.finish = [this, c, upload_id](BodyPipeline*) {
      if (auto b = check_bucket(*c, kPermWrite); !b) return c->fail(b.error());
      auto s = store_.abort_upload(c->addr.bucket, c->addr.key, upload_id);
      if (!s) return c->fail(s.error());
      return c->ok(204);
    };
    return p;
  }
  // POST ?uploadId: CompleteMultipartUpload. An x-amz-checksum-<alg> header is the object's
  // checksum (composite "<b64>-<N>"), checked against the one computed from the parts.
  if (auto b = check_bucket(*c, kPermWrite); !b) return c->now_fail(b.error());
  std::optional<std::pair<std::string, std::string>> checksum;
  for (const auto& hd : c->req.headers) {
    auto alg = s3::checksum_from_header(hd.name);
    if (!alg) continue;
    std::string v = hd.value;
    auto dash = v.rfind('-');
    std::string b64 = dash == std::string::npos ? v : v.substr(0, dash);
    auto raw = base64_decode(b64);
    if (!raw || b64.size() != s3::checksum_base64_length(*alg))
      return c->now_fail(err::bad_digest(std::string("The ") + s3::checksum_name(*alg) +
                                         " you specified is not a valid checksum."));
    checksum = std::make_pair(std::string(s3::checksum_name(*alg)), v);
  }
  return with_xml_body(
      c,
      [this, upload_id, checksum](Ctx& c, const std::string& body) {
        auto parts = parse_complete_multipart(body);
        if (!parts) return c.fail(parts.error());
        for (const auto& part : *parts) {
          if (part.part_number < 1 || part.part_number > kMaxPartNumber)
            return c.fail(err::invalid_argument(
                "Part number must be an integer between 1 and 10000, inclusive", "partNumber",
                std::to_string(part.part_number)));
        }
        auto r = store_.complete_upload(c.addr.bucket, c.addr.key, upload_id, *parts,
                                        put_conditions(c), c.event(), checksum);
        if (!r) return c.fail(r.error());
        std::string host = c.h("host").value_or("localhost");
        std::string location =
            "http://" + host + "/" + c.addr.bucket + "/" + s3::uri_encode(c.addr.key, false);
        Response res =
            c.xml(complete_multipart_xml(location, c.addr.bucket, c.addr.key, r->meta.etag,
                                         r->meta.checksums, r->meta.checksum_type));
        return res;
      },
      true);
}

}  // namespace ingestor::store

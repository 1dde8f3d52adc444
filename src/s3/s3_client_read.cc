// S3Client: reads, listings, deletes and bucket operations (writes are in s3_client.cc).

#include <fcntl.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <limits>

#include "base/file.h"
#include "base/md5_lanes.h"
#include "s3/s3_call.h"
#include "s3/s3_client.h"

namespace ingestor::s3 {

namespace {

std::string header_or(const net::ClientResponse& r, std::string_view name) {
  const std::string* v = r.header(name);
  return v ? *v : std::string();
}

uint64_t to_u64(const std::string& s) {
  uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

bool iequals_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

// "bytes 0-99/1234" -> {0, 99, 1234}.
bool parse_content_range(std::string_view v, uint64_t& a, uint64_t& b, uint64_t& total) {
  if (v.substr(0, 6) != "bytes ") return false;
  v.remove_prefix(6);
  const char* end = v.data() + v.size();
  auto r1 = std::from_chars(v.data(), end, a);
  if (r1.ec != std::errc() || r1.ptr == end || *r1.ptr != '-') return false;
  auto r2 = std::from_chars(r1.ptr + 1, end, b);
  if (r2.ec != std::errc() || r2.ptr == end || *r2.ptr != '/') return false;
  auto r3 = std::from_chars(r2.ptr + 1, end, total);
  return r3.ec == std::errc() && r3.ptr == end;
}

ObjectInfo object_info(const net::ClientResponse& r) {
  ObjectInfo o;
  o.etag = header_or(r, "ETag");
  o.content_length = to_u64(header_or(r, "Content-Length"));
  o.size = o.content_length;
  o.content_type = header_or(r, "Content-Type");
  o.last_modified = header_or(r, "Last-Modified");
  o.parts_count = static_cast<int>(std::min<uint64_t>(to_u64(header_or(r, "x-amz-mp-parts-count")),
                                                      std::numeric_limits<int>::max()));
  uint64_t first = 0, last = 0, total = 0;
  if (r.status == 206 && parse_content_range(header_or(r, "Content-Range"), first, last, total))
    o.size = total;
  const std::string sse = header_or(r, "x-amz-server-side-encryption");
  o.etag_not_md5 = sse.rfind("aws:kms", 0) == 0 ||
                   r.header("x-amz-server-side-encryption-customer-algorithm") != nullptr;
  for (const auto& [name, value] : r.headers) {
    if (name.size() > 11 && iequals_prefix(name, "x-amz-meta-")) {
      std::string n = name.substr(11);
      for (auto& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      o.metadata.emplace_back(std::move(n), value);
    }
  }
  return o;
}

ClientError local_error(const char* op, const std::string& resource, Errc errc, std::string message,
                        int status = 0) {
  ClientError e;
  e.errc = errc;
  e.operation = op;
  e.resource = resource;
  e.http_status = status;
  e.message = std::move(message);
  return e;
}

// The MD5 of a body as it streams to its file: on the shared Md5Lanes worker when the CPU has
// AVX2 (concurrent downloads share its lanes), else with OpenSSL on the downloading thread, as
// the store does.
Md5Lanes* download_md5_lanes() {
  static Md5Lanes* lanes = Md5Lanes::cpu_has_avx2() ? &Md5Lanes::shared() : nullptr;
  return lanes;
}

// The checksum a GetObject response carries for the whole object, if any: the cheapest to compute
// when there are several. A composite one (of the parts' checksums: "<value>-N", or
// x-amz-checksum-type: COMPOSITE) cannot be computed from the body alone and is left out, as
// botocore does.
struct ExpectedChecksum {
  ChecksumAlgorithm algorithm;
  std::string value;
};
std::optional<ExpectedChecksum> full_object_checksum(const net::ClientResponse& r) {
  if (const std::string* type = r.header("x-amz-checksum-type");
      type && iequals_prefix(*type, "composite"))
    return std::nullopt;
  // Cheapest first.
  for (auto a :
       {ChecksumAlgorithm::kCrc32c, ChecksumAlgorithm::kCrc32, ChecksumAlgorithm::kCrc64Nvme,
        ChecksumAlgorithm::kSha1, ChecksumAlgorithm::kSha256}) {
    const std::string* v = r.header(checksum_header(a));
    if (v && !v->empty() && v->find('-') == std::string::npos) return ExpectedChecksum{a, *v};
  }
  return std::nullopt;
}

}  // namespace

ClientResult<ObjectInfo> S3Client::get_object(const GetObjectRequest& req) {
  Call call;
  call.operation = "GetObject";
  call.bucket = req.bucket;
  call.key = req.key;
  const std::string resource = req.bucket + "/" + req.key;
  if (req.range) {
    if (req.range->second < req.range->first)
      return local_error(call.operation, resource, Errc::kInvalidArgument, "empty range");
    call.headers.push_back(
        {"Range", fmt::format("bytes={}-{}", req.range->first, req.range->second)});
  }
  if (!req.if_match.empty()) call.headers.push_back({"If-Match", req.if_match});
  std::optional<File> out;
  std::optional<Md5Feed> md5;
  std::optional<ExpectedChecksum> expected;  // this attempt's response's checksum
  std::optional<Checksummer> sum;            // of the body, when there is one
  call.before_attempt = [&]() -> Status {
    out.reset();
    md5.reset();
    expected.reset();
    sum.reset();
    auto f = File::open(req.path, O_WRONLY | O_CREAT | O_TRUNC);
    if (!f) return f.error();
    out = std::move(*f);
    if (req.md5) md5.emplace(download_md5_lanes());
    return {};
  };
  if (req.checksum && !req.range) call.headers.push_back({"x-amz-checksum-mode", "ENABLED"});
  // The object's ETag and size are checked as soon as the headers arrive: a response that is not
  // the object asked for is refused before its body is downloaded.
  call.on_headers = [&](const net::ClientResponse& head) -> Status {
    const ObjectInfo h = object_info(head);
    if (!req.if_match.empty() && etag_unquoted(h.etag) != etag_unquoted(req.if_match))
      return make_error(Errc::kCorrupt,
                        fmt::format("ETag {} is not the expected {}", h.etag, req.if_match));
    if (req.expected_size && h.size != *req.expected_size)
      return make_error(Errc::kCorrupt,
                        fmt::format("the response's {} says the object has {} bytes, not {}",
                                    head.status == 206 ? "Content-Range" : "Content-Length", h.size,
                                    *req.expected_size));
    if (req.checksum && !req.range) {
      expected = full_object_checksum(head);
      if (expected) {
        sum.emplace(expected->algorithm);
        md5.reset();  // the checksum vouches for the bytes
      }
    }
    return {};
  };
  call.sink = [&](std::string_view piece) {
    auto write = [&](std::string_view p) { return out->write_all(p); };
    if (sum) {
      sum->update(piece);
      return write(piece);
    }
    return md5 ? md5->feed(piece, write) : write(piece);
  };
  auto r = execute(call);
  if (!r) return r.error();

  ObjectInfo info = object_info(*r);
  auto bad = [&](std::string msg) {
    return local_error(call.operation, resource, Errc::kCorrupt, std::move(msg), r->status);
  };
  if (r->body_bytes != info.content_length)
    return bad(
        fmt::format("received {} bytes, Content-Length {}", r->body_bytes, info.content_length));
  if (sum) {
    std::string got = sum->finish_base64();
    if (got != expected->value)
      return bad(fmt::format("{} of the download is {}, the object's checksum is {}",
                             checksum_name(expected->algorithm), got, expected->value));
    info.checksum_verified = expected->algorithm;
  }
  if (req.range) {
    const uint64_t want = req.range->second - req.range->first + 1;
    uint64_t a = 0, b = 0, total = 0;
    if (r->status == 206) {
      if (!parse_content_range(header_or(*r, "Content-Range"), a, b, total))
        return bad("206 without a valid Content-Range");
      // The server clips a range past the end of the object.
      if (a != req.range->first || (b != req.range->second && b + 1 != total) || b - a + 1 > want)
        return bad(fmt::format("asked bytes {}-{}, got {}", req.range->first, req.range->second,
                               header_or(*r, "Content-Range")));
      info.size = total;
    } else if (req.range->first != 0 || info.content_length > want) {
      return bad(fmt::format("asked bytes {}-{}, got status {} with {} bytes", req.range->first,
                             req.range->second, r->status, info.content_length));
    }
  }
  if (req.fsync) {
    auto st = out->fsync();
    if (!st) return local_error(call.operation, resource, st.error().code, st.error().message);
  }
  auto st = out->close();
  if (!st) return local_error(call.operation, resource, st.error().code, st.error().message);
  if (md5) info.body_md5 = md5->finish();
  return info;
}

ClientResult<std::string> S3Client::get_object_bytes(const std::string& bucket,
                                                     const std::string& key) {
  Call call;
  call.operation = "GetObject";
  call.bucket = bucket;
  call.key = key;
  auto r = execute(call);
  if (!r) return r.error();
  return std::move(r->body);
}

ClientResult<ObjectInfo> S3Client::head_object(const std::string& bucket, const std::string& key) {
  return head_object(HeadObjectRequest{bucket, key, 0, {}});
}

ClientResult<ObjectInfo> S3Client::head_object(const HeadObjectRequest& req) {
  Call call;
  call.operation = "HeadObject";
  call.method = "HEAD";
  call.bucket = req.bucket;
  call.key = req.key;
  if (req.part_number > 0) call.query.push_back({"partNumber", std::to_string(req.part_number)});
  if (!req.if_match.empty()) call.headers.push_back({"If-Match", req.if_match});
  auto r = execute(call);
  if (!r) return r.error();
  return object_info(*r);
}

ClientResult<ListObjectsV2Result> S3Client::list_objects_v2(const ListObjectsV2Request& req) {
  Call call;
  call.operation = "ListObjectsV2";
  call.bucket = req.bucket;
  call.query.push_back({"list-type", "2"});
  call.query.push_back({"encoding-type", "url"});
  if (!req.prefix.empty()) call.query.push_back({"prefix", req.prefix});
  if (!req.delimiter.empty()) call.query.push_back({"delimiter", req.delimiter});
  if (!req.continuation_token.empty())
    call.query.push_back({"continuation-token", req.continuation_token});
  if (!req.start_after.empty()) call.query.push_back({"start-after", req.start_after});
  if (req.max_keys > 0) call.query.push_back({"max-keys", std::to_string(req.max_keys)});
  auto r = execute(call);
  if (!r) return r.error();
  auto res = parse_list_objects_v2(r->body);
  if (!res)
    return local_error(call.operation, req.bucket, Errc::kUnavailable,
                       "bad response: " + res.error().message, r->status);
  return std::move(*res);
}

ClientResult<ListMultipartUploadsResult> S3Client::list_multipart_uploads(
    const ListMultipartUploadsRequest& req) {
  Call call;
  call.operation = "ListMultipartUploads";
  call.bucket = req.bucket;
  call.query.push_back({"uploads", "", false});
  call.query.push_back({"encoding-type", "url"});
  if (!req.prefix.empty()) call.query.push_back({"prefix", req.prefix});
  if (!req.key_marker.empty()) call.query.push_back({"key-marker", req.key_marker});
  if (!req.upload_id_marker.empty())
    call.query.push_back({"upload-id-marker", req.upload_id_marker});
  if (req.max_uploads > 0) call.query.push_back({"max-uploads", std::to_string(req.max_uploads)});
  auto r = execute(call);
  if (!r) return r.error();
  auto res = parse_list_multipart_uploads(r->body);
  if (!res)
    return local_error(call.operation, req.bucket, Errc::kUnavailable,
                       "bad response: " + res.error().message, r->status);
  return std::move(*res);
}

ClientStatus S3Client::delete_object(const std::string& bucket, const std::string& key) {
  Call call;
  call.operation = "DeleteObject";
  call.method = "DELETE";
  call.bucket = bucket;
  call.key = key;
  auto r = execute(call);
  if (!r) return r.error();
  return {};
}

ClientStatus S3Client::create_bucket(const std::string& bucket) {
  Call call;
  call.operation = "CreateBucket";
  call.method = "PUT";
  call.bucket = bucket;
  std::string body;
  if (options_.region != "us-east-1") {
    body = fmt::format(
        "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
        options_.region);
    call.body = body;
  }
  auto r = execute(call);
  if (!r && r.error().code != "BucketAlreadyOwnedByYou") return r.error();
  return {};
}

ClientStatus S3Client::head_bucket(const std::string& bucket) {
  Call call;
  call.operation = "HeadBucket";
  call.method = "HEAD";
  call.bucket = bucket;
  auto r = execute(call);
  if (!r) return r.error();
  return {};
}

}  // namespace ingestor::s3

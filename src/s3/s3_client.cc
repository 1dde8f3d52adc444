#include "s3/s3_client.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <random>
#include <stdexcept>
#include <thread>

#include "base/file.h"
#include "base/hash.h"
#include "base/log.h"
#include "s3/checksum.h"
#include "s3/s3_call.h"

namespace ingestor::s3 {

namespace {

std::string header_or(const net::ClientResponse& r, std::string_view name) {
  const std::string* v = r.header(name);
  return v ? *v : std::string();
}

// The code reported for an error response without an XML body (HEAD, some proxies).
std::string status_code_name(int status) {
  switch (status) {
    case 304:
      return "NotModified";
    case 400:
      return "BadRequest";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 412:
      return "PreconditionFailed";
    case 416:
      return "InvalidRange";
    case 429:
      return "TooManyRequests";
    case 500:
      return "InternalError";
    case 503:
      return "ServiceUnavailable";
    default:
      return std::to_string(status);
  }
}

struct Digests {
  std::string md5_base64;     // empty unless asked for
  std::string sha256_hex;     // empty unless asked for
  std::string crc32c_base64;  // empty unless asked for
};

struct DigestPlan {
  bool md5 = false;
  bool sha256 = false;
  bool crc32c = false;
};

// Digests of a body; file ranges are read in 1 MiB pieces.
Result<Digests> digest_body(const Body& body, DigestPlan plan) {
  Digests d;
  Md5 m;
  Sha256 s;
  Checksummer crc(ChecksumAlgorithm::kCrc32c);
  auto update = [&](std::string_view piece) {
    if (plan.md5) m.update(piece);
    if (plan.sha256) s.update(piece);
    if (plan.crc32c) crc.update(piece);
  };
  if (!body.file) {
    update(body.data);
  } else {
    const auto& fr = *body.file;
    auto file = File::open(fr.path, O_RDONLY);
    if (!file) return file.error();
    std::string buf(std::min<uint64_t>(1 << 20, std::max<uint64_t>(fr.length, 1)), '\0');
    uint64_t done = 0;
    while (done < fr.length) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), fr.length - done));
      ssize_t n = ::pread(file->fd(), buf.data(), want, static_cast<off_t>(fr.offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_error("read " + fr.path, errno);
      if (n == 0)
        return make_error(
            Errc::kInvalidArgument,
            fmt::format("{} is shorter than offset {} + length {}", fr.path, fr.offset, fr.length));
      update(std::string_view(buf.data(), static_cast<size_t>(n)));
      done += static_cast<uint64_t>(n);
    }
  }
  if (plan.md5) d.md5_base64 = base64_encode(m.finish());
  if (plan.sha256) d.sha256_hex = s.finish_hex();
  if (plan.crc32c) d.crc32c_base64 = crc.finish_base64();
  return d;
}

}  // namespace

std::string ClientError::describe() const {
  std::string s = operation + " " + resource + ": ";
  if (http_status) s += std::to_string(http_status) + " ";
  if (!code.empty()) s += code + ": ";
  s += message;
  if (!request_id.empty()) s += " (request id " + request_id + ")";
  if (attempts > 1) s += fmt::format(" after {} attempts", attempts);
  return s;
}

void throw_exception_from_error(const ClientError& e, const boost::source_location&) {
  throw std::runtime_error(e.describe());
}

S3Client::S3Client(S3ClientOptions options, S3Endpoint endpoint)
    : options_(std::move(options)),
      endpoint_(std::move(endpoint)),
      http_(std::make_unique<net::HttpClient>(options_.http)) {}

S3Client::~S3Client() = default;

Result<std::unique_ptr<S3Client>> S3Client::create(S3ClientOptions options) {
  if (options.max_attempts < 1) return make_error(Errc::kConfig, "S3: max_attempts must be >= 1");
  auto ep = resolve_endpoint(options.endpoint, options.region);
  if (!ep) return ep.error();
  if (!options.credentials) options.credentials = CredentialsChain::make_default();
  if (!options.sleep)
    options.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  if (!options.clock) options.clock = [] { return std::chrono::system_clock::now(); };
  std::unique_ptr<S3Client> c(new S3Client(std::move(options), std::move(*ep)));
  if (c->endpoint_.endpoint.tls) {
    auto st = c->http_->init();
    if (!st) return st.error();
  }
  return c;
}

ClientResult<net::ClientResponse> S3Client::execute(Call& call) {
  ClientError err;
  err.operation = call.operation;
  err.resource = call.key.empty() ? call.bucket : call.bucket + "/" + call.key;
  auto url = build_url(endpoint_, options_.addressing, call.bucket, call.key, call.query);
  if (!url) {
    err.errc = url.error().code;
    err.message = url.error().message;
    return err;
  }
  if (call.payload_hash.empty()) call.payload_hash = sha256_hex(call.body);
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> uniform(0.0, 1.0);

  for (int attempt = 1;; ++attempt) {
    err.attempts = attempt;
    bool retry = false;
    auto creds = options_.credentials->get();
    if (!creds) {
      err.errc = creds.error().code;
      err.message = creds.error().message;
      retry = creds.error().retryable();
    } else {
      SigningRequest sr;
      sr.method = call.method;
      sr.path = url->path;
      sr.query = call.query;
      sr.headers.push_back({"Host", url->host_header});
      sr.headers.insert(sr.headers.end(), call.headers.begin(), call.headers.end());
      sr.payload_hash = call.payload_hash;
      auto sig = sign_request(sr, *creds, options_.clock(),
                              SignOptions{options_.region, "s3", &key_cache_});
      if (!sig) {
        err.errc = sig.error().code;
        err.message = sig.error().message;
        return err;
      }
      net::ClientRequest hr;
      hr.method = call.method;
      hr.endpoint = url->endpoint;
      hr.target = url->target;
      for (auto& h : sr.headers) hr.headers.emplace_back(std::move(h.name), std::move(h.value));
      hr.body = call.body;
      hr.body_file = call.body_file;
      hr.sink = call.sink;
      hr.on_headers = call.on_headers;
      if (call.before_attempt) {
        auto st = call.before_attempt();
        if (!st) {
          err.errc = st.error().code;
          err.message = st.error().message;
          return err;
        }
      }
      auto r = http_->request(hr);
      if (!r) {
        err.errc = r.error().code;
        err.http_status = 0;
        err.code.clear();
        err.message = r.error().message;
        retry = r.error().retryable();
      } else {
        err.http_status = r->status;
        err.request_id = header_or(*r, "x-amz-request-id");
        const bool ok = r->status >= 200 && r->status < 300;
        std::optional<ErrorDocument> doc;
        if (!ok || call.check_200_error) doc = parse_error_xml(r->body);
        if (ok && !doc) return std::move(*r);
        if (doc) {
          err.code = doc->code;
          err.message = doc->message;
          if (!doc->request_id.empty()) err.request_id = doc->request_id;
        } else {
          err.code = status_code_name(r->status);
          err.message = r->body.empty() ? "no error document" : r->body.substr(0, 300);
        }
        if (ok) {  // 200 with <Error>: botocore treats it as a 500 and retries
          err.errc = Errc::kUnavailable;
          retry = true;
        } else {
          auto c = classify_response(r->status, doc ? doc->code : std::string());
          err.errc = c.errc;
          retry = c.retry;
          if (c.retry && c.errc == Errc::kAuth) options_.credentials->invalidate();
        }
      }
    }
    if (!retry || attempt >= options_.max_attempts) return err;
    auto delay = backoff_delay(attempt, options_.retry_base, options_.retry_max, uniform(rng));
    log::debug("S3 {} attempt {} failed ({}); retrying in {} ms", err.operation, attempt,
               log::escape(err.describe()), delay.count());
    options_.sleep(delay);
  }
}

ClientResult<S3Client::PutResult> S3Client::put_body(Call& call, const Body& body) {
  const bool crc = options_.body_checksum == BodyChecksum::kCrc32c;
  const bool sign = options_.payload_signing == PayloadSigning::kAlways ||
                    (options_.payload_signing == PayloadSigning::kAuto && !crc &&
                     (!body.file || !endpoint_.endpoint.tls));
  auto digests = digest_body(body, DigestPlan{!crc, sign, crc});
  if (!digests) {
    ClientError e;
    e.errc = digests.error().code;
    e.operation = call.operation;
    e.resource = call.bucket + "/" + call.key;
    e.message = digests.error().message;
    return e;
  }
  call.method = "PUT";
  if (crc) {
    call.headers.push_back({"x-amz-checksum-crc32c", digests->crc32c_base64});
    call.headers.push_back({"x-amz-sdk-checksum-algorithm", "CRC32C"});
  } else {
    call.headers.push_back({"Content-MD5", digests->md5_base64});
  }
  call.payload_hash = sign ? digests->sha256_hex : std::string(kUnsignedPayload);
  call.body = body.data;
  call.body_file = body.file;
  auto r = execute(call);
  if (!r) return r.error();
  return PutResult{header_or(*r, "ETag"), std::move(digests->crc32c_base64)};
}

ClientResult<std::string> S3Client::put_object(const PutObjectRequest& req) {
  Call call;
  call.operation = "PutObject";
  call.bucket = req.bucket;
  call.key = req.key;
  if (!req.content_type.empty()) call.headers.push_back({"Content-Type", req.content_type});
  for (const auto& [k, v] : req.metadata) call.headers.push_back({"x-amz-meta-" + k, v});
  if (req.if_none_match) call.headers.push_back({"If-None-Match", "*"});
  auto r = put_body(call, req.body);
  if (!r) return r.error();
  return std::move(r->etag);
}

ClientResult<std::string> S3Client::create_multipart_upload(const std::string& bucket,
                                                            const std::string& key,
                                                            const std::string& content_type,
                                                            const Metadata& metadata) {
  Call call;
  call.operation = "CreateMultipartUpload";
  call.method = "POST";
  call.bucket = bucket;
  call.key = key;
  call.query.push_back({"uploads", "", false});
  // S3 refuses part checksums of an algorithm the upload did not declare.
  if (options_.body_checksum == BodyChecksum::kCrc32c)
    call.headers.push_back({"x-amz-checksum-algorithm", "CRC32C"});
  if (!content_type.empty()) call.headers.push_back({"Content-Type", content_type});
  for (const auto& [k, v] : metadata) call.headers.push_back({"x-amz-meta-" + k, v});
  auto r = execute(call);
  if (!r) return r.error();
  auto id = parse_initiate_multipart_upload(r->body);
  if (!id) {
    ClientError e;
    e.errc = Errc::kUnavailable;
    e.operation = call.operation;
    e.resource = bucket + "/" + key;
    e.http_status = r->status;
    e.message = "bad response: " + id.error().message;
    return e;
  }
  return std::move(*id);
}

ClientResult<CompletedPart> S3Client::upload_part(const UploadPartRequest& req) {
  Call call;
  call.operation = "UploadPart";
  call.bucket = req.bucket;
  call.key = req.key;
  call.query.push_back({"partNumber", std::to_string(req.part_number)});
  call.query.push_back({"uploadId", req.upload_id});
  auto r = put_body(call, req.body);
  if (!r) return r.error();
  return CompletedPart{req.part_number, std::move(r->etag), std::move(r->crc32c_base64)};
}

ClientResult<std::string> S3Client::complete_multipart_upload(
    const std::string& bucket, const std::string& key, const std::string& upload_id,
    const std::vector<CompletedPart>& parts, bool if_none_match) {
  Call call;
  call.operation = "CompleteMultipartUpload";
  call.method = "POST";
  call.bucket = bucket;
  call.key = key;
  call.query.push_back({"uploadId", upload_id});
  const std::string body = build_complete_multipart_upload(parts);
  call.body = body;
  call.headers.push_back({"Content-Type", "application/xml"});
  if (if_none_match) call.headers.push_back({"If-None-Match", "*"});
  call.check_200_error = true;
  auto r = execute(call);
  if (!r) return r.error();
  auto res = parse_complete_multipart_upload(r->body);
  if (!res) {
    ClientError e;
    e.errc = Errc::kUnavailable;
    e.operation = call.operation;
    e.resource = bucket + "/" + key;
    e.http_status = r->status;
    e.message = "bad response: " + res.error().message;
    return e;
  }
  return std::move(res->etag);
}

ClientStatus S3Client::abort_multipart_upload(const std::string& bucket, const std::string& key,
                                              const std::string& upload_id) {
  Call call;
  call.operation = "AbortMultipartUpload";
  call.method = "DELETE";
  call.bucket = bucket;
  call.key = key;
  call.query.push_back({"uploadId", upload_id});
  auto r = execute(call);
  if (!r) return r.error();
  return {};
}

}  // namespace ingestor::s3

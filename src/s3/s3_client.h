#pragma once
// S3Client: the S3 operations the agent's sink and the consumer need, over net::HttpClient, signed
// with SigV4 (aws.md 1, 2). Works against AWS S3, MinIO, Ceph RGW, moto_server and
// `ingestor store`.
//
//  - Addressing: path-style or virtual-hosted (s3_request.h); HTTP or HTTPS.
//  - Payload: the SHA-256 of the body is signed (x-amz-content-sha256), except file bodies over
//    HTTPS, which are sent UNSIGNED-PAYLOAD (TLS protects them) unless payload_signing says
//    otherwise. PutObject and UploadPart also carry a checksum S3 verifies (body_checksum):
//    Content-MD5, or x-amz-checksum-crc32c, which costs a fraction of the CPU (SSE4.2) and with
//    which kAuto sends every body UNSIGNED-PAYLOAD: the checksum, not the signature, guards the
//    bytes, as the AWS SDKs' default checksums do.
//  - File bodies (FileRange) are streamed from disk, read twice: once for the digests, once to
//    send; an object is never held in memory.
//  - Retries: up to max_attempts per operation with full-jitter exponential backoff, for network
//    errors, timeouts, 5xx, 429 and throttling codes (classify_response). Auth errors are never
//    retried. max_attempts = 1 leaves retrying to the caller (e.g. the sink runner).
//  - Errors: ClientError carries the operation, the HTTP status, S3's <Code> and <Message> and the
//    request id; precondition_failed() recognises the 412 of If-None-Match: *.
//
// Thread-safety: all operations may be called concurrently from many threads; an S3Client is
// immutable after create() apart from its connection pool and credential cache (both locked).

#include <boost/system/result.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/hash.h"
#include "base/result.h"
#include "net/http_client.h"
#include "s3/checksum.h"
#include "s3/credentials.h"
#include "s3/s3_request.h"
#include "s3/xml.h"

namespace ingestor::s3 {

enum class PayloadSigning {
  kAuto,      // SHA-256 for memory bodies and for file bodies over HTTP; UNSIGNED over HTTPS
  kAlways,    // always SHA-256 (file bodies are read twice)
  kUnsigned,  // always UNSIGNED-PAYLOAD (the body checksum still protects PutObject/UploadPart)
};

// What a PutObject/UploadPart body carries for S3 to verify.
enum class BodyChecksum {
  kContentMd5,  // Content-MD5: every S3 implementation checks it; MD5 is ~0.6 GB/s per core
  kCrc32c,      // x-amz-checksum-crc32c (S3 since 2022, MinIO, ingestor store): ~10x cheaper
};

struct S3ClientOptions {
  // "http://127.0.0.1:9000", "https://minio.example:9000/prefix". Empty: AWS,
  // https://s3.<region>.amazonaws.com.
  std::string endpoint;
  std::string region = "us-east-1";
  Addressing addressing = Addressing::kAuto;
  // Null: CredentialsChain::make_default() (env, shared files, container, IMDS).
  std::shared_ptr<CredentialsSource> credentials;
  net::HttpClientOptions http;  // timeouts, TLS trust, pool size
  PayloadSigning payload_signing = PayloadSigning::kAuto;
  BodyChecksum body_checksum = BodyChecksum::kContentMd5;
  int max_attempts = 4;  // per operation, including the first; >= 1
  std::chrono::milliseconds retry_base{100};
  std::chrono::milliseconds retry_max{std::chrono::seconds(20)};
  // Test seams: how the client waits between attempts and what time it signs with.
  std::function<void(std::chrono::milliseconds)> sleep;
  std::function<TimePoint()> clock;
};

// An operation that failed, as S3 (or the network) reported it.
struct ClientError {
  Errc errc = Errc::kInternal;  // project classification (kAuth, kNotFound, kConflict, ...)
  std::string operation;        // "PutObject"
  std::string resource;         // "bucket/key"
  int http_status = 0;          // 0 for transport or local errors
  std::string code;             // S3 <Code> ("PreconditionFailed"); for HEAD, the status text
  std::string message;          // S3 <Message>, or the transport error
  std::string request_id;
  int attempts = 1;

  // 412: If-None-Match: * found an existing object, or If-Match did not match.
  bool precondition_failed() const { return http_status == 412 || code == "PreconditionFailed"; }
  bool not_found() const { return http_status == 404; }
  bool retryable() const { return is_retryable(errc); }
  // "PutObject bucket/key: 412 PreconditionFailed: At least one of the pre-conditions ...".
  std::string describe() const;
  Error to_error() const { return Error(errc, describe()); }
};

// Used by result::value() on an error (tests): throws std::runtime_error(describe()).
[[noreturn]] void throw_exception_from_error(const ClientError& e,
                                             const boost::source_location& loc);

template <class T>
using ClientResult = boost::system::result<T, ClientError>;
using ClientStatus = boost::system::result<void, ClientError>;

// A request body: caller's memory (must outlive the call) or a file range.
struct Body {
  std::string_view data;
  std::optional<net::FileRange> file;

  static Body memory(std::string_view d) { return Body{d, std::nullopt}; }
  static Body file_range(std::string path, uint64_t offset, uint64_t length) {
    return Body{{}, net::FileRange{std::move(path), offset, length}};
  }
  uint64_t size() const { return file ? file->length : data.size(); }
};

using Metadata = std::vector<std::pair<std::string, std::string>>;  // x-amz-meta-<name>: value

struct PutObjectRequest {
  std::string bucket;
  std::string key;
  Body body;
  std::string content_type;  // empty: not sent (S3 stores binary/octet-stream)
  Metadata metadata;
  bool if_none_match = false;  // If-None-Match: * (fails with 412 if the key exists)
};

struct UploadPartRequest {
  std::string bucket;
  std::string key;
  std::string upload_id;
  int part_number = 1;  // 1..10000
  Body body;
};

struct GetObjectRequest {
  std::string bucket;
  std::string key;
  std::string path;  // destination file: created or truncated (on every attempt)
  // Inclusive byte range [first, last]; nullopt = whole object.
  std::optional<std::pair<uint64_t, uint64_t>> range;
  std::string if_match;  // ETag the object must have (sent as If-Match; 412 otherwise)
  // The object's total size, checked against the response's headers (Content-Length of a 200,
  // the total of a 206's Content-Range) before a byte of the body is taken: a disagreement is a
  // kCorrupt error and the body is not downloaded.
  std::optional<uint64_t> expected_size;
  bool fsync = false;  // fsync the file before returning
  bool md5 = false;    // hash the body on its way to the file (body_md5)
  // Ask for the object's additional checksum (x-amz-checksum-mode: ENABLED; whole-object GETs
  // only). When the response carries a full-object one (CRC32, CRC32C, CRC64NVME, SHA-1, SHA-256;
  // not a composite "<value>-N"), the body is checked against it as it streams, a mismatch is a
  // kCorrupt error, and the body is not MD5-hashed: ObjectInfo::checksum_verified says so.
  // Without one, md5 applies. This is the AWS SDKs' response checksum validation.
  bool checksum = false;
};

struct HeadObjectRequest {
  std::string bucket;
  std::string key;
  // 1..10000: HEAD ?partNumber=N: content_length is that part's length, parts_count the number
  // of parts of a multipart object. 0: the whole object.
  int part_number = 0;
  std::string if_match;  // sent as If-Match (412 when the object has another ETag)
};

struct ObjectInfo {
  std::string etag;
  uint64_t size = 0;            // whole object (a 206's Content-Range total)
  uint64_t content_length = 0;  // bytes of this response's body (GET; HEAD: what a GET would send)
  int parts_count = 0;          // x-amz-mp-parts-count (a request with partNumber); 0: absent
  std::string content_type;
  std::string last_modified;  // HTTP date as sent
  Metadata metadata;          // names without the x-amz-meta- prefix, lower case
  // GetObject with GetObjectRequest::md5: the MD5 of the body bytes received, hashed while they
  // streamed to the file (so a caller checking a single-part ETag need not read the file again).
  std::optional<Md5Digest> body_md5;
  // GetObject with GetObjectRequest::checksum: the algorithm of the object's checksum that the
  // body was checked against (then body_md5 is empty).
  std::optional<ChecksumAlgorithm> checksum_verified;
  // The object is encrypted with SSE-KMS or SSE-C (x-amz-server-side-encryption: aws:kms...,
  // x-amz-server-side-encryption-customer-algorithm): its ETag is not the MD5 of its content
  // even for a single PUT (aws.md 2.7).
  bool etag_not_md5 = false;
};

struct ListObjectsV2Request {
  std::string bucket;
  std::string prefix;
  std::string delimiter;
  std::string continuation_token;
  std::string start_after;
  int max_keys = 0;  // 0: the server's default (1000)
};

struct ListMultipartUploadsRequest {
  std::string bucket;
  std::string prefix;
  std::string key_marker;
  std::string upload_id_marker;
  int max_uploads = 0;  // 0: the server's default (1000)
};

class S3Client {
 public:
  // Validates the options (endpoint URL, region) and builds the default credentials chain when
  // none is given. Errors: kConfig.
  [[nodiscard]] static Result<std::unique_ptr<S3Client>> create(S3ClientOptions options);
  ~S3Client();

  // PutObject with Content-MD5; returns the ETag (quoted).
  [[nodiscard]] ClientResult<std::string> put_object(const PutObjectRequest& req);
  // Returns the UploadId.
  [[nodiscard]] ClientResult<std::string> create_multipart_upload(
      const std::string& bucket, const std::string& key, const std::string& content_type = {},
      const Metadata& metadata = {});
  // UploadPart with Content-MD5; returns the part's ETag.
  // The part as CompleteMultipartUpload names it: its number, ETag and (kCrc32c) checksum.
  [[nodiscard]] ClientResult<CompletedPart> upload_part(const UploadPartRequest& req);
  // Returns the object's ETag ("...-N"). A 200 carrying an <Error> document is a failure
  // (retried as InternalError, as botocore does).
  [[nodiscard]] ClientResult<std::string> complete_multipart_upload(
      const std::string& bucket, const std::string& key, const std::string& upload_id,
      const std::vector<CompletedPart>& parts, bool if_none_match = false);
  [[nodiscard]] ClientStatus abort_multipart_upload(const std::string& bucket,
                                                    const std::string& key,
                                                    const std::string& upload_id);
  [[nodiscard]] ClientResult<ListMultipartUploadsResult> list_multipart_uploads(
      const ListMultipartUploadsRequest& req);

  // Streams the object (or range) to req.path. Checks: status 200/206, body length equal to
  // Content-Length, Content-Range matching the requested range, ETag equal to if_match,
  // total size equal to expected_size (kCorrupt otherwise; the ETag and size at the headers).
  [[nodiscard]] ClientResult<ObjectInfo> get_object(const GetObjectRequest& req);
  // Small objects into memory (bounded by http.max_body).
  [[nodiscard]] ClientResult<std::string> get_object_bytes(const std::string& bucket,
                                                           const std::string& key);
  [[nodiscard]] ClientResult<ObjectInfo> head_object(const std::string& bucket,
                                                     const std::string& key);
  // HEAD with a part number and/or If-Match. A HEAD answer has no body: an error's code is the
  // status text ("Not Found"), not S3's <Code>.
  [[nodiscard]] ClientResult<ObjectInfo> head_object(const HeadObjectRequest& req);
  // One page; follow next_continuation_token while is_truncated.
  [[nodiscard]] ClientResult<ListObjectsV2Result> list_objects_v2(const ListObjectsV2Request& req);
  // Succeeds also when the key does not exist (S3 answers 204).
  [[nodiscard]] ClientStatus delete_object(const std::string& bucket, const std::string& key);
  // Creates the bucket (LocationConstraint = region unless us-east-1). "Already owned by you"
  // counts as success.
  [[nodiscard]] ClientStatus create_bucket(const std::string& bucket);
  [[nodiscard]] ClientStatus head_bucket(const std::string& bucket);

  const S3ClientOptions& options() const { return options_; }
  net::HttpClient& http() { return *http_; }

 private:
  struct Call;
  S3Client(S3ClientOptions options, S3Endpoint endpoint);
  ClientResult<net::ClientResponse> execute(Call& call);
  struct PutResult {
    std::string etag;
    std::string crc32c_base64;  // kCrc32c: the checksum sent (and verified by S3)
  };
  ClientResult<PutResult> put_body(Call& call, const Body& body);

  S3ClientOptions options_;
  S3Endpoint endpoint_;
  std::unique_ptr<net::HttpClient> http_;
  SigningKeyCache key_cache_;
};

}  // namespace ingestor::s3

#pragma once
// One download attempt of an object a notification named. A notification is a hint that
// (bucket, key) may hold a version with its ETag; S3 decides:
//
//  1. HeadObject: S3's ETag and size. Another ETag: the version is not there (superseded, nothing
//     downloaded). A 404 or other refusal: the GET below reports S3's own error code
//     (NoSuchKey: superseded; NoSuchBucket, AccessDenied...: a failed attempt).
//  2. GetObject with If-Match and the size S3 told, both checked at the response's headers (a
//     body of another size is refused before it is downloaded), the object's checksum asked for.
//  3. The bytes are checked against the object's full-object checksum (as they stream), or its
//     single-part ETag (the MD5 of the stream), or its multipart ETag recomputed exactly with the
//     part sizes S3 tells (HEAD ?partNumber=i, If-Match): the parts are first assumed to be the
//     size of part 1 but the last (one HEAD), and each part is asked for only when that does not
//     reproduce the ETag. A download nothing vouches for (an SSE-KMS/SSE-C ETag without a
//     checksum, an ETag of another form, a server that does not tell part sizes) is never done:
//     kUnverifiable.
//
// Thread-safe (S3Client is); one call per worker at a time.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "consumer/verify.h"
#include "s3/checksum.h"
#include "s3/object_notice.h"

namespace ingestor::s3 {
class S3Client;
}

namespace ingestor::consumer {

struct Fetched {
  enum class Outcome {
    kDownloaded,    // at `tmp`, fsynced, verified
    kSuperseded,    // the key holds another version, or none: nothing to download
    kRetry,         // a failed attempt (network, S3 error, bytes damaged on the way)
    kUnverifiable,  // downloaded but nothing can vouch for the bytes: a dead letter at once
  };
  Outcome outcome = Outcome::kRetry;
  std::string error;  // why, unless kDownloaded
  Verified verified = Verified::kChecksum;
  std::optional<s3::ChecksumAlgorithm> checksum;  // kChecksum: which
  uint64_t size = 0;                              // the object's size, as S3 said
};

// `learned(size)` is called once with the object's size as S3 says it, before the body is
// downloaded (the ledger records it). On any outcome but kDownloaded `tmp` may be left behind.
Fetched fetch_object(s3::S3Client& s3, const s3::ObjectNotice& n, const std::string& tmp,
                     const std::function<void(uint64_t size)>& learned);

}  // namespace ingestor::consumer

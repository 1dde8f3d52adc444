#include "consumer/fetch.h"

#include <fmt/format.h>

#include <variant>
#include <vector>

#include "s3/s3_client.h"

namespace ingestor::consumer {

namespace {

using Outcome = Fetched::Outcome;

Fetched outcome(Outcome o, std::string error) {
  Fetched f;
  f.outcome = o;
  f.error = std::move(error);
  return f;
}

// A GetObject or HeadObject error: the version is gone (412, NoSuchKey), or a failed attempt.
Fetched from_error(const s3::ClientError& e) {
  if (e.precondition_failed())
    return outcome(Outcome::kSuperseded, "the key holds another version now: " + e.describe());
  if (e.code == "NoSuchKey")
    return outcome(Outcome::kSuperseded, "the key holds no object now: " + e.describe());
  return outcome(Outcome::kRetry, e.describe());
}

// The sizes of the `parts` parts of an object of `size` bytes with ETag `etag` (quoted), as S3
// tells them: HEAD ?partNumber=i with If-Match. `first_only`: only part 1's, the others assumed
// to be as large but the last.
std::variant<std::vector<uint64_t>, Fetched> part_sizes(s3::S3Client& s3, const s3::ObjectNotice& n,
                                                        const std::string& etag, uint64_t size,
                                                        int parts, bool first_only) {
  std::vector<uint64_t> sizes;
  for (int i = 1; i <= parts; ++i) {
    auto h = s3.head_object(s3::HeadObjectRequest{n.bucket, n.key, i, etag});
    if (!h) {
      if (h.error().not_found())  // a HEAD has no <Code>: the object is gone
        return outcome(Outcome::kSuperseded,
                       "the key holds no object now: " + h.error().describe());
      Fetched f = from_error(h.error());
      if (f.outcome == Outcome::kRetry && !h.error().retryable()) {
        f.outcome = Outcome::kUnverifiable;
        f.error = "the size of part " + std::to_string(i) + " is unknown (" + f.error +
                  "): the multipart ETag cannot be checked";
      }
      return f;
    }
    if (h->parts_count != 0 && h->parts_count != parts)
      return outcome(Outcome::kUnverifiable,
                     fmt::format("S3 counts {} parts, the ETag {}: the object cannot be verified",
                                 h->parts_count, etag));
    sizes.push_back(h->content_length);
    if (first_only && parts > 1) {
      const uint64_t p = sizes[0];
      if (p == 0 || static_cast<uint64_t>(parts - 1) > size / p) break;  // not uniform
      const uint64_t last = size - p * static_cast<uint64_t>(parts - 1);
      if (last == 0 || last > p) break;
      sizes.assign(static_cast<size_t>(parts - 1), p);
      sizes.push_back(last);
      return sizes;
    }
  }
  if (first_only && sizes.size() < static_cast<size_t>(parts))
    return std::vector<uint64_t>{};  // no uniform guess: the caller asks for every part
  uint64_t sum = 0;
  for (uint64_t s : sizes) sum += s;
  if (sum != size)
    return outcome(Outcome::kUnverifiable,
                   fmt::format("the {} parts S3 tells add up to {} bytes, the object has {}", parts,
                               sum, size));
  return sizes;
}

// The multipart ETag of the download at `tmp` with the part sizes S3 tells.
Fetched verify_multipart(s3::S3Client& s3, const s3::ObjectNotice& n, const std::string& tmp,
                         const EtagForm& etag, uint64_t size) {
  const std::string quoted = "\"" + etag.etag + "\"";
  std::string got;
  std::vector<uint64_t> tried;
  for (bool first_only : {true, false}) {
    auto sizes = part_sizes(s3, n, quoted, size, etag.parts, first_only);
    if (auto* f = std::get_if<Fetched>(&sizes)) return *f;
    auto& v = std::get<std::vector<uint64_t>>(sizes);
    if (v.empty()) continue;
    if (v == tried) break;  // the parts were as guessed: the bytes are wrong
    tried = v;
    auto m = multipart_etag(tmp, v);
    if (!m) return outcome(Outcome::kRetry, m.error().message);
    if (*m == etag.etag) {
      Fetched ok;
      ok.outcome = Outcome::kDownloaded;
      ok.verified = Verified::kMultipartMd5;
      return ok;
    }
    got = *m;
    if (etag.parts == 1) break;  // part 1 was the whole object: nothing more to ask
  }
  return outcome(
      Outcome::kRetry,
      fmt::format("multipart ETag of the download is {}, the object's is {}", got, etag.etag));
}

}  // namespace

Fetched fetch_object(s3::S3Client& s3, const s3::ObjectNotice& n, const std::string& tmp,
                     const std::function<void(uint64_t size)>& learned) {
  const EtagForm notified = parse_etag(n.etag);
  std::optional<uint64_t> size;  // what S3 says, once it has
  auto head = s3.head_object(n.bucket, n.key);
  if (head) {
    const EtagForm actual = parse_etag(head->etag);
    if (actual.etag != notified.etag)
      return outcome(Outcome::kSuperseded,
                     fmt::format("the key holds ETag {} now, not {}", actual.etag, notified.etag));
    size = head->size;
    learned(*size);
  } else if (head.error().http_status < 400 || head.error().http_status >= 500) {
    return outcome(Outcome::kRetry, head.error().describe());
  }
  // A HEAD refused with a 4xx has no body to say why: the GET is refused the same way, with
  // S3's code (NoSuchKey, NoSuchBucket, AccessDenied).
  s3::GetObjectRequest g;
  g.bucket = n.bucket;
  g.key = n.key;
  g.path = tmp;
  g.if_match = "\"" + notified.etag + "\"";
  g.expected_size = size;
  g.fsync = true;
  // Checked on the way in: against the object's own checksum when it has one (the agent's
  // objects carry CRC32C, S3 adds CRC64NVME to new objects), else a single-part ETag against
  // the body's MD5, so the file is not read again.
  g.checksum = true;
  g.md5 = true;
  auto got = s3.get_object(g);
  if (!got) return from_error(got.error());
  if (!size) {
    size = got->size;
    learned(*size);
  }
  Fetched f;
  f.outcome = Outcome::kDownloaded;
  f.size = *size;
  if (got->checksum_verified) {
    f.verified = Verified::kChecksum;
    f.checksum = got->checksum_verified;
    return f;
  }
  const EtagForm etag = parse_etag(got->etag);
  if (got->etag_not_md5 || etag.kind == EtagForm::kOther) {
    return outcome(Outcome::kUnverifiable,
                   fmt::format("the object has no checksum and its ETag {} is not a digest of its "
                               "bytes{}: the download cannot be verified",
                               etag.etag, got->etag_not_md5 ? " (SSE-KMS or SSE-C)" : ""));
  }
  if (etag.kind == EtagForm::kMd5) {
    if (!got->body_md5) return outcome(Outcome::kRetry, "the body's MD5 was not computed");
    if (auto st = check_md5(*got->body_md5, etag); !st)
      return outcome(Outcome::kRetry, st.error().message);
    f.verified = Verified::kMd5;
    return f;
  }
  Fetched m = verify_multipart(s3, n, tmp, etag, *size);
  m.size = *size;
  return m;
}

}  // namespace ingestor::consumer

// Fuzz target `sigv4` (fuzz/README.md): request authentication (sigv4.h) as the store runs it on
// every request: the Authorization header (SigV4 "AWS4-HMAC-SHA256 Credential=..." and SigV2
// "AWS AKID:sig"), presigned query strings of both versions, dates, x-amz-content-sha256.
//
// Input: byte 0 selects the mode, the rest is text.
//   mode 0, 1 (verify): "METHOD TARGET\n" then "Name: value\n" header lines. TARGET is split into
//     a percent-decoded path and parse_query(); verify_request() runs at 2013-05-24T00:00:00Z
//     with the AWS documentation's key (and a second key that needs a session token), in any
//     region (mode 0) or us-east-1 (mode 1). Invariant: a success names a known key.
//   mode 2 (sign, verify): lines "METHOD", "PATH", "n=v&n2=v2" (raw bytes, not encoded) and then
//     "Name: value" headers make a request, which is signed with sign_request() and verified, then
//     presigned with presign_url() and verified after a trip through the URL text. Both must
//     authenticate: whatever a client may send, our signer and our verifier agree.
//   mode 3: as mode 2, with presign_url_v2() (SigV2 query auth).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/fuzz_check.h"
#include "s3/sigv4.h"
#include "s3/sigv4_internal.h"

namespace {

using namespace ingestor;
using namespace ingestor::s3;

const Credentials kAws{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
const Credentials kTemp{"ASIATEMPEXAMPLE", "temp/secret+key", "token-123"};

const TimePoint kNow = parse_amz_date("20130524T000000Z").value();

std::optional<Credentials> lookup(std::string_view akid) {
  if (akid == kAws.access_key_id) return kAws;
  if (akid == kTemp.access_key_id) return kTemp;
  return std::nullopt;
}

std::vector<std::string_view> lines_of(std::string_view s) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    const size_t nl = s.find('\n');
    out.push_back(s.substr(0, nl));
    if (nl == std::string_view::npos) break;
    s.remove_prefix(nl + 1);
  }
  return out;
}

bool iequals_prefix(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && sigv4_detail::iequals(s.substr(0, prefix.size()), prefix);
}

void verify_raw(std::string_view text, bool regional) {
  const auto lines = lines_of(text);
  if (lines.empty()) return;
  SigningRequest req;
  const std::string_view first = lines[0];
  const size_t sp = first.find(' ');
  req.method = std::string(first.substr(0, sp));
  const std::string_view target = sp == std::string_view::npos ? "/" : first.substr(sp + 1);
  const size_t q = target.find('?');
  const std::string_view raw_path = target.substr(0, q);
  req.path = percent_decode(raw_path, false).value_or(std::string(raw_path));
  if (q != std::string_view::npos) req.query = parse_query(target.substr(q + 1));
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == std::string_view::npos) continue;
    req.headers.push_back(
        {std::string(lines[i].substr(0, colon)), std::string(lines[i].substr(colon + 1))});
  }
  VerifyOptions opts;
  if (regional) opts.region = "us-east-1";
  auto r = verify_request(req, lookup, kNow, opts);
  if (r && r->kind != AuthKind::kAnonymous) {
    INGESTOR_FUZZ_CHECK(lookup(r->access_key_id).has_value(), r->access_key_id);
  }
  if (r && (r->kind == AuthKind::kHeaderV4 || r->kind == AuthKind::kQueryV4)) {
    INGESTOR_FUZZ_CHECK(r->seed_signature.size() == 64);
  }
  if (!r) (void)r.error().message;
}

// The request of modes 2 and 3, restricted to what a client could send: header names are HTTP
// tokens and not ones the signer sets; query names are not auth parameters.
std::optional<SigningRequest> client_request(std::string_view text, bool with_payload_header) {
  const auto lines = lines_of(text);
  if (lines.size() < 3) return std::nullopt;
  SigningRequest req;
  req.method = std::string(lines[0]);
  req.path = std::string(lines[1]);
  std::string_view query = lines[2];
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const size_t eq = pair.find('=');
    QueryParam p;
    p.name = std::string(pair.substr(0, eq));
    p.has_value = eq != std::string_view::npos;
    if (p.has_value) p.value = std::string(pair.substr(eq + 1));
    if (iequals_prefix(p.name, "x-amz-") || p.name == "Signature" || p.name == "AWSAccessKeyId" ||
        p.name == "Expires") {
      continue;
    }
    req.query.push_back(std::move(p));
  }
  req.headers.push_back({"Host", "examplebucket.s3.amazonaws.com"});
  for (size_t i = 3; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    const std::string_view name = lines[i].substr(0, colon);
    bool token = true;
    for (char c : name) {
      token = token && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '_');
    }
    if (!token || iequals_prefix(name, "x-amz-") || iequals_prefix(name, "authorization") ||
        iequals_prefix(name, "host") || iequals_prefix(name, "date")) {
      continue;
    }
    req.headers.push_back({std::string(name), std::string(lines[i].substr(colon + 1))});
  }
  if (with_payload_header) {
    static const std::string_view kHashes[] = {kUnsignedPayload, kEmptySha256,
                                               "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                                               "STREAMING-UNSIGNED-PAYLOAD-TRAILER"};
    req.payload_hash = std::string(kHashes[text.size() % 4]);
  }
  return req;
}

// The request a server reconstructs from a presigned URL ("<path>?<query>").
SigningRequest from_url(const SigningRequest& signed_req, const std::string& url) {
  SigningRequest r;
  r.method = signed_req.method;
  r.headers = signed_req.headers;
  const size_t q = url.find('?');
  const std::string raw_path = url.substr(0, q);
  const auto path = percent_decode(raw_path, false);
  INGESTOR_FUZZ_CHECK(path.has_value(), url);
  r.path = *path;
  if (q != std::string::npos) r.query = parse_query(std::string_view(url).substr(q + 1));
  return r;
}

void sign_and_verify(std::string_view text, uint8_t flags) {
  auto req = client_request(text, true);
  if (!req) return;
  const Credentials& creds = (flags & 4) ? kTemp : kAws;
  const SigningRequest original = *req;

  // Header auth.
  auto info = sign_request(*req, creds, kNow, SignOptions{});
  INGESTOR_FUZZ_CHECK(info.has_value());
  VerifyOptions vo;
  vo.region = "us-east-1";
  auto v = verify_request(*req, lookup, kNow, vo);
  INGESTOR_FUZZ_CHECK(v.has_value(), v.error().message + "\n" + info->canonical_request);
  INGESTOR_FUZZ_CHECK(v->kind == AuthKind::kHeaderV4);
  INGESTOR_FUZZ_CHECK(v->access_key_id == creds.access_key_id);
  INGESTOR_FUZZ_CHECK(v->seed_signature == info->signature);
  INGESTOR_FUZZ_CHECK(v->payload_mode == parse_payload_hash(original.payload_hash).value());

  // Presigned URL, through its text.
  SigningRequest plain = original;
  plain.payload_hash.clear();
  auto url = presign_url(plain, creds, kNow, std::chrono::seconds(3600), SignOptions{});
  INGESTOR_FUZZ_CHECK(url.has_value());
  const SigningRequest back = from_url(plain, *url);
  auto pv = verify_request(back, lookup, kNow + std::chrono::seconds(60), vo);
  INGESTOR_FUZZ_CHECK(pv.has_value(), pv.error().message + "\n" + *url);
  INGESTOR_FUZZ_CHECK(pv->kind == AuthKind::kQueryV4);
  INGESTOR_FUZZ_CHECK(pv->access_key_id == creds.access_key_id);
}

void presign_v2_and_verify(std::string_view text, uint8_t flags) {
  auto req = client_request(text, false);
  if (!req) return;
  const Credentials& creds = (flags & 4) ? kTemp : kAws;
  const int64_t expires =
      std::chrono::duration_cast<std::chrono::seconds>(kNow.time_since_epoch()).count() + 3600;
  auto url = presign_url_v2(*req, creds, expires);
  INGESTOR_FUZZ_CHECK(url.has_value());
  const SigningRequest back = from_url(*req, *url);
  auto v = verify_request(back, lookup, kNow, VerifyOptions{});
  INGESTOR_FUZZ_CHECK(v.has_value(), v.error().message + "\n" + *url);
  INGESTOR_FUZZ_CHECK(v->kind == AuthKind::kQueryV2);
  INGESTOR_FUZZ_CHECK(v->access_key_id == creds.access_key_id);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t flags = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (flags & 3) {
    case 0:
    case 1:
      verify_raw(text, flags & 1);
      break;
    case 2:
      sign_and_verify(text, flags);
      break;
    default:
      presign_v2_and_verify(text, flags);
      break;
  }
  return 0;
}

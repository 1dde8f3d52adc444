#include "s3/xml.h"

#include <fmt/format.h>

#include <charconv>
#include <pugixml.hpp>

#include "s3/sigv4.h"

namespace ingestor::s3 {

namespace {

constexpr const char* kXmlns = "http://s3.amazonaws.com/doc/2006-03-01/";

// Parses `body`; the root element, or an error naming `what`.
// `alt` is a second accepted root name (moto answers <CompleteMultipartUploadResponse>).
Result<pugi::xml_node> load(pugi::xml_document& doc, std::string_view body, const char* what,
                            const char* alt = nullptr) {
  auto res = doc.load_buffer(body.data(), body.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!res)
    return make_error(Errc::kInvalidArgument,
                      fmt::format("{}: malformed XML ({})", what, res.description()));
  pugi::xml_node root = doc.document_element();
  if (std::string_view(root.name()) != what && !(alt && std::string_view(root.name()) == alt))
    return make_error(Errc::kInvalidArgument,
                      fmt::format("expected <{}>, got <{}>", what, root.name()));
  return root;
}

std::string text(const pugi::xml_node& n, const char* child) {
  return n.child(child).text().as_string();
}

bool as_bool(const pugi::xml_node& n, const char* child) {
  std::string_view v = n.child(child).text().as_string();
  return v == "true" || v == "True" || v == "TRUE";
}

uint64_t as_u64(const pugi::xml_node& n, const char* child) {
  std::string_view v = n.child(child).text().as_string();
  uint64_t out = 0;
  std::from_chars(v.data(), v.data() + v.size(), out);
  return out;
}

std::string url_decoded(std::string s, bool encoded) {
  if (!encoded) return s;
  auto d = percent_decode(s, /*plus_is_space=*/true);
  return d ? *d : s;
}

}  // namespace

std::string_view etag_unquoted(std::string_view etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"')
    return etag.substr(1, etag.size() - 2);
  return etag;
}

std::optional<ErrorDocument> parse_error_xml(std::string_view body) {
  pugi::xml_document doc;
  auto root = load(doc, body, "Error");
  if (!root) return std::nullopt;
  ErrorDocument e;
  e.code = text(*root, "Code");
  e.message = text(*root, "Message");
  e.request_id = text(*root, "RequestId");
  e.host_id = text(*root, "HostId");
  for (const char* k : {"Resource", "Key", "BucketName"}) {
    e.resource = text(*root, k);
    if (!e.resource.empty()) break;
  }
  return e;
}

Result<std::string> parse_initiate_multipart_upload(std::string_view body) {
  pugi::xml_document doc;
  auto root = load(doc, body, "InitiateMultipartUploadResult");
  if (!root) return root.error();
  std::string id = text(*root, "UploadId");
  if (id.empty())
    return make_error(Errc::kInvalidArgument,
                      "InitiateMultipartUploadResult "
                      "without UploadId");
  return id;
}

Result<CompleteMultipartUploadResult> parse_complete_multipart_upload(std::string_view body) {
  pugi::xml_document doc;
  auto root = load(doc, body, "CompleteMultipartUploadResult", "CompleteMultipartUploadResponse");
  if (!root) return root.error();
  CompleteMultipartUploadResult r;
  r.location = text(*root, "Location");
  r.bucket = text(*root, "Bucket");
  r.key = text(*root, "Key");
  r.etag = text(*root, "ETag");
  return r;
}

std::string build_complete_multipart_upload(const std::vector<CompletedPart>& parts) {
  pugi::xml_document doc;
  auto decl = doc.append_child(pugi::node_declaration);
  decl.append_attribute("version") = "1.0";
  decl.append_attribute("encoding") = "UTF-8";
  auto root = doc.append_child("CompleteMultipartUpload");
  root.append_attribute("xmlns") = kXmlns;
  for (const auto& p : parts) {
    auto part = root.append_child("Part");
    part.append_child("PartNumber").text().set(p.part_number);
    std::string etag = "\"" + std::string(etag_unquoted(p.etag)) + "\"";
    part.append_child("ETag").text().set(etag.c_str());
    if (!p.checksum_crc32c.empty())
      part.append_child("ChecksumCRC32C").text().set(p.checksum_crc32c.c_str());
  }
  struct Writer : pugi::xml_writer {
    std::string out;
    void write(const void* data, size_t size) override {
      out.append(static_cast<const char*>(data), size);
    }
  } w;
  doc.save(w, "", pugi::format_raw);
  return std::move(w.out);
}

Result<ListObjectsV2Result> parse_list_objects_v2(std::string_view body) {
  pugi::xml_document doc;
  auto root = load(doc, body, "ListBucketResult");
  if (!root) return root.error();
  const bool encoded = text(*root, "EncodingType") == "url";
  ListObjectsV2Result r;
  r.name = text(*root, "Name");
  r.prefix = url_decoded(text(*root, "Prefix"), encoded);
  r.is_truncated = as_bool(*root, "IsTruncated");
  r.next_continuation_token = text(*root, "NextContinuationToken");
  r.key_count = static_cast<int>(as_u64(*root, "KeyCount"));
  for (auto c : root->children("Contents")) {
    ObjectSummary o;
    o.key = url_decoded(text(c, "Key"), encoded);
    o.last_modified = text(c, "LastModified");
    o.etag = text(c, "ETag");
    o.size = as_u64(c, "Size");
    o.storage_class = text(c, "StorageClass");
    r.objects.push_back(std::move(o));
  }
  for (auto c : root->children("CommonPrefixes"))
    r.common_prefixes.push_back(url_decoded(text(c, "Prefix"), encoded));
  if (r.is_truncated && r.next_continuation_token.empty())
    return make_error(Errc::kInvalidArgument,
                      "ListObjectsV2: IsTruncated without NextContinuationToken");
  return r;
}

Result<ListMultipartUploadsResult> parse_list_multipart_uploads(std::string_view body) {
  pugi::xml_document doc;
  auto root = load(doc, body, "ListMultipartUploadsResult");
  if (!root) return root.error();
  const bool encoded = text(*root, "EncodingType") == "url";
  ListMultipartUploadsResult r;
  r.is_truncated = as_bool(*root, "IsTruncated");
  r.next_key_marker = url_decoded(text(*root, "NextKeyMarker"), encoded);
  r.next_upload_id_marker = text(*root, "NextUploadIdMarker");
  for (auto u : root->children("Upload")) {
    MultipartUploadSummary s;
    s.key = url_decoded(text(u, "Key"), encoded);
    s.upload_id = text(u, "UploadId");
    s.initiated = text(u, "Initiated");
    r.uploads.push_back(std::move(s));
  }
  for (auto c : root->children("CommonPrefixes"))
    r.common_prefixes.push_back(url_decoded(text(c, "Prefix"), encoded));
  return r;
}

}  // namespace ingestor::s3

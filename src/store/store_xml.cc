#include "store/store_xml.h"

#include <cstdio>
#include <ctime>
#include <pugixml.hpp>

#include "store/keys.h"

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

std::string q(const std::string& etag) { return "\"" + etag + "\""; }

void owner_xml(std::string& out, const std::string& owner, const char* tag = "Owner") {
  out += "<";
  out += tag;
  out += ">";
  el(out, "ID", owner);
  el(out, "DisplayName", owner);
  out += "</";
  out += tag;
  out += ">";
}

// Local name of an element (without any namespace prefix).
std::string_view local(const pugi::xml_node& n) {
  std::string_view s = n.name();
  auto c = s.find(':');
  return c == std::string_view::npos ? s : s.substr(c + 1);
}

pugi::xml_node child(const pugi::xml_node& n, std::string_view name) {
  for (auto c : n.children())
    if (c.type() == pugi::node_element && local(c) == name) return c;
  return {};
}

bool parse_doc(pugi::xml_document& doc, std::string_view xml) {
  auto r = doc.load_buffer(xml.data(), xml.size(),
                           pugi::parse_default | pugi::parse_ws_pcdata_single, pugi::encoding_utf8);
  return static_cast<bool>(r) && doc.document_element();
}

}  // namespace

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '\r':
        // A literal CR reaches the reader as LF (XML end-of-line handling): "a\rb" would be
        // listed as "a\nb". S3 writes it as a character reference too.
        out += "&#13;";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n') {
          char buf[8];
          std::snprintf(buf, sizeof buf, "&#x%X;", static_cast<unsigned char>(c));
          out += buf;  // not valid XML 1.0; clients should use encoding-type=url for such keys
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string xml_time(int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

std::string http_time(int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::string error_xml(const ApiError& e, const std::string& resource,
                      const std::string& request_id) {
  std::string out = kDecl;
  out += "<Error>";
  el(out, "Code", e.code);
  el(out, "Message", e.message);
  for (const auto& [k, v] : e.details) el(out, k.c_str(), v);
  if (!resource.empty()) el(out, "Resource", resource);
  el(out, "RequestId", request_id);
  el(out, "HostId", request_id);
  out += "</Error>";
  return out;
}

std::string list_buckets_xml(const std::vector<BucketInfo>& buckets, const std::string& owner) {
  std::string out = kDecl;
  out += "<ListAllMyBucketsResult xmlns=\"";
  out += kNs;
  out += "\">";
  owner_xml(out, owner);
  out += "<Buckets>";
  for (const auto& b : buckets) {
    out += "<Bucket>";
    el(out, "Name", b.name);
    el(out, "CreationDate", xml_time(b.created_ms));
    out += "</Bucket>";
  }
  out += "</Buckets></ListAllMyBucketsResult>";
  return out;
}

std::string list_objects_xml(const ListObjectsParams& p, const ListPage& page,
                             const std::string& owner) {
  auto enc = [&](const std::string& s) { return p.url_encoding ? url_encode_for_listing(s) : s; };
  std::string out = kDecl;
  out += "<ListBucketResult xmlns=\"";
  out += kNs;
  out += "\">";
  el(out, "Name", p.bucket);
  // V1 echoes the prefix as sent (clients decode only its other fields), v2 encodes it.
  el(out, "Prefix", p.version == 1 ? p.prefix : enc(p.prefix));
  if (p.version == 1) {
    el(out, "Marker", enc(p.marker));
    if (page.truncated && !p.delimiter.empty()) el(out, "NextMarker", enc(page.last));
  } else {
    if (p.continuation_token_sent) el(out, "ContinuationToken", p.continuation_token);
    if (!p.start_after.empty()) el(out, "StartAfter", enc(p.start_after));
    el(out, "KeyCount", std::to_string(page.contents.size() + page.common_prefixes.size()));
    if (page.truncated) el(out, "NextContinuationToken", encode_continuation_token(page.last));
  }
  el(out, "MaxKeys", std::to_string(p.max_keys));
  if (!p.delimiter.empty()) el(out, "Delimiter", enc(p.delimiter));
  if (p.url_encoding) el(out, "EncodingType", "url");
  el(out, "IsTruncated", page.truncated ? "true" : "false");
  for (const auto& c : page.contents) {
    out += "<Contents>";
    el(out, "Key", enc(c.key));
    el(out, "LastModified", xml_time(c.mtime_ms));
    el(out, "ETag", q(c.etag));
    el(out, "Size", std::to_string(c.size));
    if (p.version == 1 || p.fetch_owner) owner_xml(out, owner);
    el(out, "StorageClass", "STANDARD");
    out += "</Contents>";
  }
  for (const auto& cp : page.common_prefixes) {
    out += "<CommonPrefixes>";
    el(out, "Prefix", enc(cp));
    out += "</CommonPrefixes>";
  }
  out += "</ListBucketResult>";
  return out;
}

std::string initiate_multipart_xml(const std::string& bucket, const std::string& key,
                                   const std::string& upload_id) {
  std::string out = kDecl;
  out += "<InitiateMultipartUploadResult xmlns=\"";
  out += kNs;
  out += "\">";
  el(out, "Bucket", bucket);
  el(out, "Key", key);
  el(out, "UploadId", upload_id);
  out += "</InitiateMultipartUploadResult>";
  return out;
}

std::string complete_multipart_xml(
    const std::string& location, const std::string& bucket, const std::string& key,
    const std::string& etag, const std::vector<std::pair<std::string, std::string>>& checksums,
    const std::string& checksum_type) {
  std::string out = kDecl;
  out += "<CompleteMultipartUploadResult xmlns=\"";
  out += kNs;
  out += "\">";
  el(out, "Location", location);
  el(out, "Bucket", bucket);
  el(out, "Key", key);
  el(out, "ETag", q(etag));
  for (const auto& [alg, v] : checksums) el(out, ("Checksum" + alg).c_str(), v);
  if (!checksum_type.empty()) el(out, "ChecksumType", checksum_type);
  out += "</CompleteMultipartUploadResult>";
  return out;
}

std::string copy_object_xml(const std::string& etag, int64_t mtime_ms, bool part) {
  const char* root = part ? "CopyPartResult" : "CopyObjectResult";
  std::string out = kDecl;
  out += "<";
  out += root;
  out += " xmlns=\"";
  out += kNs;
  out += "\">";
  el(out, "LastModified", xml_time(mtime_ms));
  el(out, "ETag", q(etag));
  out += "</";
  out += root;
  out += ">";
  return out;
}

std::string list_parts_xml(const ListPartsParams& p, const std::vector<PartInfo>& parts,
                           const std::string& owner) {
  std::string out = kDecl;
  out += "<ListPartsResult xmlns=\"";
  out += kNs;
  out += "\">";
  el(out, "Bucket", p.bucket);
  el(out, "Key", p.key);
  el(out, "UploadId", p.upload_id);
  owner_xml(out, owner, "Initiator");
  owner_xml(out, owner);
  el(out, "StorageClass", "STANDARD");
  el(out, "PartNumberMarker", std::to_string(p.part_number_marker));
  if (p.truncated) el(out, "NextPartNumberMarker", std::to_string(p.next_marker));
  el(out, "MaxParts", std::to_string(p.max_parts));
  el(out, "IsTruncated", p.truncated ? "true" : "false");
  for (const auto& part : parts) {
    out += "<Part>";
    el(out, "PartNumber", std::to_string(part.part_number));
    el(out, "LastModified", xml_time(part.mtime_ms));
    el(out, "ETag", q(part.etag));
    el(out, "Size", std::to_string(part.size));
    for (const auto& [alg, v] : part.checksums) el(out, ("Checksum" + alg).c_str(), v);
    out += "</Part>";
  }
  out += "</ListPartsResult>";
  return out;
}

std::string list_uploads_xml(const ListUploadsParams& p, const std::vector<UploadInfo>& uploads,
                             const std::vector<std::string>& common_prefixes,
                             const std::string& owner) {
  auto enc = [&](const std::string& s) { return p.url_encoding ? url_encode_for_listing(s) : s; };
  std::string out = kDecl;
  out += "<ListMultipartUploadsResult xmlns=\"";
  out += kNs;
  out += "\">";
  el(out, "Bucket", p.bucket);
  el(out, "KeyMarker", enc(p.key_marker));
  el(out, "UploadIdMarker", p.upload_id_marker);
  if (p.truncated) {
    el(out, "NextKeyMarker", enc(p.next_key_marker));
    el(out, "NextUploadIdMarker", p.next_upload_id_marker);
  }
  el(out, "Prefix", enc(p.prefix));
  if (!p.delimiter.empty()) el(out, "Delimiter", enc(p.delimiter));
  if (p.url_encoding) el(out, "EncodingType", "url");
  el(out, "MaxUploads", std::to_string(p.max_uploads));
  el(out, "IsTruncated", p.truncated ? "true" : "false");
  for (const auto& u : uploads) {
    out += "<Upload>";
    el(out, "Key", enc(u.key));
    el(out, "UploadId", u.upload_id);
    owner_xml(out, u.owner.empty() ? owner : u.owner, "Initiator");
    owner_xml(out, u.owner.empty() ? owner : u.owner);
    el(out, "StorageClass", "STANDARD");
    el(out, "Initiated", xml_time(u.initiated_ms));
    out += "</Upload>";
  }
  for (const auto& cp : common_prefixes) {
    out += "<CommonPrefixes>";
    el(out, "Prefix", enc(cp));
    out += "</CommonPrefixes>";
  }
  out += "</ListMultipartUploadsResult>";
  return out;
}

std::string delete_result_xml(const std::vector<DeleteOutcome>& outcomes, bool quiet) {
  std::string out = kDecl;
  out += "<DeleteResult xmlns=\"";
  out += kNs;
  out += "\">";
  for (const auto& o : outcomes) {
    if (o.error) {
      out += "<Error>";
      el(out, "Key", o.key);
      el(out, "Code", o.error->code);
      el(out, "Message", o.error->message);
      out += "</Error>";
    } else if (!quiet) {
      out += "<Deleted>";
      el(out, "Key", o.key);
      out += "</Deleted>";
    }
  }
  out += "</DeleteResult>";
  return out;
}

std::string location_xml(const std::string& region) {
  std::string out = kDecl;
  out += "<LocationConstraint xmlns=\"";
  out += kNs;
  out += "\">";
  if (region != "us-east-1") out += xml_escape(region);
  out += "</LocationConstraint>";
  return out;
}

std::string access_control_policy_xml(const std::string& owner) {
  std::string out = kDecl;
  out += "<AccessControlPolicy xmlns=\"";
  out += kNs;
  out += "\"><Owner>";
  el(out, "ID", owner);
  out +=
      "</Owner><AccessControlList><Grant><Grantee "
      "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"CanonicalUser\">";
  el(out, "ID", owner);
  out +=
      "</Grantee><Permission>FULL_CONTROL</Permission></Grant></AccessControlList>"
      "</AccessControlPolicy>";
  return out;
}

std::string strip_quotes(std::string_view etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"')
    etag = etag.substr(1, etag.size() - 2);
  return std::string(etag);
}

ApiResult<std::vector<CompletePart>> parse_complete_multipart(std::string_view xml) {
  pugi::xml_document doc;
  if (!parse_doc(doc, xml)) return err::malformed_xml();
  auto root = doc.document_element();
  if (local(root) != "CompleteMultipartUpload") return err::malformed_xml();
  std::vector<CompletePart> parts;
  for (auto p : root.children()) {
    if (p.type() != pugi::node_element) continue;
    if (local(p) != "Part") return err::malformed_xml();
    auto pn = child(p, "PartNumber");
    auto et = child(p, "ETag");
    if (!pn || !et) return err::malformed_xml();
    std::string n = pn.text().get();
    if (n.empty() || n.size() > 9 || n.find_first_not_of("0123456789") != std::string::npos)
      return err::malformed_xml();
    parts.push_back({std::stoi(n), strip_quotes(et.text().get())});
  }
  if (parts.empty()) return err::malformed_xml();
  return parts;
}

ApiResult<DeleteRequest> parse_delete(std::string_view xml) {
  pugi::xml_document doc;
  if (!parse_doc(doc, xml)) return err::malformed_xml();
  auto root = doc.document_element();
  if (local(root) != "Delete") return err::malformed_xml();
  DeleteRequest r;
  for (auto c : root.children()) {
    if (c.type() != pugi::node_element) continue;
    if (local(c) == "Quiet") {
      std::string v = c.text().get();
      r.quiet = v == "true" || v == "True" || v == "TRUE";
    } else if (local(c) == "Object") {
      auto k = child(c, "Key");
      if (!k) return err::malformed_xml();
      r.keys.emplace_back(k.text().get());
    } else {
      return err::malformed_xml();
    }
  }
  if (r.keys.empty() || r.keys.size() > 1000) return err::malformed_xml();
  return r;
}

ApiResult<std::string> parse_create_bucket(std::string_view xml) {
  bool blank = xml.find_first_not_of(" \t\r\n") == std::string_view::npos;
  if (blank) return std::string();
  pugi::xml_document doc;
  if (!parse_doc(doc, xml)) return err::malformed_xml();
  auto root = doc.document_element();
  if (local(root) != "CreateBucketConfiguration") return err::malformed_xml();
  auto lc = child(root, "LocationConstraint");
  return std::string(lc ? lc.text().get() : "");
}

}  // namespace ingestor::store

// ObjectStore: multipart uploads (Create, UploadPart, UploadPartCopy, Complete, Abort, ListParts,
// ListMultipartUploads). Validation order of Complete (aws.md 2.6): upload exists (NoSuchUpload)
// -> ascending part numbers (InvalidPartOrder) -> each part exists with its ETag (InvalidPart)
// -> every part but the last >= min_part_size (EntityTooSmall).
// A completed object references its part files (object_parts): Complete copies no bytes, and the
// parts it does not list are unlinked after its commit.
#include <unordered_map>

#include "base/hash.h"
#include "s3/checksum.h"
#include "store/keys.h"
#include "store/object_store.h"

namespace ingestor::store {

namespace {

ApiError db_error(const Error& e) { return err::internal(e.message); }

struct PartRow {
  PartInfo info;
  std::string content_id;
};

ApiResult<std::optional<UploadMeta>> read_upload(SqliteDb& db, const std::string& upload_id) {
  auto st = db.prepare(
      "SELECT upload_id, bucket, key, initiated_ms, content_type, headers, user_meta, "
      "checksum_algorithm, owner, acl, checksum_type FROM uploads WHERE upload_id=?");
  if (!st) return db_error(st.error());
  auto r = (*st)->bind(1, upload_id).step();
  if (!r) return db_error(r.error());
  if (!*r) return std::optional<UploadMeta>();
  UploadMeta u;
  u.upload_id = (*st)->col_text(0);
  u.bucket = (*st)->col_text(1);
  u.key = (*st)->col_text(2);
  u.initiated_ms = (*st)->col_int(3);
  u.proto.bucket = u.bucket;
  u.proto.key = u.key;
  u.proto.content_type = (*st)->col_text(4);
  u.proto.headers = pairs_from_json((*st)->col_text(5));
  u.proto.user_meta = pairs_from_json((*st)->col_text(6));
  u.checksum_algorithm = (*st)->col_text(7);
  u.proto.owner = (*st)->col_text(8);
  u.proto.acl = (*st)->col_text(9);
  u.checksum_type = (*st)->col_text(10);
  return std::optional<UploadMeta>(std::move(u));
}

ApiResult<std::vector<PartRow>> read_parts(SqliteDb& db, const std::string& upload_id,
                                           int after = 0, int limit = 100000) {
  auto st = db.prepare(
      "SELECT part_number, size, etag, mtime_ms, checksums, content_id FROM parts "
      "WHERE upload_id=? AND part_number>? ORDER BY part_number LIMIT ?");
  if (!st) return db_error(st.error());
  (*st)
      ->bind(1, upload_id)
      .bind(2, static_cast<int64_t>(after))
      .bind(3, static_cast<int64_t>(limit));
  std::vector<PartRow> out;
  for (;;) {
    auto r = (*st)->step();
    if (!r) return db_error(r.error());
    if (!*r) break;
    PartRow p;
    p.info.part_number = static_cast<int>((*st)->col_int(0));
    p.info.size = static_cast<uint64_t>((*st)->col_int(1));
    p.info.etag = (*st)->col_text(2);
    p.info.mtime_ms = (*st)->col_int(3);
    p.info.checksums = pairs_from_json((*st)->col_text(4));
    p.content_id = (*st)->col_text(5);
    out.push_back(std::move(p));
  }
  return out;
}

// The object a finished upload made, if it is still the current object of bucket/key.
ApiResult<std::optional<ObjectMeta>> completed_object(SqliteDb& db, const std::string& bucket,
                                                      const std::string& key,
                                                      const std::string& upload_id) {
  if (upload_id.empty()) return std::optional<ObjectMeta>();
  auto st = db.prepare(
      "SELECT size, etag, mtime_ms, checksums, parts_count, owner, checksum_type FROM objects "
      "WHERE bucket=? AND key=? AND upload_id=?");
  if (!st) return db_error(st.error());
  auto r = (*st)->bind(1, bucket).bind(2, key).bind(3, upload_id).step();
  if (!r) return db_error(r.error());
  if (!*r) return std::optional<ObjectMeta>();
  ObjectMeta m;
  m.bucket = bucket;
  m.key = key;
  m.size = static_cast<uint64_t>((*st)->col_int(0));
  m.etag = (*st)->col_text(1);
  m.mtime_ms = (*st)->col_int(2);
  m.checksums = pairs_from_json((*st)->col_text(3));
  m.parts_count = static_cast<int>((*st)->col_int(4));
  m.owner = (*st)->col_text(5);
  m.checksum_type = (*st)->col_text(6);
  m.upload_id = upload_id;
  return std::optional<ObjectMeta>(std::move(m));
}

// A composite checksum ("<base64 of the checksum of the parts' raw checksums>-<N>", what S3
// computes for an upload created with x-amz-checksum-algorithm SHA1, SHA256, CRC32 or CRC32C)
// when every part has one of `algorithm`; nullopt otherwise.
std::optional<std::pair<std::string, std::string>> composite_checksum(
    const std::string& algorithm, const std::vector<const PartInfo*>& parts) {
  auto alg = s3::checksum_from_name(algorithm);
  if (!alg || *alg == s3::ChecksumAlgorithm::kCrc64Nvme || parts.empty()) return std::nullopt;
  std::string raw;
  for (const PartInfo* p : parts) {
    const std::string* v = nullptr;
    for (const auto& [a, b64] : p->checksums)
      if (a == algorithm) v = &b64;
    if (!v) return std::nullopt;
    auto bytes = base64_decode(*v);
    if (!bytes) return std::nullopt;
    raw += *bytes;
  }
  s3::Checksummer sum(*alg);
  sum.update(raw);
  return std::make_pair(algorithm, sum.finish_base64() + "-" + std::to_string(parts.size()));
}

// NoSuchUpload unless the upload exists for this bucket and key.
ApiResult<UploadMeta> check_upload(SqliteDb& db, const std::string& bucket, const std::string& key,
                                   const std::string& upload_id) {
  auto u = read_upload(db, upload_id);
  if (!u) return u.error();
  if (!*u || (*u)->bucket != bucket || (*u)->key != key) return err::no_such_upload(upload_id);
  return std::move(**u);
}

}  // namespace

std::optional<std::string> ObjectStore::multipart_etag(const std::vector<std::string>& etags) {
  std::string concat;
  for (const auto& e : etags) {
    auto raw = from_hex(e);
    if (!raw || raw->size() != 16) return std::nullopt;
    concat += *raw;
  }
  return to_hex(md5(concat)) + "-" + std::to_string(etags.size());
}

ApiResult<std::string> ObjectStore::create_upload(ObjectMeta proto,
                                                  const std::string& checksum_algorithm,
                                                  const std::string& checksum_type) {
  std::string id = new_content_id();
  auto s = db_->write([&](WriteTx& tx) -> ApiStatus {
    auto ex = tx.db.prepare("SELECT 1 FROM buckets WHERE name=?");
    if (!ex) return db_error(ex.error());
    auto r = (*ex)->bind(1, proto.bucket).step();
    if (!r) return db_error(r.error());
    if (!*r) return err::no_such_bucket(proto.bucket);
    auto st = tx.db.prepare(
        "INSERT INTO uploads(upload_id, bucket, key, initiated_ms, content_type, headers, "
        "user_meta, checksum_algorithm, owner, acl, checksum_type) VALUES(?,?,?,?,?,?,?,?,?,?,?)");
    if (!st) return db_error(st.error());
    (*st)->bind(1, id).bind(2, proto.bucket).bind(3, proto.key).bind(4, now_ms());
    (*st)->bind(5, proto.content_type).bind(6, pairs_to_json(proto.headers));
    (*st)->bind(7, pairs_to_json(proto.user_meta)).bind(8, checksum_algorithm);
    (*st)->bind(9, proto.owner).bind(10, proto.acl).bind(11, checksum_type);
    if (auto s = (*st)->run(); !s) return db_error(s.error());
    return {};
  });
  if (!s) return s.error();
  return id;
}

ApiResult<UploadMeta> ObjectStore::get_upload(const std::string& bucket, const std::string& key,
                                              const std::string& upload_id) {
  auto lease = db_->reader();
  if (!lease) return db_error(lease.error());
  return check_upload(lease->db(), bucket, key, upload_id);
}

ApiResult<PartInfo> ObjectStore::put_part(const std::string& bucket, const std::string& key,
                                          const std::string& upload_id, int part_number,
                                          StagedFile file, const std::string& etag,
                                          const HeaderPairs& checksums) {
  if (auto s = file.commit_file(); !s) return s.error();
  PartInfo info{part_number, file.size(), etag, now_ms(), checksums};
  std::string cid = file.id();
  auto s = db_->write([&](WriteTx& tx) -> ApiStatus {
    auto u = check_upload(tx.db, bucket, key, upload_id);
    if (!u) return u.error();
    auto old = tx.db.prepare("SELECT content_id FROM parts WHERE upload_id=? AND part_number=?");
    if (!old) return db_error(old.error());
    auto r = (*old)->bind(1, upload_id).bind(2, static_cast<int64_t>(part_number)).step();
    if (!r) return db_error(r.error());
    if (*r) tx.unlink_after_commit.push_back(content_path(options_.data_dir, (*old)->col_text(0)));
    auto st = tx.db.prepare(
        "INSERT OR REPLACE INTO parts(upload_id, part_number, content_id, size, etag, mtime_ms, "
        "checksums) VALUES(?,?,?,?,?,?,?)");
    if (!st) return db_error(st.error());
    (*st)->bind(1, upload_id).bind(2, static_cast<int64_t>(part_number)).bind(3, cid);
    (*st)->bind(4, static_cast<int64_t>(info.size)).bind(5, etag).bind(6, info.mtime_ms);
    (*st)->bind(7, pairs_to_json(checksums));
    if (auto s = (*st)->run(); !s) return db_error(s.error());
    return {};
  });
  if (!s) return s.error();
  file.release();
  return info;
}

ApiResult<PartInfo> ObjectStore::copy_part(const std::string& bucket, const std::string& key,
                                           const std::string& upload_id, int part_number,
                                           const std::string& src_bucket,
                                           const std::string& src_key,
                                           std::optional<std::pair<uint64_t, uint64_t>> range) {
  if (auto u = get_upload(bucket, key, upload_id); !u) return u.error();
  auto src = open_object(src_bucket, src_key);
  if (!src) return src.error();
  auto& [sm, content] = *src;
  uint64_t first = 0, len = sm.size;
  if (range) {
    if (range->first > range->second || range->second >= sm.size)
      return err::invalid_range(
          sm.size, "bytes=" + std::to_string(range->first) + "-" + std::to_string(range->second));
    first = range->first;
    len = range->second - range->first + 1;
  }
  auto staged = stage();
  if (!staged) return staged.error();
  Md5 md5;
  std::string buf;
  uint64_t off = first, end = first + len;
  while (off < end) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(1 << 20, end - off));
    if (auto s = content.read(off, want, buf); !s) return s.error();
    if (buf.empty()) return err::internal("read error while copying a part");
    md5.update(buf);
    if (auto s = staged->write(buf); !s) return s.error();
    off += buf.size();
  }
  return put_part(bucket, key, upload_id, part_number, std::move(*staged), to_hex(md5.finish()),
                  {});
}

ApiResult<CompleteResult> ObjectStore::complete_upload(
    const std::string& bucket, const std::string& key, const std::string& upload_id,
    const std::vector<CompletePart>& parts, const PutConditions& cond, const EventContext& ev,
    const std::optional<std::pair<std::string, std::string>>& checksum) {
  UploadMeta upload;
  std::vector<PartRow> rows;
  {
    auto lease = db_->reader();
    if (!lease) return db_error(lease.error());
    auto u = check_upload(lease->db(), bucket, key, upload_id);
    if (!u) {
      // Completed already (and not overwritten since): S3 answers a repeated Complete with the
      // object it made.
      auto done = completed_object(lease->db(), bucket, key, upload_id);
      if (!done) return done.error();
      if (*done) return CompleteResult{std::move(**done), true};
      return u.error();
    }
    upload = std::move(*u);
    auto r = read_parts(lease->db(), upload_id);
    if (!r) return r.error();
    rows = std::move(*r);
  }
  for (size_t i = 1; i < parts.size(); ++i)
    if (parts[i].part_number <= parts[i - 1].part_number) return err::invalid_part_order();
  std::vector<const PartRow*> chosen;
  for (const auto& p : parts) {
    const PartRow* found = nullptr;
    for (const auto& r : rows)
      if (r.info.part_number == p.part_number) found = &r;
    if (!found || found->info.etag != p.etag) {
      return ApiError(err::invalid_part(
                          "One or more of the specified parts could not be found.  The part may "
                          "not have been uploaded, or the specified entity tag may not match "
                          "the part's entity tag."))
          .with("UploadId", upload_id)
          .with("PartNumber", std::to_string(p.part_number))
          .with("ETag", p.etag);
    }
    chosen.push_back(found);
  }
  for (size_t i = 0; i + 1 < chosen.size(); ++i) {
    if (chosen[i]->info.size < options_.min_part_size) {
      return err::entity_too_small(chosen[i]->info.size, options_.min_part_size)
          .with("ETag", chosen[i]->info.etag)
          .with("PartNumber", std::to_string(chosen[i]->info.part_number));
    }
  }
  std::vector<std::string> etags;
  uint64_t size = 0;
  for (const PartRow* p : chosen) {
    etags.push_back(p->info.etag);
    size += p->info.size;
  }
  auto etag = multipart_etag(etags);
  if (!etag) return err::internal("a stored part ETag is not an MD5");
  std::vector<const PartInfo*> infos;
  for (const PartRow* p : chosen) infos.push_back(&p->info);
  auto object_checksum = composite_checksum(upload.checksum_algorithm, infos);
  if (checksum) {
    if (!object_checksum || object_checksum->first != checksum->first ||
        object_checksum->second != checksum->second)
      return err::bad_digest("The " + checksum->first +
                             " you specified for the multipart upload did not match what we "
                             "calculated from its parts.");
  }
  // The object's content id names its part list, not a file: every part file was fsynced (with
  // its directory) before its UploadPart was acknowledged, so the commit below is all it takes.
  ObjectMeta meta = upload.proto;
  meta.bucket = bucket;
  meta.key = key;
  meta.content_id = new_content_id();
  meta.size = size;
  meta.etag = *etag;
  meta.mtime_ms = now_ms();
  meta.parts_count = static_cast<int>(chosen.size());
  meta.upload_id = upload_id;
  meta.checksums.clear();
  if (object_checksum) {
    meta.checksums.emplace_back(object_checksum->first, object_checksum->second);
    meta.checksum_type = "COMPOSITE";
  }
  auto s = db_->write([&](WriteTx& tx) -> ApiStatus {
    // The upload must still exist with the same parts (no concurrent Complete/Abort/UploadPart).
    auto u = check_upload(tx.db, bucket, key, upload_id);
    if (!u) return u.error();
    auto now_rows = read_parts(tx.db, upload_id);
    if (!now_rows) return now_rows.error();
    // Up to 10,000 parts on the serial writer thread: look them up by number.
    std::unordered_map<int, const PartRow*> by_number;
    for (const auto& r : *now_rows) by_number.emplace(r.info.part_number, &r);
    for (const PartRow* p : chosen) {
      auto it = by_number.find(p->info.part_number);
      if (it == by_number.end() || it->second->content_id != p->content_id)
        return err::invalid_part("A part changed while the upload was being completed.");
      by_number.erase(it);
    }
    if (auto st = commit_object_row(tx, meta, cond, ev, "CompleteMultipartUpload"); !st) return st;
    auto ins = tx.db.prepare(
        "INSERT INTO object_parts(content_id, part_number, start, size, part_content_id, etag, "
        "checksums) VALUES(?,?,?,?,?,?,?)");
    if (!ins) return db_error(ins.error());
    uint64_t start = 0;
    for (const PartRow* p : chosen) {
      (*ins)->reset().bind(1, meta.content_id).bind(2, static_cast<int64_t>(p->info.part_number));
      (*ins)->bind(3, static_cast<int64_t>(start)).bind(4, static_cast<int64_t>(p->info.size));
      (*ins)->bind(5, p->content_id).bind(6, p->info.etag);
      (*ins)->bind(7, pairs_to_json(p->info.checksums));
      if (auto x = (*ins)->run(); !x) return db_error(x.error());
      start += p->info.size;
    }
    // Uploaded parts the request did not list (left in by_number) are released; the listed ones
    // now belong to the object.
    for (const auto& [number, r] : by_number)
      tx.unlink_after_commit.push_back(content_path(options_.data_dir, r->content_id));
    for (const char* sql :
         {"DELETE FROM parts WHERE upload_id=?", "DELETE FROM uploads WHERE upload_id=?"}) {
      auto d = tx.db.prepare(sql);
      if (!d) return db_error(d.error());
      if (auto x = (*d)->bind(1, upload_id).run(); !x) return db_error(x.error());
    }
    return {};
  });
  if (!s) return s.error();
  return CompleteResult{std::move(meta), false};
}

ApiResult<std::vector<PartInfo>> ObjectStore::object_part_list(const std::string& bucket,
                                                               const std::string& key) {
  auto lease = db_->reader();
  if (!lease) return db_error(lease.error());
  auto st = lease->db().prepare(
      "SELECT p.part_number, p.size, p.etag, o.mtime_ms, p.checksums FROM objects o JOIN "
      "object_parts p ON p.content_id=o.content_id WHERE o.bucket=? AND o.key=? "
      "ORDER BY p.part_number");
  if (!st) return db_error(st.error());
  (*st)->bind(1, bucket).bind(2, key);
  std::vector<PartInfo> out;
  for (;;) {
    auto r = (*st)->step();
    if (!r) return db_error(r.error());
    if (!*r) break;
    out.push_back({static_cast<int>((*st)->col_int(0)), static_cast<uint64_t>((*st)->col_int(1)),
                   (*st)->col_text(2), (*st)->col_int(3), pairs_from_json((*st)->col_text(4))});
  }
  return out;
}

ApiStatus ObjectStore::abort_upload(const std::string& bucket, const std::string& key,
                                    const std::string& upload_id) {
  return db_->write([&](WriteTx& tx) -> ApiStatus {
    auto u = check_upload(tx.db, bucket, key, upload_id);
    if (!u) return u.error();
    auto rows = read_parts(tx.db, upload_id);
    if (!rows) return rows.error();
    for (const auto& r : *rows)
      tx.unlink_after_commit.push_back(content_path(options_.data_dir, r.content_id));
    for (const char* sql :
         {"DELETE FROM parts WHERE upload_id=?", "DELETE FROM uploads WHERE upload_id=?"}) {
      auto d = tx.db.prepare(sql);
      if (!d) return db_error(d.error());
      if (auto x = (*d)->bind(1, upload_id).run(); !x) return db_error(x.error());
    }
    return {};
  });
}

ApiResult<std::pair<std::vector<PartInfo>, bool>> ObjectStore::list_parts(
    const std::string& bucket, const std::string& key, const std::string& upload_id, int marker,
    int max) {
  auto lease = db_->reader();
  if (!lease) return db_error(lease.error());
  auto u = check_upload(lease->db(), bucket, key, upload_id);
  if (!u) return u.error();
  auto rows = read_parts(lease->db(), upload_id, marker, max + 1);
  if (!rows) return rows.error();
  bool truncated = rows->size() > static_cast<size_t>(max);
  std::vector<PartInfo> out;
  for (size_t i = 0; i < rows->size() && i < static_cast<size_t>(max); ++i)
    out.push_back((*rows)[i].info);
  return std::make_pair(std::move(out), truncated);
}

ApiResult<std::pair<std::vector<UploadInfo>, bool>> ObjectStore::list_uploads(
    const std::string& bucket, const std::string& prefix, const std::string& key_marker,
    const std::string& upload_id_marker, int max) {
  auto lease = db_->reader();
  if (!lease) return db_error(lease.error());
  if (auto h = head_bucket(bucket); !h) return h.error();
  auto st = lease->db().prepare(
      "SELECT key, upload_id, initiated_ms, owner FROM uploads WHERE bucket=? AND key>=? AND "
      "(key>? OR (key=? AND upload_id>?)) ORDER BY key, upload_id LIMIT ?");
  if (!st) return db_error(st.error());
  (*st)->bind(1, bucket).bind(2, prefix).bind(3, key_marker).bind(4, key_marker);
  (*st)->bind(5, upload_id_marker).bind(6, static_cast<int64_t>(max) + 1);
  std::vector<UploadInfo> out;
  bool truncated = false;
  for (;;) {
    auto r = (*st)->step();
    if (!r) return db_error(r.error());
    if (!*r) break;
    std::string k = (*st)->col_text(0);
    if (!k.starts_with(prefix)) break;
    if (out.size() == static_cast<size_t>(max)) {
      truncated = true;
      break;
    }
    out.push_back({k, (*st)->col_text(1), (*st)->col_int(2), (*st)->col_text(3)});
  }
  return std::make_pair(std::move(out), truncated);
}

}  // namespace ingestor::store

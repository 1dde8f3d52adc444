#include "store/object_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <unordered_set>

#include "base/hash.h"
#include "base/log.h"
#include "s3/event_notification.h"
#include "store/keys.h"

namespace ingestor::store {

namespace json = boost::json;

std::string pairs_to_json(const HeaderPairs& p) {
  json::array a;
  for (const auto& [k, v] : p) a.push_back(json::array{json::string(k), json::string(v)});
  return json::serialize(a);
}

HeaderPairs pairs_from_json(const std::string& s) {
  HeaderPairs out;
  boost::system::error_code ec;
  json::value v = json::parse(s, ec);
  if (ec || !v.is_array()) return out;
  for (const auto& e : v.as_array()) {
    if (!e.is_array() || e.as_array().size() != 2) continue;
    const auto& a = e.as_array();
    if (!a[0].is_string() || !a[1].is_string()) continue;
    out.emplace_back(std::string(a[0].as_string()), std::string(a[1].as_string()));
  }
  return out;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

constexpr const char* kObjectCols =
    "bucket, key, content_id, size, etag, mtime_ms, content_type, headers, user_meta, checksums, "
    "parts_count, owner, acl, upload_id, checksum_type";
constexpr int kObjectColCount = 15;

ObjectMeta row_to_meta(const Stmt& s) {
  ObjectMeta m;
  m.bucket = s.col_text(0);
  m.key = s.col_text(1);
  m.content_id = s.col_text(2);
  m.size = static_cast<uint64_t>(s.col_int(3));
  m.etag = s.col_text(4);
  m.mtime_ms = s.col_int(5);
  m.content_type = s.col_text(6);
  m.headers = pairs_from_json(s.col_text(7));
  m.user_meta = pairs_from_json(s.col_text(8));
  m.checksums = pairs_from_json(s.col_text(9));
  m.parts_count = static_cast<int>(s.col_int(10));
  m.owner = s.col_text(11);
  m.acl = s.col_text(12);
  m.upload_id = s.col_text(13);
  m.checksum_type = s.col_text(14);
  return m;
}

ApiError db_error(const Error& e) { return err::internal(e.message); }

ApiStatus insert_inline(SqliteDb& db, const std::string& id, std::string_view data) {
  auto st = db.prepare("INSERT INTO inline_content(content_id, data) VALUES(?, ?)");
  if (!st) return db_error(st.error());
  if (auto s = (*st)->bind(1, id).bind_blob(2, data).run(); !s) return db_error(s.error());
  return {};
}

// Reads one object row; nullopt if absent.
ApiResult<std::optional<ObjectMeta>> read_object(SqliteDb& db, const std::string& bucket,
                                                 const std::string& key) {
  auto st =
      db.prepare(std::string("SELECT ") + kObjectCols + " FROM objects WHERE bucket=? AND key=?");
  if (!st) return db_error(st.error());
  (*st)->bind(1, bucket).bind(2, key);
  auto r = (*st)->step();
  if (!r) return db_error(r.error());
  if (!*r) return std::optional<ObjectMeta>();
  return std::optional<ObjectMeta>(row_to_meta(**st));
}

ApiResult<bool> bucket_exists(SqliteDb& db, const std::string& bucket) {
  auto st = db.prepare("SELECT 1 FROM buckets WHERE name=?");
  if (!st) return db_error(st.error());
  (*st)->bind(1, bucket);
  auto r = (*st)->step();
  if (!r) return db_error(r.error());
  return *r;
}

}  // namespace

Result<std::unique_ptr<ObjectStore>> ObjectStore::open(StoreOptions options) {
  const std::string& d = options.data_dir;
  if (d.empty()) return make_error(Errc::kConfig, "--data-dir is required");
  // Inline content is taken from the staging buffer, so it cannot be larger.
  options.inline_max_size = std::min(options.inline_max_size, StagedFile::kBufferSize);
  for (const char* sub : {"", "/tmp", "/objects"})
    if (auto s = make_dirs(d + sub); !s) return s.error();
  char hex[3];
  for (int i = 0; i < 256; ++i) {
    std::snprintf(hex, sizeof hex, "%02x", i);
    if (auto s = make_dirs(d + "/objects/" + hex); !s) return s.error();
  }
  auto db = MetadataDb::open(d + "/meta.db");
  if (!db) return db.error();
  std::unique_ptr<ObjectStore> store(new ObjectStore(std::move(options), std::move(*db)));
  if (auto s = store->sweep(); !s) return s.error();
  // Load the notification rules of every bucket.
  auto lease = store->db_->reader();
  if (!lease) return lease.error();
  auto st = lease->db().prepare("SELECT name, notification_xml FROM buckets");
  if (!st) return st.error();
  for (;;) {
    auto r = (*st)->step();
    if (!r) return r.error();
    if (!*r) break;
    std::string xml = (*st)->col_text(1);
    if (xml.empty()) continue;
    auto rules = parse_notification_config(xml, store->options_.targets);
    if (!rules) {
      log::warn("bucket {}: notification configuration no longer valid ({}); ignored",
                log::escape((*st)->col_text(0)), log::escape(rules.error().message));
      continue;
    }
    store->rules_[(*st)->col_text(0)] = std::move(*rules);
  }
  return store;
}

ObjectStore::ObjectStore(StoreOptions options, std::unique_ptr<MetadataDb> db)
    : options_(std::move(options)), db_(std::move(db)) {}

ObjectStore::~ObjectStore() = default;

Status ObjectStore::sweep() {
  const std::string& d = options_.data_dir;
  // Temp files belong to requests that never finished.
  if (DIR* dir = ::opendir((d + "/tmp").c_str())) {
    while (dirent* e = ::readdir(dir)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") ::unlink((d + "/tmp/" + n).c_str());
    }
    ::closedir(dir);
  }
  // Content files no row references were renamed by a request that crashed before its commit, or
  // released by a commit whose unlinks the crash cut short. A multipart object's content id names
  // no file; its part files are live through object_parts.
  auto lease = db_->reader();
  if (!lease) return lease.error();
  std::unordered_set<std::string> live;
  for (const char* sql : {"SELECT content_id FROM objects", "SELECT content_id FROM parts",
                          "SELECT part_content_id FROM object_parts"}) {
    auto st = lease->db().prepare(sql);
    if (!st) return st.error();
    for (;;) {
      auto r = (*st)->step();
      if (!r) return r.error();
      if (!*r) break;
      live.insert((*st)->col_text(0));
    }
  }
  size_t removed = 0;
  char hex[3];
  for (int i = 0; i < 256; ++i) {
    std::snprintf(hex, sizeof hex, "%02x", i);
    std::string sub = d + "/objects/" + hex;
    DIR* dir = ::opendir(sub.c_str());
    if (!dir) continue;
    while (dirent* e = ::readdir(dir)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      if (!live.contains(n)) {
        ::unlink((sub + "/" + n).c_str());
        ++removed;
      }
    }
    ::closedir(dir);
  }
  if (removed) log::info("store: removed {} unreferenced content files", removed);
  return {};
}

// ---- buckets ------------------------------------------------------------------------------------

ApiStatus ObjectStore::create_bucket(const std::string& bucket, const std::string& owner,
                                     const std::string& acl) {
  if (!is_valid_bucket_name(bucket)) return err::invalid_bucket_name(bucket);
  return db_->write([&](WriteTx& tx) -> ApiStatus {
    auto ex = tx.db.prepare("SELECT owner FROM buckets WHERE name=?");
    if (!ex) return db_error(ex.error());
    auto r = (*ex)->bind(1, bucket).step();
    if (!r) return db_error(r.error());
    if (*r) {
      if ((*ex)->col_text(0) == owner) return err::bucket_already_owned(bucket);
      return err::bucket_already_exists(bucket);
    }
    auto st = tx.db.prepare("INSERT INTO buckets(name, created_ms, owner, acl) VALUES(?, ?, ?, ?)");
    if (!st) return db_error(st.error());
    if (auto s = (*st)->bind(1, bucket).bind(2, now_ms()).bind(3, owner).bind(4, acl).run(); !s)
      return db_error(s.error());
    return {};
  });
}

ApiStatus ObjectStore::delete_bucket(const std::string& bucket) {
  auto s = db_->write([&](WriteTx& tx) -> ApiStatus {
    auto ex = bucket_exists(tx.db, bucket);
    if (!ex) return ex.error();
    if (!*ex) return err::no_such_bucket(bucket);
    auto st = tx.db.prepare("SELECT 1 FROM objects WHERE bucket=? LIMIT 1");
    if (!st) return db_error(st.error());
    auto r = (*st)->bind(1, bucket).step();
    if (!r) return db_error(r.error());
    if (*r) return err::bucket_not_empty(bucket);
    // Abandoned uploads go with the bucket.
    auto parts = tx.db.prepare(
        "SELECT p.content_id FROM parts p JOIN uploads u ON p.upload_id=u.upload_id "
        "WHERE u.bucket=?");
    if (!parts) return db_error(parts.error());
    (*parts)->bind(1, bucket);
    for (;;) {
      auto pr = (*parts)->step();
      if (!pr) return db_error(pr.error());
      if (!*pr) break;
      tx.unlink_after_commit.push_back(content_path(options_.data_dir, (*parts)->col_text(0)));
    }
    for (const char* sql :
         {"DELETE FROM parts WHERE upload_id IN (SELECT upload_id FROM uploads WHERE bucket=?)",
          "DELETE FROM uploads WHERE bucket=?", "DELETE FROM buckets WHERE name=?"}) {
      auto d = tx.db.prepare(sql);
      if (!d) return db_error(d.error());
      if (auto s = (*d)->bind(1, bucket).run(); !s) return db_error(s.error());
    }
    return {};
  });
  if (s) {
    std::lock_guard lock(rules_mu_);
    rules_.erase(bucket);
  }
  return s;
}

ApiStatus ObjectStore::head_bucket(const std::string& bucket) {
  auto lease = db_->reader();
  if (!lease) return db_error(lease.error());
  auto ex = bucket_exists(lease->db(), bucket);
  if (!ex) return ex.error();
  if (!*ex) return err::no_such_bucket(bucket);
  return {};
}

Result<uint64_t> ObjectStore::free_space() const {
  struct statvfs st {};
  if (::statvfs(options_.data_dir.c_str(), &st) != 0)
    return errno_error("statvfs " + options_.data_dir, errno);
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

ApiResult<std::vector<BucketInfo>> ObjectStore::list_buckets(const std::string& owner) {
  auto lease = db_->reader();
  if (!lease) return db_error(lease.error());
  auto st = lease->db().prepare("SELECT name, created_ms FROM buckets WHERE owner=? ORDER BY name");
  if (!st) return db_error(st.error());
  (*st)->bind(1, owner);
  std::vector<BucketInfo> out;
  for (;;) {
    auto r = (*st)->step();
    if (!r) return db_error(r.error());
    if (!*r) break;
    out.push_back({(*st)->col_text(0), (*st)->col_int(1)});
  }
  return out;
}

ApiStatus ObjectStore::put_notification(const std::string& bucket, std::string_view xml) {
  auto rules = parse_notification_config(xml, options_.targets);
  if (!rules) return rules.error();
  std::string canonical = rules->empty() ? "" : render_notification_config(*rules);
  auto s = db_->write([&](WriteTx& tx) -> ApiStatus {
    auto st = tx.db.prepare("UPDATE buckets SET notification_xml=? WHERE name=?");
    if (!st) return db_error(st.error());
    if (auto s = (*st)->bind(1, canonical).bind(2, bucket).run(); !s) return db_error(s.error());
    if (tx.db.changes() == 0) return err::no_such_bucket(bucket);
    return {};
  });
  if (!s) return s;
  std::lock_guard lock(rules_mu_);
  rules_[bucket] = std::move(*rules);
  return {};
}

ApiResult<std::string> ObjectStore::get_notification(const std::string& bucket) {
  auto lease = db_->reader();
  if (!lease) return db_error(lease.error());
  auto st = lease->db().prepare("SELECT notification_xml FROM buckets WHERE name=?");
  if (!st) return db_error(st.error());
  auto r = (*st)->bind(1, bucket).step();
  if (!r) return db_error(r.error());
  if (!*r) return err::no_such_bucket(bucket);
  std::string xml = (*st)->col_text(0);
  if (xml.empty()) xml = render_notification_config({});
  return xml;
}

std::vector<NotificationRule> ObjectStore::rules_of(const std::string& bucket) {
  std::lock_guard lock(rules_mu_);
  auto it = rules_.find(bucket);
  return it == rules_.end() ? std::vector<NotificationRule>{} : it->second;
}

// ---- objects ------------------------------------------------------------------------------------

std::string ObjectStore::next_sequencer() {
  uint64_t now = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count());
  uint64_t prev = last_seq_.load();
  uint64_t next;
  do {
    next = std::max(now, prev + 1);
  } while (!last_seq_.compare_exchange_weak(prev, next));
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llX", static_cast<unsigned long long>(next));
  return buf;
}

ApiStatus ObjectStore::enqueue_events(WriteTx& tx, const ObjectMeta& meta, const EventContext& ev,
                                      const std::string& event_name) {
  std::vector<std::pair<std::string, std::string>> deliveries;  // url, configuration id
  if (!options_.notify_webhook.empty())
    deliveries.emplace_back(options_.notify_webhook, "ingestor-webhook");
  for (const auto& rule : rules_of(meta.bucket)) {
    if (!rule_matches(rule,
                      event_name == "Put" ? "ObjectCreated:Put" : "ObjectCreated:" + event_name,
                      meta.key))
      continue;
    auto target = target_of_arn(rule.arn);
    if (!target) continue;
    auto it = options_.targets.find(*target);
    if (it == options_.targets.end()) continue;
    deliveries.emplace_back(it->second, rule.id);
  }
  if (deliveries.empty()) return {};
  s3::S3EventRecord rec;
  rec.aws_region = options_.region;
  rec.event_time = s3::format_event_time(
      std::chrono::system_clock::time_point(std::chrono::milliseconds(meta.mtime_ms)));
  rec.event_name = "ObjectCreated:" + event_name;
  rec.principal_id = ev.principal;
  rec.source_ip = ev.source_ip;
  rec.request_id = ev.request_id;
  rec.host_id = ev.request_id;
  rec.bucket = meta.bucket;
  rec.key = meta.key;
  rec.size = meta.size;
  rec.etag = meta.etag;
  rec.sequencer = next_sequencer();
  auto st = tx.db.prepare(
      "INSERT INTO outbox(url, body, next_attempt_ms, created_ms) VALUES(?, ?, ?, ?)");
  if (!st) return db_error(st.error());
  int64_t now = now_ms();
  for (const auto& [url, config_id] : deliveries) {
    rec.configuration_id = config_id;
    (*st)->reset().bind(1, url).bind(2, s3::event_envelope_json(rec)).bind(3, now).bind(4, now);
    if (auto s = (*st)->run(); !s) return db_error(s.error());
  }
  tx.outbox_changed = true;
  return {};
}

ApiStatus ObjectStore::commit_object_row(WriteTx& tx, const ObjectMeta& meta,
                                         const PutConditions& cond, const EventContext& ev,
                                         const std::string& event_name) {
  auto ex = bucket_exists(tx.db, meta.bucket);
  if (!ex) return ex.error();
  if (!*ex) return err::no_such_bucket(meta.bucket);
  auto old = read_object(tx.db, meta.bucket, meta.key);
  if (!old) return old.error();
  if (cond.if_none_match_star && *old) return err::precondition_failed("If-None-Match");
  if (cond.if_match) {
    if (!*old) return err::no_such_key(meta.key);
    if (*cond.if_match != "*" && strip_quotes(*cond.if_match) != (*old)->etag)
      return err::precondition_failed("If-Match");
  }
  auto st = tx.db.prepare(std::string("INSERT OR REPLACE INTO objects(") + kObjectCols +
                          ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  if (!st) return db_error(st.error());
  (*st)
      ->bind(1, meta.bucket)
      .bind(2, meta.key)
      .bind(3, meta.content_id)
      .bind(4, static_cast<int64_t>(meta.size))
      .bind(5, meta.etag)
      .bind(6, meta.mtime_ms)
      .bind(7, meta.content_type)
      .bind(8, pairs_to_json(meta.headers))
      .bind(9, pairs_to_json(meta.user_meta))
      .bind(10, pairs_to_json(meta.checksums))
      .bind(11, static_cast<int64_t>(meta.parts_count))
      .bind(12, meta.owner)
      .bind(13, meta.acl)
      .bind(14, meta.upload_id)
      .bind(15, meta.checksum_type);
  if (auto s = (*st)->run(); !s) return db_error(s.error());
  if (*old && (*old)->content_id != meta.content_id) {
    if (auto r = release_content(tx, (*old)->content_id); !r) return r;
  }
  return enqueue_events(tx, meta, ev, event_name);
}

ApiResult<ObjectMeta> ObjectStore::put_object(StagedFile file, ObjectMeta meta,
                                              const PutConditions& cond, const EventContext& ev,
                                              const std::string& event_name) {
  // A small body still wholly in the staging buffer is committed inline with its row, by the
  // batch's WAL fsync; it never gets a file (its temp file was never created).
  std::optional<std::string_view> small;
  if (file.size() <= options_.inline_max_size) small = file.buffered_contents();
  if (!small) {
    if (auto s = file.commit_file(); !s) return s.error();
  }
  meta.content_id = file.id();
  meta.mtime_ms = now_ms();
  auto s = db_->write([&](WriteTx& tx) -> ApiStatus {
    if (small) {
      if (auto st = insert_inline(tx.db, meta.content_id, *small); !st) return st;
    }
    return commit_object_row(tx, meta, cond, ev, event_name);
  });
  if (!s) return s.error();  // the op rolled back; ~StagedFile removes the renamed file, if any
  if (!small) file.release();
  return meta;
}

ApiResult<ObjectMeta> ObjectStore::head_object(const std::string& bucket, const std::string& key) {
  auto lease = db_->reader();
  if (!lease) return db_error(lease.error());
  auto m = read_object(lease->db(), bucket, key);
  if (!m) return m.error();
  if (!*m) {
    auto ex = bucket_exists(lease->db(), bucket);
    if (ex && !*ex) return err::no_such_bucket(bucket);
    return err::no_such_key(key);
  }
  return std::move(**m);
}

ApiResult<std::pair<ObjectMeta, Content>> ObjectStore::open_object(const std::string& bucket,
                                                                   const std::string& key) {
  // The row, its inline bytes and its part list come from one read transaction. A file is
  // released (unlinked) after the commit that replaced its row: read again if it vanished in
  // between.
  for (int attempt = 0; attempt < 3; ++attempt) {
    ObjectMeta m;
    Content content;
    {
      auto lease = db_->reader();
      if (!lease) return db_error(lease.error());
      auto st = lease->db().prepare(
          std::string("SELECT ") + kObjectCols +
          ", (SELECT data FROM inline_content WHERE content_id=objects.content_id) "
          "FROM objects WHERE bucket=? AND key=?");
      if (!st) return db_error(st.error());
      auto r = (*st)->bind(1, bucket).bind(2, key).step();
      if (!r) return db_error(r.error());
      if (!*r) {
        lease.value().db().reset_all();
        auto h = head_object(bucket, key);  // NoSuchBucket or NoSuchKey
        if (!h) return h.error();
        continue;  // created meanwhile
      }
      m = row_to_meta(**st);
      if (!(*st)->col_null(kObjectColCount)) content.data = (*st)->col_blob(kObjectColCount);
      if (m.parts_count > 0 && !content.data) {
        auto parts = read_content_parts(lease->db(), m.content_id);
        if (!parts) return parts.error();
        content.parts = std::move(*parts);
      }
    }
    if (!content.parts.empty()) {
      // Part files are opened only as reads reach them, so a pin rather than a descriptor keeps
      // each one: a file that exists once pinned stays until the pin goes (FilePins).
      std::vector<std::string> paths;
      paths.reserve(content.parts.size());
      for (const auto& p : content.parts) paths.push_back(p.path);
      content.pin = db_->pins().pin(std::move(paths));
      bool all = true;
      for (const auto& p : content.parts) all = all && ::access(p.path.c_str(), F_OK) == 0;
      if (all) return std::make_pair(std::move(m), std::move(content));
      continue;  // released meanwhile
    }
    if (content.data) return std::make_pair(std::move(m), std::move(content));
    auto f = File::open(content_path(options_.data_dir, m.content_id), O_RDONLY);
    if (f) {
      content.file = std::move(*f);
      return std::make_pair(std::move(m), std::move(content));
    }
  }
  return err::internal("object content is missing");
}

ApiResult<std::vector<ContentPart>> ObjectStore::read_content_parts(SqliteDb& db,
                                                                    const std::string& id) {
  auto st = db.prepare(
      "SELECT part_number, start, size, part_content_id FROM object_parts WHERE content_id=? "
      "ORDER BY part_number");
  if (!st) return db_error(st.error());
  (*st)->bind(1, id);
  std::vector<ContentPart> out;
  for (;;) {
    auto r = (*st)->step();
    if (!r) return db_error(r.error());
    if (!*r) break;
    out.push_back({static_cast<int>((*st)->col_int(0)), static_cast<uint64_t>((*st)->col_int(1)),
                   static_cast<uint64_t>((*st)->col_int(2)),
                   content_path(options_.data_dir, (*st)->col_text(3))});
  }
  return out;
}

ApiStatus Content::read(uint64_t offset, size_t len, std::string& out) const {
  out.clear();
  if (data) {
    if (offset < data->size()) out.assign(*data, static_cast<size_t>(offset), len);
    return {};
  }
  out.resize(len);
  size_t got = 0;
  while (got < len) {
    auto n = read_some(offset + got, out.data() + got, len - got);
    if (!n) return n.error();
    if (*n == 0) break;
    got += *n;
  }
  out.resize(got);
  return {};
}

ApiResult<size_t> Content::read_some(uint64_t offset, char* buf, size_t len) const {
  if (data) {
    if (offset >= data->size()) return size_t{0};
    size_t n = std::min(len, data->size() - static_cast<size_t>(offset));
    std::memcpy(buf, data->data() + offset, n);
    return n;
  }
  auto e = extent_at(offset);
  if (!e) return e.error();
  if (e->len == 0) return size_t{0};
  len = static_cast<size_t>(std::min<uint64_t>(len, e->len));
  for (;;) {
    ssize_t n = ::pread(e->fd, buf, len, static_cast<off_t>(e->at));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return err::internal(std::string("read error: ") + std::strerror(errno));
    if (n == 0 && !parts.empty() && len > 0)
      return err::internal("a part file is shorter than its recorded size");
    return static_cast<size_t>(n);
  }
}

ApiResult<Content::Extent> Content::extent_at(uint64_t offset) const {
  if (parts.empty()) return Extent{file.fd(), offset, UINT64_MAX};
  // The last part starting at or before `offset` (parts are sorted by start).
  auto it = std::upper_bound(parts.begin(), parts.end(), offset,
                             [](uint64_t o, const ContentPart& p) { return o < p.start; });
  if (it == parts.begin()) return Extent{};
  --it;
  while (it != parts.end() && offset >= it->start + it->size) ++it;  // skips empty parts
  if (it == parts.end()) return Extent{};
  size_t i = static_cast<size_t>(it - parts.begin());
  if (i != part_index_) {
    part_index_ = SIZE_MAX;
    auto f = File::open(it->path, O_RDONLY);
    if (!f) return err::internal("part file is missing: " + f.error().message);
    part_file_ = std::move(*f);
    part_index_ = i;
  }
  const uint64_t at = offset - it->start;
  return Extent{part_file_.fd(), at, it->size - at};
}

ApiStatus ObjectStore::release_content(WriteTx& tx, const std::string& id) {
  auto st = tx.db.prepare("DELETE FROM inline_content WHERE content_id=?");
  if (!st) return db_error(st.error());
  if (auto s = (*st)->bind(1, id).run(); !s) return db_error(s.error());
  if (tx.db.changes() > 0) return {};
  auto parts = tx.db.prepare("SELECT part_content_id FROM object_parts WHERE content_id=?");
  if (!parts) return db_error(parts.error());
  (*parts)->bind(1, id);
  bool by_parts = false;
  for (;;) {
    auto r = (*parts)->step();
    if (!r) return db_error(r.error());
    if (!*r) break;
    tx.unlink_after_commit.push_back(content_path(options_.data_dir, (*parts)->col_text(0)));
    by_parts = true;
  }
  if (!by_parts) {
    tx.unlink_after_commit.push_back(content_path(options_.data_dir, id));
    return {};
  }
  auto del = tx.db.prepare("DELETE FROM object_parts WHERE content_id=?");
  if (!del) return db_error(del.error());
  if (auto s = (*del)->bind(1, id).run(); !s) return db_error(s.error());
  return {};
}

ApiStatus ObjectStore::delete_object(const std::string& bucket, const std::string& key) {
  return db_->write([&](WriteTx& tx) -> ApiStatus {
    auto ex = bucket_exists(tx.db, bucket);
    if (!ex) return ex.error();
    if (!*ex) return err::no_such_bucket(bucket);
    auto old = read_object(tx.db, bucket, key);
    if (!old) return old.error();
    if (!*old) return {};
    auto st = tx.db.prepare("DELETE FROM objects WHERE bucket=? AND key=?");
    if (!st) return db_error(st.error());
    if (auto s = (*st)->bind(1, bucket).bind(2, key).run(); !s) return db_error(s.error());
    return release_content(tx, (*old)->content_id);
  });
}

ApiResult<std::vector<DeleteOutcome>> ObjectStore::delete_objects(
    const std::string& bucket, const std::vector<std::string>& keys) {
  std::vector<DeleteOutcome> out;
  auto s = db_->write([&](WriteTx& tx) -> ApiStatus {
    out.clear();
    auto ex = bucket_exists(tx.db, bucket);
    if (!ex) return ex.error();
    if (!*ex) return err::no_such_bucket(bucket);
    for (const auto& key : keys) {
      if (auto v = validate_key(key); !v) {
        out.push_back({key, v.error()});
        continue;
      }
      auto old = read_object(tx.db, bucket, key);
      if (!old) return old.error();
      out.push_back({key, std::nullopt});
      if (!*old) continue;
      auto st = tx.db.prepare("DELETE FROM objects WHERE bucket=? AND key=?");
      if (!st) return db_error(st.error());
      if (auto r = (*st)->bind(1, bucket).bind(2, key).run(); !r) return db_error(r.error());
      if (auto r = release_content(tx, (*old)->content_id); !r) return r;
    }
    return {};
  });
  if (!s) return s.error();
  return out;
}

ApiResult<ObjectMeta> ObjectStore::copy_object(const std::string& src_bucket,
                                               const std::string& src_key, ObjectMeta dst,
                                               bool replace_meta, const PutConditions& cond,
                                               const EventContext& ev) {
  auto src = open_object(src_bucket, src_key);
  if (!src) return src.error();
  auto& [sm, content] = *src;
  auto staged = stage();
  if (!staged) return staged.error();
  // S3 (and moto) give the copy of a multipart object a single-part MD5 ETag: its bytes go
  // through the staging buffer (a small copy is then stored inline) while the MD5 is computed, in
  // one pass over the parts. A single-part source keeps its ETag and checksums.
  if (sm.parts_count > 0) {
    Md5 md5;
    std::string buf;
    uint64_t off = 0;
    while (off < sm.size) {
      if (auto s = content.read(off, StagedFile::kBufferSize, buf); !s) return s.error();
      if (buf.empty()) return err::internal("read error while copying");
      md5.update(buf);
      if (auto s = staged->write(buf); !s) return s.error();
      off += buf.size();
    }
    dst.etag = to_hex(md5.finish());
    dst.checksums.clear();
  } else {
    if (content.data || sm.size <= options_.inline_max_size) {
      // Through the staging buffer, so that a small copy is stored inline too.
      std::string bytes;
      if (auto s = content.read(0, sm.size, bytes); !s) return s.error();
      if (bytes.size() != sm.size) return err::internal("read error while copying");
      if (auto s = staged->write(bytes); !s) return s.error();
    } else if (auto s = staged->append_from(content.file.fd(), 0, sm.size); !s) {
      return s.error();
    }
    dst.etag = sm.etag;
    dst.checksums = sm.checksums;
  }
  if (!replace_meta) {
    dst.content_type = sm.content_type;
    dst.headers = sm.headers;
    dst.user_meta = sm.user_meta;
  }
  dst.size = sm.size;
  dst.parts_count = 0;
  return put_object(std::move(*staged), std::move(dst), cond, ev, "Copy");
}

ApiResult<ListPage> ObjectStore::list_objects(const std::string& bucket, const ListQuery& q) {
  auto lease = db_->reader();
  if (!lease) return db_error(lease.error());
  auto ex = bucket_exists(lease->db(), bucket);
  if (!ex) return ex.error();
  if (!*ex) return err::no_such_bucket(bucket);
  auto st = lease->db().prepare(
      "SELECT key, size, etag, mtime_ms FROM objects WHERE bucket=? AND key>? AND key>=? "
      "ORDER BY key LIMIT ?");
  if (!st) return db_error(st.error());
  std::optional<Error> failure;
  auto fetch = [&](const std::string& after, const std::string& from, size_t limit) {
    std::vector<ListEntry> out;
    (*st)->reset().bind(1, bucket).bind(2, after).bind(3, from).bind(4,
                                                                     static_cast<int64_t>(limit));
    for (;;) {
      auto r = (*st)->step();
      if (!r) {
        failure = r.error();
        break;
      }
      if (!*r) break;
      out.push_back({(*st)->col_text(0), static_cast<uint64_t>((*st)->col_int(1)),
                     (*st)->col_text(2), (*st)->col_int(3)});
    }
    return out;
  };
  ListPage page = list_page(q, fetch);
  if (failure) return db_error(*failure);
  return page;
}

}  // namespace ingestor::store

#pragma once
// ObjectStore: buckets, objects, multipart uploads and notification configuration of
// `ingestor store`, on local disk (docs/formats/store.md), independent of HTTP.
//
// Durability: a body up to inline_max_size (PutObject, CopyObject) is stored in the database
// (inline_content) in the same group-commit transaction as its object row, so the batch's one WAL
// fsync makes both durable. A larger body and every part is staged in a temp file, fsynced and
// renamed to a content-id path (keys never touch the file system); the metadata row that makes it
// visible is committed by MetadataDb's group commit after the content directory was fsynced. A
// multipart object is its part files, by reference: CompleteMultipartUpload moves the parts from
// the upload to the object (object_parts) in the transaction that commits the object row, and
// copies no bytes. A crash before the commit leaves an unreferenced file, removed by the sweep at
// open(). Released content goes with the releasing transaction: its inline row is deleted in it,
// its file (or part files) unlinked after it commits. Notifications to emit are written to the
// outbox table in the same transaction as the object row, so every committed object has its
// events (at-least-once delivery by Notifier).
// Thread-safety: every method may be called concurrently; the methods block (disk and SQLite)
// and are meant to run on a blocking pool, not an io thread.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/acl.h"
#include "store/file_pins.h"
#include "store/listing.h"
#include "store/metadata_db.h"
#include "store/notification_config.h"
#include "store/staged_file.h"
#include "store/store_error.h"
#include "store/store_xml.h"

namespace ingestor::store {

inline constexpr uint64_t kMaxPutSize = 5ull << 30;  // 5 GiB per PUT / part
inline constexpr int kMaxPartNumber = 10000;

struct StoreOptions {
  std::string data_dir;
  std::string region = "us-east-1";
  std::string owner = kMainAccount;            // the main account's name (acl.h)
  std::string notify_webhook;                  // every bucket, every ObjectCreated (may be empty)
  std::map<std::string, std::string> targets;  // --notify-target NAME=URL
  uint64_t min_part_size = 5ull << 20;         // all parts but the last
  // PutObject and CopyObject bodies up to this size are stored in the database (inline_content)
  // instead of a file of their own: the metadata group commit (one WAL fsync per batch) makes
  // them durable, rather than an fsync of their file and of its directory each, which is what
  // bounds small-object throughput. Clamped to StagedFile::kBufferSize by open().
  uint64_t inline_max_size = 64 << 10;
  // Requests that bring new data (PutObject, UploadPart, CopyObject) are refused with 507
  // InsufficientStorage, before their body is read, when the data dir's file system would keep
  // less than this free after them: a disk filled to its last page refuses deletes too (SQLite
  // needs room in its WAL to commit one), so the floor keeps room to free space. 0: no floor.
  uint64_t min_free_space = 64ull << 20;
  // The setting the 507's message names as the floor's: `ingestor store`'s flag by default,
  // `store.minFreeSpace` under `ingestor up`.
  std::string min_free_space_setting = "--min-free-space";
};

// One part of a multipart object stored by reference: the whole file at `path` is the object's
// bytes [start, start + size).
struct ContentPart {
  int part_number = 0;  // as uploaded (ascending, maybe with gaps)
  uint64_t start = 0, size = 0;
  std::string path;
};

// An object's bytes, in one of three forms: the bytes themselves for an inline object (at most
// inline_max_size of them, so holding them in memory is bounded); an open read-only file; or the
// ordered part files of a multipart object, opened one at a time as reads reach them and pinned
// (FilePins) so that a concurrent delete or overwrite unlinks them only once this Content is gone.
// Memory: the part list, at most kMaxPartNumber entries. Used by one thread at a time.
struct Content {
  File file;                        // the single content file, if that is the form
  std::optional<std::string> data;  // set for an inline object
  std::vector<ContentPart> parts;   // set for a multipart object stored by reference
  FilePins::Lease pin;              // pins the files of `parts`
  // Replaces `out` with bytes [offset, offset + len) (fewer at the end of the content).
  [[nodiscard]] ApiStatus read(uint64_t offset, size_t len, std::string& out) const;
  // Copies up to `len` bytes at `offset` into `buf`, fewer at the end of a part; 0 at the end of
  // the content.
  [[nodiscard]] ApiResult<size_t> read_some(uint64_t offset, char* buf, size_t len) const;

  // Where a file holds the content's bytes from some offset on: `fd` holds them from `at`, for
  // `len` bytes (UINT64_MAX for the single content file, which ends where the file does).
  struct Extent {
    int fd = -1;
    uint64_t at = 0;
    uint64_t len = 0;
  };
  // The extent of the byte at `offset`, for a form other than inline: in the single content file,
  // or in the part file that holds it (opened as read_some opens it: the descriptor stays valid
  // until the next call reaches another part, or this Content goes). `len` is 0 past the end of a
  // multipart object.
  [[nodiscard]] ApiResult<Extent> extent_at(uint64_t offset) const;

 private:
  mutable File part_file_;                // the part read last
  mutable size_t part_index_ = SIZE_MAX;  // its index in `parts`
};

using HeaderPairs = std::vector<std::pair<std::string, std::string>>;

struct ObjectMeta {
  std::string bucket, key;
  std::string content_id;
  uint64_t size = 0;
  std::string etag;  // without quotes
  int64_t mtime_ms = 0;
  std::string content_type = "binary/octet-stream";
  HeaderPairs headers;    // stored Cache-Control, Content-Disposition, Content-Encoding, ...
  HeaderPairs user_meta;  // {"x-amz-meta-name" (lower case), value}
  HeaderPairs checksums;  // {"CRC32", base64}
  // > 0 for objects made by CompleteMultipartUpload (whose content is then their part files, or
  // one file for those completed before schema version 3).
  int parts_count = 0;
  std::string owner = kMainAccount;  // the user who wrote it (acl.h)
  std::string acl;                   // stored form of its ACL ("" = the owner's FULL_CONTROL)
  std::string upload_id;             // the multipart upload it was completed from
  // "COMPOSITE" or "FULL_OBJECT" for a multipart object whose `checksums` hold the object's
  // checksum ("" otherwise; a single PUT's checksum is FULL_OBJECT).
  std::string checksum_type;
};

struct PutConditions {
  bool if_none_match_star = false;      // 412 if the key exists
  std::optional<std::string> if_match;  // 412 if the ETag differs, NoSuchKey if absent
};

// Who caused an event (copied into the notification record).
struct EventContext {
  std::string request_id;
  std::string source_ip = "127.0.0.1";
  std::string principal = "ingestor";
};

struct UploadMeta {
  std::string upload_id, bucket, key;
  int64_t initiated_ms = 0;
  ObjectMeta proto;  // content type, headers, user metadata, owner and ACL of the final object
  std::string checksum_algorithm;
  std::string checksum_type;  // "COMPOSITE" / "FULL_OBJECT" / "" (none asked for)
};

// A bucket's owner, stored ACL and CORS configuration (canonical XML, "" for none).
struct BucketAccess {
  std::string owner;
  std::string acl;
  std::string cors_xml;
};

// CompleteMultipartUpload's outcome: the object, and whether it was completed by an earlier
// request (a repeated Complete of an upload that is gone answers with that object, as S3 does).
struct CompleteResult {
  ObjectMeta meta;
  bool repeated = false;
};

class ObjectStore {
 public:
  // Creates the directories and the database, sweeps temp files and unreferenced content.
  [[nodiscard]] static Result<std::unique_ptr<ObjectStore>> open(StoreOptions options);
  ~ObjectStore();

  const StoreOptions& options() const { return options_; }
  // Free bytes of the data dir's file system (statvfs), or an error.
  [[nodiscard]] Result<uint64_t> free_space() const;
  MetadataDb& db() { return *db_; }

  // ---- buckets ----
  // BucketAlreadyOwnedByYou when `owner` has it, BucketAlreadyExists when another user does.
  [[nodiscard]] ApiStatus create_bucket(const std::string& bucket,
                                        const std::string& owner = kMainAccount,
                                        const std::string& acl = "");
  [[nodiscard]] ApiStatus delete_bucket(const std::string& bucket);  // BucketNotEmpty
  [[nodiscard]] ApiStatus head_bucket(const std::string& bucket);    // NoSuchBucket
  // The buckets `owner` owns, by name.
  [[nodiscard]] ApiResult<std::vector<BucketInfo>> list_buckets(
      const std::string& owner = kMainAccount);
  // ---- access control and CORS (object_store_acl.cc) ----
  [[nodiscard]] ApiResult<BucketAccess> bucket_access(const std::string& bucket);  // NoSuchBucket
  [[nodiscard]] ApiStatus put_bucket_acl(const std::string& bucket, const std::string& acl);
  // `xml`: canonical CORS configuration, "" to delete it.
  [[nodiscard]] ApiStatus put_bucket_cors(const std::string& bucket, const std::string& xml);
  // Replaces an object's ACL; its data, ETag and Last-Modified stay (NoSuchKey if absent).
  [[nodiscard]] ApiStatus put_object_acl(const std::string& bucket, const std::string& key,
                                         const std::string& acl);
  [[nodiscard]] ApiStatus put_notification(const std::string& bucket, std::string_view xml);
  [[nodiscard]] ApiResult<std::string> get_notification(const std::string& bucket);

  // ---- objects ----
  [[nodiscard]] ApiResult<StagedFile> stage() { return StagedFile::create(options_.data_dir); }
  // Makes `file` the content of meta.bucket/meta.key (size, etag, checksums in `meta`, set by the
  // caller from the verified body) and emits ObjectCreated:<event_name> ("Put", "Copy").
  [[nodiscard]] ApiResult<ObjectMeta> put_object(StagedFile file, ObjectMeta meta,
                                                 const PutConditions& cond, const EventContext& ev,
                                                 const std::string& event_name = "Put");
  [[nodiscard]] ApiResult<ObjectMeta> head_object(const std::string& bucket,
                                                  const std::string& key);
  // Metadata and the content (consistent with each other; the content stays readable after a
  // concurrent delete or overwrite).
  [[nodiscard]] ApiResult<std::pair<ObjectMeta, Content>> open_object(const std::string& bucket,
                                                                      const std::string& key);
  // Succeeds for an absent key (S3 semantics); NoSuchBucket if the bucket is missing.
  [[nodiscard]] ApiStatus delete_object(const std::string& bucket, const std::string& key);
  // Deletes several keys in one transaction; one outcome per key, in order.
  [[nodiscard]] ApiResult<std::vector<DeleteOutcome>> delete_objects(
      const std::string& bucket, const std::vector<std::string>& keys);
  // Copies src into dst (dst.bucket/key set; with replace_meta the caller's content type, headers
  // and user metadata are used, else the source's).
  [[nodiscard]] ApiResult<ObjectMeta> copy_object(const std::string& src_bucket,
                                                  const std::string& src_key, ObjectMeta dst,
                                                  bool replace_meta, const PutConditions& cond,
                                                  const EventContext& ev);
  [[nodiscard]] ApiResult<ListPage> list_objects(const std::string& bucket, const ListQuery& q);

  // ---- multipart (multipart.cc) ----
  [[nodiscard]] ApiResult<std::string> create_upload(ObjectMeta proto,
                                                     const std::string& checksum_algorithm,
                                                     const std::string& checksum_type = "");
  [[nodiscard]] ApiResult<PartInfo> put_part(const std::string& bucket, const std::string& key,
                                             const std::string& upload_id, int part_number,
                                             StagedFile file, const std::string& etag,
                                             const HeaderPairs& checksums);
  // UploadPartCopy: bytes [first, last] of the source (whole object when range is nullopt).
  [[nodiscard]] ApiResult<PartInfo> copy_part(const std::string& bucket, const std::string& key,
                                              const std::string& upload_id, int part_number,
                                              const std::string& src_bucket,
                                              const std::string& src_key,
                                              std::optional<std::pair<uint64_t, uint64_t>> range);
  // `checksum`: the object checksum the request sent (x-amz-checksum-<alg>), checked against the
  // one computed from the parts (BadDigest).
  [[nodiscard]] ApiResult<CompleteResult> complete_upload(
      const std::string& bucket, const std::string& key, const std::string& upload_id,
      const std::vector<CompletePart>& parts, const PutConditions& cond, const EventContext& ev,
      const std::optional<std::pair<std::string, std::string>>& checksum = std::nullopt);
  // The parts of a multipart object stored by reference ({} for any other object), with their
  // checksums when the upload had them (GetObjectAttributes, GetObject ?partNumber).
  [[nodiscard]] ApiResult<std::vector<PartInfo>> object_part_list(const std::string& bucket,
                                                                  const std::string& key);
  [[nodiscard]] ApiStatus abort_upload(const std::string& bucket, const std::string& key,
                                       const std::string& upload_id);
  [[nodiscard]] ApiResult<UploadMeta> get_upload(const std::string& bucket, const std::string& key,
                                                 const std::string& upload_id);
  // Parts with number > marker, at most max; the bool is "truncated".
  [[nodiscard]] ApiResult<std::pair<std::vector<PartInfo>, bool>> list_parts(
      const std::string& bucket, const std::string& key, const std::string& upload_id, int marker,
      int max);
  // Uploads ordered by (key, upload id) after the markers, at most max; bool is "truncated".
  [[nodiscard]] ApiResult<std::pair<std::vector<UploadInfo>, bool>> list_uploads(
      const std::string& bucket, const std::string& prefix, const std::string& key_marker,
      const std::string& upload_id_marker, int max);

  // ETag of a multipart object: hex(md5(concat(md5 of each part))) + "-" + N. Part ETags are hex.
  static std::optional<std::string> multipart_etag(const std::vector<std::string>& part_etags);

 private:
  explicit ObjectStore(StoreOptions options, std::unique_ptr<MetadataDb> db);
  Status sweep();
  // Inside a write op: checks conditions, inserts/replaces the row, queues events.
  ApiStatus commit_object_row(WriteTx& tx, const ObjectMeta& meta, const PutConditions& cond,
                              const EventContext& ev, const std::string& event_name);
  // Drops content `id` with the transaction: its inline row or part list now, its file or part
  // files after COMMIT.
  ApiStatus release_content(WriteTx& tx, const std::string& id);
  // The part list of a multipart object stored by reference (empty for any other content id).
  ApiResult<std::vector<ContentPart>> read_content_parts(SqliteDb& db, const std::string& id);
  ApiStatus enqueue_events(WriteTx& tx, const ObjectMeta& meta, const EventContext& ev,
                           const std::string& event_name);
  std::string next_sequencer();
  std::vector<NotificationRule> rules_of(const std::string& bucket);

  StoreOptions options_;
  std::unique_ptr<MetadataDb> db_;
  std::mutex rules_mu_;
  std::map<std::string, std::vector<NotificationRule>> rules_;  // guarded by rules_mu_
  std::atomic<uint64_t> last_seq_{0};
};

// Row (de)serialisation helpers shared by object_store.cc and multipart.cc.
std::string pairs_to_json(const HeaderPairs& p);
HeaderPairs pairs_from_json(const std::string& s);
int64_t now_ms();

}  // namespace ingestor::store

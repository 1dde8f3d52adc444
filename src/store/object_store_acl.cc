// ObjectStore: bucket owners and ACLs, object ACLs and bucket CORS configurations (schema version
// 4, docs/formats/store.md). Writes go through the group commit like every other write.
#include "store/object_store.h"

namespace ingestor::store {

namespace {

ApiError db_error(const Error& e) { return err::internal(e.message); }

}  // namespace

ApiResult<BucketAccess> ObjectStore::bucket_access(const std::string& bucket) {
  auto lease = db_->reader();
  if (!lease) return db_error(lease.error());
  auto st = lease->db().prepare("SELECT owner, acl, cors_xml FROM buckets WHERE name=?");
  if (!st) return db_error(st.error());
  auto r = (*st)->bind(1, bucket).step();
  if (!r) return db_error(r.error());
  if (!*r) return err::no_such_bucket(bucket);
  return BucketAccess{(*st)->col_text(0), (*st)->col_text(1), (*st)->col_text(2)};
}

ApiStatus ObjectStore::put_bucket_acl(const std::string& bucket, const std::string& acl) {
  return db_->write([&](WriteTx& tx) -> ApiStatus {
    auto st = tx.db.prepare("UPDATE buckets SET acl=? WHERE name=?");
    if (!st) return db_error(st.error());
    if (auto s = (*st)->bind(1, acl).bind(2, bucket).run(); !s) return db_error(s.error());
    if (tx.db.changes() == 0) return err::no_such_bucket(bucket);
    return {};
  });
}

ApiStatus ObjectStore::put_bucket_cors(const std::string& bucket, const std::string& xml) {
  return db_->write([&](WriteTx& tx) -> ApiStatus {
    auto st = tx.db.prepare("UPDATE buckets SET cors_xml=? WHERE name=?");
    if (!st) return db_error(st.error());
    if (auto s = (*st)->bind(1, xml).bind(2, bucket).run(); !s) return db_error(s.error());
    if (tx.db.changes() == 0) return err::no_such_bucket(bucket);
    return {};
  });
}

ApiStatus ObjectStore::put_object_acl(const std::string& bucket, const std::string& key,
                                      const std::string& acl) {
  return db_->write([&](WriteTx& tx) -> ApiStatus {
    auto st = tx.db.prepare("UPDATE objects SET acl=? WHERE bucket=? AND key=?");
    if (!st) return db_error(st.error());
    if (auto s = (*st)->bind(1, acl).bind(2, bucket).bind(3, key).run(); !s)
      return db_error(s.error());
    if (tx.db.changes() == 0) {
      auto b = tx.db.prepare("SELECT 1 FROM buckets WHERE name=?");
      if (!b) return db_error(b.error());
      auto r = (*b)->bind(1, bucket).step();
      if (!r) return db_error(r.error());
      if (!*r) return err::no_such_bucket(bucket);
      return err::no_such_key(key);
    }
    return {};
  });
}

}  // namespace ingestor::store

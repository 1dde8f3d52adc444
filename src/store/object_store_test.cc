#include "store/object_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "base/hash.h"
#include "s3/event_notification.h"
#include "store/keys.h"
#include "store/notifier.h"

namespace ingestor::store {
namespace {

namespace fs = std::filesystem;

class ObjectStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/store-test-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    dir_ = root_ + "/data";
    open_store();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(root_);
  }
  void open_store() {
    store_.reset();
    StoreOptions o;
    o.data_dir = dir_;
    o.notify_webhook = "http://127.0.0.1:9/hook";
    o.min_part_size = 10;
    auto s = ObjectStore::open(o);
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
  }
  ApiResult<ObjectMeta> put(const std::string& b, const std::string& k, const std::string& data,
                            PutConditions c = {}) {
    auto f = store_->stage();
    EXPECT_TRUE(f);
    EXPECT_TRUE(f->write(data));
    ObjectMeta m;
    m.bucket = b;
    m.key = k;
    m.size = data.size();
    m.etag = to_hex(md5(data));
    return store_->put_object(std::move(*f), m, c, {});
  }
  std::string read(const std::string& b, const std::string& k) {
    auto o = store_->open_object(b, k);
    EXPECT_TRUE(o) << o.error().code << ": " << o.error().message;
    if (!o) return {};
    std::string out(o->first.size, '\0');
    EXPECT_EQ(::pread(o->second.fd(), out.data(), out.size(), 0), static_cast<ssize_t>(out.size()));
    return out;
  }
  size_t files_under(const std::string& sub) {
    size_t n = 0;
    for (auto& e : fs::recursive_directory_iterator(dir_ + sub))
      if (e.is_regular_file()) ++n;
    return n;
  }
  int64_t outbox_rows() {
    auto lease = store_->db().reader();
    auto st = lease->db().prepare("SELECT COUNT(*) FROM outbox");
    EXPECT_TRUE((*st)->step());
    return (*st)->col_int(0);
  }
  std::string root_, dir_;
  std::unique_ptr<ObjectStore> store_;
};

TEST_F(ObjectStoreTest, HostileKeysStayInsideTheDataDir) {
  ASSERT_TRUE(store_->create_bucket("bkt"));
  std::string deep;
  for (int i = 0; i < 400; ++i) deep += "d/";
  deep += "x";
  const std::vector<std::string> keys = {
      "../x", "a//b", ".", "..", "/abs", deep, "../../etc/passwd"};
  for (const auto& k : keys) ASSERT_TRUE(put("bkt", k, "v:" + k)) << k;
  for (const auto& k : keys) EXPECT_EQ(read("bkt", k), "v:" + k);
  // Every file is a content id under objects/; nothing else was created anywhere.
  for (auto& e : fs::recursive_directory_iterator(dir_)) {
    if (!e.is_regular_file()) continue;
    std::string rel = fs::relative(e.path(), dir_).string();
    if (rel.starts_with("meta.db")) continue;
    ASSERT_TRUE(rel.starts_with("objects/")) << rel;
    EXPECT_TRUE(is_valid_content_id(e.path().filename().string())) << rel;
  }
  EXPECT_EQ(files_under("/objects"), keys.size());
  EXPECT_FALSE(fs::exists(fs::path(root_) / "x"));
  EXPECT_FALSE(fs::exists(fs::path(dir_) / "x"));
  auto page = store_->list_objects("bkt", ListQuery{});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->contents.size(), keys.size());
}

TEST_F(ObjectStoreTest, IfNoneMatchIsAtomicUnderConcurrency) {
  ASSERT_TRUE(store_->create_bucket("bkt"));
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 16; ++i) {
    ts.emplace_back([&, i] {
      PutConditions c;
      c.if_none_match_star = true;
      auto r = put("bkt", "same", "writer" + std::to_string(i), c);
      if (r) {
        ++ok;
      } else {
        EXPECT_EQ(r.error().code, "PreconditionFailed");
        EXPECT_EQ(r.error().status, 412);
        ++failed;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(failed, 15);
  EXPECT_EQ(files_under("/objects"), 1u);  // losers' files removed
  EXPECT_EQ(files_under("/tmp"), 0u);
}

TEST_F(ObjectStoreTest, ReplaceDeleteAndBucketRules) {
  EXPECT_EQ(store_->create_bucket("Bad_Name").error().code, "InvalidBucketName");
  ASSERT_TRUE(store_->create_bucket("bkt"));
  EXPECT_EQ(store_->create_bucket("bkt").error().code, "BucketAlreadyOwnedByYou");
  EXPECT_EQ(put("nope", "k", "x").error().code, "NoSuchBucket");
  ASSERT_TRUE(put("bkt", "k", "one"));
  ASSERT_TRUE(put("bkt", "k", "two"));
  EXPECT_EQ(read("bkt", "k"), "two");
  EXPECT_EQ(files_under("/objects"), 1u);
  PutConditions im;
  im.if_match = "\"" + to_hex(md5("nope")) + "\"";
  EXPECT_EQ(put("bkt", "k", "three", im).error().code, "PreconditionFailed");
  EXPECT_EQ(store_->delete_bucket("bkt").error().code, "BucketNotEmpty");
  ASSERT_TRUE(store_->delete_object("bkt", "k"));
  ASSERT_TRUE(store_->delete_object("bkt", "k"));  // absent: still fine
  EXPECT_EQ(store_->head_object("bkt", "k").error().code, "NoSuchKey");
  EXPECT_EQ(files_under("/objects"), 0u);
  ASSERT_TRUE(store_->delete_bucket("bkt"));
  EXPECT_EQ(store_->head_bucket("bkt").error().code, "NoSuchBucket");
}

TEST_F(ObjectStoreTest, MultipartEtagAndValidation) {
  // S3's rule, checked against a value computed independently.
  auto e = ObjectStore::multipart_etag({to_hex(md5("a")), to_hex(md5("b"))});
  ASSERT_TRUE(e);
  EXPECT_EQ(*e,
            to_hex(md5(std::string(as_bytes(md5("a"))) + std::string(as_bytes(md5("b"))))) + "-2");
  ASSERT_TRUE(store_->create_bucket("bkt"));
  ObjectMeta proto;
  proto.bucket = "bkt";
  proto.key = "big";
  auto id = store_->create_upload(proto, "");
  ASSERT_TRUE(id);
  auto part = [&](int n, const std::string& data) {
    auto f = store_->stage();
    EXPECT_TRUE(f->write(data));
    return store_->put_part("bkt", "big", *id, n, std::move(*f), to_hex(md5(data)), {});
  };
  ASSERT_TRUE(part(1, "0123456789AB"));
  ASSERT_TRUE(part(2, "tiny"));
  ASSERT_TRUE(part(3, "last"));
  std::vector<CompletePart> order{{2, to_hex(md5("tiny"))}, {1, to_hex(md5("0123456789AB"))}};
  EXPECT_EQ(store_->complete_upload("bkt", "big", *id, order, {}, {}).error().code,
            "InvalidPartOrder");
  std::vector<CompletePart> wrong{{1, to_hex(md5("x"))}};
  EXPECT_EQ(store_->complete_upload("bkt", "big", *id, wrong, {}, {}).error().code, "InvalidPart");
  std::vector<CompletePart> small{{2, to_hex(md5("tiny"))}, {3, to_hex(md5("last"))}};
  EXPECT_EQ(store_->complete_upload("bkt", "big", *id, small, {}, {}).error().code,
            "EntityTooSmall");
  std::vector<CompletePart> good{{1, to_hex(md5("0123456789AB"))}, {3, to_hex(md5("last"))}};
  auto done = store_->complete_upload("bkt", "big", *id, good, {}, {});
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->etag,
            *ObjectStore::multipart_etag({to_hex(md5("0123456789AB")), to_hex(md5("last"))}));
  EXPECT_EQ(read("bkt", "big"), "0123456789ABlast");
  EXPECT_EQ(store_->complete_upload("bkt", "big", *id, good, {}, {}).error().code, "NoSuchUpload");
  EXPECT_EQ(files_under("/objects"), 1u);  // parts (including unused part 2) removed
}

TEST_F(ObjectStoreTest, OutboxRowCommittedWithObjectAndSurvivesReopen) {
  ASSERT_TRUE(store_->create_bucket("bkt"));
  ASSERT_TRUE(put("bkt", "dir/a b.txt", "hello world"));
  EXPECT_EQ(outbox_rows(), 1);
  {
    auto lease = store_->db().reader();
    auto st = lease->db().prepare("SELECT url, body FROM outbox");
    ASSERT_TRUE(*(*st)->step());
    EXPECT_EQ((*st)->col_text(0), "http://127.0.0.1:9/hook");
    auto recs = s3::parse_event_notification((*st)->col_text(1));
    ASSERT_TRUE(recs);
    ASSERT_EQ(recs->size(), 1u);
    EXPECT_EQ((*recs)[0].key, "dir/a b.txt");
    EXPECT_EQ((*recs)[0].event_name, "ObjectCreated:Put");
    EXPECT_EQ((*recs)[0].etag, "5eb63bbbe01eeed093cb22bb8f5acdc3");
    EXPECT_EQ((*recs)[0].size, 11u);
    EXPECT_NE((*st)->col_text(1).find("\"key\":\"dir/a+b.txt\""), std::string::npos);
  }
  open_store();  // reopen: the undelivered row is still there
  EXPECT_EQ(outbox_rows(), 1);
  NotifierOptions o;
  EXPECT_EQ(notify_backoff(o, 0).count(), 250);
  EXPECT_EQ(notify_backoff(o, 3).count(), 2000);
  EXPECT_EQ(notify_backoff(o, 40).count(), 30000);
}

TEST_F(ObjectStoreTest, SweepRemovesUnreferencedFilesAtOpen) {
  ASSERT_TRUE(store_->create_bucket("bkt"));
  ASSERT_TRUE(put("bkt", "k", "kept"));
  {
    auto f = store_->stage();
    ASSERT_TRUE(f->write("orphan"));
    ASSERT_TRUE(f->commit_file());  // renamed but never committed (a crash)
    f->release();
  }
  auto tmp = store_->stage();  // a temp file left by a crash
  tmp->release();
  open_store();
  EXPECT_EQ(files_under("/objects"), 1u);
  EXPECT_EQ(files_under("/tmp"), 0u);
  EXPECT_EQ(read("bkt", "k"), "kept");
}

}  // namespace
}  // namespace ingestor::store

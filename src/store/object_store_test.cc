#include "store/object_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "base/hash.h"
#include "net/loopback_server_for_test.h"
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
    o.notify_webhook = webhook_;
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
    std::string out;
    EXPECT_TRUE(o->second.read(0, o->first.size, out));
    EXPECT_EQ(out.size(), o->first.size);
    return out;
  }
  // Bytes that differ at every offset of every part (a misplaced read shows).
  static std::string pattern(size_t n, int seed) {
    std::string out(n, '\0');
    for (size_t i = 0; i < n; ++i)
      out[i] = static_cast<char>((i * 131 + seed * 7 + i / 251) & 0xff);
    return out;
  }
  ApiResult<std::string> start_upload(const std::string& b, const std::string& k) {
    ObjectMeta proto;
    proto.bucket = b;
    proto.key = k;
    return store_->create_upload(proto, "");
  }
  ApiResult<PartInfo> upload_part(const std::string& b, const std::string& k, const std::string& id,
                                  int n, const std::string& data) {
    auto f = store_->stage();
    EXPECT_TRUE(f);
    EXPECT_TRUE(f->write(data));
    return store_->put_part(b, k, id, n, std::move(*f), to_hex(md5(data)), {});
  }
  // Uploads `parts` as parts 1..N and completes with all of them.
  ApiResult<ObjectMeta> put_multipart(const std::string& b, const std::string& k,
                                      const std::vector<std::string>& parts) {
    auto id = start_upload(b, k);
    if (!id) return id.error();
    std::vector<CompletePart> list;
    for (size_t i = 0; i < parts.size(); ++i) {
      auto p = upload_part(b, k, *id, static_cast<int>(i + 1), parts[i]);
      if (!p) return p.error();
      list.push_back({static_cast<int>(i + 1), p->etag});
    }
    auto done = store_->complete_upload(b, k, *id, list, {}, {});
    if (!done) return done.error();
    return done->meta;
  }
  std::string read_range(const std::string& b, const std::string& k, uint64_t off, size_t len) {
    auto o = store_->open_object(b, k);
    EXPECT_TRUE(o) << o.error().message;
    if (!o) return {};
    std::string out;
    EXPECT_TRUE(o->second.read(off, len, out));
    return out;
  }
  size_t files_under(const std::string& sub) {
    size_t n = 0;
    for (auto& e : fs::recursive_directory_iterator(dir_ + sub))
      if (e.is_regular_file()) ++n;
    return n;
  }
  int64_t inline_rows() {
    auto lease = store_->db().reader();
    auto st = lease->db().prepare("SELECT COUNT(*) FROM inline_content");
    EXPECT_TRUE((*st)->step());
    return (*st)->col_int(0);
  }
  // Stored contents: files under objects/ plus inline rows.
  size_t contents() { return files_under("/objects") + static_cast<size_t>(inline_rows()); }
  int64_t outbox_rows() {
    auto lease = store_->db().reader();
    auto st = lease->db().prepare("SELECT COUNT(*) FROM outbox");
    EXPECT_TRUE((*st)->step());
    return (*st)->col_int(0);
  }
  std::string root_, dir_;
  std::string webhook_ = "http://127.0.0.1:9/hook";
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
  // Every file is a content id under objects/ (these small objects are all inline); nothing else
  // was created anywhere.
  for (auto& e : fs::recursive_directory_iterator(dir_)) {
    if (!e.is_regular_file()) continue;
    std::string rel = fs::relative(e.path(), dir_).string();
    if (rel.starts_with("meta.db")) continue;
    ASSERT_TRUE(rel.starts_with("objects/")) << rel;
    EXPECT_TRUE(is_valid_content_id(e.path().filename().string())) << rel;
  }
  EXPECT_EQ(contents(), keys.size());
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
  EXPECT_EQ(contents(), 1u);  // losers' contents removed
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
  EXPECT_EQ(contents(), 1u);
  PutConditions im;
  im.if_match = "\"" + to_hex(md5("nope")) + "\"";
  EXPECT_EQ(put("bkt", "k", "three", im).error().code, "PreconditionFailed");
  EXPECT_EQ(store_->delete_bucket("bkt").error().code, "BucketNotEmpty");
  ASSERT_TRUE(store_->delete_object("bkt", "k"));
  ASSERT_TRUE(store_->delete_object("bkt", "k"));  // absent: still fine
  EXPECT_EQ(store_->head_object("bkt", "k").error().code, "NoSuchKey");
  EXPECT_EQ(contents(), 0u);
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
  EXPECT_EQ(done->meta.etag,
            *ObjectStore::multipart_etag({to_hex(md5("0123456789AB")), to_hex(md5("last"))}));
  EXPECT_FALSE(done->repeated);
  EXPECT_EQ(read("bkt", "big"), "0123456789ABlast");
  EXPECT_EQ(files_under("/objects"), 2u);  // the object is parts 1 and 3; unused part 2 removed
  // A repeated Complete answers with the object the first one made (as S3 does)...
  auto again = store_->complete_upload("bkt", "big", *id, good, {}, {});
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(again->repeated);
  EXPECT_EQ(again->meta.etag, done->meta.etag);
  // ... until the object is replaced: then the upload is gone for good.
  ASSERT_TRUE(put("bkt", "big", "new"));
  EXPECT_EQ(store_->complete_upload("bkt", "big", *id, good, {}, {}).error().code, "NoSuchUpload");
  EXPECT_EQ(files_under("/objects"), 0u);  // the new object is inline; the parts went with it
}

TEST_F(ObjectStoreTest, CompleteReferencesThePartFilesAndReadsCrossPartBoundaries) {
  ASSERT_TRUE(store_->create_bucket("bkt"));
  const std::vector<std::string> parts = {pattern(300000, 1), pattern(200001, 2),
                                          pattern(StagedFile::kBufferSize + 3, 3), pattern(777, 4)};
  std::string whole;
  for (const auto& p : parts) whole += p;
  auto id = start_upload("bkt", "mp");
  ASSERT_TRUE(id);
  std::vector<CompletePart> list;
  std::vector<std::string> etags;
  for (size_t i = 0; i < parts.size(); ++i) {
    auto p = upload_part("bkt", "mp", *id, static_cast<int>(i + 1), parts[i]);
    ASSERT_TRUE(p);
    list.push_back({static_cast<int>(i + 1), p->etag});
    etags.push_back(p->etag);
  }
  ASSERT_EQ(files_under("/objects"), 4u);
  auto done = store_->complete_upload("bkt", "mp", *id, list, {}, {});
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->meta.size, whole.size());
  EXPECT_EQ(done->meta.etag, *ObjectStore::multipart_etag(etags));
  EXPECT_EQ(done->meta.parts_count, 4);
  // Nothing was copied: the object is the four part files, no new file and no temp file.
  EXPECT_EQ(files_under("/objects"), 4u);
  EXPECT_EQ(files_under("/tmp"), 0u);
  EXPECT_EQ(inline_rows(), 0);
  EXPECT_TRUE(read("bkt", "mp") == whole);
  const uint64_t b1 = parts[0].size(), b2 = b1 + parts[1].size(), b3 = b2 + parts[2].size();
  const uint64_t n = whole.size();
  struct Range {
    const char* what;
    uint64_t off;
    size_t len;
  };
  const Range ranges[] = {
      {"first byte", 0, 1},
      {"last byte", n - 1, 1},
      {"last byte of part 1 and first of part 2", b1 - 1, 2},
      {"first byte of part 3", b2, 1},
      {"spans parts 1, 2 and 3", b1 - 10, static_cast<size_t>(b2 - b1 + 20)},
      {"spans parts 2, 3 and 4", b1 + 5, static_cast<size_t>(b3 - b1)},
      {"suffix of 1000 (parts 3 and 4)", n - 1000, 1000},
      {"past the end", n - 3, 100},
      {"at the end", n, 10},
  };
  for (const auto& r : ranges) {
    std::string got = read_range("bkt", "mp", r.off, r.len);
    std::string want = r.off < n ? whole.substr(r.off, r.len) : "";
    EXPECT_EQ(got.size(), want.size()) << r.what;
    EXPECT_TRUE(got == want) << r.what;
  }
  {
    // read_some stops at a part boundary (a streamed response reads one part file at a time).
    auto o = store_->open_object("bkt", "mp");
    ASSERT_TRUE(o);
    ASSERT_EQ(o->second.parts.size(), 4u);
    std::string buf(4096, '\0');
    auto got = o->second.read_some(b1 - 100, buf.data(), buf.size());
    ASSERT_TRUE(got);
    EXPECT_EQ(*got, 100u);
    EXPECT_EQ(buf.substr(0, 100), parts[0].substr(b1 - 100));
  }
  {
    // extent_at (what a sendfile response sends from): the part file holding the offset, where in
    // it, and how much of the part follows; nothing past the end.
    auto o = store_->open_object("bkt", "mp");
    ASSERT_TRUE(o);
    const Content& c = o->second;
    struct Want {
      uint64_t off;
      size_t part;
      uint64_t at;
    };
    const Want wants[] = {{0, 0, 0},      {b1 - 1, 0, b1 - 1},      {b1, 1, 0},
                          {b1 + 1, 1, 1}, {b2 - 1, 1, b2 - b1 - 1}, {b2, 2, 0},
                          {b3, 3, 0},     {n - 1, 3, n - 1 - b3}};
    for (const auto& w : wants) {
      auto e = c.extent_at(w.off);
      ASSERT_TRUE(e) << w.off;
      EXPECT_EQ(e->at, w.at) << w.off;
      EXPECT_EQ(e->len, parts[w.part].size() - w.at) << w.off;
      std::string got(static_cast<size_t>(e->len), '\0');
      ASSERT_EQ(::pread(e->fd, got.data(), got.size(), static_cast<off_t>(e->at)),
                static_cast<ssize_t>(got.size()))
          << w.off;
      EXPECT_TRUE(got == whole.substr(w.off, got.size())) << w.off;
    }
    auto end = c.extent_at(n);
    ASSERT_TRUE(end);
    EXPECT_EQ(end->len, 0u);
  }
  // The part list survives a restart, and the sweep keeps every part file.
  open_store();
  EXPECT_EQ(files_under("/objects"), 4u);
  EXPECT_TRUE(read("bkt", "mp") == whole);
  EXPECT_EQ(read_range("bkt", "mp", b1 - 10, b2 - b1 + 20), whole.substr(b1 - 10, b2 - b1 + 20));
}

TEST_F(ObjectStoreTest, DeleteAndOverwriteReleaseEveryPartFile) {
  ASSERT_TRUE(store_->create_bucket("bkt"));
  const std::vector<std::string> three = {pattern(100000, 1), pattern(100000, 2), pattern(50, 3)};
  const std::string large = pattern(200000, 9);
  // Overwrite by PutObject.
  ASSERT_TRUE(put_multipart("bkt", "k", three));
  EXPECT_EQ(files_under("/objects"), 3u);
  ASSERT_TRUE(put("bkt", "k", large));
  EXPECT_EQ(files_under("/objects"), 1u);
  EXPECT_TRUE(read("bkt", "k") == large);
  // Overwrite of a file by a multipart object, then of that by another multipart object.
  ASSERT_TRUE(put_multipart("bkt", "k", three));
  EXPECT_EQ(files_under("/objects"), 3u);
  ASSERT_TRUE(put_multipart("bkt", "k", {pattern(100000, 4), pattern(10, 5)}));
  EXPECT_EQ(files_under("/objects"), 2u);
  EXPECT_EQ(read("bkt", "k"), pattern(100000, 4) + pattern(10, 5));
  // CopyObject of a multipart object writes one new file (with a plain MD5 ETag) and shares
  // nothing: deleting the source leaves the copy whole.
  ObjectMeta dst;
  dst.bucket = "bkt";
  dst.key = "copy";
  auto c = store_->copy_object("bkt", "k", dst, false, {}, {});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->etag, to_hex(md5(pattern(100000, 4) + pattern(10, 5))));
  EXPECT_EQ(c->parts_count, 0);
  EXPECT_EQ(files_under("/objects"), 3u);
  ASSERT_TRUE(store_->delete_object("bkt", "k"));
  EXPECT_EQ(files_under("/objects"), 1u);
  EXPECT_EQ(read("bkt", "copy"), pattern(100000, 4) + pattern(10, 5));
  // Overwrite by CopyObject (of a small object: inline).
  ASSERT_TRUE(put("bkt", "small", "tiny"));
  ASSERT_TRUE(put_multipart("bkt", "k", three));
  EXPECT_EQ(files_under("/objects"), 4u);
  dst.key = "k";
  ASSERT_TRUE(store_->copy_object("bkt", "small", dst, false, {}, {}));
  EXPECT_EQ(files_under("/objects"), 1u);
  EXPECT_EQ(read("bkt", "k"), "tiny");
  // DeleteObjects, and a small multipart copy goes inline.
  ASSERT_TRUE(put_multipart("bkt", "m1", {pattern(20, 1), pattern(5, 2)}));
  ASSERT_TRUE(put_multipart("bkt", "m2", three));
  dst.key = "small-copy";
  ASSERT_TRUE(store_->copy_object("bkt", "m1", dst, false, {}, {}));
  EXPECT_EQ(read("bkt", "small-copy"), pattern(20, 1) + pattern(5, 2));
  EXPECT_EQ(files_under("/objects"), 6u);
  ASSERT_TRUE(store_->delete_objects("bkt", {"m1", "m2", "copy", "k", "small", "small-copy"}));
  EXPECT_EQ(contents(), 0u);
  auto lease = store_->db().reader();
  auto st = lease->db().prepare("SELECT COUNT(*) FROM object_parts");
  ASSERT_TRUE((*st)->step());
  EXPECT_EQ((*st)->col_int(0), 0);
}

TEST_F(ObjectStoreTest, CompleteWithASubsetOfThePartsReleasesTheOthers) {
  ASSERT_TRUE(store_->create_bucket("bkt"));
  auto id = start_upload("bkt", "k");
  ASSERT_TRUE(id);
  std::vector<PartInfo> infos;
  for (int i = 1; i <= 5; ++i) {
    auto p = upload_part("bkt", "k", *id, i, pattern(1000 * i, i));
    ASSERT_TRUE(p);
    infos.push_back(*p);
  }
  // Part 4 uploaded again: its first file goes with that commit.
  auto p4 = upload_part("bkt", "k", *id, 4, pattern(4444, 44));
  ASSERT_TRUE(p4);
  EXPECT_EQ(files_under("/objects"), 5u);
  std::vector<CompletePart> list{{2, infos[1].etag}, {4, p4->etag}, {5, infos[4].etag}};
  auto done = store_->complete_upload("bkt", "k", *id, list, {}, {});
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->meta.parts_count, 3);
  EXPECT_EQ(files_under("/objects"), 3u);
  const std::string want = pattern(2000, 2) + pattern(4444, 44) + pattern(5000, 5);
  EXPECT_EQ(read("bkt", "k"), want);
  {
    auto o = store_->open_object("bkt", "k");
    ASSERT_TRUE(o);
    ASSERT_EQ(o->second.parts.size(), 3u);
    EXPECT_EQ(o->second.parts[1].part_number, 4);  // numbers as uploaded
    EXPECT_EQ(o->second.parts[1].start, 2000u);
    EXPECT_EQ(o->second.parts[2].start, 2000u + 4444u);
  }
  EXPECT_EQ(store_->list_uploads("bkt", "", "", "", 10)->first.size(), 0u);
  open_store();  // the sweep agrees: every remaining file is referenced
  EXPECT_EQ(files_under("/objects"), 3u);
  EXPECT_EQ(read("bkt", "k"), want);
}

TEST_F(ObjectStoreTest, AReaderKeepsReadingPartsOfAnObjectDeletedUnderIt) {
  ASSERT_TRUE(store_->create_bucket("bkt"));
  const std::vector<std::string> parts = {pattern(100000, 1), pattern(100000, 2), pattern(99, 3)};
  ASSERT_TRUE(put_multipart("bkt", "k", parts));
  {
    auto o = store_->open_object("bkt", "k");
    ASSERT_TRUE(o);
    std::string first;
    ASSERT_TRUE(o->second.read(0, 10, first));  // part 1 is open, parts 2 and 3 are not yet
    ASSERT_TRUE(store_->delete_object("bkt", "k"));
    EXPECT_EQ(store_->head_object("bkt", "k").error().code, "NoSuchKey");
    EXPECT_EQ(files_under("/objects"), 3u);  // unlinks deferred while pinned
    EXPECT_EQ(store_->db().pins().deferred(), 3u);
    std::string all;
    ASSERT_TRUE(o->second.read(0, 200099, all));
    EXPECT_TRUE(all == parts[0] + parts[1] + parts[2]);
  }  // the last reader is done
  EXPECT_EQ(files_under("/objects"), 0u);
  EXPECT_EQ(store_->db().pins().pinned(), 0u);
}

TEST_F(ObjectStoreTest, ConcurrentReadersSeeWholeObjectsWhileTheKeyIsReplaced) {
  ASSERT_TRUE(store_->create_bucket("bkt"));
  auto version = [](int v) {
    return std::vector<std::string>{pattern(40000, v), pattern(40000, v + 100), pattern(7, v)};
  };
  std::vector<std::string> joined;
  for (int v = 0; v < 30; ++v) {
    joined.emplace_back();
    for (const auto& p : version(v)) joined.back() += p;
  }
  ASSERT_TRUE(put_multipart("bkt", "k", version(0)));
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0}, bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!stop) {
        auto o = store_->open_object("bkt", "k");
        if (!o) {
          ++bad;
          continue;
        }
        std::string s;
        if (!o->second.read(0, o->first.size, s)) {
          ++bad;
          continue;
        }
        bool ok = false;
        for (int v = 0; v < 30 && !ok; ++v) ok = s == joined[v];
        if (!ok) ++bad;
        ++reads;
      }
    });
  }
  for (int v = 1; v < 30; ++v) ASSERT_TRUE(put_multipart("bkt", "k", version(v)));
  // Waits (10 s at most) until the readers got some reads done, most overlapping the writes.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (reads < 30 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad, 0);
  EXPECT_GE(reads, 30);
  EXPECT_EQ(read("bkt", "k"), joined[29]);
  EXPECT_EQ(files_under("/objects"), 3u);
  EXPECT_EQ(store_->db().pins().pinned(), 0u);
}

TEST_F(ObjectStoreTest, CrashBeforeAndAfterCompleteLeavesNoOrphanAndNoHole) {
  ASSERT_TRUE(store_->create_bucket("bkt"));
  auto id = start_upload("bkt", "k");
  ASSERT_TRUE(id);
  auto p1 = upload_part("bkt", "k", *id, 1, pattern(70000, 1));
  auto p2 = upload_part("bkt", "k", *id, 2, pattern(70000, 2));
  ASSERT_TRUE(p1 && p2);
  // A part renamed into objects/ whose commit never ran (a crash inside UploadPart).
  {
    auto f = store_->stage();
    ASSERT_TRUE(f->write(pattern(70000, 3)));
    ASSERT_TRUE(f->commit_file());
    f->release();
  }
  ASSERT_EQ(files_under("/objects"), 3u);
  // The crash between the part uploads and Complete: the uncommitted part goes, the upload's
  // stay.
  open_store();
  EXPECT_EQ(files_under("/objects"), 2u);
  std::vector<CompletePart> list{{1, p1->etag}, {2, p2->etag}};
  ASSERT_TRUE(store_->complete_upload("bkt", "k", *id, list, {}, {}));
  // A released part file whose unlink the crash cut short (after Complete's commit).
  const std::string leftover = content_path(dir_, new_content_id());
  fs::copy_file(store_->open_object("bkt", "k")->second.parts[0].path, leftover);
  ASSERT_EQ(files_under("/objects"), 3u);
  open_store();  // the crash after Complete
  EXPECT_FALSE(fs::exists(leftover));
  EXPECT_EQ(files_under("/objects"), 2u);
  EXPECT_EQ(read("bkt", "k"), pattern(70000, 1) + pattern(70000, 2));
  EXPECT_TRUE(store_->complete_upload("bkt", "k", *id, list, {}, {})->repeated);
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

// A full disk: an outbox row that was delivered but cannot be deleted (its commit fails) is
// POSTed again after a backoff, not in a loop. Before, the notifier POSTed it again at once,
// thousands of times a second, for as long as the disk stayed full. Triggers make SQLite refuse
// every change of the outbox, as a full disk does.
TEST_F(ObjectStoreTest, NotifierBacksOffWhileTheOutboxCannotBeUpdated) {
  using Clock = std::chrono::steady_clock;
  std::vector<Clock::time_point> posts;  // guarded by hook.mu
  net::LoopbackServer hook([&](const net::HttpRequest&) {
    posts.push_back(Clock::now());
    return net::HttpResponse::text(200, "");
  });
  webhook_ = hook.url() + "/hook";
  open_store();
  ASSERT_TRUE(store_->create_bucket("bkt"));
  auto outbox_writable = [&](bool writable) {
    return store_->db().write([writable](WriteTx& tx) -> ApiStatus {
      const std::vector<const char*> sql =
          writable ? std::vector<const char*>{"DROP TRIGGER outbox_full_delete",
                                              "DROP TRIGGER outbox_full_update"}
                   : std::vector<const char*>{
                         "CREATE TRIGGER outbox_full_delete BEFORE DELETE ON outbox BEGIN "
                         "SELECT RAISE(ABORT, 'database or disk is full'); END",
                         "CREATE TRIGGER outbox_full_update BEFORE UPDATE ON outbox BEGIN "
                         "SELECT RAISE(ABORT, 'database or disk is full'); END"};
      for (const char* q : sql)
        if (auto s = tx.db.exec(q); !s) return err::internal(s.error().message);
      return {};
    });
  };
  ASSERT_TRUE(outbox_writable(false));
  ASSERT_TRUE(put("bkt", "k", "v"));
  NotifierOptions o;
  o.min_backoff = std::chrono::milliseconds(100);
  o.max_backoff = std::chrono::milliseconds(400);
  Notifier notifier(store_->db(), o);
  notifier.start();
  auto count = [&] {
    std::lock_guard lock(hook.mu);
    return posts.size();
  };
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while (count() < 3 && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  {
    std::lock_guard lock(hook.mu);
    ASSERT_GE(posts.size(), 3u);
    // Each repeat waits at least the first backoff (less its 20% jitter).
    for (size_t i = 1; i < 3; ++i)
      EXPECT_GE(posts[i] - posts[i - 1], std::chrono::milliseconds(80))
          << "POST " << i + 1 << " followed POST " << i << " at once";
  }
  EXPECT_EQ(outbox_rows(), 1);
  EXPECT_GE(notifier.outbox_write_failures(), 2u);
  // Space returns: the next pass delivers the row again and deletes it.
  ASSERT_TRUE(outbox_writable(true));
  notifier.wake();
  deadline = Clock::now() + std::chrono::seconds(10);
  while (outbox_rows() > 0 && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(outbox_rows(), 0);
  notifier.stop();
}

// A store restarts on a full disk: opening a database that is already at the current schema
// version commits nothing, so it needs no room in the WAL. Before, every start rewrote
// `PRAGMA user_version` (a WAL frame), and a start on a full disk failed with SQLITE_FULL before
// its sweep could even remove the temp files of the requests the crash cut short.
TEST_F(ObjectStoreTest, OpeningACurrentDatabaseWritesNothing) {
  ASSERT_TRUE(store_->create_bucket("bkt"));
  ASSERT_TRUE(put("bkt", "k", "v"));
  const std::string wal = dir_ + "/meta.db-wal";
  auto wal_size = [&]() -> uintmax_t { return fs::exists(wal) ? fs::file_size(wal) : 0; };
  store_.reset();  // the last connection checkpoints the WAL into meta.db and removes it
  ASSERT_EQ(wal_size(), 0u);
  open_store();
  EXPECT_EQ(wal_size(), 0u) << "opening the store wrote to its database";
  EXPECT_EQ(read("bkt", "k"), "v");
  ASSERT_TRUE(put("bkt", "k2", "v2"));  // and it writes as before
  store_.reset();
  open_store();
  EXPECT_EQ(read("bkt", "k2"), "v2");
}

TEST_F(ObjectStoreTest, SweepRemovesUnreferencedFilesAtOpen) {
  ASSERT_TRUE(store_->create_bucket("bkt"));
  ASSERT_TRUE(put("bkt", "k", "kept"));  // inline
  const std::string big(store_->options().inline_max_size + 1, 'b');
  ASSERT_TRUE(put("bkt", "big", big));  // a file
  {
    auto f = store_->stage();
    ASSERT_TRUE(f->write("orphan"));
    ASSERT_TRUE(f->commit_file());  // renamed but never committed (a crash)
    f->release();
  }
  auto tmp = store_->stage();  // a temp file left by a crash (the buffer spilled)
  ASSERT_TRUE(tmp->write(std::string(3 << 20, 't')));
  tmp->release();
  ASSERT_EQ(files_under("/tmp"), 1u);
  ASSERT_EQ(files_under("/objects"), 2u);
  open_store();
  EXPECT_EQ(files_under("/objects"), 1u);  // big's
  EXPECT_EQ(files_under("/tmp"), 0u);
  EXPECT_EQ(read("bkt", "k"), "kept");
  EXPECT_EQ(read("bkt", "big"), big);
  EXPECT_EQ(inline_rows(), 1);
}

TEST_F(ObjectStoreTest, SmallObjectsLiveInTheDatabaseLargeOnesInFiles) {
  ASSERT_TRUE(store_->create_bucket("bkt"));
  const std::string small(store_->options().inline_max_size, 's');
  const std::string large(store_->options().inline_max_size + 1, 'L');
  ASSERT_TRUE(put("bkt", "small", small));
  ASSERT_TRUE(put("bkt", "large", large));
  EXPECT_EQ(inline_rows(), 1);
  EXPECT_EQ(files_under("/objects"), 1u);
  EXPECT_EQ(files_under("/tmp"), 0u);  // the small object never had a temp file left over
  // Replacing swaps the kinds and releases the old contents with the commit.
  ASSERT_TRUE(put("bkt", "small", large));
  ASSERT_TRUE(put("bkt", "large", small));
  EXPECT_EQ(inline_rows(), 1);
  EXPECT_EQ(files_under("/objects"), 1u);
  // Both survive a restart (the sweep keeps inline content and referenced files), and copies
  // read either kind.
  open_store();
  EXPECT_EQ(read("bkt", "small"), large);
  EXPECT_EQ(read("bkt", "large"), small);
  ObjectMeta dst;
  dst.bucket = "bkt";
  dst.key = "copy";
  ASSERT_TRUE(store_->copy_object("bkt", "large", dst, false, {}, {}));
  EXPECT_EQ(read("bkt", "copy"), small);
  auto o = store_->open_object("bkt", "copy");
  ASSERT_TRUE(o);
  std::string part;
  ASSERT_TRUE(o->second.read(10, 5, part));
  EXPECT_EQ(part, "sssss");
  ASSERT_TRUE(store_->delete_objects("bkt", {"small", "large", "copy"}));
  EXPECT_EQ(contents(), 0u);
}

TEST_F(ObjectStoreTest, InlineThresholdIsInclusive) {
  ASSERT_TRUE(store_->create_bucket("bkt"));
  const uint64_t max = store_->options().inline_max_size;
  ASSERT_EQ(max, 64u << 10);
  struct Case {
    std::string key;
    uint64_t size;
    bool inline_;
  };
  const Case cases[] = {{"empty", 0, true},
                        {"below", max - 1, true},
                        {"at", max, true},
                        {"above", max + 1, false},
                        {"spilled", StagedFile::kBufferSize + 1, false}};
  int64_t rows = 0;
  size_t files = 0;
  for (const auto& c : cases) {
    std::string data(c.size, '\0');
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
    auto m = put("bkt", c.key, data);
    ASSERT_TRUE(m) << c.key;
    EXPECT_EQ(m->etag, to_hex(md5(data))) << c.key;
    rows += c.inline_ ? 1 : 0;
    files += c.inline_ ? 0 : 1;
    EXPECT_EQ(inline_rows(), rows) << c.key;
    EXPECT_EQ(files_under("/objects"), files) << c.key;
    EXPECT_EQ(files_under("/tmp"), 0u) << c.key;
    auto o = store_->open_object("bkt", c.key);
    ASSERT_TRUE(o) << c.key;
    EXPECT_EQ(o->second.data.has_value(), c.inline_) << c.key;
    EXPECT_EQ(o->first.size, c.size);
    std::string all, tail;
    ASSERT_TRUE(o->second.read(0, c.size, all));
    EXPECT_TRUE(all == data) << c.key;
    // A range past the middle, and reads at and past the end.
    uint64_t mid = c.size / 2;
    ASSERT_TRUE(o->second.read(mid, 100, tail));
    EXPECT_EQ(tail, data.substr(mid, 100)) << c.key;
    ASSERT_TRUE(o->second.read(c.size, 10, tail));
    EXPECT_EQ(tail, "") << c.key;
  }
  // Everything survives a restart unchanged, of either kind.
  open_store();
  EXPECT_EQ(inline_rows(), rows);
  EXPECT_EQ(files_under("/objects"), files);
  for (const auto& c : cases) EXPECT_EQ(read("bkt", c.key).size(), c.size) << c.key;
  // Copies of an inline and of a file source land by size, and deleting releases everything.
  for (const char* src : {"at", "above"}) {
    ObjectMeta dst;
    dst.bucket = "bkt";
    dst.key = std::string("copy-") + src;
    auto r = store_->copy_object("bkt", src, dst, false, {}, {});
    ASSERT_TRUE(r) << src;
    EXPECT_EQ(read("bkt", dst.key), read("bkt", src));
  }
  EXPECT_EQ(inline_rows(), rows + 1);
  EXPECT_EQ(files_under("/objects"), files + 1);
  for (const auto& c : cases) ASSERT_TRUE(store_->delete_object("bkt", c.key));
  ASSERT_TRUE(store_->delete_objects("bkt", {"copy-at", "copy-above"}));
  EXPECT_EQ(contents(), 0u);
}

TEST_F(ObjectStoreTest, AFailedPutLeavesNoInlineRow) {
  ASSERT_TRUE(store_->create_bucket("bkt"));
  ASSERT_TRUE(put("bkt", "k", "one"));
  PutConditions inm;
  inm.if_none_match_star = true;
  EXPECT_EQ(put("bkt", "k", "two", inm).error().code, "PreconditionFailed");
  EXPECT_EQ(put("nope", "k", "x").error().code, "NoSuchBucket");
  EXPECT_EQ(inline_rows(), 1);
  EXPECT_EQ(read("bkt", "k"), "one");
  EXPECT_EQ(files_under("/tmp"), 0u);
}

// The schema of the first release (user_version 1), before inline_content.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE buckets(name TEXT PRIMARY KEY, created_ms INTEGER NOT NULL,
  notification_xml TEXT NOT NULL DEFAULT '') WITHOUT ROWID;
CREATE TABLE objects(bucket TEXT NOT NULL, key TEXT NOT NULL, content_id TEXT NOT NULL,
  size INTEGER NOT NULL, etag TEXT NOT NULL, mtime_ms INTEGER NOT NULL,
  content_type TEXT NOT NULL, headers TEXT NOT NULL, user_meta TEXT NOT NULL,
  checksums TEXT NOT NULL, parts_count INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(bucket, key)) WITHOUT ROWID;
CREATE TABLE uploads(upload_id TEXT PRIMARY KEY, bucket TEXT NOT NULL, key TEXT NOT NULL,
  initiated_ms INTEGER NOT NULL, content_type TEXT NOT NULL, headers TEXT NOT NULL,
  user_meta TEXT NOT NULL, checksum_algorithm TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX uploads_by_key ON uploads(bucket, key, upload_id);
CREATE TABLE parts(upload_id TEXT NOT NULL, part_number INTEGER NOT NULL,
  content_id TEXT NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,
  mtime_ms INTEGER NOT NULL, checksums TEXT NOT NULL,
  PRIMARY KEY(upload_id, part_number)) WITHOUT ROWID;
CREATE TABLE outbox(id INTEGER PRIMARY KEY AUTOINCREMENT, url TEXT NOT NULL,
  body TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_ms INTEGER NOT NULL,
  created_ms INTEGER NOT NULL, last_error TEXT NOT NULL DEFAULT '');
PRAGMA user_version = 1;
)sql";

int64_t user_version(const std::string& db_path) {
  auto db = SqliteDb::open(db_path);
  EXPECT_TRUE(db);
  if (!db) return -1;
  auto st = (*db)->prepare("PRAGMA user_version");
  EXPECT_TRUE(st && (*st)->step());
  return (*st)->col_int(0);
}

TEST_F(ObjectStoreTest, OpensAndMigratesAVersion1DataDir) {
  // A data dir as the previous version wrote it: a small object in its own file.
  store_.reset();
  dir_ = root_ + "/v1";
  const std::string id = new_content_id();
  const std::string old_body = "written by version 1";
  fs::create_directories(dir_ + "/objects/" + id.substr(0, 2));
  fs::create_directories(dir_ + "/tmp");
  {
    std::FILE* f = std::fopen(content_path(dir_, id).c_str(), "wb");
    ASSERT_TRUE(f);
    std::fwrite(old_body.data(), 1, old_body.size(), f);
    std::fclose(f);
    auto db = SqliteDb::open(dir_ + "/meta.db");
    ASSERT_TRUE(db);
    ASSERT_TRUE((*db)->exec("PRAGMA journal_mode=WAL"));
    ASSERT_TRUE((*db)->exec(kSchemaV1));
    ASSERT_TRUE((*db)->exec("INSERT INTO buckets(name, created_ms) VALUES('bkt', 1)"));
    ASSERT_TRUE((*db)->exec("INSERT INTO objects VALUES('bkt', 'old', '" + id + "', " +
                            std::to_string(old_body.size()) + ", '" + to_hex(md5(old_body)) +
                            "', 1000, 'text/plain', '[]', '[[\"x-amz-meta-v\",\"1\"]]', '[]', 0)"));
  }
  ASSERT_EQ(user_version(dir_ + "/meta.db"), 1);
  open_store();
  ASSERT_TRUE(store_);
  EXPECT_EQ(user_version(dir_ + "/meta.db"), 4);
  EXPECT_EQ(read("bkt", "old"), old_body);
  auto h = store_->head_object("bkt", "old");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->etag, to_hex(md5(old_body)));
  EXPECT_EQ(h->content_type, "text/plain");
  EXPECT_EQ(h->user_meta, (HeaderPairs{{"x-amz-meta-v", "1"}}));
  // Version 4's columns: what was there belongs to the main account, with the default ACL.
  EXPECT_EQ(h->owner, "ingestor");
  EXPECT_EQ(h->acl, "");
  auto access = store_->bucket_access("bkt");
  ASSERT_TRUE(access);
  EXPECT_EQ(access->owner, "ingestor");
  EXPECT_EQ(access->acl, "");
  EXPECT_EQ(access->cors_xml, "");
  EXPECT_EQ(store_->list_buckets("ingestor")->size(), 1u);
  EXPECT_TRUE(store_->list_buckets("alt")->empty());
  EXPECT_EQ(files_under("/objects"), 1u);  // the old file is kept and still served
  // New small objects go inline; replacing the old one unlinks its file.
  ASSERT_TRUE(put("bkt", "new", "inline now"));
  EXPECT_EQ(inline_rows(), 1);
  ASSERT_TRUE(put("bkt", "old", "replaced"));
  EXPECT_EQ(files_under("/objects"), 0u);
  EXPECT_EQ(inline_rows(), 2);
  // Opening again is a no-op.
  open_store();
  EXPECT_EQ(user_version(dir_ + "/meta.db"), 4);
  EXPECT_EQ(read("bkt", "old"), "replaced");
  EXPECT_EQ(read("bkt", "new"), "inline now");
}

TEST_F(ObjectStoreTest, MigratesAVersion2DataDirWithACopiedMultipartObject) {
  // Version 2 stored a completed multipart object as one content file (its parts copied into it)
  // and had no object_parts table. Also an upload in progress, with one part.
  store_.reset();
  dir_ = root_ + "/v2";
  const std::string obj_id = new_content_id(), part_id = new_content_id();
  const std::string p1 = pattern(30, 1), p2 = pattern(17, 2), p3 = pattern(40, 3);
  const std::string old_body = p1 + p2;
  const std::string old_etag = *ObjectStore::multipart_etag({to_hex(md5(p1)), to_hex(md5(p2))});
  fs::create_directories(dir_ + "/tmp");
  for (const auto& [id, body] : {std::pair{obj_id, old_body}, std::pair{part_id, p3}}) {
    fs::create_directories(dir_ + "/objects/" + id.substr(0, 2));
    std::FILE* f = std::fopen(content_path(dir_, id).c_str(), "wb");
    ASSERT_TRUE(f);
    std::fwrite(body.data(), 1, body.size(), f);
    std::fclose(f);
  }
  {
    auto db = SqliteDb::open(dir_ + "/meta.db");
    ASSERT_TRUE(db);
    ASSERT_TRUE((*db)->exec("PRAGMA journal_mode=WAL"));
    ASSERT_TRUE((*db)->exec(kSchemaV1));
    ASSERT_TRUE(
        (*db)->exec("CREATE TABLE inline_content(content_id TEXT PRIMARY KEY, data BLOB NOT NULL); "
                    "PRAGMA user_version = 2;"));
    ASSERT_TRUE((*db)->exec("INSERT INTO buckets(name, created_ms) VALUES('bkt', 1)"));
    ASSERT_TRUE((*db)->exec("INSERT INTO objects VALUES('bkt', 'old-mp', '" + obj_id + "', " +
                            std::to_string(old_body.size()) + ", '" + old_etag +
                            "', 1000, 'text/plain', '[]', '[]', '[]', 2)"));
    ASSERT_TRUE((*db)->exec(
        "INSERT INTO uploads VALUES('u1', 'bkt', 'new-mp', 1, 'binary/octet-stream', '[]', '[]', "
        "'')"));
    ASSERT_TRUE((*db)->exec("INSERT INTO parts VALUES('u1', 1, '" + part_id + "', " +
                            std::to_string(p3.size()) + ", '" + to_hex(md5(p3)) + "', 1, '[]')"));
  }
  ASSERT_EQ(user_version(dir_ + "/meta.db"), 2);
  open_store();
  EXPECT_EQ(user_version(dir_ + "/meta.db"), 4);
  EXPECT_EQ(files_under("/objects"), 2u);  // both old files are live
  // The copied form still reads, whole and by range, and copies.
  auto h = store_->head_object("bkt", "old-mp");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->etag, old_etag);
  EXPECT_EQ(h->parts_count, 2);
  EXPECT_EQ(read("bkt", "old-mp"), old_body);
  EXPECT_EQ(read_range("bkt", "old-mp", 25, 10), old_body.substr(25, 10));
  {
    auto o = store_->open_object("bkt", "old-mp");
    ASSERT_TRUE(o);
    EXPECT_TRUE(o->second.parts.empty());
    EXPECT_TRUE(o->second.file.is_open());
  }
  ObjectMeta dst;
  dst.bucket = "bkt";
  dst.key = "copy";
  auto c = store_->copy_object("bkt", "old-mp", dst, false, {}, {});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->etag, to_hex(md5(old_body)));
  // The upload begun by version 2 completes into the new form.
  auto done = store_->complete_upload("bkt", "new-mp", "u1", {{1, to_hex(md5(p3))}}, {}, {});
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(read("bkt", "new-mp"), p3);
  EXPECT_EQ(store_->open_object("bkt", "new-mp")->second.parts.size(), 1u);
  EXPECT_EQ(files_under("/objects"), 2u);  // old-mp's file and new-mp's part; copy is inline
  // Overwriting the old form unlinks its one file.
  ASSERT_TRUE(put_multipart("bkt", "old-mp", {pattern(20, 5), pattern(3, 6)}));
  EXPECT_EQ(files_under("/objects"), 3u);
  EXPECT_EQ(read("bkt", "old-mp"), pattern(20, 5) + pattern(3, 6));
  open_store();
  EXPECT_EQ(user_version(dir_ + "/meta.db"), 4);
  EXPECT_EQ(files_under("/objects"), 3u);
  ASSERT_TRUE(store_->delete_objects("bkt", {"old-mp", "new-mp", "copy"}));
  EXPECT_EQ(files_under("/objects"), 0u);
}

// A version 3 data dir (object_parts without checksums): its multipart object keeps its part
// list and gets the columns of version 4, owned by the main account.
TEST_F(ObjectStoreTest, MigratesAVersion3DataDirToOwnersAndAcls) {
  ASSERT_TRUE(store_->create_bucket("bkt"));
  ASSERT_TRUE(put_multipart("bkt", "mp", {pattern(6 << 20, 1), pattern(10, 2)}));
  store_.reset();
  {
    // Back to version 3: the columns version 4 added are dropped.
    auto db = SqliteDb::open(dir_ + "/meta.db");
    ASSERT_TRUE(db);
    for (const char* sql :
         {"ALTER TABLE buckets DROP COLUMN owner", "ALTER TABLE buckets DROP COLUMN acl",
          "ALTER TABLE buckets DROP COLUMN cors_xml", "ALTER TABLE objects DROP COLUMN owner",
          "ALTER TABLE objects DROP COLUMN acl", "ALTER TABLE objects DROP COLUMN upload_id",
          "ALTER TABLE objects DROP COLUMN checksum_type", "ALTER TABLE uploads DROP COLUMN owner",
          "ALTER TABLE uploads DROP COLUMN acl", "ALTER TABLE uploads DROP COLUMN checksum_type",
          "ALTER TABLE object_parts DROP COLUMN checksums", "PRAGMA user_version = 3"})
      ASSERT_TRUE((*db)->exec(sql)) << sql;
  }
  open_store();
  ASSERT_TRUE(store_);
  EXPECT_EQ(user_version(dir_ + "/meta.db"), 4);
  EXPECT_EQ(read("bkt", "mp"), pattern(6 << 20, 1) + pattern(10, 2));
  EXPECT_EQ(store_->head_object("bkt", "mp")->owner, "ingestor");
  auto parts = store_->object_part_list("bkt", "mp");
  ASSERT_TRUE(parts);
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_TRUE((*parts)[0].checksums.empty());
  ASSERT_TRUE(store_->put_object_acl("bkt", "mp", "[[\"Group\",\"AllUsers\",\"READ\"]]"));
  EXPECT_EQ(store_->head_object("bkt", "mp")->acl, "[[\"Group\",\"AllUsers\",\"READ\"]]");
  EXPECT_EQ(store_->create_bucket("bkt", "alt").error().code, "BucketAlreadyExists");
  EXPECT_EQ(store_->create_bucket("bkt").error().code, "BucketAlreadyOwnedByYou");
}

TEST_F(ObjectStoreTest, RefusesADatabaseFromANewerVersion) {
  store_.reset();
  {
    auto db = SqliteDb::open(dir_ + "/meta.db");
    ASSERT_TRUE(db);
    ASSERT_TRUE((*db)->exec("PRAGMA user_version = 5"));
  }
  StoreOptions o;
  o.data_dir = dir_;
  auto s = ObjectStore::open(o);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("newer"), std::string::npos) << s.error().message;
  EXPECT_EQ(user_version(dir_ + "/meta.db"), 5);
}

}  // namespace
}  // namespace ingestor::store

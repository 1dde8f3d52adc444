#include "consumer/ledger.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

namespace ingestor::consumer {
namespace {

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ledger-test-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    path_ = dir_ + "/consumer.db";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<Ledger> open() {
    auto l = Ledger::open(path_);
    EXPECT_TRUE(l) << l.error().message;
    return std::move(*l);
  }
  static s3::ObjectNotice notice(std::string key, std::string etag = "e1") {
    return s3::ObjectNotice{"b", std::move(key), 10, std::move(etag), "t", "s"};
  }
  std::string dir_, path_;
};

TEST_F(LedgerTest, RepeatedNotificationIsANoOp) {
  auto l = open();
  auto a = l->enqueue(notice("k"), 100);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->inserted);
  EXPECT_EQ(a->item.state, ItemState::kPending);
  auto b = l->enqueue(notice("k"), 200);
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->inserted);
  EXPECT_EQ(b->item.id, a->item.id);
  EXPECT_EQ(b->item.deliveries, 2);
  EXPECT_EQ(b->item.received_ms, 100);
  // Done rows stay done: a late duplicate never causes a second download.
  auto c = l->claim(1000);
  ASSERT_TRUE(c && *c);
  ASSERT_TRUE(l->mark_done((*c)->id, "/dl/b/k", 10, 1001));
  auto d = l->enqueue(notice("k"), 300);
  EXPECT_FALSE(d->inserted);
  EXPECT_EQ(d->item.state, ItemState::kDone);
  EXPECT_EQ(d->item.path, "/dl/b/k");
  auto none = l->claim(2000);
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
}

TEST_F(LedgerTest, NewEtagOfTheSameKeyIsANewVersion) {
  auto l = open();
  ASSERT_TRUE(l->enqueue(notice("k", "e1"), 1));
  auto b = l->enqueue(notice("k", "e2"), 2);
  EXPECT_TRUE(b->inserted);
  auto rows = l->find("b", "k");
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].notice.etag, "e2");  // newest first
  // Versions of one key are never downloaded concurrently, and in arrival order.
  auto first = l->claim(10);
  EXPECT_EQ((*first)->notice.etag, "e1");
  auto second = l->claim(10);
  ASSERT_TRUE(second);
  EXPECT_FALSE(*second);
  ASSERT_TRUE(l->mark_done((*first)->id, "p", 10, 11));
  EXPECT_EQ((**l->claim(12)).notice.etag, "e2");
}

TEST_F(LedgerTest, RetryBackoffAndDeadLetterRevival) {
  auto l = open();
  ASSERT_TRUE(l->enqueue(notice("k"), 1));
  auto c = l->claim(10);
  EXPECT_EQ((*c)->attempts, 1);
  ASSERT_TRUE(l->mark_retry((*c)->id, "503 SlowDown", 500));
  EXPECT_FALSE(*l->claim(499));  // not due yet
  EXPECT_EQ(**l->next_due_ms(), 500);
  auto c2 = l->claim(500);
  ASSERT_TRUE(*c2);
  EXPECT_EQ((*c2)->attempts, 2);
  EXPECT_EQ((*c2)->last_error, "503 SlowDown");
  ASSERT_TRUE(l->mark_final((*c2)->id, ItemState::kFailed, "NoSuchBucket", 600));
  auto dead = l->list(ItemState::kFailed, 10);
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ((*dead)[0].last_error, "NoSuchBucket");
  EXPECT_EQ((*l->counts())[ItemState::kFailed], 1);
  EXPECT_FALSE(*l->next_due_ms());
  // A fresh notification of a dead letter gives it a fresh start.
  auto again = l->enqueue(notice("k"), 700);
  EXPECT_TRUE(again->revived);
  EXPECT_EQ(again->item.state, ItemState::kPending);
  EXPECT_EQ(again->item.attempts, 0);
  EXPECT_EQ(again->item.last_error, "NoSuchBucket");  // kept until it succeeds
}

TEST_F(LedgerTest, ASupersededVersionIsLookedForAgainAndTheSizeIsS3s) {
  // A forged notification for a version that was not there yet ends superseded; the genuine one
  // later must not be taken for a duplicate of it.
  auto l = open();
  ASSERT_TRUE(l->enqueue(notice("k"), 1));
  auto c = l->claim(10);
  ASSERT_TRUE(c && *c);
  ASSERT_TRUE(l->mark_final((*c)->id, ItemState::kSuperseded, "NoSuchKey", 11));
  auto again = l->enqueue(notice("k"), 20);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->revived);
  EXPECT_EQ(again->item.state, ItemState::kPending);
  EXPECT_EQ(again->item.attempts, 0);
  // The notification said 10 bytes; S3 says 12, and the ledger keeps S3's word.
  auto d = l->claim(30);
  ASSERT_TRUE(d && *d);
  ASSERT_TRUE(l->set_size((*d)->id, 12));
  EXPECT_EQ((*l->find("b", "k"))[0].notice.size, 12u);
  ASSERT_TRUE(l->mark_done((*d)->id, "p", 13, 31));
  EXPECT_EQ((*l->find("b", "k"))[0].notice.size, 13u);
  // A done row is not revived.
  EXPECT_FALSE(l->enqueue(notice("k"), 40)->revived);
}

TEST_F(LedgerTest, ReopenResumesInterruptedDownloadsAndKeepsEverything) {
  {
    auto l = open();
    ASSERT_TRUE(l->enqueue(notice("a"), 1));
    ASSERT_TRUE(l->enqueue(notice("b"), 2));
    ASSERT_TRUE(l->enqueue(notice("c"), 3));
    auto a = l->claim(10);
    ASSERT_TRUE(l->mark_done((*a)->id, "pa", 10, 11));
    ASSERT_TRUE(*l->claim(12));  // b: downloading when the process dies
  }
  auto l = open();
  EXPECT_EQ(l->resumed(), 1);
  auto counts = *l->counts();
  EXPECT_EQ(counts[ItemState::kDone], 1);
  EXPECT_EQ(counts[ItemState::kPending], 2);
  EXPECT_EQ(counts[ItemState::kDownloading], 0);
  auto b = l->claim(20);
  EXPECT_EQ((*b)->notice.key, "b");
  EXPECT_EQ((*b)->attempts, 2);  // the interrupted attempt counts
}

TEST_F(LedgerTest, KeysAreStoredByteForByte) {
  auto l = open();
  std::string key = "dir/a b+c%2B\xE2\x82\xAC";
  ASSERT_TRUE(l->enqueue(notice(key), 1));
  auto rows = l->find("b", key);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].notice.key, key);
  EXPECT_TRUE(l->find("b", "dir/a b+c+\xE2\x82\xAC")->empty());
}

}  // namespace
}  // namespace ingestor::consumer

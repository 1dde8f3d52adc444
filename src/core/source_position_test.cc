#include "core/source_position.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/channel.h"
#include "core/channel_processor.h"

namespace ingestor {
namespace {

// A channel that keeps committed events and, when `durable`, the committed position maps.
class PositionChannel : public Channel {
 public:
  PositionChannel(bool durable, bool fail_commit = false)
      : Channel("c1", "test"), durable_(durable), fail_commit_(fail_commit) {}

  class PosTx : public Transaction {
   public:
    explicit PosTx(PositionChannel& c) : c_(c) {}
    Status put(Batch& events) override {
      for (auto& e : events) puts_.push_back(std::move(e));
      events.clear();
      return {};
    }
    Result<size_t> take(size_t) override { return size_t{0}; }
    const Batch& taken() const override { return taken_; }
    Status commit() override {
      if (c_.fail_commit_) return make_error(Errc::kChannelFull, "full");
      for (auto& e : puts_) c_.events.push_back(std::move(e));
      if (update_) apply_position_update(c_.positions[update_->first], update_->second);
      ++c_.commits;
      return {};
    }
    void rollback(Batch* out) override {
      if (out)
        for (auto& e : puts_) out->push_back(std::move(e));
    }
    void set_position(std::string_view source, PositionUpdate u) override {
      update_.emplace(std::string(source), std::move(u));
    }

   private:
    PositionChannel& c_;
    Batch puts_, taken_;
    std::optional<std::pair<std::string, PositionUpdate>> update_;
  };

  Tx begin() override { return Tx(std::make_unique<PosTx>(*this)); }
  bool wait_for_events(std::chrono::milliseconds) override { return false; }
  void wake() override {}
  size_t size() const override { return events.size(); }
  size_t capacity() const override { return 1000; }
  size_t transaction_capacity() const override { return 100; }
  bool stores_positions() const override { return durable_; }
  std::optional<PositionMap> committed_positions(std::string_view source) const override {
    if (!durable_) return std::nullopt;
    auto it = positions.find(std::string(source));
    if (it == positions.end()) return std::nullopt;
    return it->second;
  }

  Batch events;
  std::map<std::string, PositionMap> positions;
  int commits = 0;

 private:
  bool durable_;
  bool fail_commit_;
};

// Drops every event.
class DropAll : public Interceptor {
 public:
  void intercept(Batch& events) override { events.clear(); }
};

Batch lines(std::initializer_list<const char*> bodies) {
  Batch b;
  for (const char* s : bodies) b.push_back(Event::of(s));
  return b;
}

class SourcePositionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("srcpos_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string file() const { return (dir_ / "sub" / "positions").string(); }
  std::filesystem::path dir_;
};

TEST(PositionUpdate, EmptyValueErasesAndLaterWins) {
  PositionMap m{{"a", "1"}, {"b", "2"}};
  apply_position_update(m, {{"a", ""}, {"c", "3"}, {"c", "4"}});
  EXPECT_EQ(m, (PositionMap{{"b", "2"}, {"c", "4"}}));
}

TEST(PositionFormat, RoundTripsAnyBytes) {
  auto f = default_position_format();
  PositionMap m{{std::string("in\node\0x", 8), "12 /var/log/a b\n"}, {"", "x"}, {"k", ""}};
  auto back = f.read(f.write(m));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, m);
}

TEST(PositionFormat, DamagedFilesAreErrors) {
  auto f = default_position_format();
  std::string good = f.write({{"key", "value"}});
  EXPECT_FALSE(f.read("garbage"));
  EXPECT_FALSE(f.read(good.substr(0, good.size() - 3)));  // torn
  EXPECT_FALSE(f.read(good + "99 1\nab"));                // length past the end
  EXPECT_FALSE(f.read(good + "x 1\n"));                   // not a number
  EXPECT_TRUE(f.read(good));
}

TEST_F(SourcePositionTest, OneDurableChannelCommitsPositionsWithTheEvents) {
  PositionChannel ch(/*durable=*/true);
  ChannelProcessor proc({}, ChannelSelector{{&ch}, {}, nullptr});
  SourcePositions pos("r1", proc, file());
  EXPECT_TRUE(pos.in_channel());
  auto start = pos.load();
  ASSERT_TRUE(start);
  EXPECT_FALSE(start->has_value());  // first start

  Batch b = lines({"x", "y"});
  PutProgress p;
  pos.attach(p, {{"inode1", "10"}});
  ASSERT_TRUE(proc.process(b, p));
  ASSERT_TRUE(pos.committed({{"inode1", "10"}}));
  EXPECT_EQ(ch.events.size(), 2u);
  EXPECT_EQ(ch.positions["r1"], (PositionMap{{"inode1", "10"}}));

  // A restart reads the channel's map, not the (informational) file.
  SourcePositions again("r1", proc, file());
  auto m = again.load();
  ASSERT_TRUE(m && m->has_value());
  EXPECT_EQ(**m, (PositionMap{{"inode1", "10"}}));
}

TEST_F(SourcePositionTest, ABatchTheInterceptorsDropStillMovesThePosition) {
  PositionChannel ch(true);
  std::vector<std::unique_ptr<Interceptor>> ic;
  ic.push_back(std::make_unique<DropAll>());
  ChannelProcessor proc(std::move(ic), ChannelSelector{{&ch}, {}, nullptr});
  SourcePositions pos("r1", proc, file());
  Batch b = lines({"dropped"});
  PutProgress p;
  pos.attach(p, {{"f", "7"}});
  ASSERT_TRUE(proc.process(b, p));
  EXPECT_TRUE(ch.events.empty());
  EXPECT_EQ(ch.positions["r1"], (PositionMap{{"f", "7"}}));
}

TEST_F(SourcePositionTest, MemoryChannelWritesTheFileAfterEachCommit) {
  PositionChannel ch(/*durable=*/false);
  ChannelProcessor proc({}, ChannelSelector{{&ch}, {}, nullptr});
  SourcePositions pos("r1", proc, file());
  EXPECT_FALSE(pos.in_channel());
  ASSERT_TRUE(pos.load());
  ASSERT_TRUE(pos.committed({{"a", "1"}, {"b", "2"}}));
  ASSERT_TRUE(pos.committed({{"a", ""}}));
  EXPECT_FALSE(std::filesystem::exists(file() + ".tmp"));

  SourcePositions again("r1", proc, file());
  auto m = again.load();
  ASSERT_TRUE(m && m->has_value());
  EXPECT_EQ(**m, (PositionMap{{"b", "2"}}));
}

TEST_F(SourcePositionTest, TwoRequiredChannelsUseTheFile) {
  PositionChannel a(true), b(true);
  ChannelProcessor proc({}, ChannelSelector{{&a, &b}, {}, nullptr});
  SourcePositions pos("r1", proc, file());
  EXPECT_FALSE(pos.in_channel());
}

TEST_F(SourcePositionTest, DurableChannelWithoutAMapFallsBackToTheFile) {
  // An agent replacing Flume: the channel is new, the position file is Flume's.
  {
    PositionChannel mem(false);
    ChannelProcessor proc({}, ChannelSelector{{&mem}, {}, nullptr});
    SourcePositions pos("r1", proc, file());
    ASSERT_TRUE(pos.committed({{"k", "v"}}));
  }
  PositionChannel ch(true);
  ChannelProcessor proc({}, ChannelSelector{{&ch}, {}, nullptr});
  SourcePositions pos("r1", proc, file());
  auto m = pos.load();
  ASSERT_TRUE(m && m->has_value());
  EXPECT_EQ(**m, (PositionMap{{"k", "v"}}));
}

TEST_F(SourcePositionTest, AnUnreadableFileIsAnErrorNamingIt) {
  std::filesystem::create_directories(dir_ / "sub");
  std::ofstream(file()) << "not positions";
  PositionChannel ch(false);
  ChannelProcessor proc({}, ChannelSelector{{&ch}, {}, nullptr});
  SourcePositions pos("r1", proc, file());
  auto m = pos.load();
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find(file()), std::string::npos);
}

TEST_F(SourcePositionTest, AFailedCommitLeavesThePositionWhereItWas) {
  PositionChannel ch(true, /*fail_commit=*/true);
  ChannelProcessor proc({}, ChannelSelector{{&ch}, {}, nullptr});
  SourcePositions pos("r1", proc, file());
  Batch b = lines({"x"});
  PutProgress p;
  pos.attach(p, {{"f", "1"}});
  EXPECT_FALSE(proc.process(b, p));
  EXPECT_EQ(b.size(), 1u);  // handed back for a retry
  EXPECT_TRUE(ch.positions.empty());
}

}  // namespace
}  // namespace ingestor

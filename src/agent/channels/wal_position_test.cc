// Positions in the file channel's formats (docs/formats/file_channel.md): the position block of
// a put record (format 2), position-only records, header checks, the scanner and LogReader over
// such records, format-1 segments and checkpoints still read, checkpoint positions round trip.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "agent/channels/channel_test_util.h"
#include "agent/channels/checkpoint.h"
#include "agent/channels/file_channel_v1_golden.h"
#include "agent/channels/log_reader.h"
#include "agent/channels/replay.h"
#include "agent/channels/wal.h"
#include "agent/channels/wal_format.h"
#include "base/hash.h"

namespace ingestor::fc {
namespace {

namespace stdfs = std::filesystem;

std::string temp_dir() { return test::per_test_dir("walpos"); }

Batch bodies(std::initializer_list<const char*> b) {
  Batch out;
  for (const char* s : b) out.push_back(Event::of(s));
  return out;
}

std::string sealed_put(const Batch& b, uint64_t first_seq, const PositionRecord* pos = nullptr) {
  std::string r;
  EXPECT_TRUE(encode_put(b, r, pos));
  seal_put(r, first_seq);
  return r;
}

TEST(WalPositionFormat, ARecordWithoutPositionIsTheFormatOneRecord) {
  Batch b = bodies({"hello", "x"});
  std::string r = sealed_put(b, 3);
  EXPECT_EQ(r.size(), kRecordHeaderSize + encoded_event_size(b[0]) + encoded_event_size(b[1]));
  EXPECT_EQ(r[9], 0);  // the position length bytes: 0, as format 1's reserved bytes
  EXPECT_EQ(r[10], 0);
  EXPECT_EQ(r[11], 0);
  RecordHeader h;
  ASSERT_TRUE(parse_record_header(r.data(), &h));
  EXPECT_EQ(h.position_len, 0u);
}

TEST(WalPositionFormat, PositionBlockOpensThePayloadBeforeTheEvents) {
  Batch b = bodies({"e1", "e2"});
  const PositionRecord pos{"taildir-1", {{"inode:12", "4096 /var/log/a.log"}, {"inode:9", ""}}};
  std::string r = sealed_put(b, 10, &pos);
  RecordHeader h;
  ASSERT_TRUE(parse_record_header(r.data(), &h));
  EXPECT_EQ(h.count, 2u);
  EXPECT_EQ(h.first_seq, 10u);
  EXPECT_EQ(h.position_len, encoded_position_size(pos.first, pos.second));
  const char* payload = r.data() + kRecordHeaderSize;
  PositionRecord back;
  EXPECT_EQ(read_position_block(payload, h.payload_len, &back.first, &back.second), h.position_len);
  EXPECT_EQ(back, pos);
  // The events follow the block, unchanged.
  ChunkRef chunk = ChunkRef::adopt(Chunk::make(r.size()));
  std::memcpy(chunk->data(), r.data(), r.size());
  const char* p = chunk->data() + kRecordHeaderSize + h.position_len;
  Event e;
  size_t n = event_size_at(p, h.payload_len - h.position_len);
  ASSERT_TRUE(decode_event(p, n, chunk, &e));
  EXPECT_EQ(e.body.str(), "e1");
}

TEST(WalPositionFormat, HeaderChecks) {
  const PositionRecord pos{"s", {{"k", "v"}}};
  std::string alone = sealed_put({}, 5, &pos);  // an update with no event
  RecordHeader h;
  ASSERT_TRUE(parse_record_header(alone.data(), &h));
  EXPECT_EQ(h.count, 0u);
  EXPECT_EQ(h.position_len, h.payload_len);

  std::string bad = alone;
  bad[9] = bad[10] = bad[11] = 0;  // no event and no position: never written
  EXPECT_FALSE(parse_record_header(bad.data(), &h));
  bad = alone;
  bad[11] = 1;  // a block longer than the payload
  EXPECT_FALSE(parse_record_header(bad.data(), &h));

  std::string take;
  encode_take({{1, 2}}, take);
  take[9] = 1;  // a take carries no position
  EXPECT_FALSE(parse_record_header(take.data(), &h));

  // An update over kMaxPositionBlock is refused by the encoder.
  const PositionRecord huge{"s", {{"k", std::string(kMaxPositionBlock, 'x')}}};
  std::string out;
  EXPECT_FALSE(encode_put({}, out, &huge));
}

TEST(WalPositionFormat, MalformedBlocksAreRefusedWithoutLargeAllocations) {
  const PositionRecord pos{"src", {{"a", "1"}, {"b", ""}}};
  std::string block(encoded_position_size(pos.first, pos.second), '\0');
  write_position_block(block.data(), pos.first, pos.second);
  std::string source;
  PositionUpdate u;
  EXPECT_EQ(read_position_block(block.data(), block.size(), &source, &u), block.size());
  for (size_t cut = 0; cut < block.size(); ++cut)
    EXPECT_EQ(read_position_block(block.data(), cut, &source, &u), 0u) << cut;
  std::string lie = block;
  put_u32(lie.data() + 4 + 3, 0xFFFFFFFFu);  // four billion entries in a few bytes
  EXPECT_EQ(read_position_block(lie.data(), lie.size(), &source, &u), 0u);
}

// Writes a segment file of `records` with a header of format `version`.
std::string write_segment(const std::string& dir, uint32_t id, uint32_t version,
                          const std::vector<std::string>& records) {
  std::string bytes = encode_segment_header(id, version);
  for (const auto& r : records) bytes += r;
  const std::string path = dir + "/" + segment_name(id);
  auto f = Fs::posix().open(path, OpenMode::kCreateTrunc);
  EXPECT_TRUE(f);
  struct iovec v {
    bytes.data(), bytes.size()
  };
  EXPECT_TRUE((*f)->writev(&v, 1));
  return path;
}

TEST(WalPositionFormat, SegmentVersions) {
  EXPECT_TRUE(check_segment_header(encode_segment_header(4).data(), 4));
  EXPECT_TRUE(check_segment_header(encode_segment_header(4, 1).data(), 4));  // format 1
  EXPECT_FALSE(check_segment_header(encode_segment_header(4, 3).data(), 4));
  EXPECT_FALSE(check_segment_header(encode_segment_header(4, 0).data(), 4));
}

TEST(WalPositionFormat, ReplayAppliesUpdatesInLogOrderAndLogReaderReadsThrough) {
  const std::string dir = temp_dir();
  const PositionRecord p1{"s1", {{"f", "1"}, {"g", "7"}}};
  const PositionRecord p2{"s1", {{"f", "2"}, {"g", ""}}};
  const PositionRecord q{"s2", {{"f", "x"}}};
  std::string t;
  encode_take({{1, 1}}, t);
  write_segment(dir, 1, kFormatVersion,
                {sealed_put(bodies({"a"}), 1, &p1), sealed_put({}, 2, &q),
                 sealed_put(bodies({"b", "c"}), 2, &p2), t, sealed_put(bodies({"d"}), 4)});
  auto r = replay(Fs::posix(), {dir}, std::nullopt);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->positions, (SourcePositionMaps{{"s1", {{"f", "2"}}}, {"s2", {{"f", "x"}}}}));
  EXPECT_EQ(r->next_seq, 5u);
  EXPECT_EQ(r->events, 3u);  // "a" was taken
  // One range over the puts, the position-only record and the take: LogReader reads through.
  ASSERT_EQ(r->queue.size(), 1u);
  LogReader reader(
      Fs::posix(), [&](uint32_t id) { return dir + "/" + segment_name(id); },
      [](uint32_t) { return UINT64_MAX; });
  Range range = r->queue.front();
  Batch out;
  auto o = reader.read(range, 10, out);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->corrupt, 0u);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].body.str(), "b");
  EXPECT_EQ(out[2].body.str(), "d");

  // A range read from the start of the segment, through every kind of record.
  Range all{1, 0, kSegmentHeaderSize, 1, 1, 4};
  out.clear();
  reader.drop_cache();
  o = reader.read(all, 10, out);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->corrupt, 0u);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].body.str(), "a");
  EXPECT_EQ(out[1].body.str(), "b");
}

TEST(WalPositionFormat, ChecksummedButMalformedBlockIsACorruptRecord) {
  const std::string dir = temp_dir();
  const PositionRecord p{"s", {{"k", "v"}}};
  std::string bad = sealed_put(bodies({"a"}), 1, &p);
  put_u32(bad.data() + kRecordHeaderSize + 4 + 1, 99);  // entry count past the block
  put_u32(bad.data(), record_crc(crc32c(std::string_view(bad.data() + kRecordHeaderSize,
                                                         bad.size() - kRecordHeaderSize)),
                                 bad.data()));
  const PositionRecord good{"s", {{"k", "w"}}};
  write_segment(dir, 1, kFormatVersion, {bad, sealed_put(bodies({"b"}), 2, &good)});
  auto r = replay(Fs::posix(), {dir}, std::nullopt);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->corrupt, 1);
  EXPECT_EQ(r->events, 1u);  // the damaged record's event is skipped with it
  EXPECT_EQ(r->positions, (SourcePositionMaps{{"s", {{"k", "w"}}}}));
}

TEST(WalPositionFormat, FormatOneSegmentReplaysWithTheNewCode) {
  const std::string dir = temp_dir();
  std::string t;
  encode_take({{1, 1}}, t);
  write_segment(dir, 1, 1, {sealed_put(bodies({"a", "b"}), 1), t});
  auto r = replay(Fs::posix(), {dir}, std::nullopt);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->corrupt, 0);
  EXPECT_EQ(r->events, 1u);
  EXPECT_TRUE(r->positions.empty());
}

TEST(CheckpointPositions, RoundTripAndDamage) {
  Checkpoint c;
  c.log_seg = 3;
  c.log_off = 100;
  c.next_seq = 50;
  c.queue.push_back(Range{2, 0, 32, 10, 10, 5});
  c.positions = {{"taildir", {{"inode:1", "10 /a"}, {"inode:2", "0 /b"}}}, {"spool", {}}};
  std::string bytes = encode_checkpoint(c);
  EXPECT_EQ(get_u32(bytes.data() + 8), kCheckpointVersion);
  auto back = decode_checkpoint(bytes);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, c);

  // Without positions: the size of a format-1 checkpoint.
  Checkpoint none = c;
  none.positions.clear();
  EXPECT_EQ(encode_checkpoint(none).size(), 48 + 40 + 4u);

  // A length that lies, with a valid checksum, is refused.
  std::string lie = bytes;
  put_u64(lie.data() + 40, get_u64(lie.data() + 40) - 1);
  put_u32(lie.data() + lie.size() - 4, crc32c(std::string_view(lie.data(), lie.size() - 4)));
  EXPECT_FALSE(decode_checkpoint(lie));
  std::string flipped = bytes;
  flipped[bytes.size() - 8] ^= 1;
  EXPECT_FALSE(decode_checkpoint(flipped));
}

TEST(CheckpointPositions, FormatOneCheckpointStillLoads) {
  auto c = decode_checkpoint(golden::kV1Checkpoint);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(get_u32(golden::kV1Checkpoint.data() + 8), 1u);
  EXPECT_TRUE(c->positions.empty());
  EXPECT_EQ(c->log_seg, 1u);
  EXPECT_EQ(c->next_seq, 4u);  // "a", "b", "c" were put before it
  ASSERT_EQ(c->queue.size(), 1u);
  EXPECT_EQ(c->queue[0].count, 3u);
}

}  // namespace
}  // namespace ingestor::fc

// The spooldir source's position value and tracker marker: round trips and damaged input.
#include "agent/sources/spool_state.h"

#include <gtest/gtest.h>

namespace ingestor {
namespace {

TEST(SpoolState, PositionRoundTripsAnyPath) {
  SpoolPosition p{"/spool/a b\n\xff/c", {42, 1000, -5}, 999};
  auto back = parse_spool_position(encode_spool_position(p));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, p);
  EXPECT_EQ(encode_spool_position({"/x", {1, 2, 3}, 2}), "spool1 2 1 2 3 /x");
}

TEST(SpoolState, DamagedPositionsAreErrors) {
  for (const char* bad : {"", "spool1", "spool1 ", "spool2 1 1 1 1 /x", "spool1 1 1 1 1 ",
                          "spool1 1 1 1 /x", "spool1 x 1 1 1 /x", "spool1 5 1 4 1 /x",
                          "spool1 99999999999999999999999 1 1 1 /x", "spool1 1  1 1 1 /x"}) {
    auto r = parse_spool_position(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().code, Errc::kCorrupt);
    }
  }
}

TEST(SpoolState, MarkerRoundTripsAndFlumesEmptyMarker) {
  SpoolFileId id{7, 8, 9};
  auto back = parse_spool_marker(encode_spool_marker(id));
  ASSERT_TRUE(back && *back);
  EXPECT_EQ(**back, id);
  auto empty = parse_spool_marker("");
  ASSERT_TRUE(empty);
  EXPECT_FALSE(*empty);
  for (const char* bad :
       {"x", "ingestor-spooldir-marker 1 7 8 9", "ingestor-spooldir-marker 1 7 8\n",
        "ingestor-spooldir-marker 1 7 8 9\nextra"})
    EXPECT_FALSE(parse_spool_marker(bad)) << bad;
}

}  // namespace
}  // namespace ingestor

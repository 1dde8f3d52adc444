// UUID interceptor: Flume's TestUUIDInterceptor checklist.
#include "agent/interceptors/uuid_interceptor.h"

#include <regex>
#include <set>

#include "agent/interceptors/test_util.h"

namespace ingestor {
namespace {

using interceptor_test::bodies;
using interceptor_test::settings;

TEST(UuidInterceptor, SetsARandomVersion4Id) {
  UuidInterceptor i(settings(uuid_interceptor_spec(), {}));
  Batch b = bodies({"a", "b", "c"});
  i.intercept(b);
  std::set<std::string> seen;
  const std::regex canonical("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  for (const auto& e : b) {
    const std::string* id = e.headers.find("id");
    ASSERT_NE(id, nullptr);
    EXPECT_TRUE(std::regex_match(*id, canonical)) << *id;
    seen.insert(*id);
  }
  EXPECT_EQ(seen.size(), 3u);
}

TEST(UuidInterceptor, PreserveExistingByDefaultPrefixAndHeaderName) {
  UuidInterceptor keep(settings(uuid_interceptor_spec(), {}));
  Batch b;
  b.push_back(Event::of("x", {{"id", "mine"}}));
  keep.intercept(b);
  EXPECT_EQ(*b[0].headers.find("id"), "mine");
  UuidInterceptor replace(settings(uuid_interceptor_spec(), {{"preserveExisting", "false"}}));
  replace.intercept(b);
  EXPECT_NE(*b[0].headers.find("id"), "mine");
  UuidInterceptor prefixed(
      settings(uuid_interceptor_spec(), {{"prefix", "bar#"}, {"headerName", "eventId"}}));
  Batch c = bodies({"y"});
  prefixed.intercept(c);
  const std::string* v = c[0].headers.find("eventId");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->substr(0, 4), "bar#");
  EXPECT_EQ(v->size(), 40u);
}

}  // namespace
}  // namespace ingestor

// regex_filter: Flume's TestRegexFilteringInterceptor checklist.
#include "agent/interceptors/regex_filter_interceptor.h"

#include "agent/interceptors/test_util.h"

namespace ingestor {
namespace {

using interceptor_test::bodies;
using interceptor_test::settings;

std::vector<std::string> kept(Context ctx, Batch b) {
  auto i = RegexFilterInterceptor::create(settings(regex_filter_interceptor_spec(), ctx));
  EXPECT_TRUE(i);
  (*i)->intercept(b);
  std::vector<std::string> out;
  for (auto& e : b) out.push_back(e.body.str());
  return out;
}

using V = std::vector<std::string>;

TEST(RegexFilterInterceptor, FlumeChecklist) {
  EXPECT_EQ(kept({}, bodies({"a", "", "INFO x"})), (V{"a", "", "INFO x"}));
  EXPECT_EQ(kept({{"regex", "(INFO.*)|(WARNING.*)"}},
                 bodies({"INFO: one", "DEBUG: two", "WARNING: three"})),
            (V{"INFO: one", "WARNING: three"}));
  EXPECT_EQ(kept({{"regex", ".*DEBUG.*"}, {"excludeEvents", "true"}},
                 bodies({"INFO: one", "DEBUG: two", "WARNING: three"})),
            (V{"INFO: one", "WARNING: three"}));
  // find(), not matches(): a partial match keeps the event.
  EXPECT_EQ(kept({{"regex", "rr"}}, bodies({"error here", "none"})), (V{"error here"}));
}

TEST(RegexFilterInterceptor, BadRegexNamesTheKey) {
  auto i = RegexFilterInterceptor::create(
      settings(regex_filter_interceptor_spec(), {{"regex", "?&?&&&?&?&?&&&??"}}));
  ASSERT_FALSE(i);
  EXPECT_EQ(i.error().message.rfind("regex", 0), 0u) << i.error().message;
}

}  // namespace
}  // namespace ingestor

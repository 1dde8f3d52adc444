#include "store/acl.h"

#include <gtest/gtest.h>

#include "store/cors.h"

namespace ingestor::store {
namespace {

const Users kUsers({{"ingestor", "AK1", "s1"}, {"alt", "AK2", "s2"}});
const User& kMain = kUsers.all()[0];
const User& kAlt = kUsers.all()[1];

TEST(AclTest, DefaultIsTheOwnersFullControlStoredAsEmpty) {
  EXPECT_EQ(grants_to_text(default_grants("ingestor"), "ingestor"), "");
  EXPECT_TRUE(acl_allows("ingestor", "", &kMain, kPermRead));
  EXPECT_FALSE(acl_allows("ingestor", "", &kAlt, kPermRead));
  EXPECT_FALSE(acl_allows("ingestor", "", nullptr, kPermRead));
  // An ACL that shuts the owner out still lets it read and write the ACL.
  EXPECT_FALSE(acl_allows("ingestor", "[]", &kMain, kPermRead));
  EXPECT_TRUE(acl_allows("ingestor", "[]", &kMain, kPermWriteAcp));
}

TEST(AclTest, CannedAclsAndWhoTheyLetIn) {
  auto pr = canned_acl("public-read", "ingestor", "ingestor");
  ASSERT_TRUE(pr);
  const std::string text = grants_to_text(*pr, "ingestor");
  EXPECT_EQ(text, R"([["Group","AllUsers","READ"],["CanonicalUser","ingestor","FULL_CONTROL"]])");
  EXPECT_TRUE(acl_allows("ingestor", text, nullptr, kPermRead));
  EXPECT_FALSE(acl_allows("ingestor", text, nullptr, kPermWrite));
  auto auth = canned_acl("authenticated-read", "ingestor", "ingestor");
  const std::string at = grants_to_text(*auth, "ingestor");
  EXPECT_TRUE(acl_allows("ingestor", at, &kAlt, kPermRead));
  EXPECT_FALSE(acl_allows("ingestor", at, nullptr, kPermRead));
  auto bor = canned_acl("bucket-owner-read", "alt", "ingestor");
  EXPECT_TRUE(acl_allows("alt", grants_to_text(*bor, "alt"), &kMain, kPermRead));
  EXPECT_EQ(canned_acl("public-ready", "ingestor", "ingestor").error().code, "InvalidArgument");
}

TEST(AclTest, HeaderGrants) {
  RawRequest r;
  r.headers = {{"x-amz-grant-read",
                "id=\"alt\", uri=\"http://acs.amazonaws.com/groups/global/"
                "AllUsers\""},
               {"x-amz-grant-write-acp", "id=alt"}};
  auto g = acl_from_headers(r, kUsers, "ingestor", "ingestor");
  ASSERT_TRUE(g && *g);
  EXPECT_EQ((*g)->size(), 3u);
  r.headers.push_back({"x-amz-acl", "private"});
  EXPECT_EQ(acl_from_headers(r, kUsers, "ingestor", "ingestor").error().code, "InvalidRequest");
  RawRequest unknown;
  unknown.headers = {{"x-amz-grant-read", "id=nobody"}};
  EXPECT_EQ(acl_from_headers(unknown, kUsers, "ingestor", "ingestor").error().code,
            "InvalidArgument");
  RawRequest email;
  email.headers = {{"x-amz-grant-read", "emailAddress=\"a@b.c\""}};
  EXPECT_EQ(acl_from_headers(email, kUsers, "ingestor", "ingestor").error().code,
            "UnresolvableGrantByEmailAddress");
  EXPECT_FALSE(*acl_from_headers(RawRequest{}, kUsers, "ingestor", "ingestor"));
}

TEST(AclTest, PolicyDocumentRoundTripAndMalformedInput) {
  Grants g{{Grant::Kind::kAllUsers, "", kPermRead}, {Grant::Kind::kUser, "alt", kPermWrite}};
  auto back = parse_acl_xml(acl_xml("ingestor", g), kUsers);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, g);
  for (const char* bad : {"", "<nope",
                          "<AccessControlPolicy><AccessControlList><Grant><Grantee>"
                          "<ID>alt</ID></Grantee><Permission>ALL</Permission></Grant>"
                          "</AccessControlList></AccessControlPolicy>",
                          "<Other/>"})
    EXPECT_EQ(parse_acl_xml(bad, kUsers).error().code, "MalformedACLError") << bad;
  EXPECT_EQ(parse_acl_xml("<AccessControlPolicy><AccessControlList><Grant><Grantee "
                          "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
                          "xsi:type=\"CanonicalUser\"><ID>_foo</ID></Grantee><Permission>READ"
                          "</Permission></Grant></AccessControlList></AccessControlPolicy>",
                          kUsers)
                .error()
                .code,
            "InvalidArgument");
  // Unreadable stored text reads as the default.
  EXPECT_EQ(grants_from_text("{junk", "ingestor"), default_grants("ingestor"));
}

TEST(AclTest, UserFlags) {
  auto u = parse_user_flag("alt:AKID:sec:ret");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->name, "alt");
  EXPECT_EQ(u->secret_key, "sec:ret");
  EXPECT_FALSE(parse_user_flag("alt:AKID"));
  EXPECT_FALSE(parse_user_flag("alt::s"));
  EXPECT_EQ(kUsers.validate(), "");
  EXPECT_NE(Users({{"ingestor", "A", "s"}, {"x", "A", "t"}}).validate(), "");
  EXPECT_NE(Users({{"ingestor", "A", ""}}).validate(), "");
  EXPECT_EQ(kUsers.by_access_key("AK2"), &kAlt);
  EXPECT_EQ(kUsers.by_access_key("AK3"), nullptr);
}

TEST(CorsTest, RulesMatchOriginsMethodsAndHeaders) {
  auto rules = parse_cors_config(
      "<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod><AllowedOrigin>*suffix"
      "</AllowedOrigin></CORSRule><CORSRule><AllowedMethod>PUT</AllowedMethod><AllowedOrigin>"
      "start*end</AllowedOrigin><AllowedHeader>x-amz-*</AllowedHeader></CORSRule>"
      "</CORSConfiguration>");
  ASSERT_TRUE(rules) << rules.error().message;
  EXPECT_TRUE(match_cors_rule(*rules, "foo.suffix", "GET", {}));
  EXPECT_FALSE(match_cors_rule(*rules, "foo.suffix.get", "GET", {}));
  EXPECT_FALSE(match_cors_rule(*rules, "foo.suffix", "PUT", {}));
  EXPECT_TRUE(match_cors_rule(*rules, "start12end", "PUT", {"x-amz-date"}));
  EXPECT_FALSE(match_cors_rule(*rules, "start12end", "PUT", {"authorization"}));
  EXPECT_FALSE(match_cors_rule(*rules, "0start12end", "PUT", {}));
  auto again = parse_cors_config(render_cors_config(*rules));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->size(), 2u);
  EXPECT_EQ((*again)[1].allowed_headers, std::vector<std::string>{"x-amz-*"});
  for (const char* bad : {"", "<CORSConfiguration/>",
                          "<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod>"
                          "</CORSRule></CORSConfiguration>",
                          "<CORSConfiguration><CORSRule><AllowedMethod>PATCH</AllowedMethod>"
                          "<AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>"})
    EXPECT_FALSE(parse_cors_config(bad)) << bad;
  auto h = cors_headers((*rules)[0], "foo.suffix", {}, false);
  EXPECT_EQ(h[0],
            (std::pair<std::string, std::string>{"Access-Control-Allow-Origin", "foo.suffix"}));
}

}  // namespace
}  // namespace ingestor::store

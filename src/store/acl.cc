#include "store/acl.h"

#include <algorithm>
#include <boost/json.hpp>
#include <pugixml.hpp>

#include "store/store_xml.h"

namespace ingestor::store {

namespace json = boost::json;

namespace {

constexpr std::string_view kAllUsersUri = "http://acs.amazonaws.com/groups/global/AllUsers";
constexpr std::string_view kAuthUsersUri =
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
constexpr std::string_view kLogDeliveryUri = "http://acs.amazonaws.com/groups/s3/LogDelivery";
constexpr size_t kMaxGrants = 100;

struct PermName {
  Permission perm;
  std::string_view name;
};
constexpr PermName kPermNames[] = {{kPermRead, "READ"},
                                   {kPermWrite, "WRITE"},
                                   {kPermReadAcp, "READ_ACP"},
                                   {kPermWriteAcp, "WRITE_ACP"},
                                   {kPermFullControl, "FULL_CONTROL"}};

std::optional<Permission> permission_of(std::string_view name) {
  for (const auto& p : kPermNames)
    if (p.name == name) return p.perm;
  return std::nullopt;
}

std::string_view permission_name(Permission p) {
  for (const auto& n : kPermNames)
    if (n.perm == p) return n.name;
  return "READ";
}

// Group grantees: their URI and the short name the stored form uses.
struct GroupName {
  Grant::Kind kind;
  std::string_view uri;
  std::string_view name;
};
constexpr GroupName kGroups[] = {
    {Grant::Kind::kAllUsers, kAllUsersUri, "AllUsers"},
    {Grant::Kind::kAuthenticatedUsers, kAuthUsersUri, "AuthenticatedUsers"},
    {Grant::Kind::kLogDelivery, kLogDeliveryUri, "LogDelivery"}};

std::optional<Grant::Kind> group_by_uri(std::string_view uri) {
  for (const auto& g : kGroups)
    if (g.uri == uri) return g.kind;
  return std::nullopt;
}

std::optional<Grant::Kind> group_by_name(std::string_view name) {
  for (const auto& g : kGroups)
    if (g.name == name) return g.kind;
  return std::nullopt;
}

const GroupName* group_of(Grant::Kind k) {
  for (const auto& g : kGroups)
    if (g.kind == k) return &g;
  return nullptr;
}

bool grantee_matches(const Grant& g, const User* who) {
  switch (g.kind) {
    case Grant::Kind::kAllUsers:
      return true;
    case Grant::Kind::kAuthenticatedUsers:
      return who != nullptr;
    case Grant::Kind::kLogDelivery:
      return false;  // no log delivery in this store
    case Grant::Kind::kUser:
      return who != nullptr && who->name == g.id;
  }
  return false;
}

// Group grantees first, users after, each in the order given (how canned ACLs list them too).
void groups_first(Grants& g) {
  std::stable_partition(g.begin(), g.end(),
                        [](const Grant& x) { return x.kind != Grant::Kind::kUser; });
}

ApiError unknown_user(std::string_view id) {
  return err::invalid_argument("Invalid id", "CanonicalUser/ID", std::string(id));
}

// Local name of an element or attribute (without a namespace prefix).
std::string_view local(std::string_view s) {
  auto c = s.find(':');
  return c == std::string_view::npos ? s : s.substr(c + 1);
}

pugi::xml_node child(const pugi::xml_node& n, std::string_view name) {
  for (auto c : n.children())
    if (c.type() == pugi::node_element && local(c.name()) == name) return c;
  return {};
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// One grantee of an x-amz-grant-* header: id="...", uri="..." or emailAddress="...".
ApiResult<Grant> parse_header_grantee(std::string_view item, Permission perm, const Users& users) {
  item = trim(item);
  auto eq = item.find('=');
  if (eq == std::string_view::npos)
    return err::invalid_argument("Invalid grantee in an x-amz-grant-* header", "x-amz-grant",
                                 std::string(item));
  std::string_view type = trim(item.substr(0, eq));
  std::string_view value = trim(item.substr(eq + 1));
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
    value = value.substr(1, value.size() - 2);
  std::string t(type);
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  Grant g;
  g.permission = perm;
  if (t == "id") {
    if (!users.by_name(value)) return unknown_user(value);
    g.kind = Grant::Kind::kUser;
    g.id = std::string(value);
    return g;
  }
  if (t == "uri") {
    auto k = group_by_uri(value);
    if (!k) return err::invalid_argument("Invalid group uri", "uri", std::string(value));
    g.kind = *k;
    return g;
  }
  if (t == "emailaddress") return err::unresolvable_email(std::string(value));
  return err::invalid_argument("Invalid grantee type in an x-amz-grant-* header", "x-amz-grant",
                               std::string(item));
}

}  // namespace

namespace err {
ApiError malformed_acl() {
  return {"MalformedACLError", 400,
          "The XML you provided was not well-formed or did not validate against our published "
          "schema"};
}
ApiError unresolvable_email(const std::string& email) {
  return ApiError("UnresolvableGrantByEmailAddress", 400,
                  "The e-mail address you provided does not match any account on record.")
      .with("EmailAddress", email);
}
}  // namespace err

// ---- users --------------------------------------------------------------------------------------

std::string Users::validate() const {
  if (users_.empty()) return "no user";
  for (size_t i = 0; i < users_.size(); ++i) {
    const User& u = users_[i];
    if (u.name.empty() || u.name.size() > 64 ||
        u.name.find_first_not_of(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") !=
            std::string::npos)
      return "user name '" + u.name + "' must be 1-64 characters of A-Z a-z 0-9 . _ -";
    if (u.access_key.empty()) return "user '" + u.name + "' has an empty access key";
    if (u.secret_key.empty()) return "user '" + u.name + "' has an empty secret key";
    for (size_t j = 0; j < i; ++j) {
      if (users_[j].name == u.name) return "user name '" + u.name + "' is used twice";
      if (users_[j].access_key == u.access_key)
        return "access key '" + u.access_key + "' is given to two users";
    }
  }
  return "";
}

const User* Users::by_access_key(std::string_view access_key) const {
  for (const auto& u : users_)
    if (u.access_key == access_key) return &u;
  return nullptr;
}

const User* Users::by_name(std::string_view name) const {
  for (const auto& u : users_)
    if (u.name == name) return &u;
  return nullptr;
}

std::optional<User> parse_user_flag(std::string_view v) {
  auto a = v.find(':');
  if (a == std::string_view::npos) return std::nullopt;
  auto b = v.find(':', a + 1);
  if (b == std::string_view::npos) return std::nullopt;
  User u{std::string(v.substr(0, a)), std::string(v.substr(a + 1, b - a - 1)),
         std::string(v.substr(b + 1))};
  if (u.name.empty() || u.access_key.empty() || u.secret_key.empty()) return std::nullopt;
  return u;
}

// ---- grants -------------------------------------------------------------------------------------

Grants default_grants(const std::string& owner) {
  return {Grant{Grant::Kind::kUser, owner, kPermFullControl}};
}

std::string grants_to_text(const Grants& grants, const std::string& owner) {
  if (grants == default_grants(owner)) return "";
  json::array a;
  for (const auto& g : grants) {
    json::array e;
    if (g.kind == Grant::Kind::kUser) {
      e.emplace_back("CanonicalUser");
      e.emplace_back(json::string(g.id));
    } else {
      e.emplace_back("Group");
      e.emplace_back(json::string(group_of(g.kind)->name));
    }
    e.emplace_back(json::string(permission_name(g.permission)));
    a.push_back(std::move(e));
  }
  return json::serialize(a);
}

Grants grants_from_text(std::string_view text, const std::string& owner) {
  if (text.empty()) return default_grants(owner);
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_array()) return default_grants(owner);
  Grants out;
  for (const auto& e : v.as_array()) {
    if (!e.is_array() || e.as_array().size() != 3) continue;
    const auto& a = e.as_array();
    if (!a[0].is_string() || !a[1].is_string() || !a[2].is_string()) continue;
    auto perm = permission_of(a[2].as_string());
    if (!perm) continue;
    Grant g;
    g.permission = *perm;
    if (a[0].as_string() == "CanonicalUser") {
      g.kind = Grant::Kind::kUser;
      g.id = std::string(a[1].as_string());
    } else {
      auto k = group_by_name(a[1].as_string());
      if (!k) continue;
      g.kind = *k;
    }
    out.push_back(std::move(g));
  }
  return out;
}

bool acl_allows(std::string_view owner, std::string_view acl, const User* who, Permission perm) {
  const bool is_owner = who != nullptr && who->name == owner;
  if (is_owner && (perm == kPermReadAcp || perm == kPermWriteAcp)) return true;
  if (acl.empty()) return is_owner;  // the default: the owner's FULL_CONTROL
  for (const auto& g : grants_from_text(acl, std::string(owner))) {
    if ((g.permission & perm) == perm && grantee_matches(g, who)) return true;
  }
  return false;
}

ApiResult<Grants> canned_acl(std::string_view name, const std::string& owner,
                             const std::string& bucket_owner) {
  using K = Grant::Kind;
  const Grant owner_fc{K::kUser, owner, kPermFullControl};
  if (name == "private") return Grants{owner_fc};
  if (name == "public-read") return Grants{{K::kAllUsers, "", kPermRead}, owner_fc};
  if (name == "public-read-write")
    return Grants{{K::kAllUsers, "", kPermRead}, {K::kAllUsers, "", kPermWrite}, owner_fc};
  if (name == "authenticated-read")
    return Grants{{K::kAuthenticatedUsers, "", kPermRead}, owner_fc};
  if (name == "bucket-owner-read" || name == "bucket-owner-full-control") {
    Grants g{owner_fc};
    if (bucket_owner != owner)
      g.push_back(
          {K::kUser, bucket_owner, name == "bucket-owner-read" ? kPermRead : kPermFullControl});
    return g;
  }
  if (name == "log-delivery-write")
    return Grants{{K::kLogDelivery, "", kPermWrite}, {K::kLogDelivery, "", kPermReadAcp}, owner_fc};
  return err::invalid_argument("Invalid canned ACL", "x-amz-acl", std::string(name));
}

ApiResult<std::optional<Grants>> acl_from_headers(const RawRequest& req, const Users& users,
                                                  const std::string& owner,
                                                  const std::string& bucket_owner) {
  static constexpr std::pair<const char*, Permission> kHeaders[] = {
      {"x-amz-grant-read", kPermRead},
      {"x-amz-grant-write", kPermWrite},
      {"x-amz-grant-read-acp", kPermReadAcp},
      {"x-amz-grant-write-acp", kPermWriteAcp},
      {"x-amz-grant-full-control", kPermFullControl}};
  auto canned = req.header("x-amz-acl");
  Grants grants;
  bool any_grant = false;
  for (const auto& [name, perm] : kHeaders) {
    auto v = req.header(name);
    if (!v) continue;
    any_grant = true;
    size_t i = 0;
    while (i <= v->size()) {
      size_t j = v->find(',', i);
      if (j == std::string::npos) j = v->size();
      std::string_view item(v->data() + i, j - i);
      if (!trim(item).empty()) {
        auto g = parse_header_grantee(item, perm, users);
        if (!g) return g.error();
        grants.push_back(std::move(*g));
      }
      i = j + 1;
    }
  }
  if (canned && any_grant)
    return err::invalid_request("Specifying both Canned ACLs and Header Grants is not allowed");
  if (canned) {
    auto g = canned_acl(*canned, owner, bucket_owner);
    if (!g) return g.error();
    return std::optional<Grants>(std::move(*g));
  }
  if (!any_grant) return std::optional<Grants>();
  if (grants.size() > kMaxGrants) return err::malformed_acl();
  groups_first(grants);
  return std::optional<Grants>(std::move(grants));
}

// ---- AccessControlPolicy ------------------------------------------------------------------------

std::string acl_xml(const std::string& owner, const Grants& grants) {
  std::string out =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<AccessControlPolicy "
      "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Owner><ID>";
  out += xml_escape(owner);
  out += "</ID><DisplayName>";
  out += xml_escape(owner);
  out += "</DisplayName></Owner><AccessControlList>";
  for (const auto& g : grants) {
    out += "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"";
    if (g.kind == Grant::Kind::kUser) {
      out += "CanonicalUser\"><ID>";
      out += xml_escape(g.id);
      out += "</ID><DisplayName>";
      out += xml_escape(g.id);
      out += "</DisplayName>";
    } else {
      out += "Group\"><URI>";
      out += group_of(g.kind)->uri;
      out += "</URI>";
    }
    out += "</Grantee><Permission>";
    out += permission_name(g.permission);
    out += "</Permission></Grant>";
  }
  out += "</AccessControlList></AccessControlPolicy>";
  return out;
}

ApiResult<Grants> parse_acl_xml(std::string_view xml, const Users& users) {
  pugi::xml_document doc;
  auto r = doc.load_buffer(xml.data(), xml.size(),
                           pugi::parse_default | pugi::parse_ws_pcdata_single, pugi::encoding_utf8);
  if (!r || !doc.document_element()) return err::malformed_acl();
  auto root = doc.document_element();
  if (local(root.name()) != "AccessControlPolicy") return err::malformed_acl();
  auto list = child(root, "AccessControlList");
  Grants grants;
  if (!list) return grants;
  for (auto gn : list.children()) {
    if (gn.type() != pugi::node_element) continue;
    if (local(gn.name()) != "Grant") return err::malformed_acl();
    auto grantee = child(gn, "Grantee");
    auto perm_node = child(gn, "Permission");
    if (!grantee || !perm_node) return err::malformed_acl();
    auto perm = permission_of(perm_node.text().get());
    if (!perm) return err::malformed_acl();
    std::string type;
    for (auto a : grantee.attributes())
      if (local(a.name()) == "type") type = a.value();
    Grant g;
    g.permission = *perm;
    auto id = child(grantee, "ID");
    auto uri = child(grantee, "URI");
    auto email = child(grantee, "EmailAddress");
    if (type.empty())
      type = id ? "CanonicalUser" : uri ? "Group" : email ? "AmazonCustomerByEmail" : "";
    if (type == "CanonicalUser") {
      if (!id) return err::malformed_acl();
      if (!users.by_name(id.text().get())) return unknown_user(id.text().get());
      g.kind = Grant::Kind::kUser;
      g.id = id.text().get();
    } else if (type == "Group") {
      if (!uri) return err::malformed_acl();
      auto k = group_by_uri(uri.text().get());
      if (!k) return err::invalid_argument("Invalid group uri", "Group/URI", uri.text().get());
      g.kind = *k;
    } else if (type == "AmazonCustomerByEmail") {
      if (!email) return err::malformed_acl();
      return err::unresolvable_email(email.text().get());
    } else {
      return err::malformed_acl();
    }
    if (std::find(grants.begin(), grants.end(), g) == grants.end()) grants.push_back(std::move(g));
    if (grants.size() > kMaxGrants) return err::malformed_acl();
  }
  groups_first(grants);
  return grants;
}

}  // namespace ingestor::store

#include "s3/credentials.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>

#include "base/file.h"
#include "base/log.h"

namespace ingestor::s3 {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::string env_or(const EnvLookup& env, std::string_view name, std::string fallback = {}) {
  auto v = env(name);
  return v && !v->empty() ? *v : fallback;
}

const std::vector<std::pair<std::string, std::string>>* find_section(const IniFile& ini,
                                                                     std::string_view name) {
  for (const auto& [section, keys] : ini)
    if (section == name) return &keys;
  return nullptr;
}

std::optional<std::string> find_key(const std::vector<std::pair<std::string, std::string>>& keys,
                                    std::string_view name) {
  for (const auto& [k, v] : keys)
    if (k == name) return v;
  return std::nullopt;
}

}  // namespace

EnvLookup process_env() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

IniFile parse_ini(std::string_view text) {
  IniFile out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (!raw.empty() && (raw.front() == ' ' || raw.front() == '\t')) continue;  // nested setting
    std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      size_t close = line.find(']');
      if (close == std::string_view::npos) continue;
      std::string_view name = trim(line.substr(1, close - 1));
      // Collapse inner runs of blanks: "[profile   x]" is "profile x".
      std::string norm;
      for (char c : name) {
        if (c == ' ' || c == '\t') {
          if (!norm.empty() && norm.back() != ' ') norm += ' ';
        } else {
          norm += c;
        }
      }
      out.emplace_back(std::move(norm), std::vector<std::pair<std::string, std::string>>{});
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos || out.empty()) continue;
    out.back().second.emplace_back(std::string(trim(line.substr(0, eq))),
                                   std::string(trim(line.substr(eq + 1))));
  }
  return out;
}

std::optional<TimePoint> parse_iso8601(std::string_view s) {
  if (s.size() < 19) return std::nullopt;
  std::string str(s);
  int y, mo, d, h, mi, sec;
  char t;
  if (std::sscanf(str.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d", &y, &mo, &d, &t, &h, &mi, &sec) != 7)
    return std::nullopt;
  if ((t != 'T' && t != 't' && t != ' ') || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
      mi > 59 || sec > 60)
    return std::nullopt;
  std::string_view rest = s.substr(19);
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9') rest.remove_prefix(1);
  }
  if (!(rest == "Z" || rest == "z" || rest == "+00:00" || rest.empty())) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

// ---- static and env ----------------------------------------------------------------------------

Result<std::optional<TimedCredentials>> StaticCredentialsProvider::load() {
  if (creds_.access_key_id.empty() || creds_.secret_access_key.empty())
    return make_error(Errc::kConfig,
                      "explicit AWS credentials need both an access key id and a "
                      "secret access key");
  return std::optional<TimedCredentials>(TimedCredentials{creds_, std::nullopt});
}

Result<std::optional<TimedCredentials>> EnvCredentialsProvider::load() {
  std::string akid = env_or(env_, "AWS_ACCESS_KEY_ID");
  std::string secret = env_or(env_, "AWS_SECRET_ACCESS_KEY");
  if (akid.empty() && secret.empty()) return std::optional<TimedCredentials>();
  if (akid.empty() || secret.empty())
    return make_error(Errc::kConfig,
                      akid.empty() ? "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not"
                                   : "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
  TimedCredentials tc;
  tc.credentials.access_key_id = akid;
  tc.credentials.secret_access_key = secret;
  tc.credentials.session_token =
      env_or(env_, "AWS_SESSION_TOKEN", env_or(env_, "AWS_SECURITY_TOKEN"));
  std::string exp = env_or(env_, "AWS_CREDENTIAL_EXPIRATION");
  if (!exp.empty()) {
    tc.expiration = parse_iso8601(exp);
    if (!tc.expiration)
      return make_error(Errc::kConfig, "AWS_CREDENTIAL_EXPIRATION is not an ISO 8601 time: " + exp);
  }
  return std::optional<TimedCredentials>(std::move(tc));
}

// ---- shared files ------------------------------------------------------------------------------

ProfileCredentialsProvider::ProfileCredentialsProvider(EnvLookup env, std::string profile)
    : env_(std::move(env)), profile_override_(std::move(profile)) {}

std::string ProfileCredentialsProvider::profile() const {
  if (!profile_override_.empty()) return profile_override_;
  return env_or(env_, "AWS_PROFILE", env_or(env_, "AWS_DEFAULT_PROFILE", "default"));
}

static std::string expand_home(const EnvLookup& env, std::string path) {
  if (!path.empty() && path[0] == '~') path = env_or(env, "HOME", "") + path.substr(1);
  return path;
}

std::string ProfileCredentialsProvider::credentials_file() const {
  return expand_home(env_, env_or(env_, "AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"));
}

std::string ProfileCredentialsProvider::config_file() const {
  return expand_home(env_, env_or(env_, "AWS_CONFIG_FILE", "~/.aws/config"));
}

std::string ProfileCredentialsProvider::name() const {
  return fmt::format("{} and {} (profile {})", credentials_file(), config_file(), profile());
}

Result<std::optional<TimedCredentials>> ProfileCredentialsProvider::load() {
  const std::string prof = profile();
  const bool explicit_profile = prof != "default";
  bool profile_seen = false;
  // Credentials file: sections "[name]"; config file: "[default]" or "[profile name]".
  const std::pair<std::string, std::string> files[] = {
      {credentials_file(), prof},
      {config_file(), prof == "default" ? prof : "profile " + prof},
  };
  for (const auto& [path, section_name] : files) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) continue;
    auto text = read_file(path);
    if (!text) return text.error();
    IniFile ini = parse_ini(*text);
    const auto* keys = find_section(ini, section_name);
    if (!keys && section_name == "default") keys = find_section(ini, "profile default");
    if (!keys) continue;
    profile_seen = true;
    auto akid = find_key(*keys, "aws_access_key_id");
    auto secret = find_key(*keys, "aws_secret_access_key");
    if (akid && secret && !akid->empty() && !secret->empty()) {
      TimedCredentials tc;
      tc.credentials.access_key_id = *akid;
      tc.credentials.secret_access_key = *secret;
      auto token = find_key(*keys, "aws_session_token");
      if (!token) token = find_key(*keys, "aws_security_token");
      if (token) tc.credentials.session_token = *token;
      return std::optional<TimedCredentials>(std::move(tc));
    }
    if (akid || secret)
      return make_error(Errc::kConfig, fmt::format("{}: profile {} has only one of "
                                                   "aws_access_key_id and aws_secret_access_key",
                                                   path, prof));
    for (const char* k : {"role_arn", "credential_process", "sso_session", "sso_start_url",
                          "web_identity_token_file", "login_session"})
      if (find_key(*keys, k))
        return make_error(Errc::kUnsupported,
                          fmt::format("{}: profile {} uses {}, which ingestor does not support; "
                                      "give static keys or use env, container or IMDS credentials",
                                      path, prof, k));
  }
  if (explicit_profile && !profile_seen)
    return make_error(Errc::kConfig, fmt::format("AWS profile {} not found in {} or {}", prof,
                                                 credentials_file(), config_file()));
  return std::optional<TimedCredentials>();
}

// ---- the chain ---------------------------------------------------------------------------------

CredentialsChain::CredentialsChain(std::vector<std::unique_ptr<CredentialsProvider>> providers,
                                   std::function<TimePoint()> clock,
                                   std::chrono::seconds refresh_before)
    : providers_(std::move(providers)),
      clock_(clock ? std::move(clock) : [] { return std::chrono::system_clock::now(); }),
      refresh_before_(refresh_before) {}

std::shared_ptr<CredentialsChain> CredentialsChain::make_default(CredentialsChainOptions opts) {
  EnvLookup env = opts.env ? opts.env : process_env();
  std::vector<std::unique_ptr<CredentialsProvider>> p;
  if (opts.explicit_credentials)
    p.push_back(std::make_unique<StaticCredentialsProvider>(*opts.explicit_credentials));
  p.push_back(std::make_unique<EnvCredentialsProvider>(env));
  p.push_back(std::make_unique<ProfileCredentialsProvider>(env, opts.profile));
  p.push_back(std::make_unique<ContainerCredentialsProvider>(env, opts.metadata));
  p.push_back(std::make_unique<ImdsCredentialsProvider>(env, opts.metadata, opts.clock));
  return std::make_shared<CredentialsChain>(std::move(p), opts.clock, opts.refresh_before);
}

Result<Credentials> CredentialsChain::get() {
  std::lock_guard lock(mu_);
  const TimePoint now = clock_();
  if (cached_ && (!cached_->expiration || now < *cached_->expiration - refresh_before_))
    return cached_->credentials;
  if (cached_) {
    // Temporary credentials close to expiry: refresh from the provider that gave them.
    auto r = providers_[active_]->load();
    if (r && *r) {
      cached_ = std::move(**r);
      return cached_->credentials;
    }
    if (now < *cached_->expiration) {
      log::warn(
          "AWS credentials from {} expire soon and could not be refreshed ({}); using them "
          "until they expire",
          providers_[active_]->name(), r ? "none returned" : r.error().message);
      return cached_->credentials;
    }
    cached_.reset();
  }
  return load_chain(now);
}

Result<Credentials> CredentialsChain::load_chain(TimePoint now) {
  std::string tried;
  for (size_t i = 0; i < providers_.size(); ++i) {
    auto r = providers_[i]->load();
    if (!r) {
      Error e = r.error();
      e.message = "AWS credentials from " + providers_[i]->name() + ": " + e.message;
      return e;
    }
    if (*r) {
      if ((*r)->expiration && *(*r)->expiration <= now)
        return make_error(
            Errc::kAuth, "AWS credentials from " + providers_[i]->name() + " have already expired");
      cached_ = std::move(**r);
      active_ = i;
      log::debug("AWS credentials from {}", providers_[i]->name());
      return cached_->credentials;
    }
    if (!tried.empty()) tried += ", ";
    tried += providers_[i]->name();
  }
  return make_error(Errc::kAuth, "no AWS credentials found: tried " + tried);
}

void CredentialsChain::invalidate() {
  std::lock_guard lock(mu_);
  cached_.reset();
}

std::string CredentialsChain::source() const {
  std::lock_guard lock(mu_);
  return cached_ ? providers_[active_]->name() : std::string();
}

}  // namespace ingestor::s3

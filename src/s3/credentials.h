#pragma once
// AWS credentials for the S3 client: the standard provider chain in botocore's order
// (aws.md 5.1; botocore credentials.py create_credential_resolver), minus assume-role, web
// identity, SSO and credential_process, which are reported as unsupported when a profile uses them:
//
//   1. explicit keys (configuration)            StaticCredentialsProvider
//   2. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN     EnvCredentialsProvider
//   3. ~/.aws/credentials then ~/.aws/config, profile from AWS_PROFILE (or AWS_DEFAULT_PROFILE,
//      else "default"); files from AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE
//                                                ProfileCredentialsProvider
//   4. container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (http://169.254.170.2<uri>)
//      or _FULL_URI, with Authorization from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or
//      AWS_CONTAINER_AUTHORIZATION_TOKEN            ContainerCredentialsProvider
//   5. EC2 instance metadata, IMDSv2 (token PUT, role name, credentials JSON); endpoint from
//      AWS_EC2_METADATA_SERVICE_ENDPOINT; off with AWS_EC2_METADATA_DISABLED=true
//                                                ImdsCredentialsProvider
//
// A provider that finds nothing returns nullopt and the chain moves on; a provider that is
// configured but broken (a profile named in AWS_PROFILE that does not exist, a container endpoint
// that answers 500) returns an error, which stops the chain, as botocore does.
//
// CredentialsChain caches what it found and refreshes temporary credentials `refresh_before`
// their expiration from the provider that produced them; if that refresh fails while the cached
// credentials are still valid, it keeps them (warning log) and tries again on the next call.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "s3/sigv4.h"

namespace ingestor::net {
class HttpClient;
}

namespace ingestor::s3 {

struct TimedCredentials {
  Credentials credentials;
  std::optional<TimePoint> expiration;  // nullopt: long-term keys
};

// Reads an environment variable (nullopt when unset). Injected so tests need not touch the
// process environment; process_env() reads ::getenv.
using EnvLookup = std::function<std::optional<std::string>(std::string_view)>;
EnvLookup process_env();

// One source of credentials. load() may do I/O (files, HTTP); implementations are thread-safe.
class CredentialsProvider {
 public:
  virtual ~CredentialsProvider() = default;
  // Credentials, nullopt when this source has none, or an error when it is configured but broken.
  [[nodiscard]] virtual Result<std::optional<TimedCredentials>> load() = 0;
  // For messages: "env", "~/.aws/credentials (profile default)", "container", "IMDS".
  virtual std::string name() const = 0;
};

// What S3Client asks for credentials before signing each request. Thread-safe.
class CredentialsSource {
 public:
  virtual ~CredentialsSource() = default;
  [[nodiscard]] virtual Result<Credentials> get() = 0;
  // The server rejected the credentials (ExpiredToken...): the next get() reloads them.
  virtual void invalidate() {}
};

class StaticCredentialsProvider : public CredentialsProvider {
 public:
  explicit StaticCredentialsProvider(Credentials c) : creds_(std::move(c)) {}
  Result<std::optional<TimedCredentials>> load() override;
  std::string name() const override { return "explicit configuration"; }

 private:
  Credentials creds_;
};

class EnvCredentialsProvider : public CredentialsProvider {
 public:
  explicit EnvCredentialsProvider(EnvLookup env) : env_(std::move(env)) {}
  Result<std::optional<TimedCredentials>> load() override;
  std::string name() const override { return "env"; }

 private:
  EnvLookup env_;
};

// Shared files. `profile` overrides AWS_PROFILE when not empty.
class ProfileCredentialsProvider : public CredentialsProvider {
 public:
  ProfileCredentialsProvider(EnvLookup env, std::string profile = {});
  Result<std::optional<TimedCredentials>> load() override;
  std::string name() const override;

  std::string profile() const;
  std::string credentials_file() const;
  std::string config_file() const;

 private:
  EnvLookup env_;
  std::string profile_override_;
};

struct MetadataOptions {
  std::chrono::milliseconds timeout{1000};  // per HTTP call (botocore: 1 s)
  int attempts = 1;                         // per call, on network errors (botocore: 1)
};

class ContainerCredentialsProvider : public CredentialsProvider {
 public:
  ContainerCredentialsProvider(EnvLookup env, MetadataOptions opts = {});
  ~ContainerCredentialsProvider() override;
  Result<std::optional<TimedCredentials>> load() override;
  std::string name() const override { return "container"; }

 private:
  EnvLookup env_;
  MetadataOptions opts_;
  std::unique_ptr<net::HttpClient> http_;
};

// IMDSv2 with IMDSv1 fallback when the token PUT answers 403/404/405. The session token is cached
// for its TTL (21600 s) and renewed a minute before; a 401 on a GET renews it once.
class ImdsCredentialsProvider : public CredentialsProvider {
 public:
  ImdsCredentialsProvider(EnvLookup env, MetadataOptions opts = {},
                          std::function<TimePoint()> clock = {});
  ~ImdsCredentialsProvider() override;
  Result<std::optional<TimedCredentials>> load() override;
  std::string name() const override { return "IMDS"; }

  static constexpr int kTokenTtlSeconds = 21600;

 private:
  EnvLookup env_;
  MetadataOptions opts_;
  std::function<TimePoint()> clock_;
  std::unique_ptr<net::HttpClient> http_;
  std::mutex mu_;             // serializes load()
  std::string token_;         // guarded by mu_; empty = none (or IMDSv1)
  TimePoint token_expiry_{};  // guarded by mu_
};

struct CredentialsChainOptions {
  // Explicit keys (first in the chain) when set.
  std::optional<Credentials> explicit_credentials;
  std::string profile;               // overrides AWS_PROFILE
  EnvLookup env;                     // default: process_env()
  std::function<TimePoint()> clock;  // default: system_clock::now
  std::chrono::seconds refresh_before{300};
  MetadataOptions metadata;
};

// The caching chain. Thread-safe; one load at a time (concurrent callers wait for it).
class CredentialsChain : public CredentialsSource {
 public:
  CredentialsChain(std::vector<std::unique_ptr<CredentialsProvider>> providers,
                   std::function<TimePoint()> clock = {},
                   std::chrono::seconds refresh_before = std::chrono::seconds(300));
  // The standard chain described at the top of this file.
  static std::shared_ptr<CredentialsChain> make_default(CredentialsChainOptions opts = {});

  Result<Credentials> get() override;
  void invalidate() override;
  // Name of the provider of the cached credentials ("" before the first success).
  std::string source() const;

 private:
  Result<Credentials> load_chain(TimePoint now);

  std::vector<std::unique_ptr<CredentialsProvider>> providers_;
  std::function<TimePoint()> clock_;
  std::chrono::seconds refresh_before_;
  mutable std::mutex mu_;
  std::optional<TimedCredentials> cached_;  // guarded by mu_
  size_t active_ = 0;                       // provider of cached_, guarded by mu_
};

// ---- helpers, exposed for tests ----------------------------------------------------------------

// section -> key -> value; "[profile x]" sections are kept as "profile x". Indented lines (nested
// service settings) and comments (#, ;) are skipped.
using IniFile =
    std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>>;
IniFile parse_ini(std::string_view text);
// "2016-02-25T06:03:31Z" (fractional seconds and "+00:00" accepted).
std::optional<TimePoint> parse_iso8601(std::string_view s);
// Credentials JSON of container and IMDS endpoints ({"AccessKeyId",...,"Expiration"}).
[[nodiscard]] Result<TimedCredentials> parse_credentials_json(std::string_view body,
                                                              std::string_view source);

}  // namespace ingestor::s3

#pragma once
// SsmClient: one AWS Systems Manager call, Parameter Store's GetParameter, so that the relay and
// the consumer can read the shared secret at start (INGESTOR_SECRET_SSM_PARAMETER; deploy/terraform
// `relay_secret_delivery = "ssm_runtime"`). Not a general SSM client.
//
// Wire (AWS JSON 1.1 protocol): a SigV4-signed (service "ssm") POST / with
// `X-Amz-Target: AmazonSSM.GetParameter`, `Content-Type: application/x-amz-json-1.1` and the body
// {"Name":"<name>","WithDecryption":true}; the answer is {"Parameter":{..., "Value":"..."}}, an
// error is a 4xx/5xx with {"__type":"ParameterNotFound","message":"..."}.
//
// Endpoint, as the AWS SDKs resolve it: AWS_ENDPOINT_URL_SSM, else AWS_ENDPOINT_URL, else
// https://ssm.<region>.amazonaws.com (.com.cn in China regions). Region: AWS_REGION, else
// AWS_DEFAULT_REGION, else the caller's fallback (Lambda sets AWS_REGION). Credentials:
// CredentialsChain::make_default() unless given (Lambda's role credentials are the AWS_* env
// variables).
//
// Errors name the parameter and the cause ("SSM parameter '/x': ParameterNotFound: ..."):
// kNotFound (ParameterNotFound, ParameterVersionNotFound), kAuth (AccessDenied, bad or expired
// credentials, KMS refusals), kCorrupt (an answer that is not the expected JSON, or an empty
// value), kConfig (no region, bad endpoint URL), kInvalidArgument (other 4xx). Retried, with
// full-jitter backoff, while attempts and the deadline allow: network errors, timeouts, 5xx and
// throttling. The client retries by itself (unlike data-path components, which leave backoff to
// their runner) because its only caller is process start-up, where there is no runner yet.
//
// The parameter's value is a secret: nothing here logs it or puts it in an error message.
// Thread-safety: get_parameter() may be called from several threads (HttpClient and the
// credentials chain are thread-safe). The pure functions below do no I/O.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "net/http_client.h"
#include "s3/credentials.h"
#include "s3/sigv4.h"

namespace ingestor::s3 {

// The service endpoint and signing region, resolved once.
struct SsmEndpoint {
  net::Endpoint endpoint;
  std::string target = "/";  // path of a custom endpoint URL ("/" normally)
  std::string region;
  std::string url;  // for messages: "https://ssm.us-east-1.amazonaws.com"
};

// From the environment (see the top of this file). kConfig when no region can be found for the
// AWS endpoint, or the endpoint URL does not parse. A custom endpoint without a region signs for
// `fallback_region`, else us-east-1 (local emulators accept any region).
[[nodiscard]] Result<SsmEndpoint> resolve_ssm_endpoint(const EnvLookup& env,
                                                       std::string_view fallback_region = {});

// {"Name":"<name>","WithDecryption":true|false}, JSON-escaped.
std::string get_parameter_body(std::string_view name, bool with_decryption);

// Signs a POST of `body` calling `target` ("AmazonSSM.GetParameter") and returns the headers to
// send: Host, Content-Type, X-Amz-Target, X-Amz-Date, x-amz-content-sha256, X-Amz-Security-Token
// (temporary credentials) and Authorization.
[[nodiscard]] Result<std::vector<HttpHeader>> sign_ssm_request(const SsmEndpoint& ep,
                                                               std::string_view target,
                                                               std::string_view body,
                                                               const Credentials& creds,
                                                               TimePoint now);

// The Parameter.Value of a GetParameter answer with HTTP `status`, or the classified error (see
// the top of this file). `name` is only used in messages.
[[nodiscard]] Result<std::string> parse_get_parameter_response(int status, std::string_view body,
                                                               std::string_view name);

struct SsmClientOptions {
  EnvLookup env;                // default: process_env()
  std::string fallback_region;  // when AWS_REGION and AWS_DEFAULT_REGION are unset
  std::shared_ptr<CredentialsSource> credentials;  // default: CredentialsChain::make_default()
  // Bounds of one get_parameter(), retries included: Lambda allows 10 s for the whole init phase.
  int max_attempts = 5;
  std::chrono::milliseconds attempt_timeout{2000};
  std::chrono::milliseconds deadline{6000};
  std::chrono::milliseconds retry_base{250};
  std::chrono::milliseconds retry_max{2000};
  std::function<void(std::chrono::milliseconds)> sleep;  // default: sleep_for (tests inject)
  std::function<TimePoint()> clock;                      // signing time; default system_clock
};

class SsmClient {
 public:
  // Resolves the endpoint (kConfig errors come from here).
  [[nodiscard]] static Result<std::unique_ptr<SsmClient>> create(SsmClientOptions options);

  // GetParameter; the decrypted value of a SecureString when with_decryption.
  [[nodiscard]] Result<std::string> get_parameter(std::string_view name,
                                                  bool with_decryption = true);

  const SsmEndpoint& endpoint() const { return endpoint_; }

 private:
  SsmClient(SsmClientOptions options, SsmEndpoint endpoint);
  Result<std::string> attempt(std::string_view name, const std::string& body,
                              std::chrono::milliseconds timeout);

  SsmClientOptions options_;
  SsmEndpoint endpoint_;
  net::HttpClient http_;
};

// The variable that names the shared secret's SecureString parameter (relay and consumer; the
// default of deploy/terraform's `relay_secret_delivery = "ssm_runtime"`).
inline constexpr const char* kSecretSsmParameterEnv = "INGESTOR_SECRET_SSM_PARAMETER";

// Reads the shared secret from parameter `name` with a default SsmClient (environment as above)
// and logs where it came from (never the value). Errors as get_parameter(), prefixed with
// "INGESTOR_SECRET_SSM_PARAMETER: ", on one line.
[[nodiscard]] Result<std::string> read_secret_parameter(std::string_view name,
                                                        std::string_view fallback_region = {});

}  // namespace ingestor::s3

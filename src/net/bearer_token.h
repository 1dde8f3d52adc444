#pragma once
// Bearer tokens between roles: the store's webhook targets authenticate to the relay as MinIO's
// webhook targets do (`Authorization: Bearer <token>`). Where a token comes from (a file or an
// environment variable, never a flag's value, so that it does not show in `ps`), what it may hold,
// and the receiving side's check. Pure, thread-safe.

#include <cstddef>
#include <string>
#include <string_view>

#include "base/result.h"

namespace ingestor::net {

// A token is 16 to 4096 visible ASCII characters (0x21-0x7E: no space, no control character),
// e.g. `openssl rand -hex 32`.
inline constexpr size_t kMinBearerTokenBytes = 16;
inline constexpr size_t kMaxBearerTokenBytes = 4096;

// Empty when `token` is acceptable, else why not ("is empty", "is 5 characters; at least 16 ...").
std::string bearer_token_problem(std::string_view token);

// The token of a role: from `file` when not empty (its content, without trailing whitespace),
// else from the environment variable `env` when set, else "" (no token). kConfig naming
// `file_flag` (with the path) or `env` when the file cannot be read or the token is unacceptable
// (an empty file or variable included: a token that was asked for is never silently absent).
[[nodiscard]] Result<std::string> load_bearer_token(std::string_view file_flag,
                                                    const std::string& file, const char* env);

// A new random token: 64 lower-case hex digits (32 bytes from OpenSSL's CSPRNG). kInternal when
// the CSPRNG fails.
[[nodiscard]] Result<std::string> new_bearer_token();

// The value of the Authorization header that carries `token`.
std::string bearer_authorization(std::string_view token);

// True when `authorization` (the header's value, nullptr when absent) is `Bearer <token>` (scheme
// case-insensitive). The comparison takes the same time whatever the presented value is: both
// sides are hashed (SHA-256) and the digests compared with CRYPTO_memcmp.
bool bearer_authorized(const std::string* authorization, std::string_view token);

}  // namespace ingestor::net

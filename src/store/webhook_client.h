#pragma once
// A minimal blocking HTTP/1.1 POST for the notification outbox (the shared HTTP client of
// src/net is not ready yet). One connection per call, `Connection: close`; http:// URLs only.
// Thread-safety: reentrant (each call has its own io_context).

#include <chrono>
#include <string>

#include "base/result.h"

namespace ingestor::store {

// POSTs `body` to `url` and returns the HTTP status; an Error (kUnavailable, kTimeout,
// kInvalidArgument for a bad URL) when no status was received within `timeout` per step.
// `authorization`, when not empty, is sent as the Authorization header (net/bearer_token.h).
[[nodiscard]] Result<int> http_post(const std::string& url, const std::string& body,
                                    const std::string& content_type,
                                    std::chrono::milliseconds timeout,
                                    const std::string& authorization = {});

}  // namespace ingestor::store

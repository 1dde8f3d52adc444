#pragma once
// Internal to s3_client*.cc: the description of one S3 operation that S3Client::execute() signs,
// sends and re-sends on retry. Not part of the module's API.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "s3/s3_client.h"

namespace ingestor::s3 {

// One operation as execute() sends it (and re-sends it on retry).
struct S3Client::Call {
  const char* operation = "";
  std::string method = "GET";
  std::string bucket;
  std::string key;
  std::vector<QueryParam> query;
  std::vector<HttpHeader> headers;  // signed, besides host and x-amz-*
  std::string_view body;
  std::optional<net::FileRange> body_file;
  std::string payload_hash;  // empty: SHA-256 of the memory body
  net::BodySink sink;
  net::HeadersHook on_headers;  // with a sink: sees a 2xx response's headers before its body
  std::function<Status()> before_attempt;  // e.g. truncate the destination file
  bool check_200_error = false;            // Complete: a 200 may carry <Error>
};

}  // namespace ingestor::s3

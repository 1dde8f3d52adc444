#pragma once
// Listing logic for ListObjectsV2 / ListObjects (v1) / ListMultipartUploads, independent of
// storage: keys come from a FetchFn returning sorted keys after a cursor, so the pagination rules
// are unit-tested against an in-memory model (listing_test.cc).
//
// Rules (aws.md 2.5): keys in UTF-8 byte order; a key with the delimiter after the prefix rolls up
// into CommonPrefix = prefix + text up to and including the first delimiter; each common prefix
// counts once toward max_keys; resuming after a common prefix skips every key under it.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace ingestor::store {

struct ListEntry {
  std::string key;
  uint64_t size = 0;
  std::string etag;  // without quotes
  int64_t mtime_ms = 0;
};

struct ListQuery {
  std::string prefix;
  std::string delimiter;
  // Exclusive lower bound (start-after, marker, or a decoded continuation token). A bound that is
  // itself a common prefix under `delimiter` skips every key that rolls up into it.
  std::string after;
  int max_keys = 1000;  // 0..1000
};

struct ListPage {
  std::vector<ListEntry> contents;
  std::vector<std::string> common_prefixes;
  bool truncated = false;
  // The last key or common prefix returned (v1 NextMarker, and what the continuation token
  // encodes); empty when nothing was returned.
  std::string last;
};

// Returns up to `limit` entries with key > `after` and key >= `from`, sorted by key.
using FetchFn = std::function<std::vector<ListEntry>(const std::string& after,
                                                     const std::string& from, size_t limit)>;

ListPage list_page(const ListQuery& q, const FetchFn& fetch);

// Continuation tokens are opaque to clients: base64 of the cursor. decode returns nullopt for a
// token we did not produce (-> InvalidArgument).
std::string encode_continuation_token(const std::string& cursor);
std::optional<std::string> decode_continuation_token(const std::string& token);

}  // namespace ingestor::store

#pragma once
// Where a downloaded object goes: <download-dir>/<bucket>/<key>, with the key's '/' segments as
// directories. The rule (also in src/consumer/README.md), applied when a POST arrives, so an
// unsafe notification is refused (422) and never queued:
//
//  - bucket: 1..255 bytes of [A-Za-z0-9._-], not starting with '.' (so it can never be ".", ".."
//    or collide with the consumer's own ".ingestor-*" entries in the download dir);
//  - key: 1..1024 bytes (S3's limit); no NUL and no other control byte (0x01-0x1f, 0x7f); does not
//    start with '/' (absolute); every '/'-separated segment is non-empty (no "a//b", no trailing
//    '/' folder markers), is not "." or "..", and is at most 255 bytes (NAME_MAX).
//
// Anything else (spaces, '+', '%', UTF-8, backslashes, ':') is kept verbatim: the file name is
// the key. Keys are refused rather than encoded so that a file's path always equals its key.
// Pure functions, thread-safe.

#include <string>
#include <string_view>

#include "base/result.h"

namespace ingestor::consumer {

// kInvalidArgument with the reason ("key segment '..' would leave the download directory").
[[nodiscard]] Status check_bucket_name(std::string_view bucket);
[[nodiscard]] Status check_key(std::string_view key);

// "<dir>/<bucket>/<key>" after both checks.
[[nodiscard]] Result<std::string> object_path(std::string_view download_dir,
                                              std::string_view bucket, std::string_view key);

}  // namespace ingestor::consumer

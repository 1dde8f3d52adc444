#pragma once
// `ingestor up`'s built-in default configuration: conf/pipeline.properties as it is in the source
// tree, embedded at build time (cmake/EmbedFiles.cmake). `up` runs it when neither `-f FILE` is
// given nor ./conf/pipeline.properties exists; `ingestor up --print-config` prints it.

#include <span>
#include <string_view>

#include "agent/status_page.h"  // StaticFile

namespace ingestor {

// The embedded files: one, "/pipeline.properties" (defined in the generated up_default_files.cc).
std::span<const StaticFile> up_default_files();

// The text of conf/pipeline.properties at build time.
inline std::string_view up_default_config() { return up_default_files()[0].body; }

}  // namespace ingestor

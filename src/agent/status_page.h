#pragma once
// The live status page's static files (web/status/ and the uPlot charting library from
// web/node_modules), embedded in the binary at build time by cmake/EmbedFiles.cmake. The
// monitoring port serves them as they are; the page fetches /topology, /metrics and, under
// `ingestor up`, /roles, and draws everything in the browser (docs/status-page.md).

#include <span>
#include <string_view>

namespace ingestor {

struct StaticFile {
  std::string_view path;          // "/index.html", "/status.js", "/uPlot.iife.min.js", ...
  std::string_view content_type;  // from the file name's extension
  std::string_view body;
};

// Every embedded file (defined in the generated status_page_files.cc).
std::span<const StaticFile> status_page_files();

// The file served at `path`: "/" is "/index.html"; nullptr for any other path.
const StaticFile* find_status_page_file(std::string_view path);

}  // namespace ingestor

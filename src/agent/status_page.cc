#include "agent/status_page.h"

namespace ingestor {

const StaticFile* find_status_page_file(std::string_view path) {
  if (path == "/") path = "/index.html";
  for (const StaticFile& f : status_page_files())
    if (f.path == path) return &f;
  return nullptr;
}

}  // namespace ingestor

#pragma once
// DeadLetterFile: where the S3 and local hdfs sinks put an event they cannot place (a time escape
// and no timestamp header), one line each: "reason=<why> headers={k=v, ...} body=<body>", in
// `<dir>/<sink>-<epoch ms>.log`, opened on the first such event. The sink syncs it before the
// channel take that released the event commits.
// Thread-safety: used by its sink's runner thread only.

#include <string>

#include "base/file.h"
#include "core/event.h"

namespace ingestor {

class DeadLetterFile {
 public:
  DeadLetterFile(std::string dir, std::string sink)
      : dir_(std::move(dir)), sink_(std::move(sink)) {}
  [[nodiscard]] Status write(const Event& e, const std::string& reason);
  // fsyncs what write() added since the last sync (nothing to do when nothing was added).
  [[nodiscard]] Status sync();
  bool unsynced() const { return unsynced_; }

 private:
  std::string dir_, sink_;
  File file_;
  bool unsynced_ = false;
};

}  // namespace ingestor

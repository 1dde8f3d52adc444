#include "agent/sinks/dead_letter.h"

#include <fcntl.h>

#include "agent/sinks/serializer.h"
#include "base/log.h"
#include "core/metrics.h"

namespace ingestor {

Status DeadLetterFile::write(const Event& e, const std::string& reason) {
  if (!file_.is_open()) {
    if (auto s = make_dirs(dir_); !s) return s;
    auto f = File::open(dir_ + "/" + sink_ + "-" + std::to_string(now_epoch_ms()) + ".log",
                        O_WRONLY | O_CREAT | O_APPEND);
    if (!f) return f.error();
    file_ = std::move(*f);
  }
  std::string line = "reason=" + reason + " headers=" + java_map_string(e.headers) + " body=";
  line.append(e.body.data(), e.body.size());
  line += '\n';
  log::warn("sink {}: event sent to the dead-letter file: {}", sink_, reason);
  unsynced_ = true;
  return file_.write_all(line);
}

Status DeadLetterFile::sync() {
  if (!unsynced_) return {};
  if (auto s = file_.fsync(); !s) return s;
  unsynced_ = false;
  return {};
}

}  // namespace ingestor

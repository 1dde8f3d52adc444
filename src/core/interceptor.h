#pragma once
// Interceptor: rewrites or drops events between a source and its channels, a batch at a time.
// An interceptor runs on the source's thread; it must be thread-safe when the source calls it from
// several threads (netcat connections on several io threads), so keep per-call state local.

#include <string>

#include "core/event.h"

namespace ingestor {

class Interceptor {
 public:
  virtual ~Interceptor() = default;
  // Edits events in place; may remove events from the batch (they are dropped silently, as Flume).
  virtual void intercept(Batch& events) = 0;
};

}  // namespace ingestor

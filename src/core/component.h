#pragma once
// Component: what every source, channel and sink has: a name from the config, a type, a
// lifecycle, and metrics. start() may fail (a port in use, a directory locked); stop() never does
// and is idempotent.

#include <string>
#include <utility>

#include "base/result.h"
#include "core/metrics.h"

namespace ingestor {

class Component {
 public:
  Component(std::string name, std::string type) : name_(std::move(name)), type_(std::move(type)) {}
  virtual ~Component() = default;
  Component(const Component&) = delete;
  Component& operator=(const Component&) = delete;

  const std::string& name() const { return name_; }
  // The alias this component was built from ("netcat", "memory", ...).
  const std::string& type() const { return type_; }

  [[nodiscard]] virtual Status start() { return {}; }
  virtual void stop() {}

  // Flume's monitoring group: "SOURCE", "CHANNEL" or "SINK".
  virtual const char* metrics_group() const = 0;
  // Appends this component's attributes (name, value as a string) in Flume's names.
  virtual void collect_metrics(MetricList& out) const = 0;

 private:
  std::string name_;
  std::string type_;
};

}  // namespace ingestor

#pragma once
// Diagnostics: the problems found in a configuration, one line each, naming the component and the
// key. The agent refuses to start on any error unless --lenient is given, in which case the
// components with errors are dropped (Flume's behaviour) and the errors are logged as warnings.

#include <string>
#include <vector>

namespace ingestor {

struct Diagnostic {
  enum class Severity { kError, kWarning };
  Severity severity = Severity::kError;
  // "source" | "channel" | "sink" | "sinkgroup" | "interceptor" | "agent" | "file"
  std::string kind;
  // Component name ("r1"); for an interceptor "r1.i1"; empty for agent-level problems.
  std::string component;
  // The full property key involved ("a1.sources.r1.port"), or empty.
  std::string key;
  std::string message;

  // "error: source r1: a1.sources.r1.port: expected an integer, got 'abc'"
  std::string to_string() const;
};

class Diagnostics {
 public:
  void error(std::string kind, std::string component, std::string key, std::string message);
  void warning(std::string kind, std::string component, std::string key, std::string message);
  bool has_errors() const;
  // True when there is an error that names this component.
  bool has_errors_for(const std::string& kind, const std::string& component) const;
  const std::vector<Diagnostic>& all() const { return items_; }
  size_t size() const { return items_.size(); }

 private:
  std::vector<Diagnostic> items_;
};

}  // namespace ingestor

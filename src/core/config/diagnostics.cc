#include "core/config/diagnostics.h"

#include <utility>

namespace ingestor {

// "error: source r1: a1.sources.r1.port: expected an integer, got 'abc'". Parts that are empty are
// left out: "error: agent: no configuration for agent 'a1' in the given files".
std::string Diagnostic::to_string() const {
  std::string out = severity == Severity::kError ? "error: " : "warning: ";
  if (!kind.empty() || !component.empty()) {
    out += kind;
    if (!kind.empty() && !component.empty()) out += ' ';
    out += component;
    out += ": ";
  }
  if (!key.empty()) {
    out += key;
    out += ": ";
  }
  out += message;
  return out;
}

void Diagnostics::error(std::string kind, std::string component, std::string key,
                        std::string message) {
  items_.push_back(Diagnostic{Diagnostic::Severity::kError, std::move(kind), std::move(component),
                              std::move(key), std::move(message)});
}

void Diagnostics::warning(std::string kind, std::string component, std::string key,
                          std::string message) {
  items_.push_back(Diagnostic{Diagnostic::Severity::kWarning, std::move(kind), std::move(component),
                              std::move(key), std::move(message)});
}

bool Diagnostics::has_errors() const {
  for (const auto& d : items_) {
    if (d.severity == Diagnostic::Severity::kError) return true;
  }
  return false;
}

bool Diagnostics::has_errors_for(const std::string& kind, const std::string& component) const {
  for (const auto& d : items_) {
    if (d.severity == Diagnostic::Severity::kError && d.kind == kind && d.component == component) {
      return true;
    }
  }
  return false;
}

}  // namespace ingestor

#pragma once
// Helpers for the interceptor unit tests.
#include <gtest/gtest.h>

#include "core/config/spec.h"
#include "core/event.h"

namespace ingestor::interceptor_test {

// Validated settings; `errors` (when given) receives the validation errors instead of failing.
inline Settings settings(const ComponentSpec& spec, Context ctx, Diagnostics* errors = nullptr) {
  Diagnostics d;
  Settings s = Settings::validate(spec, ctx, "source", "r1", "a1.sources.r1.interceptors.i1.", d);
  if (errors) {
    *errors = d;
  } else {
    EXPECT_FALSE(d.has_errors());
  }
  return s;
}

inline Batch bodies(std::initializer_list<const char*> list) {
  Batch b;
  for (const char* s : list) b.push_back(Event::of(s));
  return b;
}

}  // namespace ingestor::interceptor_test

#pragma once
// Renders components' metrics as Flume's monitoring JSON and as Prometheus text.

#include <string>
#include <vector>

#include "core/component.h"

namespace ingestor {

// {"SOURCE.r1":{"EventReceivedCount":"12",...,"Type":"SOURCE"},...}: every value a string, keys
// "<GROUP>.<name>", as Flume's HTTPMetricsServer.
std::string render_flume_json(const std::vector<const Component*>& components);

// Prometheus text exposition format 0.0.4: one metric per attribute,
// `ingestor_<group>_<attribute_in_snake_case>{component="r1",type="netcat"} 12`. Flume's
// "true"/"false" become 1/0; an attribute whose value is not a number has no sample.
std::string render_prometheus(const std::vector<const Component*>& components);

// "EventReceivedCount" -> "event_received_count".
std::string snake_case(const std::string& camel);

}  // namespace ingestor

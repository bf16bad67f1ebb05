#pragma once
// The small pieces of the Prometheus text exposition format 0.0.4 that need
// care: numbers that Prometheus' parser (Go's ParseFloat) reads back exactly,
// escaping of label values and help texts, and name checks.
#include <string>
#include <string_view>

#include "metrics/registry.hpp"

namespace vhm::metrics {

// Shortest text that reads back as the same double; +Inf, -Inf, NaN as Prometheus spells them.
std::string format_value(double value);
// `\` -> `\\`, `"` -> `\"`, newline -> `\n` (label values).
std::string escape_label_value(std::string_view value);
// `\` -> `\\`, newline -> `\n` (# HELP text).
std::string escape_help(std::string_view help);
// [a-zA-Z_:][a-zA-Z0-9_:]* for metric names, [a-zA-Z_][a-zA-Z0-9_]* for label names.
bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);
// `{a="x",b="y"}`, or "" without labels; `extra` (e.g. le) is appended last.
std::string format_labels(const Labels& labels, const std::pair<std::string, std::string>* extra = nullptr);

}  // namespace vhm::metrics

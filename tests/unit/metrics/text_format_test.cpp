#include "metrics/text_format.hpp"

#include <cmath>
#include <limits>

using namespace vhm::metrics;

TEST_CASE("text format: numbers read back exactly; special values as Prometheus spells them") {
  CHECK(format_value(0) == "0");
  CHECK(format_value(3) == "3");
  CHECK(format_value(0.005) == "0.005");
  CHECK(format_value(-1.25) == "-1.25");
  CHECK(format_value(18446744073709551615.0) == "18446744073709551616");
  CHECK(format_value(1e21) == "1e+21");
  CHECK(std::stod(format_value(0.1 + 0.2)) == 0.1 + 0.2);
  CHECK(format_value(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(format_value(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(format_value(std::nan("")) == "NaN");
}

TEST_CASE("text format: escaping") {
  CHECK(escape_label_value("plain") == "plain");
  CHECK(escape_label_value("a\\b\"c\nd") == "a\\\\b\\\"c\\nd");
  CHECK(escape_help("q\"uote\\\n") == "q\"uote\\\\\\n");  // quotes stay in help
}

TEST_CASE("text format: names") {
  CHECK(valid_metric_name("vnc_hooks_manager_sessions_total"));
  CHECK(valid_metric_name("ns:rule_name"));
  CHECK_FALSE(valid_metric_name(""));
  CHECK_FALSE(valid_metric_name("9lives"));
  CHECK_FALSE(valid_metric_name("with-dash"));
  CHECK(valid_label_name("listener"));
  CHECK_FALSE(valid_label_name("a:b"));
  CHECK_FALSE(valid_label_name("__reserved"));
  CHECK_FALSE(valid_label_name("0x"));
}

TEST_CASE("text format: label sets") {
  CHECK(format_labels({}) == "");
  CHECK(format_labels({{"a", "1"}, {"b", "x\"y"}}) == "{a=\"1\",b=\"x\\\"y\"}");
  const std::pair<std::string, std::string> le{"le", "+Inf"};
  CHECK(format_labels({}, &le) == "{le=\"+Inf\"}");
  CHECK(format_labels({{"a", "1"}}, &le) == "{a=\"1\",le=\"+Inf\"}");
}

#include <catch2/catch.hpp>

#include "util/printable.hpp"

using vhm::util::printable;

TEST_CASE("printable escapes control characters so a value stays on one log line") {
  CHECK(printable("a\nb") == "a\\nb");
  CHECK(printable("x\r\ty") == "x\\r\\ty");
  CHECK(printable(std::string("\x1b[31m", 5)) == "\\x1b[31m");
  CHECK(printable(std::string("nul\0z", 5)) == "nul\\x00z");
  CHECK(printable("back\\slash") == "back\\\\slash");
}

TEST_CASE("printable keeps UTF-8 and truncates long values") {
  CHECK(printable("Bürodesktop") == "Bürodesktop");
  CHECK(printable("abcdef", 3) == "abc...");
}

#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "proxy/session_id.hpp"

using namespace vhm::proxy;

TEST_CASE("session ids are 16 lowercase hex digits, different every time") {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const auto id = new_session_id();
    REQUIRE(id.size() == 16);
    CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
    seen.insert(id);
  }
  CHECK(seen.size() == 1000);
}

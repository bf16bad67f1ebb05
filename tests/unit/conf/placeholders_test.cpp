#include <catch2/catch.hpp>

#include "conf/placeholders.hpp"

using vhm::conf::expand_placeholders;
using vhm::conf::find_placeholders;

namespace {

std::vector<std::string> names(std::string_view text) {
  std::vector<std::string> out;
  for (const auto& ref : find_placeholders(text)) out.push_back(ref.name);
  return out;
}

std::string upper_name(std::string_view name) {
  std::string out = "<";
  for (char c : name) out += static_cast<char>(c - ('a' <= c && c <= 'z' ? 32 : 0));
  return out + ">";
}

}  // namespace

TEST_CASE("placeholders: find_placeholders reports names and offsets of '{'") {
  const auto refs = find_placeholders("--session={session_id} {user}");
  REQUIRE(refs.size() == 2);
  CHECK(refs[0].name == "session_id");
  CHECK(refs[0].offset == 10);
  CHECK(refs[1].name == "user");
  CHECK(refs[1].offset == 23);
}

TEST_CASE("placeholders: unknown identifiers are still found (validation is the caller's)") {
  CHECK(names("{nope} {x1_y}") == std::vector<std::string>{"nope", "x1_y"});
}

TEST_CASE("placeholders: text that is not {identifier} is literal") {
  CHECK(names("{print $1}").empty());
  CHECK(names("{}").empty());
  CHECK(names("{Upper}").empty());
  CHECK(names("{1abc}").empty());
  CHECK(names("{user").empty());
  CHECK(names("user}").empty());
  CHECK(names("{a-b}").empty());
  CHECK(names("{{user}}") == std::vector<std::string>{"user"});
}

TEST_CASE("placeholders: expand replaces each placeholder and keeps literal text") {
  CHECK(expand_placeholders("id={session_id};u={user}", upper_name) == "id=<SESSION_ID>;u=<USER>");
  CHECK(expand_placeholders("awk '{print $1}' {user}", upper_name) == "awk '{print $1}' <USER>");
  CHECK(expand_placeholders("{{user}}", upper_name) == "{<USER>}");
  CHECK(expand_placeholders("", upper_name).empty());
}

TEST_CASE("placeholders: a substituted value is never re-expanded") {
  const auto lookup = [](std::string_view name) { return name == "user" ? std::string("{reason} a b") : std::string("X"); };
  CHECK(expand_placeholders("{user}", lookup) == "{reason} a b");
}

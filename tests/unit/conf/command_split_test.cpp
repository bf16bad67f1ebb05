#include <catch2/catch.hpp>

#include "conf/command_split.hpp"

using vhm::conf::split_command;
using Words = std::vector<std::string>;

namespace {

Words split_ok(std::string_view text) {
  std::string error;
  auto words = split_command(text, error);
  INFO(text << ": " << error);
  REQUIRE(words);
  return *words;
}

std::string split_error(std::string_view text) {
  std::string error;
  INFO(text);
  REQUIRE_FALSE(split_command(text, error));
  return error;
}

}  // namespace

TEST_CASE("split_command: whitespace separates words, runs of it count once") {
  CHECK(split_ok("a b c") == Words{"a", "b", "c"});
  CHECK(split_ok("  a \t b\n c  ") == Words{"a", "b", "c"});
  CHECK(split_ok("single") == Words{"single"});
}

TEST_CASE("split_command: single quotes are literal, including backslashes and double quotes") {
  CHECK(split_ok("awk '{print $1}'") == Words{"awk", "{print $1}"});
  CHECK(split_ok(R"(x 'a\b "c"')") == Words{"x", R"(a\b "c")"});
}

TEST_CASE("split_command: double quotes keep spaces and allow only \\\" and \\\\ escapes") {
  CHECK(split_ok(R"(x "a b")") == Words{"x", "a b"});
  CHECK(split_ok(R"(x "say \"hi\"")") == Words{"x", R"(say "hi")"});
  CHECK(split_ok(R"(x "back\\slash")") == Words{"x", R"(back\slash)"});
  CHECK(split_ok(R"(x "a\nb $HOME")") == Words{"x", R"(a\nb $HOME)"});
}

TEST_CASE("split_command: a backslash outside quotes escapes the next character") {
  CHECK(split_ok(R"(x a\ b)") == Words{"x", "a b"});
  CHECK(split_ok(R"(x \'q\')") == Words{"x", "'q'"});
  CHECK(split_ok(R"(x \\)") == Words{"x", R"(\)"});
}

TEST_CASE("split_command: adjacent quoted parts join into one word; empty quotes are an empty word") {
  CHECK(split_ok(R"(x a'b c'"d e"f)") == Words{"x", "ab cd ef"});
  CHECK(split_ok(R"(x "" '')") == Words{"x", "", ""});
}

TEST_CASE("split_command: nothing is expanded: no globs, variables, pipes or redirections") {
  CHECK(split_ok("x * $HOME | y > z ; w && v `id` $(id)") ==
        Words{"x", "*", "$HOME", "|", "y", ">", "z", ";", "w", "&&", "v", "`id`", "$(id)"});
}

TEST_CASE("split_command: placeholders stay as text inside words and quotes") {
  CHECK(split_ok(R"(hook.sh --who "{user} at {client_ip}" {display})") ==
        Words{"hook.sh", "--who", "{user} at {client_ip}", "{display}"});
}

TEST_CASE("split_command: unterminated quotes say which quote and where") {
  CHECK(split_error("x 'abc") == "unterminated ' quote starting at column 3");
  CHECK(split_error(R"(x "abc)") == "unterminated \" quote starting at column 3");
  CHECK(split_error(R"(x "abc\")") == "unterminated \" quote starting at column 3");
}

TEST_CASE("split_command: a trailing backslash is an error") {
  CHECK(split_error(R"(x abc\)") == "trailing backslash at the end of the command");
}

TEST_CASE("split_command: an empty or blank command is an error") {
  CHECK(split_error("") == "empty command");
  CHECK(split_error(" \t\n ") == "empty command");
}

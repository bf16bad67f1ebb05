#include <catch2/catch.hpp>

#include "record/naming.hpp"

using namespace vhm::record;

TEST_CASE("naming: the default template and every event field are valid placeholders") {
  CHECK(!check_name_template(default_name_template));
  for (const auto field : known_name_fields()) CHECK(!check_name_template("{" + std::string(field) + "}.vhmrec"));
  CHECK(!check_name_template("{user}/{timestamp}_{session_id}.vhmrec"));
  CHECK(!check_name_template("plain.vhmrec"));
}

TEST_CASE("naming: unusable templates are refused with a reason") {
  const auto error = [](std::string_view t) { return check_name_template(t).value_or("(valid)"); };
  CHECK(error("") == "the name template is empty");
  CHECK(error("/var/rec/{session_id}.vhmrec").find("not absolute") != std::string::npos);
  CHECK(error("../{session_id}.vhmrec").find("\"..\"") != std::string::npos);
  CHECK(error("a/../b.vhmrec").find("\"..\"") != std::string::npos);
  CHECK(error("a//b.vhmrec").find("empty path segment") != std::string::npos);
  CHECK(error("dir/").find("empty path segment") != std::string::npos);
  CHECK(error("{nope}.vhmrec").find("unknown placeholder {nope}") == 0);
  CHECK(error("{session_id.vhmrec").find("unbalanced '{'") == 0);
  CHECK(error("session_id}.vhmrec").find("unbalanced '}'") == 0);
  CHECK(error("{}.vhmrec").find("bad placeholder") == 0);
  CHECK(error("{a{b}}").find("bad placeholder") == 0);
}

TEST_CASE("naming: a value can never name a directory, go up or hide a file") {
  CHECK(safe_name_part("../../etc/passwd") == "_._.._etc_passwd");
  CHECK(safe_name_part("/abs") == "_abs");
  CHECK(safe_name_part("a/b") == "a_b");
  CHECK(safe_name_part(".hidden") == "_hidden");
  CHECK(safe_name_part("..") == "_.");
  CHECK(safe_name_part("") == "unknown");
  CHECK(safe_name_part("Bürodesktop") == "B__rodesktop");
  CHECK(safe_name_part("::1") == "__1");
  CHECK(safe_name_part(std::string("a\0b\n", 4)) == "a_b_");
  CHECK(safe_name_part(std::string(1000, 'x')).size() == max_name_part);
  CHECK(safe_name_part("ok-name_1.2") == "ok-name_1.2");
}

TEST_CASE("naming: expand_name substitutes safe values into the template") {
  const std::map<std::string, std::string> fields{
      {"session_id", "s-1"}, {"client_ip", "192.0.2.7"}, {"user", "../../etc/passwd"}, {"display", ".x"}};
  CHECK(expand_name(default_name_template, fields, "20261129T213000Z") == "20261129T213000Z_s-1_192.0.2.7.vhmrec");
  CHECK(expand_name("{user}/{display}/{session_id}.vhmrec", fields, "T") == "_._.._etc_passwd/_x/s-1.vhmrec");
  CHECK(expand_name("{desktop_name}.vhmrec", fields, "T") == "unknown.vhmrec");
  for (const auto* hostile : {"../../etc/passwd", "/abs", "a/b", ".hidden", "", "ünïcödé", "..", "."}) {
    const std::string name = expand_name("{user}_{session_id}.vhmrec", {{"user", hostile}, {"session_id", hostile}}, "T");
    INFO(name);
    CHECK(name.find('/') == std::string::npos);
    CHECK(name.front() != '.');
  }
}

TEST_CASE("naming: an unchecked template still stays inside the directory") {
  CHECK(expand_name("/etc/{user}", {{"user", "x"}}, "T") == "etc/x");
  CHECK(expand_name("../../{user}", {{"user", "x"}}, "T") == "__/__/x");
  CHECK(expand_name("./a//b", {}, "T") == "_/a/b");
  CHECK(expand_name("", {}, "T") == "unknown");
}

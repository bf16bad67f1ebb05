#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include "hooks/line_splitter.hpp"

using vhm::hooks::LineSplitter;

namespace {

using Lines = std::vector<std::pair<std::string, bool>>;

Lines split(std::size_t max_bytes, const std::vector<std::string>& chunks) {
  Lines lines;
  LineSplitter splitter(max_bytes);
  const auto collect = [&](std::string_view line, bool cut) { lines.emplace_back(line, cut); };
  for (const auto& chunk : chunks) splitter.feed(chunk, collect);
  splitter.finish(collect);
  return lines;
}

}  // namespace

TEST_CASE("LineSplitter gives the same lines for any split of the input") {
  const std::string text = "one\ntwo\r\n\nthree";
  const Lines expected{{"one", false}, {"two", false}, {"", false}, {"three", false}};
  CHECK(split(100, {text}) == expected);
  for (std::size_t at = 0; at <= text.size(); ++at)
    CHECK(split(100, {text.substr(0, at), text.substr(at)}) == expected);
  std::vector<std::string> bytes;
  for (char c : text) bytes.emplace_back(1, c);
  CHECK(split(100, bytes) == expected);
}

TEST_CASE("LineSplitter cuts long lines and skips their rest up to the newline") {
  CHECK(split(4, {"abcd\nabcdefgh\nxy"}) ==
        Lines{{"abcd", false}, {"abcd", true}, {"xy", false}});
  CHECK(split(4, {"ab", "cdef", "gh", "ij\nok\n"}) == Lines{{"abcd", true}, {"ok", false}});
  CHECK(split(4, {"abcdefgh"}) == Lines{{"abcd", true}});
}

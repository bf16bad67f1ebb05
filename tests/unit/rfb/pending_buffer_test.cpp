// The pending buffer wipes what it lets go of: a consumed VNC response or
// password must not linger in the parser's memory.
#include "rfb/pending_buffer.hpp"

#include <catch2/catch.hpp>

using vhm::rfb::detail::PendingBuffer;

namespace {

std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

}  // namespace

TEST_CASE("pending buffer: consumed bytes are zeroed in place, the rest kept in order") {
  PendingBuffer buffer;
  buffer.append(bytes("PASSWORD"));
  buffer.append(bytes("rest"));
  const std::uint8_t* old = buffer.view().data();
  buffer.consume(8);
  // The block is still ours (live bytes remain), so the consumed part can be inspected.
  for (int i = 0; i < 8; ++i) CHECK(old[i] == 0);
  REQUIRE(buffer.size() == 4);
  CHECK(std::string(buffer.view().begin(), buffer.view().end()) == "rest");
}

TEST_CASE("pending buffer: appends across growth and consumes across compaction keep the bytes") {
  PendingBuffer buffer;
  std::string expected;
  std::string seen;
  for (int i = 0; i < 20000; ++i) {
    const char c = static_cast<char>('a' + i % 26);
    buffer.append(bytes(std::string(1, c)));
    expected += c;
    if (i % 3 == 2) {
      const auto v = buffer.view();
      seen += static_cast<char>(v[0]);
      seen += static_cast<char>(v[1]);
      buffer.consume(2);
    }
  }
  const auto v = buffer.view();
  seen.append(v.begin(), v.end());
  CHECK(seen == expected);
  buffer.clear();
  CHECK(buffer.size() == 0);
}

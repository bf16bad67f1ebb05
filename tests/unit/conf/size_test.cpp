#include <catch2/catch.hpp>

#include <limits>

#include "conf/size.hpp"

using vhm::conf::format_size;
using vhm::conf::parse_size;

namespace {

std::uint64_t size_of(std::string_view text) {
  std::string error;
  const auto value = parse_size(text, error);
  INFO(text << ": " << error);
  REQUIRE(value);
  return *value;
}

std::string size_error(std::string_view text) {
  std::string error;
  const auto value = parse_size(text, error);
  INFO(text);
  REQUIRE_FALSE(value);
  REQUIRE_FALSE(error.empty());
  return error;
}

}  // namespace

TEST_CASE("size: a plain number is bytes") {
  CHECK(size_of("0") == 0);
  CHECK(size_of("1") == 1);
  CHECK(size_of("1048576") == 1048576);
  CHECK(size_of("512B") == 512);
  CHECK(size_of("007") == 7);
}

TEST_CASE("size: K M G T and KiB MiB GiB TiB are powers of 1024") {
  CHECK(size_of("64K") == 65536);
  CHECK(size_of("64KiB") == 65536);
  CHECK(size_of("8M") == 8ull << 20);
  CHECK(size_of("8MiB") == 8ull << 20);
  CHECK(size_of("1G") == 1ull << 30);
  CHECK(size_of("1GiB") == 1ull << 30);
  CHECK(size_of("2T") == 2ull << 40);
  CHECK(size_of("2TiB") == 2ull << 40);
}

TEST_CASE("size: KB MB GB TB are powers of 1000") {
  CHECK(size_of("64KB") == 64'000);
  CHECK(size_of("500MB") == 500'000'000);
  CHECK(size_of("1GB") == 1'000'000'000);
  CHECK(size_of("2TB") == 2'000'000'000'000);
}

TEST_CASE("size: malformed text names the accepted syntax") {
  for (const char* text : {"", "K", "MiB", "abc", "-1", "+1", "1.5G", "1 G", " 1", "1 ", "1k", "1kb", "1Kib", "1mb",
                           "1g", "1Gb", "1GIB", "1P", "1PiB", "0x10", "1e6", "1_000", "1,000", "10MiBs"}) {
    const std::string error = size_error(text);
    CHECK(error.find("8MiB") != std::string::npos);
  }
}

TEST_CASE("size: values beyond 64 bits are rejected, not wrapped") {
  constexpr auto max = std::numeric_limits<std::uint64_t>::max();
  CHECK(size_of("18446744073709551615") == max);
  CHECK(size_error("18446744073709551616").find("too large") != std::string::npos);
  CHECK(size_error("99999999999999999999999").find("too large") != std::string::npos);
  CHECK(size_of("16777215T") == 16777215ull << 40);
  CHECK(size_error("16777216T").find("too large") != std::string::npos);
  CHECK(size_error("18446744073709552KB").find("too large") != std::string::npos);
  CHECK(size_of("18446744073709551KB") == 18446744073709551000ull);
}

TEST_CASE("size: format_size picks the largest exact binary unit") {
  CHECK(format_size(0) == "0");
  CHECK(format_size(1000) == "1000");
  CHECK(format_size(65536) == "64KiB");
  CHECK(format_size(8ull << 20) == "8MiB");
  CHECK(format_size(1ull << 30) == "1GiB");
  CHECK(format_size(3ull << 40) == "3TiB");
  CHECK(format_size(1ull << 50) == "1024TiB");
  CHECK(format_size(1536) == "1536");
}

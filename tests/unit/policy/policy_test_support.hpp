#pragma once
// Helpers for the policy/ unit tests: addresses from text, a fixed clock
// origin (2026-11-23T12:24:42Z) and blocking settings with test defaults.
#include <catch2/catch.hpp>

#include <chrono>
#include <string_view>

#include "conf/config.hpp"
#include "policy/cidr.hpp"

namespace vhm::policy::test {

using namespace std::chrono_literals;
using TimePoint = std::chrono::system_clock::time_point;

inline const TimePoint t0{std::chrono::seconds(1'795'436'682)};

inline Address ip(std::string_view text) {
  boost::system::error_code ec;
  const Address address = boost::asio::ip::make_address(std::string(text), ec);
  INFO(text);
  REQUIRE_FALSE(ec);
  return address;
}

inline conf::Cidr block(std::string_view text) {
  std::string error;
  const auto parsed = conf::parse_cidr(text, error);
  INFO(text << ": " << error);
  REQUIRE(parsed);
  return *parsed;
}

// 3 failures in 10 minutes ban for 1 hour, doubling up to 8 hours.
inline conf::BlockingConfig blocking_config() {
  conf::BlockingConfig config;
  config.max_failures = 3;
  config.window = 10min;
  config.ban = 1h;
  config.max_ban = 8h;
  return config;
}

}  // namespace vhm::policy::test

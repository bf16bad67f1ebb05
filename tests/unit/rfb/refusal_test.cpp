#include <catch2/catch.hpp>

#include <string>

#include "rfb/handshake_parser.hpp"
#include "rfb/refusal.hpp"

using namespace vhm::rfb;

namespace {
std::span<const std::uint8_t> bytes_of(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}
std::vector<std::uint8_t> vec(std::initializer_list<int> values) {
  std::vector<std::uint8_t> out;
  for (int v : values) out.push_back(static_cast<std::uint8_t>(v));
  return out;
}
}  // namespace

TEST_CASE("refusal: the version the proxy agrees with a viewer is the lower one, aliases mapped") {
  CHECK(negotiated_with_viewer(bytes_of("RFB 003.008\n")) == Version{3, 8});
  CHECK(negotiated_with_viewer(bytes_of("RFB 003.007\n")) == Version{3, 7});
  CHECK(negotiated_with_viewer(bytes_of("RFB 003.003\n")) == Version{3, 3});
  CHECK(negotiated_with_viewer(bytes_of("RFB 003.005\n")) == Version{3, 3});
  CHECK(negotiated_with_viewer(bytes_of("RFB 004.001\n")) == Version{3, 8});
  CHECK_FALSE(negotiated_with_viewer(bytes_of("GET / HTTP/1")).has_value());
}

TEST_CASE("refusal: 3.7 and 3.8 viewers get zero security types and the reason") {
  CHECK(connection_refusal({3, 8}, "No") == vec({0, 0, 0, 0, 2, 'N', 'o'}));
  CHECK(connection_refusal({3, 7}, "") == vec({0, 0, 0, 0, 0}));
}

TEST_CASE("refusal: 3.3 viewers get security type 0 and the reason") {
  CHECK(connection_refusal({3, 3}, "No") == vec({0, 0, 0, 0, 0, 0, 0, 2, 'N', 'o'}));
}

TEST_CASE("refusal: an overlong reason is cut to 1024 bytes") {
  const auto message = connection_refusal({3, 8}, std::string(5000, 'x'));
  CHECK(message.size() == 1 + 4 + 1024);
}

TEST_CASE("refusal: the proxy's own refusal parses as a refusal with its reason") {
  HandshakeParser parser;
  parser.feed(Direction::server_to_client, bytes_of(proxy_server_version));
  parser.feed(Direction::client_to_server, bytes_of("RFB 003.008\n"));
  const auto refusal = connection_refusal({3, 8}, "Too many authentication failures; try again in 5 minutes");
  const auto result = parser.feed(Direction::server_to_client, refusal);
  REQUIRE(result.status == Status::progressed);
  const auto* refused = std::get_if<ConnectionRefused>(&result.events.back());
  REQUIRE(refused != nullptr);
  CHECK(refused->reason == "Too many authentication failures; try again in 5 minutes");
}

TEST_CASE("refusal: a failed SecurityResult carries the reason only in 3.8") {
  CHECK(failed_security_result({3, 8}, "Denied") == vec({0, 0, 0, 1, 0, 0, 0, 6, 'D', 'e', 'n', 'i', 'e', 'd'}));
  CHECK(failed_security_result({3, 7}, "Denied") == vec({0, 0, 0, 1}));
}

TEST_CASE("parser: awaiting_security_result is true exactly when the SecurityResult comes next") {
  HandshakeParser parser;
  parser.feed(Direction::server_to_client, bytes_of("RFB 003.008\n"));
  parser.feed(Direction::client_to_server, bytes_of("RFB 003.008\n"));
  parser.feed(Direction::server_to_client, vec({1, 2}));
  CHECK_FALSE(parser.awaiting_security_result());
  parser.feed(Direction::client_to_server, vec({2}));
  parser.feed(Direction::server_to_client, std::vector<std::uint8_t>(16, 7));  // challenge
  CHECK_FALSE(parser.awaiting_security_result());
  parser.feed(Direction::client_to_server, std::vector<std::uint8_t>(16, 9));  // response
  CHECK(parser.awaiting_security_result());
  parser.feed(Direction::server_to_client, vec({0, 0}));
  CHECK_FALSE(parser.awaiting_security_result());  // half of it is buffered
  const auto result = parser.feed(Direction::server_to_client, vec({0, 0}));
  const auto* auth = std::get_if<AuthResultSeen>(&result.events.back());
  REQUIRE(auth != nullptr);
  CHECK(auth->result == AuthResult::ok);
}

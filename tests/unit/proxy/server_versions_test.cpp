// The scanner shield's greeting per target.
#include <catch2/catch.hpp>

#include <string>

#include "proxy/server_versions.hpp"

using namespace vhm::proxy;

namespace {

std::string text(const VersionMessageBytes& bytes) { return std::string(bytes.begin(), bytes.end()); }

}  // namespace

TEST_CASE("server versions: the message is the 12 bytes a server sends") {
  CHECK(text(version_message(3, 8)) == "RFB 003.008\n");
  CHECK(text(version_message(5, 0)) == "RFB 005.000\n");
  CHECK(text(version_message(3, 889)) == "RFB 003.889\n");
}

TEST_CASE("server versions: nothing is known until learned; learning again changes nothing") {
  ServerVersions versions;
  CHECK_FALSE(versions.lookup("127.0.0.1:5901").has_value());
  CHECK(versions.learn("127.0.0.1:5901", version_message(3, 3)));
  CHECK(text(*versions.lookup("127.0.0.1:5901")) == "RFB 003.003\n");
  CHECK_FALSE(versions.learn("127.0.0.1:5901", version_message(3, 3)));
  CHECK(versions.learn("127.0.0.1:5901", version_message(3, 8)));
  CHECK(text(*versions.lookup("127.0.0.1:5901")) == "RFB 003.008\n");
  CHECK_FALSE(versions.lookup("127.0.0.1:5902").has_value());
}

TEST_CASE("server versions: a forgotten target is unknown again, the others stay") {
  ServerVersions versions;
  versions.learn("127.0.0.1:5901", version_message(3, 7));
  versions.learn("127.0.0.1:5902", version_message(3, 3));
  versions.forget("127.0.0.1:5901");
  CHECK_FALSE(versions.lookup("127.0.0.1:5901").has_value());
  CHECK(text(*versions.lookup("127.0.0.1:5902")) == "RFB 003.003\n");
  versions.forget("127.0.0.1:5999");  // never learned: nothing happens
  CHECK(versions.learn("127.0.0.1:5901", version_message(3, 7)));
}

TEST_CASE("server versions: bounded, however many targets a transparent listener fronts") {
  ServerVersions versions;
  for (std::size_t i = 0; i < ServerVersions::max_targets * 3; ++i)
    versions.learn("10.0.0.1:" + std::to_string(i), version_message(3, 8));
  std::size_t known = 0;
  for (std::size_t i = 0; i < ServerVersions::max_targets * 3; ++i)
    known += versions.lookup("10.0.0.1:" + std::to_string(i)).has_value();
  CHECK(known <= ServerVersions::max_targets);
  CHECK(versions.lookup("10.0.0.1:" + std::to_string(ServerVersions::max_targets * 3 - 1)).has_value());
}

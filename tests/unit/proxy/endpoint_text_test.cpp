#include <catch2/catch.hpp>

#include "proxy/relay/buffer_pool.hpp"
#include "proxy/endpoint_text.hpp"

using namespace vhm::proxy;

TEST_CASE("endpoints are written as people write them") {
  CHECK(endpoint_text({asio::ip::make_address("192.0.2.1"), 5900}) == "192.0.2.1:5900");
  CHECK(endpoint_text({asio::ip::make_address("2001:db8::1"), 5900}) == "[2001:db8::1]:5900");
}

TEST_CASE("IPv4 addresses are written in full, whatever their octets") {
  for (const char* text : {"0.0.0.0", "255.255.255.255", "10.0.100.9", "127.0.0.1", "1.20.255.0"})
    CHECK(address_text(asio::ip::make_address(text)) == text);
  CHECK(endpoint_text({asio::ip::make_address("255.255.255.255"), 65535}) == "255.255.255.255:65535");
}

TEST_CASE("IPv4-mapped IPv6 clients of a dual-stack listener are shown as IPv4") {
  CHECK(address_text(asio::ip::make_address("::ffff:192.0.2.7")) == "192.0.2.7");
  CHECK(endpoint_text({asio::ip::make_address("::ffff:192.0.2.7"), 40000}) == "192.0.2.7:40000");
}

TEST_CASE("the buffer pool reuses returned buffers and counts leases") {
  BufferPool pool(1024, 1);
  const std::uint8_t* first = nullptr;
  {
    auto lease = pool.acquire();
    CHECK(lease.bytes().size() == 1024);
    CHECK(pool.in_use() == 1);
    first = lease.bytes().data();
  }
  CHECK(pool.in_use() == 0);
  auto again = pool.acquire();
  CHECK(again.bytes().data() == first);
}

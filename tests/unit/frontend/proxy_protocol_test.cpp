// The PROXY protocol header, v1 and v2, with the examples and limits of
// haproxy's proxy-protocol.txt.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "proxy/frontend/proxy_protocol.hpp"

using namespace vhm::proxy::frontend;

namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes bytes_of(std::string_view text) { return {text.begin(), text.end()}; }

ProxyParseResult parse_text(std::string_view text) {
  return parse_proxy_header({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

const Bytes v2_signature = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

// A v2 header: signature, version/command, family/transport, length, block.
Bytes v2_header(std::uint8_t version_command, std::uint8_t family_transport, const Bytes& block) {
  Bytes header = v2_signature;
  header.push_back(version_command);
  header.push_back(family_transport);
  header.push_back(static_cast<std::uint8_t>(block.size() >> 8));
  header.push_back(static_cast<std::uint8_t>(block.size() & 0xff));
  header.insert(header.end(), block.begin(), block.end());
  return header;
}

// Every proper prefix of a valid header waits for more.
void require_prefixes_need_more(const Bytes& header) {
  for (std::size_t n = 0; n < header.size(); ++n) {
    INFO("prefix of " << n << " bytes");
    CHECK(parse_proxy_header({header.data(), n}).status == ProxyParse::need_more);
  }
}

}  // namespace

TEST_CASE("proxy v1: TCP4 and TCP6 give the source address and port, and the length to consume") {
  const std::string line = "PROXY TCP4 192.0.2.7 198.51.100.1 56324 5900\r\n";
  auto result = parse_text(line + "RFB 003.008\n");
  REQUIRE(result.status == ProxyParse::ok);
  CHECK(result.header.length == line.size());
  CHECK(result.header.source_address == "192.0.2.7");
  CHECK(result.header.source_port == 56324);
  require_prefixes_need_more(bytes_of(line));

  result = parse_text("PROXY TCP6 2001:db8::7 2001:db8::1 0 65535\r\n");
  REQUIRE(result.status == ProxyParse::ok);
  CHECK(result.header.source_address == "2001:db8::7");
  CHECK(result.header.source_port == 0);

  // An IPv4-mapped source is the IPv4 client, as everywhere in the proxy.
  result = parse_text("PROXY TCP6 ::ffff:192.0.2.9 ::1 1 2\r\n");
  REQUIRE(result.status == ProxyParse::ok);
  CHECK(result.header.source_address == "192.0.2.9");
}

TEST_CASE("proxy v1: the spec's longest lines fit (107 bytes with UNKNOWN), one byte more does not") {
  const std::string tcp4 = "PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n";
  CHECK(parse_text(tcp4).status == ProxyParse::ok);
  const std::string ffff = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
  const std::string tcp6 = "PROXY TCP6 " + ffff + " " + ffff + " 65535 65535\r\n";
  CHECK(tcp6.size() == 104);
  CHECK(parse_text(tcp6).status == ProxyParse::ok);
  const std::string unknown = "PROXY UNKNOWN " + ffff + " " + ffff + " 65535 65535\r\n";
  REQUIRE(unknown.size() == 107);
  const auto result = parse_text(unknown);
  REQUIRE(result.status == ProxyParse::ok);
  CHECK(result.header.length == 107);
  CHECK_FALSE(result.header.source_address);

  const std::string too_long = "PROXY UNKNOWN " + ffff + " " + ffff + " 65535 655350\r\n";
  CHECK(parse_text(too_long).status == ProxyParse::invalid);
  CHECK(parse_text(too_long.substr(0, 106)).status == ProxyParse::need_more);
  CHECK(parse_text(too_long.substr(0, 107)).error == "v1: no CRLF within 107 bytes");
}

TEST_CASE("proxy v1: UNKNOWN keeps the socket's peer, with or without addresses") {
  const auto result = parse_text("PROXY UNKNOWN\r\n");
  REQUIRE(result.status == ProxyParse::ok);
  CHECK(result.header.length == 15);
  CHECK_FALSE(result.header.source_address);
}

TEST_CASE("proxy v1: malformed lines are refused with a short reason") {
  const std::pair<const char*, const char*> cases[] = {
      {"PROXY TCP4 192.0.2.7 198.51.100.1 56324 5900\n", "v1: line not ended by CRLF"},
      {"PROXY TCP5 192.0.2.7 198.51.100.1 56324 5900\r\n", "v1: protocol is not TCP4, TCP6 or UNKNOWN"},
      {"PROXY tcp4 192.0.2.7 198.51.100.1 56324 5900\r\n", "v1: protocol is not TCP4, TCP6 or UNKNOWN"},
      {"PROXY TCP4  192.0.2.7 198.51.100.1 56324 5900\r\n", "v1: expected 4 fields after the protocol, single spaces"},
      {"PROXY TCP4 192.0.2.7 198.51.100.1 56324\r\n", "v1: expected 4 fields after the protocol, single spaces"},
      {"PROXY TCP4 192.0.2.7 198.51.100.1 56324 5900 \r\n", "v1: expected 4 fields after the protocol, single spaces"},
      {"PROXY TCP4 192.0.2.256 198.51.100.1 56324 5900\r\n", "v1: bad IPv4 source address"},
      {"PROXY TCP4 192.0.2.07 198.51.100.1 56324 5900\r\n", "v1: bad IPv4 source address"},
      {"PROXY TCP4 2001:db8::1 198.51.100.1 56324 5900\r\n", "v1: bad IPv4 source address"},
      {"PROXY TCP6 192.0.2.7 2001:db8::1 56324 5900\r\n", "v1: bad IPv6 source address"},
      {"PROXY TCP6 2001:db8::1 192.0.2.7 56324 5900\r\n", "v1: bad IPv6 destination address"},
      {"PROXY TCP6 fe80::1%eth0 2001:db8::1 56324 5900\r\n", "v1: bad IPv6 source address"},
      {"PROXY TCP4 192.0.2.7 198.51.100.1 65536 5900\r\n", "v1: bad port"},
      {"PROXY TCP4 192.0.2.7 198.51.100.1 056 5900\r\n", "v1: bad port"},
      {"PROXY TCP4 192.0.2.7 198.51.100.1 +56 5900\r\n", "v1: bad port"},
      {"PROXY TCP4 192.0.2.7 198.51.100.1 56 -1\r\n", "v1: bad port"},
      {"PROXY\r\n", "no PROXY protocol header"},
      {"PROXYTCP4\r\n", "no PROXY protocol header"},
      {"RFB 003.008\n", "no PROXY protocol header"},
      {"GET / HTTP/1.1\r\n", "no PROXY protocol header"},
  };
  for (const auto& [line, why] : cases) {
    INFO(line);
    const auto result = parse_text(line);
    CHECK(result.status == ProxyParse::invalid);
    CHECK(result.error == why);
  }
  // Refused as soon as a byte shows it is no header.
  CHECK(parse_text("PROXX").status == ProxyParse::invalid);
}

TEST_CASE("proxy v2: PROXY over TCP/IPv4 and IPv6 gives the source; TLVs are skipped") {
  // 192.0.2.7:56324 -> 198.51.100.1:5900, then a PP2_TYPE_ALPN TLV ("h2").
  const Bytes v4_block = {192, 0, 2, 7, 198, 51, 100, 1, 0xDC, 0x04, 0x17, 0x0C, 0x01, 0x00, 0x02, 'h', '2'};
  Bytes header = v2_header(0x21, 0x11, v4_block);
  auto result = parse_proxy_header(header);
  REQUIRE(result.status == ProxyParse::ok);
  CHECK(result.header.length == 16 + v4_block.size());
  CHECK(result.header.source_address == "192.0.2.7");
  CHECK(result.header.source_port == 56324);
  require_prefixes_need_more(header);
  header.push_back('R');  // the stream goes on after the header
  CHECK(parse_proxy_header(header).header.length == 16 + v4_block.size());

  Bytes v6_block(36, 0);
  v6_block[0] = 0x20, v6_block[1] = 0x01, v6_block[2] = 0x0d, v6_block[3] = 0xb8, v6_block[15] = 0x07;
  v6_block[16] = 0x20, v6_block[17] = 0x01, v6_block[18] = 0x0d, v6_block[19] = 0xb8, v6_block[31] = 0x01;
  v6_block[32] = 0x01, v6_block[33] = 0xBB, v6_block[34] = 0x17, v6_block[35] = 0x0C;
  result = parse_proxy_header(v2_header(0x21, 0x21, v6_block));
  REQUIRE(result.status == ProxyParse::ok);
  CHECK(result.header.source_address == "2001:db8::7");
  CHECK(result.header.source_port == 443);

  Bytes mapped_block(36, 0);
  mapped_block[10] = 0xff, mapped_block[11] = 0xff, mapped_block[12] = 10, mapped_block[15] = 3;
  result = parse_proxy_header(v2_header(0x21, 0x21, mapped_block));
  REQUIRE(result.status == ProxyParse::ok);
  CHECK(result.header.source_address == "10.0.0.3");
}

TEST_CASE("proxy v2: LOCAL, UNSPEC, UNIX and datagram keep the socket's peer") {
  // LOCAL (a health check): the block and even the family are ignored.
  for (std::uint8_t family : {0x00, 0x11, 0x21, 0x31, 0xff}) {
    const auto result = parse_proxy_header(v2_header(0x20, family, {1, 2, 3}));
    REQUIRE(result.status == ProxyParse::ok);
    CHECK(result.header.length == 19);
    CHECK_FALSE(result.header.source_address);
  }
  const Bytes unspec = v2_header(0x21, 0x00, {});
  CHECK(parse_proxy_header(unspec).status == ProxyParse::ok);
  CHECK_FALSE(parse_proxy_header(unspec).header.source_address);
  const auto unix_stream = parse_proxy_header(v2_header(0x21, 0x31, Bytes(216, 'x')));
  REQUIRE(unix_stream.status == ProxyParse::ok);
  CHECK_FALSE(unix_stream.header.source_address);
  const auto udp = parse_proxy_header(v2_header(0x21, 0x12, Bytes(12, 1)));
  REQUIRE(udp.status == ProxyParse::ok);
  CHECK_FALSE(udp.header.source_address);
}

TEST_CASE("proxy v2: bad version, command, family, or a block shorter than its addresses are refused") {
  CHECK(parse_proxy_header(v2_header(0x11, 0x11, Bytes(12))).error == "v2: version is not 2");
  CHECK(parse_proxy_header(v2_header(0x22, 0x11, Bytes(12))).error == "v2: command is neither LOCAL nor PROXY");
  CHECK(parse_proxy_header(v2_header(0x21, 0x41, Bytes(12))).error == "v2: unknown address family");
  CHECK(parse_proxy_header(v2_header(0x21, 0x13, Bytes(12))).error == "v2: unknown transport protocol");
  CHECK(parse_proxy_header(v2_header(0x21, 0x10, Bytes(12))).error == "v2: UNSPEC only goes with UNSPEC");
  CHECK(parse_proxy_header(v2_header(0x21, 0x01, Bytes(12))).error == "v2: UNSPEC only goes with UNSPEC");
  CHECK(parse_proxy_header(v2_header(0x21, 0x11, Bytes(11))).error == "v2: address block too short");
  CHECK(parse_proxy_header(v2_header(0x21, 0x21, Bytes(35))).error == "v2: address block too short");
  CHECK(parse_proxy_header(v2_header(0x21, 0x31, Bytes(215))).error == "v2: address block too short");
  // Known to be wrong from the 16-byte header alone: no waiting for the declared block.
  Bytes short_block = v2_header(0x21, 0x11, Bytes(11));
  short_block.resize(16);
  CHECK(parse_proxy_header(short_block).status == ProxyParse::invalid);
  // A wrong signature byte.
  Bytes bad = v2_header(0x21, 0x11, Bytes(12));
  bad[11] = 0x0B;
  CHECK(parse_proxy_header(bad).error == "no PROXY protocol header");
  CHECK(parse_proxy_header({bad.data(), 11}).status == ProxyParse::need_more);
}

TEST_CASE("proxy v2: the largest length field waits for the whole block, then succeeds") {
  Bytes header = v2_header(0x21, 0x11, Bytes(65535, 0));
  CHECK(header.size() == proxy_header_max);
  CHECK(parse_proxy_header({header.data(), header.size() - 1}).status == ProxyParse::need_more);
  const auto result = parse_proxy_header(header);
  REQUIRE(result.status == ProxyParse::ok);
  CHECK(result.header.length == proxy_header_max);
  CHECK(result.header.source_address == "0.0.0.0");
}

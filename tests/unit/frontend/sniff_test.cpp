// What the first bytes of a connection are: TLS, HTTP GET, or anything else.
#include <catch2/catch.hpp>

#include <string_view>

#include "proxy/frontend/sniff.hpp"

using vhm::proxy::frontend::sniff;
using vhm::proxy::frontend::Sniffed;

namespace {
Sniffed sniff_text(std::string_view text) {
  return sniff({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}
}  // namespace

TEST_CASE("sniff: nothing yet and every prefix of \"GET \" or of a TLS record header wait for more") {
  CHECK(sniff({}) == Sniffed::need_more);
  CHECK(sniff_text("G") == Sniffed::need_more);
  CHECK(sniff_text("GE") == Sniffed::need_more);
  CHECK(sniff_text("GET") == Sniffed::need_more);
  CHECK(sniff_text("\x16") == Sniffed::need_more);
  CHECK(sniff_text("\x16\x03") == Sniffed::need_more);
}

TEST_CASE("sniff: a handshake record of SSL 3.0 to TLS 1.3's legacy versions is TLS") {
  for (std::uint8_t minor = 0; minor <= 4; ++minor) {
    const std::uint8_t record[] = {0x16, 0x03, minor, 0x00, 0x2e, 0x01};
    CHECK(sniff(record) == Sniffed::tls);
    CHECK(sniff({record, 3}) == Sniffed::tls);
  }
  const std::uint8_t minor_5[] = {0x16, 0x03, 0x05};
  CHECK(sniff(minor_5) == Sniffed::other);
  const std::uint8_t major_2[] = {0x16, 0x02, 0x01};
  CHECK(sniff(major_2) == Sniffed::other);
  const std::uint8_t alert[] = {0x15, 0x03, 0x01};
  CHECK(sniff(alert) == Sniffed::other);
}

TEST_CASE("sniff: \"GET \" exactly is HTTP; other methods, case and RFB bytes are other") {
  CHECK(sniff_text("GET ") == Sniffed::http);
  CHECK(sniff_text("GET /websockify HTTP/1.1\r\n") == Sniffed::http);
  CHECK(sniff_text("GET/") == Sniffed::other);
  CHECK(sniff_text("get ") == Sniffed::other);
  CHECK(sniff_text("POST / HTTP/1.1") == Sniffed::other);
  CHECK(sniff_text("RFB 003.008\n") == Sniffed::other);
  CHECK(sniff_text("X") == Sniffed::other);
}

// The VeNCrypt messages the proxy writes itself (rfb/vencrypt_messages.hpp).
// offer_in_front_of_vnc_auth takes the server's security types, i.e. outside
// input. Each message is read back by the handshake parser, which must see
// exactly what was meant: the proxy's writer and its parser agree.
#include <algorithm>
#include <string>

#include "fuzz/support/check.hpp"
#include "fuzz/support/rfb_feed.hpp"
#include "rfb/vencrypt_messages.hpp"

namespace {

using namespace vhm;
using fuzz::Bytes;
using rfb::Direction;

// Every event of feeding `server` then `client` after the 3.8 version exchange.
std::vector<rfb::Event> parse(const Bytes& server, const Bytes& client) {
  rfb::HandshakeParser parser;
  std::vector<rfb::Event> events;
  const Bytes version = fuzz::version_message({3, 8});
  for (const auto& [direction, bytes] : {std::pair{Direction::server_to_client, version},
                                         std::pair{Direction::client_to_server, version},
                                         std::pair{Direction::server_to_client, server},
                                         std::pair{Direction::client_to_server, client}}) {
    auto r = parser.feed(direction, bytes);
    events.insert(events.end(), r.events.begin(), r.events.end());
  }
  return events;
}

template <typename E>
const E* find(const std::vector<rfb::Event>& events) {
  for (const auto& e : events)
    if (const auto* found = std::get_if<E>(&e)) return found;
  return nullptr;
}

void check_offer(std::span<const std::uint8_t> server_types) {
  const auto offer = rfb::vencrypt::offer_in_front_of_vnc_auth(server_types);
  const bool has_vnc_auth = std::find(server_types.begin(), server_types.end(), 2) != server_types.end();
  VHM_FUZZ_CHECK(offer.has_value() == has_vnc_auth, "offered without VncAuth, or not with it");
  if (!offer) return;
  const auto& types = *offer;
  VHM_FUZZ_CHECK(types.size() <= 255 && types.front() == 19, "VeNCrypt first, at most 255 types");
  VHM_FUZZ_CHECK(std::count(types.begin(), types.end(), 19) == 1, "one VeNCrypt");
  // The rest is the server's own list, in its order, without its VeNCrypt.
  Bytes rest;
  for (const auto t : server_types)
    if (t != 19) rest.push_back(t);
  rest.resize(std::min(rest.size(), std::size_t{254}));
  VHM_FUZZ_CHECK(Bytes(types.begin() + 1, types.end()) == rest, "the server's types, in order");

  const auto events = parse(rfb::vencrypt::security_type_list(types), {19});
  const auto* offered = find<rfb::SecurityTypesOffered>(events);
  VHM_FUZZ_CHECK(offered && offered->types == types, "the parser reads the offer back");
}

void check_subtypes(std::span<const std::uint8_t> data) {
  std::vector<std::uint32_t> subtypes;
  for (std::size_t i = 0; i + 4 <= data.size(); i += 4)
    subtypes.push_back(std::uint32_t{data[i]} << 24 | std::uint32_t{data[i + 1]} << 16 |
                       std::uint32_t{data[i + 2]} << 8 | data[i + 3]);
  if (subtypes.empty() || subtypes.size() > rfb::Limits{}.max_vencrypt_subtypes) return;

  // Offer the subtypes, the client picks the first, the server acks TLS (1).
  Bytes server = {1, 19, 0, 2, 0};
  const Bytes list = rfb::vencrypt::subtype_list(subtypes);
  server.insert(server.end(), list.begin(), list.end());
  server.push_back(1);
  const Bytes client = {19, 0, 2, data[0], data[1], data[2], data[3]};
  const auto events = parse(server, client);
  const auto* offered = find<rfb::VeNCryptSubtypesOffered>(events);
  VHM_FUZZ_CHECK(offered && offered->subtypes == subtypes, "the parser reads the subtype list back");
  // The proxy's idea of which subtypes start TLS is the parser's.
  const bool tls = find<rfb::TlsStarts>(events) != nullptr;
  VHM_FUZZ_CHECK(tls == rfb::vencrypt::starts_tls(subtypes[0]), "starts_tls(" + std::to_string(subtypes[0]) + ")");
  if (rfb::vencrypt::uses_certificate(subtypes[0])) VHM_FUZZ_CHECK(tls, "an X509 subtype that does not start TLS");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  check_offer(bytes);
  check_subtypes(bytes);
  return 0;
}

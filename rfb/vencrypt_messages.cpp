#include "rfb/vencrypt_messages.hpp"

#include <algorithm>

namespace vhm::rfb::vencrypt {

bool starts_tls(std::uint32_t subtype) {
  return (subtype >= tls_none && subtype <= x509_sasl) || subtype == tls_ident || subtype == x509_ident;
}

bool uses_certificate(std::uint32_t subtype) {
  return (subtype >= x509_none && subtype <= x509_plain) || subtype == x509_sasl || subtype == x509_ident;
}

std::vector<std::uint8_t> server_version() { return {0, 2}; }

std::vector<std::uint8_t> version_ack(bool accepted) { return {static_cast<std::uint8_t>(accepted ? 0 : 1)}; }

std::vector<std::uint8_t> subtype_list(std::span<const std::uint32_t> subtypes) {
  const std::size_t count = std::min<std::size_t>(subtypes.size(), 255);
  std::vector<std::uint8_t> out;
  out.reserve(1 + 4 * count);
  out.push_back(static_cast<std::uint8_t>(count));
  for (std::size_t i = 0; i < count; ++i) {
    const auto s = subtypes[i];
    out.insert(out.end(), {static_cast<std::uint8_t>(s >> 24), static_cast<std::uint8_t>(s >> 16),
                           static_cast<std::uint8_t>(s >> 8), static_cast<std::uint8_t>(s)});
  }
  return out;
}

std::vector<std::uint8_t> tls_ack() { return {1}; }

std::vector<std::uint8_t> security_type_list(std::span<const std::uint8_t> types) {
  const std::size_t count = std::min<std::size_t>(types.size(), 255);
  std::vector<std::uint8_t> out;
  out.reserve(count + 1);
  out.push_back(static_cast<std::uint8_t>(count));
  for (std::size_t i = 0; i < count; ++i) out.push_back(types[i]);
  return out;
}

std::optional<std::vector<std::uint8_t>> offer_in_front_of_vnc_auth(std::span<const std::uint8_t> server_types) {
  if (std::find(server_types.begin(), server_types.end(), vnc_auth_type) == server_types.end()) return std::nullopt;
  std::vector<std::uint8_t> types{security_type};
  for (const auto type : server_types)
    if (type != security_type && types.size() < 255) types.push_back(type);
  return types;
}

}  // namespace vhm::rfb::vencrypt
